"""`make demo`: sample data for every built-in scheme, evaluated, written and summarised.

Run as ``python -m pingji.cli.demo --out demo-data``. For each built-in scheme it writes
sample data into ``<out>/<scheme>/`` (reused when it is already there), evaluates the scheme
for its sample period through the Python API, writes ``results-<period>.jsonl`` and ``.xlsx``
next to the data and prints a summary. Every count is computed set-based on the result table.
Any failure is printed and the demo exits non-zero (1 for an evaluation problem, 2 for bad
input), after trying the remaining schemes.

Then the web application: a workspace in ``<out>/web`` (its own SQLite database; DATABASE_URL
is ignored so a demo never writes into a real database) is prepared by the ``setup_demo``
command — demo users, every built-in published, the same sample data imported, one run per
scheme — the URL and logins are printed and ``pingji serve`` runs in the foreground until
Ctrl-C. ``--no-web`` stops after the command-line part, ``--no-serve`` after the set-up.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pingji.errors import PingjiError
from pingji.templates.demo import DEMO_PASSWORD, DEMO_USERS, prepare_data

console = Console(highlight=False)


@dataclass
class Outcome:
    """What happened to one scheme."""

    scheme: str
    ok: bool
    exit_code: int = 0
    lines: list[str] = field(default_factory=list)


def _counts(values: pa.ChunkedArray | pa.Array) -> dict[object, int]:
    """Return value → count (nulls under None), computed by pyarrow, not by a loop over rows."""
    if len(values) == 0:
        return {}
    vc = pc.value_counts(values)
    counted = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))
    nulls = values.null_count
    if nulls:
        counted[None] = nulls  # value_counts already reports nulls in recent pyarrow
    return counted


def _flat(values: pa.ChunkedArray) -> pa.Array:
    """Return the items of a list column as one array."""
    return pc.list_flatten(values.combine_chunks()) if len(values) else pa.array([], pa.string())


def _ordered(counts: dict[object, int], order: list[str]) -> list[tuple[object, int]]:
    """Return (value, count) in the scheme's order, then any others, then missing values."""
    known = [(k, counts[k]) for k in order if k in counts]
    rest = sorted((k, n) for k, n in counts.items() if k not in order and k is not None)
    tail = [(None, counts[None])] if None in counts else []
    return known + rest + tail


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


def _display(path: Path) -> str:
    """Return a path relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _pingji_command() -> str:
    exe = Path(sys.executable).parent / "pingji"
    return _display(exe) if exe.exists() else "pingji"


def run_scheme(scheme: str, out: Path, entities: int, seed: int) -> None:
    """Generate (or reuse), evaluate, write and summarise one built-in scheme."""
    from pingji.data import open_dataset
    from pingji.engine import evaluate
    from pingji.output import write
    from pingji.templates import resolve_scheme
    from pingji.templates.sample import SAMPLE_PERIODS

    period = SAMPLE_PERIODS[scheme]
    folder = out / scheme
    t0 = time.perf_counter()
    fresh = prepare_data(scheme, folder, entities, seed)
    t1 = time.perf_counter()
    rs = resolve_scheme(scheme)
    ev = evaluate(rs, open_dataset(folder), period)
    t2 = time.perf_counter()
    jsonl = folder / f"results-{period}.jsonl"
    xlsx = folder / f"results-{period}.xlsx"
    write(ev, "jsonl", jsonl)
    write(ev, "xlsx", xlsx)
    t3 = time.perf_counter()
    summarise(rs, ev, period, folder, jsonl, xlsx, fresh, (t1 - t0, t2 - t1, t3 - t2))


def summarise(rs, ev, period, folder, jsonl, xlsx, fresh, times) -> None:
    """Print one scheme's summary: grades, classes, statuses, actions, mean score, warnings."""
    s = rs.scheme
    table: pa.Table = ev.table
    total = table.num_rows
    data_s, eval_s, write_s = times
    console.rule(
        Text.assemble((s.label or rs.id, "bold"), f"  {rs.id} · {s.entity} · {period}"),
        align="left",
    )
    mean = pc.mean(table["score"]).as_py() if total else None
    mean_text = f"{mean:.1f}" if mean is not None else "— (this scheme has no score tree)"
    console.print(f"  entities {total:,} · mean score {mean_text}")
    console.print(
        f"  evaluated in {eval_s:.2f} s · data {'generated' if fresh else 'reused'} "
        f"{data_s:.2f} s · written {write_s:.2f} s"
    )

    if s.grades is not None:
        levels = {lv.grade: lv for lv in s.grades.levels}
        counts = _counts(table["grade"])
        for code in rs.grade_codes:
            counts.setdefault(code, 0)
        rows = []
        for code, n in _ordered(counts, rs.grade_codes):
            lv = levels.get(code)
            label = (lv.label or "") if lv is not None else "无等级 (no grade)"
            colour = lv.color if lv is not None and lv.color else "grey50"
            rows.append((code, label, n, colour))
        _distribution("等级 grade", rows, total)
    if s.classes is not None:
        order = [r.id for r in s.classes.rules]
        labels = {r.id: r.label for r in s.classes.rules}
        if s.classes.fallback is not None:
            order.append(s.classes.fallback.id)
            labels[s.classes.fallback.id] = s.classes.fallback.label
        _counted("类别 class", _counts(table["class"]), order, labels, "无类别 (none)", total)
        if len(s.classes.rules) > 1:
            # an entity can hold several class labels: `classes` lists all that hold
            _counted("全部类别 classes", _counts(_flat(table["classes"])), order, labels, "", total)
    if s.consequences is not None:
        statuses = [r.status for r in s.consequences.statuses]
        labels = {r.status: r.label for r in s.consequences.statuses}
        if s.consequences.default_status:
            statuses.append(s.consequences.default_status)
        _counted("状态 status", _counts(table["status"]), statuses, labels, "无状态 (none)", total)
        actions = [a.action for a in s.consequences.actions]
        labels = {a.action: a.label for a in s.consequences.actions}
        _counted("措施 actions", _counts(_flat(table["actions"])), actions, labels, "", total)
    for chk in ev.checks:
        share = "n/a" if chk.share is None else f"{chk.share:.1%}"
        mark = "[green]ok[/]" if chk.ok else "[red]failed[/]"
        console.print(
            f"  check {escape(chk.id)} {escape(chk.label or '')}: {share} "
            f"(at least {chk.at_least:.0%}) {mark}",
            soft_wrap=True,
        )
    for w in ev.warnings:
        console.print(Text.assemble(("  warning: ", "yellow"), str(w)), soft_wrap=True)
    console.print(f"  results: {escape(_display(jsonl))}, {escape(_display(xlsx))}", soft_wrap=True)
    first = table["entity_id"][0].as_py() if total else "<ID>"
    console.print(
        Text.assemble(
            ("  explain one entity: ", "dim"),
            f"{_pingji_command()} explain {rs.id} --data {_display(folder)} "
            f"--period {period} --entity {first}",
        ),
        soft_wrap=True,
    )


def _counted(title, counts: dict, order: list[str], labels: dict, none: str, total: int) -> None:
    """Print a distribution of counted values (class, status, action) in the scheme's order."""
    rows = [
        (value, (labels.get(value) or "") if value is not None else none, n, "cyan")
        for value, n in _ordered(counts, order)
    ]
    if not rows:
        console.print(f"  {title}: none")
        return
    _distribution(title, rows, total)


def _distribution(title: str, rows: list[tuple[object, str, int, str]], total: int) -> None:
    """Print rows of (code, label, count, colour) with their share and a bar."""
    grid = Table(box=None, show_header=True, padding=(0, 1), pad_edge=False, header_style="bold")
    grid.add_column(f"  {title}", no_wrap=True)
    grid.add_column("", no_wrap=True)
    grid.add_column("count", justify="right")
    grid.add_column("%", justify="right")
    grid.add_column("", no_wrap=True)
    for code, label, n, colour in rows:
        bar = Text("█" * round(20 * n / total) if total else "", style=colour)
        name = "—" if code is None else str(code)
        grid.add_row(f"  {name}", label, f"{n:,}", _pct(n, total), bar)
    console.print(grid)


def main(argv: list[str] | None = None) -> int:
    """Run the demo over every built-in scheme, then the web application; return the exit code."""
    ap = argparse.ArgumentParser(
        prog="python -m pingji.cli.demo",
        description="Generate sample data for every built-in scheme, evaluate it, summarise it; "
        "then prepare the web application on the same data and serve it.",
    )
    ap.add_argument("--out", type=Path, default=Path("demo-data"), help="demo folder")
    ap.add_argument("--entities", type=int, default=200, help="entities per scheme (200)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (7)")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    ap.add_argument("--no-web", action="store_true", help="only the command-line part")
    ap.add_argument(
        "--no-serve", action="store_true", help="prepare the web workspace but do not serve it"
    )
    ap.add_argument("--home", type=Path, default=None, help="web workspace (<out>/web)")
    ap.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    ap.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")
    args = ap.parse_args(argv)
    if args.entities < 1:
        ap.error("--entities must be at least 1")
    code = run_cli_demo(args)
    if code or args.no_web:
        return code
    return run_web_demo(args)


def run_cli_demo(args: argparse.Namespace) -> int:
    """Evaluate every built-in on its sample data with the engine; return the exit code."""
    from pingji.templates import builtin_names

    start = time.perf_counter()
    names = builtin_names()
    failed: list[tuple[str, int]] = []
    for name in names:
        try:
            run_scheme(name, args.out, args.entities, args.seed)
        except PingjiError as exc:
            console.rule(Text(f"{name}: FAILED", style="bold red"), align="left")
            console.print(Text.assemble(("Error: ", "bold red"), exc.render()), soft_wrap=True)
            failed.append((name, exc.exit_code))
        except Exception as exc:  # reported, and the demo fails
            console.rule(Text(f"{name}: FAILED", style="bold red"), align="left")
            if args.debug:
                console.print_exception()
            console.print(
                Text.assemble(
                    ("Error: ", "bold red"),
                    f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                ),
                soft_wrap=True,
            )
            failed.append((name, 1))
        console.print()
    elapsed = time.perf_counter() - start
    if failed:
        console.print(
            Text.assemble(
                ("Demo failed: ", "bold red"),
                f"{len(failed)} of {len(names)} schemes failed "
                f"({', '.join(n for n, _ in failed)}) in {elapsed:.1f} s",
            )
        )
        return max(code for _, code in failed) or 1
    console.print(
        Text.assemble(
            ("Demo done: ", "bold green"),
            f"{len(names)} schemes evaluated in {elapsed:.1f} s; data and results in "
            f"{_display(args.out)}/<scheme>/",
        )
    )
    return 0


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def run_web_demo(args: argparse.Namespace) -> int:
    """Prepare the demo workspace of the web application and serve it; return the exit code."""
    home = (args.home or args.out / "web").resolve()
    os.environ["PINGJI_HOME"] = str(home)
    os.environ.pop("DATABASE_URL", None)  # the demo has its own SQLite database
    console.print()
    console.rule(Text("网页应用 Web application", style="bold"), align="left")
    if not args.no_serve and not _port_free(args.host, args.port):
        console.print(
            Text.assemble(
                ("Error: ", "bold red"),
                f"port {args.port} on {args.host} is in use; stop the other server or run "
                f"`make demo PORT=<another port>` (python -m pingji.cli.demo --port …)",
            ),
            soft_wrap=True,
        )
        return 1
    from pingji.web.serve import prepare

    start = time.perf_counter()
    try:
        prepare()
        from django.core.management import call_command

        call_command(
            "setup_demo",
            samples=args.out.resolve(),
            entities=args.entities,
            seed=args.seed,
            password=DEMO_PASSWORD,
        )
    except Exception as exc:
        if args.debug:
            console.print_exception()
        message = exc.render() if isinstance(exc, PingjiError) else f"{type(exc).__name__}: {exc}"
        console.print(
            Text.assemble(("Error: ", "bold red"), f"web demo set-up failed: {message}"),
            soft_wrap=True,
        )
        return 1
    url = f"http://{args.host}:{args.port}/"
    console.print(
        f"  workspace {escape(_display(home))} · ready in {time.perf_counter() - start:.1f} s"
    )
    logins = Table(box=None, show_header=True, padding=(0, 2), pad_edge=False, header_style="bold")
    logins.add_column("  用户名 user")
    logins.add_column("密码 password")
    logins.add_column("角色 role")
    for username, _role, _dept, shown in DEMO_USERS:
        logins.add_row(f"  {username}", DEMO_PASSWORD, shown)
    console.print(logins)
    if args.no_serve:
        console.print(
            f"  start it with: PINGJI_HOME={escape(_display(home))} {_pingji_command()} serve"
        )
        return 0
    console.print(
        Text.assemble(("  打开 open ", "bold"), (url, "bold green"), "  (Ctrl-C 停止 stops)")
    )
    from pingji.web.serve import serve

    serve(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
