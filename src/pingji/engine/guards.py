"""The data checks that need the scheme (guards): ratings within their scale, overrides naming
a known grade, one override per entity and period.

Each is a query of the offending rows (the first is reported) and how its error reads. The
compiler (plan.py) builds them over the rows a period reads and puts them in the plan, which
runs them before its steps; `pingji validate --data` builds them over every period
(`data_guards`) and runs them the same way, without evaluating. Rows of ratings and
overrides that match nothing the scheme reads are not errors but notices: warnings of the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.types as ir

from pingji.data.contract import ROW_COLUMN
from pingji.i18n import msg, to_json
from pingji.scheme.resolve import ResolvedScheme

GuardQuery = tuple[ir.Table, dict[str, Any]]


def scale_guards(rs: ResolvedScheme, r: ir.Table, indicators: Iterable[str]) -> list[GuardQuery]:
    """Return one guard per rated indicator: a rating outside its declared scale is an error,
    never silently clamped (`r` holds the ratings to check)."""
    scales = {}
    for m in rs.scheme.metrics.values():
        if m.rating is not None:
            scales.setdefault(m.rating, m.scale)
    cols = ["entity_id", "period", "indicator", "score"]
    if ROW_COLUMN in r.columns:
        cols.append(ROW_COLUMN)
    found = []
    for indicator in indicators:  # one query each: the error names its scale
        lo, hi = scales[indicator]
        bad = r.filter((r.indicator == indicator) & ((r.score < lo) | (r.score > hi)))
        found.append(
            (
                bad.select(*cols).limit(1),
                {
                    "table": "ratings",
                    "message": "rating of '{indicator}' for {entity_id} in {period} "
                    "is outside its scale",
                    "column": "score",
                    "value": "score",
                    "expected": to_json(
                        msg(
                            "a score from {low} to {high} (scheme {scheme})",
                            low=f"{lo:g}",
                            high=f"{hi:g}",
                            scheme=rs.id,
                        )
                    ),
                },
            )
        )
    return found


def override_guards(rs: ResolvedScheme, o: ir.Table) -> list[GuardQuery]:
    """Return the guards of the overrides `o`: each names a grade of the scheme, and an entity
    has at most one per period."""
    codes = [lv.grade for lv in rs.scheme.grades.levels]
    bad = o.filter(~o.grade.isin(codes))
    cols = ["entity_id", "grade"] + ([ROW_COLUMN] if ROW_COLUMN in o.columns else [])
    dup = (
        o.group_by(["entity_id", "period"])
        .aggregate(n=o.count())
        .filter(lambda d: d.n > 1)
        .mutate(period=lambda d: d.period.cast("string"))
    )
    return [
        (
            bad.select(*cols).limit(1),
            {
                "table": "overrides",
                "message": "override for {entity_id} names an unknown grade",
                "column": "grade",
                "value": "grade",
                "expected": to_json(
                    msg(
                        "one of {choices} (scheme {scheme})",
                        choices=", ".join(codes),
                        scheme=rs.id,
                    )
                ),
            },
        ),
        (
            dup.order_by(["entity_id", "period"]).limit(1),
            {
                "table": "overrides",
                "message": "{n} overrides for {entity_id} in {period}: keep one",
                "column": "entity_id",
                "value": "entity_id",
                "expected": to_json(msg("at most one override per entity and period")),
            },
        ),
    ]


def data_guards(rs: ResolvedScheme, ds: Any) -> list[GuardQuery]:
    """Return the guards of the scheme over every period of the data set `ds` (the
    compiler's view of one): what `pingji validate --data` checks."""
    found: list[GuardQuery] = []
    indicators = list(
        dict.fromkeys(m.rating for m in rs.scheme.metrics.values() if m.rating is not None)
    )
    if indicators and ds.has("ratings"):
        r = ds.table("ratings")
        found += scale_guards(rs, r.filter(r.indicator.isin(indicators)), indicators)
    grades = rs.scheme.grades
    if grades is not None and grades.overrides and ds.has("overrides"):
        found += override_guards(rs, ds.table("overrides"))
    return found


# How the evaluated period is written in ratings and overrides (Period's str), per kind: a
# row whose period is written otherwise (2026Q1, 2026-q1, 2026-1) is read by no period.
LABELS = {
    "year": r"^[0-9]{4}$",
    "quarter": r"^[0-9]{4}-Q[1-4]$",
    "month": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
}

Notice = tuple[str, str, ir.Table, tuple[str, ...]]  # kind, table, query (value, n), choices


def _labels(rows: ir.Table, value: ir.Value) -> ir.Table:
    """Return the few most frequent values of `value` in `rows`, with their rows (`n`)."""
    counted = rows.group_by(value=value).aggregate(n=rows.count())
    return counted.order_by([counted.n.desc(), counted.value]).limit(5)


def period_notices(table: str, rows: ir.Table, period) -> list[Notice]:
    """Return the notice of rows of `table` whose period is not written as a period of the
    scheme's kind (such as `period`): no evaluation reads them."""
    label = rows.period.cast("string")
    wrong = rows.filter(~label.re_search(LABELS[period.kind]))
    return [("period", table, _labels(wrong, wrong.period.cast("string")), ())]


def rating_notices(r: ir.Table, indicators: list[str], period) -> list[Notice]:
    """Return the notices of ratings that match nothing the scheme reads: of `period`, for an
    indicator it does not rate; of its indicators, with a period written otherwise."""
    other = r.filter((r.period.cast("string") == str(period)) & ~r.indicator.isin(indicators))
    return [
        ("indicator", "ratings", _labels(other, other.indicator.cast("string")), tuple(indicators)),
        *period_notices("ratings", r.filter(r.indicator.isin(indicators)), period),
    ]


def rater_notices(r: ir.Table) -> list[Notice]:
    """Return the notice of raters who rated an entity on an indicator more than once in the
    ratings `r` (of the evaluated period): their rows are averaged, one rater one vote."""
    named = r.filter(r.rater.notnull())
    twice = (
        named.group_by(
            value=named.entity_id.cast("string"),
            indicator=named.indicator,
            rater=named.rater.cast("string"),
        )
        .aggregate(n=named.count())
        .filter(lambda d: d.n > 1)
    )
    twice = twice.mutate(total=twice.count().over(ibis.window()))  # one warning, one example
    return [
        (
            "rater",
            "ratings",
            twice.order_by([twice.value, twice.indicator, twice.rater]).limit(1),
            (),
        )
    ]
