"""Manual ratings pages: the rater's worklist, the rating form of one cell (entity ×
indicator × period), the analyst's review (approve / reject, singly or in bulk) and the
assignments of manual indicators to departments.

Access: no `ratings.view_rating` → 404 everywhere. Raters see only the cells assigned to
their department (others → 404) and rate them; analysts, viewers and admins read every
department's ratings; analysts and admins review and assign; viewers change nothing (403).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pingji.errors import BadInput
from pingji.web.accounts.models import Department
from pingji.web.lib.params import page_number, record_ids
from pingji.web.ratings import data, services
from pingji.web.ratings.forms import AssignmentForm, RatingForm
from pingji.web.ratings.indicators import (
    ManualIndicator,
    RatedScheme,
    current_period,
    number_text,
    rated_scheme,
    rated_schemes,
    recent_periods,
)
from pingji.web.ratings.models import Assignment, Rating
from pingji.web.ratings.services import (
    RatingRefused,
    Scope,
    assign,
    can_review,
    cell_statuses,
    save_rating,
    scope_for,
    sees_all,
    unassign,
    visible_ratings,
)
from pingji.web.schemes.models import Scheme

PAGE_SIZE = 50
STATUS_LABELS = {
    "empty": gettext_lazy("未评分"),
    "draft": gettext_lazy("草稿"),
    "submitted": gettext_lazy("已提交"),
    "approved": gettext_lazy("已批准"),
    "rejected": gettext_lazy("已退回"),
}


def _status_labels() -> dict[str, str]:
    return {k: str(v) for k, v in STATUS_LABELS.items()}


def _need_reader(request: HttpRequest) -> None:
    """Everything here needs `ratings.view_rating`; without it the pages do not exist."""
    if not request.user.has_perm("ratings.view_rating"):
        raise Http404


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --------------------------------------------------------------------------- fetching


def _visible_schemes(request: HttpRequest) -> list[tuple[RatedScheme, Scope]]:
    """The schemes with manual indicators the user sees (raters: those assigned to them)."""
    out = []
    for rated in rated_schemes():
        scope = scope_for(request.user, rated)
        if scope.visible:
            out.append((rated, scope))
    return out


def _get_scheme_for_user(request: HttpRequest, code: str) -> tuple[RatedScheme, Scope]:
    """A published scheme with manual indicators that the user sees, and their scope."""
    _need_reader(request)
    scheme = Scheme.objects.filter(code=code).first()
    rated = rated_scheme(scheme) if scheme is not None else None
    if rated is None:
        raise Http404
    scope = scope_for(request.user, rated)
    if not scope.visible:
        raise Http404
    return rated, scope


@dataclass
class Cell:
    """One entity × one manual indicator × one period, as one user sees it."""

    rated: RatedScheme
    scope: Scope
    indicator: ManualIndicator
    period: str
    entity_id: str
    entity_name: str | None
    own: Rating | None

    @property
    def rates(self) -> bool:
        """Whether the user may enter their rating here (assigned to their department)."""
        return self.scope.rates(self.indicator.code, self.entity_id)

    @property
    def editable(self) -> bool:
        return self.rates and (self.own is None or self.own.is_editable)

    @property
    def url(self) -> str:
        return reverse(
            "ratings:cell",
            args=[self.rated.scheme.code, self.period, self.entity_id, self.indicator.code],
        )


def _get_cell_for_user(
    request: HttpRequest, code: str, period: str, entity_id: str, indicator: str, write=False
) -> Cell:
    """The cell if the user may see it (else 404); with write=True, also may rate it (403)."""
    rated, scope = _get_scheme_for_user(request, code)
    try:
        period = rated.parse_period(period)
    except BadInput:
        raise Http404 from None
    if not scope.sees(indicator, entity_id):
        raise Http404
    cell_ratings = Rating.objects.filter(
        scheme=rated.scheme, indicator=indicator, entity_id=entity_id, period=period
    )
    names = data.entity_names(rated.scheme.entity, [entity_id])
    if entity_id not in names and not cell_ratings.exists():
        raise Http404
    if write and not scope.rates(indicator, entity_id):
        raise PermissionDenied
    return Cell(
        rated=rated,
        scope=scope,
        indicator=rated.indicators[indicator],
        period=period,
        entity_id=entity_id,
        entity_name=names.get(entity_id),
        own=cell_ratings.filter(rater=request.user).first(),
    )


def _get_ratings_for_user(request: HttpRequest, ids: list[str], write=False) -> list[Rating]:
    """Ratings by id that the user may read (404 if none); with write=True, may review (403)."""
    _need_reader(request)
    if write and not can_review(request.user):
        raise PermissionDenied
    wanted = record_ids(ids)
    qs = visible_ratings(request.user, Rating.objects.filter(pk__in=wanted))
    if not sees_all(request.user):
        qs = qs.filter(rater=request.user)
    found = list(qs)
    if not found:
        raise Http404
    return found


def _get_assignment_for_user(request: HttpRequest, assignment_id: int, write=False) -> Assignment:
    _need_reader(request)
    if write and not request.user.has_perm("ratings.delete_assignment"):
        raise PermissionDenied
    if not request.user.has_perm("ratings.view_assignment"):
        raise Http404
    try:
        return Assignment.objects.select_related("scheme", "department").get(pk=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404 from None


# --------------------------------------------------------------------------- worklist


def _period_of(request: HttpRequest, rated: RatedScheme) -> str:
    text = request.GET.get("period", "").strip()
    if not text:
        return current_period(rated.kind)
    try:
        return rated.parse_period(text)
    except BadInput as exc:
        messages.error(request, _("期间“%(text)s”无效：%(why)s") % {"text": text, "why": exc})
        return current_period(rated.kind)


def _page_number(request: HttpRequest) -> int:
    return page_number(request.GET.get("page"))


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return fmean(values) if values else None


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """The grid of entities × manual indicators for one scheme and period."""
    _need_reader(request)
    schemes = _visible_schemes(request)
    code = request.GET.get("scheme") or (schemes[0][0].scheme.code if schemes else "")
    context: dict = {"schemes": [r for r, _s in schemes], "status_labels": _status_labels()}
    if not code:
        return render(request, "ratings/worklist.html", context)
    rated, scope = _get_scheme_for_user(request, code)
    period = _period_of(request, rated)
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in STATUS_LABELS:
        status = ""
    page = _page_number(request)
    indicators = [rated.indicators[c] for c in scope.visible]
    grid = data.grid(
        rated.scheme.entity,
        scope.visible,
        cell_statuses(request.user, rated, period, scope),
        search=search,
        status=status,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, math.ceil(grid.matching / PAGE_SIZE))
    rows = _grid_rows(request, rated, scope, period, grid.entities, indicators)
    used_periods = (
        Rating.objects.filter(scheme=rated.scheme).values_list("period", flat=True).distinct()
    )
    context.update(
        {
            "rated": rated,
            "scope": scope,
            "period": period,
            "periods": recent_periods(rated.kind, [*used_periods, period]),
            "indicators": indicators,
            "grid": grid,
            "rows": rows,
            "search": search,
            "status": status,
            "page": page,
            "pages": pages,
            "entity_label": rated.entity_label,
            # rounded down: 100 % only when every cell is submitted or approved
            "percent_done": grid.done * 100 // grid.cells if grid.cells else 0,
        }
    )
    return render(request, "ratings/worklist.html", context)


def _grid_rows(request, rated, scope, period, entities, indicators) -> list[dict]:
    """The cells of one page: per entity, per indicator, what the user sees."""
    ids = [e for e, _n in entities]
    ratings = visible_ratings(
        request.user,
        Rating.objects.filter(
            scheme=rated.scheme,
            period=period,
            entity_id__in=ids,
            indicator__in=[i.code for i in indicators],
        ),
    ).select_related("rater")
    by_cell: dict[tuple[str, str], list[Rating]] = {}
    for r in ratings:  # the ratings of one page of cells
        by_cell.setdefault((r.entity_id, r.indicator), []).append(r)
    rows = []
    for entity_id, name in entities:
        cells = []
        for ind in indicators:
            if not scope.sees(ind.code, entity_id):
                cells.append({"code": ind.code, "shown": False})
                continue
            here = by_cell.get((entity_id, ind.code), [])
            own = next((r for r in here if r.rater_id == request.user.pk), None)
            approved = [r.score for r in here if r.status == Rating.Status.APPROVED]
            cells.append(
                {
                    "code": ind.code,
                    "shown": True,
                    "rates": scope.rates(ind.code, entity_id),
                    "own": own,
                    "status": own.status if own else "empty",
                    "approved": len(approved),
                    "approved_mean": _mean(approved),
                    "submitted": sum(1 for r in here if r.status == Rating.Status.SUBMITTED),
                    "rejected": sum(1 for r in here if r.status == Rating.Status.REJECTED),
                    "url": reverse(
                        "ratings:cell", args=[rated.scheme.code, period, entity_id, ind.code]
                    ),
                }
            )
        rows.append({"id": entity_id, "name": name, "cells": cells})
    return rows


# ------------------------------------------------------------------------- one cell


@require_http_methods(["GET", "POST"])
def cell(request: HttpRequest, scheme: str, period: str, entity_id: str, indicator: str):
    """The rating form of one cell: the rule in words, the scale, every rater's rating."""
    c = _get_cell_for_user(
        request, scheme, period, entity_id, indicator, write=request.method == "POST"
    )
    form = None
    if request.method == "POST":
        if not c.editable:
            raise PermissionDenied
        form = RatingForm(request.POST, indicator=c.indicator)
        if form.is_valid():
            submit = "submit" in request.POST
            try:
                save_rating(
                    request.user,
                    c.rated,
                    c.indicator,
                    c.entity_id,
                    c.period,
                    form.cleaned_data["score"],
                    form.cleaned_data["comment"],
                    submit=submit,
                )
            except RatingRefused as exc:
                form.add_error("score", str(exc))
            else:
                messages.success(
                    request,
                    _("评分已提交，等待审批。") if submit else _("评分草稿已保存。"),
                )
                if "save_next" in request.POST:
                    return redirect(_next_cell_url(request, c))
                return redirect(_next_url(request, _worklist_url(c)))
    elif c.editable:
        initial = {"score": number_text(c.own.score), "comment": c.own.comment} if c.own else None
        form = RatingForm(initial=initial, indicator=c.indicator)
    return render(request, "ratings/cell.html", _cell_context(request, c, form))


def _next_cell_url(request: HttpRequest, c: Cell) -> str:
    """The form of the next entity the user still has to submit for the same indicator
    ("save and next"); the worklist when there is none."""
    from pingji.web.ratings.sheet import next_cell

    following = next_cell(request.user, c.rated, c.scope, c.period, c.entity_id, c.indicator.code)
    back = _next_url(request, _worklist_url(c))
    if following is None:
        messages.info(request, _("此指标的评分已全部提交。"))
        return back
    url = reverse("ratings:cell", args=[c.rated.scheme.code, c.period, following, c.indicator.code])
    return f"{url}?{urlencode({'next': back})}"


def _worklist_url(c: Cell) -> str:
    query = urlencode({"scheme": c.rated.scheme.code, "period": c.period})
    return f"{reverse('ratings:worklist')}?{query}"


def _cell_context(request: HttpRequest, c: Cell, form) -> dict:
    ratings = list(
        visible_ratings(
            request.user,
            Rating.objects.filter(
                scheme=c.rated.scheme,
                indicator=c.indicator.code,
                entity_id=c.entity_id,
                period=c.period,
            ),
        )
        .select_related("rater", "department", "reviewed_by")
        .order_by("created_at", "pk")
    )
    from pingji.web.ratings.sheet import blind_indicators, hides_others, outliers

    blind = hides_others(blind_indicators(request.user, c.rated), c.indicator.code, c.own)
    if blind:  # blind rating: no other rater's score before the user's own is submitted
        ratings = [r for r in ratings if r.rater_id == request.user.pk]
    far = (
        outliers(ratings, {c.rated.scheme.pk: c.rated.indicators})
        if can_review(request.user)
        else {}
    )
    for r in ratings:
        r.others_mean = far.get(r.pk)  # shown to approvers next to an outlier
    approved = [r.score for r in ratings if r.status == Rating.Status.APPROVED]
    imported = [] if blind else data.imported_ratings(c.entity_id, c.period, c.indicator.code)
    used = [float(s) for s in approved] + [r["score"] for r in imported if r["score"] is not None]
    worklist_url = _worklist_url(c)
    return {
        "c": c,
        "form": form,
        "blind": blind,
        "ratings": ratings,
        "approved_mean": _mean(approved),
        "approved_count": len(approved),
        "imported": imported,
        "run_mean": _mean(used),
        "run_count": len(used),
        "can_review": can_review(request.user),
        "next": _next_url(request, worklist_url),
        "worklist_url": worklist_url,
        "entity_label": c.rated.entity_label,
        "lo": number_text(c.indicator.lo),
        "hi": number_text(c.indicator.hi),
    }


# --------------------------------------------------------------------------- review


REVIEW_STATUSES = ("submitted", "approved", "rejected")


@require_GET
def review(request: HttpRequest) -> HttpResponse:
    """Ratings to approve (submitted by default), filtered by scheme, period, department."""
    _need_reader(request)
    if not sees_all(request.user):
        raise Http404
    schemes = {r.scheme.code: r for r in rated_schemes()}
    f = {k: request.GET.get(k, "").strip() for k in ("scheme", "period", "department", "q")}
    status = request.GET.get("status", "submitted")
    qs = Rating.objects.exclude(status=Rating.Status.DRAFT).select_related(
        "scheme", "rater", "department", "reviewed_by"
    )
    if f["scheme"]:
        qs = qs.filter(scheme__code=f["scheme"])
    if f["period"]:
        qs = qs.filter(period=f["period"])
    if f["department"]:
        qs = qs.filter(department__code=f["department"])
    if f["q"]:
        qs = qs.filter(entity_id__icontains=f["q"])
    counts = {s: 0 for s in REVIEW_STATUSES}
    for s, n in qs.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n"):
        counts[s] = n
    if status in REVIEW_STATUSES:
        qs = qs.filter(status=status)
    else:
        status = ""
    qs = qs.order_by("submitted_at", "pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    names: dict[tuple[str, str], str | None] = {}
    by_table: dict[str, list[str]] = {}
    for r in rows:
        by_table.setdefault(r.scheme.entity, []).append(r.entity_id)
    for table, ids in by_table.items():
        for entity_id, name in data.entity_names(table, ids).items():
            names[(table, entity_id)] = name
    from pingji.web.ratings.sheet import outliers

    far = outliers(rows, {r.scheme.pk: r.indicators for r in schemes.values()})
    items = []
    for r in rows:
        rated = schemes.get(r.scheme.code)
        ind = rated.indicators.get(r.indicator) if rated else None
        items.append(
            {
                "r": r,
                "others_mean": far.get(r.pk),  # set only when the score is an outlier
                "name": names.get((r.scheme.entity, r.entity_id)),
                "indicator": ind,
                "in_scale": ind.contains(r.score) if ind else False,
                "url": reverse(
                    "ratings:cell", args=[r.scheme.code, r.period, r.entity_id, r.indicator]
                ),
            }
        )
    periods = sorted(set(Rating.objects.values_list("period", flat=True).distinct()), reverse=True)
    return render(
        request,
        "ratings/review.html",
        {
            "items": items,
            "page": page,
            "filters": f,
            "status": status,
            "counts": counts,
            "schemes": list(schemes.values()),
            "periods": periods,
            "departments": Department.objects.all(),
            "can_review": can_review(request.user),
            "status_labels": _status_labels(),
            "review_statuses": REVIEW_STATUSES,
        },
    )


@require_POST
def decide(request: HttpRequest) -> HttpResponse:
    """Approve or reject the checked ratings (or the one whose button was pressed)."""
    one = request.POST.get("approve_one") or request.POST.get("reject_one")
    ids = [one] if one else request.POST.getlist("ids")
    action = (
        "approve"
        if request.POST.get("approve_one")
        else "reject"
        if request.POST.get("reject_one")
        else request.POST.get("action", "")
    )
    back = _next_url(request, reverse("ratings:review"))
    if not ids:
        _need_reader(request)
        if not can_review(request.user):
            raise PermissionDenied
        messages.error(request, _("请先勾选要审批的评分。"))
        return redirect(back)
    ratings = _get_ratings_for_user(request, ids, write=True)
    if action not in ("approve", "reject"):
        messages.error(request, _("未知的操作。"))
        return redirect(back)
    schemes = {r.scheme.pk: r.indicators for r in rated_schemes()}
    try:
        result = services.decide(
            request.user,
            ratings,
            approve=action == "approve",
            note=request.POST.get("note", ""),
            indicators=schemes,
        )
    except RatingRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if result.done:
        text = _("已批准 %(n)d 条评分。") if action == "approve" else _("已退回 %(n)d 条评分。")
        messages.success(request, text % {"n": len(result.done)})
    for rating, why in result.skipped:
        messages.error(
            request,
            _("未处理 %(entity)s · %(indicator)s(%(rater)s):%(why)s")
            % {
                "entity": rating.entity_id,
                "indicator": rating.indicator,
                "rater": rating.rater.get_username(),
                "why": why,
            },
        )
    return redirect(back)


# ------------------------------------------------------------------------ assignments


@require_GET
def assignments(request: HttpRequest) -> HttpResponse:
    """Which department rates which manual indicator, for which entities."""
    _need_reader(request)
    if not request.user.has_perm("ratings.view_assignment"):
        raise Http404
    schemes = rated_schemes()
    return render(request, "ratings/assignments.html", _assignments_context(request, schemes))


def _assignments_context(request, schemes, form=None) -> dict:
    labels = {(r.scheme.pk, c): i.label for r in schemes for c, i in r.indicators.items()}
    rows = [
        {
            "a": a,
            "label": labels.get((a.scheme_id, a.indicator)),
            "preview": ", ".join(a.entity_ids[:8]) + (" …" if len(a.entity_ids) > 8 else ""),
        }
        for a in Assignment.objects.select_related("scheme", "department", "created_by")
    ]
    can_add = request.user.has_perm("ratings.add_assignment")
    if form is None and can_add:
        form = AssignmentForm(schemes=schemes)
    return {
        "rows": rows,
        "form": form,
        "can_add": can_add,
        "can_delete": request.user.has_perm("ratings.delete_assignment"),
        "has_schemes": bool(schemes),
        "has_departments": Department.objects.exists(),
    }


@require_POST
def assignment_add(request: HttpRequest) -> HttpResponse:
    """Add an assignment, or replace the entity list of an existing one."""
    _need_reader(request)
    if not request.user.has_perm("ratings.add_assignment"):
        raise PermissionDenied
    schemes = rated_schemes()
    form = AssignmentForm(request.POST, schemes=schemes)
    if form.is_valid():
        rated, indicator = form.cleaned_data["indicator"]
        ids = form.cleaned_data["entity_ids"]
        unknown = data.unknown_ids(rated.scheme.entity, ids) if ids else []
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            form.add_error(
                "entity_ids",
                _("%(n)d 个编号不在已导入的%(table)s数据中：%(ids)s")
                % {"n": len(unknown), "table": rated.entity_label, "ids": shown},
            )
        else:
            a, created = assign(
                request.user,
                rated.scheme,
                indicator,
                form.cleaned_data["department"],
                ids,
                period=form.cleaned_data["period"],
                deadline=form.cleaned_data["deadline"],
                blind=form.cleaned_data["blind"],
            )
            messages.success(
                request,
                (_("已添加评分分工：%(a)s") if created else _("已更新评分分工：%(a)s"))
                % {"a": f"{rated.indicators[indicator].label} → {a.department}"},
            )
            return redirect("ratings:assignments")
    return render(request, "ratings/assignments.html", _assignments_context(request, schemes, form))


@require_POST
def assignment_delete(request: HttpRequest, assignment_id: int) -> HttpResponse:
    a = _get_assignment_for_user(request, assignment_id, write=True)
    unassign(request.user, a)
    messages.success(request, _("已删除评分分工（已录入的评分保留）。"))
    return redirect("ratings:assignments")
