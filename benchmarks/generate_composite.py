"""Generate a large customer-composite data set as Parquet, in chunks, for the speed benchmark.

    python benchmarks/generate_composite.py --customers 1000000 --sales 20000000 \
        --out benchmarks/data/composite

Writes customers, sales (2024 and 2025), payments (~0.9 rows per sale), returns (~3 %) and
ratings (manager_rating, period 2025). Amounts are decimal(18, 2). Rows are drawn with numpy a
chunk at a time, so memory stays at a few hundred MB whatever the size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FIRST_DAY = np.datetime64("2024-01-01", "D")
LAST_DAY = np.datetime64("2025-12-31", "D")
DAYS = int((LAST_DAY - FIRST_DAY).astype(int)) + 1
MONEY = pa.decimal128(18, 2)
REGIONS = ("华东", "华南", "华北", "西南", "东北")
TRADE_NAMES = ("精密", "恒达", "鑫源", "宏远", "华盛", "金鼎", "永泰", "瑞丰", "中联", "天成")
INDUSTRIES = ("机械", "电子", "化工", "建材", "食品", "贸易", "物流", "科技")


def _ids(numbers: np.ndarray) -> pa.Array:
    """Return customer ids C0000001 … built in Arrow."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), 7, "0")
    return pc.binary_join_element_wise("C", text, "")


def _label(words: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Return the words picked by integer codes."""
    return pa.array(words).take(pa.array(codes))


def _money(cents: np.ndarray) -> pa.Array:
    """Return exact decimal(18, 2) amounts from integer cents."""
    return pa.array(cents / 100).cast(MONEY)


def _customers(rng: np.random.Generator, n: int) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Return the customers table and per-customer behaviour used by the fact chunks."""
    numbers = np.arange(1, n + 1)
    name = pc.binary_join_element_wise(
        _label(REGIONS, rng.integers(0, 5, n)),
        _label(TRADE_NAMES, rng.integers(0, len(TRADE_NAMES), n)),
        _label(INDUSTRIES, rng.integers(0, len(INDUSTRIES), n)),
        pc.cast(pa.array(numbers), pa.string()),
        "有限公司",
        "",
    )
    table = pa.table(
        {
            "customer_id": _ids(numbers),
            "name": name,
            "region": _label(REGIONS, rng.integers(0, 5, n)),
            "created_on": pa.array(
                np.datetime64("2015-01-01", "D") + rng.integers(0, 4000, n).astype("timedelta64[D]")
            ),
            "opening_balance": _money(
                np.where(rng.random(n) < 0.4, rng.integers(0, 5_000_000, n), 0)
            ),
        }
    )
    behaviour = {
        # Shipment size per customer: skewed, so a few customers make most of the sales.
        "size": rng.lognormal(np.log(10_000), 1.0, n),
        "pay_ratio": np.clip(rng.normal(0.98, 0.05, n), 0.6, 1.15),
        "new_in_2025": rng.random(n) < 0.05,  # no sales in the previous year
    }
    return table, behaviour


def _fact_chunk(rng: np.random.Generator, rows: int, n: int, b: dict[str, np.ndarray]):
    """Return (sales, payments, returns) tables for one chunk of sales rows."""
    # 3 % of customers never buy: draw from the first 97 %, skewed towards low ids.
    idx = (rng.random(rows) ** 1.3 * int(n * 0.97)).astype(np.int64)
    day = FIRST_DAY + rng.integers(0, DAYS, rows)
    shift = b["new_in_2025"][idx] & (day < np.datetime64("2025-01-01", "D"))
    day = np.where(shift, day + 365, day)
    cents = np.round(b["size"][idx] * rng.lognormal(0, 0.5, rows) * 100).astype(np.int64)
    sales = pa.table(
        {
            "customer_id": _ids(idx + 1),
            "date": pa.array(day),
            "amount": _money(cents),
            "batch_id": pc.cast(pa.array(rng.integers(0, 10**9, rows)), pa.string()),
        }
    )
    paid = rng.random(rows) < 0.9
    pay_day = day[paid] + rng.integers(0, 30, paid.sum())
    inside = pay_day <= LAST_DAY
    p_idx = idx[paid][inside]
    payments = pa.table(
        {
            "customer_id": _ids(p_idx + 1),
            "date": pa.array(pay_day[inside]),
            "amount": _money(
                np.round(cents[paid][inside] * b["pay_ratio"][p_idx]).astype(np.int64)
            ),
        }
    )
    back = rng.random(rows) < 0.03
    ret_day = np.minimum(day[back] + rng.integers(1, 30, back.sum()), LAST_DAY)
    returns = pa.table(
        {
            "customer_id": _ids(idx[back] + 1),
            "date": pa.array(ret_day),
            "amount": _money(
                np.round(cents[back] * rng.uniform(0.05, 0.5, back.sum())).astype(np.int64)
            ),
        }
    )
    return sales, payments, returns


def _ratings(rng: np.random.Generator, n: int) -> pa.Table:
    """Return manager ratings for period 2025: 85 % of customers, 1–3 raters each."""
    rated = np.flatnonzero(rng.random(n) < 0.85)
    idx = np.repeat(rated, rng.integers(1, 4, len(rated)))
    m = len(idx)
    return pa.table(
        {
            "entity_id": _ids(idx + 1),
            "period": pa.array(["2025"] * 1).take(pa.array(np.zeros(m, np.int64))),
            "indicator": pa.array(["manager_rating"]).take(pa.array(np.zeros(m, np.int64))),
            "score": np.round(np.clip(rng.normal(75, 12, m), 0, 100)),
            "rater": _label(("张伟", "李娜", "王强", "刘洋"), rng.integers(0, 4, m)),
        }
    )


def generate(customers: int, sales: int, out: Path, seed: int = 7, chunk: int = 2_000_000) -> None:
    """Write the benchmark data set as Parquet files into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table, behaviour = _customers(rng, customers)
    pq.write_table(table, out / "customers.parquet")
    pq.write_table(_ratings(rng, customers), out / "ratings.parquet")
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for start in range(0, sales, chunk):  # one chunk of rows at a time keeps memory flat
            parts = _fact_chunk(rng, min(chunk, sales - start), customers, behaviour)
            for name, part in zip(("sales", "payments", "returns"), parts, strict=True):
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out / f"{name}.parquet", part.schema)
                writers[name].write_table(part)
    finally:
        for w in writers.values():
            w.close()


def main() -> None:
    """Parse the command line and generate."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--sales", type=int, default=20_000_000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/data/composite"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk", type=int, default=2_000_000, help="sales rows per chunk")
    args = ap.parse_args()
    started = time.perf_counter()
    generate(args.customers, args.sales, args.out, args.seed, args.chunk)
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
