"""Indicator rules: how a value becomes points, one function per rule kind.

Each takes the compiler (for expressions and parameters), the node, the table, the period, the
node's value (None when it has none) and the names its expressions may use besides the table's
(`value`), and returns the points as a float64 expression, NULL when they cannot be computed.
A rule kind without a function here is an error that names it.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from pingji.engine.columns import ROUND
from pingji.errors import EvaluationError
from pingji.periods import Period
from pingji.scheme.models import Band, Bands
from pingji.scheme.resolve import ResolvedNode


def _rounded(x: ir.Value) -> ir.Value:
    return x.cast("float64").round(ROUND)


def linear(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Points rising in a straight line from `zero_at` to `full_at`, clamped."""
    rule = rn.node.rule.linear
    z = c._number(rule.zero_at, (*rn.path, "rule", "linear", "zero_at"), t, period, extra)
    full = c._number(rule.full_at, (*rn.path, "rule", "linear", "full_at"), t, period, extra)
    # points are rounded to 9 decimals by the caller; the fraction needs no rounding of its own
    return _clamp((value.cast("float64") - z) / (full - z), 0, 1) * rn.max


def by_bands(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Points of the band the value falls in (scaled to the node's maximum)."""
    return bands(rn.node.rule.bands, value)


def mapping(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Points per text value, `else` for any other; NULL for a missing value."""
    rule = rn.node.rule.mapping
    v = value.cast("string")
    points = ibis.cases(
        *[(v == k, ibis.literal(float(p))) for k, p in rule.cases.items()],
        else_=ibis.literal(float(rule.else_)),
    )
    return ibis.ifelse(value.isnull(), ibis.null("float64"), points)


def manual(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """A rating on its scale, turned into points in a straight line."""
    metric = c.s.metrics[rn.node.value or rn.node.id]
    lo, hi = metric.scale
    return _clamp((value.cast("float64") - lo) / (hi - lo), 0, 1) * rn.max


def expression(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Points given by an expression, clamped to 0 … the node's maximum."""
    points = c.compile((*rn.path, "rule", "expr"), t, period, extra).cast("float64")
    return _clamp(points, 0, rn.max)


def bands(bands: Bands, value: ir.Value) -> ir.Value:
    """Return the points of a value by bands (NULL when the value is NULL)."""
    v = _rounded(value)
    cases = [(_in_band(b, v), _band_points(b, bands.better, v)) for b in bands.bands]
    out = ibis.cases(*cases, else_=ibis.literal(float(bands.else_)))
    return ibis.ifelse(value.isnull(), ibis.null("float64"), out)


def _in_band(b: Band, v: ir.Value) -> ir.Value:
    cond = ibis.literal(True)
    if b.equals is not None:
        return v == round(float(b.equals), ROUND)
    if b.lower is not None:
        lo = round(float(b.lower), ROUND)
        cond = cond & ((v >= lo) if b.lower_closed else (v > lo))
    if b.upper is not None:
        hi = round(float(b.upper), ROUND)
        cond = cond & ((v <= hi) if b.upper_closed else (v < hi))
    return cond


def _band_points(b: Band, better: str, v: ir.Value) -> ir.Value:
    if not isinstance(b.points, tuple):
        return ibis.literal(float(b.points))
    # the best end of the band gets the highest point, the other end the lowest
    hi_pts, lo_pts = max(b.points), min(b.points)
    lo, hi = float(b.lower), float(b.upper)
    frac = (v - lo) / (hi - lo)  # 0 at the lower edge, 1 at the upper
    if better == "lower":
        frac = 1 - frac
    return lo_pts + (hi_pts - lo_pts) * frac


def deduction(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Start at full marks (or `start`), subtract per item, floor and cap."""
    d = rn.node.rule.deduction
    start = float(d.start) if d.start is not None else rn.max
    total = ibis.literal(0.0)
    base = (*rn.path, "rule", "deduction", "items")
    for i, item in enumerate(d.items):
        ip = (*base, i)
        kind = item.kind
        # an item whose input is NULL makes the whole rule NULL (missing): a deduction
        # that cannot be computed must not leave the indicator at full marks
        if kind == "per":
            n = c.compile((*ip, "per"), t, period, extra).cast("float64")
            amount = n * c._number(item.points, (*ip, "points"), t, period, extra)
        elif kind in ("shortfall", "excess"):
            v = c.compile((*ip, kind), t, period, extra).cast("float64")
            ref_key = "below" if kind == "shortfall" else "above"
            ref = c._number(getattr(item, ref_key), (*ip, ref_key), t, period, extra)
            gap = (ref - v) if kind == "shortfall" else (v - ref)
            units = (gap / float(item.step)).round(ROUND)
            steps = units.ceil() if item.steps == "started" else units.floor()
            steps = _at_least(steps.cast("float64"), 0.0)
            amount = steps * c._number(item.points, (*ip, "points"), t, period, extra)
        elif kind == "amount":
            amount = c.compile((*ip, "amount"), t, period, extra).cast("float64")
        else:
            of = c.compile((*ip, "of"), t, period, extra)
            amount = bands(item.bands, of)
        if item.cap is not None:
            amount = _at_most(amount, float(item.cap))
        total = total + amount
    if d.cap is not None:
        total = _at_most(total, float(d.cap))
    result = _at_least(ibis.literal(start) - total, float(d.floor))
    return result * (rn.max / start) if start else result


RULES: dict[str, Callable[..., ir.Value]] = {
    "linear": linear,
    "bands": by_bands,
    "mapping": mapping,
    "manual": manual,
    "expr": expression,
    "deduction": deduction,
}


def points(c, rn: ResolvedNode, t: ir.Table, period: Period, value, extra) -> ir.Value:
    """Return an indicator's points by its rule (before rounding and the missing policy)."""
    kind = rn.node.rule.kind
    rule = RULES.get(kind)
    if rule is None:
        raise EvaluationError(f"indicator '{rn.id}': no way to compute a rule of kind '{kind}'")
    return rule(c, rn, t, period, value, extra)


def _at_most(x: ir.Value, hi: float) -> ir.Value:
    """Return min(x, hi), NULL when x is NULL.

    SQL's LEAST and GREATEST skip NULL arguments, so `least(NULL, 10)` is 10: a rule whose
    input is missing would get full marks. Every bound in the plan goes through these three;
    a comparison with NULL is not true, so the CASE gives x itself — NULL — back.
    """
    x = x.cast("float64")
    return ibis.ifelse(x > hi, ibis.literal(hi, type="float64"), x)


def _at_least(x: ir.Value, lo: float) -> ir.Value:
    """Return max(x, lo), NULL when x is NULL (see _at_most)."""
    x = x.cast("float64")
    return ibis.ifelse(x < lo, ibis.literal(lo, type="float64"), x)


def _clamp(x: ir.Value, lo: float, hi: float) -> ir.Value:
    """Return x within [lo, hi], NULL when x is NULL, in one flat CASE (nesting the two
    above repeats x's expression four times)."""
    x = x.cast("float64")
    return ibis.cases(
        (x > hi, ibis.literal(hi, type="float64")),
        (x < lo, ibis.literal(lo, type="float64")),
        else_=x,
    )
