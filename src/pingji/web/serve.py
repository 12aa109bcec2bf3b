"""`pingji serve`: apply migrations, collect static files, start the background worker and
the production WSGI server (waitress; not Django's runserver), and stop both together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


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


def start_worker() -> subprocess.Popen:
    """Start the django-tasks database worker (evaluation runs, imports) as a child process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pingji.web.manage",
            "db_worker",
            "--no-reload",
            "--queue-name",
            "*",
            "--interval",
            "0.5",
        ],
        env=os.environ.copy(),
    )


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8, worker: bool = True) -> None:
    """Serve until interrupted; the worker stops with the server."""
    prepare()
    from waitress import serve as waitress_serve

    from pingji.web.wsgi import application

    child = start_worker() if worker else None

    def stop(signum, frame):  # SIGTERM ends the server like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"pingji: http://{host}:{port}/  (workspace {os.environ.get('PINGJI_HOME') or 'pingji-data'})",
        flush=True,
    )
    try:
        waitress_serve(application, host=host, port=port, threads=threads, ident="pingji")
    except KeyboardInterrupt:
        pass
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
