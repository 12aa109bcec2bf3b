"""Manual ratings: who may see and rate which cells, the rating life cycle
(draft → submitted → approved, or rejected back to the rater), assignments, and the rows
the engine reads (only approved ratings, one row per rater: the engine takes the mean).

Views and the API call these; no HTTP here. Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from pingji.web.lib.access import department_of
from pingji.web.lib.audit import record
from pingji.web.ratings.indicators import ManualIndicator, RatedScheme, number_text
from pingji.web.ratings.models import Assignment, Rating
from pingji.web.schemes.models import Scheme


class RatingRefused(ValueError):
    """A rating or a decision cannot be made as asked; nothing was changed."""


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


# ------------------------------------------------------------------------------ access


def sees_all(user) -> bool:
    """Whether the user reads every department's ratings (analysts, viewers, admins)."""
    return user.has_perm("ratings.view_assignment")


def can_review(user) -> bool:
    return user.has_perm("ratings.approve_rating")


@dataclass(frozen=True)
class Scope:
    """What one user may see and rate in one scheme.

    `assigned` maps each indicator assigned to the user's department to its entity ids
    (None: every entity). `visible` is what the user sees: everything for readers of all
    departments, else the assigned cells only."""

    everything: bool
    may_rate: bool
    assigned: dict[str, list[str] | None]
    indicators: dict[str, ManualIndicator]

    @property
    def visible(self) -> dict[str, list[str] | None]:
        if self.everything:
            return {code: None for code in self.indicators}
        return self.assigned

    def covers(self, indicator: str, entity_id: str) -> bool:
        """Whether the cell is assigned to the user's department."""
        if indicator not in self.assigned:
            return False
        ids = self.assigned[indicator]
        return ids is None or entity_id in ids

    def sees(self, indicator: str, entity_id: str) -> bool:
        return indicator in self.indicators and (
            self.everything or self.covers(indicator, entity_id)
        )

    def rates(self, indicator: str, entity_id: str) -> bool:
        return self.may_rate and self.covers(indicator, entity_id)


def scope_for(user, rated: RatedScheme) -> Scope:
    """Return what `user` may see and rate in `rated` (a scheme with manual indicators)."""
    department = department_of(user)
    assigned: dict[str, list[str] | None] = {}
    if department is not None:
        for a in Assignment.objects.filter(scheme=rated.scheme, department=department):
            if a.indicator in rated.indicators:
                assigned[a.indicator] = None if a.for_all else [str(i) for i in a.entity_ids]
    return Scope(
        everything=sees_all(user),
        may_rate=user.has_perm("ratings.add_rating") and department is not None,
        assigned=dict(sorted(assigned.items(), key=lambda kv: list(rated.indicators).index(kv[0]))),
        indicators=rated.indicators,
    )


# ------------------------------------------------------------------------ life cycle


def check_scale(indicator: ManualIndicator, score: Decimal) -> None:
    """Refuse a score outside the indicator's scale (the bounds themselves are fine)."""
    if not indicator.contains(score):
        raise RatingRefused(
            _("分值 %(score)s 超出量表 %(scale)s")
            % {"score": number_text(score), "scale": indicator.scale_text}
        )


@transaction.atomic
def save_rating(
    user,
    rated: RatedScheme,
    indicator: ManualIndicator,
    entity_id: str,
    period: str,
    score: Decimal,
    comment: str = "",
    submit: bool = False,
) -> Rating:
    """Save the user's own rating of one cell as a draft, or submit it for approval.

    Refuses (RatingRefused) a score outside the scale; refuses (PermissionDenied) to change
    a rating already submitted or approved. A rejected rating becomes a draft again (or is
    submitted anew)."""
    check_scale(indicator, score)
    rating = (
        Rating.objects.select_for_update()
        .filter(
            scheme=rated.scheme,
            indicator=indicator.code,
            entity_id=entity_id,
            period=period,
            rater=user,
        )
        .first()
    )
    before = None
    if rating is not None:
        if not rating.is_editable:
            raise PermissionDenied(
                _("评分已%(status)s，不能再修改") % {"status": rating.get_status_display()}
            )
        before = rating.snapshot()
    else:
        rating = Rating(
            scheme=rated.scheme,
            indicator=indicator.code,
            entity_id=entity_id,
            period=period,
            rater=user,
        )
    rating.score = score
    rating.comment = comment
    rating.department = department_of(user)
    if submit:
        rating.status = Rating.Status.SUBMITTED
        rating.submitted_at = timezone.now()
    else:
        rating.status = Rating.Status.DRAFT
    rating.save()
    record(
        user,
        "rating.submit" if submit else "rating.save",
        rating,
        before=before,
        after=rating.snapshot(),
    )
    return rating


@dataclass
class Decision:
    """What a review decision did."""

    done: list[Rating]
    skipped: list[tuple[Rating, str]]  # (rating, why)


def decide(
    user, ratings: Iterable[Rating], approve: bool, note: str = "", indicators=None
) -> Decision:
    """Approve or reject ratings. Only submitted ratings can be approved; submitted or
    approved ones can be rejected (with a note). Nobody decides on their own rating.
    `indicators` ({scheme id: {code: ManualIndicator}}) re-checks scales before approving.

    Each rating is decided (and audited) on its own; those that cannot be are skipped with
    the reason."""
    if not can_review(user):
        raise PermissionDenied(_("只有分析师或管理员可以审批评分"))
    note = note.strip()
    if not approve and not note:
        raise RatingRefused(_("退回评分时请填写审核意见。"))
    done: list[Rating] = []
    skipped: list[tuple[Rating, str]] = []
    allowed = (
        (Rating.Status.SUBMITTED,) if approve else (Rating.Status.SUBMITTED, Rating.Status.APPROVED)
    )
    with transaction.atomic():
        locked = Rating.objects.select_for_update().filter(pk__in=[r.pk for r in ratings])
        for rating in locked.select_related("scheme", "rater").order_by("pk"):
            if rating.rater_id == user.pk:
                skipped.append((rating, _("不能审批自己的评分")))
                continue
            if rating.status not in allowed:
                skipped.append(
                    (rating, _("状态为“%(status)s”") % {"status": rating.get_status_display()})
                )
                continue
            if approve and indicators is not None:
                ind = indicators.get(rating.scheme_id, {}).get(rating.indicator)
                if ind is None:
                    skipped.append((rating, _("方案的已发布版本中已没有此人工指标")))
                    continue
                if not ind.contains(rating.score):
                    skipped.append(
                        (rating, _("分值超出量表 %(scale)s") % {"scale": ind.scale_text})
                    )
                    continue
            before = rating.snapshot()
            rating.status = Rating.Status.APPROVED if approve else Rating.Status.REJECTED
            rating.reviewed_by = user
            rating.reviewed_at = timezone.now()
            rating.review_note = note
            rating.save()
            record(
                user,
                "rating.approve" if approve else "rating.reject",
                rating,
                before=before,
                after=rating.snapshot(),
            )
            done.append(rating)
    return Decision(done, skipped)


_RANK = {"rejected": 1, "submitted": 2, "approved": 3}


def cell_statuses(
    user, rated: RatedScheme, period: str, scope: Scope
) -> list[tuple[str, str, str]]:
    """Return (entity id, indicator, status) of the cells that have a rating.

    For a rater: their own rating's status. For readers of everything: the most advanced
    status among every rater's ratings that left draft (approved > submitted > rejected);
    drafts belong to their rater alone."""
    qs = Rating.objects.filter(
        scheme=rated.scheme, period=period, indicator__in=list(scope.visible)
    )
    if not scope.everything:
        return list(qs.filter(rater=user).values_list("entity_id", "indicator", "status"))
    rank = Case(
        *[When(status=s, then=Value(n)) for s, n in _RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )
    by_rank = {n: s for s, n in _RANK.items()}
    rows = (
        qs.exclude(status=Rating.Status.DRAFT)
        .values("entity_id", "indicator")
        .annotate(best=Max(rank))
        .values_list("entity_id", "indicator", "best")
    )
    return [(e, i, by_rank[b]) for e, i, b in rows if b in by_rank]


def visible_ratings(user, qs):
    """Limit a Rating queryset to what `user` may read: drafts only to their rater."""
    from django.db.models import Q

    return qs.filter(~Q(status=Rating.Status.DRAFT) | Q(rater=user))


# ------------------------------------------------------------------------ assignments


def parse_entity_ids(text: str) -> list[str]:
    """Split a list of entity ids written one per line or separated by commas/spaces."""
    for sep in (",", ",", "、", ";", ";", "\t", "\r", "\n"):
        text = text.replace(sep, " ")
    return list(dict.fromkeys(t for t in text.split(" ") if t))


@transaction.atomic
def assign(
    user,
    scheme: Scheme,
    indicator: str,
    department,
    entity_ids: list[str],
    *,
    period: str = "",
    deadline=None,
    blind: bool = False,
) -> tuple[Assignment, bool]:
    """Assign an indicator of a scheme to a department (all entities when `entity_ids` is
    empty), with the period to rate now, its deadline and blind rating; an existing
    assignment of the same indicator and department is replaced.
    Returns the assignment and whether it was created."""
    existing = (
        Assignment.objects.select_for_update()
        .filter(scheme=scheme, indicator=indicator, department=department)
        .first()
    )
    if existing is None:
        a = Assignment.objects.create(
            scheme=scheme,
            indicator=indicator,
            department=department,
            entity_ids=entity_ids,
            period=period,
            deadline=deadline,
            blind=blind,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        record(user, "rating.assignment.create", a, after=_assignment_snapshot(a))
        return a, True
    before = _assignment_snapshot(existing)
    existing.entity_ids = entity_ids
    existing.period = period
    existing.deadline = deadline
    existing.blind = blind
    existing.save()
    record(
        user,
        "rating.assignment.change",
        existing,
        before=before,
        after=_assignment_snapshot(existing),
    )
    return existing, False


def unassign(user, assignment: Assignment) -> None:
    """Remove an assignment (the ratings already entered stay)."""
    before = _assignment_snapshot(assignment)
    record(user, "rating.assignment.delete", assignment, before=before)
    assignment.delete()


def _assignment_snapshot(a: Assignment) -> dict:
    return {
        "scheme": a.scheme.code,
        "indicator": a.indicator,
        "department": a.department.code,
        "entity_ids": list(a.entity_ids),
        "period": a.period,
        "deadline": a.deadline.isoformat() if a.deadline else None,
        "blind": a.blind,
    }
