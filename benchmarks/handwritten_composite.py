"""customer-composite for 2025 as ONE hand-written DuckDB query: the speed baseline.

    python benchmarks/handwritten_composite.py DATA OUT.parquet [--memory-limit 4GB]

With --memory-limit, DuckDB's memory_limit is set (as `pingji evaluate --memory-limit` does)
and what does not fit spills to a temporary folder of its own.

Implements shared/spec/templates.md §1 exactly: sums in exact decimal, ratios in double
rounded to 9 decimals before the linear rules are applied and clamped, missing input → 0
points, weights .3 .3 .2 .1 .1, grades AAA ≥ 90, AA ≥ 80, A ≥ 70, B ≥ 60, else C.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

QUERY = """
COPY (
  WITH
  customers AS (SELECT customer_id AS entity_id FROM read_parquet('{data}/customers.parquet')),
  sales AS (
    SELECT customer_id AS entity_id,
           sum(amount) FILTER (WHERE date >= DATE '2025-01-01') AS sales,
           sum(amount) FILTER (WHERE date <  DATE '2025-01-01') AS prev_sales
    FROM read_parquet('{data}/sales.parquet')
    WHERE date BETWEEN DATE '2024-01-01' AND DATE '2025-12-31'
    GROUP BY 1),
  payments AS (
    SELECT customer_id AS entity_id, sum(amount) AS payments
    FROM read_parquet('{data}/payments.parquet')
    WHERE date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
    GROUP BY 1),
  returns AS (
    SELECT customer_id AS entity_id, sum(amount) AS returns
    FROM read_parquet('{data}/returns.parquet')
    WHERE date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
    GROUP BY 1),
  rating AS (  -- the mean over raters: each rater's rows averaged first
    SELECT entity_id, avg(score) AS manager_rating
    FROM (SELECT entity_id, avg(score) AS score
          FROM read_parquet('{data}/ratings.parquet')
          WHERE indicator = 'manager_rating' AND period = '2025'
          GROUP BY entity_id, rater)
    GROUP BY 1),
  metrics AS (
    SELECT c.entity_id,
           coalesce(s.sales, 0) AS sales,
           coalesce(s.prev_sales, 0) AS prev_sales,
           coalesce(p.payments, 0) AS payments,
           coalesce(r.returns, 0) AS returns,
           m.manager_rating
    FROM customers c
    LEFT JOIN sales s USING (entity_id)
    LEFT JOIN payments p USING (entity_id)
    LEFT JOIN returns r USING (entity_id)
    LEFT JOIN rating m USING (entity_id)),
  ratios AS (
    -- Differences are exact decimals; each ratio is a double rounded to 9 decimals.
    SELECT entity_id, manager_rating,
           sales::DOUBLE AS sales_volume,
           CASE WHEN prev_sales <> 0
                THEN round((sales - prev_sales)::DOUBLE / prev_sales::DOUBLE, 9) END
             AS sales_growth,
           CASE WHEN sales <> 0 THEN round(payments::DOUBLE / sales::DOUBLE, 9) END
             AS collection_rate,
           CASE WHEN sales <> 0 THEN round(returns::DOUBLE / sales::DOUBLE, 9) END
             AS return_rate
    FROM metrics),
  scores AS (
    -- linear x0 → 0, x1 → 100, clamped. DuckDB's greatest/least skip NULLs, so a missing
    -- value must be kept NULL explicitly (it becomes 0 points below), not clamped to 100.
    SELECT entity_id,
           greatest(0, least(100, (sales_volume - 100000) / 2000000 * 100)) AS s_volume,
           CASE WHEN sales_growth IS NOT NULL
                THEN greatest(0, least(100, sales_growth / 0.25 * 100)) END AS s_growth,
           CASE WHEN collection_rate IS NOT NULL
                THEN greatest(0, least(100, (collection_rate - 0.90) / 0.10 * 100)) END
             AS s_collection,
           CASE WHEN return_rate IS NOT NULL
                THEN greatest(0, least(100, (0.05 - return_rate) / 0.04 * 100)) END AS s_return,
           manager_rating AS s_rating
    FROM ratios),
  points AS (
    SELECT entity_id,
           0.30 * coalesce(s_volume, 0) AS sales_volume_points,
           0.30 * coalesce(s_growth, 0) AS sales_growth_points,
           0.20 * coalesce(s_collection, 0) AS collection_rate_points,
           0.10 * coalesce(s_return, 0) AS return_rate_points,
           0.10 * coalesce(s_rating, 0) AS manager_rating_points
    FROM scores),
  total AS (
    -- Rounded to 9 decimals so that an exact 80 is not graded A for being 79.99999999999999.
    SELECT *, round(sales_volume_points + sales_growth_points + collection_rate_points
                    + return_rate_points + manager_rating_points, 9) AS score
    FROM points)
  SELECT entity_id, score,
         CASE WHEN score >= 90 THEN 'AAA' WHEN score >= 80 THEN 'AA' WHEN score >= 70 THEN 'A'
              WHEN score >= 60 THEN 'B' ELSE 'C' END AS grade,
         sales_volume_points, sales_growth_points, collection_rate_points,
         return_rate_points, manager_rating_points
  FROM total
  ORDER BY entity_id
) TO '{out}' (FORMAT parquet)
"""


def run(data: Path, out: Path, memory_limit: str | None = None) -> None:
    """Compute customer-composite for 2025 over the data set and write it as Parquet."""
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="handwritten-") as spill:
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute("SET temp_directory = ?", [spill])
        con.execute(QUERY.format(data=data.as_posix(), out=out.as_posix()))
        con.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--memory-limit", default=None, help="DuckDB's memory_limit, e.g. 4GB")
    args = ap.parse_args()
    run(args.data, args.out, args.memory_limit)
