"""Rating at the speed of a spreadsheet: a page of cells saved as drafts in one transaction,
"submit all", the rater's progress and what is waiting for them (with deadlines), the next
cell to rate, blind rating and outliers among raters.

No HTTP here (the views and the reminder command call these). Every change is audited, in
bulk: one query per kind of change, never one per cell.

Rules, as docs/web.md states them:

- **Progress** counts the user's own cells: done = submitted or approved; drafts and
  returned ratings are still to do.
- **Blind rating** (per assignment): a rater of that department does not see other raters'
  scores of a cell until their own rating of it has been submitted (it stays visible after a
  return). Readers of every department (analysts, viewers, admins) always see everything.
- **Outlier**: a submitted or approved score x of a cell is flagged when at least one other
  rater has submitted or approved one and |x − mean of the others| > max(2 · sd of the
  others, 20 % of the indicator's scale) — sd being the population standard deviation (0 with
  one other rater, so then only the 20 % counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from statistics import fmean, pstdev

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pingji.web.lib.access import department_of
from pingji.web.lib.audit import record_many
from pingji.web.ratings import data
from pingji.web.ratings.indicators import (
    ManualIndicator,
    RatedScheme,
    current_period,
    number_text,
    rated_schemes,
)
from pingji.web.ratings.models import Assignment, Rating
from pingji.web.ratings.services import RatingRefused, Scope, sees_all

OUTLIER_SDS = 2  # standard deviations of the other raters' scores
OUTLIER_SCALE_SHARE = 0.2  # … or this share of the scale, whichever is larger

Key = tuple[str, str]  # (entity id, indicator code)


# ------------------------------------------------------------------------------ outliers


def is_outlier(score, others: Iterable, lo, hi) -> bool:
    """Return whether `score` is far from the mean of `others` (the module's rule)."""
    values = [float(v) for v in others]
    if not values:
        return False
    limit = max(OUTLIER_SDS * pstdev(values), OUTLIER_SCALE_SHARE * float(Decimal(hi) - lo))
    return abs(float(score) - fmean(values)) > limit


def outliers(
    ratings: Iterable[Rating], indicators: Mapping[int, Mapping[str, ManualIndicator]]
) -> dict[int, float]:
    """Return {rating id: mean of the other raters} for those of `ratings` that are outliers.

    `indicators` is {scheme id: {code: ManualIndicator}} (the scales); a rating whose
    indicator is no longer in its scheme is never flagged. One query for all the cells."""
    ratings = [r for r in ratings if r.status in _COUNTED]
    if not ratings:
        return {}
    cells = {(r.scheme_id, r.indicator, r.entity_id, r.period) for r in ratings}
    by_cell: dict[tuple, list[Rating]] = {}
    for other in Rating.objects.filter(
        scheme_id__in={c[0] for c in cells},
        indicator__in={c[1] for c in cells},
        entity_id__in={c[2] for c in cells},
        period__in={c[3] for c in cells},
        status__in=_COUNTED,
    ).only("pk", "scheme_id", "indicator", "entity_id", "period", "rater_id", "score"):
        key = (other.scheme_id, other.indicator, other.entity_id, other.period)
        if key in cells:
            by_cell.setdefault(key, []).append(other)
    flagged: dict[int, float] = {}
    for r in ratings:
        ind = indicators.get(r.scheme_id, {}).get(r.indicator)
        if ind is None:
            continue
        key = (r.scheme_id, r.indicator, r.entity_id, r.period)
        others = [o.score for o in by_cell.get(key, []) if o.rater_id != r.rater_id]
        if is_outlier(r.score, others, ind.lo, ind.hi):
            flagged[r.pk] = round(fmean(float(o) for o in others), 2)
    return flagged


_COUNTED = (Rating.Status.SUBMITTED, Rating.Status.APPROVED)


# --------------------------------------------------------------------------------- blind


def blind_indicators(user, rated: RatedScheme) -> set[str]:
    """Return the indicators of `rated` that `user` rates blind (their department's
    assignment says so; never for readers of every department)."""
    department = department_of(user)
    if department is None or sees_all(user):
        return set()
    return set(
        Assignment.objects.filter(
            scheme=rated.scheme, department=department, blind=True
        ).values_list("indicator", flat=True)
    )


def hides_others(blind: set[str], indicator: str, own: Rating | None) -> bool:
    """Whether other raters' scores of a cell are hidden: a blind indicator and the user's
    own rating not yet submitted."""
    return indicator in blind and (own is None or own.submitted_at is None)


# ------------------------------------------------------------------------------ progress


@dataclass(frozen=True)
class Progress:
    """The user's cells of one scheme and period: how many there are and how far they are."""

    cells: int
    counts: Mapping[str, int]

    @property
    def done(self) -> int:
        """Cells whose rating is submitted or approved."""
        return self.counts.get("submitted", 0) + self.counts.get("approved", 0)

    @property
    def pending(self) -> int:
        """Cells still to submit: empty, draft or returned."""
        return self.cells - self.done

    @property
    def percent(self) -> int:
        """Whole percent done, rounded down (100 only when every cell is done)."""
        return self.done * 100 // self.cells if self.cells else 0


def progress_of(grid: data.Grid) -> Progress:
    """Return the progress that a grid's counts describe."""
    return Progress(cells=grid.cells, counts=dict(grid.counts))


def own_statuses(user, rated: RatedScheme, period: str, indicators: Iterable[str]):
    """Return (entity id, indicator, status) of the user's own ratings."""
    return list(
        Rating.objects.filter(
            scheme=rated.scheme, period=period, rater=user, indicator__in=list(indicators)
        ).values_list("entity_id", "indicator", "status")
    )


@dataclass(frozen=True)
class Waiting:
    """What one rater has to rate in one scheme and period, and by when."""

    rated: RatedScheme
    period: str
    progress: Progress
    deadline: date | None

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and self.deadline < timezone.localdate()

    @property
    def days_left(self) -> int | None:
        return None if self.deadline is None else (self.deadline - timezone.localdate()).days


def waiting_for(user, schemes: list[RatedScheme] | None = None) -> list[Waiting]:
    """Return, per scheme and period assigned to the user's department, the user's progress
    and the earliest deadline (only where something is assigned and the user may rate).

    The period is the assignment's (blank: the period containing today)."""
    department = department_of(user)
    if department is None or not user.has_perm("ratings.add_rating"):
        return []
    mine = list(Assignment.objects.filter(department=department))
    if not mine:
        return []
    by_scheme = {r.scheme.pk: r for r in (schemes if schemes is not None else rated_schemes())}
    groups: dict[tuple[int, str], list[Assignment]] = {}
    for a in mine:
        rated = by_scheme.get(a.scheme_id)
        if rated is None or a.indicator not in rated.indicators:
            continue
        period = a.period or current_period(rated.kind)
        groups.setdefault((a.scheme_id, period), []).append(a)
    out = []
    for (scheme_id, period), assignments in groups.items():
        rated = by_scheme[scheme_id]
        assigned = {
            a.indicator: (None if a.for_all else [str(i) for i in a.entity_ids])
            for a in assignments
        }
        grid = data.grid(
            rated.scheme.entity,
            assigned,
            own_statuses(user, rated, period, assigned),
            limit=0,
        )
        deadlines = [a.deadline for a in assignments if a.deadline is not None]
        out.append(Waiting(rated, period, progress_of(grid), min(deadlines, default=None)))
    out.sort(key=lambda w: (w.deadline is None, w.deadline or date.max, w.rated.scheme.code))
    return out


def next_cell(
    user, rated: RatedScheme, scope: Scope, period: str, entity_id: str, indicator: str
) -> str | None:
    """Return the next entity (by id, wrapping round) whose `indicator` the user still has
    to submit, or None when every other one is submitted or approved."""
    if indicator not in scope.assigned:
        return None
    statuses = [
        s
        for s in own_statuses(user, rated, period, [indicator])
        if s[2] in _COUNTED  # drafts and returned ratings are still to do
    ]
    assigned = {indicator: scope.assigned[indicator]}
    for after in (entity_id, ""):
        grid = data.grid(
            rated.scheme.entity, assigned, statuses, status="empty", after=after, limit=2
        )
        for candidate, _name in grid.entities:
            if candidate != entity_id:
                return candidate
    return None


# ------------------------------------------------------------------------ saving a page


@dataclass
class SheetResult:
    """What saving a page of the sheet did, or why it did nothing (`errors` per cell)."""

    errors: dict[Key, str] = field(default_factory=dict)
    saved: int = 0  # cells created or changed as drafts
    cleared: int = 0  # drafts removed because their cell was emptied
    submitted: int = 0
    not_submitted: int = 0  # drafts that could not be submitted (outside the scale)


def parse_value(indicator: ManualIndicator, text: str) -> tuple[Decimal | None, str]:
    """Return (score, error) for a typed value: a number within the scale, or why not."""
    try:
        score = Decimal(text.replace(",", "").replace(",", "").strip())
    except InvalidOperation:
        score = None
    if score is None or not score.is_finite():
        return None, _("“%(text)s”不是数字；允许 %(lo)s 至 %(hi)s") % {
            "text": text,
            "lo": number_text(indicator.lo),
            "hi": number_text(indicator.hi),
        }
    if not indicator.contains(score):
        return None, _("%(score)s 超出量表；允许 %(lo)s 至 %(hi)s") % {
            "score": number_text(score),
            "lo": number_text(indicator.lo),
            "hi": number_text(indicator.hi),
        }
    if score.as_tuple().exponent < -4 or score.adjusted() >= 16:
        return None, _("最多 4 位小数、16 位整数")
    return score, ""


def save_sheet(
    user,
    rated: RatedScheme,
    scope: Scope,
    period: str,
    values: Mapping[Key, str],
    submit_all: bool = False,
) -> SheetResult:
    """Save the typed values of one page of cells as the user's drafts, all or nothing.

    `values` maps (entity id, indicator) to the text typed in the cell; an empty text clears
    a draft. A value that is not a number within the scale is an error at its cell and
    nothing is saved. A cell the user may not rate, or whose rating was already submitted,
    is refused (PermissionDenied); a save that crosses another one of the same cells is
    refused (RatingRefused), nothing saved. With `submit_all`, every draft and returned rating of the
    user in this scheme and period (all pages) is then submitted, in the same transaction."""
    result = SheetResult()
    parsed: dict[Key, Decimal | None] = {}
    for (entity_id, code), text in values.items():
        if not scope.rates(code, entity_id):
            raise PermissionDenied(_("此单元格未分配给您的部门"))
        text = (text or "").strip()
        if not text:
            parsed[(entity_id, code)] = None
            continue
        score, error = parse_value(rated.indicators[code], text)
        if error:
            result.errors[(entity_id, code)] = error
        parsed[(entity_id, code)] = score
    if result.errors:
        return result
    known = data.entity_names(rated.scheme.entity, {e for e, _c in parsed})
    unknown = sorted({e for e, _c in parsed} - set(known))
    if unknown:
        raise PermissionDenied(_("评价对象 %(ids)s 不在数据中") % {"ids": ", ".join(unknown[:5])})
    try:
        _save(user, rated, scope, period, parsed, submit_all, result)
    except IntegrityError:  # another request created one of these cells meanwhile
        raise RatingRefused(_("同一时间另有一次保存，本页未保存；请再保存一次。")) from None
    return result


def _save(user, rated, scope, period, parsed, submit_all, result: SheetResult) -> None:
    """Write one page of parsed values (the transaction of save_sheet)."""
    department = department_of(user)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (r.entity_id, r.indicator): r
            for r in Rating.objects.select_for_update().filter(
                scheme=rated.scheme,
                period=period,
                rater=user,
                entity_id__in={e for e, _c in parsed},
                indicator__in={c for _e, c in parsed},
            )
        }
        created: list[Rating] = []
        changed: list[tuple[Rating, dict]] = []
        removed: list[Rating] = []
        for key, score in parsed.items():
            rating = existing.get(key)
            if rating is not None and not rating.is_editable:
                if score is not None and score == rating.score:
                    continue  # the value shown, unchanged
                raise PermissionDenied(
                    _("评分已%(status)s，不能再修改") % {"status": rating.get_status_display()}
                )
            if score is None:
                if rating is not None and rating.status == Rating.Status.DRAFT:
                    removed.append(rating)
                continue
            if rating is None:
                entity_id, code = key
                created.append(
                    Rating(
                        scheme=rated.scheme,
                        indicator=code,
                        entity_id=entity_id,
                        period=period,
                        rater=user,
                        department=department,
                        score=score,
                        status=Rating.Status.DRAFT,
                    )
                )
            elif rating.score != score:  # a returned rating left as it was stays returned
                before = rating.snapshot()
                rating.score = score
                rating.status = Rating.Status.DRAFT
                rating.department = department
                rating.updated_at = now
                changed.append((rating, before))
        if created:
            created = Rating.objects.bulk_create(created, batch_size=500)
        if changed:
            Rating.objects.bulk_update(
                [r for r, _b in changed],
                ["score", "status", "department", "updated_at"],
                batch_size=500,
            )
        if removed:
            Rating.objects.filter(pk__in=[r.pk for r in removed]).delete()
        record_many(
            user,
            [("rating.save", r, None, r.snapshot()) for r in created]
            + [("rating.save", r, before, r.snapshot()) for r, before in changed]
            + [("rating.delete", r, r.snapshot(), None) for r in removed],
        )
        result.saved = len(created) + len(changed)
        result.cleared = len(removed)
        if submit_all:
            result.submitted, result.not_submitted = _submit_all(user, rated, scope, period, now)


def _submit_all(user, rated: RatedScheme, scope: Scope, period: str, now) -> tuple[int, int]:
    """Submit the user's drafts and returned ratings of the assigned cells; return (how
    many were submitted, how many were not: outside the scale of the published version)."""
    editable = [
        r
        for r in Rating.objects.select_for_update().filter(
            scheme=rated.scheme,
            period=period,
            rater=user,
            indicator__in=list(scope.assigned),
            status__in=(Rating.Status.DRAFT, Rating.Status.REJECTED),
        )
        if scope.rates(r.indicator, r.entity_id)
    ]
    ready, left = [], 0
    for r in editable:
        if rated.indicators[r.indicator].contains(r.score):
            ready.append((r, r.snapshot()))
        else:
            left += 1
    for r, _before in ready:
        r.status = Rating.Status.SUBMITTED
        r.submitted_at = now
        r.updated_at = now
    Rating.objects.bulk_update(
        [r for r, _b in ready], ["status", "submitted_at", "updated_at"], batch_size=500
    )
    record_many(user, [("rating.submit", r, before, r.snapshot()) for r, before in ready])
    return len(ready), left


def page_ratings(user, rated: RatedScheme, period: str, keys: Iterable[Key]) -> dict[Key, Rating]:
    """Return the user's own ratings of the given cells (one query)."""
    keys = set(keys)
    if not keys:
        return {}
    return {
        (r.entity_id, r.indicator): r
        for r in Rating.objects.filter(
            scheme=rated.scheme,
            period=period,
            rater=user,
            entity_id__in={e for e, _c in keys},
            indicator__in={c for _e, c in keys},
        )
        if (r.entity_id, r.indicator) in keys
    }
