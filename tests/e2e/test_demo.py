"""`make demo` (python -m pingji.cli.demo) up to the point where it would serve: the command-line
summary, then the web workspace with its logins printed; and a clear refusal when the port
is taken. Run as a real process, like `make demo` runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ENTITIES = 12


def demo(out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/never-used"  # must be ignored
    env["COLUMNS"] = "200"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pingji.cli.demo",
            "--out",
            str(out),
            "--entities",
            str(ENTITIES),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def query(home: Path, code: str) -> str:
    """Run Python against the demo workspace's own database; return what it prints."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(PINGJI_HOME=str(home), DJANGO_SETTINGS_MODULE="pingji.web.settings")
    done = subprocess.run(
        [sys.executable, "-m", "pingji.web.manage", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_it_prepares_the_web_demo_after_the_command_line_demo(tmp_path):
    out = tmp_path / "demo-data"
    done = demo(out, "--no-serve")
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert "Demo done: 14 schemes evaluated" in text
    assert "网页应用 Web application" in text
    for line in ("admin", "demo", "rater", "viewer"):
        assert f"  {line} " in text and "pingji-demo" in text
    home = out / "web"
    assert (home / "pingji.sqlite3").is_file()  # its own SQLite, not DATABASE_URL
    counts = query(
        home,
        "from pingji.web.runs.models import Run;"
        "from pingji.web.schemes.models import SchemeVersion;"
        f"print(Run.objects.filter(status='done', entities={ENTITIES}).count(),"
        " SchemeVersion.objects.filter(status='published').count())",
    )
    assert counts == "14 14"

    # Again: nothing new is made, the same logins still work.
    again = demo(out, "--no-serve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 个新批次" in again.stdout
    assert query(home, "from pingji.web.runs.models import Run; print(Run.objects.count())") == "14"
    login = query(
        home,
        "from django.contrib.auth import authenticate;"
        "print(authenticate(username='demo', password='pingji-demo') is not None)",
    )
    assert login == "True"


@pytest.mark.slow
def test_it_says_so_when_the_port_is_taken(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = demo(tmp_path / "demo-data", "--port", str(port))
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in done.stdout
    assert not (tmp_path / "demo-data" / "web").exists()  # refused before changing anything
