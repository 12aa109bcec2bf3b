"""Compile a resolved scheme for one period into a FrozenPlan: SQL text in one dialect.

The plan is built with Ibis (plan.py) over *unbound* tables — each named after the relation
that holds the table on the data set's connection, typed as the data set types it — and
compiled to SQL once. Nothing runs here but the loading and checking of the tables the
scheme reads (the data step), which the executor needs anyway: the checks that need the
scheme (ratings within their scale, overrides) become guard queries of the plan.
"""

from __future__ import annotations

import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from pingji.engine import plan as planner
from pingji.engine.assemble import assembly_sql
from pingji.engine.coverage import coverage_query, inside_period
from pingji.engine.frozen import SOURCE, FrozenPlan, Guard
from pingji.periods import Period
from pingji.scheme.resolve import ResolvedScheme
from pingji.sqltext import ident, literal

DIALECTS = ("duckdb", "postgres", "pyspark")  # Ibis' names; `spark` is accepted for pyspark


def dialect_of(name: str) -> str:
    """Return Ibis' name of a dialect given as duckdb, postgres/postgresql or spark/pyspark."""
    low = name.strip().lower()
    found = {"postgresql": "postgres", "spark": "pyspark"}.get(low, low)
    if found not in DIALECTS:
        from pingji.errors import BadInput
        from pingji.i18n import msg

        raise BadInput(
            msg("unknown SQL dialect '{name}' (one of duckdb, postgres, spark)", name=name)
        )
    return found


class _Steps:
    """Turns steps of a plan into tables of their own: each compiled to SQL once and read
    back as an unbound table named after it (the executor creates it before the final query)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.items: list[tuple[str, str]] = []

    def _name(self) -> str:
        return f"pingji_step_{len(self.items) + 1}"

    def __call__(self, t: ir.Table) -> ir.Table:
        name = self._name()
        schema = t.schema()
        # stored with the types the rest of the plan was compiled for: a database may type a
        # result more widely (DuckDB sums integers as HUGEINT, which would hide an overflow)
        self.items.append((name, typed_sql(_sql(t, self.dialect), schema, self.dialect)))
        return ibis.table(schema, name=name)

    def inline(self, label: str, rows: dict[str, list], schema: dict[str, str]) -> ir.Table:
        """Return a table of constant rows (the working-day calendar) as a step of VALUES."""
        name = f"{label}_{len(self.items) + 1}"
        self.items.append((name, values_sql(rows, schema, self.dialect)))
        return ibis.table(schema, name=name)


class _View:
    """The data set as the compiler sees it: each table an unbound Ibis table named after
    the relation holding it; presence, columns, checks and messages from the data set."""

    def __init__(self, data: Any, dialect: str, steps: _Steps | None) -> None:
        self.data = data
        self.backend = dialect
        self.description = data.description
        self.inline = steps.inline if steps is not None else None
        self._tables: dict[str, ir.Table] = {}

    def use(self, specs) -> None:
        self.data.use(specs)

    def has(self, name: str) -> bool:
        return self.data.has(name)

    def source(self, name: str) -> str:
        return self.data.source(name)

    def require(self, name: str, columns, needed_by: str) -> None:
        self.data.require(name, columns, needed_by)

    def columns(self, name: str) -> list[str]:
        return self.data.columns(name)

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            schema = self.data.table(name).schema()
            self._tables[name] = ibis.table(schema, name=self.data.relation(name))
        return self._tables[name]


def sql_type(dtype, dialect: str) -> str:
    """Return the SQL type of an Ibis type in `dialect`, as Ibis' compiler writes it."""
    from ibis.backends.sql import compilers

    compiler = {
        "duckdb": compilers.DuckDBCompiler,
        "postgres": compilers.PostgresCompiler,
        "pyspark": compilers.PySparkCompiler,
    }[dialect]
    return compiler.type_mapper.from_ibis(ibis.dtype(dtype)).sql(compiler.dialect)


def typed_sql(sql: str, schema, dialect: str) -> str:
    """Return `sql` with every column cast to its type in `schema`. Ibis leaves out a cast to
    the type it already assumes, but a database may type a result more widely (DuckDB sums
    integers as HUGEINT, which would hide an overflow the rest of the plan must see)."""
    cols = ", ".join(
        f"CAST({ident(c, dialect)} AS {sql_type(t, dialect)}) AS {ident(c, dialect)}"
        for c, t in schema.items()
    )
    return f"SELECT {cols} FROM ({sql}) AS {ident('pingji_typed', dialect)}"


class _SparkOptions(ibis.config.Config):
    """Ibis' PySpark options, which its compiler reads (and which only importing the PySpark
    backend, and so pyspark, would set): compiling for Spark needs no Spark."""

    treat_nan_as_null: bool = False


def _duckdb_compiler():
    """Return Ibis' DuckDB compiler with its one unordered output made ordered: the columns
    of `SELECT * EXCLUDE (…)` come from a frozenset, so their order followed the string hash
    of the process (PYTHONHASHSEED) and two compiles of one scheme differed in text."""
    from ibis.backends.sql.compilers.duckdb import DuckDBCompiler

    class SortedExcludes(DuckDBCompiler):
        def visit_DropColumns(self, op, *, parent, columns_to_drop):
            return super().visit_DropColumns(
                op, parent=parent, columns_to_drop=sorted(columns_to_drop)
            )

    return SortedExcludes()


_DUCKDB = None  # the compiler above, made on first use


def _sql(expr: ir.Expr, dialect: str) -> str:
    global _DUCKDB
    if dialect == "pyspark" and ibis.options.pyspark is None:
        ibis.options.pyspark = _SparkOptions()
    if dialect == "duckdb":
        # as ibis.to_sql does, with the compiler above
        _DUCKDB = _DUCKDB or _duckdb_compiler()
        return _DUCKDB.to_sqlglot(expr.unbind()).sql(dialect=_DUCKDB.dialect, pretty=False)
    return str(ibis.to_sql(expr, dialect=dialect, pretty=False))


def values_sql(rows: dict[str, list], schema: dict[str, str], dialect: str) -> str:
    """Return a query of constant rows (columns → values) typed per `schema`, in `dialect`."""
    names = list(schema)

    def q(n: str) -> str:
        return ident(n, dialect)

    def lit(v: Any) -> str:
        if isinstance(v, datetime.date):
            return f"DATE '{v.isoformat()}'"
        return literal(v, dialect)

    tuples = ", ".join(
        "(" + ", ".join(lit(v) for v in row) + ")"
        for row in zip(*(rows[n] for n in names), strict=True)
    )
    if not tuples:  # no rows: a typed empty relation
        select = ", ".join(f"CAST(NULL AS {sql_type(schema[n], dialect)}) AS {q(n)}" for n in names)
        return f"SELECT {select} WHERE 1 = 0"
    cast = ", ".join(f"CAST({q(n)} AS {sql_type(schema[n], dialect)}) AS {q(n)}" for n in names)
    columns = ", ".join(q(n) for n in names)
    return f"SELECT {cast} FROM (VALUES {tuples}) AS v({columns})"


def compile_plan(
    rs: ResolvedScheme,
    data: Any,
    period: Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
    dialect: str | None = None,
    key: str | None = None,
) -> FrozenPlan:
    """Compile one period's evaluation of `rs` over `data` into a FrozenPlan (SQL in
    `dialect`, default the data set's); `key` is the cache key it is stored under."""
    dialect = dialect_of(dialect or data.backend)
    steps = _Steps(dialect)
    view = _View(data, dialect, steps)
    plan = planner.build_plan(rs, view, period, params, entity, steps=steps)
    final = plan.table
    columns = tuple(final.columns)
    cov, cov_tables = (None, ())
    if entity is None:
        query, cov_tables = coverage_query(rs, view, period)
        cov = _sql(query, dialect) if query is not None else None
    guards = tuple(Guard(sql=_sql(q, dialect), **how) for q, how in plan.guards)
    row_counts = tuple((table, _sql(counts, dialect)) for table, counts in plan.row_counts)
    present = set(columns)
    shapes = tuple(
        (shape, assembly_sql(rs, present, shape, SOURCE)) for shape in ("nested", "flat", "text")
    )
    s = rs.scheme
    return FrozenPlan(
        key=key,
        dialect=dialect,
        scheme=f"{s.id} v{s.version}",
        entity_table=s.entity,
        period=str(period),
        entity=entity,
        tables=tuple((n, data.relation(n)) for n in sorted(view._tables)),
        coverage=cov,
        coverage_tables=tuple(cov_tables),
        guards=guards,
        steps=tuple(steps.items),
        sql=_sql(final, dialect),
        columns=columns,
        row_counts=row_counts,
        checks=tuple(plan.checks),
        quality=tuple((c.id, c.label, float(c.at_least)) for c in s.checks),
        shapes=shapes,
        coverage_inside=inside_period(rs, period),
        notices=tuple((k, t, _sql(q, dialect), c) for k, t, q, c in plan.notices),
    )


def data_guards(rs: ResolvedScheme, data: Any) -> tuple[Guard, ...]:
    """Return the plan's guards (ratings within their scale, overrides) over every period
    of `data`, as SQL in its dialect: what `pingji validate --data` runs."""
    from pingji.engine import guards

    dialect = dialect_of(data.backend)
    view = _View(data, dialect, None)
    return tuple(Guard(sql=_sql(q, dialect), **how) for q, how in guards.data_guards(rs, view))


__all__ = ["DIALECTS", "compile_plan", "data_guards", "dialect_of"]
