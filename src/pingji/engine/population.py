"""Population functions (rank, pct_rank, ntile, quantile, cum_share, total) as window columns.

A population function compares an entity with the other entities of the run, so it cannot be
computed inside one row's expression. Before a step compiles its expressions, the engine
computes every population call they hold as a column of its own (`p__<n>`), innermost calls
first, and the call then compiles to that column. Each call's arguments are materialised
first, so no window function is ever nested in another (SQL forbids that), and the quantile
is built from `row_number`/`count` windows and a second projection: PostgreSQL has no
`percentile_cont` window function, and this way DuckDB and PostgreSQL compute the same thing.

The population of a call is the entities whose argument is not NULL (and, with a group, whose
group is the same and not NULL); an entity outside it gets NULL. Values are ordered after
rounding floats to 9 decimals, as comparisons are, so backends agree on ties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.types as ir

from pingji import expr
from pingji.expr.nodes import children

ROUND = 9
COLUMN_PREFIX = "p__"


@dataclass(frozen=True)
class Call:
    """One population call to compute: its column, and its argument columns."""

    column: str
    name: str
    x: str  # column holding the ranked value
    group: str | None  # column holding the group, if any
    constant: float | int | None  # ntile's buckets or quantile's q


def calls(trees: Iterable) -> list[list[expr.Call]]:
    """Return the population calls in expression trees, by level: calls inside others' arguments
    come in an earlier level than the calls that contain them."""
    levels: dict[int, list[expr.Call]] = {}
    seen: set[int] = set()

    def level(node) -> int:
        below = max((level(a) for a in children(node)), default=-1)
        if isinstance(node, expr.Call) and node.name in expr.POPULATION_FUNCTIONS:
            below += 1
            if id(node) not in seen:
                seen.add(id(node))
                levels.setdefault(below, []).append(node)
        return below

    for tree in trees:
        if tree is not None:
            level(tree)
    return [levels[k] for k in sorted(levels)]


def uses_population(trees: Iterable) -> bool:
    """Return whether any expression calls a population function."""
    return any(
        isinstance(n, expr.Call) and n.name in expr.POPULATION_FUNCTIONS
        for tree in trees
        if tree is not None
        for n in expr.walk(tree)
    )


def constant(call: expr.Call) -> float | int | None:
    """Return ntile's number of buckets or quantile's q (checked constants)."""
    if call.name == "ntile":
        return int(call.args[1].value)
    if call.name == "quantile":
        return float(Decimal(call.args[1].value))
    return None


def group_arg(call: expr.Call):
    """Return the group argument of a call, or None."""
    fixed = 2 if call.name in ("ntile", "quantile") else 1
    return call.args[fixed] if len(call.args) > fixed else None


def _ordered(x: ir.Value) -> ir.Value:
    return x.round(ROUND) if x.type().is_floating() else x


def add_columns(t: ir.Table, specs: list[Call]) -> ir.Table:
    """Add one column per call to t, which holds each call's argument columns; drop those."""
    first: dict[str, ir.Value] = {}
    second: dict[str, ir.Value] = {}
    helpers: list[str] = []
    for s in specs:
        x = t[s.x]
        g = t[s.group] if s.group else None
        partition = [x.isnull()] if g is None else [x.isnull(), g.isnull(), g]
        inside = x.notnull() if g is None else x.notnull() & g.notnull()
        key = _ordered(x)
        eid = t.entity_id
        if s.name == "rank":  # 1 + the number of entities with a strictly greater value
            value = ibis.rank().over(group_by=partition, order_by=ibis.desc(key)) + 1
        elif s.name == "pct_rank":  # entities with a smaller value / (n − 1); 0 when n = 1
            value = ibis.percent_rank().over(group_by=partition, order_by=key)
        elif s.name == "ntile":  # bucket 1 holds the smallest values; ties by entity id
            value = ibis.ntile(int(s.constant)).over(group_by=partition, order_by=[key, eid]) + 1
        elif s.name == "cum_share":
            running = x.sum().over(
                ibis.window(group_by=partition, order_by=[ibis.desc(key), eid], rows=(None, 0))
            )
            total = x.sum().over(group_by=partition)
            value = running.cast("float64") / total.cast("float64").nullif(0)
        elif s.name == "total":  # the sum over the population (money stays exact)
            value = x.sum().over(group_by=partition)
        else:  # quantile: positions first, the interpolation in the second projection
            rn, n = f"{s.column}__rn", f"{s.column}__n"
            first[rn] = ibis.row_number().over(group_by=partition, order_by=[key, eid])
            first[n] = x.count().over(group_by=partition)
            helpers += [rn, n]
            continue
        first[s.column] = ibis.ifelse(inside, value, ibis.null(value.type()))
    t = t.mutate(**first)
    for s in specs:
        if s.name != "quantile":
            continue
        x = t[s.x].cast("float64")
        g = t[s.group] if s.group else None
        partition = [t[s.x].isnull()] if g is None else [t[s.x].isnull(), g.isnull(), g]
        inside = t[s.x].notnull() if g is None else t[s.x].notnull() & g.notnull()
        rn, n = t[f"{s.column}__rn"], t[f"{s.column}__n"]
        # h = (n − 1)·q, the position between the sorted values (numpy's "linear" method)
        h = ((n - 1).cast("float64") * float(s.constant)).round(ROUND)
        lo, hi = h.floor().cast("int64"), h.ceil().cast("int64")
        at_lo = ibis.cases((rn == lo, x), else_=ibis.null("float64")).max().over(group_by=partition)
        at_hi = ibis.cases((rn == hi, x), else_=ibis.null("float64")).max().over(group_by=partition)
        value = at_lo + (h - lo.cast("float64")) * (at_hi - at_lo)
        second[s.column] = ibis.ifelse(inside, value, ibis.null("float64"))
    if second:
        t = t.mutate(**second)
    arguments = [s.x for s in specs] + [s.group for s in specs if s.group]
    return t.drop(*arguments, *helpers)
