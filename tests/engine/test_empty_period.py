"""A period without data is refused: no row inside the scheme's windows, or — whatever
`window: all` and `to_date` metrics find of older rows — a period wholly after (or before)
the data. A month without sales inside the data's range is a legitimate period."""

import textwrap

import pytest

from pingji.engine import evaluate
from pingji.engine.coverage import EmptyPeriod
from pingji.scheme import load_scheme

SCHEME = """
id: lost-test
entity: customers
period: month
metrics:
  lifetime: {sum: sales.amount, window: all}
  so_far: {sum: sales.amount, window: to_date}
  month_sales: {sum: sales.amount}
tree:
  id: total
  max: 100
  children:
    - id: so_far
      max: 100
      value: so_far
      rule: {linear: {zero_at: 0, full_at: 1000}}
grades:
  levels:
    - {grade: active, min: 50}
    - {grade: lost}
"""

DATA = {
    "customers": "customer_id\nA\nB",
    "sales": "customer_id,date,amount\nA,2025-01-10,1000\nB,2025-03-05,200",
}


@pytest.fixture
def lost(tmp_path):
    path = tmp_path / "lost.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    return load_scheme(path)


def test_a_month_without_sales_inside_the_data_is_evaluated(lost, open_tables):
    ev = evaluate(lost, open_tables(DATA), "2025-02")
    rows = {r["entity_id"]: r for r in ev.table.to_pylist()}
    # sold so far by the end of February: A 1000 → 100 points, B nothing yet → 0
    assert (rows["A"]["score"], rows["A"]["grade"]) == (100.0, "active")
    assert (rows["B"]["score"], rows["B"]["grade"]) == (0.0, "lost")
    assert not [w for w in ev.warnings if "data" in str(w)]


def test_a_period_after_all_the_data_is_refused(lost, open_tables):
    with pytest.raises(EmptyPeriod) as caught:
        evaluate(lost, open_tables(DATA), "2025-06")
    assert str(caught.value) == (
        "period 2025-06 (2025-06-01 to 2025-06-30) begins after the last date of sales; the "
        "data runs from 2025-01-10 to 2025-03-05: every entity (customers) would be rated "
        "without any data of the period. Check the period, or evaluate anyway with --allow-empty"
    )
    assert caught.value.exit_code == 2


def test_a_period_before_all_the_data_is_refused(lost, open_tables):
    with pytest.raises(EmptyPeriod, match=r"^period 2024-11 \(2024-11-01 to 2024-11-30\) ends "
                       r"before the first date of sales; the data runs from 2025-01-10"):  # fmt: skip
        evaluate(lost, open_tables(DATA), "2024-11")


def test_allow_empty_evaluates_a_period_after_the_data_and_warns(lost, open_tables):
    ev = evaluate(lost, open_tables(DATA), "2025-06", allow_empty=True)
    rows = {r["entity_id"]: r["grade"] for r in ev.table.to_pylist()}
    assert rows == {"A": "active", "B": "lost"}  # so far: A 1000, B 200
    assert [str(w) for w in ev.warnings] == [
        "period 2025-06 (2025-06-01 to 2025-06-30) begins after the last date of sales; the "
        "data runs from 2025-01-10 to 2025-03-05: every entity was rated without any data of "
        "the period"
    ]


def test_a_month_without_rows_is_refused_when_every_window_is_the_period(tmp_path, open_tables):
    only_period = SCHEME.replace("value: so_far", "value: month_sales")
    only_period = "\n".join(
        line
        for line in only_period.splitlines()
        if "lifetime" not in line and "so_far:" not in line
    )
    path = tmp_path / "month.yaml"
    path.write_text(textwrap.dedent(only_period), encoding="utf-8")
    with pytest.raises(EmptyPeriod, match=r"^period 2025-02 .* has no row of sales inside"):
        evaluate(load_scheme(path), open_tables(DATA), "2025-02")
    ev = evaluate(load_scheme(path), open_tables(DATA), "2025-03")  # B's 200 → 20 points
    assert {r["entity_id"]: r["score"] for r in ev.table.to_pylist()} == {"A": 0.0, "B": 20.0}


def test_the_month_right_after_the_data_is_a_quiet_month_not_a_mistake(lost, open_tables):
    # the data ends 2025-03-05; April begins 27 days later, less than a month: evaluated
    ev = evaluate(lost, open_tables(DATA), "2025-04")
    rows = {r["entity_id"]: r for r in ev.table.to_pylist()}
    assert (rows["A"]["score"], rows["B"]["grade"]) == (100.0, "lost")  # B: 200 → 20 points
    # May begins 57 days after it, more than a month (31 days): refused
    with pytest.raises(EmptyPeriod, match=r"^period 2025-05 .* begins after the last date"):
        evaluate(lost, open_tables(DATA), "2025-05")
