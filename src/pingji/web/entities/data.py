"""What the entity pages read: DuckDB over the Parquet files of the active import batches
(and of finished runs' results), set-based — filters, sorting and LIMIT/OFFSET in SQL, so a
page of 50 out of a million customers reads no more than it needs.

Entity tables (customers, suppliers, staff, dealers) follow the batches' rule: a later batch's
row replaces an earlier row with the same key. Fact rows add up over all active batches.
When an entity table has several active batches, the merged rows are written once to
PINGJI_HOME/cache/entities/<table>-<hash of the batch files>.parquet and read from there
until the set of active batches changes (merging a million rows per page view would not do).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pingji.data.batches import batch_rows_sql
from pingji.data.contract import TABLES
from pingji.output.cells import neutralised_query
from pingji.sqltext import ident, literal
from pingji.web.imports.services import active_batches
from pingji.web.lib import keyed_rows, workspace

ENTITY_TABLES: tuple[str, ...] = tuple(n for n, s in TABLES.items() if s.kind == "entity")

_local = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per thread (the files it reads are never changed in place)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute("SET parquet_metadata_cache = true")  # the files never change in place
    return con


CACHE_KEEP_SECONDS = 3600  # superseded merged files are removed after this


def batch_files(batches=None) -> dict[str, list[Path]]:
    """The Parquet files to read per table: a fact table's active batch files (oldest first);
    an entity table's one batch file, or the merged file of its several batches."""
    files: dict[str, list[Path]] = {}
    for b in batches if batches is not None else active_batches():
        path = workspace.absolute(b.path)
        if b.path and path.is_file():
            files.setdefault(b.table, []).append(path)
    for table, paths in files.items():
        if TABLES[table].kind == "entity" and len(paths) > 1:
            files[table] = [merged(table, paths)]
    return files


def merged(table: str, paths: Sequence[Path]) -> Path:
    """The latest row per key of an entity table's batch files, written once as Parquet."""
    stamp = "\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:24]
    folder = workspace.home() / "cache" / "entities"
    out = folder / f"{table}-{digest}.parquet"
    if out.is_file():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{out.name}.{uuid.uuid4().hex}.partial"
    try:
        connection().execute(
            f"COPY (SELECT * FROM {entity_source(table, paths)}) TO {literal(str(partial))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    limit = time.time() - CACHE_KEEP_SECONDS
    for old in folder.glob(f"{table}-*.parquet"):
        if old != out and old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)
    return out


def _listed(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(literal(str(p)) for p in paths) + "]"


def entity_source(table: str, paths: Sequence[Path]) -> str:
    """SQL relation of an entity table over its batch files: the latest row per key (the
    data layer's rule, data/batches.py)."""
    return f"({batch_rows_sql(paths, TABLES[table].key)})"


@dataclass
class EntityPage:
    """One page of an entity table."""

    columns: list[str]
    rows: list[tuple]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def columns_of(source: str) -> list[str]:
    return [r[0] for r in connection().execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


# Attribute values offered as a choice list; a column with more distinct values gets a text
# box (exact match) instead.
ATTRIBUTE_CHOICES = 200


def attribute_columns(table: str, present: Sequence[str]) -> list[str]:
    """The attributes a list of `table` filters by: its text columns other than the key and
    the name (region, owner, category, department …), those the files hold."""
    spec = TABLES[table]
    return [
        c.name
        for c in spec.columns
        if c.type == "string" and c.name not in (spec.key, "name") and c.name in present
    ]


def attribute_options(
    source: str, columns: Sequence[str]
) -> dict[str, list[tuple[str, int]] | None]:
    """{column: [(value, entities)]} of each attribute in an entity relation, most common
    first ([] when no entity has a value); a column with more than ATTRIBUTE_CHOICES values
    maps to None (too many to list). One query."""
    if not columns:
        return {}
    parts = [
        f"SELECT {literal(c)} AS col, CAST({ident(c)} AS VARCHAR) AS value, count(*) AS n "
        f"FROM {source} WHERE {ident(c)} IS NOT NULL GROUP BY 2"
        for c in columns
    ]
    rows = connection().execute(" UNION ALL ".join(parts)).fetchall()
    found: dict[str, list[tuple[str, int]]] = {c: [] for c in columns}
    for col, value, n in rows:
        found[col].append((value, n))
    return {
        c: sorted(v, key=lambda x: (-x[1], x[0])) if len(v) <= ATTRIBUTE_CHOICES else None
        for c, v in found.items()
    }


def attribute_condition(
    columns: Sequence[str], attrs: dict[str, str], prefix: str = ""
) -> tuple[list[str], list]:
    """Conditions (and arguments) of attribute filters: each asked attribute equals its value
    as text; attributes not among `columns` are ignored (never interpolated)."""
    conds, args = [], []
    for name, value in sorted(attrs.items()):
        if name in columns and value != "":
            conds.append(f"CAST({prefix}{ident(name)} AS VARCHAR) = ?")
            args.append(value)
    return conds, args


def _selection(
    table: str,
    paths: Sequence[Path],
    search: str,
    ids: Sequence[str] | None,
    sort: str,
    descending: bool,
    attrs: dict[str, str] | None = None,
) -> tuple[str, list[str], str, list, str]:
    """(source, columns, WHERE clause, its arguments, ORDER BY) of a filtered, sorted list."""
    source = entity_source(table, paths)
    columns = columns_of(source)
    key = TABLES[table].key
    where, args = attribute_condition(attribute_columns(table, columns), attrs or {})
    if search:
        matches = [f"contains(lower(CAST({ident(key)} AS VARCHAR)), lower(?))"]
        args.append(search)
        if "name" in columns:
            matches.append("contains(lower(CAST(name AS VARCHAR)), lower(?))")
            args.append(search)
        where.append("(" + " OR ".join(matches) + ")")
    if ids is not None:
        where.append(f"CAST({ident(key)} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(ids))
    cond = f" WHERE {' AND '.join(where)}" if where else ""
    sort = sort if sort in columns else key
    order = f"{ident(sort)} {'DESC' if descending else 'ASC'} NULLS LAST"
    if sort != key:
        order += f", {ident(key)}"
    return source, columns, cond, args, order


def entity_page(
    table: str,
    paths: Sequence[Path],
    *,
    search: str = "",
    ids: Sequence[str] | None = None,
    sort: str = "",
    descending: bool = False,
    page: int = 1,
    size: int = 50,
    attrs: dict[str, str] | None = None,
) -> EntityPage:
    """One page of the entities of `table`: `search` matches part of the id or the name
    (case-blind); `ids` (if given) limits the rows to those ids; sorted by a column (the key
    when `sort` is not one), ties broken by the key; a page past the end is the last one."""
    con = connection()
    source, columns, cond, args, order = _selection(
        table, paths, search, ids, sort, descending, attrs
    )
    total = con.execute(f"SELECT count(*) FROM {source}{cond}", args).fetchone()[0]
    size = max(1, min(size, 500))
    pages = max(1, -(-total // size))
    page = max(1, min(page, pages))
    rows = con.execute(
        f"SELECT * FROM {source}{cond} ORDER BY {order} LIMIT {size} OFFSET {(page - 1) * size}",
        args,
    ).fetchall()
    return EntityPage(columns, rows, total, page, size)


def export_csv(
    table: str,
    paths: Sequence[Path],
    out: Path,
    headers: dict[str, str],
    *,
    search: str = "",
    ids: Sequence[str] | None = None,
    sort: str = "",
    descending: bool = False,
    attrs: dict[str, str] | None = None,
) -> int:
    """Write the whole filtered, sorted list as CSV (UTF-8, headers renamed by `headers`)
    to `out` with one DuckDB COPY; return the number of rows."""
    con = connection()
    source, columns, cond, args, order = _selection(
        table, paths, search, ids, sort, descending, attrs
    )
    select = ", ".join(f"{ident(c)} AS {ident(headers.get(c, c))}" for c in columns)
    rows = neutralised_query(con, f"SELECT {select} FROM {source}{cond} ORDER BY {order}", args)
    written = con.execute(
        f"COPY ({rows}) TO {literal(str(out))} (HEADER, DELIMITER ',')", args
    ).fetchone()
    return int(written[0]) if written else 0


def entity_record(table: str, paths: Sequence[Path], entity_id: str) -> dict | None:
    """The attributes of one entity (its latest row), or None; from memory when the table
    is one file kept there (lib/keyed_rows.py)."""
    kept = keyed_rows.keyed(paths[0], TABLES[table].key) if len(paths) == 1 else None
    if kept is not None:
        return kept.row(entity_id)
    key = ident(TABLES[table].key)
    cur = connection().execute(
        f"SELECT * FROM {entity_source(table, paths)} WHERE CAST({key} AS VARCHAR) = ?",
        [entity_id],
    )
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def fact_tables(table: str) -> list[str]:
    """The fact tables about entities of `table`: those naming it, and those keyed by a
    plain entity_id (complaints, events, …) that may be about any entity."""
    return [
        n
        for n, s in TABLES.items()
        if s.kind == "fact" and (s.entity == table or (s.entity is None and s.key == "entity_id"))
    ]


def fact_summary(fact: str, paths: Sequence[Path], entity_id: str) -> dict:
    """Rows, date range and the sum of each money column of one entity's facts in `fact`."""
    return fact_summaries({fact: paths}, entity_id)[fact]


# Fact summaries of every entity of a fact table, kept per process: a batch file is written
# once and never changed (its inode, size and time are in the key to be sure), and one
# GROUP BY over the table then serves every entity's profile, where one query per view
# scanned the files for one entity. Tables of more rows than SUMMARISED_ROWS are asked per
# entity as before; at most KEPT_SUMMARIES entities are kept over all tables.
SUMMARISED_ROWS = 2_000_000
KEPT_SUMMARIES = 500_000
_summaries: OrderedDict[tuple, dict[str, tuple] | None] = OrderedDict()
_summaries_lock = threading.Lock()


def _money(fact: str) -> list[str]:
    return [c.name for c in TABLES[fact].columns if c.type == "money"]


def _summary_sql(fact: str, paths: Sequence[Path], grouped: bool) -> str:
    """SQL of a fact table's rows, first and last date and money sums: of one entity (its
    id the query's argument), or (grouped) of each entity, its id first."""
    spec = TABLES[fact]
    key = f"CAST({ident(spec.key)} AS VARCHAR)"
    dated = ident(spec.date) if spec.date else "CAST(NULL AS DATE)"
    sums = ", ".join(f"CAST(sum({ident(m)}) AS DECIMAL(38, 4))" for m in _money(fact))
    listed = f"read_parquet({_listed(paths)}, union_by_name = true)"
    values = f"count(*), min({dated}), max({dated}), CAST([{sums}] AS DECIMAL(38, 4)[])"
    if grouped:
        return f"SELECT {key}, {values} FROM {listed} WHERE {key} IS NOT NULL GROUP BY 1"
    return f"SELECT {literal(fact)}, {values} FROM {listed} WHERE {key} = ?"


def _summarised(fact: str, paths: Sequence[Path]) -> dict[str, tuple] | None:
    """{entity id: (rows, first date, last date, sums)} of a fact table's files, computed
    once per set of files; None for a table too large to keep."""
    stamp = (fact, *((str(p), st.st_ino, st.st_size, st.st_mtime_ns) for p, st in _stats(paths)))
    with _summaries_lock:
        if stamp in _summaries:
            _summaries.move_to_end(stamp)
            return _summaries[stamp]
    con = connection()
    rows = con.execute(
        f"SELECT sum(num_rows) FROM parquet_file_metadata({_listed(paths)})"
    ).fetchone()[0]
    found = None
    if rows is not None and rows <= SUMMARISED_ROWS:
        found = {
            e: (n, lo, hi, sums)
            for e, n, lo, hi, sums in con.execute(
                _summary_sql(fact, paths, grouped=True)
            ).fetchall()
        }
    with _summaries_lock:
        _summaries[stamp] = found
        while (
            len(_summaries) > 256 or sum(len(v or ()) for v in _summaries.values()) > KEPT_SUMMARIES
        ):
            _summaries.popitem(last=False)
    return found


def _stats(paths: Sequence[Path]) -> list[tuple[Path, os.stat_result]]:
    return [(p, os.stat(p)) for p in paths]


def fact_summaries(facts: dict[str, Sequence[Path]], entity_id: str) -> dict[str, dict]:
    """{fact table: fact_summary} of one entity in several fact tables: from the summaries
    of every entity kept per table (above), and for tables too large to keep, in one query
    (an entity page asked one query per table: seven round trips to DuckDB instead of one)."""
    if not facts:
        return {}
    found: dict[str, tuple] = {}
    asked = {}
    for fact, paths in facts.items():
        kept = _summarised(fact, paths)
        if kept is None:
            asked[fact] = paths
        else:  # an entity without rows: as the query says it, no dates and no sums
            none = (0, None, None, [None] * len(_money(fact)))
            found[fact] = kept.get(entity_id, none)
    if asked:
        parts = [_summary_sql(fact, paths, grouped=False) for fact, paths in asked.items()]
        rows = connection().execute(" UNION ALL ".join(parts), [entity_id] * len(parts))
        found |= {fact: values for fact, *values in rows.fetchall()}
    return {  # in the order asked
        fact: {
            "table": fact,
            "rows": found[fact][0],
            "min_date": found[fact][1],
            "max_date": found[fact][2],
            "sums": list(zip(_money(fact), found[fact][3], strict=True)),
        }
        for fact in facts
    }


def result_rows(files: Sequence[Path], entity_id: str, columns: Sequence[str]) -> dict:
    """{results file: {column: value}} of one entity in several runs' results: from memory
    when every file is kept there (lib/keyed_rows.py), else in one query."""
    if not files:
        return {}
    kept = [keyed_rows.keyed(f) for f in files]
    if all(k is not None for k in kept):
        have = {c for k in kept for c in k.names}  # the columns of any file, as DuckDB's union
        picked = [c for c in columns if c in have]
        found = {}
        for f, k in zip(files, kept, strict=True):
            row = k.row(entity_id, picked)
            if row is not None:
                found[str(f)] = {c: row.get(c) for c in picked}
        return found
    con = connection()
    listed = _listed(files)
    have = {
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({listed}, union_by_name = true)"
        ).fetchall()
    }
    picked = [c for c in columns if c in have]
    select = ", ".join(["filename", *(ident(c) for c in picked)])
    cur = con.execute(
        f"SELECT {select} FROM read_parquet({listed}, union_by_name = true, filename = true) "
        "WHERE entity_id = ?",
        [entity_id],
    )
    return {row[0]: dict(zip(picked, row[1:], strict=True)) for row in cur.fetchall()}
