"""Explain a plan without running it, or one entity's whole breakdown after running it."""

from __future__ import annotations

from typing import Any

from pingji.engine.assemble import reason_code, reason_label
from pingji.engine.columns import col_metric, col_node
from pingji.engine.frozen import FrozenPlan
from pingji.engine.run import Evaluation
from pingji.errors import BadInput
from pingji.i18n import msg
from pingji.output import numbers
from pingji.output.numbers import NumberFormat
from pingji.periods import Period
from pingji.scheme.describe import describe_group, describe_metric, describe_missing, describe_rule
from pingji.scheme.resolve import NOT_RATED, ResolvedScheme


def _fmt(v: Any) -> str:
    if v is None:
        return "—(缺失)"
    if isinstance(v, float):
        return f"{v:,.4f}".rstrip("0").rstrip(".")
    return str(v)


def explain_plan(rs: ResolvedScheme, plan: FrozenPlan, params: dict[str, Any]) -> str:
    """Return the scheme as the engine will run it: metrics, tree, grades and the SQL."""
    s = rs.scheme
    period = Period.parse(plan.period, s.period)
    lines = [
        f"方案 scheme: {s.label or ''} ({s.id} v{s.version})",
        f"期间 period: {period} ({period.start} … {period.end})",
        f"对象 entity: {s.entity}",
    ]
    if params:
        lines.append("参数 params: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    lines.append("")
    lines.append("指标 metrics:")
    for name, m in s.metrics.items():
        lines.append(f"  {name:<24} {m.label or '':<12} {describe_metric(m)}")
    if rs.nodes:
        lines.append("")
        lines.append("评分树 tree:")
        for rn in rs.nodes.values():
            pad = "  " * (rn.depth + 1)
            how = describe_group(rs, rn) if rn.node.is_group else describe_rule(rn, params)
            lines.append(
                f"{pad}{rn.id} {rn.node.label or ''} [满分 {rn.max:g}] {how};{describe_missing(rn)}"
            )
    if s.evidence:
        lines.append("")
        lines.append(f"评级条件 evidence: {s.evidence.when}(不成立则不予评级 not_rated)")
    if s.grades:
        lines.append("")
        lines.append(
            "等级 grades: "
            + ", ".join(
                f"{lv.grade}{'≥' + format(lv.min, 'g') if lv.min is not None else ''}"
                f"{'>' + format(lv.above, 'g') if lv.above is not None else ''}"
                for lv in s.grades.levels
            )
        )
    lines.append("")
    lines.append(f"SQL ({plan.dialect}):")
    lines.append(plan.script())
    return "\n".join(lines)


def _show(v: Any, fmt: NumberFormat | None) -> str:
    """Return a value as the outputs show it (numbers.text: the scheme's formats), or
    '—(缺失)' when missing."""
    return "—(缺失)" if v is None else numbers.text(v, fmt)


def explain_entity(ev: Evaluation, params: dict[str, Any] | None = None) -> str:
    """Return one entity's breakdown: each node's value, rule, points and how parents combined
    (numbers as the outputs show them; `params`: the values the run used, for the rules)."""
    if ev.table.num_rows == 0:
        raise BadInput(
            msg(
                "no entity {entity} in {table}",
                entity=ev.plan.entity or "",
                table=ev.scheme.scheme.entity,
            )
        )
    row = ev.table.to_pylist()[0]
    raw = ev.raw.to_pylist()[0] if ev.raw is not None else {}
    rs = ev.scheme
    s = rs.scheme
    sf = numbers.score_format(rs)
    out = [
        f"{s.label or s.id} — {row['entity_id']} — {row['period']}",
        f"得分 score {_show(row['score'], sf)}  分数 points {_show(row['points'], sf)}"
        f"/{_show(row['max_points'], sf)}  等级 grade {row['grade'] or '—'}",
    ]
    if "grade_basis" in row:  # the grade bands applied to `grades.on`, not the plain score
        on = " ".join(s.grades.on.split())
        out.append(f"定级依据 grade basis {_show(row['grade_basis'], sf)}  (grades.on: {on})")
    if row.get("override"):
        out.append(
            f"人工定级 override: {row['grade']}（原因：{row['override']}；计算等级 {raw.get('grade_computed')}）"
        )
    if row.get("class") or row.get("classes"):
        out.append(
            f"类别 class {row.get('class') or '—'}  （成立的全部类别：{'、'.join(row['classes']) or '无'}）"
        )
    if row.get("status") or row.get("actions"):
        status = row.get("status") or "—"
        if s.evidence is not None and status == NOT_RATED:  # say why it has no score
            status += f"（{s.evidence.label or '不予评级'}：{s.evidence.when} 不成立）"
        out.append(f"状态 status {status}  措施 actions {', '.join(row['actions']) or '无'}")
    out.append("")
    out.append("指标 metrics:")
    for name, m in s.metrics.items():
        shown = _show(raw.get(col_metric(name)), numbers.metric_format(rs, name))
        out.append(f"  {name:<24} {shown:>18}  {m.label or ''}")
    if rs.nodes:
        out.append("")
        out.append("评分明细 breakdown:")
        for rn in rs.nodes.values():
            node = row["nodes"][rn.id]
            pad = "  " * (rn.depth + 1)
            head = f"{pad}{rn.id} {rn.node.label or ''}: {_show(node['points'], sf)}"
            head += f" / {_show(rn.max, sf)} 分"
            if "value" in node:
                value = _show(node["value"], numbers.node_value_format(rs, rn))
                head += f"  (值 value = {value})"
            if node.get("passed") is not None:
                head += "  达标" if node["passed"] else "  未达标"
            if rn.id in row["missing"]:
                head += "  [缺失 missing]"
            out.append(head)
            how = describe_group(rs, rn) if rn.node.is_group else describe_rule(rn, params)
            out.append(f"{pad}  ↳ {how}")
    if row.get("reasons"):
        leaves = {reason_code(n): n for n in rs.leaves()}
        parts = []
        for code in row["reasons"]:
            n = leaves[code]
            lost = _show(raw.get(col_node(n.id, "lost")), sf)
            parts.append(f"{reason_label(n)} {code}(-{lost})")
        out.append("")
        out.append("主要失分 reasons: " + ";".join(parts))
    for o in s.outputs:
        out.append(f"{o.label or o.id}: {_show(row.get(o.id), numbers.output_format(rs, o.id))}")
    return "\n".join(out)
