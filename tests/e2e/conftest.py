"""End-to-end tests: the real application (`pingji serve`: waitress and the background worker,
its own workspace and SQLite database) driven by Debian's Chromium through Playwright.

    server       the real application on an empty workspace with one user per role (session):
                 .url, .home, .log, .users, .manage(...)
    demo_server  the real application on what `make demo` prepares (setup_demo): users
                 admin/demo/rater/rater_f/viewer, schemes published, sample data, one run each
    browser      one headless Chromium for the session
    page_as      page_as("analyst") or page_as("demo", on=demo_server) → a new logged-in page
    login        login(page, "viewer") logs a page in through the login form
    shot         shot(page, "runs-list") saves test-artifacts/screenshots/runs-list.png

Chromium is never downloaded (`playwright install` needs the internet): the tests use
/usr/bin/chromium (PINGJI_CHROMIUM to change it; .ci/run installs Debian's package). Without
it the tests skip with the reason shown — except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pingji.templates.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ON_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("PINGJI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("PINGJI_TEST_ARTIFACTS") or ROOT / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

PASSWORD = "e2e-pass-4711"
# (username, role, department code): the people of the end-to-end tests.
USERS: tuple[tuple[str, str, str | None], ...] = (
    ("admin", "admin", None),
    ("analyst", "analyst", None),
    ("rater", "rater", "sales"),
    ("rater_q", "rater", "quality"),
    ("viewer", "viewer", None),
)
START_TIMEOUT = 90  # seconds for migrations, static files and the first answer
DEMO_ENTITIES = 40  # entities per sample data set on the demo server
# setup_demo's users (see pingji.templates.demo.DEMO_USERS) and the password `make demo` prints
DEMO_USERS = ("admin", "demo", "rater", "rater_f", "viewer")


def require_chromium() -> str:
    """Return Chromium's path; skip visibly without it (and fail on CI, where it must run)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium at {CHROMIUM} (Debian: apt-get install chromium fonts-noto-cjk)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        reason = "end-to-end tests need " + " and ".join(missing)
        if ON_CI:
            pytest.fail(f"CI=true but {reason}: end-to-end tests must run on CI")
        pytest.skip(reason)
    return CHROMIUM


# ---------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """The application under test."""

    url: str
    home: Path
    log: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    users: dict[str, str] = field(default_factory=dict)  # username → password

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a management command against the application's workspace and database."""
        done = subprocess.run(
            [sys.executable, "-m", "pingji.web.manage", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"manage {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def log_tail(self, lines: int = 150) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


RUNNING: list[Server] = []  # started servers, whose logs a failing test shows


def _create_people(server: Server) -> None:
    """One user per role, through the `create_user` command (departments made on the way)."""
    for username, role, dept in USERS:
        args = ["create_user", username, "--role", role, "--password", PASSWORD]
        if dept:
            args += ["--department", dept]
        server.manage(*args)
    server.users = {username: PASSWORD for username, _, _ in USERS}


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise AssertionError(
                f"pingji serve exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/login/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"pingji serve did not answer in {START_TIMEOUT} s:\n{server.log_tail()}")


def _start(srv: Server, port: int) -> None:
    """Start `pingji serve` for a prepared workspace and wait until it answers."""
    log = srv.log.open("w", encoding="utf-8")
    srv.process = subprocess.Popen(
        [sys.executable, "-m", "pingji.cli.main", "serve", "--port", str(port)],
        env=srv.env,
        cwd=srv.home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child holds its own handle
    RUNNING.append(srv)
    _wait_until_up(srv)


def _stop(srv: Server, name: str) -> None:
    if srv in RUNNING:
        RUNNING.remove(srv)
    if srv.process is not None and srv.process.poll() is None:
        srv.process.terminate()  # SIGTERM: the server stops its worker, then itself
        try:
            srv.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.process.kill()
            srv.process.wait()
    if srv.log.exists():
        shutil.copyfile(srv.log, _artifacts() / f"{name}.log")


def _workspace(tmp_path_factory, name: str) -> tuple[Server, int]:
    home = tmp_path_factory.mktemp(name)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "PINGJI_DEBUG", "PINGJI_STATIC_FINDERS", "PINGJI_TASKS")
    }
    env.update(
        PINGJI_HOME=str(home),
        DJANGO_SETTINGS_MODULE="pingji.web.settings",
        PINGJI_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    srv = Server(url=f"http://127.0.0.1:{port}", home=home, log=home / "server.log", env=env)
    srv.manage("migrate", "--verbosity", "0")
    return srv, port


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """The real application on an empty workspace: one user per role, no data yet."""
    require_chromium()  # no browser, no point in starting the server
    srv, port = _workspace(tmp_path_factory, "pingji-e2e-empty")
    _create_people(srv)
    try:
        _start(srv, port)
        yield srv
    finally:
        _stop(srv, "server-empty")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[Server]:
    """The real application on the workspace `make demo` prepares (`setup_demo`, smaller):
    demo users, every built-in published, the sample data imported, one run per scheme."""
    require_chromium()
    srv, port = _workspace(tmp_path_factory, "pingji-e2e-demo")
    srv.manage("setup_demo", "--entities", str(DEMO_ENTITIES), "--password", DEMO_PASSWORD)
    srv.users = {username: DEMO_PASSWORD for username in DEMO_USERS}
    try:
        _start(srv, port)
        yield srv
    finally:
        _stop(srv, "server-demo")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing end-to-end test shows the end of the server's log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in RUNNING:
            report.sections.append(
                (f"pingji serve log, {srv.home.name} (last lines)", srv.log_tail())
            )


# ---------------------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------------------


def _artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        pw.stop()


def do_login(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form; fails when the login is refused."""
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login/" not in page.url, f"login as {username} was refused"


def save_shot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def page_as(request, browser) -> Iterator[Callable]:
    """Return page_as(username, on=server) → a page logged in as that user (None: not logged
    in), in its own browser context (own cookies), Chinese as the browser's language. `on`
    defaults to the empty-workspace `server`."""
    contexts = []

    def open_(username: str | None = None, on: Server | None = None):
        srv = on or request.getfixturevalue("server")
        context = browser.new_context(
            base_url=srv.url,
            locale="zh-CN",
            viewport={"width": 1366, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # <form data-confirm="…">
        if username is not None:
            do_login(page, username, srv.users.get(username, PASSWORD))
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def login() -> Callable:
    """login(page, username[, password]) logs a page in through the login form."""
    return do_login


@pytest.fixture
def shot() -> Callable:
    """shot(page, name) saves test-artifacts/screenshots/<name>.png (full page)."""
    return save_shot


@pytest.fixture
def anonymous_page(page_as):
    """A page on the empty-workspace server of a visitor who has not logged in."""
    return page_as(None)
