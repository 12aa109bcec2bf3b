"""`pingji compile`: a scheme's evaluation of one period as a SQL script for the user's own
database or warehouse.

The script reads the tables by their contract names (or the names a sources file gives,
`table:` entries and column renames), types the columns it reads itself — trimmed text, empty
cells as NULL, cast to the contract's types — so tables loaded raw by a CSV reader work, runs
the compiled plan's steps, and ends with one query returning one row per entity in the shape
of pingji's CSV output: entity_id, period, score, points, max_points, grade, classes, class,
status, actions, missing, reasons, override, the scheme's outputs, then `<node>.points` … .

What it does not do: check the data (key uniqueness, values of the wrong type, ratings
outside their scale, overrides naming unknown grades — run `pingji validate --data` for that),
count rows of unknown entities, or refuse a period without data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import ibis

from pingji.data.contract import ENGINE_TYPES, TableSpec
from pingji.engine.assemble import assembly_sql
from pingji.engine.compile import compile_plan, dialect_of, sql_type
from pingji.errors import BadInput, DataError
from pingji.i18n import msg
from pingji.periods import Period
from pingji.scheme.resolve import ResolvedScheme
from pingji.sqltext import ident

# Tables an evaluation reads only when the data set has them: left out of a script unless
# the user says they exist (`present`). A data set's own working-day calendar is not among
# them: its days are compiled into a plan, so a script counts with the official calendar.
OPTIONAL = ("overrides",)
BOOL_TRUE = ("true", "1", "yes", "y", "是")
BOOL_FALSE = ("false", "0", "no", "n", "否")


class ContractTables:
    """A data set known by its shape alone: the tables a scheme reads, typed as the contract
    types them, under the names of the script's typed views. Nothing is loaded or checked."""

    def __init__(self, dialect: str, present: Iterable[str]) -> None:
        self.backend = dialect
        self.description = "the tables of the data contract"
        self.present = set(present)
        self.specs: dict[str, TableSpec] = {}

    def use(self, specs: Mapping[str, TableSpec]) -> None:
        self.specs.update(specs)

    def has(self, name: str) -> bool:
        return name in self.specs and name in self.present

    def source(self, name: str) -> str:
        return f"table {name}"

    def relation(self, name: str) -> str:
        return f"pingji_{name}"

    def columns(self, name: str) -> list[str]:
        return [c.name for c in self.specs[name].columns]

    def require(self, name: str, columns: Iterable[str], needed_by: str) -> None:
        missing = [c for c in columns if c not in self.columns(name)]
        if not self.has(name) or missing:  # the scheme's own reads: never (a resolver bug)
            raise DataError(self.description, f"table '{name}' cannot be read for {needed_by}")

    def table(self, name: str) -> ibis.Table:
        spec = self.specs[name]
        schema = {c.name: ENGINE_TYPES[c.type] for c in spec.columns}
        return ibis.table(schema, name=self.relation(name))


def typed_view(
    spec: TableSpec, raw: str, renames: Mapping[str, str], dialect: str, relation: str
) -> str:
    """Return the statement creating the typed view of table `spec` over the raw table `raw`
    (contract column → the user's column in `renames`)."""
    q = partial(ident, dialect=dialect)
    text = sql_type("string", dialect)
    cols = []
    for c in spec.columns:
        cell = f"NULLIF(TRIM(CAST({q(renames.get(c.name, c.name))} AS {text})), '')"
        if c.type == "string":
            value = cell
        elif c.type == "bool":
            low = f"LOWER({cell})"
            yes = ", ".join(f"'{v}'" for v in BOOL_TRUE)
            no = ", ".join(f"'{v}'" for v in BOOL_FALSE)
            value = f"CASE WHEN {low} IN ({yes}) THEN TRUE WHEN {low} IN ({no}) THEN FALSE END"
        else:
            value = f"CAST({cell} AS {sql_type(ENGINE_TYPES[c.type], dialect)})"
        if c.default is not None:
            default = c.default if not isinstance(c.default, str) else f"'{c.default}'"
            if isinstance(c.default, bool):
                default = "TRUE" if c.default else "FALSE"
            value = f"COALESCE({value}, {default})"
        cols.append(f"{value} AS {q(c.name)}")
    create = (
        "CREATE OR REPLACE TEMPORARY VIEW"
        if dialect != "postgres"
        else "CREATE OR REPLACE TEMP VIEW"
    )
    return f"{create} {q(relation)} AS\nSELECT {', '.join(cols)}\nFROM {raw}"


def export_script(
    rs: ResolvedScheme,
    period: Period,
    dialect: str = "duckdb",
    params: dict[str, str] | None = None,
    sources: Mapping[str, Any] | None = None,
    present: Iterable[str] = (),
) -> str:
    """Return the SQL script evaluating `rs` for `period` in `dialect` (see the module)."""
    dialect = dialect_of(dialect)
    reads = rs.reads()
    unknown = sorted(set(present) - set(OPTIONAL))
    if unknown:
        raise BadInput(
            msg(
                "--with names {tables}: the optional tables a script can read are {known}",
                tables=", ".join(unknown),
                known=", ".join(OPTIONAL),
            )
        )
    for name, src in (sources or {}).items():
        spec = reads.get(name)
        if spec is None:
            raise BadInput(
                msg(
                    "the sources file maps table '{table}', which scheme {id} does not read "
                    "(it reads {tables})",
                    table=name,
                    id=rs.id,
                    tables=", ".join(sorted(reads)),
                )
            )
        wrong = sorted(set(getattr(src, "columns", {}) or {}) - {c.name for c in spec.columns})
        if wrong:
            raise BadInput(
                msg(
                    "the sources file renames column '{column}' of {table}, which scheme {id} "
                    "does not read (it reads {columns})",
                    column=wrong[0],
                    table=name,
                    id=rs.id,
                    columns=", ".join(c.name for c in spec.columns),
                )
            )
    tables = ContractTables(dialect, [n for n in reads if n not in OPTIONAL or n in present])
    plan = compile_plan(rs, tables, period, params, dialect=dialect)
    sources = sources or {}
    s = rs.scheme
    lines = [
        f"-- pingji compile: scheme {s.id} v{s.version}, period {period} "
        f"({period.start} to {period.end}), SQL dialect {dialect}",
        "-- Reads these tables (their columns as text or typed; empty text is NULL):",
    ]
    statements = []
    for name, relation in plan.tables:
        spec = tables.specs[name]
        src = sources.get(name)
        raw = getattr(src, "table", None) or name
        renames = dict(getattr(src, "columns", {}) or {})
        shown = ", ".join(f"{renames.get(c.name, c.name)} ({c.type})" for c in spec.columns)
        lines.append(f"--   {raw}: {shown}")
        qualified = ".".join(ident(part, dialect) for part in raw.split("."))
        statements.append(typed_view(spec, qualified, renames, dialect, relation))
    absent = [n for n in reads if not tables.has(n)]
    if absent:
        lines.append(f"-- Assumed absent (optional): {', '.join(absent)}")
    lines.append(
        "-- Not checked here: key uniqueness, value types, rating scales, override grades "
        "(run `pingji validate SCHEME --data DATA`)."
    )
    result = "pingji_result"
    for name, sql in [*plan.steps, (result, plan.sql)]:
        if dialect == "pyspark":  # a cached view: CACHE TABLE … AS cannot replace one
            statements.append(f"CREATE OR REPLACE TEMPORARY VIEW {ident(name, dialect)} AS\n{sql}")
            statements.append(f"CACHE TABLE {ident(name, dialect)}")
        elif dialect == "postgres":
            statements.append(f"DROP TABLE IF EXISTS {ident(name, dialect)}")
            statements.append(f"CREATE TEMP TABLE {ident(name, dialect)} AS\n{sql}")
        else:
            statements.append(f"CREATE OR REPLACE TEMP TABLE {ident(name, dialect)} AS\n{sql}")
    final = assembly_sql(rs, set(plan.columns), "text", ident(result, dialect), dialect)
    statements.append(final)
    return "\n".join(lines) + "\n\n" + ";\n\n".join(statements) + ";\n"
