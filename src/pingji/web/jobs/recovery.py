"""Recovery after a crash: dead jobs are marked failed (to be retried at once), django-tasks
rows left RUNNING by a dead worker are closed, and leftovers in the workspace (half-written
`*.partial` files, temporary files) are removed.

`reap()` is safe at any time and runs in every worker's heartbeat thread (and when a page
shows a job); `recover(at_start=True)` also empties the workspace's temporary folder and
removes every `*.partial`, which is safe only while no worker and no request is working:
`pingji serve` calls it before it starts them."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import socket
import time
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from pingji.web.jobs import lease
from pingji.web.lib import workspace

log = logging.getLogger(__name__)

TMP_KEEP_SECONDS = 24 * 3600  # temporary files older than this go even while serving
WORKERS_KEEP_DAYS = 7  # records of stopped workers


def gone_workers() -> set[str]:
    """Return the ids of workers known to have stopped: they said so (or their server did),
    or their process is no longer running on this machine. (A worker that is merely silent
    is not gone: its jobs die by their own lease.)"""
    from pingji.web.jobs.models import Worker

    host = socket.gethostname()
    gone = set(Worker.objects.filter(stopped_at__isnull=False).values_list("worker_id", flat=True))
    vanished = [
        w.worker_id
        for w in Worker.objects.filter(stopped_at__isnull=True, host=host)
        if not lease.pid_running(w.pid)
    ]
    Worker.objects.filter(worker_id__in=vanished).update(stopped_at=timezone.now())
    gone.update(vanished)
    gone.discard(lease.current_worker())  # this process is alive, however slow
    return gone


def fail_dead_tasks(gone: set[str]) -> int:
    """Close django-tasks rows left RUNNING by a worker that is gone (or, after a lease, by a
    worker not beating); return how many."""
    from django_tasks_db.models import DBTaskResult

    live = {w.worker_id for w in lease.live_workers()}
    if lease.current_worker():
        live.add(lease.current_worker())
    closed = 0
    for row in DBTaskResult.objects.filter(status="RUNNING"):
        owner = row.worker_ids[-1] if row.worker_ids else ""
        old = row.started_at is None or row.started_at < lease.expired_before()
        if owner in gone or (owner not in live and old):
            closed += DBTaskResult.objects.filter(pk=row.pk, status="RUNNING").update(
                status="FAILED",
                finished_at=timezone.now(),
                exception_class_path="pingji.web.jobs.lease.INTERRUPTED",
                traceback=lease.INTERRUPTED,
            )
    return closed


def _finished_task_ids(task_ids) -> set[str]:
    """Of these django-tasks ids, those whose row finished or is gone (never to run)."""
    import uuid

    from django_tasks_db.models import DBTaskResult

    wanted = {}
    for tid in task_ids:
        try:
            wanted[uuid.UUID(tid)] = tid
        except ValueError:
            continue
    pending = set(
        DBTaskResult.objects.filter(pk__in=wanted, status__in=("READY", "RUNNING")).values_list(
            "pk", flat=True
        )
    )
    return {tid for key, tid in wanted.items() if key not in pending}


def _dead(started: Q, dead: set[str]) -> Q:
    """Started jobs whose lease ran out or whose worker is gone."""
    limit = lease.expired_before()
    return started & (
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True) | Q(worker_id__in=dead)
    )


def _lost(model, queued: Q) -> list:
    """Queued jobs whose task will never run (its row failed or is gone)."""
    rows = list(model.objects.filter(queued).exclude(task_id="").values_list("pk", "task_id"))
    if not lease.uses_worker() or not rows:
        return []
    gone = _finished_task_ids([t for _, t in rows])
    return [pk for pk, t in rows if t in gone]


def reap() -> int:
    """Mark every dead job failed (runs, uploads' inspections and commits, exports) with
    lease.INTERRUPTED; return how many. Safe at any time: only jobs without a live worker."""
    from pingji.web.imports import uploads
    from pingji.web.imports.models import Upload
    from pingji.web.runs import exports
    from pingji.web.runs.models import ExportJob, Run

    dead = gone_workers()
    count = fail_dead_tasks(dead)
    now = timezone.now()

    # runs: the run page offers "run again" for a failed run (a running run always has a
    # heartbeat, but for those left running by the version before leases)
    running = Q(status=Run.Status.RUNNING)
    for run_id in Run.objects.filter(_dead(running, dead)).values_list("pk", flat=True):
        count += _fail_run(run_id, _dead(running, dead), now)
    for run_id in _lost(Run, Q(status=Run.Status.QUEUED)):
        count += _fail_run(run_id, Q(status=Run.Status.QUEUED), now)

    # uploads: an interrupted inspection fails; an interrupted commit is ready to try again
    busy = Q(state__in=uploads.BUSY, heartbeat_at__isnull=False)
    lost = _lost(Upload, Q(state__in=uploads.BUSY, heartbeat_at__isnull=True))
    for up in Upload.objects.filter(_dead(busy, dead) | Q(pk__in=lost)):
        count += uploads.interrupted(up)

    # Excel exports
    writing = Q(state=exports.WRITING, heartbeat_at__isnull=False)
    lost = _lost(ExportJob, Q(state=exports.QUEUED))
    for job in ExportJob.objects.filter(_dead(writing, dead) | Q(pk__in=lost)):
        count += exports.interrupted(job)

    from pingji.web.jobs.models import Worker

    Worker.objects.filter(stopped_at__lt=now - dt.timedelta(days=WORKERS_KEEP_DAYS)).delete()
    if count:
        log.warning("recovered %d interrupted job(s)", count)
    return count


def fail_dead_run(run_id: int) -> int:
    """Mark a running run failed as interrupted (its lease ran out); return 1, or 0 if it
    finished meanwhile."""
    from pingji.web.runs.models import Run

    stale = Q(heartbeat_at__lt=lease.expired_before()) | Q(heartbeat_at__isnull=True)
    return _fail_run(run_id, Q(status=Run.Status.RUNNING) & stale, timezone.now())


def _fail_run(run_id: int, was: Q, now) -> int:
    from pingji.web.runs.files import run_dir
    from pingji.web.runs.models import Run

    changed = Run.objects.filter(was, pk=run_id).update(
        status=Run.Status.FAILED,
        error=lease.INTERRUPTED,
        stage="中断",
        progress=100,
        finished_at=now,
    )
    if changed:
        run = Run(pk=run_id)
        shutil.rmtree(run_dir(run).with_name(f"{run_id}.partial"), ignore_errors=True)
    return changed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_workspace(at_start: bool) -> int:
    """Remove leftovers of interrupted work; return how many. At start (nothing else is
    working): every `*.partial` and pending file and everything in the temporary folder;
    else only those older than TMP_KEEP_SECONDS (no work leaves a file untouched that long)."""
    removed = 0
    limit = time.time() - TMP_KEEP_SECONDS
    tmp = workspace.tmp_dir()
    if tmp.is_dir():
        for entry in tmp.iterdir():
            if at_start or entry.lstat().st_mtime < limit:
                _remove(entry)
                removed += 1
    for folder in (workspace.runs_dir(), workspace.batches_dir(), workspace.home() / "cache"):
        if not folder.is_dir():
            continue
        for entry in list(folder.rglob("*.partial")) + list(folder.rglob("pending-*.parquet")):
            if at_start or entry.lstat().st_mtime < limit:
                _remove(entry)
                removed += 1
    if not at_start:
        return removed
    uploads_root = workspace.uploads_dir()
    if uploads_root.is_dir():  # copies of API uploads made by an earlier version
        for entry in uploads_root.glob("api-*"):
            _remove(entry)
            removed += 1
    return removed


def recover(at_start: bool = False) -> dict:
    """Reap dead jobs and clean the workspace (everything left over when `at_start`)."""
    jobs = reap()
    # another worker still alive (started by hand, or left by a killed server) may be
    # writing its *.partial files: then only old temporary files go
    files = clean_workspace(at_start and not lease.live_workers())
    if files:
        log.warning("removed %d leftover file(s) of interrupted work", files)
    return {"jobs": jobs, "files": files}
