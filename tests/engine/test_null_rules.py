"""A rule that yields NULL never gives marks: it is missing, and the node's policy decides.

SQL's GREATEST/LEAST skip NULLs, so a clamp written with them turns `10 - NULL` into full
marks. Each rule kind is tried with a missing input (a customer with no quotes, no rating,
an empty cell), on every backend, and a property checks every kind with random parameters.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import write_tables

from pingji.engine import evaluate
from pingji.scheme import load_scheme

# A has every input (premium: the mean of two events' counts, 0.5); B has no events, no rating, no net assets, no sales: every input is NULL.
DATA = {
    "customers": """\
        customer_id,net_assets,region
        A,500,north
        B,,
        """,
    "sales": """\
        customer_id,date,amount
        A,2025-03-01,1000
        """,
    "events": """\
        entity_id,date,type,count
        A,2025-03-01,quote,0
        A,2025-04-01,quote,1
        """,
    "ratings": """\
        entity_id,period,indicator,score,rater
        A,2025,manager,80,r1
        """,
}

METRICS = """
metrics:
  premium: {mean: events.count}
  region: {attribute: region}
  assets: {attribute: net_assets}
  sales: {sum: sales.amount}
  target: {expr: "assets * 2"}
  manager: {rating: manager, scale: [0, 100]}
  ratio: {expr: "sales / sales"}
"""

# (rule id, indicator YAML, A's points by hand). B's input is NULL in every case.
RULES = [
    # 10 − 0.5·10 = 5
    ("expr", "rule: {expr: '10 - premium * 10'}", 5.0),
    # ERPNext's unguarded 0/0: for B, sales = 0 → 0/0 is NULL (A: 1000/1000 = 1 → 10)
    ("expr_zero_div", "rule: {expr: 'ratio * 10'}", 10.0),
    # (500 − 0) / (1000 − 0) · 10 = 5
    ("linear", "value: assets\n      rule: {linear: {zero_at: 0, full_at: 1000}}", 5.0),
    # full_at = target = 1000 for A; NULL for B even though the value (sales = 0) is known
    ("linear_bound", "value: sales\n      rule: {linear: {zero_at: 0, full_at: target}}", 10.0),
    (
        "bands",
        "value: premium\n      rule: {bands: [{below: 1, points: 10}, {from: 1, points: 0}]}",
        10.0,
    ),
    ("mapping", "value: region\n      rule: {mapping: {cases: {north: 7}, else: 10}}", 7.0),
    # 80 on 0…100 → 8 of 10
    ("manual", "value: manager\n      rule: manual", 8.0),
    # 10 − 0.5·2 = 9
    ("per", "rule: {deduction: {items: [{per: premium, points: 2}]}}", 9.0),
    # shortfall of assets below 1000 in steps of 100: 5 steps · 1 = 5 → 5
    (
        "shortfall",
        "rule: {deduction: {items: [{shortfall: assets, below: 1000, step: 100, points: 1}]}}",
        5.0,
    ),
    # excess of assets above 0 in steps of 100: 5 steps, capped at 3 → 7
    (
        "excess",
        "rule: {deduction: {items: [{excess: assets, above: 0, step: 100, points: 1, cap: 3}]}}",
        7.0,
    ),
    ("amount", "rule: {deduction: {items: [{amount: premium * 4}]}}", 8.0),
    (
        "bands_of",
        "rule: {deduction: {items: [{of: premium, bands: [{below: 1, points: 4}]}]}}",
        6.0,
    ),
]


def one_indicator_scheme(tmp_path: Path, rule: str, policy: str) -> object:
    text = f"""
id: null-rule
entity: customers
period: year
{textwrap.dedent(METRICS)}
tree:
  id: total
  max: 20
  children:
    - id: probe
      max: 10
      missing: {policy}
      {rule}
    - id: steady
      max: 10
      rule: {{expr: '10'}}
"""
    path = tmp_path / "scheme.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scheme(path)


@pytest.mark.parametrize(("kind", "rule", "a_points"), RULES, ids=[r[0] for r in RULES])
def test_a_null_rule_result_is_missing_and_gets_no_marks(
    tmp_path, open_tables, kind, rule, a_points
):
    rs = one_indicator_scheme(tmp_path, rule, "zero")
    rows = {r["entity_id"]: r for r in evaluate(rs, open_tables(DATA), "2025").table.to_pylist()}
    a, b = rows["A"], rows["B"]
    assert a["nodes"]["probe"]["points"] == a_points
    assert "probe" not in a["missing"]
    # zero policy: no marks, and the indicator is listed as missing
    assert b["nodes"]["probe"]["points"] == 0.0
    assert "probe" in b["missing"]
    assert b["points"] == 10.0  # only the steady indicator


@pytest.mark.parametrize(("kind", "rule", "a_points"), RULES[:4], ids=[r[0] for r in RULES[:4]])
def test_exclude_leaves_a_null_rule_out_of_its_group(tmp_path, open_tables, kind, rule, a_points):
    rs = one_indicator_scheme(tmp_path, rule, "exclude")
    rows = {r["entity_id"]: r for r in evaluate(rs, open_tables(DATA), "2025").table.to_pylist()}
    b = rows["B"]
    assert b["nodes"]["probe"]["points"] is None
    assert "probe" in b["missing"]
    # the group is rescaled over the steady indicator alone: 10/10 → 20 of 20
    assert b["points"] == 20.0


# ---------------------------------------------------------------- the property

_bound = st.integers(min_value=-50, max_value=50)


@st.composite
def rules(draw) -> str:
    """A random rule of any kind over the value `assets` (NULL for customer B)."""
    kind = draw(
        st.sampled_from(["expr", "linear", "bands", "per", "shortfall", "excess", "amount"])
    )
    a, b = draw(_bound), draw(_bound)
    if kind == "expr":
        return f"rule: {{expr: '{a} - assets * {b}'}}"
    if kind == "linear":
        b = b if b != a else a + 1
        return f"value: assets\n      rule: {{linear: {{zero_at: {a}, full_at: {b}}}}}"
    if kind == "bands":
        lo, hi = sorted((a, b if b != a else a + 1))
        return (
            f"value: assets\n      rule: {{bands: {{bands: [{{below: {lo}, points: 3}}, "
            f"{{from: {lo}, below: {hi}, points: 10}}], else: 6}}}}"
        )
    if kind == "per":
        return f"rule: {{deduction: {{items: [{{per: assets, points: {a}}}]}}}}"
    if kind in ("shortfall", "excess"):
        key = "below" if kind == "shortfall" else "above"
        return f"rule: {{deduction: {{items: [{{{kind}: assets, {key}: {a}, points: {abs(b)}}}]}}}}"
    return f"rule: {{deduction: {{items: [{{amount: 'assets * {b}'}}], cap: {abs(a)}}}}}"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rule=rules(), assets=st.integers(min_value=-100, max_value=100))
def test_a_null_input_never_raises_an_indicators_points(tmp_path_factory, rule, assets):
    from pingji.data import open_dataset

    tmp = tmp_path_factory.mktemp("prop")
    data = dict(DATA)
    data["customers"] = f"customer_id,net_assets,region\nA,{assets},x\nB,,\n"
    rs = one_indicator_scheme(tmp, rule, "zero")
    rows = {
        r["entity_id"]: r
        for r in evaluate(rs, open_dataset(write_tables(tmp / "d", data)), "2025").table.to_pylist()
    }
    known, null = rows["A"]["nodes"]["probe"]["points"], rows["B"]["nodes"]["probe"]["points"]
    assert null == 0.0
    assert null <= known
    assert "probe" in rows["B"]["missing"]
