"""Several server processes for `pingji serve --processes N` (N > 1, not on Windows).

One Python process runs Python on one core at a time, whatever its threads: browsing pages is
mostly Python (middleware, ORM, templates), so a single process levels off at what one core
gives. Here gunicorn's master binds the address once and forks N workers that share it, each
answering with a pool of threads (gunicorn's "gthread" worker). gunicorn restarts a worker that
dies; this module only configures it in code (no configuration file is read) and makes the
master stop when the `pingji serve` that started it is gone.

`pingji serve` runs this module as a child process, beside the background worker, and stops
both together (serve.py); it is not meant to be started by hand:

    python -m pingji.web.prefork --bind 127.0.0.1:8000 --workers 2 --threads 8 --parent-pid PID
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from gunicorn.app.base import BaseApplication

APP = "pingji.web.wsgi:application"


def gunicorn_options(bind: str, workers: int, threads: int) -> dict:
    """Return gunicorn's settings for pingji: what waitress did, with N processes."""
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Each worker imports the application itself after the fork: no database connection,
        # DuckDB thread pool or lock is shared between processes.
        "preload_app": False,
        # Idle keep-alive connections wait in the worker's poller, not in a thread; a browser
        # reading a page for a minute keeps its connection (waitress kept them 120 s).
        "keepalive": 75,
        # A request may take long (an export, a large upload): the worker's heartbeat comes
        # from its own loop, so only a worker whose loop is stuck is restarted after this.
        "timeout": 120,
        "graceful_timeout": 10,
        # URLs with many filters; gunicorn's default of 4 KB is short of waitress' limit.
        "limit_request_line": 8190,
        # Which scheme a browser used is Django's to decide (PINGJI_BEHIND_PROXY), as under
        # waitress: gunicorn itself trusts no forwarded header from anyone.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        # No control socket in the home folder: nothing to collide between two servers on one
        # machine, nothing more to protect.
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "pingji",
    }


class PingjiServer(BaseApplication):
    """gunicorn configured from a dict; each worker loads pingji's WSGI application."""

    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from gunicorn.util import import_app

        return import_app(APP)


def stop_with_parent(parent_pid: int, every: float = 1.0) -> threading.Thread:
    """Watch the process that started this one; when it is gone (killed), stop gunicorn's
    master as SIGTERM does, so no server is left answering without its supervisor."""

    def watch() -> None:
        stopped = threading.Event()
        while not stopped.wait(every):
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    """Run gunicorn's master with pingji's settings until SIGTERM, SIGINT or the parent's end."""
    parser = argparse.ArgumentParser(prog="python -m pingji.web.prefork")
    parser.add_argument("--bind", required=True, help="host:port, [v6 address]:port")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent_pid:
        stop_with_parent(args.parent_pid)
    PingjiServer(gunicorn_options(args.bind, args.workers, args.threads)).run()


if __name__ == "__main__":
    main()
