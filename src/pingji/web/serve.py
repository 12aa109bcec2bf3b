"""`pingji serve`: apply migrations, collect static files, recover what a crash left (dead
jobs, half-written files, temporary files), start the background worker and the production
WSGI server (not Django's runserver), restart the worker whenever it dies, and stop both
together.

The server is waitress in this process with `--processes 1` (and always on Windows), or
gunicorn's master with N worker processes (prefork.py) as a child process beside the
background worker: one Python process runs Python on one core at a time, so N processes are
what lets a page-browsing crowd use N cores."""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

log = logging.getLogger("pingji.serve")

RESTART_DELAYS = (1, 2, 5, 10, 30, 60)  # s before restarting a worker that died n times in a row
STEADY_AFTER = 60  # s: a worker that lived this long starts the count of deaths afresh


def setup_django() -> None:
    """Configure Django with pingji's settings (idempotent)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
    import django

    django.setup()


def prepare(verbosity: int = 0) -> None:
    """Bring the app database up to date and collect static files into the workspace."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    call_command("collectstatic", interactive=False, verbosity=verbosity)


def recover_at_start() -> dict:
    """Before anything works: mark jobs of dead workers failed, remove half-written files and
    the temporary folder's leftovers; keep this process's temporary files in the workspace."""
    setup_django()
    from pingji.web.jobs.recovery import recover
    from pingji.web.lib import workspace

    tempfile.tempdir = str(workspace.make_tmp_dir())
    found = recover(at_start=True)
    if found["jobs"] or found["files"]:
        print(
            f"pingji: recovered {found['jobs']} interrupted job(s), removed "
            f"{found['files']} leftover file(s)",
            flush=True,
        )
    return found


def start_worker(worker_id: str | None = None) -> subprocess.Popen:
    """Start the background worker (django-tasks' database worker with heartbeats, see
    jobs/management/commands/worker.py) as a child process that stops when this one is gone."""
    command = [
        sys.executable,
        "-m",
        "pingji.web.manage",
        "worker",
        "--no-reload",
        "--no-startup-delay",
        "--queue-name",
        "*",
        "--interval",
        "0.5",
        "--parent-pid",
        str(os.getpid()),
    ]
    if worker_id:
        command += ["--worker-id", worker_id]
    return subprocess.Popen(command, env=os.environ.copy())


class WorkerSupervisor:
    """Keep one background worker running: start it, and when it dies (killed, crashed, out
    of memory) mark its jobs failed at once and start another, waiting longer after each
    death in a row (RESTART_DELAYS)."""

    def __init__(self, check_every: float = 1.0) -> None:
        self.check_every = check_every
        self.child: subprocess.Popen | None = None
        self.worker_id = ""
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        import secrets

        self.worker_id = f"serve-{os.getpid()}-{secrets.token_hex(6)}"
        self.child = start_worker(self.worker_id)
        self.started = time.monotonic()
        self._record_start()

    def _record_start(self) -> None:
        """Record the new worker at once (it records itself once started, seconds later),
        so pages do not say that no worker is alive meanwhile."""
        import socket

        from django.db import connections
        from django.utils import timezone

        from pingji.web.jobs.models import Worker

        try:
            Worker.objects.update_or_create(
                worker_id=self.worker_id,
                defaults={
                    "pid": self.child.pid,
                    "host": socket.gethostname(),
                    "heartbeat_at": timezone.now(),
                    "stopped_at": None,
                },
            )
        except Exception:
            log.exception("recording the new worker failed")
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()

    def start(self) -> None:
        self._start()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        deaths = 0
        while not self._stop.wait(self.check_every):
            code = self.child.poll() if self.child is not None else None
            if code is None:
                continue
            if self._stop.is_set():
                return
            lived = time.monotonic() - self.started
            deaths = 1 if lived > STEADY_AFTER else deaths + 1
            delay = RESTART_DELAYS[min(deaths, len(RESTART_DELAYS)) - 1]
            print(
                f"pingji: the background worker (pid {self.child.pid}) stopped with code {code}; "
                f"its jobs are marked interrupted, a new worker starts in {delay} s",
                flush=True,
            )
            self._reap_dead()
            if self._stop.wait(delay):
                return
            self._start()
            self.restarts += 1

    def _reap_dead(self) -> None:
        from django.db import connections
        from django.utils import timezone

        from pingji.web.jobs.models import Worker
        from pingji.web.jobs.recovery import reap

        try:
            Worker.objects.filter(worker_id=self.worker_id).update(stopped_at=timezone.now())
            reap()
        except Exception:
            log.exception("recovering the jobs of the dead worker failed")
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()


MAX_DEFAULT_PROCESSES = 8  # more processes than this each hold memory for little gain
SERVER_STOP_TIMEOUT = 20  # s: gunicorn's graceful stop (10 s) and then some


def default_processes() -> int:
    """Return how many server processes `pingji serve` starts unless told: one per core, at
    most MAX_DEFAULT_PROCESSES; one on Windows, where gunicorn does not run."""
    if os.name == "nt":
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_PROCESSES))


def _bind(host: str, port: int) -> str:
    """Return gunicorn's address for host and port ("[::1]:8000" for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def start_server_processes(host: str, port: int, processes: int, threads: int) -> subprocess.Popen:
    """Start gunicorn's master (pingji.web.prefork) with `processes` workers as a child process
    that stops when this one is gone."""
    command = [
        sys.executable,
        "-m",
        "pingji.web.prefork",
        "--bind",
        _bind(host, port),
        "--workers",
        str(processes),
        "--threads",
        str(threads),
        "--parent-pid",
        str(os.getpid()),
    ]
    return subprocess.Popen(command, env=os.environ.copy())


def _stop_child(child: subprocess.Popen, timeout: float) -> None:
    """Ask a child process to stop (SIGTERM), and kill it if it has not within timeout s."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 8,
    worker: bool = True,
    processes: int | None = None,
) -> int:
    """Serve until interrupted; the worker stops with the server. Return the exit code: 0, or
    the server processes' own when they stopped by themselves (e.g. the port was taken)."""
    if processes is None:
        processes = default_processes()
    if processes < 1 or threads < 1:
        raise ValueError("processes and threads must be at least 1")
    if processes > 1 and (os.name == "nt" or importlib.util.find_spec("gunicorn") is None):
        print(
            "pingji: several server processes need gunicorn (pip install 'pingji[web]'; it "
            "does not run on Windows): serving with one process",
            flush=True,
        )
        processes = 1
    prepare()
    recover_at_start()
    from django.db import connections

    supervisor = WorkerSupervisor() if worker else None
    if supervisor is not None:
        supervisor.start()
    # The server processes open their own connections; none is kept idle here meanwhile.
    connections.close_all()

    def stop(signum, frame):  # SIGTERM ends the server like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C too, even when started with SIGINT ignored (a non-interactive shell's `cmd &`
    # hands its background jobs SIGINT ignored, and Python then keeps it so)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = None
    code = 0
    try:
        if processes > 1:
            server = start_server_processes(host, port, processes, threads)
        print(
            f"pingji: http://{host}:{port}/  ({processes} process(es) × {threads} threads; "
            f"workspace {os.environ.get('PINGJI_HOME') or 'pingji-data'})",
            flush=True,
        )
        if server is None:
            from waitress import serve as waitress_serve

            from pingji.web.wsgi import application

            waitress_serve(application, host=host, port=port, threads=threads, ident="pingji")
        else:
            code = server.wait()
            print(f"pingji: the web server stopped with code {code}", flush=True)
            code = 128 - code if code < 0 else code  # killed by a signal: the shell's way
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            _stop_child(server, SERVER_STOP_TIMEOUT)
        if supervisor is not None:
            supervisor.stop()
    return code
