"""Evaluation runs: the list, starting a run, the run page (progress while it runs; charts,
consequences and the results table once done), exports, and comparing two runs.

Who may do what: viewers, analysts and administrators read runs and export them; analysts
and administrators start runs; raters and users without a role see no run (404)."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pingji.data.contract import TABLES
from pingji.output import numbers
from pingji.web.entities import saved
from pingji.web.imports.services import active_batches
from pingji.web.lib.language import in_viewer_language
from pingji.web.lib.links import links_to
from pingji.web.lib.params import MAX_ID, page_number
from pingji.web.runs import attributes, exports, migration, movers, results, tables
from pingji.web.runs.access import get_run_for_user, get_run_to_void, require_runs
from pingji.web.runs.coverage import run_coverage
from pingji.web.runs.filters import Filters
from pingji.web.runs.forms import PERIOD_KINDS, RunForm, published_versions
from pingji.web.runs.models import Run
from pingji.web.runs.services import (
    RunRefused,
    VoidRefused,
    create_run,
    period_coverage,
    rerun,
    restore_run,
    suggested_period,
    tables_read,
    void_run,
)
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.services import resolve_version

PAGE_SIZE = 50
NO_COLOR = migration.NO_COLOR
MAX_GROUP_COLUMNS = 8


# ---------------------------------------------------------------- access


def _get_version_for_user(request: HttpRequest, version_id) -> SchemeVersion | None:
    """Return a published scheme version a run may use, or None (not given or not one)."""
    try:
        pk = int(version_id)
    except (TypeError, ValueError):
        return None
    return published_versions().filter(pk=pk).first()


def _url(name: str, *args) -> str | None:
    """Reverse a URL of another app if it exists (pages written in parallel)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _duration(run: Run) -> float | None:
    if run.started_at and run.finished_at:
        return max(0.0, (run.finished_at - run.started_at).total_seconds())
    return None


def _score_decimals(run: Run | None) -> int | None:
    """Return the precision a run's scheme shows its scores in (display.decimals)."""
    if run is None:
        return None
    return resolve_version(run.scheme_version).scheme.display.decimals


def _int(value, default: int = 1) -> int:
    """Return a whole number a database can hold (a run id), else the default."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if abs(number) <= MAX_ID else default


# ---------------------------------------------------------------- list


def _id_urls(name: str):
    """Return a function giving `reverse(name, args=[pk])` for each id of a route whose only
    argument is an int, reversed once (a run list shows fifty links); None when there is
    no such route."""
    marker = 987654321
    found = _url(name, marker)
    if found is None:
        return None
    prefix, _found, rest = found.rpartition(str(marker))
    return lambda pk: f"{prefix}{int(pk)}{rest}"


def _run_urls():
    """Return a function giving each run's page (`runs:detail`)."""
    return _id_urls("runs:detail")


LIST_FIELDS = (
    "period",
    "status",
    "progress",
    "entities",
    "created_at",
    "started_at",
    "finished_at",
    "voided_at",
    "void_reason",
    "scheme_version__number",
    "scheme_version__scheme__name",
    "scheme_version__scheme__code",
    "created_by__username",
)


@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    """All runs, newest first; filter by scheme and status."""
    require_runs(request)
    # only what the list shows: not the summaries, not the schemes' YAML
    runs = Run.objects.select_related("scheme_version__scheme", "created_by").only(*LIST_FIELDS)
    scheme = request.GET.get("scheme", "")
    status = request.GET.get("status", "")
    if scheme:
        runs = runs.filter(scheme_version__scheme__code=scheme)
    if status in Run.Status.values:
        runs = runs.filter(status=status)
    voided = request.GET.get("voided", "")
    if voided == "yes":
        runs = runs.filter(voided_at__isnull=False)
    elif voided == "no":
        runs = runs.counted()
    counts = Run.objects.aggregate(
        total=Count("id"),
        **{s: Count("id", filter=Q(status=s)) for s in Run.Status.values},
        voided=Count("id", filter=Q(voided_at__isnull=False)),
    )
    paginator = Paginator(runs, PAGE_SIZE)
    known = _listed(counts, scheme, status if status in Run.Status.values else "", voided)
    if known is not None:  # the tiles' counts hold the list's: not counted again
        paginator.count = known
    page = paginator.get_page(request.GET.get("page"))
    for run in page.object_list:
        run.duration = _duration(run)
    rows = tables.run_rows(page.object_list, _run_urls())
    schemes = Scheme.objects.annotate(n=Count("versions__runs")).filter(n__gt=0).order_by("name")
    return render(
        request,
        "runs/list.html",
        {
            "page": page,
            "schemes": schemes,
            "statuses": Run.Status.choices,
            "scheme": scheme,
            "status": status,
            "voided": voided if voided in ("yes", "no") else "",
            "counts": counts,
            "rows": rows,
        },
    )


def _listed(counts: dict, scheme: str, status: str, voided: str) -> int | None:
    """Return how many runs the list holds when the counts of its tiles say (no scheme and
    at most one of status and voided chosen), else None."""
    if scheme or (status and voided in ("yes", "no")):
        return None
    if status:
        return counts[status]
    if voided == "yes":
        return counts["voided"]
    if voided == "no":
        return counts["total"] - counts["voided"]
    return counts["total"]


# ---------------------------------------------------------------- start a run


@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Start a run: a published version, a period of its kind, its parameters."""
    require_runs(request, write=True)
    source = None
    if request.GET.get("from"):
        source = get_run_for_user(request, _int(request.GET["from"], 0))
    data = request.POST if request.method == "POST" else None
    version = _get_version_for_user(
        request,
        (data or request.GET).get("version")
        or (source.scheme_version_id if source is not None else None),
    )
    rs = resolve_version(version) if version is not None else None
    initial: dict = {"version": version.pk if version else None}
    if rs is not None:
        if source is not None and source.scheme_version_id == version.pk:
            initial["period"] = source.period
            for name, value in (source.params or {}).items():
                initial[f"param_{name}"] = _param_initial(rs, name, value)
        else:
            initial["period"] = suggested_period(rs.scheme.period)
    form = RunForm(data, rs=rs, initial=initial)
    empty = partial = None
    if data is not None and rs is not None and form.is_valid():
        if not form.cleaned_data["allow_empty"]:
            found = period_coverage(version, form.cleaned_data["period"])
            if found is not None and found.empty:
                empty = found.describe()
            elif found is not None and found.partial:
                partial = found.describe()
        if empty is not None:
            form.add_error(
                None,
                _(
                    "所选期间在方案的时间窗口内没有任何数据行，每个对象都将在没有数据的情况下"
                    "被评价（%(why)s）。如确认无误，请勾选“仍然运行”后再提交。"
                )
                % {"why": empty},
            )
        elif partial is not None:
            form.add_error(
                None,
                _(
                    "所选期间的数据不完整，结果只反映已有的数据（%(why)s）。"
                    "如确认无误，请勾选“仍然运行”后再提交。"
                )
                % {"why": partial},
            )
    if data is not None and rs is not None and form.is_valid():
        try:
            run = create_run(
                version, form.cleaned_data["period"], form.cleaned_data["params"], request.user
            )
        except RunRefused as exc:
            form.add_error(None, str(exc))
        else:
            if run.status == Run.Status.FAILED:
                messages.error(request, _("评价运行失败，原因见下方。"))
            elif run.status == Run.Status.DONE:
                messages.success(request, _("评价运行已完成。"))
            else:
                messages.info(request, _("评价运行已排队，将在后台执行。"))
            return redirect("runs:detail", run.pk)
    elif data is not None and rs is None:
        form.is_valid()  # shows "choose a version"
    context = {
        "form": form,
        "version": version,
        "rs": rs,
        "period_kind": PERIOD_KINDS.get(rs.scheme.period) if rs else None,
        "tables": _active_tables(rs),
        "has_versions": published_versions().exists(),
        "empty": empty,
        "partial": partial,
    }
    return render(request, "runs/new.html", context)


def _param_initial(rs, name: str, value):
    p = (rs.scheme.params or {}).get(name)
    if p is None:
        return value
    if isinstance(p.default, bool):
        return str(value).strip().lower() in ("true", "1", "yes")
    return value


def _active_tables(rs=None) -> list[dict]:
    """The active batches per table: what a run started now will read (with a scheme chosen,
    only the tables it reads)."""
    from django.db.models import Max, Sum

    batches = active_batches()
    if rs is not None:
        batches = batches.filter(table__in=tables_read(rs))
    rows = list(
        batches.order_by()
        .values("table")
        .annotate(batches=Count("id"), rows=Sum("rows"), latest=Max("max_date"))
        .order_by("table")
    )
    for row in rows:
        spec = TABLES.get(row["table"])
        row["label"] = spec.label if spec else ""
    return rows


@require_POST
def rerun_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Start a new run with this run's version, period and parameters (this one never
    changes)."""
    run = get_run_for_user(request, run_id, write=True)
    try:
        new_run = rerun(run, request.user)
    except RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("runs:detail", run.pk)
    messages.success(
        request,
        _("已按运行 #%(old)s 的设置开始新的运行 #%(new)s。") % {"old": run.pk, "new": new_run.pk},
    )
    return redirect("runs:detail", new_run.pk)


@require_POST
def void(request: HttpRequest, run_id: int) -> HttpResponse:
    """Void a done run with a reason: it stays readable, no longer counts as the latest."""
    run = get_run_to_void(request, run_id)
    try:
        void_run(run, request.user, request.POST.get("reason", ""))
    except VoidRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("运行 #%(n)s 已作废，不再作为最新结果。") % {"n": run.pk})
    return redirect("runs:detail", run.pk)


@require_POST
def restore(request: HttpRequest, run_id: int) -> HttpResponse:
    """Undo the voiding of a run: it counts again (audited)."""
    run = get_run_to_void(request, run_id)
    try:
        restore_run(run, request.user, request.POST.get("note", ""))
    except VoidRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("运行 #%(n)s 已恢复有效。") % {"n": run.pk})
    return redirect("runs:detail", run.pk)


# ---------------------------------------------------------------- one run


@require_GET
def status(request: HttpRequest, run_id: int) -> JsonResponse:
    """Progress of a run, polled by the run page while it is queued or running."""
    run = get_run_for_user(request, run_id)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "stage": run.stage,
            "finished": run.is_finished,
            "entities": run.entities,
        }
    )


def _filters(request: HttpRequest, default_sort: str) -> Filters:
    g = request.GET
    return Filters(
        grade=g.get("grade") or None,
        cls=g.get("class") or None,
        status=g.get("status") or None,
        action=g.get("action") or None,
        search=(g.get("q") or "").strip() or None,
        sort=g.get("sort") or default_sort,
        attrs=saved.attrs_of(g),
    )


def _grade_colors(run: Run) -> dict:
    return {g["grade"]: g.get("color") or NO_COLOR for g in (run.summary or {}).get("grades", [])}


_TABLES_READ: dict[tuple[int, str], list[str]] = {}


def _tables_read(version: SchemeVersion) -> list[str]:
    """Return the tables a run of the version reads (services.tables_read), remembered by its
    YAML text: walking every expression of a large scheme on every run page is not free."""
    key = (version.pk, version.yaml)
    found = _TABLES_READ.get(key)
    if found is None:
        found = tables_read(resolve_version(version))
        if len(_TABLES_READ) >= 64:
            _TABLES_READ.pop(next(iter(_TABLES_READ)), None)
        _TABLES_READ[key] = found
    return list(found)


@require_GET
def detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run page: what it read, charts, consequences, checks and the results table."""
    from pingji.web.lib import charts

    run = get_run_for_user(request, run_id)
    version = run.scheme_version
    # runs recorded before only the read tables were kept list every active batch: show
    # the batches of the tables the scheme reads
    read = _tables_read(version)
    coverage = run_coverage(run)
    batch_url = _id_urls("imports:detail") or (lambda pk: None)
    context: dict = {
        "run": run,
        "version": version,
        "duration": _duration(run),
        "batches": [
            {"batch": b, "url": batch_url(b.pk)}
            for b in run.batches.filter(table__in=read)
            .only("table", "file_name", "rows", "status")
            .order_by("table", "id")
        ],
        "coverage": coverage
        if coverage is not None and (coverage.empty or coverage.partial)
        else None,
        "can_void": request.user.has_perm("runs.void_run"),
        "imports_url": _url("imports:list"),
        "version_url": _url("schemes:version", version.scheme.code, version.number)
        or _url("schemes:detail", version.scheme.code),
        "can_run": request.user.has_perm("runs.add_run"),
        # a failed run's error in the viewer's language (stored in every language)
        "run_error": in_viewer_language((run.summary or {}).get("error_text"), run.error),
    }
    context["batch_links"] = tables.batch_links(context["batches"], context["imports_url"])
    if run.status != Run.Status.DONE:
        return render(request, "runs/detail.html", context)

    rs = resolve_version(version)
    labels = exports.scheme_labels(rs)
    s = rs.scheme
    summary = run.summary or {}
    colors = _grade_colors(run)
    params = [
        {
            "name": name,
            "label": p.label or name,
            "value": (run.params or {}).get(name, p.default),
            "default": name not in (run.params or {})
            or str((run.params or {}).get(name)).lower() == str(p.default).lower(),
        }
        for name, p in (s.params or {}).items()
    ]
    total = summary.get("entities", run.entities) or 0
    grades = [
        {**g, "pct": 100 * g["count"] / total if total else 0} for g in summary.get("grades", [])
    ]
    figs = {}
    if grades:
        figs["grades"] = charts.bar(
            [g["grade"] or _("无等级") for g in grades],
            [g["count"] for g in grades],
            [g.get("color") or NO_COLOR for g in grades],
            y_title=_("对象数"),
        )
    hist = summary.get("histogram")
    if hist and sum(hist["counts"]):
        figs["histogram"] = charts.histogram(
            hist["edges"], hist["counts"], x_title=_("得分"), title=""
        )
    classes = [
        {**c, "pct": 100 * c["count"] / total if total else 0}
        for c in (summary.get("classes", []) if s.classes else [])
    ]
    if classes:
        figs["classes"] = charts.bar(
            [c["label"] or c["class"] or _("无类别") for c in classes],
            [c["count"] for c in classes],
            y_title=_("对象数"),
        )
    statuses = [
        {**st, "label": labels["status"].get(st["status"], st["status"])}
        for st in summary.get("statuses", [])
    ]
    actions = [
        {**a, "label": labels["action"].get(a["action"], a["action"])}
        for a in summary.get("actions", [])
    ]
    checks = summary.get("checks", [])

    table = _results_table(request, run, rs, labels, colors)
    context.update(
        {
            "rs": rs,
            "summary": summary,
            "params": params,
            "grades": grades,
            "total": total,
            "figs": figs,
            "classes": classes,
            "statuses": statuses,
            "actions": actions,
            "checks": checks,
            "warnings": in_viewer_language(
                summary.get("warnings_text"), summary.get("warnings", [])
            ),
            "score": summary.get("score"),
            **table,
        }
    )
    return render(request, "runs/detail.html", context)


def _results_table(request, run: Run, rs, labels: dict, colors: dict) -> dict:
    """The results table of the run page: filters, sort, one page of rows for display."""
    s = rs.scheme
    have = results.columns(run)
    has_tree = s.tree is not None and "score" in have
    default_sort = "-score" if has_tree else "entity_id"
    f = _filters(request, default_sort)
    sort = results.sort_key(f.sort, have)
    show = {
        "score": has_tree,
        "grade": s.grades is not None and "grade" in have,
        "class": s.classes is not None and "class" in have,
        "status": bool(
            s.evidence
            or (s.consequences and (s.consequences.statuses or s.consequences.default_status))
        )
        and "status" in have,
        "actions": bool(s.consequences and s.consequences.actions) and "actions" in have,
        "reasons": has_tree and "reasons" in have,
    }
    groups = []
    if s.tree is not None and s.tree.children:
        for child in s.tree.children[:MAX_GROUP_COLUMNS]:
            if f"{child.id}.score" in have:
                groups.append({"key": f"{child.id}.score", "label": child.label or child.id})
    select = ["entity_id"] + [k for k in ("score", "grade", "class", "status") if show[k]]
    select += [g["key"] for g in groups]
    select += [k for k in ("actions", "reasons") if show[k]]
    kwargs = dict(
        grade=f.grade,
        cls=f.cls,
        status=f.status,
        action=f.action,
        search=f.search,
        sort=sort,
        attrs=f.attrs or None,
    )
    # The rows are read only when the table is drawn: a table drawn before for the same
    # run, language and query comes from the template's cache (runs/detail.html).
    drawn = functools.cache(
        lambda: _table_rows(request, run, rs, labels, colors, sort, show, groups, select, kwargs)
    )
    lazy = {k: SimpleLazyObject(lambda k=k: drawn()[k]) for k in TABLE_KEYS}
    summary = run.summary or {}
    return {
        "filters": f,
        "sort": sort,
        "show": show,
        "groups": groups,
        **lazy,
        "grade_options": [
            (g["grade"] or results.NO_GRADE, g["grade"] or _("无等级"), g.get("label"), g["count"])
            for g in summary.get("grades", [])
        ],
        "class_options": [
            (c["class"] or results.NO_GRADE, c["label"] or c["class"] or _("无类别"), c["count"])
            for c in summary.get("classes", [])
        ],
        "status_options": [
            (st["status"], labels["status"].get(st["status"], st["status"]), st["count"])
            for st in summary.get("statuses", [])
        ],
        "action_options": [
            (a["action"], labels["action"].get(a["action"], a["action"]), a["count"])
            for a in summary.get("actions", [])
        ],
        "filtered": any((f.grade, f.cls, f.status, f.action, f.search, f.attrs)),
        # filters by the entity's attributes (as the run read them), and saved views
        "attributes": [
            {**a, "param": saved.ATTR_PREFIX + a["name"], "value": f.attrs.get(a["name"], "")}
            for a in attributes.options(run, results.entity_files(run))
        ],
        "saved_views": saved.links(
            request, "results", run.scheme_version.scheme.code, anchor="#results"
        ),
        "save_page": "results",
        "save_scope": run.scheme_version.scheme.code,
        "export_query": request.GET.urlencode(),
    }


TABLE_KEYS = ("page", "rows", "headers", "show_names", "header_cells", "body_rows")


def _table_rows(request, run: Run, rs, labels, colors, sort, show, groups, select, kwargs) -> dict:
    """One page of the results table: its rows ready for display, headers and names."""
    page_no = page_number(request.GET.get("page"))
    page = results.query(run, **kwargs, page=page_no, size=PAGE_SIZE, select=select)
    if page.page > page.pages:  # past the end (filters changed): show the last page
        page = results.query(run, **kwargs, page=page.pages, size=PAGE_SIZE, select=select)
    names = results.entity_names(run, [r["entity_id"] for r in page.rows])

    def header(key: str, label: str, first_desc: bool, num: bool = False, title: str = ""):
        if sort == key:
            nxt, arrow = f"-{key}", "▲"
        elif sort == f"-{key}":
            nxt, arrow = key, "▼"
        else:
            nxt, arrow = (f"-{key}" if first_desc else key), ""
        return {"key": key, "label": label, "next": nxt, "arrow": arrow, "num": num, "title": title}

    show_names = bool(names) or bool(results.entity_files(run))
    headers = [header("entity_id", _("编号"), False)]
    if show_names:
        headers.append({"label": _("名称"), "key": None})
    if show["score"]:
        headers.append(header("score", _("得分"), True, num=True))
    if show["grade"]:
        headers.append(header("grade", _("等级"), False))
    if show["class"]:
        headers.append(header("class", _("类别"), False))
    if show["status"]:
        headers.append(header("status", _("状态"), False))
    for g in groups:
        # a group's 0–100 column says so: "<name> 得分率" (its points ÷ its max)
        label = f"{g['label']} {_('得分率')}"
        headers.append(header(g["key"], label, True, num=True, title=_("得分率（占满分 %）")))
    if show["actions"]:
        headers.append({"label": _("措施"), "key": None})
    if show["reasons"]:
        headers.append({"label": _("主要失分原因"), "key": None})

    grade_labels = labels["grade"]
    scorecard_url = links_to("runs:scorecard", run.pk)  # reversed once, not once per row
    score_text = numbers.score_format(rs).text  # the scheme's one precision; — when missing
    rows = []
    for r in page.rows:  # one page: at most PAGE_SIZE rows
        row = {
            "entity_id": r["entity_id"],
            "url": scorecard_url(r["entity_id"]),
            "name": names.get(r["entity_id"], ""),
            "score": score_text(r.get("score")),
            "grade": r.get("grade"),
            "grade_color": colors.get(r.get("grade"), NO_COLOR),
            "grade_label": grade_labels.get(r.get("grade"), ""),
            "class": labels["class"].get(r.get("class"), r.get("class")),
            "status": labels["status"].get(r.get("status"), r.get("status")),
            "status_code": r.get("status"),
            "groups": [score_text(r.get(g["key"])) for g in groups],
            "actions": [labels["action"].get(a, a) for a in (r.get("actions") or [])],
            "reasons": [labels["reason"].get(a, a) for a in (r.get("reasons") or [])][:3],
        }
        rows.append(row)
    return {
        "page": page,
        "rows": rows,
        "headers": headers,
        "show_names": show_names,
        # the table's cells are written in Python: per-cell template tags cost more than the
        # rest of the page
        "header_cells": tables.header_cells(request, headers),
        "body_rows": tables.body_rows(rows, show, show_names),
    }


# ---------------------------------------------------------------- exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, run_id: int, fmt: str) -> HttpResponse:
    """The (filtered) results as CSV (streamed, UTF-8 with BOM) or formatted Excel.

    Excel of more than exports.BACKGROUND_ROWS rows is written by the worker: a GET shows what
    will be exported and a button; its POST queues the export and opens the export's page,
    which follows it and then offers the file. Smaller Excel exports are downloaded at once
    (GET or POST); CSV is GET only."""
    run = get_run_for_user(request, run_id)
    if run.status != Run.Status.DONE or fmt not in ("csv", "xlsx"):
        raise Http404
    f = _filters(request, "-score" if "score" in results.columns(run) else "entity_id")
    if fmt == "csv":
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        response = StreamingHttpResponse(
            exports.csv_stream(run, f), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = _attachment(exports.file_name(run, "csv", f))
        return response
    query = request.GET.urlencode()
    total = exports.count(run, f)
    try:
        exports.check_rows(total)
    except exports.ExportRefused as exc:
        messages.error(request, str(exc))
        return redirect(reverse("runs:detail", args=[run.pk]) + (f"?{query}" if query else ""))
    if total > exports.BACKGROUND_ROWS:
        if request.method == "GET":
            return render(
                request,
                "runs/export.html",
                {
                    "run": run,
                    "rows": total,
                    "filters": f.describe(),
                    "query": query,
                    "threshold": exports.BACKGROUND_ROWS,
                    "jobs": [j for j in exports.jobs(run.pk) if j.ready][:10],
                },
            )
        return _start_export(request, run, f, total)
    path = exports.xlsx_file(run, f, request.user, total)
    fh = path.open("rb")
    path.unlink(missing_ok=True)  # the open handle keeps the bytes until sent
    return FileResponse(
        fh,
        as_attachment=True,
        filename=exports.file_name(run, "xlsx", f),
        content_type=XLSX,
    )


def _start_export(request: HttpRequest, run: Run, f: Filters, total: int) -> HttpResponse:
    """Record a background Excel export, queue it and open its page (the page of the same
    export still under way, if there is one)."""
    from pingji.web.runs.tasks import export_xlsx_task

    if (running := exports.pending_job(run, f)) is not None:  # a double click
        return redirect("runs:export_job", run.pk, running.id)
    job = exports.start_job(run, f, request.user, total)
    try:
        exports.queued(job, str(export_xlsx_task.enqueue(run.pk, job.id).id))
    except Exception as exc:
        exports.fail_job(job, f"{type(exc).__name__}: {exc}")
        raise
    return redirect("runs:export_job", run.pk, job.id)


def _get_job_for_user(request: HttpRequest, run_id: int, job_id: str):
    """Return a run's export job when the user may see the run (404 otherwise)."""
    run = get_run_for_user(request, run_id)
    job = exports.load_job(run.pk, job_id)
    if job is None:
        raise Http404
    return run, job


@require_GET
def export_job(request: HttpRequest, run_id: int, job_id: str) -> HttpResponse:
    """A background Excel export: its progress while written (the page polls export_status),
    then the download link (or why it failed)."""
    run, job = _get_job_for_user(request, run_id, job_id)
    return render(
        request,
        "runs/export.html",
        {
            "run": run,
            "job": job,
            "rows": job.rows,
            "filters": job.describe(),
            "stage": _(job.stage) if job.stage else "",
        },
    )


@require_GET
def export_status(request: HttpRequest, run_id: int, job_id: str) -> JsonResponse:
    """Where a background Excel export stands: {progress, stage, finished} (app.js reloads
    the export's page when finished), its state, error and download URL once written."""
    run, job = _get_job_for_user(request, run_id, job_id)
    return JsonResponse(
        {
            "id": job.id,
            "state": job.state,
            "progress": job.progress,
            "stage": _(job.stage) if job.stage else "",
            "finished": job.finished,
            "rows": job.rows,
            "error": job.shown_error,
            "download_url": (
                reverse("runs:export_download", args=[run.pk, job.id]) if job.ready else None
            ),
        }
    )


@require_GET
def export_download(request: HttpRequest, run_id: int, job_id: str) -> FileResponse:
    """The file of a finished background Excel export."""
    _run, job = _get_job_for_user(request, run_id, job_id)
    if not job.ready:
        raise Http404
    return FileResponse(
        job.path.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX
    )


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"{name.encode('ascii', 'replace').decode()}\"; filename*=UTF-8''{quote(name)}"


# ---------------------------------------------------------------- compare two runs


@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """Two runs of one scheme side by side: the grade migration matrix (A rows, B columns)."""
    require_runs(request)
    done = Run.objects.filter(status=Run.Status.DONE).select_related("scheme_version__scheme")
    a_id, b_id = request.GET.get("a"), request.GET.get("b")
    a = get_run_for_user(request, _int(a_id, 0)) if a_id else None
    b = get_run_for_user(request, _int(b_id, 0)) if b_id else None
    if b is not None and a is None:  # suggest the previous done run of the same scheme
        a = (
            done.counted()  # a voided run is never the one to compare with
            .filter(scheme_version__scheme=b.scheme_version.scheme, pk__lt=b.pk)
            .order_by("-pk")
            .first()
        )
    context: dict = {
        "a": a,
        "b": b,
        "decimals_a": _score_decimals(a),
        "decimals_b": _score_decimals(b),
        # voided runs are not offered (one given in the address stays selectable)
        "choices": done.filter(
            Q(voided_at__isnull=True) | Q(pk__in=[r.pk for r in (a, b) if r is not None])
        ).order_by("-pk")[:500],
        "error": None,
    }
    if a is None or b is None:
        return render(request, "runs/compare.html", context)
    if a.pk == b.pk:
        context["error"] = _("不能将一次运行与它自己对比，请选择另一次运行作为 A 或 B。")
        return render(request, "runs/compare.html", context)
    if a.status != Run.Status.DONE or b.status != Run.Status.DONE:
        context["error"] = _("只能对比已完成的运行。")
        return render(request, "runs/compare.html", context)
    if a.scheme_version.scheme_id != b.scheme_version.scheme_id:
        context["error"] = _("两次运行属于不同的评价方案（%(a)s / %(b)s），等级不可对比。") % {
            "a": a.scheme_version.scheme.name,
            "b": b.scheme_version.scheme.name,
        }
        return render(request, "runs/compare.html", context)

    orders = [(run.summary or {}).get("grade_order", []) for run in (a, b)]
    colors = {**_grade_colors(a), **_grade_colors(b)}
    context.update(migration.layout(results.migration(a, b), orders, colors))
    # the cards filter the movers: the largest score rises and falls of their group
    axis = [c["grade"] for c in context["columns"] if c["grade"] != results.ABSENT]
    group = request.GET.get("group", "both")
    found = movers.movers(a, b, axis, group if group in movers.GROUPS else "both")
    ids = [r["entity_id"] for r in (*found.rises, *found.falls, *found.present)]
    names = {**results.entity_names(a, ids), **results.entity_names(b, ids)} if ids else {}

    def rows(items: list[dict]) -> list[dict]:
        return [
            {
                **r,
                "name": names.get(r["entity_id"], ""),
                "color_a": colors.get(r["grade_a"], NO_COLOR),
                "color_b": colors.get(r["grade_b"], NO_COLOR),
            }
            for r in items
        ]

    context.update(
        {
            "group": found.group,
            "rises": rows(found.rises),
            "falls": rows(found.falls),
            "risen": found.risen,
            "fallen": found.fallen,
            "present": rows(found.present),
            "voided_runs": [r for r in (a, b) if r.is_voided],
        }
    )
    return render(request, "runs/compare.html", context)


@require_GET
def compare_entities(request: HttpRequest) -> HttpResponse:
    """The entities of one cell of the migration matrix, with both scores and grades."""
    require_runs(request)
    a = get_run_for_user(request, _int(request.GET.get("a"), 0))
    b = get_run_for_user(request, _int(request.GET.get("b"), 0))
    if a.status != Run.Status.DONE or b.status != Run.Status.DONE:
        raise Http404
    ga, gb = request.GET.get("ga", ""), request.GET.get("gb", "")
    page = results.migration_entities(a, b, ga, gb, page=page_number(request.GET.get("page")))
    ids = [r["entity_id"] for r in page.rows]
    names = {**results.entity_names(a, ids), **results.entity_names(b, ids)}
    colors = {**_grade_colors(a), **_grade_colors(b)}
    rows = [
        {
            **r,
            "name": names.get(r["entity_id"], ""),
            "color_a": colors.get(r["grade_a"], NO_COLOR),
            "color_b": colors.get(r["grade_b"], NO_COLOR),
            "in_a": ga != results.ABSENT,
            "in_b": gb != results.ABSENT,
        }
        for r in page.rows
    ]

    def label(g: str, absent: str) -> str:
        return {results.NO_GRADE: _("无等级"), results.ABSENT: absent}.get(g, g)

    return render(
        request,
        "runs/compare_entities.html",
        {
            "a": a,
            "b": b,
            "ga": ga,
            "gb": gb,
            "ga_label": label(ga, _("不在 A 中")),
            "gb_label": label(gb, _("不在 B 中")),
            "page": page,
            "rows": rows,
            "decimals_a": _score_decimals(a),
            "decimals_b": _score_decimals(b),
        },
    )
