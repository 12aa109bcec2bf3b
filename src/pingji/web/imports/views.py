"""Data import pages: upload a file of a contract table, preview it with every problem
listed, commit it as one batch (all rows or none), list and open batches, withdraw one.

Inspection and commit run in the background worker (tasks.py): the upload and commit views
store the file or take the commit lock, queue the task and open the preview page, which
polls upload_status while the task is queued or running, then shows the report — or, once
committed, opens the batch.

Who may do what (permissions of lib/access.ROLE_PERMISSIONS):
  imports.view_importbatch    see batches (viewer, analyst, admin); without it every page is 404
  imports.add_importbatch     upload, preview, commit, discard (analyst, admin); else 403
  imports.change_importbatch  withdraw (analyst, admin); else 403
An upload waiting for commit belongs to the user who uploaded it (and admins): 404 for others;
its status (JSON) goes with its preview.
"""

from __future__ import annotations

import duckdb
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Prefetch, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pingji.data.contract import ROW_COLUMN, unread
from pingji.web.audit.models import AuditEvent
from pingji.web.imports import uploads
from pingji.web.imports.forms import UploadForm, WithdrawForm, table_label
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import NotActive, find_duplicate, withdraw_batch
from pingji.web.imports.tables import importable, label_of, spec_of
from pingji.web.imports.tasks import commit_upload_task, inspect_upload_task
from pingji.web.imports.wording import TYPE_NAMES, conversions, worded
from pingji.web.lib import workspace
from pingji.web.lib.access import is_admin

PAGE_SIZE = 50
DETAIL_ROWS = 50


# -- access ----------------------------------------------------------------------------------


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm("imports.view_importbatch"):
        raise Http404


def _require_add(request: HttpRequest) -> None:
    _require_view(request)
    if not request.user.has_perm("imports.add_importbatch"):
        raise PermissionDenied


def _get_batch_for_user(request: HttpRequest, batch_id: int, write: bool = False) -> ImportBatch:
    """The batch, if the user may see it (else 404); for a change, if they may change it
    (else 403)."""
    _require_view(request)
    batch = get_object_or_404(
        ImportBatch.objects.select_related("uploaded_by", "withdrawn_by"), pk=batch_id
    )
    if write and not request.user.has_perm("imports.change_importbatch"):
        raise PermissionDenied
    return batch


def _get_upload_for_user(request: HttpRequest, upload_id: str) -> uploads.Upload:
    """An upload waiting for commit: its uploader's (or an admin's) to preview and commit."""
    _require_add(request)
    upload = uploads.load(upload_id)
    if upload is None or (upload.user_id != request.user.pk and not is_admin(request.user)):
        raise Http404
    return upload


# -- helpers ---------------------------------------------------------------------------------


def _header(table: str, column: str) -> str:
    return _("行号") if column == ROW_COLUMN else label_of(table, column)


def _numeric(table: str, column: str) -> bool:
    spec = spec_of(table)
    col = spec.column(column) if spec else None
    return col is not None and col.type in ("money", "number", "integer")


def _contract_columns(table: str, report: dict | None = None, spec=None) -> list[dict]:
    """The columns of `table` as an import checks them (only keys and window dates must be
    there), and (given a report) whether the file has each."""
    spec = unread(spec or spec_of(table))
    rows = []
    for c in spec.columns:
        row = {
            "name": c.name,
            "label": label_of(table, c.name, spec),
            "type": TYPE_NAMES[c.type],
            "required": c.required,
            "choices": ", ".join(c.choices),
            "default": "" if c.default is None else c.default,
        }
        if report is not None:
            if c.name in report.get("columns", []):
                row["state"] = "found"
            elif c.name in report.get("missing", []):
                row["state"] = "missing"
            else:
                row["state"] = "absent"
        rows.append(row)
    return rows


def _unknown_entities(table: str, unknown: dict | None) -> dict | None:
    """The rows of a fact file naming no known entity (a report's `unknown`), with labels."""
    if not unknown:
        return None
    return {
        **unknown,
        "entity_label": table_label(unknown["entity"]),
        "column_label": label_of(table, unknown["column"]),
    }


def _unchecked_entity(table: str, report: dict) -> str:
    """The entity table a fact file's keys could not be checked against (none imported)."""
    spec = spec_of(table)
    if report.get("unknown") or report.get("rows") is None or spec is None:
        return ""
    return table_label(spec.entity) if spec.kind == "fact" and spec.entity else ""


def _read_rows(path, limit: int) -> tuple[list[str], list[list[str]]]:
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_parquet(?) LIMIT ?", [str(path), limit])
        rows = [[uploads.display(v) for v in row] for row in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    finally:
        con.close()


# -- batches ---------------------------------------------------------------------------------


@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    """The batches, newest first; filter by table and status; which runs read each."""
    _require_view(request)
    from pingji.web.runs.models import Run

    table = request.GET.get("table", "")
    status = request.GET.get("status", "")
    batches = (
        ImportBatch.objects.select_related("uploaded_by")
        .annotate(run_count=Count("runs"))
        .prefetch_related(Prefetch("runs", queryset=Run.objects.only("id").order_by("-id")))
        .order_by("-uploaded_at", "-id")
    )
    tables = importable()
    if table in tables:
        batches = batches.filter(table=table)
    else:
        table = ""
    if status in ImportBatch.Status.values:
        batches = batches.filter(status=status)
    else:
        status = ""
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = [
        {**row, "label": table_label(row["table"]), "kind": tables[row["table"]].kind}
        for row in ImportBatch.objects.filter(status=ImportBatch.Status.ACTIVE)
        .values("table")
        .annotate(
            batches=Count("id"),
            rows=Sum("rows"),
            lo=Min("min_date"),
            hi=Max("max_date"),
            last=Max("uploaded_at"),
        )
        .order_by("table")
        if row["table"] in tables
    ]
    can_add = request.user.has_perm("imports.add_importbatch")
    return render(
        request,
        "imports/list.html",
        {
            "page": page,
            "table": table,
            "status": status,
            "tables": [(n, table_label(n)) for n in tables],
            "statuses": ImportBatch.Status.choices,
            "summary": summary,
            "can_add": can_add,
            "pending": uploads.pending(request.user) if can_add else [],
            "can_see_runs": request.user.has_perm("runs.view_run"),
        },
    )


@require_GET
def detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One batch: who imported what and when, its first rows, the runs that read it."""
    batch = _get_batch_for_user(request, batch_id)
    columns, rows, missing_file = [], [], False
    path = workspace.absolute(batch.path) if batch.path else None
    if path is not None and path.is_file():
        columns, rows = _read_rows(path, DETAIL_ROWS)
    else:
        missing_file = True
    can_change = request.user.has_perm("imports.change_importbatch")
    return render(
        request,
        "imports/detail.html",
        {
            "batch": batch,
            "table_label": table_label(batch.table),
            "headers": [_header(batch.table, c) for c in columns],
            "numeric": [_numeric(batch.table, c) for c in columns],
            "rows": rows,
            "shown": len(rows),
            "missing_file": missing_file,
            "runs": batch.runs.select_related("scheme_version__scheme").order_by("-id")
            if request.user.has_perm("runs.view_run")
            else None,
            "events": AuditEvent.objects.filter(
                object_type=ImportBatch._meta.label_lower, object_id=str(batch.pk)
            ),
            "withdraw_form": WithdrawForm()
            if can_change and batch.status == ImportBatch.Status.ACTIVE
            else None,
        },
    )


@require_POST
def withdraw(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Withdraw a batch (a reason is required): audited; the file stays; later runs skip it."""
    batch = _get_batch_for_user(request, batch_id, write=True)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("reason", []):
            messages.error(request, error)
        return redirect("imports:detail", batch.pk)
    try:
        withdraw_batch(batch, request.user, form.cleaned_data["reason"])
    except NotActive:
        messages.error(request, _("批次 #%(id)s 已撤回，不能再次撤回。") % {"id": batch.pk})
    else:
        messages.success(
            request,
            _("已撤回批次 #%(id)s。之后的评价运行不再读取它；已完成的运行仍记录它。")
            % {"id": batch.pk},
        )
    return redirect("imports:detail", batch.pk)


# -- upload, preview, commit -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Choose a table and a file; the file is stored, its inspection queued, its preview
    opened (which follows the inspection)."""
    _require_add(request)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            received = uploads.receive(
                form.cleaned_data["file"], form.cleaned_data["table"], request.user
            )
            try:
                uploads.queued(received, str(inspect_upload_task.enqueue(received.id).id))
            except BaseException:
                uploads.discard(received)
                raise
            return redirect("imports:preview", received.id)
    tables = importable()
    if request.method != "POST":
        initial = {"table": request.GET.get("table")} if request.GET.get("table") in tables else {}
        form = UploadForm(initial=initial)
    contracts = [
        {
            "name": name,
            "label": table_label(name),
            "kind": spec.kind,
            "columns": _contract_columns(name, spec=spec),
        }
        for name, spec in tables.items()
    ]
    return render(
        request,
        "imports/upload.html",
        {"form": form, "contracts": contracts, "pending": uploads.pending(request.user)},
    )


@require_GET
def template(request: HttpRequest, table: str) -> HttpResponse:
    """An empty CSV of a table (UTF-8 with BOM, so Excel opens it): the header row only,
    with the Chinese labels (accepted on upload like the column names)."""
    _require_view(request)
    spec = spec_of(table)
    if spec is None:
        raise Http404
    header = ",".join(label_of(table, c.name, spec) for c in spec.columns)
    response = HttpResponse(("\ufeff" + header + "\r\n").encode(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{table}.csv"'
    return response


def _committed(request: HttpRequest, up: uploads.Upload) -> HttpResponse:
    """An upload committed: its batch, with what was imported."""
    batch = ImportBatch.objects.filter(pk=up.batch_id).first()
    if batch is None:
        raise Http404
    messages.success(
        request,
        _("已导入批次 #%(id)s：%(table)s，%(rows)s 行。")
        % {"id": batch.pk, "table": table_label(batch.table), "rows": f"{batch.rows:,}"},
    )
    return redirect("imports:detail", batch.pk)


@require_GET
def preview(request: HttpRequest, upload_id: str) -> HttpResponse:
    """What the uploaded file holds, every problem in it, and whether it can be committed;
    while the worker inspects or commits it, a progress block that follows the task."""
    up = _get_upload_for_user(request, upload_id)
    if up.state == uploads.COMMITTED:
        return _committed(request, up)
    report = up.report
    duplicate = find_duplicate(up.table, up.checksum) if up.state == uploads.READY else None
    return render(
        request,
        "imports/preview.html",
        {
            "upload": up,
            "report": report,
            "table_label": table_label(up.table),
            "columns": _contract_columns(up.table, report),
            "extra": [{"name": n} for n in report.get("extra", [])],
            "problems": worded(up.table, report.get("problems", [])),
            "more": report.get("total", 0) - len(report.get("problems", [])),
            "conversions": conversions(up.table, report.get("conversions", [])),
            "unknown": _unknown_entities(up.table, report.get("unknown")),
            "unchecked_entity": _unchecked_entity(up.table, report),
            "headers": [_header(up.table, c) for c in report.get("preview_columns", [])],
            "duplicate": duplicate,
            "can_commit": up.ok and duplicate is None,
            "can_discard": uploads.discardable(up),
            "stage": _(up.stage) if up.stage else "",
        },
    )


@require_GET
def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    """Where an upload stands, polled by its preview page while a task is queued or running:
    {progress, stage, finished} (app.js reloads the page when finished), the state, the
    error of a failed inspection or commit, and the batch once committed."""
    up = _get_upload_for_user(request, upload_id)
    return JsonResponse(
        {
            "id": up.id,
            "state": up.state,
            "progress": up.progress,
            "stage": _(up.stage) if up.stage else "",
            "finished": not up.busy,
            "ok": up.ok,
            "error": up.shown_error,
            "batch": up.batch_id,
            "batch_url": reverse("imports:detail", args=[up.batch_id]) if up.batch_id else None,
        }
    )


@require_POST
def commit(request: HttpRequest, upload_id: str) -> HttpResponse:
    """Queue the commit of a checked upload as one batch — all rows or none — and open the
    preview page, which follows it and then opens the batch."""
    up = _get_upload_for_user(request, upload_id)
    if up.state == uploads.COMMITTED:
        return _committed(request, up)
    if up.busy:
        messages.error(
            request,
            _("此文件正在导入，请稍候。")
            if up.state == uploads.COMMITTING
            else _("文件仍在检查中，请稍候。"),
        )
        return redirect("imports:preview", up.id)
    if not up.ok:
        messages.error(request, _("文件有问题，不能导入：请修正后重新上传。"))
        return redirect("imports:preview", up.id)
    if (same := find_duplicate(up.table, up.checksum)) is not None:
        messages.error(
            request,
            format_html(
                _("此文件已导入为批次 {}，未重复导入。"),
                format_html(
                    '<a href="{}">#{}</a>', reverse("imports:detail", args=[same.pk]), same.pk
                ),
            ),
        )
        return redirect("imports:preview", up.id)
    if not uploads.begin_commit(up):
        messages.error(request, _("此文件正在导入，请稍候。"))
        return redirect("imports:preview", up.id)
    try:
        uploads.queued(up, str(commit_upload_task.enqueue(up.id, request.user.pk).id))
    except Exception as exc:
        uploads.end_commit(up, f"{type(exc).__name__}: {exc}")
        raise
    return redirect("imports:preview", up.id)


@require_POST
def discard(request: HttpRequest, upload_id: str) -> HttpResponse:
    """Throw an upload away without importing it (not while it is being committed)."""
    up = _get_upload_for_user(request, upload_id)
    if up.state == uploads.COMMITTED:
        return _committed(request, up)
    if not uploads.discardable(up):
        messages.error(request, _("此文件正在导入，不能放弃。"))
        return redirect("imports:preview", up.id)
    uploads.discard(up)
    messages.success(request, _("已放弃上传的文件 %(name)s。") % {"name": up.file_name})
    return redirect("imports:upload")
