"""Manual ratings as the engine reads them: only approved ratings, one row per rater
(the engine takes the mean when several raters scored the same indicator)."""

from __future__ import annotations

from pingji.web.ratings.models import Rating


def approved_rows(scheme, period: str) -> list[dict]:
    """Return the approved ratings of `scheme` for `period` as rows of the ratings table."""
    rows = (
        Rating.objects.filter(scheme=scheme, period=period, status=Rating.Status.APPROVED)
        .select_related("rater", "department")
        .order_by("entity_id", "indicator", "rater_id")
    )
    return [
        {
            "entity_id": r.entity_id,
            "period": r.period,
            "indicator": r.indicator,
            "score": float(r.score),
            "rater": r.rater.get_username(),
            "department": r.department.code if r.department else None,
        }
        for r in rows
    ]
