"""Who may see and start runs — one place for the run pages, the scorecard and the REST API.

Runs are invisible (404) without `runs.view_run` (raters, users without a role); starting one
needs `runs.add_run` (403 for viewers); voiding or restoring one needs `runs.void_run`
(analysts, administrators; 403 for viewers). A run's results never change once created."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from pingji.web.jobs import lease
from pingji.web.runs.models import Run


def require_runs(request: HttpRequest, write: bool = False) -> None:
    """Raise Http404 unless the user may see runs; PermissionDenied unless they may start one."""
    if not request.user.has_perm("runs.view_run"):
        raise Http404("no such run")
    if write and not request.user.has_perm("runs.add_run"):
        raise PermissionDenied


def get_run_for_user(request: HttpRequest, run_id: int, write: bool = False) -> Run:
    """Return run `run_id` if the user may see it (404 otherwise); with `write`, only if they
    may start runs (403 otherwise)."""
    require_runs(request, write)
    run = get_object_or_404(
        Run.objects.select_related("scheme_version__scheme", "created_by"), pk=run_id
    )
    if run.status == Run.Status.RUNNING and lease.is_dead(run):
        from pingji.web.jobs.recovery import fail_dead_run

        if fail_dead_run(run.pk):  # its worker died: say so now, it may be run again
            run.refresh_from_db()
    return run


def get_run_to_void(request: HttpRequest, run_id: int) -> Run:
    """Return run `run_id` if the user may see it (404 otherwise) and may void or restore
    runs (403 otherwise)."""
    run = get_run_for_user(request, run_id)
    if not request.user.has_perm("runs.void_run"):
        raise PermissionDenied
    return run
