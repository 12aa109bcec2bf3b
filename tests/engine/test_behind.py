"""The fact rows behind a metric (engine/behind.py): the rows the plan read for one entity,
and the metric's value over them, equal to what the evaluation computed for it."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from pingji.engine import evaluate
from pingji.engine.behind import rows_behind, source_table
from pingji.periods import Period
from pingji.scheme import load_scheme

SCHEME = """
id: behind-test
entity: customers
period: month
params:
  floor: 100
metrics:
  sales_total: {sum: sales.amount, window: period}
  big_sales: {count: sales, window: to_date, where: "amount >= floor"}
  batches: {count_distinct: sales.batch_id, window: all}
  avg_sale: {mean: sales.amount, window: period}
  returns_total: {sum: returns.amount, window: period}
  quick:
    count: complaints
    window: all
    where: "workdays_between(opened_at, resolved_at) <= 2"
  balance: {latest: payments.amount}
  manager: {rating: manager, scale: [0, 100]}
"""

TABLES = {
    "customers": "customer_id,name\nC1,甲\nC2,乙\n",
    "sales": (
        "customer_id,date,amount,batch_id\n"
        "C1,2025-03-02,150.00,B1\n"
        "C1,2025-03-15,50.00,B1\n"
        "C1,2025-03-20,200.00,\n"
        "C1,2025-02-10,300.00,B2\n"
        "C1,2025-04-01,999.00,B3\n"
        "C2,2025-03-05,80.00,B1\n"
    ),
    "returns": "customer_id,date,amount\nC2,2025-03-06,10.00\n",
    "payments": (
        "customer_id,date,amount\n"
        "C1,2025-01-31,500.00\n"
        "C1,2025-03-31,700.00\n"
        "C1,2025-04-15,900.00\n"
    ),
    "ratings": (
        "entity_id,period,indicator,score,rater\n"
        "C1,2025-03,manager,80,王\n"
        "C1,2025-03,manager,90,李\n"
        "C1,2025-02,manager,10,王\n"
        "C1,2025-03,service,50,王\n"
    ),
    # Mon 03-03 → Tue 03-04: 1 working day; Fri 03-07 → Wed 03-12: 3; 03-10: not resolved
    "complaints": (
        "entity_id,opened_at,resolved_at\n"
        "C1,2025-03-03,2025-03-04\n"
        "C1,2025-03-07,2025-03-12\n"
        "C1,2025-03-10,\n"
    ),
}

# metric → (the C1 rows behind it, by their date-like column, its value over them)
EXPECTED = {
    # March: 150 + 50 + 200
    "sales_total": (["2025-03-02", "2025-03-15", "2025-03-20"], Decimal("400")),
    # up to 03-31 with amount >= 100: 150 (03-02), 200 (03-20), 300 (02-10); 999 is in April
    "big_sales": (["2025-02-10", "2025-03-02", "2025-03-20"], 3),
    # every row: B1, B2, B3 and the row without a batch, which counts as its own
    "batches": (
        ["2025-02-10", "2025-03-02", "2025-03-15", "2025-03-20", "2025-04-01"],
        4,
    ),
    # 400 / 3
    "avg_sale": (["2025-03-02", "2025-03-15", "2025-03-20"], 400 / 3),
    # C1 returned nothing: no row, and a sum over no rows is 0
    "returns_total": ([], Decimal("0")),
    # only the complaint resolved within 2 working days
    "quick": (["2025-03-03"], 1),
    # the payments up to the period end; the latest of them (03-31) gives the value
    "balance": (["2025-01-31", "2025-03-31"], None),
    # the March ratings of `manager`: (80 + 90) / 2
    "manager": (["2025-03", "2025-03"], 85.0),
}


@pytest.fixture
def evaluated(tmp_path, open_tables):
    path = tmp_path / "behind.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    rs = load_scheme(path)
    ds = open_tables(TABLES)
    ev = evaluate(rs, ds, "2025-03")
    (row,) = [r for r in ev.raw.to_pylist() if r["entity_id"] == "C1"]
    return rs, ds, row


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_rows_behind_a_metric_give_the_value_the_evaluation_computed(evaluated, name):
    rs, ds, row = evaluated
    table = source_table(rs, name)
    spec = rs.tables[table]
    facts = ds.table(table)
    facts = facts.filter(facts[spec.key] == "C1")
    found = rows_behind(rs, Period.parse("2025-03", "month"), None, name, facts, ds)
    rows = found.rows.to_pyarrow().to_pylist()
    when = spec.date or "period"
    expected_rows, expected_value = EXPECTED[name]
    assert sorted(str(r[when]) for r in rows) == expected_rows
    computed = row[f"m__{name}"]
    if found.value is None:  # `latest`: the value is the latest row's
        assert name == "balance"
        latest = max(rows, key=lambda r: r[when])
        assert latest["amount"] == computed == Decimal("700")
        return
    # as a number: a mean of money is a double here, and the run stores it to 4 places
    value = found.value.cast("float64").to_pyarrow().as_py()
    assert value == pytest.approx(float(expected_value))
    assert value == pytest.approx(float(computed))


def test_a_metric_without_fact_rows_has_no_source_table(tmp_path):
    path = tmp_path / "behind.yaml"
    text = SCHEME + "  ratio: {expr: 'sales_total / 2'}\n"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    rs = load_scheme(path)
    assert source_table(rs, "ratio") is None
    assert source_table(rs, "big_sales") == "sales"
    assert source_table(rs, "manager") == "ratings"
