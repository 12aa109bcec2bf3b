"""Leases and recovery inside one process: a job whose heartbeat is older than the lease (or
whose worker's process is gone) is marked failed as interrupted and can be retried at once;
django-tasks rows of a dead worker are closed; leftovers are removed when the server starts;
the run and import pages say when no worker is alive. (The same with real processes killed
by SIGKILL: test_crash_recovery.py.)"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid

from django.conf import settings
from django.test import TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from tests.web.runs.support import import_small, small_scheme

from pingji.web.imports.models import Upload
from pingji.web.jobs import lease, recovery
from pingji.web.jobs.models import Worker
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import ExportJob, Run

DB_TASKS = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
NO_WORKER = "后台任务进程未运行"


def gone_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def long_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.PINGJI_JOB_LEASE + 5)


class LeaseTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)

    def running_run(self, **fields) -> Run:
        fields.setdefault("heartbeat_at", timezone.now())
        return Run.objects.create(
            scheme_version=self.version,
            period="2025",
            status=Run.Status.RUNNING,
            progress=20,
            stage="计算中",
            started_at=timezone.now(),
            **fields,
        )

    def worker(self, pid: int, heartbeat: dt.datetime | None = None) -> Worker:
        return Worker.objects.create(
            worker_id=uuid.uuid4().hex,
            pid=pid,
            host=socket.gethostname(),
            heartbeat_at=heartbeat or timezone.now(),
        )

    def test_a_run_whose_heartbeat_is_older_than_the_lease_is_failed_when_looked_at(self):
        self.login(self.analyst)
        run = self.running_run(heartbeat_at=long_ago())
        status = self.client.get(reverse("runs:status", args=[run.pk])).json()
        self.assertEqual((status["status"], status["finished"]), ("failed", True))
        run.refresh_from_db()
        self.assertTrue(run.error.startswith("任务被中断：执行它的后台任务进程已停止"))
        self.assertIn("(Interrupted: the background worker", run.error)
        self.assertIsNotNone(run.finished_at)
        page = self.client.get(reverse("runs:detail", args=[run.pk]))
        self.assertContains(page, "任务被中断")
        self.assertContains(page, "以相同设置重新运行")  # retried at once

    def test_a_run_that_beats_within_the_lease_keeps_running(self):
        self.login(self.analyst)
        run = self.running_run()
        status = self.client.get(reverse("runs:status", args=[run.pk])).json()
        self.assertEqual((status["status"], status["finished"]), ("running", False))
        self.assertEqual(recovery.reap(), 0)
        run.refresh_from_db()
        self.assertEqual(run.status, "running")

    def test_jobs_of_a_worker_whose_process_is_gone_are_failed_at_once(self):
        dead = self.worker(gone_pid())
        run = self.running_run(worker_id=dead.worker_id)  # heartbeat fresh
        upload = Upload.objects.create(
            id=uuid.uuid4().hex,
            table="sales",
            file_name="a.csv",
            checksum="0" * 64,
            report={"ok": True},
            state="committing",
            heartbeat_at=timezone.now(),
            worker_id=dead.worker_id,
        )
        job = ExportJob.objects.create(
            id=uuid.uuid4().hex,
            run=Run.objects.create(scheme_version=self.version, period="2024"),
            file_name="x.xlsx",
            state="writing",
            heartbeat_at=timezone.now(),
            worker_id=dead.worker_id,
        )
        self.assertEqual(recovery.reap(), 3)
        run.refresh_from_db()
        upload.refresh_from_db()
        job.refresh_from_db()
        self.assertEqual((run.status, run.stage), ("failed", "中断"))
        self.assertEqual(upload.state, "ready")  # an interrupted commit may be tried again
        self.assertEqual(job.state, "failed")
        for error in (run.error, upload.error, job.error):
            self.assertEqual(error, lease.INTERRUPTED)
        dead.refresh_from_db()
        self.assertIsNotNone(dead.stopped_at)
        self.assertEqual(recovery.reap(), 0)  # once

    def test_a_run_left_running_without_any_heartbeat_is_failed(self):
        run = self.running_run(heartbeat_at=None)  # by the version before leases
        self.assertEqual(recovery.reap(), 1)
        run.refresh_from_db()
        self.assertEqual((run.status, run.error), ("failed", lease.INTERRUPTED))

    def test_a_live_worker_keeps_its_jobs(self):
        alive = self.worker(os.getpid())
        run = self.running_run(worker_id=alive.worker_id)
        self.assertEqual(recovery.reap(), 0)
        run.refresh_from_db()
        self.assertEqual(run.status, "running")

    @DB_TASKS
    def test_task_rows_left_running_by_a_dead_worker_are_closed(self):
        dead, alive = self.worker(gone_pid()), self.worker(os.getpid())

        def task_row(owner: Worker) -> DBTaskResult:
            return DBTaskResult.objects.create(
                status="RUNNING",
                args_kwargs={"args": [1], "kwargs": {}},
                task_path="pingji.web.runs.tasks.execute_run_task",
                backend_name="default",
                run_after=timezone.now(),
                started_at=timezone.now(),
                worker_ids=[owner.worker_id],
            )

        lost, kept = task_row(dead), task_row(alive)
        queued = Run.objects.create(
            scheme_version=self.version, period="2025", task_id=str(lost.pk)
        )
        recovery.reap()
        lost.refresh_from_db()
        kept.refresh_from_db()
        self.assertEqual((lost.status, kept.status), ("FAILED", "RUNNING"))
        self.assertEqual(lost.traceback, lease.INTERRUPTED)
        # the run it would have executed never will: failed too, to be run again
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.error), ("failed", lease.INTERRUPTED))


class HeartbeatTest(TransactionTestCase):
    """The heartbeat thread writes through its own connection: committed rows only."""

    def test_holding_a_lease_refreshes_the_heartbeat_while_the_work_runs(self):
        upload = Upload.objects.create(
            id=uuid.uuid4().hex, table="sales", file_name="a.csv", checksum="0" * 64
        )
        with override_settings(PINGJI_JOB_LEASE=1), lease.hold(Upload, upload.pk):
            upload.refresh_from_db()
            first = upload.heartbeat_at
            self.assertGreater(first, long_ago())
            time.sleep(0.6)  # three beats of a one-second lease
            upload.refresh_from_db()
            self.assertGreater(upload.heartbeat_at, first)
        last = Upload.objects.get(pk=upload.pk).heartbeat_at
        time.sleep(0.4)
        self.assertEqual(Upload.objects.get(pk=upload.pk).heartbeat_at, last)  # it stopped


class LeftoversTest(WebTestCase):
    def make(self, relative: str, directory: bool = False):
        path = self.home / relative
        if directory:
            path.mkdir(parents=True)
            (path / "results.parquet").write_bytes(b"half")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        return path

    def test_at_start_every_half_written_and_temporary_file_goes(self):
        leftovers = [
            self.make("runs/7.partial", directory=True),
            self.make("runs/3/exports/pingji-run3.xlsx.partial"),
            self.make("batches/sales/pending-0a1b.parquet"),
            self.make("batches/sales/9.parquet.partial"),
            self.make("cache/entities/customers-1.parquet.ab12.partial"),
            self.make("tmp/pingji-upload-x/sales.csv"),
            self.make("tmp/tmpab12.upload.csv"),
            self.make("uploads/api-1234.csv"),
        ]
        kept = [
            self.make("runs/3/results.parquet"),
            self.make("runs/3/exports/pingji-run3.xlsx"),
            self.make("batches/sales/9.parquet"),
            self.make("uploads/0123456789abcdef0123456789abcdef/a.csv"),
        ]
        found = recovery.recover(at_start=True)
        self.assertEqual(found["files"], len(leftovers))
        self.assertEqual([p for p in leftovers if p.exists()], [])
        self.assertEqual([p for p in kept if not p.exists()], [])

    def test_while_serving_only_old_leftovers_go(self):
        week_ago = time.time() - 7 * 86400
        old = [self.make("tmp/old.csv"), self.make("batches/sales/pending-0a1b.parquet")]
        for path in old:
            os.utime(path, (week_ago, week_ago))
        new = [
            self.make("tmp/being-uploaded.csv"),
            self.make("runs/7.partial", directory=True),
            self.make("batches/sales/pending-2c3d.parquet"),
        ]
        self.assertEqual(recovery.recover(at_start=False)["files"], 2)
        self.assertEqual([p for p in old if p.exists()], [])
        self.assertEqual([p for p in new if not p.exists()], [])


class WorkerBannerTest(WebTestCase):
    pages = ("runs:list", "runs:new", "imports:list", "imports:upload")

    def setUp(self):
        self.login(self.analyst)

    @DB_TASKS
    def test_the_run_and_import_pages_say_when_no_worker_is_alive(self):
        for name in self.pages:
            with self.subTest(page=name):
                self.assertContains(self.client.get(reverse(name)), NO_WORKER)
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        self.assertContains(
            self.client.get(reverse("runs:list")), "No background worker is running"
        )

    @DB_TASKS
    def test_a_worker_that_beats_silences_it(self):
        Worker.objects.create(
            worker_id="w1", pid=os.getpid(), host=socket.gethostname(), heartbeat_at=timezone.now()
        )
        for name in self.pages:
            with self.subTest(page=name):
                self.assertNotContains(self.client.get(reverse(name)), NO_WORKER)

    @DB_TASKS
    def test_a_worker_silent_for_longer_than_the_lease_does_not(self):
        Worker.objects.create(
            worker_id="w1", pid=os.getpid(), host=socket.gethostname(), heartbeat_at=long_ago()
        )
        self.assertContains(self.client.get(reverse("runs:list")), NO_WORKER)

    def test_without_the_database_backend_nothing_waits_for_a_worker(self):
        self.assertNotContains(self.client.get(reverse("runs:list")), NO_WORKER)
