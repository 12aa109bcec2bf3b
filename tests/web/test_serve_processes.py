"""`pingji serve --processes N`: N server processes answer on one address, a dead one is
replaced, and SIGTERM (or Ctrl-C) stops them all together with the background worker; a
killed `pingji serve` leaves no server and no worker behind. `--processes 1` is waitress in
the serve process itself, as before.

Each test starts a real `pingji serve` on a fresh SQLite workspace and finds its processes
in /proc (Linux)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pingji.web import prefork, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)"),
]

START_TIMEOUT = 120  # s: migrations on an empty database, on a busy machine
# s: serve stops gunicorn (its graceful stop is 10 s, killed after 20) and then the worker
# (joined 5 s, killed after 10): up to ~35 s; twice that for a busy 2-core CI machine
STOPPED_WITHIN = 120


# ----------------------------------------------------------------------------- processes


def _stat(pid: int) -> tuple[str, int] | None:
    """The state letter and the parent of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    found = _stat(pid)
    return found is not None and found[0] != "Z"  # a zombie has stopped; only its entry is left


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and stat[1] == pid and stat[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def wait_for(condition, what: str, timeout: float = START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# ----------------------------------------------------------------------------- a server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str = "/login/") -> int:
    """GET path over a new connection; return the status (0 when nothing answers)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        con.request("GET", path)
        return con.getresponse().status
    except OSError:
        return 0
    finally:
        con.close()


def _env(home: Path) -> dict[str, str]:
    """The environment of a production `pingji serve` (not the tests' settings) on home."""
    env = {
        **os.environ,
        "PINGJI_HOME": str(home),
        "PINGJI_LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "pingji.web.settings",
    }
    for name in ("DATABASE_URL", "PINGJI_TASKS", "PINGJI_DEBUG"):
        env.pop(name, None)
    return env


class Served:
    """A running `pingji serve`, its gunicorn master (if any) and its background worker."""

    def __init__(self, home: Path, *options: str) -> None:
        self.port = _free_port()
        self.log = home / "serve.log"
        env = _env(home)
        command = [sys.executable, "-m", "pingji.cli.main", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [*command, *options], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(lambda: self.proc.poll() is not None or get(self.port) == 200, "the server")
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def child(self, marker: str) -> int | None:
        """The child of serve whose command line holds marker, if it has one."""
        for pid in _children(self.proc.pid):
            if marker in _cmdline(pid):
                return pid
        return None

    def master(self) -> int | None:
        return self.child("pingji.web.prefork")

    def worker(self) -> int | None:
        return self.child("pingji.web.manage")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def served(tmp_path):
    started: list[Served] = []

    def start(*options: str) -> Served:
        server = Served(tmp_path, *options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ----------------------------------------------------------------------------- tests


def test_it_serves_with_as_many_processes_as_asked_each_answering(served):
    server = served("--processes", "2", "--threads", "2")
    master = server.master()
    assert master is not None, server.output()
    workers = wait_for(lambda: len(_children(master)) == 2 and _children(master), "2 workers")
    # With one process paused, the other alone accepts and answers new connections: each of
    # the two answers by itself.
    for paused in workers:
        os.kill(paused, signal.SIGSTOP)
        try:
            assert [get(server.port) for _ in range(3)] == [200, 200, 200]
        finally:
            os.kill(paused, signal.SIGCONT)
    assert "2 process(es) × 2 threads" in server.output()


def test_a_killed_server_process_is_replaced_and_the_others_keep_answering(served):
    server = served("--processes", "2")
    master = server.master()
    first, second = wait_for(lambda: len(_children(master)) == 2 and _children(master), "workers")
    os.kill(first, signal.SIGKILL)
    replaced = wait_for(
        lambda: len(set(_children(master)) - {first}) == 2 and set(_children(master)), "a new one"
    )
    assert first not in replaced and second in replaced
    assert get(server.port) == 200


def test_sigterm_stops_every_server_process_and_the_worker(served):
    server = served("--processes", "2")
    master = server.master()
    worker = wait_for(server.worker, "the background worker")
    workers = wait_for(lambda: len(_children(master)) == 2 and _children(master), "2 workers")
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=STOPPED_WITHIN) == 0
    for pid in (master, worker, *workers):
        wait_for(lambda pid=pid: not _alive(pid), f"process {pid} to stop", timeout=30)
    assert get(server.port) == 0


def test_ctrl_c_stops_every_server_process_and_the_worker(served):
    server = served("--processes", "2")
    master = server.master()
    worker = wait_for(server.worker, "the background worker")
    workers = wait_for(lambda: len(_children(master)) == 2 and _children(master), "2 workers")
    server.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to serve
    assert server.proc.wait(timeout=STOPPED_WITHIN) == 0
    for pid in (master, worker, *workers):
        wait_for(lambda pid=pid: not _alive(pid), f"process {pid} to stop", timeout=30)


def test_a_killed_serve_leaves_no_server_process_and_no_worker(served):
    server = served("--processes", "2")
    master = server.master()
    worker = wait_for(server.worker, "the background worker")
    workers = wait_for(lambda: len(_children(master)) == 2 and _children(master), "2 workers")
    server.proc.kill()
    server.proc.wait()
    for pid in (master, worker, *workers):
        wait_for(lambda pid=pid: not _alive(pid), f"orphan {pid} to stop", timeout=60)
    assert get(server.port) == 0


def test_one_process_is_waitress_in_serve_itself_and_stops_with_its_worker(served):
    server = served("--processes", "1")
    assert server.master() is None
    worker = wait_for(server.worker, "the background worker")
    assert get(server.port, "/runs/") == 302  # to the login page: the app answers
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=STOPPED_WITHIN) == 0
    wait_for(lambda: not _alive(worker), "the worker to stop", timeout=30)


def test_a_taken_port_stops_serve_with_an_error_and_its_worker(served, tmp_path):
    server = served("--processes", "2")
    worker_of_first = wait_for(server.worker, "the background worker")
    home = tmp_path / "second"
    home.mkdir()
    env = _env(home)
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "pingji.cli.main",
            "serve",
            "--port",
            str(server.port),
            "--processes",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert second.returncode != 0
    assert "the web server stopped with code" in second.stdout
    assert get(server.port) == 200  # the first server is untouched
    assert server.worker() == worker_of_first
    assert "stopped with code" not in server.output()  # and its worker never died


def test_the_default_is_one_process_per_core_at_most_eight(monkeypatch):
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    assert serve.default_processes() == 2
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 64)
    assert serve.default_processes() == 8
    monkeypatch.setattr(serve.os, "cpu_count", lambda: None)
    assert serve.default_processes() == 1


def test_an_ipv6_address_is_bracketed_for_gunicorn():
    assert serve._bind("::1", 8000) == "[::1]:8000"
    assert serve._bind("0.0.0.0", 80) == "0.0.0.0:80"


def test_gunicorn_trusts_no_forwarded_header_django_decides():
    from gunicorn.config import Config
    from gunicorn.http.message import Request
    from gunicorn.http.unreader import IterUnreader

    config = Config()
    for key, value in prefork.gunicorn_options("127.0.0.1:1", 2, 4).items():
        config.set(key, value)
    raw = (
        b"GET /runs/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n\r\n"
    )
    request = Request(config, IterUnreader([raw]), ("127.0.0.1", 5000))
    assert request.scheme == "http"  # from loopback too: only PINGJI_BEHIND_PROXY says https
    default = Request(Config(), IterUnreader([raw]), ("127.0.0.1", 5000))
    assert default.scheme == "https"  # what gunicorn alone would have believed
