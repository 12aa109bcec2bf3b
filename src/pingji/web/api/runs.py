"""/api/runs — start an evaluation run, follow it, page through its results, read one
entity's scorecard. Runs execute in the background (django-tasks); poll GET /api/runs/{id}."""

from __future__ import annotations

import math
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from pingji.web.api.access import get_scheme_for_user, require
from pingji.web.api.schemas import (
    Message,
    ResultsPageOut,
    RunBriefOut,
    RunCreatedOut,
    RunIn,
    RunOut,
)
from pingji.web.lib.language import in_viewer_language
from pingji.web.lib.params import MAX_PAGE
from pingji.web.runs import results
from pingji.web.runs.access import get_run_for_user
from pingji.web.runs.models import Run
from pingji.web.runs.services import RunRefused, create_run
from pingji.web.schemes.models import SchemeVersion

router = Router(tags=["评价运行 runs"])

MAX_PAGE_SIZE = 1000


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: send null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _clean_row(row: dict) -> dict:
    """Return a results row with NaN and infinity as null (as `_clean`), looking closer only
    at floats and lists: a page of a thousand rows of a hundred columns is mostly text."""
    out = {}
    for key, value in row.items():
        kind = type(value)
        if kind is str or kind is int or value is None:
            out[key] = value
        elif kind is float:
            out[key] = value if math.isfinite(value) else None
        else:
            out[key] = _clean(value)
    return out


def _brief(run: Run) -> dict:
    v = run.scheme_version
    return {
        "id": run.pk,
        "status": run.status,
        "progress": run.progress,
        "scheme": v.scheme.code,
        "version": v.number,
        "period": run.period,
        "entities": run.entities,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "voided": run.is_voided,
        "voided_at": run.voided_at,
        "void_reason": run.void_reason,
    }


def _tables_read(run: Run) -> list[str]:
    """The tables the run's scheme reads (runs recorded before only those were kept hold
    every active batch of their time)."""
    from pingji.web.runs.services import tables_read
    from pingji.web.schemes.services import resolve_version

    return tables_read(resolve_version(run.scheme_version))


def _finished_run(request: HttpRequest, run_id: int) -> Run:
    run = get_run_for_user(request, run_id)
    if run.status != Run.Status.DONE:
        raise HttpError(
            409,
            f"运行 #{run.pk} 状态为「{run.get_status_display()}」，还没有结果 "
            f"(run #{run.pk} is {run.status}: no results)",
        )
    return run


@router.get(
    "/runs",
    response={200: list[RunBriefOut], 401: Message, 404: Message},
    summary="评价运行列表 (list runs)",
)
def list_runs(
    request: HttpRequest,
    scheme: str | None = None,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    include_voided: bool = Query(False, description="also list voided runs"),
):
    """The latest runs (newest first), optionally of one scheme or in one status; voided
    runs only with `include_voided=true` (they no longer count as the latest)."""
    require(request, "runs.view_run")
    runs = Run.objects.select_related("scheme_version__scheme")
    if not include_voided:
        runs = runs.counted()
    if scheme:
        runs = runs.filter(scheme_version__scheme__code=scheme)
    if status:
        runs = runs.filter(status=status)
    return [_brief(r) for r in runs[:limit]]


@router.post(
    "/runs",
    response={201: RunCreatedOut, 400: Message, 401: Message, 403: Message, 404: Message},
    summary="发起评价运行 (start a run)",
)
def start_run(request: HttpRequest, payload: RunIn):
    """Start a run of a published scheme version over the active import batches.

    Without `version`, the latest published version runs. Answers 201 at once; the run
    executes in the background — follow it with GET /api/runs/{id}."""
    require(request, "runs.view_run", "runs.add_run")
    scheme = get_scheme_for_user(request, payload.scheme)
    if payload.version is None:
        version = scheme.latest_published()
        if version is None:
            message = (
                f"方案 {scheme.code} 还没有已发布的版本 "
                f"(scheme {scheme.code} has no published version)"
            )
            return Status(400, {"detail": message})
    else:
        version = SchemeVersion.objects.filter(scheme=scheme, number=payload.version).first()
        if version is None:
            raise Http404
    params = {str(k): "" if v is None else str(v) for k, v in payload.params.items()}
    try:
        run = create_run(version, payload.period, params, request.user)
    except RunRefused as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, {"id": run.pk, "status": run.status})


@router.get(
    "/runs/{int:run_id}",
    response={200: RunOut, 401: Message, 404: Message},
    summary="运行状态与概要 (run status and summary)",
)
def get_run(request: HttpRequest, run_id: int):
    """A run: its status and progress, what it read (scheme version, period, parameters,
    batches) and, once done, its summary."""
    run = get_run_for_user(request, run_id)
    return {
        **_brief(run),
        "status_label": str(run.get_status_display()),
        "finished": run.is_finished,
        "stage": run.stage,
        "scheme_name": run.scheme_version.scheme.name,
        "params": run.params,
        "ratings_used": run.ratings_used,
        "summary": _clean(run.summary),
        "batches": [
            {
                "id": b.pk,
                "table": b.table,
                "file_name": b.file_name,
                "rows": b.rows,
                "status": b.status,
            }
            for b in run.batches.filter(table__in=_tables_read(run)).order_by("id")
        ],
        # in the caller's language when the run stored its error in every language
        "error": in_viewer_language((run.summary or {}).get("error_text"), run.error),
        "created_by": run.created_by.get_username() if run.created_by else None,
        "started_at": run.started_at,
    }


@router.get(
    "/runs/{int:run_id}/results",
    response={200: ResultsPageOut, 400: Message, 401: Message, 404: Message, 409: Message},
    summary="运行结果，分页 (results, one page)",
)
def run_results(
    request: HttpRequest,
    run_id: int,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
    grade: str | None = None,
    cls: str | None = Query(None, alias="class"),
    status: str | None = None,
    search: str | None = Query(None, description="start of the entity id"),
    sort: str = Query("-score", description="a column, '-' first for descending"),
):
    """One page of a finished run's results (one row per entity), filtered and sorted on the
    server. `grade=__none__` selects entities without a grade."""
    run = _finished_run(request, run_id)
    if page > MAX_PAGE:
        return Status(400, {"detail": f"页码超出范围 (page out of range): 1 … {MAX_PAGE:,}"})
    if sort.lstrip("-") not in results.SORTABLE:
        allowed = ", ".join(results.SORTABLE)
        return Status(400, {"detail": f"不能按 {sort!r} 排序；可用 (sortable): {allowed}"})
    p = results.query(
        run,
        grade=grade or None,
        cls=cls or None,
        status=status or None,
        search=search or None,
        sort=sort,
        page=page,
        size=size,
    )
    return {
        "total": p.total,
        "page": p.page,
        "size": p.size,
        "pages": p.pages,
        "columns": p.columns,
        "rows": [_clean_row(r) for r in p.rows],
    }


@router.get(
    "/runs/{int:run_id}/entities/{entity_id}",
    response={200: dict[str, Any], 401: Message, 404: Message, 409: Message},
    summary="评分卡 (one entity's scorecard)",
)
def scorecard(request: HttpRequest, run_id: int, entity_id: str):
    """One entity's scorecard in one run: score, grade, classes, status and every node."""
    run = _finished_run(request, run_id)
    try:
        from pingji.web.runs.scorecard import build
    except ImportError as exc:  # the scorecard module not written yet: the flat row
        if exc.name != "pingji.web.runs.scorecard":
            raise
        build = None
    card = build(run, entity_id) if build is not None else results.entity_row(run, entity_id)
    if card is None:
        raise Http404
    return _clean(card)
