"""Run a plan on its backend and assemble the per-entity output (Arrow), set-based throughout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from pingji.engine.coverage import coverage, refusal
from pingji.engine.plan import ROUND, Plan, build_plan, col_node
from pingji.errors import BadInput, EvaluationError
from pingji.periods import Period
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
    table `source` on `duck`, so output shapes and files are made there without a round trip.
    """

    plan: Plan
    duck: duckdb.DuckDBPyConnection
    source: str
    columns: list[str]
    warnings: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    _shaped: dict[str, pa.Table] = field(default_factory=dict, repr=False)

    @property
    def raw(self) -> pa.Table:
        """Return the plan's result as Arrow (every metric and node column)."""
        if "raw" not in self._shaped:
            self._shaped["raw"] = self.duck.execute(f"SELECT * FROM {self.source}").to_arrow_table()
        return self._shaped["raw"]

    def shaped_sql(self, shape: str = "nested") -> str:
        """Return the DuckDB query (on `duck`) that gives the output in a shape."""
        return assembly_sql(self.plan, set(self.columns), shape, self.source)

    def shaped(self, shape: str = "nested") -> pa.Table:
        """Return the output in a shape (nested, flat or text), assembled once."""
        if shape not in self._shaped:
            self._shaped[shape] = self.duck.execute(self.shaped_sql(shape)).to_arrow_table()
        return self._shaped[shape]

    @property
    def table(self) -> pa.Table:
        """Return one row per entity in the shape of "Output of one evaluation" (templates.md)."""
        return self.shaped("nested")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _split(items: list[str]) -> str:
    """SQL for the list of the non-NULL text values among items, in order.

    concat_ws skips NULLs, so no per-row lambda is needed (ids and codes never hold a comma).
    """
    if not items:
        return "CAST([] AS VARCHAR[])"
    joined = f"concat_ws(',', {', '.join(items)})"
    return (
        f"CASE WHEN {joined} = '' THEN CAST([] AS VARCHAR[]) ELSE string_split({joined}, ',') END"
    )


def _as(shape: str, list_sql: str) -> str:
    """Return a list as it is, or as text joined by ';' for the text shape."""
    return f"array_to_string({list_sql}, ';')" if shape == "text" else list_sql


def _list_of_flags(flags: list[tuple[str, str]]) -> str:
    """SQL for the list of ids whose boolean column is true, in order."""
    return _split([f"CASE WHEN {_q(col)} THEN {_lit(label)} END" for col, label in flags])


def reason_code(n) -> str:
    """Return the reason code an indicator reports when it loses points."""
    return n.node.reason.code if n.node.reason else n.id


def reason_label(n) -> str:
    """Return what a person reads for an indicator's reason code."""
    if n.node.reason and n.node.reason.label:
        return n.node.reason.label
    return f"{n.node.label or n.id}失分"


def assembly_sql(plan: Plan, columns: set[str], shape: str = "nested", source: str = "raw") -> str:
    """Return the DuckDB query that turns the plan's result (`raw`) into the output shape.

    nested: `nodes` is one struct of per-node structs (JSON lines); flat: one column per node
    part, `<id>.points` … (Parquet); text: flat, and lists joined by ';' (CSV, Excel).
    """
    rs = plan.scheme
    s = rs.scheme
    sel: list[str] = ["entity_id", "period"]
    ranks: list[str] = []
    root = next(iter(rs.nodes.values()), None)
    for name in ("score", "points"):
        sel.append(f"{_q(name)}" if name in columns else f"CAST(NULL AS DOUBLE) AS {name}")
    sel.append(f"CAST({root.max if root else 'NULL'} AS DOUBLE) AS max_points")
    if rs.grade_basis:  # the value the grade bands applied to, when not the plain score
        sel.append("grade_basis")
    sel.append("grade" if "grade" in columns else "CAST(NULL AS VARCHAR) AS grade")
    classes = [(f"c__{r.id}", r.id) for r in s.classes.rules] if s.classes else []
    sel.append(f"{_as(shape, _list_of_flags(classes))} AS classes")
    sel.append('"class"' if "class" in columns else 'CAST(NULL AS VARCHAR) AS "class"')
    sel.append("status" if "status" in columns else "CAST(NULL AS VARCHAR) AS status")
    actions = (
        [(f"a__{a.action}", a.action) for a in s.consequences.actions] if s.consequences else []
    )
    sel.append(f"{_as(shape, _list_of_flags(actions))} AS actions")
    missing = [(col_node(n.id, "missing"), n.id) for n in rs.leaves()]
    sel.append(f"{_as(shape, _list_of_flags(missing))} AS missing")
    flat: list[str] = []  # flat shapes: one column per node part, after everything else
    if rs.nodes and shape != "nested":
        for n in rs.nodes.values():
            if col_node(n.id, "value") in columns:
                flat.append(f"{_q(col_node(n.id, 'value'))} AS {_q(n.id + '.value')}")
            flat.append(f"{_q(col_node(n.id, 'points'))} AS {_q(n.id + '.points')}")
            flat.append(f"{_q(col_node(n.id, 'score'))} AS {_q(n.id + '.score')}")
            if n.pass_points is not None:
                flat.append(f"{_q(col_node(n.id, 'passed'))} AS {_q(n.id + '.passed')}")
    if rs.nodes:
        parts = []
        for n in rs.nodes.values():
            fields = []
            value_col = col_node(n.id, "value")
            if value_col in columns:
                fields.append(f"value := {_q(value_col)}")
            fields += [
                f"points := {_q(col_node(n.id, 'points'))}",
                f"max := CAST({n.max} AS DOUBLE)",
                f"score := {_q(col_node(n.id, 'score'))}",
            ]
            if n.pass_points is not None:
                fields.append(f"passed := {_q(col_node(n.id, 'passed'))}")
            parts.append(f"{_q(n.id)} := struct_pack({', '.join(fields)})")
        if shape == "nested":
            sel.append(f"struct_pack({', '.join(parts)}) AS nodes")
        # The reason codes of the three indicators that lost the most weighted points (ties:
        # scheme order), by plain comparisons: each leaf's rank is how many leaves lost more.
        leaves = rs.leaves()
        lost = [_q(col_node(n.id, "lost")) for n in leaves]  # rounded by the plan already
        for i, lo in enumerate(lost):
            beats = [
                f"({o} > {lo})" if j > i else f"({o} >= {lo})" for j, o in enumerate(lost) if j != i
            ]
            ranks.append(
                f"({' + '.join(f'CAST({b} AS INTEGER)' for b in beats) or '0'}) AS __rank{i}"
            )
        picks = []
        for k in range(min(3, len(leaves))):
            whens = " ".join(
                f"WHEN __rank{i} = {k} AND {lo} > 0 THEN {_lit(reason_code(n))}"
                for i, (n, lo) in enumerate(zip(leaves, lost, strict=True))
            )
            picks.append(f"CASE {whens} END")
        reasons = _split(picks)
        if "rated" in columns:  # an entity that is not rated lost no points: it was not scored
            reasons = f"CASE WHEN rated THEN {reasons} ELSE CAST([] AS VARCHAR[]) END"
        sel.append(f"{_as(shape, reasons)} AS reasons")
    else:
        if shape == "nested":
            sel.append("NULL AS nodes")
        sel.append(f"{_as(shape, 'CAST([] AS VARCHAR[])')} AS reasons")
    if s.grades is not None:
        sel.append("override_reason AS override")
    else:
        sel.append("CAST(NULL AS VARCHAR) AS override")
    for out in s.outputs:
        sel.append(f"{_q('o__' + out.id)} AS {_q(out.id)}")
    sel += flat
    source = f"(SELECT *, {', '.join(ranks)} FROM {source})" if ranks else source
    return f"SELECT {', '.join(sel)} FROM {source}"


def execute(plan: Plan) -> Evaluation:
    """Run the plan on its backend into a DuckDB table; check it; return the evaluation."""
    duck, source = _run(plan)
    columns = [d[0] for d in duck.execute(f"SELECT * FROM {source} LIMIT 0").description]
    con = plan.table._find_backend()
    warnings: list[str] = []
    for table, total, column in plan.row_counts:
        read = int(con.execute(total) or 0)
        matched = duck.execute(f"SELECT coalesce(sum({_q(column)}), 0) FROM {source}").fetchone()[0]
        if read > matched:
            warnings.append(
                f"{read - matched} row(s) of {table} name entities that are not in "
                f"{plan.scheme.scheme.entity}: ignored"
            )
    for col, message in plan.checks:  # `fail` policies, values without a weight profile
        if col not in columns:
            continue
        n = duck.execute(f"SELECT count(*) FROM {source} WHERE {_q(col)}").fetchone()[0]
        if n:
            rows = duck.execute(
                f"SELECT entity_id FROM {source} WHERE {_q(col)} LIMIT 5"
            ).fetchall()
            raise EvaluationError(
                f"{message}: {n} entit{'y' if n == 1 else 'ies'} "
                f"(e.g. {', '.join(str(r[0]) for r in rows)})"
            )
    checks = []
    for chk in plan.scheme.scheme.checks:
        num, den = duck.execute(
            f"SELECT count(*) FILTER (WHERE {_q(f'k__{chk.id}__num')} AND {_q(f'k__{chk.id}__den')}),"
            f" count(*) FILTER (WHERE {_q(f'k__{chk.id}__den')}) FROM {source}"
        ).fetchone()
        share = num / den if den else None
        # no entity to check (e.g. no key customers) is not a failed check
        ok = share is None or round(share, ROUND) >= chk.at_least
        checks.append(CheckResult(chk.id, chk.label, share, float(chk.at_least), ok))
        if not ok:
            warnings.append(
                f"check {chk.id} ({chk.label or ''}) failed: {share:.1%} < {chk.at_least:.0%}"
            )
    return Evaluation(plan, duck, source, columns, warnings, checks)


def _run(plan: Plan) -> tuple[duckdb.DuckDBPyConnection, str]:
    """Run the plan; return a DuckDB connection and the table holding its result."""
    con = plan.table._find_backend()
    if getattr(con, "name", "") == "duckdb":
        # compiled once and kept where it was computed: no round trip through Arrow
        source = f"pingji_result_{uuid.uuid4().hex[:12]}"
        sql = con.compile(plan.table)  # not pretty-printed: a third less compile time
        con.con.execute(f"CREATE TEMP TABLE {source} AS {sql}")
        return con.con, source
    if getattr(con, "name", "") == "pyspark":
        # Spark's own Arrow export: Ibis' to_pyarrow goes through pandas (decimals as
        # objects, NULL floats as NaN on the way)
        con._run_pre_execute_hooks(plan.table)  # in-memory tables, as execute() would
        result = con.raw_sql(con.compile(plan.table)).toArrow()
    else:
        result = con.to_pyarrow(plan.table)
    local = duckdb.connect()
    local.register("raw", result)
    return local, "raw"


def evaluate(
    scheme: ResolvedScheme,
    dataset: Any,
    period: str | Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
    allow_empty: bool = False,
) -> Evaluation:
    """Evaluate a scheme for one period over every entity of a data set (or just one).

    A period in which no fact table has a row inside the scheme's windows is refused
    (EmptyPeriod, exit 2) unless `allow_empty`; then the evaluation says so in a warning."""
    if not isinstance(period, Period):
        period = Period.parse(period, scheme.scheme.period)
    elif period.kind != scheme.scheme.period:
        period = Period.parse(str(period), scheme.scheme.period)
    found = coverage(scheme, dataset, period) if entity is None else None
    if found is not None and found.empty and not allow_empty:
        raise refusal(scheme, found)
    with _whole_numbers_in_range():
        plan = build_plan(scheme, dataset, period, params, entity, materialize=True)
        ev = execute(plan)
    if found is not None and found.empty:
        ev.warnings.append(f"{found.describe()}: every entity was rated on no data")
    return ev


@contextmanager
def _whole_numbers_in_range() -> Iterator[None]:
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
