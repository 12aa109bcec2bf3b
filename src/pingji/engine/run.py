"""Run a plan on its backend and assemble the per-entity output (Arrow), set-based throughout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pingji.engine.plan import ROUND, Plan, build_plan, col_node
from pingji.errors import EvaluationError
from pingji.periods import Period
from pingji.scheme.resolve import ResolvedScheme

# The output keys of one evaluation, in order (templates.md, "Output of one evaluation").
OUTPUT_KEYS = (
    "entity_id",
    "period",
    "score",
    "points",
    "max_points",
    "grade",
    "classes",
    "class",
    "status",
    "actions",
    "missing",
    "nodes",
    "reasons",
)


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
    """The result of evaluating a scheme for one period."""

    plan: Plan
    table: pa.Table  # one row per entity, columns OUTPUT_KEYS + extra outputs
    warnings: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    raw: pa.Table | None = None  # the flat plan result (all metric and node columns)


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


def assembly_sql(plan: Plan, columns: set[str]) -> str:
    """Return the DuckDB query that turns the flat plan result into the output shape."""
    rs = plan.scheme
    s = rs.scheme
    sel: list[str] = ["entity_id", "period"]
    ranks: list[str] = []
    root = next(iter(rs.nodes.values()), None)
    for name in ("score", "points"):
        sel.append(f"{_q(name)}" if name in columns else f"CAST(NULL AS DOUBLE) AS {name}")
    sel.append(f"CAST({root.max if root else 'NULL'} AS DOUBLE) AS max_points")
    sel.append("grade" if "grade" in columns else "CAST(NULL AS VARCHAR) AS grade")
    classes = [(f"c__{r.id}", r.id) for r in s.classes.rules] if s.classes else []
    sel.append(f"{_list_of_flags(classes)} AS classes")
    sel.append('"class"' if "class" in columns else 'CAST(NULL AS VARCHAR) AS "class"')
    sel.append("status" if "status" in columns else "CAST(NULL AS VARCHAR) AS status")
    actions = (
        [(f"a__{a.action}", a.action) for a in s.consequences.actions] if s.consequences else []
    )
    sel.append(f"{_list_of_flags(actions)} AS actions")
    missing = [(col_node(n.id, "missing"), n.id) for n in rs.leaves()]
    sel.append(f"{_list_of_flags(missing)} AS missing")
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
        sel.append(f"struct_pack({', '.join(parts)}) AS nodes")
        # The reason codes of the three indicators that lost the most weighted points (ties:
        # scheme order), by plain comparisons: each leaf's rank is how many leaves lost more.
        leaves = rs.leaves()
        lost = [f"round({_q(col_node(n.id, 'lost'))}, {ROUND})" for n in leaves]
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
        sel.append(f"{_split(picks)} AS reasons")
    else:
        sel.append("NULL AS nodes")
        sel.append("CAST([] AS VARCHAR[]) AS reasons")
    if s.grades is not None:
        sel.append("override_reason AS override")
    else:
        sel.append("CAST(NULL AS VARCHAR) AS override")
    for out in s.outputs:
        sel.append(f"{_q('o__' + out.id)} AS {_q(out.id)}")
    source = f"(SELECT *, {', '.join(ranks)} FROM raw)" if ranks else "raw"
    return f"SELECT {', '.join(sel)} FROM {source}"


def execute(plan: Plan) -> Evaluation:
    """Run the plan on its backend, then assemble the output table."""
    con = plan.table._find_backend()
    raw = _fetch(con, plan)
    warnings: list[str] = []
    for table, query in plan.warnings_queries:
        n = int(con.execute(query) or 0)
        if n:
            warnings.append(
                f"{n} row(s) of {table} name entities that are not in {plan.scheme.scheme.entity}: ignored"
            )
    _fail_checks(plan, raw)
    local = duckdb.connect()
    local.register("raw", raw)
    table = local.execute(assembly_sql(plan, set(raw.column_names))).to_arrow_table()
    checks = _run_checks(plan, raw)
    for chk in checks:
        if not chk.ok:
            share = "n/a" if chk.share is None else f"{chk.share:.1%}"
            warnings.append(
                f"check {chk.id} ({chk.label or ''}) failed: {share} < {chk.at_least:.0%}"
            )
    return Evaluation(plan, table, warnings, checks, raw)


def _fetch(con, plan: Plan) -> pa.Table:
    """Compile the plan to SQL once and fetch its result as Arrow."""
    if plan.scheme and getattr(con, "name", "") == "duckdb":
        # Ibis would compile the expression again for every call; the SQL is compiled once here
        return con.con.execute(plan.sql("duckdb")).to_arrow_table()
    return con.to_pyarrow(plan.table)


def _fail_checks(plan: Plan, raw: pa.Table) -> None:
    """Stop the evaluation where a `fail` policy or a missing weight profile was hit."""
    for col, message in plan.checks:
        if col not in raw.column_names:
            continue
        mask = pc.fill_null(raw[col], False)
        n = pc.sum(mask).as_py() or 0
        if n:
            ids = raw.filter(mask)["entity_id"].slice(0, 5).to_pylist()
            raise EvaluationError(
                f"{message}: {n} entit{'y' if n == 1 else 'ies'} (e.g. {', '.join(map(str, ids))})"
            )


def _run_checks(plan: Plan, raw: pa.Table) -> list[CheckResult]:
    out = []
    for chk in plan.scheme.scheme.checks:
        num = pc.sum(pc.and_(raw[f"k__{chk.id}__num"], raw[f"k__{chk.id}__den"])).as_py() or 0
        den = pc.sum(raw[f"k__{chk.id}__den"]).as_py() or 0
        share = num / den if den else None
        # no entity to check (e.g. no key customers) is not a failed check
        ok = share is None or round(share, ROUND) >= chk.at_least
        out.append(CheckResult(chk.id, chk.label, share, float(chk.at_least), ok))
    return out


def evaluate(
    scheme: ResolvedScheme,
    dataset: Any,
    period: str | Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
) -> Evaluation:
    """Evaluate a scheme for one period over every entity of a data set (or just one)."""
    if not isinstance(period, Period):
        period = Period.parse(period, scheme.scheme.period)
    elif period.kind != scheme.scheme.period:
        period = Period.parse(str(period), scheme.scheme.period)
    plan = build_plan(scheme, dataset, period, params, entity, materialize=True)
    return execute(plan)
