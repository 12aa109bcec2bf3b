"""customer-composite for 2025 as an idiomatic pandas script: the analyst's baseline.

    python benchmarks/pandas_composite.py DATA OUT.parquet

Same rules as handwritten_composite.py: money stays exact (Arrow decimals summed by pandas),
ratios are doubles rounded to 9 decimals, linear rules clamped with numpy, missing → 0 points.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

START, END = date(2025, 1, 1), date(2025, 12, 31)
PREV_START = date(2024, 1, 1)
SUM_TYPE = pd.ArrowDtype(pa.decimal128(30, 2))


def _read(data: Path, table: str, columns: list[str]) -> pd.DataFrame:
    """Read a table with Arrow-backed dtypes, so decimals stay decimals."""
    return pd.read_parquet(data / f"{table}.parquet", columns=columns, dtype_backend="pyarrow")


def _total(df: pd.DataFrame, start: date, end: date, name: str) -> pd.Series:
    """Return Σ amount per customer for rows dated in [start, end]."""
    rows = df[(df["date"] >= start) & (df["date"] <= end)]
    total = rows.groupby("customer_id")["amount"].sum().rename(name)
    # Arrow widens a decimal sum to 38 digits, leaving no room for `sales - prev_sales`.
    return total.astype(SUM_TYPE)


def _linear(x: pd.Series, x0: float, x1: float) -> np.ndarray:
    """Return the linear score x0 → 0, x1 → 100, clamped; NaN stays NaN."""
    return np.clip((x.to_numpy(float) - x0) / (x1 - x0) * 100, 0, 100)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """Return num / den as a double rounded to 9 decimals; NaN where den is 0."""
    den = den.astype("float64").replace(0, np.nan)
    return (num.astype("float64") / den).round(9)


def run(data: Path, out: Path) -> None:
    """Compute customer-composite for 2025 over the data set and write it as Parquet."""
    customers = _read(data, "customers", ["customer_id"])
    sales = _read(data, "sales", ["customer_id", "date", "amount"])
    payments = _read(data, "payments", ["customer_id", "date", "amount"])
    returns = _read(data, "returns", ["customer_id", "date", "amount"])
    ratings = _read(data, "ratings", ["entity_id", "period", "indicator", "score", "rater"])

    rated = ratings[(ratings["indicator"] == "manager_rating") & (ratings["period"] == "2025")]
    metrics = (
        customers.set_index("customer_id")
        .join(_total(sales, START, END, "sales"))
        .join(_total(sales, PREV_START, date(2024, 12, 31), "prev_sales"))
        .join(_total(payments, START, END, "payments"))
        .join(_total(returns, START, END, "returns"))
        # the mean over raters: each rater's rows averaged first
        .join(
            rated.groupby(["entity_id", "rater"])["score"]
            .mean()
            .groupby(level="entity_id")
            .mean()
            .rename("manager_rating")
        )
    )
    money = ["sales", "prev_sales", "payments", "returns"]
    metrics[money] = metrics[money].fillna(0)

    growth = _ratio(metrics["sales"] - metrics["prev_sales"], metrics["prev_sales"])
    result = pd.DataFrame(
        {
            "sales_volume_points": 0.30 * _linear(metrics["sales"], 100_000, 2_100_000),
            "sales_growth_points": 0.30 * _linear(growth, 0, 0.25),
            "collection_rate_points": 0.20
            * _linear(_ratio(metrics["payments"], metrics["sales"]), 0.90, 1.00),
            "return_rate_points": 0.10
            * _linear(_ratio(metrics["returns"], metrics["sales"]), 0.05, 0.01),
            "manager_rating_points": 0.10 * metrics["manager_rating"].to_numpy(float),
        },
        index=metrics.index.rename("entity_id"),
    ).fillna(0)  # missing input → 0 points
    # Rounded to 9 decimals so that an exact 80 is not graded A for being 79.99999999999999.
    result.insert(0, "score", result.sum(axis=1).round(9))
    result.insert(
        1,
        "grade",
        np.select([result["score"] >= t for t in (90, 80, 70, 60)], ["AAA", "AA", "A", "B"], "C"),
    )
    result.sort_index().reset_index().to_parquet(out, index=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pandas_composite.py DATA OUT.parquet")
    run(Path(sys.argv[1]), Path(sys.argv[2]))
