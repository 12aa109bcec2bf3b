"""Import benchmark: how fast does pingji check and store an uploaded sales CSV?

    .venv/bin/python benchmarks/import_sales.py --rows 1000000 --customers 100000 --repeat 3

Generates (vectorised: numpy draws, DuckDB writes) a sales CSV of `--rows` rows
(customer_id, date, amount with 2 decimals) and a customers CSV, then times, each `--repeat`
times in this process, median reported:

  (a) pingji `import_file`: every check of the data contract (required values, YYYY-MM-DD
      dates, exact amounts with at most 4 decimals, …) and the typed Parquet batch file —
      what `imports.services.commit_batch` does besides a SHA-256 and one database row;
      the SHA-256 is timed on its own, and `inspect_file` (the upload preview: every problem
      listed, 20 typed rows) too;
  (b) a hand-written DuckDB `COPY (SELECT … FROM read_csv(…)) TO … (FORMAT parquet)` with
      the same types and no checks: the floor;
  (c) pandas `read_csv` + `to_parquet` (amount as float64, no checks).

Prints rows/s for each; the target for (a) is 100,000 rows/s or better.

Then (unless --no-entity-list) it times the entity pages' queries (pingji.web.entities.data)
on the imported files: a page of 50 customers, a deep page, a search, a sort, one customer's
attributes and the summary of their sales rows.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pingji.data.batches import import_file
from pingji.data.problems import inspect_file

TARGET = 100_000  # rows/s


def generate(folder: Path, rows: int, customers: int, seed: int = 7) -> tuple[Path, Path]:
    """Write customers.csv and sales.csv into `folder`; return their paths."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    numbers = pa.table({"n": np.arange(1, customers + 1)})
    people = pa.table(
        {
            "n": rng.integers(1, customers + 1, rows),
            "day": rng.integers(0, 730, rows),
            "cents": rng.lognormal(11, 1.2, rows).astype(np.int64) + 1,
        }
    )
    con.register("numbers", numbers)
    con.register("people", people)
    customers_csv, sales_csv = folder / "customers.csv", folder / "sales.csv"
    con.execute(
        "COPY (SELECT 'C' || lpad(n::VARCHAR, 7, '0') AS customer_id, "
        "'客户' || n AS name, DATE '2015-01-01' + (n % 3000)::INT AS created_on, "
        "['华东', '华南', '华北', '西南', '东北'][1 + n % 5] AS region FROM numbers ORDER BY n) "
        f"TO '{customers_csv}' (HEADER)"
    )
    con.execute(
        "COPY (SELECT 'C' || lpad(n::VARCHAR, 7, '0') AS customer_id, "
        "DATE '2024-01-01' + day::INT AS date, (cents / 100)::DECIMAL(18, 2) AS amount "
        f"FROM people) TO '{sales_csv}' (HEADER)"
    )
    con.close()
    return customers_csv, sales_csv


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def handwritten(csv: Path, out: Path) -> None:
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT customer_id, date::DATE AS date, amount::DECIMAL(18, 4) AS amount "
        f"FROM read_csv('{csv}', header = true, all_varchar = true)) TO '{out}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    con.close()


def with_pandas(csv: Path, out: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(csv, dtype={"customer_id": str}, parse_dates=["date"])
    frame.to_parquet(out, index=False)


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def machine() -> str:
    import pandas as pd

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"duckdb {duckdb.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
        f"numpy {np.__version__}"
    )


def entity_list(customers: Path, sales: Path, repeat: int) -> None:
    """Time the entity list and profile queries over the imported Parquet files."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pingji.web.settings")
    os.environ.setdefault("PINGJI_HOME", tempfile.mkdtemp(prefix="pingji-bench-home-"))
    import django

    django.setup()
    from pingji.web.entities import data

    files = [customers]
    total = data.entity_page("customers", files).total
    middle = f"C{total // 2:07d}"
    cases = [
        ("page 1 of 50, sorted by id", lambda: data.entity_page("customers", files)),
        (
            f"page {total // 100:,} (OFFSET {(total // 100 - 1) * 50:,})",
            lambda: data.entity_page("customers", files, page=total // 100),
        ),
        (
            "search part of an id ('0012')",
            lambda: data.entity_page("customers", files, search="0012"),
        ),
        (
            "search part of a name ('客户9999')",
            lambda: data.entity_page("customers", files, search="客户9999"),
        ),
        (
            "sorted by name, descending",
            lambda: data.entity_page("customers", files, sort="name", descending=True),
        ),
        ("one customer's attributes", lambda: data.entity_record("customers", files, middle)),
        ("one customer's sales summary", lambda: data.fact_summary("sales", [sales], middle)),
    ]
    print(f"\nentity pages over {total:,} customers (median of {repeat}, after one warm-up):")
    for label, fn in cases:
        fn()
        median, _times = timed(fn, repeat)
        print(f"    {label:<44} {median * 1000:7.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sales rows")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, help="folder for the files (default: a temp one)")
    parser.add_argument(
        "--no-entity-list", action="store_true", help="skip the entity page timings"
    )
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="pingji-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    start = time.perf_counter()
    customers_csv, sales_csv = generate(work, args.rows, args.customers)
    size = sales_csv.stat().st_size / 1e6
    print(
        f"generated {args.rows:,} sales rows ({size:.1f} MB) and {args.customers:,} customers "
        f"in {time.perf_counter() - start:.2f} s, in {work}"
    )

    out = work / "out"
    out.mkdir(exist_ok=True)
    results: list[tuple[str, int, float, list[float]]] = []

    def run(label: str, rows: int, fn: Callable[[], object]) -> float:
        median, times = timed(fn, args.repeat)
        results.append((label, rows, median, times))
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:<48} {median:7.2f} s  {rows / median:>12,.0f} rows/s   ({runs})")
        return median

    print(f"\nmedian of {args.repeat}:")
    a = run(
        "(a) pingji import_file sales (check + Parquet)",
        args.rows,
        lambda: import_file(sales_csv, "sales", out / "a.parquet"),
    )
    digest = run("    SHA-256 of the file", args.rows, lambda: sha256(sales_csv))
    run(
        "    pingji inspect_file sales (upload preview)",
        args.rows,
        lambda: inspect_file(sales_csv, "sales"),
    )
    run(
        "    pingji import_file customers",
        args.customers,
        lambda: import_file(customers_csv, "customers", out / "c.parquet"),
    )
    b = run(
        "(b) hand-written DuckDB COPY … TO parquet",
        args.rows,
        lambda: handwritten(sales_csv, out / "b.parquet"),
    )
    c = run(
        "(c) pandas read_csv + to_parquet", args.rows, lambda: with_pandas(sales_csv, out / "c.pq")
    )

    check = duckdb.connect()
    stored = check.execute(
        f"SELECT count(*), sum(amount) FROM read_parquet('{out / 'a.parquet'}')"
    ).fetchone()
    floor = check.execute(
        f"SELECT count(*), sum(amount) FROM read_parquet('{out / 'b.parquet'}')"
    ).fetchone()
    print(f"\nstored rows {stored[0]:,}, Σ amount {stored[1]} (hand-written: {floor[1]})")
    if stored != floor:
        print("MISMATCH between pingji and the hand-written import", file=sys.stderr)
        return 1
    commit = a + digest
    rate = args.rows / commit
    print(
        f"commit_batch ≈ import_file + SHA-256 = {commit:.2f} s → {rate:,.0f} rows/s "
        f"(target {TARGET:,}: {'met' if rate >= TARGET else 'NOT met'}); "
        f"pingji / hand-written {a / b:.2f}×, pandas / pingji {c / a:.2f}×"
    )
    if not args.no_entity_list:
        entity_list(out / "c.parquet", out / "a.parquet", args.repeat)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
