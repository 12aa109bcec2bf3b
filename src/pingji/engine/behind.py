"""The fact rows behind one metric of one entity, and the value the engine makes of them.

A "why" page (web/runs/scorecard.py) lists the rows an aggregation, `latest` or rating
metric read and recomputes the aggregate over them. Both come from the plan's own code
(engine/plan.py): the same window bounds, `where` compilation (workdays_between() included),
aggregation and default, so the rows listed are exactly the rows the run read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis.expr.types as ir

from pingji.engine.coverage import window_bounds
from pingji.engine.params import resolve_params
from pingji.engine.plan import Compiler, aggregated, as_of, defaulted, rated, rater_votes
from pingji.periods import Period
from pingji.scheme.resolve import ResolvedScheme


@dataclass(frozen=True)
class Behind:
    """The rows a metric read for one entity, and its value computed over them."""

    rows: ir.Table  # the chosen rows: the source's columns (and __wd… workday counts)
    value: ir.Scalar | None  # the metric's value, default applied (None for `latest`)
    start: date | None  # the first and last day its window read (None: open)
    end: date | None


def source_table(rs: ResolvedScheme, name: str) -> str | None:
    """Return the table whose rows metric `name` reads; None for attributes and formulas."""
    m = rs.scheme.metrics[name]
    if m.aggregation:
        return getattr(m, m.aggregation).partition(".")[0]
    if m.latest:
        return m.latest.partition(".")[0]
    if m.rating:
        return "ratings"
    return None


def rows_behind(
    rs: ResolvedScheme,
    period: Period,
    params: dict[str, str] | None,
    name: str,
    facts: ir.Table,
    dataset=None,
) -> Behind:
    """Return the rows of `facts` (one entity's rows of the metric's source table) that
    metric `name` read in `period`, and its value over them, as build_plan computes it.

    `params` are given as build_plan takes them (text); `dataset` is the data set the run
    read, of which only the working-day calendar is used (for workdays_between())."""
    m = rs.scheme.metrics[name]
    c = Compiler(rs, dataset, resolve_params(rs, params))
    if m.aggregation:
        bounds = window_bounds(m.window, period)
        where = [rs.exprs[("metrics", name, "where")]] if m.where else []
        f, workdays = c.calendar.add(facts, where, lambda x: c.fact_resolver(x, period), period)
        cond = c.selects(f, name, period, bounds, workdays)
        return Behind(f.filter(cond), defaulted(m, aggregated(m, f, cond)), *bounds)
    if m.latest:
        date_column = rs.tables[source_table(rs, name)].date
        return Behind(facts.filter(as_of(facts, date_column, period)), None, None, period.end)
    if m.rating:  # the mean over raters, as the run computed it
        chosen = facts.filter(rated(facts, m, period))
        return Behind(chosen, rater_votes(chosen).score.mean(), period.start, period.end)
    raise ValueError(f"metric {name!r} reads no fact rows")  # callers ask source_table first
