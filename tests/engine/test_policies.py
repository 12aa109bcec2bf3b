"""Engine policies on small hand-written schemes: missing inputs, weight profiles, grades."""

import textwrap

import pytest

from pingji.engine import evaluate
from pingji.errors import EvaluationError
from pingji.scheme import load_scheme

SCHEME = """
id: policy-test
entity: customers
period: year
metrics:
  category: {{attribute: category}}
  sales: {{sum: sales.amount}}
  payments: {{sum: payments.amount}}
  collection: {{expr: payments / sales}}
tree:
  id: total
  max: 100
  {group}
  children:
    - id: volume
      max: 100
      {volume_weight}
      value: sales
      rule: {{linear: {{zero_at: 0, full_at: 1000}}}}
    - id: collection
      max: 100
      {collection_weight}
      missing: {policy}
      rule: {{linear: {{zero_at: 0.5, full_at: 1}}}}
grades:
  levels:
    - {{grade: good, min: 60}}
    - {{grade: poor}}
"""

DATA = {
    "customers": "customer_id,category\nA,retail\nB,wholesale\nC,retail",
    "sales": "customer_id,date,amount\nA,2025-01-01,1000\nB,2025-01-01,500",
    "payments": "customer_id,date,amount\nA,2025-02-01,750\nB,2025-02-01,500",
}


def scheme(tmp_path, policy="zero", group="weighting: ratios", vw="weight: 1", cw="weight: 1"):
    text = SCHEME.format(group=group, volume_weight=vw, collection_weight=cw, policy=policy)
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


def test_exclude_renormalises_the_parent(tmp_path, open_tables):
    rows = {
        r["entity_id"]: r
        for r in evaluate(scheme(tmp_path, "exclude"), open_tables(DATA), "2025").table.to_pylist()
    }
    # A: volume 100, collection 0.75 → 50 → (100 + 50)/2 = 75
    assert rows["A"]["score"] == 75.0 and rows["A"]["grade"] == "good"
    # C: no sales → volume 0, collection excluded → the total is volume alone: 0
    assert rows["C"]["score"] == 0.0
    assert rows["C"]["missing"] == ["collection"]
    assert rows["C"]["nodes"]["collection"]["points"] is None


def test_zero_keeps_the_weight_and_scores_nothing(tmp_path, open_tables):
    rows = {
        r["entity_id"]: r
        for r in evaluate(scheme(tmp_path, "zero"), open_tables(DATA), "2025").table.to_pylist()
    }
    # B: volume 50, collection 1.0 → 100 → 75; C: 0 and 0 → 0
    assert rows["B"]["score"] == 75.0
    assert rows["C"]["nodes"]["collection"]["points"] == 0.0


def test_fail_stops_the_run_naming_the_entities(tmp_path, open_tables):
    with pytest.raises(EvaluationError, match=r"indicator 'collection' has no input.*\(e\.g\. C\)"):
        evaluate(scheme(tmp_path, "fail"), open_tables(DATA), "2025")


def test_a_value_without_a_weight_profile_stops_the_run(tmp_path, open_tables):
    group = (
        "weights_by: {by: category, profiles: {retail: {volume: 3, collection: 1}, "
        "online: {volume: 1, collection: 1}}}"
    )
    s = scheme(tmp_path, "zero", group=group, vw="", cw="")
    with pytest.raises(EvaluationError, match=r"chooses its weights by category.*\(e\.g\. B\)"):
        evaluate(s, open_tables(DATA), "2025")


def test_weight_profiles_apply_per_entity(tmp_path, open_tables):
    group = (
        "weights_by: {by: category, default: other, profiles: {retail: {volume: 3, collection: 1}, "
        "other: {volume: 1, collection: 1}}}"
    )
    s = scheme(tmp_path, "zero", group=group, vw="", cw="")
    rows = {r["entity_id"]: r for r in evaluate(s, open_tables(DATA), "2025").table.to_pylist()}
    # A (retail): (3·100 + 1·50)/4 = 87.5; B (wholesale → default 1:1): (50 + 100)/2 = 75
    assert rows["A"]["score"] == 87.5
    assert rows["B"]["score"] == 75.0


def test_a_count_over_all_dates_without_a_condition_counts_every_row(tmp_path, open_tables):
    text = """
    id: count-all
    entity: customers
    period: year
    metrics:
      n_all: {count: sales, window: all}
      n_year: {count: sales}
    tree:
      id: total
      max: 100
      value: n_all
      rule: {linear: {zero_at: 0, full_at: 10}}
    """
    path = tmp_path / "count.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    data = {
        "customers": "customer_id\nA\nB",
        "sales": "customer_id,date,amount\nA,2020-01-01,5\nA,2025-03-01,3\nA,2025-04-01,1",
    }
    ev = evaluate(load_scheme(path), open_tables(data), "2025")
    rows = {r["entity_id"]: r for r in ev.table.to_pylist()}
    assert rows["A"]["points"] == 30  # 3 rows of all dates → 3/10 of 100
    assert rows["B"]["points"] == 0


def test_the_run_stopping_checks_read_in_chinese(tmp_path, open_tables):
    with pytest.raises(EvaluationError) as fail:
        evaluate(scheme(tmp_path, "fail"), open_tables(DATA), "2025")
    assert fail.value.render("zh") == (
        "指标“collection”没有输入，且其缺失策略为 `fail`：1 个评价对象（如 C）"
    )
    group = "weights_by: {by: category, profiles: {retail: {volume: 3, collection: 1}}}"
    with pytest.raises(EvaluationError) as unmatched:
        evaluate(scheme(tmp_path, "zero", group=group, vw="", cw=""), open_tables(DATA), "2025")
    assert unmatched.value.render("zh") == (
        "分组“total”按 category 选择权重，但这些评价对象的取值没有对应的权重方案"
        "（retail；或给出 `default`）：1 个评价对象（如 B）"
    )
