"""Reading a finished run's results: filter, sort and paginate server-side with DuckDB over
the run's Parquet file — a page of 50 rows from a million entities without loading them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb

from pingji.web.runs.models import Run
from pingji.web.runs.services import results_file

_local = threading.local()

# The columns a results page may sort by; anything else is refused (never interpolated).
SORTABLE = ("entity_id", "score", "points", "grade", "class", "status")


def connection() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per thread (cheap to reuse; results files are read-only)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
    return con


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Page:
    """One page of results."""

    rows: list[dict]
    total: int  # rows matching the filters
    page: int
    size: int
    columns: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def columns(run: Run) -> list[str]:
    """Return the columns of a run's results file."""
    con = connection()
    return [
        r[0]
        for r in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(results_file(run))]
        ).fetchall()
    ]


def query(
    run: Run,
    *,
    grade: str | None = None,
    cls: str | None = None,
    status: str | None = None,
    search: str | None = None,
    entity_ids: list[str] | None = None,
    sort: str = "-score",
    page: int = 1,
    size: int = 50,
    select: list[str] | None = None,
) -> Page:
    """Return one page of a run's results, filtered and sorted.

    `sort` is a column of SORTABLE, with a leading '-' for descending; ties are broken by
    entity_id so pages are stable. `search` matches the start of entity_id (case-blind)."""
    con = connection()
    have = columns(run)
    where, args = [], []
    if grade:
        if grade == "__none__":
            where.append("grade IS NULL")
        else:
            where.append("grade = ?")
            args.append(grade)
    if cls and "class" in have:
        where.append('"class" = ?')
        args.append(cls)
    if status and "status" in have:
        where.append("status = ?")
        args.append(status)
    if search:
        where.append("entity_id ILIKE ?")
        args.append(search.replace("%", "").replace("_", r"\_") + "%")
    if entity_ids is not None:
        where.append("list_contains(?, entity_id)")
        args.append(entity_ids)
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTABLE or key not in have:
        key, desc = "entity_id", False
    order = f"{_q(key)} {'DESC' if desc else 'ASC'} NULLS LAST, entity_id"
    cond = f" WHERE {' AND '.join(where)}" if where else ""
    src = "read_parquet(?)"
    file = str(results_file(run))
    total = con.execute(f"SELECT count(*) FROM {src}{cond}", [file, *args]).fetchone()[0]
    size = max(1, min(size, 1000))
    page = max(1, page)
    picked = ", ".join(_q(c) for c in (select or have) if c in have)
    cur = con.execute(
        f"SELECT {picked} FROM {src}{cond} ORDER BY {order} LIMIT {size} OFFSET {(page - 1) * size}",
        [file, *args],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Page(rows=rows, total=total, page=page, size=size, columns=names)


def entity_row(run: Run, entity_id: str) -> dict | None:
    """Return one entity's results row (flat shape), or None."""
    con = connection()
    cur = con.execute(
        "SELECT * FROM read_parquet(?) WHERE entity_id = ?", [str(results_file(run)), entity_id]
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None
