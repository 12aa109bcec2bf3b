"""`pingji manage worker` — the background worker `pingji serve` starts: django-tasks'
database worker (same options as `db_worker`) that also records itself and beats (so pages
know a worker is alive), reaps jobs left by dead workers, keeps its temporary files in the
workspace, and stops when the server that started it is gone (`--parent-pid`)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading

from django.db import connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from pingji.web.jobs import lease, recovery
from pingji.web.jobs.models import Worker
from pingji.web.lib import workspace

log = logging.getLogger(__name__)


def _beat(worker_id: str, parent_pid: int | None, stop: threading.Event) -> None:
    """Refresh the worker's heartbeat and reap dead jobs, each beat; end the process when
    its parent (the server) is gone, so no orphan keeps working."""
    try:
        while not stop.wait(lease.beat_seconds()):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.error("the server (pid %s) is gone: the worker stops", parent_pid)
                os._exit(3)
            try:
                Worker.objects.filter(worker_id=worker_id).update(heartbeat_at=timezone.now())
                recovery.reap()
            except Exception:  # a busy database: the next beat tries again
                log.warning("worker heartbeat failed", exc_info=True)
    finally:
        connections.close_all()


class Command(DbWorkerCommand):
    help = (
        "Run the background worker (django-tasks' database worker that records its heartbeat "
        "and recovers jobs of dead workers)"
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help="stop when this process (the server that started the worker) is gone",
        )

    def handle(self, *args, parent_pid: int | None = None, **options) -> None:
        worker_id = options["worker_id"]
        # the data layer and writers use tempfile: keep their files in the workspace
        tempfile.tempdir = str(workspace.make_tmp_dir())
        lease.register_worker(worker_id)
        recovery.recover()
        stop = threading.Event()
        thread = threading.Thread(
            target=_beat, args=(worker_id, parent_pid, stop), name="worker-heartbeat", daemon=True
        )
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            Worker.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now())
