"""The rating sheet: a rater's cells as a spreadsheet — entities as rows, the indicators
assigned to their department as columns — typed with the keyboard, saved as drafts a page at
a time, and submitted all at once.

Access (the same helpers as the other ratings pages): no `ratings.view_rating` or a scheme
the user does not see → 404; readers who do not rate (analysts, viewers) are sent to the
worklist on GET and refused (403) on POST; other methods → 405.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pingji.errors import BadInput
from pingji.web.lib.access import department_of
from pingji.web.ratings import data, sheet
from pingji.web.ratings.indicators import RatedScheme, current_period, number_text
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.services import RatingRefused, Scope
from pingji.web.ratings.views import (
    _get_scheme_for_user,
    _need_reader,
    _page_number,
    _visible_schemes,
)

PAGE_SIZE = 50  # entities a page (fewer when many indicators: one POST stays below MAX_FIELDS)
MAX_FIELDS = 900  # Django refuses a POST of more than 1,000 fields (DATA_UPLOAD_MAX_NUMBER_FIELDS)
FIELD_PREFIX = "v|"  # a cell's input is named v|<indicator>|<entity id>


def _rates(scope: Scope) -> bool:
    return scope.may_rate and bool(scope.assigned)


def page_size(indicators: int) -> int:
    """Return how many entities a page of the sheet holds for that many indicator columns."""
    return max(1, min(PAGE_SIZE, MAX_FIELDS // max(1, indicators)))


def _sheet_period(request: HttpRequest, rated: RatedScheme, department) -> str:
    """The period asked for, else the one the department's assignment names, else today's."""
    text = request.GET.get("period", "").strip()
    if text:
        try:
            return rated.parse_period(text)
        except BadInput as exc:
            messages.error(request, _("期间“%(text)s”无效：%(why)s") % {"text": text, "why": exc})
    named = (
        Assignment.objects.filter(scheme=rated.scheme, department=department)
        .exclude(period="")
        .values_list("period", flat=True)
        .first()
    )
    return named or current_period(rated.kind)


def _posted_values(request: HttpRequest) -> dict[sheet.Key, str]:
    values: dict[sheet.Key, str] = {}
    for name, value in request.POST.items():
        if name.startswith(FIELD_PREFIX):
            code, sep, entity_id = name[len(FIELD_PREFIX) :].partition("|")
            if sep and code and entity_id:
                values[(entity_id, code)] = value
    return values


def sheet_url(code: str, period: str, page: int = 1, search: str = "") -> str:
    query = {"scheme": code, "period": period}
    if page > 1:
        query["page"] = str(page)
    if search:
        query["q"] = search
    return f"{reverse('ratings:sheet')}?{urlencode(query)}"


@require_http_methods(["GET", "POST"])
def rating_sheet(request: HttpRequest) -> HttpResponse:
    """The sheet of one scheme and period: type, Tab, Enter; save drafts; submit all."""
    _need_reader(request)
    schemes = [(r, s) for r, s in _visible_schemes(request) if _rates(s)]
    code = request.GET.get("scheme") or (schemes[0][0].scheme.code if schemes else "")
    if not code:
        if request.method == "POST":
            raise PermissionDenied
        return redirect("ratings:worklist")
    rated, scope = _get_scheme_for_user(request, code)
    if not _rates(scope):
        if request.method == "POST":
            raise PermissionDenied
        return redirect(f"{reverse('ratings:worklist')}?{urlencode({'scheme': code})}")
    department = department_of(request.user)
    period = _sheet_period(request, rated, department)
    page = _page_number(request)
    search = request.GET.get("q", "").strip()
    indicators = [rated.indicators[c] for c in scope.assigned]
    size = page_size(len(indicators))
    typed: dict[sheet.Key, str] = {}
    errors: dict[sheet.Key, str] = {}
    if request.method == "POST":
        values = _posted_values(request)
        submit_all = "submit_all" in request.POST
        try:
            result = sheet.save_sheet(request.user, rated, scope, period, values, submit_all)
        except RatingRefused as exc:
            messages.error(request, str(exc))
            typed = values  # nothing saved: the typed values are shown again
        else:
            if not result.errors:
                _report(request, result, submit_all)
                target = page + 1 if "save_next_page" in request.POST else page
                return redirect(sheet_url(code, period, target, search))
            typed, errors = values, result.errors
            messages.error(
                request,
                _("有 %(n)d 个单元格的分值无效，本页未保存；请按提示修改后再保存。")
                % {"n": len(errors)},
            )
    grid = data.grid(
        rated.scheme.entity,
        scope.assigned,
        sheet.own_statuses(request.user, rated, period, scope.assigned),
        search=search,
        offset=(page - 1) * size,
        limit=size,
    )
    pages = max(1, math.ceil(grid.matching / size))
    keys = [(e, i.code) for e, _n in grid.entities for i in indicators]
    own = sheet.page_ratings(request.user, rated, period, keys)
    rows = []
    for entity_id, name in grid.entities:
        cells = []
        for ind in indicators:
            key = (entity_id, ind.code)
            rating = own.get(key)
            shown = number_text(rating.score) if rating is not None else ""
            cells.append(
                {
                    "indicator": ind,
                    "rates": scope.rates(ind.code, entity_id),
                    "own": rating,
                    "status": rating.status if rating is not None else "empty",
                    "editable": rating is None or rating.is_editable,
                    "value": typed.get(key, shown),
                    "error": errors.get(key, ""),
                    "name": f"{FIELD_PREFIX}{ind.code}|{entity_id}",
                    "url": reverse(
                        "ratings:cell", args=[rated.scheme.code, period, entity_id, ind.code]
                    ),
                }
            )
        rows.append({"id": entity_id, "name": name, "cells": cells})
    deadline = (
        Assignment.objects.filter(
            scheme=rated.scheme,
            department=department,
            indicator__in=list(scope.assigned),
            deadline__isnull=False,
        )
        .order_by("deadline")
        .values_list("deadline", flat=True)
        .first()
    )
    context = {
        "schemes": [r for r, _s in schemes],
        "rated": rated,
        "period": period,
        "indicators": indicators,
        "rows": rows,
        "grid": grid,
        "progress": sheet.progress_of(grid) if grid.has_data else None,
        "page": page,
        "pages": pages,
        "search": search,
        "deadline": deadline,
        "blind": sheet.blind_indicators(request.user, rated),
        "entity_label": rated.entity_label,
        "has_errors": bool(errors),
        "today": timezone.localdate(),
    }
    return render(request, "ratings/sheet.html", context)


def _report(request: HttpRequest, result: sheet.SheetResult, submit_all: bool) -> None:
    if submit_all:
        messages.success(
            request,
            _("已提交 %(n)d 项评分，等待审批。") % {"n": result.submitted},
        )
        if result.not_submitted:
            messages.error(
                request,
                _("%(n)d 项草稿超出当前量表，未提交；请修改后再提交。")
                % {"n": result.not_submitted},
            )
    elif result.saved or result.cleared:
        messages.success(
            request,
            _("已保存 %(n)d 项评分草稿。") % {"n": result.saved}
            + (_("清除 %(n)d 项草稿。") % {"n": result.cleared} if result.cleared else ""),
        )
    else:
        messages.info(request, _("没有修改。"))
