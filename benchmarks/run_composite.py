"""Time pingji against a hand-written DuckDB query and a pandas script on customer-composite.

    python benchmarks/run_composite.py DATA [--repeat 3] [--work DIR] [--memory-limit 4GB]
        [--only pingji,handwritten]

Each contender runs as its own process, N times; we report the median wall time and the
median peak resident memory (from os.wait4's rusage of that very child), the ratios, and
whether the three outputs agree (same entities, |score difference| ≤ 1e-6, same grade).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
TOLERANCE = 1e-6


@dataclass
class Result:
    """Timings of one contender, or why it could not run."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system CPU seconds of the process
    output: Path | None = None
    problem: str = ""

    @property
    def wall(self) -> float | None:
        """Return the median wall time in seconds."""
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def cpu_median(self) -> float | None:
        """Return the median CPU time (user + system) in seconds: the figure to compare on a
        machine busy with other work."""
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def memory(self) -> float | None:
        """Return the median peak resident memory in MB."""
        return statistics.median(self.peak_mb) if self.peak_mb else None


def _run_once(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, str, float]:
    """Run a command; return (wall seconds, peak RSS MB, exit status, stderr tail, CPU s)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        # wait4 gives this child's own rusage; ru_maxrss is in KB on Linux.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, " ".join(tail), cpu


def _measure(name: str, cmd: list[str], out: Path, repeat: int, env_for=lambda i: None) -> Result:
    """Run a contender `repeat` times, stopping at the first failure (`env_for(i)`: the
    environment of the i-th run)."""
    result = Result(name, output=out)
    for i in range(repeat):
        out.unlink(missing_ok=True)
        seconds, peak, code, tail, cpu = _run_once(cmd, env_for(i))
        if code != 0 or not out.exists():
            result.problem = f"not available (exit {code}: {tail or 'no output'})"
            result.output = None
            break
        result.seconds.append(seconds)
        result.peak_mb.append(peak)
        result.cpu.append(cpu)
    return result


def _agree(a: Path, b: Path) -> str:
    """Compare two result files by entity: score within the tolerance and the same grade."""
    con = duckdb.connect()
    missing, worst, grades = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE x.entity_id IS NULL OR y.entity_id IS NULL),
               max(abs(x.score - y.score)),
               count(*) FILTER (WHERE x.grade IS DISTINCT FROM y.grade)
        FROM read_parquet('{a.as_posix()}') x
        FULL JOIN read_parquet('{b.as_posix()}') y USING (entity_id)
        """
    ).fetchone()
    ok = missing == 0 and grades == 0 and (worst or 0) <= TOLERANCE
    verdict = "agree" if ok else "DISAGREE"
    return f"{verdict} (unmatched {missing}, max |Δscore| {worst or 0:.2g}, grade differences {grades})"


def _machine() -> str:
    """Describe the machine and the versions that matter."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for pkg in ("pingji", "duckdb", "ibis-framework", "pandas", "pyarrow", "numpy"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} -")
    return (
        f"{cpu}; {os.cpu_count()} cores; {ram:.1f} GB RAM; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}\n" + ", ".join(versions)
    )


def _sizes(data: Path) -> str:
    """Return the row counts of the data set's tables."""
    con = duckdb.connect()
    parts = []
    for table in ("customers", "sales", "payments", "returns", "ratings"):
        path = data / f"{table}.parquet"
        if path.exists():
            (rows,) = con.execute(
                f"SELECT count(*) FROM read_parquet('{path.as_posix()}')"
            ).fetchone()
            parts.append(f"{table} {rows:,}")
    return ", ".join(parts)


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.2f} {unit}"


def main() -> None:
    """Run the three contenders and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--work", type=Path, default=None, help="where outputs go (default: a temp dir)"
    )
    ap.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB's memory limit for pingji and the hand-written query alike, e.g. 4GB",
    )
    ap.add_argument(
        "--only",
        default=None,
        help="comma-separated contenders to run (pingji, pingji-cold, handwritten, pandas)",
    )
    args = ap.parse_args()
    data = args.data.resolve()
    work = args.work or Path(tempfile.mkdtemp(prefix="pingji-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    python = sys.executable
    # pingji keeps compiled plans (engine/frozen.py): "pingji" runs with a cache that one
    # untimed run filled (every run after the first of a scheme), "pingji-cold" with an empty
    # one each time (the first run: compiling included)
    warm_cache = work / "plan-cache"
    cold = [work / f"cold-cache-{i}" for i in range(args.repeat)]
    envs = {
        "pingji": lambda i: {**os.environ, "PINGJI_CACHE_DIR": str(warm_cache)},
        "pingji-cold": lambda i: {**os.environ, "PINGJI_CACHE_DIR": str(cold[i])},
    }
    contenders = {
        "pingji-cold": [str(VENV_BIN / "pingji"), "evaluate", "customer-composite", "--data",
                        str(data), "--period", "2025", "--format", "parquet", "--out", "{out}"],
        "pingji": [str(VENV_BIN / "pingji"), "evaluate", "customer-composite", "--data", str(data),
                   "--period", "2025", "--format", "parquet", "--out", "{out}"],
        "handwritten": [python, str(HERE / "handwritten_composite.py"), str(data), "{out}"],
        "pandas": [python, str(HERE / "pandas_composite.py"), str(data), "{out}"],
    }  # fmt: skip
    if args.memory_limit:
        for name in ("pingji-cold", "pingji", "handwritten"):
            contenders[name] += ["--memory-limit", args.memory_limit]
    if args.only:
        wanted = args.only.split(",")
        contenders = {k: v for k, v in contenders.items() if k in wanted}
    print(f"machine: {_machine()}")
    print(f"data:    {data} ({_sizes(data)})")
    print(f"repeat:  {args.repeat} (median reported)")
    print(f"memory:  {args.memory_limit or 'no limit (DuckDB: 80% of RAM)'}\n")

    results: dict[str, Result] = {}
    for name, template in contenders.items():
        out = work / f"{name}.parquet"
        cmd = [part.replace("{out}", str(out)) for part in template]
        if name == "pingji":
            _run_once(cmd, envs[name](0))  # fills the plan cache, untimed
        results[name] = _measure(name, cmd, out, args.repeat, envs.get(name, lambda i: None))

    print(
        f"{'contender':<12} {'wall (median)':>14} {'CPU (median)':>13} "
        f"{'peak RSS (median)':>18}  runs"
    )
    for r in results.values():
        runs = ", ".join(f"{s:.2f}" for s in r.seconds) or r.problem
        print(
            f"{r.name:<12} {_fmt(r.wall, 's'):>14} {_fmt(r.cpu_median, 's'):>13} "
            f"{_fmt(r.memory, 'MB'):>18}  {runs}"
        )

    def ratio(a: str, b: str, what: str = "wall") -> str:
        x, y = (getattr(results[n], what) if n in results else None for n in (a, b))
        return "n/a (a contender did not run)" if x is None or y is None else f"{x / y:.2f}x"

    print(f"\npingji / handwritten: {ratio('pingji', 'handwritten')}", end="")
    print(f" (CPU {ratio('pingji', 'handwritten', 'cpu_median')},", end="")
    print(f" peak memory {ratio('pingji', 'handwritten', 'memory')})")
    print(f"pingji-cold / handwritten: {ratio('pingji-cold', 'handwritten')}")
    print(f"pandas / pingji:      {ratio('pandas', 'pingji')}")
    print(f"pandas / handwritten: {ratio('pandas', 'handwritten')}")

    print("\noutputs:")
    base = results["handwritten"].output if "handwritten" in results else None
    for name in ("pingji", "pingji-cold", "pandas"):
        if name not in results:
            continue
        other = results[name].output
        if base is None or other is None:
            print(f"  {name} vs handwritten: not compared ({results[name].problem or 'no output'})")
        else:
            print(f"  {name} vs handwritten: {_agree(base, other)}")


if __name__ == "__main__":
    main()
