"""Say a scheme's rules in words (Chinese first), for explain, docs and the web pages."""

from __future__ import annotations

from decimal import Decimal

from pingji.scheme.models import Band, Bands, Metric
from pingji.scheme.resolve import ResolvedNode, ResolvedScheme


def _n(x) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return (
        f"{x:,}"
        if isinstance(x, int) and abs(x) >= 10000
        else f"{x:g}"
        if isinstance(x, float)
        else str(x)
    )


def describe_band(b: Band) -> str:
    """Return a band as an interval with its points, e.g. `(0, 0.05] → 14…11 分`."""
    if b.equals is not None:
        where = f"= {_n(b.equals)}"
    elif b.lower is not None and b.upper is not None:
        where = f"{'[' if b.lower_closed else '('}{_n(b.lower)}, {_n(b.upper)}{']' if b.upper_closed else ')'}"
    elif b.lower is not None:
        where = f"{'≥' if b.lower_closed else '>'} {_n(b.lower)}"
    else:
        where = f"{'≤' if b.upper_closed else '<'} {_n(b.upper)}"
    pts = f"{_n(b.points[0])}…{_n(b.points[1])}" if isinstance(b.points, tuple) else _n(b.points)
    return f"{where} → {pts} 分"


def describe_bands(bands: Bands) -> str:
    """Return every band and the value used outside them."""
    text = "；".join(describe_band(b) for b in bands.bands)
    if any(isinstance(b.points, tuple) for b in bands.bands):
        end = "低值端" if bands.better == "lower" else "高值端"
        text += f"（区间内按比例插值，{end}得高分）"
    return text + f"；其他 → {_n(bands.else_)} 分"


def describe_rule(rn: ResolvedNode, params: dict | None = None) -> str:
    """Return how an indicator turns its value into points, in words (a bound given as a
    parameter named with its value in `params`, when given)."""
    rule = rn.node.rule
    mx = _n(rn.max)
    kind = rule.kind
    if kind == "linear":
        z, f = rule.linear.zero_at, rule.linear.full_at
        # a bound given as a parameter: named, with its value, which gives the direction
        given = {
            b: float(params[b])
            for b in (z, f)
            if isinstance(b, str) and isinstance((params or {}).get(b), int | float | Decimal)
        }
        z_text, f_text = (f"{b}（= {_n(given[b])}）" if b in given else _n(b) for b in (z, f))
        z, f = given.get(z, z), given.get(f, f)
        direction = (
            "越高越好"
            if _is_num(z) and _is_num(f) and f > z
            else "越低越好"
            if _is_num(z) and _is_num(f)
            else ""
        )
        return f"线性计分：{z_text} 得 0 分，{f_text} 得满分 {mx} 分，之间按比例，超出取端点{'（' + direction + '）' if direction else ''}"
    if kind == "bands":
        return "分段计分：" + describe_bands(rule.bands)
    if kind == "mapping":
        cases = "，".join(f"{k} → {_n(v)} 分" for k, v in rule.mapping.cases.items())
        return f"对照计分：{cases}，其他 → {_n(rule.mapping.else_)} 分"
    if kind == "manual":
        return f"人工评分，按评分量表折算为 0–{mx} 分（多人评分取平均）"
    if kind == "expr":
        return f"按公式计分：{rule.expr}（限定在 0–{mx} 分）"
    d = rule.deduction
    start = _n(d.start) if d.start is not None else mx
    parts = []
    for item in d.items:
        label = f"{item.label}：" if item.label else ""
        if item.kind == "per":
            parts.append(f"{label}每次（{item.per}）扣 {_n(item.points)} 分")
        elif item.kind in ("shortfall", "excess"):
            ref = item.below if item.kind == "shortfall" else item.above
            what = "低于" if item.kind == "shortfall" else "超过"
            unit = "不足一档按一档计" if item.steps == "started" else "满一档才计"
            parts.append(
                f"{label}{item.shortfall or item.excess} {what} {_n(ref)} 时每 {_n(item.step)} 扣 {_n(item.points)} 分（{unit}）"
            )
        elif item.kind == "amount":
            parts.append(f"{label}扣 {item.amount} 分")
        else:
            parts.append(f"{label}按 {item.of} 分段扣分：{describe_bands(item.bands)}")
        if item.cap is not None:
            parts[-1] += f"，最多扣 {_n(item.cap)} 分"
    tail = f"；最低 {_n(d.floor)} 分"
    if d.cap is not None:
        tail += f"，合计最多扣 {_n(d.cap)} 分"
    return f"扣分制：从 {start} 分起扣；" + "；".join(parts) + tail


def describe_group(rs: ResolvedScheme, rn: ResolvedNode) -> str:
    """Return how a group combines its children, in words."""
    node = rn.node
    children = [rs.nodes[c.id] for c in node.children]
    if node.weights_by is not None:
        profiles = "；".join(
            f"{k}: " + ":".join(_n(w[c.id]) for c in children)
            for k, w in node.weights_by.profiles.items()
        )
        order = "、".join(c.node.label or c.id for c in children)
        return f"按 {node.weights_by.by} 选择权重（{order}）：{profiles}；得分 = Σ 权重×得分率 / Σ 权重 × {_n(rn.max)}"
    weighting = node.weighting or (
        "fractions" if any(c.node.weight is not None for c in children) else "points"
    )
    if weighting == "points":
        return f"各项分值相加（满分 {_n(rn.max)}）"
    ws = "，".join(f"{c.node.label or c.id} {_n(c.weight)}" for c in children)
    return f"加权（{ws}），满分 {_n(rn.max)}"


def describe_missing(rn: ResolvedNode) -> str:
    """Return what happens when the node has no input."""
    return {
        "zero": "缺数据记 0 分",
        "exclude": "缺数据时不计入，上级按其余项折算",
        "fail": "缺数据即报错",
    }[rn.missing]


# Words for metric definitions, shared by every place that shows them (CLI explain, the web
# scheme page, scorecards, the rating form).
WINDOW_WORDS = {"period": "本期", "previous": "上期", "to_date": "截至期末累计", "all": "全部日期"}
AGGREGATION_WORDS = {
    "sum": "合计",
    "count": "行数",
    "count_distinct": "不同值个数",
    "mean": "平均值",
    "min": "最小值",
    "max": "最大值",
    "first": "最早日期",
    "last": "最晚日期",
}
METRIC_KIND_WORDS = {
    **dict.fromkeys(AGGREGATION_WORDS, "汇总"),
    "attribute": "档案字段",
    "latest": "最近一期数据",
    "rating": "人工评分",
    "expr": "公式",
}


def describe_window(w) -> str:
    """Return a metric window in words (本期, 上期, 最近 6 个月, 往前第 2 期 …)."""
    if isinstance(w, str):
        return WINDOW_WORDS.get(w, w)
    if hasattr(w, "last_months"):
        return f"最近 {w.last_months} 个月"
    return "本期" if w.periods_back == 0 else f"往前第 {w.periods_back} 期"


def describe_metric(m: Metric) -> str:
    """Return how a metric is measured, in words."""
    wtext = describe_window(m.window)
    aggs = AGGREGATION_WORDS
    if m.aggregation:
        where = f"，条件 {m.where}" if m.where else ""
        return f"{wtext} {getattr(m, m.aggregation)} {aggs[m.aggregation]}{where}"
    if m.attribute:
        return f"档案字段 {m.attribute}"
    if m.latest:
        return f"期末前最近一期 {m.latest}"
    if m.rating:
        return f"人工评分 {m.rating}（量表 {_n(m.scale[0])}–{_n(m.scale[1])}，多人取平均）"
    return f"公式 {m.expr}"


def _is_num(x) -> bool:
    return isinstance(x, int | float)
