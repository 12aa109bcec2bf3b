"""Load-test the web application: many logged-in users browsing runs and scorecards.

    python benchmarks/load_web.py [--users 20,50] [--requests 3000] [--duration 90]
                                  [--warmup 200] [--think 0]
                                  [--database-url postgresql://postgres@127.0.0.1:5432/pingji_load]
                                  [--entities 200] [--home DIR] [--threads 8]
                                  [--processes N] [--port 0]
                                  [--url http://127.0.0.1:8000 [--pid PID]] [--json FILE]

What it does. Without --url: makes a workspace (a temporary PINGJI_HOME, or --home, kept and
reused when it is already set up), fills it with `pingji manage setup_demo` (users in every
role, every built-in published, the sample data imported, one finished run per built-in;
--entities per data set) on SQLite in the workspace or on the database of --database-url
(which must exist; an empty one is filled), then starts a real `pingji serve` on 127.0.0.1
(--processes server processes, serve's default unless given — one per core; --threads threads
each; its background worker) and stops it at the end. With --url it
uses a server already running — on this machine only (loopback); it must hold setup_demo's
users.

Then, for each number of --users: that many threads each log in (a real login form POST, with
CSRF; users alternate between the demo viewer and analyst) over their own keep-alive HTTP
connection, and send requests one after another without pause (a closed loop; --think T
pauses 0.5–1.5 × T seconds after each answer, like a person reading; the users then also
arrive one by one, each at a random moment within the first 1.5 × T seconds — `--ramp S` to
choose — rather than all clicking in the same millisecond), each picked at random with these
weights:

    10  run list                 /runs/
    15  run page                 /runs/<id>/               (charts + first results page)
    20  results, filtered        /runs/<id>/?grade=…&sort=…&page=…&q=…
    25  scorecard                /runs/<id>/entities/<entity>/   (a random entity of the run)
    10  entity profile           /entities/<table>/<entity>/
    15  API results              /api/runs/<id>/results?grade=…&sort=…&page=…  (session auth)
     5  API scorecard            /api/runs/<id>/entities/<entity>

A level stops after --requests requests or --duration seconds, whichever comes first (the
requests under way are finished and counted). An error is any answer other than 200, or a
failed connection. Printed per level: requests, errors, requests per second, p50 / p95 / p99
/ max latency, the p50 / p99 of each kind of page, the CPU time the server's processes used
per request once every user is logged in (Linux: `pingji serve` and every process under it
but the background worker) — the figure to compare on a machine shared with other work — and
the CPU time this script used per request (it shares the machine with the server); with
--slowest N, the N slowest requests and when each was sent. Loopback only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

DEMO_PASSWORD_ENV = "PINGJI_DEMO_PASSWORD"
LOGINS = ("viewer", "demo")  # the demo's viewer and analyst
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
READY_MARK = ".load-web-ready"

MIX: tuple[tuple[str, int], ...] = (
    ("run_list", 10),
    ("run_page", 15),
    ("results", 20),
    ("scorecard", 25),
    ("entity", 10),
    ("api_results", 15),
    ("api_scorecard", 5),
)
SORTS = ("-score", "score", "entity_id", "-entity_id", "grade", "-grade")


# ----------------------------------------------------------------------------- server


def _demo_password() -> str:
    from pingji.templates.demo import DEMO_PASSWORD

    return os.environ.get(DEMO_PASSWORD_ENV, DEMO_PASSWORD)


def _env(home: Path, database_url: str | None) -> dict[str, str]:
    env = os.environ.copy()
    env["PINGJI_HOME"] = str(home)
    env["PINGJI_LOG_LEVEL"] = "WARNING"
    env.pop("PINGJI_DEBUG", None)
    env.pop("PINGJI_TASKS", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def prepare_workspace(home: Path, database_url: str | None, entities: int) -> None:
    """Fill the workspace with the demo (once: a mark file says it is done)."""
    mark = home / READY_MARK
    wanted = json.dumps({"database": database_url or "sqlite", "entities": entities})
    if mark.exists() and mark.read_text(encoding="utf-8") == wanted:
        print(f"workspace {home}: already set up", flush=True)
        return
    env = _env(home, database_url)
    manage = [sys.executable, "-m", "pingji.web.manage"]
    started = time.monotonic()
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
    subprocess.run(
        [*manage, "setup_demo", "--entities", str(entities), "--samples", str(home / "samples")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    mark.write_text(wanted, encoding="utf-8")
    print(f"workspace {home}: demo set up in {time.monotonic() - started:.0f} s", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    home: Path, database_url: str | None, port: int, threads: int, processes: int | None = None
):
    """Start `pingji serve` on 127.0.0.1 and wait until it answers; return the process."""
    log = (home / "serve.log").open("ab")
    command = [
        sys.executable,
        "-m",
        "pingji.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--threads",
        str(threads),
    ]
    if processes is not None:  # else serve's default (code without the option: one process)
        command += ["--processes", str(processes)]
    proc = subprocess.Popen(
        command,
        env=_env(home, database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its worker goes with it (stop_server signals the group)
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"pingji serve stopped (code {proc.returncode}); see {log.name}")
        try:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            con.request("GET", "/login/")
            if con.getresponse().status == 200:
                con.close()
                return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("pingji serve did not answer within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ----------------------------------------------------------------------------- a browser


class Browser:
    """One user: a keep-alive HTTP connection with its cookies (session, CSRF)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.con: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.con is None:
            self.con = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self.con

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        head = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reused = self.con is not None
        try:
            con = self._connection()
            con.request(method, path, body=body, headers=head)
            response = con.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not (reused and method == "GET"):
                raise
            # the server closed an idle keep-alive connection (gunicorn: after 75 s) just as
            # we sent: a browser sends an idempotent GET again on a new connection, once
            con = self._connection()
            con.request(method, path, body=body, headers=head)
            response = con.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # a new connection next time
            raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def login(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or found is None:
            raise SystemExit(f"login page: HTTP {status}")
        form = urlencode(
            {
                "csrfmiddlewaretoken": found.group(1).decode(),
                "username": username,
                "password": password,
            }
        )
        status, _ = self.request(
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}/login/",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login as {username}: HTTP {status} (no session)")

    def get_json(self, path: str):
        status, data = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: HTTP {status}")
        return json.loads(data)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


# ----------------------------------------------------------------------------- what to ask


@dataclass
class Target:
    """A finished run and what may be asked of it."""

    run: int
    table: str
    entities: list[str]
    grades: list[str]


def discover(host: str, port: int, password: str) -> list[Target]:
    """The finished runs, their entity table, some of their entities and their grades."""
    browser = Browser(host, port)
    browser.login(LOGINS[0], password)
    tables = {s["code"]: s["entity"] for s in browser.get_json("/api/schemes")}
    targets = []
    for run in browser.get_json("/api/runs?status=done&limit=500"):
        page = browser.get_json(f"/api/runs/{run['id']}/results?size=1000&sort=entity_id")
        summary = browser.get_json(f"/api/runs/{run['id']}")["summary"] or {}
        ids = [r["entity_id"] for r in page["rows"]]
        if ids:
            grades = [g["grade"] for g in summary.get("grades", []) if g.get("grade")]
            targets.append(Target(run["id"], tables[run["scheme"]], ids, grades))
    browser.close()
    if not targets:
        raise SystemExit("no finished run with results: run setup_demo first")
    return targets


def pick(kind: str, targets: list[Target], rnd: random.Random) -> str:
    """The path of one request of a kind."""
    t = rnd.choice(targets)
    entity = quote(rnd.choice(t.entities), safe="")
    if kind == "run_list":
        return rnd.choice(("/runs/", "/runs/?status=done", "/runs/?page=1"))
    if kind == "run_page":
        return f"/runs/{t.run}/"
    if kind in ("results", "api_results"):
        query: dict[str, str | int] = {"sort": rnd.choice(SORTS)}
        if t.grades and rnd.random() < 0.5:
            query["grade"] = rnd.choice(t.grades)
        pages = max(1, len(t.entities) // 50)
        if rnd.random() < 0.5:
            query["page"] = rnd.randint(1, pages)
        if rnd.random() < 0.2:
            query["q" if kind == "results" else "search"] = rnd.choice(t.entities)[:3]
        if kind == "results":
            return f"/runs/{t.run}/?{urlencode(query)}"
        return f"/api/runs/{t.run}/results?{urlencode(query)}"
    if kind == "scorecard":
        return f"/runs/{t.run}/entities/{entity}/"
    if kind == "api_scorecard":
        return f"/api/runs/{t.run}/entities/{entity}"
    if kind == "entity":
        return f"/entities/{t.table}/{entity}/"
    raise ValueError(kind)


# ----------------------------------------------------------------------------- one level


@dataclass
class Sample:
    kind: str
    status: int  # 0: the connection failed
    seconds: float
    at: float = 0.0  # when it was sent, in seconds from the start of the level


@dataclass
class Level:
    users: int
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0
    error_examples: list[str] = field(default_factory=list)


def run_level(
    host: str,
    port: int,
    password: str,
    targets: list[Target],
    users: int,
    max_requests: int,
    duration: float,
    seed: int,
    think: float = 0.0,
    on_start=None,
    ramp: float = 0.0,
) -> Level:
    """Log `users` users in, then let them browse until the bound; return every sample.
    `on_start` is called once every user is logged in, right before the first request (the
    server's CPU is counted from there: a login's password hash costs a third of a second).
    Each user sends their first request at a random moment within `ramp` seconds."""
    browsers = [Browser(host, port) for _ in range(users)]
    for i, b in enumerate(browsers):
        b.login(LOGINS[i % len(LOGINS)], password)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    level = Level(users)
    lock = threading.Lock()
    budget = [max_requests]
    start = threading.Barrier(users + 1)
    deadline = [0.0]
    level_began = [0.0]

    def user(i: int) -> None:
        rnd = random.Random(seed * 1000 + i)
        browser = browsers[i]
        start.wait()
        if ramp:  # people arrive one by one, not all in the same millisecond
            time.sleep(rnd.uniform(0, ramp))
        while True:
            with lock:
                if budget[0] <= 0 or time.perf_counter() >= deadline[0]:
                    break
                budget[0] -= 1
            kind = rnd.choices(kinds, weights)[0]
            path = pick(kind, targets, rnd)
            began = time.perf_counter()
            try:
                status, body = browser.request("GET", path)
            except (OSError, http.client.HTTPException) as exc:
                status, body = 0, repr(exc).encode()
            sample = Sample(kind, status, time.perf_counter() - began, began - level_began[0])
            with lock:
                level.samples.append(sample)
                if status != 200 and len(level.error_examples) < 10:
                    level.error_examples.append(f"{status} {path} {body[:200]!r}")
            if think:  # a person reading the page before the next click
                time.sleep(rnd.uniform(0.5 * think, 1.5 * think))
        browser.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    if on_start is not None:
        on_start()
    began = level_began[0] = time.perf_counter()
    deadline[0] = began + duration
    start.wait()
    for t in threads:
        t.join()
    level.wall = time.perf_counter() - began
    return level


def _pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of sorted values, in ms."""
    if not values:
        return float("nan")
    rank = max(1, min(len(values), round(p / 100 * len(values) + 0.5)))
    return values[rank - 1] * 1000


def summarise(level: Level) -> dict:
    times = sorted(s.seconds for s in level.samples)
    errors = sum(1 for s in level.samples if s.status != 200)
    by_kind = {}
    for kind, _ in MIX:
        kt = sorted(s.seconds for s in level.samples if s.kind == kind)
        if kt:
            by_kind[kind] = {
                "n": len(kt),
                "p50": _pct(kt, 50),
                "p99": _pct(kt, 99),
                "mean": statistics.fmean(kt) * 1000,
            }
    return {
        "users": level.users,
        "requests": len(times),
        "errors": errors,
        "seconds": level.wall,
        "rps": len(times) / level.wall if level.wall else 0.0,
        "p50": _pct(times, 50),
        "p95": _pct(times, 95),
        "p99": _pct(times, 99),
        "max": times[-1] * 1000 if times else float("nan"),
        "kinds": by_kind,
        "error_examples": level.error_examples,
    }


def _stat(pid: int) -> tuple[int, float] | None:
    """The parent and the CPU seconds (user + system) of a live process (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_background_worker(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"pingji.web.manage" in argv and b"worker" in argv


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time the server has used so far (Linux), else None: the process `pid` and every
    process under it (gunicorn's master and workers) but the background worker and its own.

    On a machine shared with other work, CPU per request says more than latency does."""
    if pid is None or _stat(pid) is None:
        return None
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            children.setdefault(found[0], []).append(int(entry.name))
            cpu[int(entry.name)] = found[1]
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current != pid and _is_background_worker(current):
            continue
        total += cpu.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def report(result: dict) -> None:
    r = result
    print(
        f"\n{r['users']} users: {r['requests']} requests in {r['seconds']:.1f} s, "
        f"{r['errors']} errors, {r['rps']:.1f} req/s; p50 {r['p50']:.0f} ms, "
        f"p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms, max {r['max']:.0f} ms "
        f"(load average {r['load_before']} → {r['load_after']})"
    )
    if r.get("cpu_ms") is not None:
        print(
            f"    server CPU {r['cpu_ms']:.1f} ms per request "
            f"(this script: {r['client_cpu_ms']:.1f} ms)"
        )
    for kind, k in r["kinds"].items():
        print(f"    {kind:<14} {k['n']:>6}  p50 {k['p50']:>6.0f} ms  p99 {k['p99']:>6.0f} ms")
    for example in r["error_examples"]:
        print(f"    error: {example}")
    for slow in r.get("slowest", []):
        print(f"    slow: {slow}")


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="20,50", help="users per level, e.g. 20,50")
    parser.add_argument("--requests", type=int, default=3000, help="at most, per level")
    parser.add_argument("--duration", type=float, default=90, help="seconds at most, per level")
    parser.add_argument("--warmup", type=int, default=200, help="requests before the levels")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a user's requests (s)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--entities", type=int, default=200, help="entities per demo data set")
    parser.add_argument("--home", type=Path, default=None, help="workspace (kept; reused)")
    parser.add_argument("--threads", type=int, default=8, help="threads per server process")
    parser.add_argument(
        "--processes", type=int, default=None, help="server processes (default: serve's own)"
    )
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--url", default=None, help="a server already running (loopback only)")
    parser.add_argument("--pid", type=int, default=None, help="with --url: its process id")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="users start at random moments within this many seconds (default: 1.5 × think)",
    )
    parser.add_argument(
        "--slowest", type=int, default=0, help="list the N slowest requests and when they left"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args(argv)
    levels = [int(u) for u in args.users.split(",") if u.strip()]
    if not levels or min(levels) < 1 or args.requests < 1 or args.duration <= 0:
        parser.error("--users, --requests and --duration must be positive")

    password = _demo_password()
    proc = None
    temporary = None
    if args.url:
        parts = urlsplit(args.url)
        if parts.hostname not in LOOPBACK or parts.port is None:
            parser.error("--url must be http://127.0.0.1:<port> (loopback only)")
        host, port = parts.hostname, parts.port
    else:
        home = args.home
        if home is None:
            home = temporary = Path(tempfile.mkdtemp(prefix="pingji-load-"))
        home.mkdir(parents=True, exist_ok=True)
        prepare_workspace(home.resolve(), args.database_url, args.entities)
        host, port = "127.0.0.1", args.port or _free_port()
        proc = start_server(home.resolve(), args.database_url, port, args.threads, args.processes)
    database = "PostgreSQL" if args.database_url else "SQLite"
    results = []
    try:
        targets = discover(host, port, password)
        print(
            f"{database}; {len(targets)} finished runs; "
            f"{args.processes or 'default'} server processes × {args.threads} threads; "
            f"{os.cpu_count()} cores; load average {_load()}",
            flush=True,
        )
        if args.warmup:
            run_level(host, port, password, targets, 4, args.warmup, args.duration, args.seed)
        for users in levels:
            before = _load()
            cpu = client_cpu = None

            def started() -> None:  # every user logged in: count from here
                nonlocal cpu, client_cpu
                cpu, client_cpu = cpu_seconds(proc.pid if proc else args.pid), time.process_time()

            level = run_level(
                host,
                port,
                password,
                targets,
                users,
                args.requests,
                args.duration,
                args.seed,
                args.think,
                started,
                args.think * 1.5 if args.ramp is None else args.ramp,
            )
            result = {**summarise(level), "load_before": before, "load_after": _load()}
            if args.slowest:
                result["slowest"] = [
                    f"{s.seconds * 1000:.0f} ms {s.kind} sent at {s.at:.2f} s"
                    for s in sorted(level.samples, key=lambda s: -s.seconds)[: args.slowest]
                ]
            used = cpu_seconds(proc.pid if proc else args.pid)
            if cpu is not None and used is not None and level.samples:
                result["cpu_ms"] = (used - cpu) / len(level.samples) * 1000
                result["client_cpu_ms"] = (
                    (time.process_time() - client_cpu) / len(level.samples) * 1000
                )
            report(result)
            results.append(result)
    finally:
        if proc is not None:
            stop_server(proc)
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    if args.json:
        meta = {
            "database": database,
            "threads": args.threads,
            "processes": args.processes,
            "entities": args.entities,
            "think": args.think,
        }
        args.json.write_text(json.dumps({**meta, "levels": results}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
