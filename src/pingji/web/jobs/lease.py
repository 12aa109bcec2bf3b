"""Leases of background jobs: a job's worker refreshes the job's `heartbeat_at` every
`beat_seconds()` while it works (a thread, so a long engine call keeps beating); a job whose
heartbeat is older than `lease_seconds()` (PINGJI_JOB_LEASE, 60 s) is dead and recovery.reap
marks it failed, to be retried at once. Worker processes beat the same way (`Worker`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connections, models
from django.utils import timezone

log = logging.getLogger(__name__)

# Stored in the job (its error), so written out in both languages, Chinese first.
INTERRUPTED = (
    "任务被中断：执行它的后台任务进程已停止（被强制结束或崩溃），没有留下任何结果；可以立即重试。"
    "\n(Interrupted: the background worker running this job stopped — killed or crashed — "
    "and nothing was kept; it can be retried now.)"
)

_worker_id = ""  # set by the worker command in its own process


def lease_seconds() -> float:
    """Return the lease: a job or worker silent this long is dead."""
    return float(settings.PINGJI_JOB_LEASE)


def beat_seconds() -> float:
    """Return how often a job or worker refreshes its heartbeat (six beats per lease)."""
    return max(lease_seconds() / 6, 0.05)


def expired_before() -> dt.datetime:
    """Return the time before which a heartbeat is too old."""
    return timezone.now() - dt.timedelta(seconds=lease_seconds())


def set_worker(worker_id: str) -> None:
    """Name the worker of this process (jobs it runs record it)."""
    global _worker_id
    _worker_id = worker_id


def current_worker() -> str:
    """Return the id of this process's worker ("" outside a worker)."""
    return _worker_id


def _beat(model: type[models.Model], pk, stop: threading.Event) -> None:
    try:
        while not stop.wait(beat_seconds()):
            try:
                model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
            except Exception:  # a busy database: the next beat tries again
                log.debug("heartbeat of %s %s failed", model.__name__, pk, exc_info=True)
    finally:
        connections.close_all()  # this thread's connections only


@contextlib.contextmanager
def hold(model: type[models.Model], pk) -> Iterator[None]:
    """Hold a job's lease while the block runs: its heartbeat is refreshed in a thread."""
    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now(), worker_id=_worker_id)
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat, args=(model, pk, stop), name=f"heartbeat-{model.__name__}-{pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def is_dead(job) -> bool:
    """Whether a started job's lease ran out (its worker stopped beating)."""
    return job.heartbeat_at is None or job.heartbeat_at < expired_before()


# ---------------------------------------------------------------- worker processes


def pid_running(pid: int) -> bool:
    """Whether a process of this machine is running (POSIX; elsewhere: assume it is)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def register_worker(worker_id: str):
    """Record this process as a live worker (the worker command calls it at start)."""
    from pingji.web.jobs.models import Worker

    set_worker(worker_id)
    worker, _ = Worker.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "heartbeat_at": timezone.now(),
            "stopped_at": None,
        },
    )
    return worker


def live_workers():
    """Return the workers that beat within the lease and are not known to have stopped."""
    from pingji.web.jobs.models import Worker

    host = socket.gethostname()
    alive = Worker.objects.filter(heartbeat_at__gte=expired_before(), stopped_at__isnull=True)
    return [w for w in alive if w.host != host or pid_running(w.pid)]


_ALIVE_SECONDS = 5.0  # how long a process trusts its last look (the banner of every page)
_alive: tuple[float, bool] | None = None


def forget() -> None:
    """Drop the process's last look at the workers (tests, which change them at once)."""
    global _alive
    _alive = None


def worker_alive() -> bool:
    """Whether at least one background worker is alive (looked up at most every few
    seconds per process: every page asks, and a worker's lease lasts much longer)."""
    global _alive
    now = time.monotonic()
    if _alive is None or now - _alive[0] > _ALIVE_SECONDS:
        _alive = (now, bool(live_workers()))
    return _alive[1]


def uses_worker() -> bool:
    """Whether background work waits for a worker (the database task backend), rather than
    running inside the request (tests, `PINGJI_TASKS=immediate`)."""
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    return backend.startswith("django_tasks_db")
