"""Crashes mid-work: a background worker killed with SIGKILL while it executes a run,
commits an upload or writes an Excel export. What `pingji serve` does when it starts again
(serve.recover_at_start) marks the job failed as interrupted, closes its django-tasks row
and removes what it left half-written; the job can be retried at once and then succeeds.
`pingji serve` itself starts a new worker when its worker is killed.

Everything runs in separate processes (crashkit.py) on a real workspace with a SQLite file
and the database task backend, as in production; the test reads the database directly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL and process checks are POSIX"),
]

KIT = Path(__file__).resolve().parent / "crashkit.py"
# s (PINGJI_JOB_LEASE): a killed worker is known dead at once (its process is gone); the
# lease only has to outlast a busy machine's pauses between heartbeats
LEASE = 10


class Workspace:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "PINGJI_HOME": str(home),
            "DJANGO_SETTINGS_MODULE": "pingji.web.settings",
            "PINGJI_TASKS": "db",
            "PINGJI_JOB_LEASE": str(LEASE),
            "PINGJI_STATIC_FINDERS": "1",
            "PINGJI_LOG_LEVEL": "ERROR",
        }
        self.env.pop("DATABASE_URL", None)  # always SQLite: the test reads the file

    def drive(self, *args: object):
        out = subprocess.run(
            [sys.executable, str(KIT), "driver", *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    def one(self, sql: str, *params):
        with contextlib.closing(sqlite3.connect(self.home / "pingji.sqlite3", timeout=20)) as db:
            return db.execute(sql, params).fetchone()

    @contextlib.contextmanager
    def worker(self, stage: str = "none"):
        """A worker process (stopping half-way through `stage`); stopped at the end if alive."""
        self.workers = getattr(self, "workers", 0) + 1
        log = (self.home / f"worker-{self.workers}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, str(KIT), "worker", stage],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        proc.log = Path(log.name)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()

    def reached(self, stage: str, proc: subprocess.Popen) -> None:
        marker = self.home / f"reached-{stage}"
        wait_for(lambda: marker.exists() or proc.poll() is not None, f"the {stage} to start")
        assert proc.poll() is None, proc.log.read_text(errors="replace")[-3000:]
        marker.unlink()

    def running_task_rows(self) -> int:
        return self.one(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status='RUNNING'"
        )[0]

    def tmp_files(self) -> list[Path]:
        return sorted((self.home / "tmp").rglob("*"))


def wait_for(condition, what: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=20)  # reaped: its pid is gone


def interrupted(error: str) -> bool:
    return error.startswith("任务被中断：执行它的后台任务进程已停止") and "(Interrupted:" in error


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("crash-home"))
    workspace.version = workspace.drive("setup")
    return workspace


def test_a_run_killed_half_way_is_marked_interrupted_and_can_run_again(ws):
    run_id = ws.drive("run", ws.version)
    with ws.worker("run") as proc:
        ws.reached("run", proc)
        status, heartbeat, worker = ws.one(
            "SELECT status, heartbeat_at, worker_id FROM runs_run WHERE id=?", run_id
        )
        assert (status, bool(heartbeat), bool(worker)) == ("running", True, True)
        assert (ws.home / "runs" / f"{run_id}.partial").is_dir()
        kill(proc)

    assert ws.running_task_rows() == 1  # what a crash leaves
    found = ws.drive("recover")
    assert found["jobs"] >= 2  # the run and its django-tasks row
    status, error, progress = ws.one(
        "SELECT status, error, progress FROM runs_run WHERE id=?", run_id
    )
    assert (status, progress) == ("failed", 100)
    assert interrupted(error)
    assert not (ws.home / "runs" / f"{run_id}.partial").exists()
    assert ws.running_task_rows() == 0

    again = ws.drive("run", ws.version)  # "run again" on the run page does this
    with ws.worker():
        wait_for(
            lambda: ws.one("SELECT status FROM runs_run WHERE id=?", again)[0] == "done",
            "the run again",
        )
    assert (ws.home / "runs" / str(again) / "results.parquet").is_file()


def test_a_commit_killed_half_way_is_ready_again_and_leaves_no_file(ws):
    batches = ws.one("SELECT count(*) FROM imports_importbatch")[0]
    with ws.worker("commit") as proc:
        upload = ws.drive("commit")
        ws.reached("commit", proc)
        assert ws.one("SELECT state FROM imports_upload WHERE id=?", upload)[0] == "committing"
        assert list((ws.home / "batches" / "sales").glob("pending-*.parquet"))
        assert ws.tmp_files()  # the data layer's hard link to the upload
        kill(proc)

    ws.drive("recover")
    state, error = ws.one("SELECT state, error FROM imports_upload WHERE id=?", upload)
    assert state == "ready" and interrupted(error)
    assert not list((ws.home / "batches" / "sales").glob("pending-*"))
    assert ws.tmp_files() == []
    assert ws.one("SELECT count(*) FROM imports_importbatch")[0] == batches
    assert ws.running_task_rows() == 0

    ws.drive("commit", upload)  # committed again at once
    with ws.worker():
        wait_for(
            lambda: ws.one("SELECT state FROM imports_upload WHERE id=?", upload)[0] == "committed",
            "the commit again",
        )
    assert ws.one("SELECT count(*) FROM imports_importbatch")[0] == batches + 1
    assert not (ws.home / "uploads" / upload / "更多发货.csv").exists()


def test_an_export_killed_half_way_is_marked_interrupted_and_can_be_made_again(ws):
    with ws.worker("export") as proc:  # runs are not stopped half-way by this one
        run_id = ws.drive("run", ws.version)
        wait_for(
            lambda: ws.one("SELECT status FROM runs_run WHERE id=?", run_id)[0] == "done",
            "the run",
        )
        exports = ws.home / "runs" / str(run_id) / "exports"
        job = ws.drive("export", run_id)
        ws.reached("export", proc)
        assert ws.one("SELECT state FROM runs_exportjob WHERE id=?", job)[0] == "writing"
        assert list(exports.glob("*.partial"))
        kill(proc)

    ws.drive("recover")
    state, error = ws.one("SELECT state, error FROM runs_exportjob WHERE id=?", job)
    assert state == "failed" and interrupted(error)
    assert list(exports.glob("*")) == []
    assert ws.running_task_rows() == 0

    again = ws.drive("export", run_id)
    with ws.worker():
        wait_for(
            lambda: ws.one("SELECT state FROM runs_exportjob WHERE id=?", again)[0] == "done",
            "the export again",
        )
    (name,) = ws.one("SELECT file_name FROM runs_exportjob WHERE id=?", again)
    assert (exports / name).read_bytes()[:2] == b"PK"


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _live_worker_pids(ws: Workspace) -> set[int]:
    with contextlib.closing(sqlite3.connect(ws.home / "pingji.sqlite3", timeout=20)) as db:
        rows = db.execute(
            "SELECT pid FROM jobs_worker WHERE stopped_at IS NULL "
            "AND heartbeat_at > datetime('now', ?)",
            (f"-{LEASE} seconds",),
        ).fetchall()
    return {pid for (pid,) in rows}


def test_serve_starts_a_new_worker_when_its_worker_is_killed(ws):
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from pingji.web.serve import serve; serve(port={_free_port()})"],
        env=ws.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _live_worker_pids(ws) or proc.poll() is not None, "serve's worker")
        assert proc.poll() is None
        (first,) = _live_worker_pids(ws)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: _live_worker_pids(ws) - {first}, "a new worker")
        (second,) = _live_worker_pids(ws) - {first}
        assert second != first
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "a new worker starts" in output
    wait_for(lambda: not _live_worker_pids(ws), "the worker to stop with the server")
