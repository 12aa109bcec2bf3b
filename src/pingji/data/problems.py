"""Inspect an uploaded file before it is imported: every problem at once, and a preview.

The data layer's loading (`FolderDataSet`) stops at the first bad row, which is right for an
evaluation. Someone fixing a file wants the whole list. `inspect_file` runs the same checks —
the same `Check` predicates of `validate.text_plan` / `native_plan` and the same key rule as
`check_unique` — set-based on DuckDB: one scan counts every check's failures, then one scan
per failing check lists its rows, UNION ALL, ORDER BY row, LIMIT n. No Python loop over rows.

A missing required column is reported (with the header row) and the other columns are still
checked, so one upload shows everything that needs fixing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb

from pingji.data.batches import _UploadDataSet, close_upload, upload_folder
from pingji.data.contract import ROW_COLUMN, TableSpec, unread, with_declared
from pingji.data.dataset import contract_table
from pingji.data.folder import parquet_relation
from pingji.data.labels import labelled
from pingji.data.validate import (
    AGGREGATES_PER_QUERY,
    Check,
    ColumnPlan,
    absent_plan,
    aggregate,
    extra_plans,
    ident,
    literal,
    normalised,
    text_plan,
)
from pingji.errors import DataError
from pingji.i18n import Text

LIMIT = 200  # problems listed (all are counted)
PREVIEW = 20  # rows shown

# A stable code for each check message of validate.py, so a user interface can word it.
CODES: dict[str, str] = {
    "value is missing": "missing",
    "not an amount": "not_amount",
    "more than 4 decimals": "too_precise",
    "amount out of range": "amount_range",
    "not a number": "not_number",
    "not a whole number": "not_integer",
    "not a valid date": "not_date",
    "not a true/false value": "not_bool",
    "not an allowed value": "not_choice",
    "thousands separators in the wrong places": "bad_grouping",
    "ambiguous date: the year must come first": "date_order",
    "a number, not a date": "number_date",
}
UNKNOWN_LISTED = 20  # rows naming an unknown entity listed (all are counted)


@dataclass(frozen=True)
class RowProblem:
    """One problem: where (row or line, column), the value found, what is wrong and expected.

    `code` is one of CODES' values, "duplicate" (a key seen on an earlier row, `first`),
    "missing_column" (a required column is not in the header), "empty" (no data rows) or
    "file" (the file cannot be read as this table; `message` says why, a Message worded
    when shown). The row checks' `message` and `expected` are English text with the code."""

    row: int | None
    column: str | None
    value: str | None
    code: str
    message: Text
    expected: Text | None = None
    first: int | None = None


@dataclass(frozen=True)
class ConvertedCells:
    """The cells of a column read from another form in one way (`code`: validate.CONVERSIONS),
    how many, and the first of them as the file has it and as it will be stored."""

    column: str
    code: str
    rows: int
    example: str
    converted: object
    example_row: int


@dataclass(frozen=True)
class UnknownKeys:
    """Rows whose key names no entity of the entity table as known (a warning: an evaluation
    skips such rows)."""

    entity: str  # the entity table (customers, suppliers …)
    key: str  # the file's key column
    rows: int
    keys: int  # distinct unknown keys
    listed: list[tuple[int, str]]  # (row, key) of the first UNKNOWN_LISTED rows


@dataclass
class Inspection:
    """What an uploaded file holds and every problem found in it."""

    table: str
    file: str
    unit: str  # "line" (CSV: header = line 1) or "row" (XLSX sheet row; Parquet row)
    rows: int | None  # data rows; None when the file could not be read
    columns: list[str] = field(default_factory=list)  # the file's columns, resolved, in order
    missing: list[str] = field(default_factory=list)  # required contract columns not there
    absent: list[str] = field(default_factory=list)  # optional contract columns not there
    extra: list[str] = field(default_factory=list)  # columns not in the contract (kept)
    problems: list[RowProblem] = field(default_factory=list)  # the first LIMIT, by row
    total: int = 0  # problems in all
    preview_columns: list[str] = field(default_factory=list)  # ROW_COLUMN first
    preview: list[tuple] = field(default_factory=list)  # typed as they would be stored
    min_date: date | None = None
    max_date: date | None = None
    # how cells were read from other forms (2026/1/6, ¥12,500 …), by column, in plan order
    conversions: list[ConvertedCells] = field(default_factory=list)
    encoding: str | None = None  # the encoding a CSV file was converted from (None: UTF-8)
    unknown: UnknownKeys | None = None  # None: not checked (no known entity table)

    @property
    def ok(self) -> bool:
        """Tell whether the file can be imported as it is."""
        return self.total == 0 and bool(self.rows)


_CAST = re.compile(r"(?<![A-Za-z_])CAST\(")


def _lenient(select: str) -> str:
    """Return a column's typing SQL with TRY_CAST, so a preview shows bad cells as empty."""
    return _CAST.sub("TRY_CAST(", select)


def _all_optional(spec: TableSpec) -> TableSpec:
    return replace(spec, columns=tuple(replace(c, required=False) for c in spec.columns))


class _Inspector(_UploadDataSet):
    """An upload data set whose loading lists problems (in `.inspection`) instead of raising.

    Columns are all optional while the header is read, so a missing required column does
    not stop the other checks; the real contract (with labels) is used for everything else."""

    def __init__(
        self,
        folder: Path,
        shown_as: str,
        limit: int,
        preview: int,
        tables: Mapping[str, TableSpec] | None = None,
        entities: Sequence[Path] | None = None,
    ) -> None:
        super().__init__(folder, shown_as)
        self.limit, self.preview = limit, preview
        self.entities = list(entities or [])
        self.inspection: Inspection | None = None
        self.use({n: unread(s) for n, s in (tables or {}).items()})

    def _load(self, name: str, spec: TableSpec) -> str:
        return super()._load(name, _all_optional(spec))

    def _materialise(
        self,
        name: str,
        spec: TableSpec,
        file: str,
        relation: str,
        names: list[str],
        unit: str,
        ordered: bool,
    ) -> None:
        real = labelled(self.contract[name])
        plans = [text_plan(c) if c.name in names else absent_plan(c) for c in real.columns]
        extras = [n for n in names if real.column(n) is None]
        self.inspection = collect(
            self._db,
            relation,
            real,
            plans,
            extras,
            names,
            file,
            unit,
            header_row=1,
            limit=self.limit,
            preview=self.preview,
        )
        self.inspection.encoding = self.encodings.get(name)
        self.inspection.unknown = self._unknown(real, relation, names)
        self._db.execute(f"CREATE TABLE {ident(name)} AS SELECT * FROM {relation} LIMIT 0")

    def _load_parquet(self, name: str, spec: TableSpec, path: Path, file: str) -> None:
        # As FolderDataSet._load_parquet, collecting instead of raising.
        real = labelled(self.contract[name])
        relation, plans, names = parquet_relation(self._db, path, real, file)
        self.inspection = collect(
            self._db,
            relation,
            real,
            plans,
            [],
            names,
            file,
            "row",
            header_row=None,
            limit=self.limit,
            preview=self.preview,
        )
        self.inspection.unknown = self._unknown(real, relation, names)
        self._db.execute(f"CREATE VIEW {ident(name)} AS SELECT * FROM {relation} LIMIT 0")

    def _unknown(self, spec: TableSpec, relation: str, names: Sequence[str]) -> UnknownKeys | None:
        """Count and list the rows of a fact table whose key names no entity of the entity
        table's batch files (`entities`); None when there are none to compare with."""
        entity = self.contract.get(spec.entity or "")
        if not self.entities or entity is None or spec.kind != "fact" or spec.key not in names:
            return None
        files = "[" + ", ".join(literal(str(p)) for p in self.entities) + "]"
        known = ident(entity.key)
        key, row = ident(spec.key), ident(ROW_COLUMN)
        unknown = (
            f"FROM {relation} WHERE {key} IS NOT NULL AND {key} NOT IN (SELECT {known} FROM "
            f"read_parquet({files}, union_by_name = true) WHERE {known} IS NOT NULL)"
        )
        counted = f"SELECT count(*), count(DISTINCT {key}) {unknown}"
        rows, keys = self._db.execute(counted).fetchone()
        listed = self._db.execute(
            f"SELECT {row}, {key} {unknown} ORDER BY {row} LIMIT {UNKNOWN_LISTED}"
        ).fetchall()
        return UnknownKeys(entity.name, spec.key, rows, keys, [(r, k) for r, k in listed])


def collect(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    spec: TableSpec,
    plans: list[ColumnPlan],
    extras: Sequence[str],
    names: Sequence[str],
    file: str,
    unit: str,
    *,
    header_row: int | None,
    limit: int = LIMIT,
    preview: int = PREVIEW,
) -> Inspection:
    """Inspect `relation` (cleaned columns plus ROW_COLUMN) against `plans`: count and list
    every failing check, every repeated key, and the header's missing required columns."""
    row = ident(ROW_COLUMN)
    relation = normalised(relation, plans)
    checks: list[Check] = [c for p in plans for c in p.checks]
    # One problem per bad cell: a column's checks are tried in order and the first that
    # holds names the problem (as the data layer would report it).
    by_column: dict[str, list[int]] = {}
    for i, c in enumerate(checks):
        by_column.setdefault(c.column, []).append(i)
    failing = {
        column: " OR ".join(f"({checks[i].predicate})" for i in indices)
        for column, indices in by_column.items()
    }
    which = {
        column: "CASE " + " ".join(f"WHEN {checks[i].predicate} THEN {i}" for i in indices) + " END"
        for column, indices in by_column.items()
    }

    def typed(plan: ColumnPlan) -> str:
        # A cell a check refuses is shown and counted as empty, whatever a cast would make
        # of it (TRY_CAST('3.5' AS BIGINT) is 4): the preview never shows a refused value.
        if plan.name not in failing:
            return _lenient(plan.select)
        return f"CASE WHEN {failing[plan.name]} THEN NULL ELSE {_lenient(plan.select)} END"

    aggregates = ["count(*)"] + [f"count(*) FILTER (WHERE {f})" for f in failing.values()]
    date_plan = next((p for p in plans if spec.date and p.name == spec.date), None)
    if date_plan is not None and spec.date in names:
        aggregates += [f"min({typed(date_plan)})::DATE", f"max({typed(date_plan)})::DATE"]
    found = aggregate(con, relation, aggregates)
    rows, counts = int(found[0]), found[1 : 1 + len(failing)]
    rest = list(found[1 + len(failing) :])
    lo = hi = None
    if date_plan is not None and spec.date in names:
        lo, hi = rest[0], rest[1]
    converted = [
        cells
        for p in plans
        if p.name in names and p.converted
        for cells in _converted(con, relation, p, failing.get(p.name), typed(p))
    ]
    typed_extras = extra_plans(con, relation, extras)

    key = ident(spec.key)
    duplicates = 0
    if spec.unique_key and spec.key in names:
        duplicates = con.execute(
            f"SELECT count(*) - count(DISTINCT {key}) FROM {relation} WHERE {key} IS NOT NULL"
        ).fetchone()[0]

    header: list[RowProblem] = []
    required = [c.name for c in spec.required]
    missing = [n for n in required if n not in names]
    for name in missing:
        header.append(
            RowProblem(
                header_row,
                name,
                None,
                "missing_column",
                "required column is missing",
                "columns " + ", ".join(required),
            )
        )
    if rows == 0 and not missing:
        header.append(RowProblem(None, None, None, "empty", "the file has no data rows"))

    listed: list[RowProblem] = []
    parts = [
        f"SELECT {row} AS r, {which[column]} AS k, CAST({ident(column)} AS VARCHAR) AS v, "
        f"NULL::BIGINT AS f FROM {relation} WHERE {failing[column]}"
        for column, n in zip(failing, counts, strict=True)
        if n
    ]
    if duplicates:
        parts.append(
            f"SELECT r, {len(checks)} AS k, CAST(v AS VARCHAR) AS v, f FROM (SELECT {row} AS r, "
            f"{key} AS v, min({row}) OVER (PARTITION BY {key}) AS f FROM {relation} "
            f"WHERE {key} IS NOT NULL) WHERE r > f"
        )
    room = max(0, limit - len(header))
    found_rows: list[tuple] = []
    # a chunk of failing columns per query, as `aggregate` does; the first `room` of each
    # chunk, merged
    for start in range(0, len(parts) if room else 0, AGGREGATES_PER_QUERY):
        union = " UNION ALL ".join(parts[start : start + AGGREGATES_PER_QUERY])
        query = f"SELECT r, k, v, f FROM ({union}) ORDER BY r, k LIMIT {room}"
        found_rows += con.execute(query).fetchall()
    if found_rows:
        for r, k, v, first in sorted(found_rows, key=lambda found: found[:2])[:room]:
            if k == len(checks):
                listed.append(
                    RowProblem(
                        r,
                        spec.key,
                        v,
                        "duplicate",
                        f"duplicate key, first on {unit} {first}",
                        f"each {spec.key} once",
                        first,
                    )
                )
            else:
                c = checks[k]
                listed.append(
                    RowProblem(r, c.column, v, CODES.get(c.message, "other"), c.message, c.expected)
                )

    final = plans + typed_extras
    select = ", ".join([row, *(f"{typed(p)} AS {ident(p.name)}" for p in final)])
    cur = con.execute(f"SELECT {select} FROM {relation} ORDER BY {row} LIMIT {int(preview)}")
    return Inspection(
        table=spec.name,
        file=file,
        unit=unit,
        rows=rows,
        columns=list(names),
        missing=missing,
        absent=[c.name for c in spec.columns if c.name not in names and not c.required],
        extra=list(extras),
        problems=header + listed,
        total=len(header) + sum(counts) + duplicates,
        preview_columns=[d[0] for d in cur.description],
        preview=cur.fetchall(),
        min_date=lo,
        max_date=hi,
        conversions=converted,
    )


def _converted(
    con: duckdb.DuckDBPyConnection, relation: str, plan: ColumnPlan, failing: str | None, typed: str
) -> list[ConvertedCells]:
    """Count a column's cells read from another form, by the way they were read (the first
    of its conversions that holds), with the first of each: one scan of the column."""
    row = ident(ROW_COLUMN)
    way = " ".join(f"WHEN {c.predicate} THEN {i}" for i, c in enumerate(plan.conversions))
    accepted = plan.converted if failing is None else f"{plan.converted} AND NOT ({failing})"
    found = con.execute(
        f"SELECT way, count(*), arg_min(v, r), arg_min(t, r), min(r) FROM (SELECT CASE {way} "
        f"END AS way, {ident(plan.name)} AS v, {typed} AS t, {row} AS r FROM {relation} "
        f"WHERE {accepted}) WHERE way IS NOT NULL GROUP BY way ORDER BY way"
    ).fetchall()
    return [
        ConvertedCells(plan.name, plan.conversions[way].code, n, str(raw), value, first)
        for way, n, raw, value, first in found
    ]


def inspect_file(
    path: Path,
    table: str,
    shown_as: str | None = None,
    *,
    limit: int = LIMIT,
    preview: int = PREVIEW,
    tables: Mapping[str, TableSpec] | None = None,
    entities: Sequence[Path] | None = None,
) -> Inspection:
    """Inspect an uploaded CSV/XLSX/Parquet file as table `table` (of the contract, or of
    `tables`: the tables schemes declare). `entities`: the batch files (Parquet) of the
    entity table the file's keys name; rows naming none of their entities are flagged.

    Never raises for bad content: a file that cannot be read at all (not UTF-8, a ragged CSV
    line, a column twice in the header, a broken workbook) gives one problem of code "file"."""
    file = shown_as or path.name
    contract_table(table, file, with_declared(tables or {}))
    suffix = path.suffix.lower()
    unit = "line" if suffix == ".csv" else "row"
    try:
        folder = upload_folder(path, table, file, tables)
        ds = _Inspector(folder, file, limit, preview, tables, entities)
    except DataError as exc:
        return _unreadable(table, file, unit, exc)
    try:
        ds.table(table)
        assert ds.inspection is not None
        return ds.inspection
    except DataError as exc:
        return _unreadable(table, file, unit, exc)
    finally:
        close_upload(ds)


def _unreadable(table: str, file: str, unit: str, exc: DataError) -> Inspection:
    value = None if exc.value is None else str(exc.value)
    # the error's own messages, worded when shown (the web stores their ids: uploads.py)
    problem = RowProblem(exc.row, exc.column, value, "file", exc.message, exc.expected)
    return Inspection(table, file, unit, None, problems=[problem], total=1)
