"""Time the run page's results table on a 1,000,000-entity run, through Django.

    python benchmarks/web_results_page.py [--entities 1000000] [--repeat 7] [--work DIR]
                                          [--scheme customer-composite] [--results FILE]
                                          [--excel-only]

What is measured: a GET of the run page (`/runs/<id>/`) through Django's test client — the
whole request: login session, the run and its batches from the app database (SQLite in a
temporary PINGJI_HOME), the scheme (cached after the first request), the summary charts, the
results table (DuckDB over the run's results.parquet: count of the matching rows + one sorted
page of 50), the entities' names (DuckDB over the customers batch) and the template. Six
cases, each the median of --repeat requests after one warm-up request:

  default sort (score, best first) · sort by score ascending · filter by one grade ·
  entity search (start of the id, or part of the name — scans the 1,000,000 names too) ·
  a Chinese name search matching ~4,000 entities · page 1000

For comparison, on the same file: the bare DuckDB queries behind the default page (count +
ORDER BY score DESC LIMIT 50), and pandas: read_parquet of the shown columns, sort, slice.
Also timed once each: the run's summary (grade counts, histogram …, computed when a run
finishes), a CSV export of every row, and an Excel export of one grade.

The data. Without --results: the engine evaluates the built-in's own sample data (2,000
entities, seed 7) and those real result rows are repeated under new ids up to --entities
(C0000001 …), so every row has the shape and the consistency of a real run (score, grade,
node columns, reasons); the customers batch holds a name per entity. With --results FILE: that
results.parquet (e.g. of `pingji evaluate customer-composite --data benchmarks/data/composite
--period 2025 --format parquet`) is used as it is, with synthetic names.

No timing is asserted anywhere; the figures are printed (and recorded in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_ENTITIES = 2000


def _setup_django(home: Path) -> None:
    os.environ["PINGJI_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "pingji.web.settings"
    os.environ["PINGJI_STATIC_FINDERS"] = "1"  # templates' {% static %} without collectstatic
    os.environ["PINGJI_TASKS"] = "immediate"
    os.environ.pop("DATABASE_URL", None)  # SQLite in the temporary workspace
    os.environ.setdefault("PINGJI_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _synthesise(scheme: str, entities: int, work: Path, results: Path | None) -> tuple[Path, Path]:
    """Write results.parquet (1 row per entity) and customers.parquet (id, name) in `work`."""
    import duckdb

    from pingji.data.contract import TABLES
    from pingji.engine.run import evaluate
    from pingji.scheme.resolve import load_scheme
    from pingji.templates import builtin_text
    from pingji.templates.sample import generate

    out = work / "results.parquet"
    con = duckdb.connect()
    if results is None:
        from pingji.data.folder import FolderDataSet
        from pingji.output.writers import write

        sample = work / "sample"
        generate(scheme, sample, entities=SAMPLE_ENTITIES, seed=7)
        period = _period_of(scheme)
        rs = load_scheme(f"{scheme}.yaml", text=builtin_text(scheme))
        ev = evaluate(rs, FolderDataSet(sample), period, {})
        small = work / "sample-results.parquet"
        write(ev, "parquet", small)
        n = con.execute(f"SELECT count(*) FROM read_parquet('{small}')").fetchone()[0]
        reps = -(-entities // n)
        con.execute(
            f"""COPY (
              SELECT printf('C%07d', k * {n} + i + 1) AS entity_id, * EXCLUDE (entity_id, i, k)
              FROM (SELECT row_number() OVER (ORDER BY entity_id) - 1 AS i, *
                    FROM read_parquet('{small}')), range({reps}) r(k)
              WHERE k * {n} + i < {entities}
              ORDER BY 1
            ) TO '{out}' (FORMAT PARQUET)"""
        )
    else:
        shutil.copyfile(results, out)
    entity = load_scheme(f"{scheme}.yaml", text=builtin_text(scheme)).scheme.entity
    key = TABLES[entity].key
    names = work / f"{entity}.parquet"
    con.execute(
        f"""COPY (
          SELECT entity_id AS {key},
                 (['华东', '华南', '华北', '西南', '东北'])[1 + (hash(entity_id) % 5)::BIGINT]
                 || (['精密', '恒达', '鑫源', '宏远', '华盛', '金鼎', '永泰', '瑞丰'])
                    [1 + (hash(entity_id || 'x') % 8)::BIGINT]
                 || (['机械', '电子', '化工', '建材', '食品', '贸易'])[1 + (hash(entity_id || 'y') % 6)::BIGINT]
                 || substr(entity_id, 2) || '有限公司' AS name
          FROM read_parquet('{out}') ORDER BY 1
        ) TO '{names}' (FORMAT PARQUET)"""
    )
    return out, names


def _load() -> str:
    """The 1-minute load average (other work on the machine makes every figure slower)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def _period_of(scheme: str) -> str:
    from pingji.scheme.resolve import load_scheme
    from pingji.templates import builtin_text

    kind = load_scheme(f"{scheme}.yaml", text=builtin_text(scheme)).scheme.period
    return {"year": "2025", "quarter": "2025-Q4", "month": "2025-12"}[kind]


def _matching(run, query: str) -> int:
    """How many rows a page's filters select (checked outside the timing)."""
    from urllib.parse import parse_qs

    from pingji.web.runs import results

    q = {k: v[0] for k, v in parse_qs(query.lstrip("?")).items()}
    return results.query(run, grade=q.get("grade"), search=q.get("q"), size=1).total


def _median_ms(fn, repeat: int, warm: int = 1) -> tuple[float, list[float]]:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), times


def _excel(run, grade: str | None, user) -> None:
    """Time the Excel export of one grade: the file the export task writes (exports.write_xlsx)."""
    from pingji.web.runs import exports
    from pingji.web.runs.filters import Filters

    f = Filters(grade=grade)
    t = time.perf_counter()
    n_grade = exports.count(run, f)
    path = exports.xlsx_file(run, f, user)
    xlsx_s = time.perf_counter() - t
    xlsx_mb = path.stat().st_size / 1e6
    path.unlink()
    cells = n_grade * len(exports._query(run, f)[2])  # rows × exported columns
    print(
        f"  Excel export, grade {grade} ({n_grade:,} rows)        {xlsx_s:7.2f} s ({xlsx_mb:.0f} MB, "
        f"{cells / xlsx_s:,.0f} cells/s)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--scheme", default="customer-composite")
    ap.add_argument("--results", type=Path, help="use this results.parquet instead")
    ap.add_argument("--work", type=Path, help="keep the workspace here (default: temporary)")
    ap.add_argument(
        "--cached",
        action="store_true",
        help="time views after the first (the run page's fragment and counts kept); "
        "default: each request a first view",
    )
    ap.add_argument(
        "--excel-only",
        action="store_true",
        help="only time the Excel export of one grade (no page, CSV or pandas timings)",
    )
    args = ap.parse_args(argv)
    if args.repeat < 5:
        ap.error("--repeat must be at least 5")

    work = args.work or Path(tempfile.mkdtemp(prefix="pingji-web-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    (home / "static").mkdir(parents=True)
    try:
        return _run(args, work, home)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(args, work: Path, home: Path) -> int:
    import duckdb

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {_load()}"
    )
    t = time.perf_counter()
    results, names = _synthesise(args.scheme, args.entities, work, args.results)
    print(
        f"data: {'given ' + str(args.results) if args.results else 'synthesised'} "
        f"in {time.perf_counter() - t:.1f} s → {results.stat().st_size / 1e6:.0f} MB results.parquet"
    )

    _setup_django(home)
    import django
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache as django_cache
    from django.test import Client

    from pingji.templates import builtin_text
    from pingji.web.imports.models import ImportBatch
    from pingji.web.lib import workspace
    from pingji.web.lib.access import ensure_roles
    from pingji.web.runs import results as results_module
    from pingji.web.runs.execution import summarise
    from pingji.web.runs.models import Run
    from pingji.web.schemes.services import add_version, publish, resolve_version

    ensure_roles()
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-1")
    user.groups.add(Group.objects.get(name="analyst"))
    version = publish(add_version(builtin_text(args.scheme), user), user)
    rs = resolve_version(version)

    run_folder = workspace.runs_dir() / "1"
    run_folder.mkdir(parents=True)
    shutil.move(str(results), run_folder / "results.parquet")
    table = rs.scheme.entity
    batch_file = workspace.batches_dir() / table / "1.parquet"
    batch_file.parent.mkdir(parents=True)
    shutil.move(str(names), batch_file)
    con = duckdb.connect()
    n_rows = con.execute(f"SELECT count(*) FROM read_parquet('{batch_file}')").fetchone()[0]
    batch = ImportBatch.objects.create(
        table=table,
        file_name=f"{table}.parquet",
        checksum="-",
        rows=n_rows,
        path=workspace.relative(batch_file),
        uploaded_by=user,
    )
    file = run_folder / "results.parquet"
    t = time.perf_counter()
    summary = summarise(rs, file)
    summary_ms = (time.perf_counter() - t) * 1000
    run = Run.objects.create(
        scheme_version=version,
        period=_period_of(args.scheme),
        status=Run.Status.DONE,
        progress=100,
        stage="完成",
        entities=summary["entities"],
        summary=summary,
        results_path=workspace.relative(file),
        created_by=user,
    )
    run.batches.set([batch])
    entities = summary["entities"]
    grades = sorted(summary.get("grades", []), key=lambda g: abs(g["count"] - entities / 5))
    grade = grades[0]["grade"] if grades else None
    print(
        f"run: {entities:,} entities of {args.scheme}; grades "
        + ", ".join(f"{g['grade']} {g['count']:,}" for g in summary.get("grades", []))
    )

    if args.excel_only:
        _excel(run, grade, user)
        print(f"\nload average at the end: {_load()}")
        return 0

    client = Client()
    client.force_login(user)
    url = f"/runs/{run.pk}/"
    cases = [
        ("default sort (score, best first)", ""),
        ("sort by score ascending", "?sort=score"),
        (f"filter grade = {grade}", f"?grade={grade}"),
        ("entity search 'C01234' (id start or name)", "?q=C01234"),
        ("name search '华东精密机械' (Chinese, part of name)", "?q=华东精密机械"),
        ("page 1000 (rows 49,951–50,000)", "?page=1000"),
    ]
    print(
        f"\nrun page through Django's test client, median of {args.repeat} (after 1 warm-up), "
        + (
            "views after the first (cached)"
            if args.cached
            else "each a first view (caches emptied)"
        )
        + ":"
    )
    rows = []
    for label, query in cases:

        def get(q=query):
            if not args.cached:  # a first view: no page fragment, no count kept from before
                django_cache.clear()
                results_module._ROWS.clear()
            response = client.get(url + q)
            assert response.status_code == 200, response.status_code
            return response

        html = get().content.decode()  # the page's query string is URL-encoded by the client
        shown = html.count(f'<td><a href="/runs/{run.pk}/entities/')
        total = _matching(run, query)
        med, times = _median_ms(get, args.repeat)
        rows.append((label, med, min(times), max(times), shown, total))
        print(
            f"  {label:44s} {med:7.1f} ms  (min {min(times):.1f}, max {max(times):.1f}; "
            f"{shown} of {total:,} rows)"
        )

    # the same page's data, without Django: the two DuckDB queries the page runs
    bare = duckdb.connect()
    cols = (
        ["entity_id", "score", "grade"]
        + [f"{c.id}.score" for c in (rs.scheme.tree.children or [])[:8]]
        + ["reasons"]
    )
    picked = ", ".join(f'"{c}"' for c in cols)

    def duck():
        bare.execute(f"SELECT count(*) FROM read_parquet('{file}')").fetchone()
        bare.execute(
            f"SELECT {picked} FROM read_parquet('{file}') ORDER BY score DESC NULLS LAST, "
            "entity_id LIMIT 50"
        ).fetchall()

    duck_ms, _ = _median_ms(duck, args.repeat)

    import pandas as pd

    def pandas_page():
        df = pd.read_parquet(file, columns=cols)
        df.sort_values(["score", "entity_id"], ascending=[False, True], na_position="last").iloc[
            :50
        ]

    pandas_ms, _ = _median_ms(pandas_page, args.repeat, warm=1)
    print("\nthe default page's data without Django, same file:")
    print(f"  bare DuckDB (count + ORDER BY score LIMIT 50)  {duck_ms:7.1f} ms")
    print(f"  pandas read_parquet({len(cols)} columns) + sort + slice {pandas_ms:7.1f} ms")

    from pingji.web.runs import exports
    from pingji.web.runs.filters import Filters

    t = time.perf_counter()
    size = sum(len(chunk) for chunk in exports.csv_stream(run, Filters()))
    csv_s = time.perf_counter() - t
    print("\nonce each:")
    print(f"  run summary (grades, histogram, classes …)     {summary_ms:7.1f} ms")
    print(f"  CSV export, all {entities:,} rows               {csv_s:7.2f} s ({size / 1e6:.0f} MB)")
    _excel(run, grade, user)
    print(f"\nload average at the end: {_load()}")
    print(
        f"\nversions: Django {django.__version__}, DuckDB {duckdb.__version__}, "
        f"pandas {pd.__version__}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
