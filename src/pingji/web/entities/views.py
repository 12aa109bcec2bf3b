"""Entity pages: the customers, suppliers, staff and dealers of the active import batches —
a searchable, sortable list per table, and a profile per entity (attributes, a summary of
its facts, the latest grade per scheme, the grade history).

Who sees what: users who may read the data (imports.view_importbatch: viewer, analyst,
admin) see every entity. Raters see the entity tables their department has assignments for
(ratings.Assignment of a scheme on that table), and within them the assigned entities (an
assignment without a list means all of them); anything else is 404. Grades come from runs,
which raters cannot see: the profile shows them only with runs.view_run.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pingji.data.contract import TABLES
from pingji.data.labels import column_label
from pingji.errors import PingjiError
from pingji.output.labels import scheme_labels
from pingji.web.entities import data, saved
from pingji.web.imports.uploads import money_text
from pingji.web.lib import charts, workspace
from pingji.web.lib.access import department_of
from pingji.web.lib.params import page_number
from pingji.web.schemes.services import resolve_version

ALL = None  # scope: every entity of the table
PAGE_SIZE = 50


# -- access ----------------------------------------------------------------------------------


def _scope(user, table: str) -> list[str] | None:
    """The entities of `table` the user may see: ALL (None), or a list of ids (maybe empty)."""
    if user.has_perm("imports.view_importbatch"):
        return ALL
    department = department_of(user)
    if department is None or not user.has_perm("ratings.add_rating"):
        return []
    from pingji.web.ratings.models import Assignment

    assigned = list(
        Assignment.objects.filter(department=department, scheme__entity=table).values_list(
            "entity_ids", flat=True
        )
    )
    if assigned and any(not ids for ids in assigned):
        return ALL
    return sorted({str(i) for ids in assigned for i in ids})


def _visible_tables(user, files: dict) -> list[str]:
    """Entity tables with active data the user may see something of."""
    return [t for t in data.ENTITY_TABLES if t in files and _scope(user, t) != []]


def _get_entity_for_user(request: HttpRequest, table: str, entity_id: str, files: dict) -> dict:
    """The entity's attributes, if the user may see it (else 404)."""
    if table not in data.ENTITY_TABLES or table not in files:
        raise Http404
    scope = _scope(request.user, table)
    if scope is not ALL and entity_id not in scope:
        raise Http404
    record = data.entity_record(table, files[table], entity_id)
    if record is None:
        raise Http404
    return record


# -- helpers ---------------------------------------------------------------------------------


NUMERIC = ("money", "number", "integer")


def _is_number(table: str, column: str) -> bool:
    col = TABLES[table].column(column)
    return col is not None and col.type in NUMERIC


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, Decimal):
        return money_text(value, grouped=True)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _list_request(request: HttpRequest, files: dict) -> dict:
    """The table, search, sort and rater scope a list (or its export) asks for."""
    tabs = _visible_tables(request.user, files)
    table = request.GET.get("table") or (tabs[0] if tabs else "")
    if table and table not in tabs:
        raise Http404
    sort = request.GET.get("sort", "")
    return {
        "tabs": tabs,
        "table": table,
        "search": request.GET.get("q", "").strip(),
        "sort": sort.lstrip("-"),
        "descending": sort.startswith("-"),
        "ids": _scope(request.user, table) if table else [],
        "attrs": saved.attrs_of(request.GET),
    }


def _attribute_filters(table: str, source: str, columns, asked: dict) -> list[dict]:
    """The attribute filters beside a list: label, choices (value, entities) or None for a
    text box (too many values), and the value asked for; attributes no entity has a value
    of are left out."""
    names = data.attribute_columns(table, columns)
    options = data.attribute_options(source, names)
    return [
        {
            "name": name,
            "param": saved.ATTR_PREFIX + name,
            "label": column_label(table, name),
            "options": options.get(name),
            "value": asked.get(name, ""),
        }
        for name in names
        if options.get(name) != [] or asked.get(name)
    ]


def _page_number(text: str | None) -> int:
    return page_number(text)


# -- pages -----------------------------------------------------------------------------------


@require_GET
def entity_list(request: HttpRequest) -> HttpResponse:
    """Tabs per entity table; search by id or name; sort by any column; 50 per page."""
    files = data.batch_files()
    asked = _list_request(request, files)
    table = asked["table"]
    context: dict = {
        "tabs": [(t, TABLES[t].label or t) for t in asked["tabs"]],
        "table": table,
        "q": asked["search"],
    }
    if table:
        spec = TABLES[table]
        page = data.entity_page(
            table,
            files[table],
            search=asked["search"],
            ids=asked["ids"],
            sort=asked["sort"],
            descending=asked["descending"],
            page=_page_number(request.GET.get("page")),
            size=PAGE_SIZE,
            attrs=asked["attrs"],
        )
        key_at = page.columns.index(spec.key)
        context.update(
            attributes=_attribute_filters(
                table, data.entity_source(table, files[table]), page.columns, asked["attrs"]
            ),
            filtered=bool(asked["search"] or asked["attrs"]),
            saved_views=saved.links(request, "entities", table),
            save_page="entities",
            save_scope=table,
        )
        active = asked["sort"] if asked["sort"] in page.columns else spec.key
        descending = asked["descending"] and active == asked["sort"]
        numbers = [_is_number(table, c) for c in page.columns]
        context.update(
            page=page,
            label=spec.label,
            key=spec.key,
            headers=[
                {
                    "name": c,
                    "label": column_label(table, c),
                    "sorted": c == active,
                    "descending": descending and c == active,
                    "next": f"-{c}" if c == active and not descending else c,
                    "num": num,
                }
                for c, num in zip(page.columns, numbers, strict=True)
            ],
            rows=[
                {
                    "id": str(row[key_at]),
                    "cells": [
                        {"text": _cell(v), "num": num} for v, num in zip(row, numbers, strict=True)
                    ],
                }
                for row in page.rows
            ],
        )
    return render(request, "entities/list.html", context)


@require_GET
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The whole filtered, sorted list as CSV with Chinese headers (opens in Excel)."""
    files = data.batch_files()
    asked = _list_request(request, files)
    table = asked["table"]
    if not table:
        raise Http404
    fd, name = tempfile.mkstemp(prefix="entities-", suffix=".csv", dir=workspace.make_tmp_dir())
    os.close(fd)
    path = Path(name)
    try:
        data.export_csv(
            table,
            files[table],
            path,
            {c.name: column_label(table, c.name) for c in TABLES[table].columns},
            search=asked["search"],
            ids=asked["ids"],
            sort=asked["sort"],
            descending=asked["descending"],
            attrs=asked["attrs"],
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    def body():
        try:
            yield "\ufeff".encode()  # Excel reads UTF-8 only with a BOM
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
        finally:
            path.unlink(missing_ok=True)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}.csv"'
    return response


@require_GET
def profile(request: HttpRequest, table: str, entity_id: str) -> HttpResponse:
    """One entity: attributes, facts summary, latest grade per scheme, grade history."""
    files = data.batch_files()
    record = _get_entity_for_user(request, table, entity_id, files)
    spec = TABLES[table]
    attributes = [
        {"name": k, "label": column_label(table, k), "value": _cell(v)}
        for k, v in record.items()
        if k != spec.key
    ]
    facts = []
    present = {fact: files[fact] for fact in data.fact_tables(table) if fact in files}
    for fact, summary in data.fact_summaries(present, entity_id).items():
        if TABLES[fact].entity is None and not summary["rows"]:
            continue  # keyed by any entity; nothing about this one
        summary["label"] = TABLES[fact].label or fact
        summary["sums"] = [
            {
                "label": column_label(fact, m),
                "value": money_text(v, grouped=True) if v is not None else "—",
            }
            for m, v in summary["sums"]
        ]
        facts.append(summary)
    context = {
        "table": table,
        "table_label": spec.label or table,
        "key_label": column_label(table, spec.key),
        "entity_id": entity_id,
        "name": record.get("name"),
        "attributes": attributes,
        "facts": facts,
        "grades": None,
    }
    if request.user.has_perm("runs.view_run"):
        context["grades"], context["histories"] = _grades(table, entity_id)
    return render(request, "entities/profile.html", context)


def _resolved(version):
    """Return a run's resolved scheme, or None for a version that no longer loads (its page
    then shows raw codes and one decimal)."""
    try:
        return resolve_version(version)
    except PingjiError:
        return None


def _scorecard_url(run_id: int, entity_id: str) -> str | None:
    try:
        return reverse("runs:scorecard", args=[run_id, entity_id])
    except NoReverseMatch:  # an id the scorecard's URL cannot hold (e.g. with a slash)
        return None


def _grades(table: str, entity_id: str) -> tuple[list[dict], list[dict]]:
    """The latest grade of the entity per scheme on `table`, and each scheme's history
    (the latest done run per period), read in one query over the runs' results files."""
    from pingji.web.runs.files import results_file
    from pingji.web.runs.models import Run

    runs = (
        Run.objects.counted()  # a voided run is never the latest grade
        .filter(status=Run.Status.DONE, scheme_version__scheme__entity=table)
        .exclude(results_path="")
        .select_related("scheme_version__scheme")
        .order_by("scheme_version__scheme__code", "-finished_at", "-id")
    )
    per_scheme: dict = {}
    for run in runs:
        per_scheme.setdefault(run.scheme_version.scheme, []).append(run)
    chosen: list = []  # (scheme, latest run, {period: run})
    files = []
    for scheme, scheme_runs in per_scheme.items():
        by_period: dict = {}
        for run in scheme_runs:  # newest first: the first of a period is its latest
            by_period.setdefault(run.period, run)
        chosen.append((scheme, scheme_runs[0], by_period))
        files += [results_file(r) for r in by_period.values() if results_file(r).is_file()]
    found = data.result_rows(
        sorted(set(files)), entity_id, ["score", "grade", "class", "status", "points"]
    )
    latest, histories = [], []
    for scheme, run, by_period in chosen:
        row = found.get(str(results_file(run)))
        summary = run.summary or {}
        colors = {g.get("grade"): g.get("color") for g in summary.get("grades", [])}
        classes = {c.get("class"): c.get("label") for c in summary.get("classes", [])}
        rs = _resolved(run.scheme_version)
        # the scheme's one precision for scores (display.decimals)
        decimals = rs.scheme.display.decimals if rs is not None else None
        entry = {"scheme": scheme, "run": run, "row": row, "decimals": decimals}
        if row is not None:
            status = row.get("status")
            entry |= {
                "color": colors.get(row.get("grade")),
                "class_label": classes.get(row.get("class")) or row.get("class"),
                "status_label": scheme_labels(rs)["status"].get(status, status) if rs else status,
                "scorecard": _scorecard_url(run.pk, entity_id),
            }
        latest.append(entry)
        points = sorted(
            (period, found[str(results_file(r))])
            for period, r in by_period.items()
            if str(results_file(r)) in found
        )
        if points:
            histories.append(
                {
                    "scheme": scheme,
                    "figure": charts.line(
                        [p for p, _row in points],
                        [
                            float(r["score"]) if r.get("score") is not None else None
                            for _p, r in points
                        ],
                        text=[r.get("grade") or "" for _p, r in points],
                        title=scheme.name,
                        y_title=_("得分"),
                    ),
                }
            )
    return latest, histories


# -- saved views -----------------------------------------------------------------------------


def _view_target(request: HttpRequest, page: str) -> tuple[str, str]:
    """(scope, page URL) of a saved view's list, if the user may see that list (404)."""
    from pingji.web.entities.models import SavedView

    if page == SavedView.Page.ENTITIES:
        table = request.POST.get("scope", "")
        if table not in data.ENTITY_TABLES or _scope(request.user, table) == []:
            raise Http404
        return table, reverse("entities:list")
    if page == SavedView.Page.RESULTS:
        from pingji.web.lib.params import MAX_ID
        from pingji.web.runs.access import get_run_for_user

        try:
            run_id = int(request.POST.get("run", ""))
        except ValueError:
            raise Http404 from None
        if not 0 < run_id <= MAX_ID:
            raise Http404
        run = get_run_for_user(request, run_id)
        return run.scheme_version.scheme.code, reverse("runs:detail", args=[run.pk])
    raise Http404


@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters as a named view (the user's own, maybe shared)."""
    page = request.POST.get("page", "")
    scope, url = _view_target(request, page)
    try:
        view = saved.save_view(
            request.user,
            page,
            scope,
            request.POST.get("name", ""),
            request.POST.get("query", ""),
            request.POST.get("shared") == "on",
        )
    except saved.ViewRefused as exc:
        messages.error(request, str(exc))
        query = saved.clean_query(page, request.POST.get("query", ""))
    else:
        messages.success(request, _("已保存视图“%(name)s”。") % {"name": view.name})
        query = view.query
    anchor = "#results" if page == "results" else ""
    return redirect(url + ("?" + urlencode(query) if query else "") + anchor)


@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete a saved view (one's own; an administrator also others' shared ones), then go
    back to the page it was deleted from."""
    from django.utils.http import url_has_allowed_host_and_scheme

    view = saved.get_view_for_user(request, view_id, write=True)
    saved.delete_view(request.user, view)
    messages.success(request, _("已删除视图“%(name)s”。") % {"name": view.name})
    back = request.POST.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    if view.page == "results":
        return redirect(reverse("runs:list") + "?" + urlencode({"scheme": view.scope}))
    return redirect(reverse("entities:list") + "?" + urlencode({"table": view.scope}))
