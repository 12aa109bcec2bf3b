"""CPU time per kind of page of the load mix, in one process (Django's test client).

    python benchmarks/profile_web.py HOME [--requests 450] [--kinds scorecard,results]
                                          [--profile FILE.prof] [--user viewer] [--seed 1]

HOME is a workspace that `benchmarks/load_web.py --home HOME` set up (setup_demo: users,
published built-ins, one finished run per built-in); its static files must be collected
(`PINGJI_HOME=HOME pingji manage collectstatic --noinput`). The requests are those of
load_web.py's mix (or only the kinds given), picked with a fixed seed; the first 50 warm the
process and are not counted. Printed: the process CPU time per request, overall and per kind
(mean, median, max). With --profile, cProfile's statistics of the counted requests are
written to FILE for `python -m pstats`. Nothing is asserted; a request answered with other
than 200 stops the script.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import random
import sys
import time
from pathlib import Path

WARMUP = 50


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("home", type=Path)
    ap.add_argument("--requests", type=int, default=450)
    ap.add_argument("--kinds", default="", help="comma-separated kinds of load_web.MIX")
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--user", default="viewer")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    os.environ["PINGJI_HOME"] = str(args.home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
    os.environ.setdefault("PINGJI_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(Path(__file__).parent))
    import django

    django.setup()
    import load_web
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    if not client.login(username=args.user, password=load_web._demo_password()):
        raise SystemExit(f"cannot log in as {args.user}: was {args.home} set up by load_web.py?")
    tables = {s["code"]: s["entity"] for s in client.get("/api/schemes").json()}
    targets = []
    for run in client.get("/api/runs?status=done&limit=500").json():
        page = client.get(f"/api/runs/{run['id']}/results?size=1000&sort=entity_id").json()
        summary = client.get(f"/api/runs/{run['id']}").json()["summary"] or {}
        ids = [r["entity_id"] for r in page["rows"]]
        grades = [g["grade"] for g in summary.get("grades", []) if g.get("grade")]
        if ids:
            targets.append(load_web.Target(run["id"], tables[run["scheme"]], ids, grades))
    wanted = set(filter(None, args.kinds.split(",")))
    mix = [(k, w) for k, w in load_web.MIX if not wanted or k in wanted]
    if not mix:
        raise SystemExit(f"no such kind: {args.kinds}")
    rnd = random.Random(args.seed)
    kinds = [k for k, w in mix for _ in range(w)]
    requests = [(k, load_web.pick(k, targets, rnd)) for k in rnd.choices(kinds, k=args.requests)]
    for _, path in requests[:WARMUP]:
        client.get(path)
    cpu: dict[str, list[float]] = collections.defaultdict(list)
    profiler = cProfile.Profile() if args.profile else None
    started = time.process_time()
    for kind, path in requests[WARMUP:]:
        before = time.process_time()
        if profiler:
            profiler.enable()
        response = client.get(path)
        if profiler:
            profiler.disable()
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        cpu[kind].append(time.process_time() - before)
    counted = len(requests) - WARMUP
    print(f"{counted} requests: {1000 * (time.process_time() - started) / counted:.1f} ms CPU each")
    for kind, values in sorted(cpu.items()):
        values.sort()
        print(
            f"  {kind:14s} n={len(values):4d}  mean {1000 * sum(values) / len(values):6.1f} ms"
            f"  median {1000 * values[len(values) // 2]:6.1f}  max {1000 * values[-1]:6.1f}"
        )
    if profiler:
        profiler.dump_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
