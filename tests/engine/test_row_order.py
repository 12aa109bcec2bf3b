"""A result never depends on the order in which rows are read: the same tables with their rows
in another physical order give the same values (PostgreSQL, Spark and a parallel DuckDB scan
guarantee no order either). `latest` with several rows on the latest date: the row with the
largest values of the columns read, in the scheme's order, null smallest (scheme-language §4.4).
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from pingji.engine import evaluate
from pingji.scheme import load_scheme

SCHEME = """
id: row-order-test
entity: customers
period: quarter
metrics:
  statement_date: {latest: financials.period_end}
  assets: {latest: financials.total_assets}
  liabilities: {latest: financials.total_liabilities}
  revenue: {latest: financials.revenue}
  debt_ratio: {expr: liabilities / assets}
"""

CUSTOMERS = "customer_id,name\nC1,甲\nC2,乙\nC3,丙\nC4,丁\n"

FINANCIALS = [
    "customer_id,period_end,total_assets,total_liabilities,revenue",
    # C1: two statements dated 2025-12-31 (a restated one): the larger assets win
    "C1,2025-09-30,900.00,100.00,50.00",
    "C1,2025-12-31,1000.00,600.00,70.00",
    "C1,2025-12-31,1200.00,300.00,80.00",
    # C2: the same assets on the latest date: the larger liabilities decide
    "C2,2025-12-31,500.00,100.00,10.00",
    "C2,2025-12-31,500.00,250.00,20.00",
    # C3: a row without assets counts as the smallest; a later row is after the period
    "C3,2025-12-31,,900.00,30.00",
    "C3,2025-12-31,400.00,200.00,40.00",
    "C3,2026-01-15,9999.00,1.00,1.00",
    # C4: one row per date, the latest wins (no tie)
    "C4,2025-12-31,300.00,30.00,5.00",
    "C4,2025-06-30,800.00,80.00,6.00",
]

# C1 → (statement_date, assets, liabilities, revenue, debt_ratio), all from one row
EXPECTED = {
    "C1": ("2025-12-31", Decimal("1200"), Decimal("300"), Decimal("80"), 0.25),
    "C2": ("2025-12-31", Decimal("500"), Decimal("250"), Decimal("20"), 0.5),
    "C3": ("2025-12-31", Decimal("400"), Decimal("200"), Decimal("40"), 0.5),
    "C4": ("2025-12-31", Decimal("300"), Decimal("30"), Decimal("5"), 0.1),
}


def values(tmp_path, open_tables, rows: list[str]) -> dict[str, tuple]:
    path = tmp_path / "row-order.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    ds = open_tables({"customers": CUSTOMERS, "financials": "\n".join(rows) + "\n"})
    raw = evaluate(load_scheme(path), ds, "2025-Q4").raw.to_pylist()
    names = ["statement_date", "assets", "liabilities", "revenue", "debt_ratio"]
    return {r["entity_id"]: tuple(r[f"m__{n}"] for n in names) for r in raw}


@pytest.mark.parametrize("order", ["as written", "reversed", "interleaved"])
def test_latest_reads_the_same_row_whatever_the_order_of_the_rows(tmp_path, open_tables, order):
    header, *rows = FINANCIALS
    if order == "reversed":
        rows = rows[::-1]
    elif order == "interleaved":
        rows = rows[1::2] + rows[0::2]
    got = values(tmp_path, open_tables, [header, *rows])
    assert set(got) == set(EXPECTED)
    for entity, (date, assets, liabilities, revenue, ratio) in EXPECTED.items():
        found = got[entity]
        assert str(found[0]) == date, entity
        assert Decimal(str(found[1])) == assets, entity
        assert Decimal(str(found[2])) == liabilities, entity
        assert Decimal(str(found[3])) == revenue, entity
        assert float(found[4]) == pytest.approx(ratio), entity


def test_the_exported_script_reads_the_same_latest_row(tmp_path):
    """`pingji compile`'s script, run on plain DuckDB over raw text tables with the rows
    reversed, reads the rows `evaluate` reads."""
    import duckdb

    from pingji.engine.export import export_script
    from pingji.periods import Period

    path = tmp_path / "row-order.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    script = export_script(load_scheme(path), Period.parse("2025-Q4", "quarter"), "duckdb")
    header, *rows = FINANCIALS
    con = duckdb.connect()
    tables = {"customers": CUSTOMERS.splitlines(), "financials": [header, *rows[::-1]]}
    for name, lines in tables.items():
        csv = tmp_path / f"{name}.csv"
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, all_varchar = true)", [str(csv)]
        )
    for sql in script.rstrip().rstrip(";").split(";\n\n"):
        con.execute(sql)
    got = con.execute(
        "SELECT entity_id, CAST(m__statement_date AS TEXT), m__assets, m__liabilities, m__revenue, "
        "m__debt_ratio FROM pingji_result ORDER BY entity_id"
    ).fetchall()
    assert got == [(e, *v[:4], pytest.approx(v[4])) for e, v in sorted(EXPECTED.items())]
