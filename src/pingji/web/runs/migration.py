"""The grade migration matrix laid out for a page: rows are the grades before (A), columns the
grades after (B), each cell marked up, same or down. One home for the layout, shared by the
compare page of two runs and the what-if preview of a scheme draft (schemes/whatif.py); the
counts themselves come from one DuckDB join (results.migration / results.migration_of_files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from pingji.web.runs.results import ABSENT, NO_GRADE

NO_COLOR = "#9aa5b1"  # the colour of a grade that has none (and of 无等级)

Counts = Mapping[tuple[str, str], int]


def grade_axis(orders: Iterable[Iterable[str]], counts: Counts) -> list[str]:
    """Return the grades in display order: the schemes' level orders (A's, then B's new
    ones), grades found but not among the levels, then 无等级 if any entity has none."""
    axis: list[str] = []
    for order in orders:
        for g in order:
            if g not in axis:
                axis.append(g)
    for ga, gb in counts:  # grades not among the levels (should not happen), then none
        for g in (ga, gb):
            if g not in axis and g not in (NO_GRADE, ABSENT):
                axis.append(g)
    if any(NO_GRADE in key for key in counts):
        axis.append(NO_GRADE)
    return axis


def layout(
    counts: Counts,
    orders: Iterable[Iterable[str]],
    colors: Mapping[str, str],
    absent_labels: tuple[str, str] | None = None,
) -> dict:
    """Return the page's context for a migration matrix: columns, rows of cells (with kind
    up / same / down / other), row and column totals, and the counts of the summary tiles.

    `counts` maps (grade in A, grade in B) to entities, with results.NO_GRADE and
    results.ABSENT as in results.migration; `absent_labels` names "not in A" / "not in B"."""
    absent_a, absent_b = absent_labels or (_("不在 A 中"), _("不在 B 中"))
    axis = grade_axis(orders, counts)
    rank = {g: i for i, g in enumerate(axis)}

    def label(g: str, side: str) -> str:
        if g == NO_GRADE:
            return _("无等级")
        if g == ABSENT:
            return absent_a if side == "a" else absent_b
        return g

    def cell(ga: str, gb: str) -> dict:
        n = counts.get((ga, gb), 0)
        if ABSENT in (ga, gb) or NO_GRADE in (ga, gb):
            kind = "other"
        elif ga == gb:
            kind = "same"
        else:
            kind = "up" if rank[gb] < rank[ga] else "down"
        return {"ga": ga, "gb": gb, "n": n, "kind": kind}

    rows_axis = [*axis, ABSENT]
    cols_axis = [*axis, ABSENT]
    matrix = []
    for ga in rows_axis:
        cells: list[dict | None] = [cell(ga, gb) for gb in cols_axis if not (ga == gb == ABSENT)]
        if ga == ABSENT:
            cells.append(None)
        matrix.append(
            {
                "grade": ga,
                "label": label(ga, "a"),
                "color": colors.get(ga, NO_COLOR),
                "cells": cells,
                "total": sum(c["n"] for c in cells if c),
            }
        )
    both = {k: n for k, n in counts.items() if ABSENT not in k}
    graded = {(ga, gb): n for (ga, gb), n in both.items() if NO_GRADE not in (ga, gb)}
    return {
        "columns": [
            {"grade": g, "label": label(g, "b"), "color": colors.get(g, NO_COLOR)}
            for g in cols_axis
        ],
        "matrix": matrix,
        "col_totals": [sum(counts.get((ga, gb), 0) for ga in rows_axis) for gb in cols_axis],
        "grand_total": sum(counts.values()),
        "in_both": sum(both.values()),
        "up": sum(n for (ga, gb), n in graded.items() if rank[gb] < rank[ga]),
        "down": sum(n for (ga, gb), n in graded.items() if rank[gb] > rank[ga]),
        "same": sum(n for (ga, gb), n in both.items() if ga == gb),
        "only_a": sum(n for (ga, gb), n in counts.items() if gb == ABSENT),
        "only_b": sum(n for (ga, gb), n in counts.items() if ga == ABSENT),
    }
