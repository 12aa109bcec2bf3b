"""A scheme made readable for its web page: the tree with weights, maxima and rules in words,
metrics in words, grades, classes, consequences; YAML with numbered (and flagged) lines; the
difference between two versions. Presentation only: every number comes from the resolver."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from pingji.data.contract import TABLES
from pingji.errors import Problem
from pingji.expr.nodes import names
from pingji.scheme.colors import is_color
from pingji.scheme.describe import (
    AGGREGATION_WORDS,
    METRIC_KIND_WORDS,
    describe_group,
    describe_missing,
    describe_rule,
    describe_window,
)
from pingji.scheme.models import Metric
from pingji.scheme.resolve import ResolvedNode, ResolvedScheme
from pingji.web.lib.charts import FONT

PERIOD_LABELS = {"year": "年度", "quarter": "季度", "month": "月度"}
# In sentences ("发货表 sales 的 amount 求和，本期") sums and counts read as verbs.
AGGREGATIONS = {**AGGREGATION_WORDS, "sum": "求和", "count": "计行数"}
# what happens to a node without input, short enough for a table cell (describe_missing says it
# in a sentence)
MISSING_SHORT = {"zero": "记 0 分", "exclude": "不计入，按其余项折算", "fail": "报错停止"}
TYPE_LABELS = {
    "number": "数值",
    "money": "金额",
    "integer": "整数",
    "string": "文本",
    "bool": "是/否",
}


def num(x: Any) -> str:
    """Return a number without float noise: 0.30000000000000004 → 0.3, 100.0 → 100."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float):
        x = round(x, 9)
        if x.is_integer():
            x = int(x)
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10000 else f"{x:g}"


def entity_label(table: str) -> str:
    """Return the Chinese label of an entity table, e.g. 客户."""
    spec = TABLES.get(table)
    return spec.label if spec else table


# ------------------------------------------------------------------------- metrics


def _table_words(table: str) -> str:
    spec = TABLES.get(table)
    return f"{spec.label}表 {table}" if spec else f"表 {table}"


def metric_words(m: Metric, entity: str) -> str:
    """Return how a metric is measured, in words, e.g. `发货表 sales 的 amount 求和，本期`."""
    if m.aggregation:
        table, _, column = getattr(m, m.aggregation).partition(".")
        what = f"{_table_words(table)}" + (f" 的 {column}" if column else "")
        text = f"{what} {AGGREGATIONS[m.aggregation]}，{describe_window(m.window)}"
        if m.where:
            text += f"，条件：{m.where}"
        if m.default is not None:
            text += f"；无数据时取 {num(m.default)}"
        return text
    if m.attribute:
        spec = TABLES.get(entity)
        labels = {c.name: c.label for c in spec.columns} if spec else {}
        shown = labels.get(m.attribute)
        return f"{entity_label(entity)}档案的 {m.attribute}" + (f"（{shown}）" if shown else "")
    if m.latest:
        table, _, column = m.latest.partition(".")
        return f"{_table_words(table)} 期末及以前最近一行的 {column}"
    if m.rating:
        lo, hi = m.scale
        return f"人工评分 {m.rating}，量表 {num(lo)}–{num(hi)}，多人评分取平均"
    return f"公式：{m.expr}"


@dataclass
class MetricRow:
    """One metric of the scheme as shown in the metrics table."""

    name: str
    label: str
    kind: str
    words: str
    description: str
    unit: str
    inputs: list[tuple[str, str]]  # (name, page anchor) of what a formula metric reads
    used_by: list[str] = field(default_factory=list)  # node ids that read it directly


def _names_at(rs: ResolvedScheme, prefix: tuple, stop: str | None = None) -> set[str]:
    """Return the names used by the expressions at or below a field path (not under `stop`)."""
    n = len(prefix)
    found: set[str] = set()
    for path, tree in rs.exprs.items():
        if tree is None or path[:n] != prefix:
            continue
        if stop is not None and len(path) > n and path[n] == stop:
            continue
        found |= names(tree)
    return found


def metric_rows(rs: ResolvedScheme) -> list[MetricRow]:
    """Return every metric in scheme order, in words, with its inputs and readers."""
    s = rs.scheme
    rows = []
    for name, m in s.metrics.items():
        used = _names_at(rs, ("metrics", name)) if m.expr else set()
        inputs = [(n, f"m-{n}") for n in s.metrics if n in used]
        inputs += [(n, f"p-{n}") for n in s.params if n in used]
        rows.append(
            MetricRow(
                name=name,
                label=m.label or "",
                kind=METRIC_KIND_WORDS[m.kind],
                words=metric_words(m, s.entity),
                description=m.description or "",
                unit=m.unit or "",
                inputs=inputs,
            )
        )
    return rows


# ---------------------------------------------------------------------------- tree


@dataclass
class MetricRef:
    """A metric an indicator reads: name, label and how it is measured."""

    name: str
    label: str
    words: str


@dataclass
class NodeRow:
    """One node of the tree as one table row (indented by depth)."""

    id: str
    label: str
    description: str
    depth: int
    is_group: bool
    weight: str  # the weight as the scheme states it
    max: str
    share: str  # share of the root's maximum, e.g. "30%"
    how: str  # the rule or the group's combination, in words
    passing: str
    missing: str
    reason: str
    metrics: list[MetricRef]
    params: list[str]
    line: int | None


def _weight_words(rs: ResolvedScheme, rn: ResolvedNode) -> str:
    if rn.parent is None:
        return ""
    parent = rs.nodes[rn.parent].node
    if parent.weights_by is not None:
        by = parent.weights_by
        parts = [f"{k} {num(w.get(rn.id, 0))}" for k, w in by.profiles.items()]
        return f"按 {by.by}：" + " · ".join(parts)
    if rn.node.weight is not None:
        return num(rn.node.weight)
    return "按分值"


def _dynamic(rs: ResolvedScheme, rn: ResolvedNode) -> bool:
    """Return whether a node's share of the total depends on the entity (weights_by above)."""
    while rn.parent is not None:
        parent = rs.nodes[rn.parent]
        if parent.node.weights_by is not None:
            return True
        rn = parent
    return False


def _passing(rn: ResolvedNode) -> str:
    if rn.pass_points is None:
        return ""
    text = f"≥ {num(rn.pass_points)} 分"
    if rn.node.pass_ is not None:
        text += f"（满分的 {num(rn.node.pass_ * 100)}%）"
    return text


def node_rows(rs: ResolvedScheme) -> list[NodeRow]:
    """Return the tree depth first, each node with its weight, max, rule and inputs in words."""
    s = rs.scheme
    if not rs.nodes:
        return []
    root_max = next(iter(rs.nodes.values())).max
    rows = []
    for rn in rs.nodes.values():
        node = rn.node
        used = _names_at(rs, rn.path, stop="children")
        if node.weights_by is not None:
            used.add(node.weights_by.by)
        metric_names = [n for n in s.metrics if n in used]
        share = ""
        if rn.parent is not None and not _dynamic(rs, rn) and root_max:
            share = f"{num(round(rn.max / root_max * 100, 2))}%"
        how = describe_group(rs, rn) if node.is_group else describe_rule(rn)
        if node.is_group and node.weighting == "ratios":
            how = f"相对权重：{how}"
        reason = ""
        if not node.is_group:
            reason = (node.reason.label or node.reason.code) if node.reason else ""
        rows.append(
            NodeRow(
                id=rn.id,
                label=node.label or rn.id,
                description=node.description or "",
                depth=rn.depth,
                is_group=node.is_group,
                weight=_weight_words(rs, rn),
                max=num(rn.max),
                share=share,
                how=how,
                passing=_passing(rn),
                missing=MISSING_SHORT[rn.missing],
                reason=reason,
                metrics=[
                    MetricRef(n, s.metrics[n].label or "", metric_words(s.metrics[n], s.entity))
                    for n in metric_names
                ],
                params=[p for p in s.params if p in used],
                line=(rs.positions.of(rn.path) or (None, None))[0],
            )
        )
    return rows


def tree_figure(rs: ResolvedScheme) -> dict | None:
    """Return a sunburst of the tree sized by each indicator's max points, or None when the
    shares depend on the entity (weights_by) or there is no tree."""
    nodes = list(rs.nodes.values())
    if len(nodes) < 2 or any(rn.node.weights_by is not None for rn in nodes):
        return None
    # a group's size is the sum of its indicators' max points (exactly, so "total" holds)
    values = {rn.id: 0.0 if rn.node.is_group else round(rn.max, 6) for rn in nodes}
    for rn in reversed(nodes):  # depth first, root first: children come after their parent
        if rn.parent is not None:
            values[rn.parent] += values[rn.id]
    values = {k: round(v, 6) for k, v in values.items()}
    trace = {
        "type": "sunburst",
        "ids": [rn.id for rn in nodes],
        "labels": [rn.node.label or rn.id for rn in nodes],
        "parents": [rn.parent or "" for rn in nodes],
        # groups 0: their size is the sum of their indicators' max points
        "values": [values[rn.id] for rn in nodes],
        "branchvalues": "total",
        "hovertemplate": "%{label}<br>满分 %{value} 分<extra></extra>",
        "texttemplate": "%{label}<br>%{value} 分",
        "insidetextorientation": "horizontal",
    }
    layout = {
        "font": FONT,
        "margin": {"l": 5, "r": 5, "t": 5, "b": 5},
        "height": 420,
        "paper_bgcolor": "rgba(0,0,0,0)",
    }
    return {"data": [trace], "layout": layout}


# -------------------------------------------------------------------------- grades


def safe_color(color: str | None) -> str:
    """Return a CSS colour from a scheme, or "" for anything that is not plainly one."""
    return color if color and is_color(color) else ""


@dataclass
class LevelRow:
    grade: str
    label: str
    color: str
    range: str
    benefits: list[str]


def level_rows(rs: ResolvedScheme) -> list[LevelRow]:
    """Return the grades from best to worst with the score range each covers."""
    g = rs.scheme.grades
    if g is None:
        return []
    on = "得分" if g.on == "score" else g.on
    rows, upper, up_to = [], None, "<"  # up_to: "≤" when the level above starts `above`
    for lv in g.levels:
        low = f"{num(lv.min)} ≤ " if lv.min is not None else f"{num(lv.above)} < "
        if g.rules:
            where = "按评级规则"
        elif lv.lower is not None and upper is None:
            where = f"{on} ≥ {num(lv.min)}" if lv.min is not None else f"{on} > {num(lv.above)}"
        elif lv.lower is not None:
            where = f"{low}{on} {up_to} {num(upper)}"
        elif upper is not None:
            where = f"{on} {up_to} {num(upper)}"
        else:
            where = "其余"
        if lv.lower is not None:
            upper, up_to = lv.lower, ("<" if lv.min is not None else "≤")
        rows.append(
            LevelRow(lv.grade, lv.label or "", safe_color(lv.color), where, lv.benefits or [])
        )
    return rows


def level_colors(rs: ResolvedScheme) -> dict[str, str]:
    """Return each grade's colour (grades without one are left out)."""
    g = rs.scheme.grades
    return {lv.grade: safe_color(lv.color) for lv in g.levels if safe_color(lv.color)} if g else {}


# -------------------------------------------------------------------------- YAML


@dataclass
class YamlLine:
    number: int
    text: str
    problems: list[Problem]
    before: str = ""  # the text split at the problem's column, to mark that character
    mark: str = ""
    after: str = ""


def yaml_lines(text: str, problems: list[Problem] | tuple = ()) -> list[YamlLine]:
    """Return the YAML's lines numbered from 1, each with the problems found on it."""
    lines = text.splitlines() or [""]
    by_line: dict[int, list[Problem]] = {}
    for p in problems:
        if p.line is not None:
            by_line.setdefault(min(max(p.line, 1), len(lines)), []).append(p)
    out = []
    for i, t in enumerate(lines, start=1):
        row = YamlLine(i, t, by_line.get(i, []))
        col = next((p.col for p in row.problems if p.col), None)
        if col is not None and col - 1 < len(t):
            row.before, row.mark, row.after = t[: col - 1], t[col - 1], t[col:]
        out.append(row)
    return out


# -------------------------------------------------------------------------- diff


@dataclass
class DiffRow:
    kind: str  # same | add | del | gap
    old: int | None
    new: int | None
    text: str


def diff_rows(a: str, b: str, context: int | None = 3) -> tuple[list[DiffRow], int, int]:
    """Return the line diff of two texts (with `context` lines around changes, or all lines
    when None), and the numbers of removed and added lines."""
    al, bl = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, al, bl, autojunk=False)
    groups = [matcher.get_opcodes()] if context is None else matcher.get_grouped_opcodes(context)
    rows: list[DiffRow] = []
    removed = added = 0
    for gi, group in enumerate(groups):
        if gi or (group and (group[0][1] > 0 or group[0][3] > 0)):
            rows.append(DiffRow("gap", group[0][1] + 1, group[0][3] + 1, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    DiffRow("same", i + 1, j + 1, al[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            if tag in ("delete", "replace"):
                rows += [DiffRow("del", i + 1, None, al[i]) for i in range(i1, i2)]
                removed += i2 - i1
            if tag in ("insert", "replace"):
                rows += [DiffRow("add", None, j + 1, bl[j]) for j in range(j1, j2)]
                added += j2 - j1
    return rows, removed, added


def _node_name(rn: ResolvedNode) -> str:
    return f"{rn.node.label or rn.id}（{rn.id}）"


def _dump(model) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True) if model else None


def structural_changes(a: ResolvedScheme, b: ResolvedScheme) -> list[str]:
    """Return what changed from scheme a to b, in words: nodes added or removed, weights,
    maxima and rules changed, metrics, parameters, grades and the other sections."""
    out: list[str] = []
    an, bn = a.nodes, b.nodes
    for nid in bn.keys() - an.keys():
        rn = bn[nid]
        kind = "分组" if rn.node.is_group else "指标"
        out.append(f"新增{kind} {_node_name(rn)}，满分 {num(rn.max)}")
    for nid in an.keys() - bn.keys():
        rn = an[nid]
        kind = "分组" if rn.node.is_group else "指标"
        out.append(f"删除{kind} {_node_name(rn)}")
    for nid in [n for n in bn if n in an]:
        ra, rb = an[nid], bn[nid]
        parts = []
        if ra.node.label != rb.node.label:
            parts.append(f"名称 {ra.node.label or '—'} → {rb.node.label or '—'}")
        if ra.parent != rb.parent:
            parts.append(f"上级 {ra.parent or '—'} → {rb.parent or '—'}")
        if ra.node.weight != rb.node.weight:
            wa = num(ra.node.weight) if ra.node.weight is not None else "—"
            wb = num(rb.node.weight) if rb.node.weight is not None else "—"
            parts.append(f"权重 {wa} → {wb}")
        if round(ra.max, 9) != round(rb.max, 9):
            parts.append(f"满分 {num(ra.max)} → {num(rb.max)}")
        if ra.node.is_group != rb.node.is_group:
            parts.append("改为分组" if rb.node.is_group else "改为指标")
        elif rb.node.is_group and (
            ra.node.weighting != rb.node.weighting
            or _dump(ra.node.weights_by) != _dump(rb.node.weights_by)
        ):
            parts.append(f"合计方式改为：{describe_group(b, rb)}")
        elif not rb.node.is_group and _dump(ra.node.rule) != _dump(rb.node.rule):
            parts.append(f"计分规则改为：{describe_rule(rb)}")
        if ra.node.value != rb.node.value:
            parts.append(f"取值 {ra.node.value or ra.id} → {rb.node.value or rb.id}")
        if ra.missing != rb.missing:
            parts.append(f"缺数据时 {describe_missing(ra)} → {describe_missing(rb)}")
        if ra.pass_points != rb.pass_points:
            parts.append(f"达标线 {_passing(ra) or '无'} → {_passing(rb) or '无'}")
        if parts:
            out.append(f"{_node_name(rb)}：" + "；".join(parts))
    am, bm = a.scheme.metrics, b.scheme.metrics
    for name in [n for n in bm if n not in am]:
        out.append(
            f"新增指标值 {name}（{bm[name].label or ''}）：{metric_words(bm[name], b.scheme.entity)}"
        )
    for name in [n for n in am if n not in bm]:
        out.append(f"删除指标值 {name}（{am[name].label or ''}）")
    for name in [n for n in bm if n in am and _dump(am[n]) != _dump(bm[n])]:
        out.append(
            f"指标值 {name} 改为：{metric_words(bm[name], b.scheme.entity)}"
            if metric_words(am[name], a.scheme.entity) != metric_words(bm[name], b.scheme.entity)
            else f"指标值 {name} 的说明或标签有变化"
        )
    ap, bp = a.scheme.params, b.scheme.params
    for name in sorted(bp.keys() | ap.keys()):
        if name not in ap:
            out.append(f"新增参数 {name}，默认值 {bp[name].default}")
        elif name not in bp:
            out.append(f"删除参数 {name}")
        elif ap[name].default != bp[name].default:
            out.append(f"参数 {name} 默认值 {ap[name].default} → {bp[name].default}")
    la = [(r.grade, r.range) for r in level_rows(a)]
    lb = [(r.grade, r.range) for r in level_rows(b)]
    if la != lb:
        out.append("等级划分改为：" + "；".join(f"{g} {r}" for g, r in lb) if lb else "删除了等级")
    ga, gb = a.scheme.grades, b.scheme.grades
    if ga and gb:
        for key, word in (("rules", "评级规则"), ("caps", "封顶规则"), ("demotions", "降级规则")):
            if _dump(ga).get(key) != _dump(gb).get(key):
                out.append(f"{word}有变化")
    for key, word in (
        ("classes", "类别规则"),
        ("consequences", "处理措施"),
        ("outputs", "输出项"),
        ("checks", "质量检查"),
    ):
        va, vb = getattr(a.scheme, key), getattr(b.scheme, key)
        if key in ("outputs", "checks"):
            va, vb = [_dump(x) for x in va], [_dump(x) for x in vb]
        else:
            va, vb = _dump(va), _dump(vb)
        if va != vb:
            out.append(f"{word}有变化")
    return out
