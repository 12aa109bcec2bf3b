"""Reading a finished run's results: filter, sort and paginate server-side with DuckDB over
the run's Parquet file — a page of 50 rows from a million entities without loading them.

Also: the entities' names (from the entity-table batches the run read), and the grade
migration between two runs (one DuckDB join of their results files)."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field

import duckdb

from pingji.data.batches import batch_rows_sql
from pingji.data.contract import TABLES
from pingji.sqltext import ident, literal
from pingji.web.lib import workspace
from pingji.web.runs.files import results_file
from pingji.web.runs.models import Run

_local = threading.local()

# The columns a results page may sort by; anything else is refused (never interpolated).
# A node's percentage score (`<node>.score`) may be sorted by too, when the file has it.
SORTABLE = ("entity_id", "score", "points", "grade", "class", "status")

# From this offset on, a page is found by sorting the sort keys alone (late materialisation).
LATE_ROWS = 1000

# Markers for the grade migration: an entity without a grade, and one missing in a run.
NO_GRADE = "__none__"
ABSENT = "__absent__"


_db: duckdb.DuckDBPyConnection | None = None
_db_lock = threading.RLock()

# Threads of one DuckDB query. `pingji serve` runs one server process per core, each with
# many request threads: a page's query spread over every core only adds switching (a third
# more CPU per query), and concurrent requests keep the cores busy anyway.
QUERY_THREADS = 1


def _database() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB database (its tables are shared by every thread)."""
    global _db
    with _db_lock:
        if _db is None:
            _db = duckdb.connect()
            _db.execute("SET enable_progress_bar = false")
            _db.execute(f"SET threads = {QUERY_THREADS}")
            # Results and batch files are written once and never changed in place: keep their
            # Parquet footers instead of reading them again for every page (a third of the CPU
            # of a one-row lookup).
            _db.execute("SET parquet_metadata_cache = true")
        return _db


def connection() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection (cursor) per thread onto the process's database; results files
    are read-only, so nothing is locked."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = _database().cursor()
        con.execute("SET enable_progress_bar = false")
    return con


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


_COLUMNS: dict[tuple[str, int, int], dict[str, str]] = {}


def column_types(run: Run) -> dict[str, str]:
    """Return {column: DuckDB type} of a run's results file, in the file's order.

    A finished run's file never changes; the answer is kept per (path, size, mtime), so a
    page does not pay for reading the Parquet schema again."""
    path = str(results_file(run))
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    found = _COLUMNS.get(key)
    if found is None:
        rows = connection().execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
        found = {r[0]: r[1] for r in rows}
        if len(_COLUMNS) >= 256:
            _COLUMNS.pop(next(iter(_COLUMNS)))
        _COLUMNS[key] = found
    return dict(found)


def columns(run: Run) -> list[str]:
    """Return the columns of a run's results file."""
    return list(column_types(run))


# The entity batch files of done runs: the batches a run read are recorded when it is created
# and a batch's file never moves, so a run page asks the database once, not on every page.
_ENTITY_FILES: dict[tuple[int, str], list[str]] = {}
_files_lock = threading.Lock()


def entity_files(run: Run) -> list[str]:
    """Return the entity-table batch files the run read, oldest first (later rows win)."""
    key = (run.pk, str(run.created_at))  # the run's creation time: a reused id is new
    found = _ENTITY_FILES.get(key) if run.status == Run.Status.DONE else None
    if found is None:
        table = run.scheme_version.scheme.entity
        found = [
            str(workspace.absolute(b.path))
            for b in run.batches.filter(table=table).order_by("uploaded_at", "id")
            if b.path
        ]
        if run.status == Run.Status.DONE:
            with _files_lock:  # the server's threads share the dict
                if len(_ENTITY_FILES) >= 1024:
                    _ENTITY_FILES.pop(next(iter(_ENTITY_FILES)), None)
                _ENTITY_FILES[key] = found
    return list(found)


def _entities_sql(run: Run, files: list[str]) -> str:
    """SQL of the run's entity rows: (entity_id, name), one per key."""
    spec = TABLES.get(run.scheme_version.scheme.entity)
    key = spec.key if spec else "entity_id"
    has_name = spec is not None and spec.column("name") is not None
    name = "name" if has_name else "CAST(NULL AS VARCHAR)"
    rows = batch_rows_sql(files, key)  # a later batch wins per key
    return f"SELECT {ident(key)} AS entity_id, {name} AS name FROM ({rows})"


# Entity names held in memory, one table per set of entity batch files (the latest used
# last); batch files never change, and the key holds their size and time to be sure.
NAMES_TABLES = 4
_names: dict[tuple, str] = {}
# The names of a table of at most this many entities are kept in a dict too: a page's 50
# names are then looked up without a query.
NAMES_IN_MEMORY = 20_000
_names_dicts: dict[str, dict[str, str]] = {}


def names_table(run: Run) -> str | None:
    """Return the name of an in-memory table (entity_id, name) of the run's entities, made
    once from its entity batches; None when the run read no entity batch.

    Looking up a page's 50 names, or searching a million names, then reads memory instead of
    decoding Parquet each time."""
    files = entity_files(run)
    if not files:
        return None
    key = tuple((f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files)
    with _db_lock:
        table = _names.pop(key, None)
        if table is None:
            digest = hashlib.sha1(repr(key).encode()).hexdigest()[:20]
            table = f"entity_names_{digest}"
            db = _database()
            db.execute(f"CREATE OR REPLACE TABLE {table} AS {_entities_sql(run, files)}")
            _names_dicts.pop(table, None)
            count, kind = db.execute(
                f"SELECT count(*), any_value(typeof(entity_id)) FROM {table}"
            ).fetchone()
            if kind == "VARCHAR" and count <= NAMES_IN_MEMORY:  # as the ids asked for
                rows = db.execute(f"SELECT entity_id, name FROM {table} WHERE name <> ''")
                _names_dicts[table] = dict(rows.fetchall())
            while len(_names) >= NAMES_TABLES:
                old = _names.pop(next(iter(_names)))
                _names_dicts.pop(old, None)
                db.execute(f"DROP TABLE IF EXISTS {old}")
        _names[key] = table
    return table


def _like(column: str, pattern: str, text: str, op: str = "LIKE") -> tuple[str, str]:
    """`column LIKE pattern` with `text` made literal; the ESCAPE clause only when needed
    (a plain prefix LIKE is pushed into the Parquet scan: row groups are skipped)."""
    if any(ch in text for ch in "%_\\"):
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{column} {op} ? ESCAPE '\\'", pattern.replace("{}", escaped)
    return f"{column} {op} ?", pattern.replace("{}", text)


_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


# A name search whose matches are at most this many passes them to the results query as a
# list (one scan of the names); more matches are joined inside the query instead.
NAME_MATCHES_INLINE = 50_000


def _search(run: Run, text: str, table: str | None) -> tuple[str, list]:
    """Condition: the entity id starts with `text` (as typed, in capitals or in small
    letters), or (with entity batches) the name contains it, case-blind. Chinese has no
    case: a plain `contains` then (fast); with Latin letters a case-blind RE2 match, which
    DuckDB runs several times faster than ILIKE."""
    conds, args = [], []
    for variant in dict.fromkeys((text, text.upper(), text.lower())):
        cond, arg = _like("entity_id", "{}%", variant)
        conds.append(cond)
        args.append(arg)
    if table:
        if any(ch.isascii() and ch.isalpha() for ch in text):
            cond, arg = (
                "regexp_matches(name, ?, 'i')",
                "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text),
            )
        else:
            cond, arg = "contains(name, ?)", text
        names = f"SELECT entity_id FROM {table} WHERE {cond}"
        found = connection().execute(names, [arg]).fetchmany(NAME_MATCHES_INLINE + 1)
        if len(found) <= NAME_MATCHES_INLINE:
            if found:  # a hash semi-join (list_contains would scan the list for every row)
                conds.append("entity_id IN (SELECT unnest(?::VARCHAR[]))")
                args.append([r[0] for r in found])
        else:
            conds.append(f"entity_id IN ({names})")
            args.append(arg)
    return "(" + " OR ".join(conds) + ")", args


def where(
    run: Run,
    have: list[str] | set[str],
    *,
    grade: str | None = None,
    cls: str | None = None,
    status: str | None = None,
    search: str | None = None,
    entity_ids: list[str] | None = None,
    action: str | None = None,
    names: bool = True,
    attrs: dict[str, str] | None = None,
) -> tuple[str, list]:
    """Return the WHERE clause (with a leading space, or "") and its arguments for filters;
    `attrs` ({column: value}) keeps the entities whose attributes, as the run read them,
    equal those values (runs/attributes.py)."""
    conds, args = [], []
    if attrs:
        from pingji.web.runs import attributes

        cond, more = attributes.condition(run, entity_files(run), attrs)
        if cond:
            conds.append(cond)
            args += more
    if grade:
        if grade == NO_GRADE:
            conds.append("grade IS NULL")
        else:
            conds.append("grade = ?")
            args.append(grade)
    if cls and "class" in have:
        if cls == NO_GRADE:
            conds.append('"class" IS NULL')
        else:
            conds.append('"class" = ?')
            args.append(cls)
    if status and "status" in have:
        if status == NO_GRADE:
            conds.append("status IS NULL")
        else:
            conds.append("status = ?")
            args.append(status)
    if action and "actions" in have:
        conds.append("list_contains(actions, ?)")
        args.append(action)
    if search and search.strip():
        cond, more = _search(run, search.strip(), names_table(run) if names else None)
        conds.append(cond)
        args += more
    if entity_ids is not None:
        conds.append("entity_id IN (SELECT unnest(?::VARCHAR[]))")
        args.append(entity_ids)
    return (f" WHERE {' AND '.join(conds)}" if conds else ""), args


def _allowed(key: str, have: list[str] | set[str]) -> bool:
    known = key in SORTABLE or (key.endswith(".score") and key.count(".") == 1)
    return known and key in have


def order_by(sort: str, have: list[str] | set[str], grade_order: list[str] | None = None) -> str:
    """Return the ORDER BY expression of a sort key (`score`, `-score`, `kpi.score`, …).

    Grades sort in the scheme's order (best first; `grade_order`), then by score. Unknown
    keys sort by entity_id; ties are always broken by entity_id (stable pages)."""
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if not _allowed(key, have):
        key, desc = "entity_id", False
    way = "DESC" if desc else "ASC"
    if key == "entity_id":
        return f"entity_id {way}"
    if key == "grade" and grade_order:
        levels = "[" + ", ".join(literal(g) for g in grade_order) + "]"
        tie = ", score DESC NULLS LAST" if "score" in have else ""
        return f"nullif(list_position({levels}, grade), 0) {way} NULLS LAST{tie}, entity_id"
    return f"{ident(key)} {way} NULLS LAST, entity_id"


def sort_key(sort: str, have: list[str] | set[str]) -> str:
    """Return the sort actually applied (what order_by falls back to for an unknown key)."""
    return sort if _allowed(sort.lstrip("-"), have) else "entity_id"


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
    action: str | None = None,
    attrs: dict[str, str] | None = None,
) -> Page:
    """Return one page of a run's results, filtered and sorted.

    `sort` is a column of SORTABLE (or a node's `.score`), with a leading '-' for
    descending; ties are broken by entity_id so pages are stable. `search` matches the start
    of the entity id, or part of the entity's name when the run read entity batches
    (case-blind).
    `grade`/`cls`/`status` equal to NO_GRADE select rows where that column is empty;
    `action` selects rows whose actions include it."""
    con = connection()
    have = columns(run)
    cond, args = where(
        run,
        have,
        grade=grade,
        cls=cls,
        status=status,
        search=search,
        entity_ids=entity_ids,
        action=action,
        attrs=attrs,
    )
    file = str(results_file(run))
    size = max(1, min(size, 1000))
    page = max(1, page)
    offset = (page - 1) * size
    picked = ", ".join(ident(c) for c in (select or have) if c in have)
    order = order_by(sort, have, (run.summary or {}).get("grade_order"))
    if offset >= LATE_ROWS or search:
        # deep pages and searches: sort the sort keys only, then read the page's full rows
        # by entity_id
        # (with filters, the count comes with the sort keys: one scan instead of two)
        counted = ", count(*) OVER ()" if cond else ""
        keys = con.execute(
            f"SELECT entity_id{counted} FROM read_parquet(?){cond} ORDER BY {order} "
            f"LIMIT {size} OFFSET {offset}",
            [file, *args],
        ).fetchall()
        ids = [r[0] for r in keys]
        marks = ", ".join("?" * len(ids)) or "NULL"
        cur = con.execute(
            f"SELECT entity_id AS __id, {picked} FROM read_parquet(?) WHERE entity_id IN ({marks})",
            [file, *ids],
        )
        names = [d[0] for d in cur.description][1:]
        found = {r[0]: r[1:] for r in cur.fetchall()}
        rows = [dict(zip(names, found[i], strict=True)) for i in ids if i in found]
        total = keys[0][1] if keys and cond else _count(con, file, cond, args, not search)
        return Page(rows=rows, total=total, page=page, size=size, columns=names)
    total = _count(con, file, cond, args, not search)
    cur = con.execute(
        f"SELECT {picked} FROM read_parquet(?){cond} ORDER BY {order} LIMIT {size} OFFSET {offset}",
        [file, *args],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Page(rows=rows, total=total, page=page, size=size, columns=names)


# Rows of a results file, kept per (path, size, mtime) and filters like its columns: a page
# (unfiltered, or filtered as pages were before) then asks DuckDB one query instead of two.
# A search (text typed once, rarely again) is counted each time.
_ROWS: dict[tuple, int] = {}
_rows_lock = threading.Lock()
COUNTS_KEPT = 1024


def _count(con, file: str, cond: str, args: list, keep: bool = True) -> int:
    """Return the rows of a results file that match the filters (`cond`, maybe "")."""
    key = None
    if keep and all(type(a) in (str, int) for a in args):
        st = os.stat(file)
        key = (file, st.st_size, st.st_mtime_ns, cond, *args)
        found = _ROWS.get(key)
        if found is not None:
            return found
    total = con.execute(f"SELECT count(*) FROM read_parquet(?){cond}", [file, *args]).fetchone()[0]
    if key is not None:
        with _rows_lock:  # waitress threads share the dict
            if len(_ROWS) >= COUNTS_KEPT:
                _ROWS.pop(next(iter(_ROWS)), None)
            _ROWS[key] = total
    return total


def entity_names(run: Run, ids: list[str]) -> dict[str, str]:
    """Return {entity_id: name} for some entities, from the entity batches the run read."""
    table = names_table(run) if ids else None
    if table is None:
        return {}
    kept = _names_dicts.get(table)
    if kept is not None:
        return {e: kept[e] for e in ids if e in kept}
    ids = list(dict.fromkeys(ids))
    marks = ", ".join("?" * len(ids))
    rows = (
        connection()
        .execute(f"SELECT entity_id, name FROM {table} WHERE entity_id IN ({marks})", ids)
        .fetchall()
    )
    return {e: n for e, n in rows if n}


def entity_row(run: Run, entity_id: str) -> dict | None:
    """Return one entity's results row (flat shape), or None."""
    con = connection()
    cur = con.execute(
        "SELECT * FROM read_parquet(?) WHERE entity_id = ?", [str(results_file(run)), entity_id]
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


# ------------------------------------------------------------------ two runs compared


def _joined(a: Run, b: Run) -> tuple[str, list]:
    """The full outer join of two runs' results on entity_id, with grade keys per side."""
    return _joined_files(results_file(a), results_file(b))


def _joined_files(a, b) -> tuple[str, list]:
    """The full outer join of two results files (flat shape) on entity_id."""
    sql = (
        "SELECT coalesce(a.entity_id, b.entity_id) AS entity_id, "
        f"CASE WHEN a.entity_id IS NULL THEN '{ABSENT}' "
        f"ELSE coalesce(a.grade, '{NO_GRADE}') END AS ga, "
        f"CASE WHEN b.entity_id IS NULL THEN '{ABSENT}' "
        f"ELSE coalesce(b.grade, '{NO_GRADE}') END AS gb, "
        "a.score AS score_a, b.score AS score_b, a.grade AS grade_a, b.grade AS grade_b "
        "FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b ON a.entity_id = b.entity_id"
    )
    return sql, [str(a), str(b)]


def migration(a: Run, b: Run) -> dict[tuple[str, str], int]:
    """Return {(grade in a, grade in b): entities} — one join of the two results files.

    A grade is NO_GRADE for an entity without one and ABSENT for an entity not in that run."""
    return migration_of_files(results_file(a), results_file(b))


def migration_of_files(a, b) -> dict[tuple[str, str], int]:
    """Return the grade migration between two results files (as `migration`)."""
    sql, args = _joined_files(a, b)
    rows = connection().execute(f"SELECT ga, gb, count(*) FROM ({sql}) GROUP BY 1, 2", args)
    return {(ga, gb): n for ga, gb, n in rows.fetchall()}


def migration_entities(a: Run, b: Run, ga: str, gb: str, *, page: int = 1, size: int = 50) -> Page:
    """Return the entities that moved from grade `ga` in run a to `gb` in run b, a page."""
    sql, args = _joined(a, b)
    con = connection()
    total = con.execute(
        f"SELECT count(*) FROM ({sql}) WHERE ga = ? AND gb = ?", [*args, ga, gb]
    ).fetchone()[0]
    size = max(1, min(size, 1000))
    page = max(1, min(page, max(1, -(-total // size))))
    cur = con.execute(
        "SELECT entity_id, grade_a, score_a, grade_b, score_b, score_b - score_a AS change "
        f"FROM ({sql}) WHERE ga = ? AND gb = ? ORDER BY entity_id "
        f"LIMIT {size} OFFSET {(page - 1) * size}",
        [*args, ga, gb],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return Page(rows=rows, total=total, page=page, size=size, columns=names)
