"""What the ratings pages read from the imported data, set-based with DuckDB over the active
import batches: the entities of a scheme (ids and names), the rater's grid of cells with
their statuses and counts, and the imported rating rows of one cell.

A cell is one entity × one manual indicator. Cells come from the active batches of the
scheme's entity table crossed with the indicators (all entities, or the entity list of an
assignment); statuses come from the ratings in the app database, passed in as Arrow tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from pingji.data.batches import BatchDataSet
from pingji.sqltext import ident
from pingji.web.imports.services import active_batches, open_batches
from pingji.web.imports.tables import spec_of

STATUSES = ("empty", "draft", "submitted", "approved", "rejected")


@contextmanager
def _open(table: str) -> Iterator[tuple[BatchDataSet, object] | None]:
    """Open the active batches of `table` on DuckDB; yield (data set, DuckDB connection) with
    a view `e(entity_id, name)` for entity tables, or None when no batch is active."""
    batches = [b for b in active_batches() if b.table == table]
    if not batches:
        yield None
        return
    ds = open_batches(batches)
    try:
        ds.table(table)  # creates the view over the batch files
        db = ds.duck  # the data set's DuckDB connection
        spec = spec_of(table)
        assert spec is not None, table  # only tables with active batches get here
        if spec.kind == "entity":
            columns = set(ds.columns(table))
            name = "CAST(name AS VARCHAR)" if "name" in columns else "NULL::VARCHAR"
            db.execute(
                f"CREATE TEMP VIEW e AS SELECT CAST({ident(spec.key)} AS VARCHAR) AS entity_id, "
                f"{name} AS name FROM {ident(table)}"
            )
        yield ds, db
    finally:
        ds.con.disconnect()


def _ids_table(ids: Iterable[str]) -> pa.Table:
    return pa.table({"entity_id": pa.array([str(i) for i in ids], pa.string())})


def has_entities(table: str) -> bool:
    """Whether any active batch holds table `table`."""
    return any(b.table == table for b in active_batches())


def entity_names(table: str, ids: Iterable[str]) -> dict[str, str | None]:
    """Return {entity id: name} for those of `ids` found in the active batches of `table`."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    if not ids:
        return {}
    with _open(table) as opened:
        if opened is None:
            return {}
        _ds, db = opened
        db.register("wanted", _ids_table(ids))
        rows = db.execute(
            "SELECT e.entity_id, e.name FROM e JOIN wanted USING (entity_id)"
        ).fetchall()
    return dict(rows)


def unknown_ids(table: str, ids: Iterable[str]) -> list[str] | None:
    """Return those of `ids` not in the active batches of `table` (in the given order), or
    None when no batch of the table is active (nothing to check against)."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    with _open(table) as opened:
        if opened is None:
            return None
        _ds, db = opened
        db.register("wanted", _ids_table(ids))
        found = {
            r[0]
            for r in db.execute(
                "SELECT w.entity_id FROM wanted w SEMI JOIN e USING (entity_id)"
            ).fetchall()
        }
    return [i for i in ids if i not in found]


def imported_ratings(entity_id: str, period: str, indicator: str) -> list[dict]:
    """Return the rows of the active `ratings` batches for one cell (the engine reads them
    together with the approved manual ratings)."""
    with _open("ratings") as opened:
        if opened is None:
            return []
        ds, db = opened
        columns = set(ds.columns("ratings"))
        rater = "CAST(rater AS VARCHAR)" if "rater" in columns else "NULL::VARCHAR"
        dept = "CAST(department AS VARCHAR)" if "department" in columns else "NULL::VARCHAR"
        rows = db.execute(
            f"SELECT CAST(score AS DOUBLE), {rater}, {dept} FROM ratings "
            "WHERE CAST(entity_id AS VARCHAR) = ? AND CAST(period AS VARCHAR) = ? "
            "AND CAST(indicator AS VARCHAR) = ? ORDER BY 2, 1",
            [entity_id, period, indicator],
        ).fetchall()
    return [{"score": s, "rater": r, "department": d} for s, r, d in rows]


@dataclass
class Grid:
    """One page of a rater's (or a reader's) grid of cells."""

    has_data: bool
    entities: list[tuple[str, str | None]] = field(default_factory=list)  # (id, name) of a page
    matching: int = 0  # entities matching the search and status filter
    counts: dict[str, int] = field(default_factory=dict)  # cells per status, whole grid
    cells: int = 0  # cells in the whole grid

    @property
    def done(self) -> int:
        return self.counts.get("submitted", 0) + self.counts.get("approved", 0)


def grid(
    table: str,
    assigned: Mapping[str, list[str] | None],
    statuses: Iterable[tuple[str, str, str]],
    *,
    search: str = "",
    status: str = "",
    after: str = "",
    offset: int = 0,
    limit: int = 50,
) -> Grid:
    """Return a page of the grid of `table`'s entities × the `assigned` indicators.

    `assigned` maps an indicator code to its entity ids (None: every entity); `statuses`
    gives (entity id, indicator, status) of the cells that have one (the others are
    "empty"). `search` matches id or name (case-insensitive); `status` keeps entities with
    at least one cell in that status; `after` keeps entities whose id sorts after it."""
    with _open(table) as opened:
        if opened is None:
            return Grid(has_data=False)
        _ds, db = opened
        # Cells are never materialised (entities × indicators can be millions): totals come
        # from the entity count, statuses from the (few) rated cells.
        everyone = [code for code, ids in assigned.items() if ids is None]
        listed = list(
            dict.fromkeys((str(i), code) for code, ids in assigned.items() if ids for i in ids)
        )
        db.register("alls", pa.table({"indicator": pa.array(everyone, pa.string())}))
        db.register(
            "lists",
            pa.table(
                {
                    "entity_id": pa.array([i for i, _ in listed], pa.string()),
                    "indicator": pa.array([c for _, c in listed], pa.string()),
                }
            ),
        )
        rows = list(statuses)
        db.register(
            "r",
            pa.table(
                {
                    "entity_id": pa.array([str(r[0]) for r in rows], pa.string()),
                    "indicator": pa.array([r[1] for r in rows], pa.string()),
                    "status": pa.array([r[2] for r in rows], pa.string()),
                }
            ),
        )
        # the rated cells: ratings of an assigned indicator for an entity in the data
        db.execute(
            "CREATE TEMP TABLE rc AS SELECT r.entity_id, r.indicator, r.status FROM r "
            "SEMI JOIN e USING (entity_id) "
            "WHERE r.indicator IN (SELECT indicator FROM alls) OR EXISTS "
            "(SELECT 1 FROM lists l WHERE l.entity_id = r.entity_id AND l.indicator = r.indicator)"
        )
        db.execute("CREATE TEMP TABLE lc AS SELECT * FROM lists SEMI JOIN e USING (entity_id)")
        entities = db.execute("SELECT count(*) FROM e").fetchone()[0]
        cells = entities * len(everyone) + db.execute("SELECT count(*) FROM lc").fetchone()[0]
        counts = dict(db.execute("SELECT status, count(*) FROM rc GROUP BY 1").fetchall())
        counts["empty"] = cells - sum(counts.values())
        where: list[str] = []
        params: list = []
        if not everyone:
            where.append("e.entity_id IN (SELECT entity_id FROM lc)")
        if status == "empty":  # entities with fewer rated cells than cells
            where.append(
                "e.entity_id NOT IN (SELECT d.entity_id FROM "
                "(SELECT entity_id, count(*) AS done FROM rc GROUP BY 1) d "
                "LEFT JOIN (SELECT entity_id, count(*) AS n FROM lc GROUP BY 1) l "
                "USING (entity_id) WHERE d.done >= ? + coalesce(l.n, 0))"
            )
            params.append(len(everyone))
        elif status:
            where.append("e.entity_id IN (SELECT entity_id FROM rc WHERE status = ?)")
            params.append(status)
        if search:
            where.append(
                "(contains(lower(e.entity_id), lower(?)) "
                "OR contains(lower(coalesce(e.name, '')), lower(?)))"
            )
            params += [search, search]
        sql_where = " AND ".join(where) or "true"
        matching = db.execute(f"SELECT count(*) FROM e WHERE {sql_where}", params).fetchone()[0]
        if after:  # not part of `matching`: the page starts after an entity, same filters
            where.append("e.entity_id > ?")
            params.append(after)
        page_where = " AND ".join(where) or "true"
        page = db.execute(
            f"SELECT e.entity_id, e.name FROM e WHERE {page_where} "
            "ORDER BY e.entity_id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    return Grid(
        has_data=True,
        entities=[(i, n) for i, n in page],
        matching=matching,
        counts={s: counts.get(s, 0) for s in STATUSES},
        cells=cells,
    )
