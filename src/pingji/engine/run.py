"""Run a compiled plan on the data set's connection and assemble the per-entity output.

The executor's side of "compile once, run anywhere": it takes a FrozenPlan (SQL text) from
the plan cache — or has compile.py make one, the only place Ibis is imported — and runs it
with plain SQL: on DuckDB the result stays in a table of the data set's connection, where
the output shapes and files are made without a round trip.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from pingji.data import limits
from pingji.data.contract import ROW_COLUMN
from pingji.data.dataset import discard
from pingji.engine.columns import ROUND
from pingji.engine.coverage import Coverage, from_rows, refusal, warning
from pingji.engine.digest import SchemeDigest, digest_of
from pingji.engine.frozen import PLANS, FrozenPlan, Guard, plan_key
from pingji.engine.params import resolve_params
from pingji.errors import BadInput, DataError, EvaluationError
from pingji.i18n import Message, from_json, msg
from pingji.periods import Period
from pingji.sqltext import ident

if TYPE_CHECKING:
    import pyarrow as pa

    from pingji.scheme.resolve import ResolvedScheme


@dataclass
class CheckResult:
    """A run-level quality check and whether it held."""

    id: str
    label: str | None
    share: float | None
    at_least: float
    ok: bool


@dataclass
class Evaluation:
    """The result of evaluating a scheme for one period.

    The plan's result (one row per entity, every metric and node column) stays in a DuckDB
    table `source` on `duck`, so output shapes and files are made there without a round trip
    (a view computed by each reader when the evaluation was not materialised).
    """

    info: SchemeDigest
    plan: FrozenPlan
    duck: duckdb.DuckDBPyConnection
    source: str
    columns: list[str]
    warnings: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    coverage: Coverage | None = None
    _shaped: dict[str, pa.Table] = field(default_factory=dict, repr=False)

    @property
    def scheme(self) -> ResolvedScheme:
        """Return the scheme evaluated (parsed again on first use when the run did not)."""
        return self.info.resolved()

    @property
    def raw(self) -> pa.Table:
        """Return the plan's result as Arrow (every metric and node column)."""
        if "raw" not in self._shaped:
            self._shaped["raw"] = self.duck.execute(
                f"SELECT * FROM {self.source} ORDER BY entity_id"
            ).to_arrow_table()
        return self._shaped["raw"]

    def shaped_sql(self, shape: str = "nested") -> str:
        """Return the DuckDB query (on `duck`) that gives the output in a shape."""
        return self.plan.shape_sql(shape, self.source)

    def shaped(self, shape: str = "nested") -> pa.Table:
        """Return the output in a shape (nested, flat or text), assembled once."""
        if shape not in self._shaped:
            self._shaped[shape] = self.duck.execute(self.shaped_sql(shape)).to_arrow_table()
        return self._shaped[shape]

    @property
    def rows(self) -> int:
        """Return the number of entities evaluated."""
        return self.duck.execute(f"SELECT count(*) FROM {self.source}").fetchone()[0]

    @property
    def table(self) -> pa.Table:
        """Return one row per entity in the shape of "Output of one evaluation" (templates.md)."""
        return self.shaped("nested")


def table_shapes(info: SchemeDigest, data: Any) -> dict[str, Any]:
    """Return what a plan depends on in the data: for each table the scheme reads, its
    relation, columns and types, or None when the data set does not hold it."""
    data.use(info.reads())
    return {
        name: [data.relation(name), list(data.describe(name))] if data.has(name) else None
        for name in sorted(info.reads())
    }


def plan_for(
    rs: ResolvedScheme | SchemeDigest,
    dataset: Any,
    period: Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
    dialect: str | None = None,
) -> FrozenPlan:
    """Return the compiled plan of one period's evaluation: from the cache when the scheme,
    period, parameters, entity, tables' shapes and dialect are those of a plan compiled
    before; else compiled now (and kept). Loads and checks the tables the scheme reads."""
    info = rs if isinstance(rs, SchemeDigest) else digest_of(rs)
    values = resolve_params(info, params)  # bad parameters are refused before anything loads
    shapes = table_shapes(info, dataset)
    key = None
    # a plan depends only on the tables' shapes, but when workdays_between() reads the data
    # set's own calendar: its days are compiled into the plan
    if not (info.calendar and dataset.has("calendar")):
        key = plan_key(
            scheme=info.text,
            period=str(period),
            kind=period.kind,
            params={k: [type(v).__name__, str(v)] for k, v in values.items()},
            entity=entity,
            dialect=dialect or dataset.backend,
            tables=shapes,
        )
        found = PLANS.get(key)
        if found is not None:
            return found
    from pingji.engine.compile import compile_plan  # Ibis: only when there is no plan yet

    plan = compile_plan(info.resolved(), dataset, period, params, entity, dialect, key=key)
    if key is not None:
        PLANS.put(plan)
    return plan


def run_guards(guards: Iterable[Guard], dataset: Any) -> None:
    """Run guard queries on the data set; raise DataError naming the data set's own file
    (or table), row and column of the first offending row."""
    for guard in guards:
        with timed("guard"):
            rows = dataset.fetch(guard.sql)
        if rows:
            row = rows[0]
            raise DataError(
                dataset.source(guard.table),
                msg(guard.message, **{k: v for k, v in row.items() if k.isidentifier()}),
                row=row.get(ROW_COLUMN),
                column=guard.column,
                value=row.get(guard.value),
                expected=from_json(guard.expected),
            )


def notices(plan: FrozenPlan, dataset: Any) -> list[Message]:
    """Return warnings about rows of ratings and overrides that match nothing the scheme
    reads (an indicator it does not rate, a period written otherwise), and raters who rated
    an entity twice (a few examples each)."""
    found: list[Message] = []
    for kind, table, sql, choices in plan.notices:
        for row in dataset.fetch(sql):
            if kind == "indicator":
                close = difflib.get_close_matches(str(row["value"]), list(choices), n=1)
                found.append(
                    msg(
                        "{count} row(s) of {table} in {period} rate '{indicator}', which the "
                        "scheme does not rate (it rates {choices}): ignored{hint}",
                        count=row["n"],
                        table=table,
                        period=plan.period,
                        indicator=row["value"],
                        choices=", ".join(choices),
                        hint=msg("; did you mean '{word}'?", word=close[0]) if close else "",
                    )
                )
            elif kind == "rater":
                example = msg(
                    "{rater} rated {entity} on '{indicator}' {count} times",
                    rater=row["rater"],
                    entity=row["value"],
                    indicator=row["indicator"],
                    count=row["n"],
                )
                found.append(
                    msg(
                        "{table} in {period}: {example}; a rater's rows are averaged into one score"
                        if row["total"] == 1
                        else "{table} in {period}: {total} times a rater rated an entity on an "
                        "indicator more than once (e.g. {example}); a rater's rows are averaged "
                        "into one score",
                        table=table,
                        period=plan.period,
                        example=example,
                        total=row["total"],
                    )
                )
            else:
                found.append(
                    msg(
                        "{count} row(s) of {table} name the period '{label}', which is not "
                        "written like {example}: ignored",
                        count=row["n"],
                        table=table,
                        label=row["value"],
                        example=plan.period,
                    )
                )
    return found


def execute(
    plan: FrozenPlan,
    dataset: Any,
    rs: ResolvedScheme | SchemeDigest,
    allow_empty: bool = False,
    materialise: bool = True,
) -> Evaluation:
    """Run a compiled plan on the data set's connection; check its result; return it.

    First the guard queries (data checks that need the scheme), then the steps; then the
    coverage of the period (refused when empty unless `allow_empty`), and the final query.
    On DuckDB, `materialise=False` keeps the final query a view that each reader computes
    (only the columns it reads): for a caller that reads the result once, such as writing
    one file, which then goes straight from the query to the file."""
    run_guards(plan.guards, dataset)
    for name, sql in plan.steps:
        with timed(f"step {name}"):
            dataset.create_step(name, sql)
    # rows read per fact table (the aggregate steps) and of those the rows naming an entity:
    # the warning about unknown keys, and whether the period has data at all
    with timed("rows read per fact table"):
        counts = {t: dataset.fetch(query)[0] for t, query in plan.row_counts}
        totals = {t: int(row["n"] or 0) for t, row in counts.items()}
        matched = {t: int(row["matched"] or 0) for t, row in counts.items()}
        dated = {t: int(row["in_period"] or 0) for t, row in counts.items()}
    found = None
    if plan.coverage is not None:
        period = Period.parse(plan.period, rs.scheme.period)
        read = set(plan.coverage_tables) <= set(totals)
        read = read and sum(totals[t] for t in plan.coverage_tables)
        if read and (plan.coverage_inside or any(dated.get(t) for t in plan.coverage_tables)):
            # the aggregates read rows inside the windows, and all of those or some of them
            # lie inside the period itself (so it is neither after nor before the data): no
            # scan of their own
            found = Coverage(period, plan.coverage_tables, read, None, None)
        else:  # no row, windows outside the period or open, tables read by `latest` only:
            # ask, and learn the data's range (a period after all of it is refused too)
            found = from_rows(period, plan.coverage_tables, dataset.fetch(plan.coverage))
        if found.empty and not allow_empty:
            raise refusal(rs, found)
    if dataset.duck is not None:
        # kept where it was computed: no round trip through Arrow
        duck, source = dataset.duck, f"pingji_result_{uuid.uuid4().hex[:12]}"
        kind = "TABLE" if materialise else "VIEW"
        with timed("final query"):
            duck.execute(f"CREATE TEMP {kind} {source} AS {plan.sql}")
    else:
        duck = duckdb.connect()
        limits.apply(duck)  # the result is assembled and written here
        try:
            with timed("final query"):
                # Arrow (PostgreSQL), or Parquet files that Spark wrote and that go with `duck`
                source = dataset.result_into(duck, plan.sql)
        except BaseException:
            discard(duck)
            raise
    try:
        return _checked(plan, dataset, rs, duck, source, totals, matched, found)
    except BaseException:
        if duck is not dataset.duck:  # the data set's own connection stays open
            discard(duck)
        raise


def _checked(
    plan: FrozenPlan,
    dataset: Any,
    rs: ResolvedScheme | SchemeDigest,
    duck: duckdb.DuckDBPyConnection,
    source: str,
    totals: dict[str, int],
    matched: dict[str, int],
    found: Coverage | None,
) -> Evaluation:
    """Check the result of the final query (relation `source` on `duck`) and return the
    evaluation: rows matching no entity, notices, `fail` policies and run-level checks."""
    columns = list(plan.columns)
    warnings: list[str] = []
    for table, read in totals.items():
        if read > matched[table]:
            warnings.append(
                msg(
                    "{count} row(s) of {table} name entities that are not in {entity}: ignored",
                    count=read - matched[table],
                    table=table,
                    entity=plan.entity_table,
                )
            )
    with timed("notices (ratings, overrides)"):
        warnings += notices(plan, dataset)
    for col, message in plan.checks:  # `fail` policies, values without a weight profile
        if col not in columns:
            continue
        n = duck.execute(f"SELECT count(*) FROM {source} WHERE {ident(col)}").fetchone()[0]
        if n:
            rows = duck.execute(
                f"SELECT entity_id FROM {source} WHERE {ident(col)} ORDER BY entity_id LIMIT 5"
            ).fetchall()
            raise EvaluationError(
                msg(
                    "{message}: {count} entity (e.g. {examples})"
                    if n == 1
                    else "{message}: {count} entities (e.g. {examples})",
                    message=from_json(message),
                    count=n,
                    examples=", ".join(str(r[0]) for r in rows),
                )
            )
    checks = []
    for cid, label, at_least in plan.quality:
        num, den = duck.execute(
            f"SELECT count(*) FILTER (WHERE {ident(f'k__{cid}__num')} AND {ident(f'k__{cid}__den')}),"
            f" count(*) FILTER (WHERE {ident(f'k__{cid}__den')}) FROM {source}"
        ).fetchone()
        share = num / den if den else None
        # no entity to check (e.g. no key customers) is not a failed check
        ok = share is None or round(share, ROUND) >= at_least
        checks.append(CheckResult(cid, label, share, at_least, ok))
        if not ok:
            warnings.append(
                msg(
                    "check {id} ({label}) failed: {share:.1%} < {at_least:.0%}",
                    id=cid,
                    label=label or "",
                    share=share,
                    at_least=at_least,
                )
            )
    if found is not None and found.empty:
        warnings.append(warning(found))
    info = rs if isinstance(rs, SchemeDigest) else digest_of(rs)
    return Evaluation(info, plan, duck, source, columns, warnings, checks, found)


def evaluate(
    scheme: ResolvedScheme | SchemeDigest,
    dataset: Any,
    period: str | Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
    allow_empty: bool = False,
    materialise: bool = True,
) -> Evaluation:
    """Evaluate a scheme for one period over every entity of a data set (or just one).

    A period in which no fact table has a row inside the scheme's windows is refused
    (EmptyPeriod, exit 2) unless `allow_empty`; then the evaluation says so in a warning.
    `materialise=False`: the result is read once (see `execute`)."""
    if not isinstance(period, Period):
        period = Period.parse(period, scheme.scheme.period)
    elif period.kind != scheme.scheme.period:
        period = Period.parse(str(period), scheme.scheme.period)
    info = scheme if isinstance(scheme, SchemeDigest) else digest_of(scheme)
    with whole_numbers_in_range():
        with timed("data loaded and checked, plan"):
            plan = plan_for(info, dataset, period, params, entity)
        return execute(plan, dataset, info, allow_empty, materialise)


TIMING_ENV = "PINGJI_TIMING"  # set (to anything but 0): each phase's time on stderr


@contextmanager
def timed(phase: str) -> Iterator[None]:
    """Report how long a phase took on stderr when PINGJI_TIMING is set (off by default):
    wall and CPU time (user + system, every thread of the process) and the peak memory."""
    if os.environ.get(TIMING_ENV, "0") in ("", "0"):
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        peak = ""
        try:
            import resource  # not on Windows

            peak = f", peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
        except ImportError:
            pass
        print(
            f"pingji timing: {phase}: {time.perf_counter() - wall:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU{peak}",
            file=sys.stderr,
        )


@contextmanager
def whole_numbers_in_range() -> Iterator[None]:
    """Turn a 64-bit integer overflow in the database into bad input (exit 2) that says what to do.

    `count * 10000000000 * 10000000000` is computed in whole numbers and goes beyond them; the
    database refuses it (DuckDB: OutOfRangeException; PostgreSQL: numeric value out of range;
    Spark in ANSI mode, its default: ARITHMETIC_OVERFLOW)."""
    try:
        yield
    except Exception as exc:
        overflow = (
            isinstance(exc, duckdb.OutOfRangeException)
            or type(exc).__name__ == "NumericValueOutOfRange"  # psycopg, imported only when used
            or (type(exc).__name__ == "ArithmeticException" and "OVERFLOW" in str(exc))  # pyspark
        )
        if not overflow:
            raise
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip("!.")
        raise BadInput(
            f"a value of the scheme went beyond the range of whole numbers (±9.2×10^18): "
            f"{detail}. Compute large values as decimals (write 1.0 * a * b, or divide before "
            "multiplying), or check the scheme's numbers"
        ) from None
