"""Ratings and overrides: rows that match nothing the scheme reads are told in warnings (an
unknown entity, an indicator the scheme does not rate, a period written otherwise), and a
rating is the mean over raters (each rater's own rows averaged first)."""

import textwrap

import pytest

from pingji.engine import evaluate
from pingji.scheme import load_scheme

SCHEME = """
id: rating-rows
entity: suppliers
period: quarter
metrics:
  service: {rating: service, scale: [0, 10]}
tree:
  id: total
  max: 100
  children:
    - id: service
      max: 100
      value: service
      rule: {linear: {zero_at: 0, full_at: 10}}
grades:
  levels:
    - {grade: A, min: 60}
    - {grade: B}
"""

SUPPLIERS = "supplier_id\nS1\nS2"


@pytest.fixture
def scheme(tmp_path):
    path = tmp_path / "rating-rows.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    return load_scheme(path)


def run(scheme, open_tables, ratings: str, overrides: str | None = None):
    tables = {"suppliers": SUPPLIERS, "ratings": ratings}
    if overrides is not None:
        tables["overrides"] = overrides
    ev = evaluate(scheme, open_tables(tables), "2026-Q1")
    return {r["entity_id"]: r for r in ev.table.to_pylist()}, [str(w) for w in ev.warnings]


def test_ratings_and_overrides_of_unknown_entities_are_warned_about(scheme, open_tables):
    rows, warnings = run(
        scheme,
        open_tables,
        "entity_id,period,indicator,score,rater\n"
        "S1,2026-Q1,service,8,王工\nS9,2026-Q1,service,5,王工\nS9,2026-Q1,service,6,李工\n"
        "S8,2025-Q4,service,5,王工",  # another period: not read, not counted
        "entity_id,period,grade,reason\nS2,2026-Q1,A,good\nS7,2026-Q1,B,bad",
    )
    assert (rows["S1"]["score"], rows["S2"]["grade"]) == (80.0, "A")
    assert warnings == [
        "1 row(s) of overrides name entities that are not in suppliers: ignored",
        "2 row(s) of ratings name entities that are not in suppliers: ignored",
    ]


def test_a_rating_of_an_indicator_the_scheme_does_not_rate_is_warned_about(scheme, open_tables):
    rows, warnings = run(
        scheme,
        open_tables,
        "entity_id,period,indicator,score\nS1,2026-Q1,service,8\n"
        "S2,2026-Q1,servcie,7\nS2,2026-Q1,servcie,6\nS2,2026-Q1,quality,6\n"
        "S2,2025-Q4,price,6",  # another period: not this evaluation's business
    )
    assert rows["S2"]["nodes"]["service"]["value"] is None
    assert warnings == [
        "2 row(s) of ratings in 2026-Q1 rate 'servcie', which the scheme does not rate "
        "(it rates service): ignored; did you mean 'service'?",
        "1 row(s) of ratings in 2026-Q1 rate 'quality', which the scheme does not rate "
        "(it rates service): ignored",
    ]


def test_a_period_written_otherwise_is_warned_about(scheme, open_tables):
    rows, warnings = run(
        scheme,
        open_tables,
        "entity_id,period,indicator,score\nS1,2026-Q1,service,8\n"
        "S2,2026Q1,service,7\nS2,2026Q1,service,6\nS2,2026-q1,service,6",
        "entity_id,period,grade,reason\nS1,2026 Q1,B,late",
    )
    assert rows["S2"]["nodes"]["service"]["value"] is None
    assert rows["S1"]["grade"] == "A"  # the override of "2026 Q1" is read by no period
    assert warnings == [
        "2 row(s) of ratings name the period '2026Q1', which is not written like 2026-Q1: ignored",
        "1 row(s) of ratings name the period '2026-q1', which is not written like 2026-Q1: ignored",
        "1 row(s) of overrides name the period '2026 Q1', which is not written like 2026-Q1: "
        "ignored",
    ]


def test_a_rating_is_the_mean_over_raters(scheme, open_tables):
    rows, warnings = run(
        scheme,
        open_tables,
        "entity_id,period,indicator,score,rater\n"
        "S1,2026-Q1,service,10,王工\nS1,2026-Q1,service,10,王工\nS1,2026-Q1,service,4,李工\n"
        "S2,2026-Q1,service,6,\nS2,2026-Q1,service,9,\nS2,2026-Q1,service,9,张工",
    )
    # S1: 王工's two rows count once (10), 李工 4 → (10 + 4) / 2 = 7, not (10 + 10 + 4) / 3 = 8
    assert rows["S1"]["nodes"]["service"]["value"] == 7.0
    # S2: a row without a rater is a rater of its own → (6 + 9 + 9) / 3 = 8
    assert rows["S2"]["nodes"]["service"]["value"] == 8.0
    assert warnings == [
        "ratings in 2026-Q1: 王工 rated S1 on 'service' 2 times; a rater's rows are averaged "
        "into one score"
    ]


def test_many_raters_rating_twice_make_one_warning(scheme, open_tables):
    _rows, warnings = run(
        scheme,
        open_tables,
        "entity_id,period,indicator,score,rater\n"
        "S1,2026-Q1,service,10,王工\nS1,2026-Q1,service,8,王工\nS2,2026-Q1,service,4,李工\n"
        "S2,2026-Q1,service,6,李工\nS2,2026-Q1,service,5,李工",
    )
    assert warnings == [
        "ratings in 2026-Q1: 2 times a rater rated an entity on an indicator more than once "
        "(e.g. 王工 rated S1 on 'service' 2 times); a rater's rows are averaged into one score"
    ]


def test_without_a_rater_column_each_row_is_a_rater(scheme, open_tables):
    rows, warnings = run(
        scheme, open_tables, "entity_id,period,indicator,score\nS1,2026-Q1,service,10\n"
        "S1,2026-Q1,service,10\nS1,2026-Q1,service,4",
    )  # fmt: skip
    assert rows["S1"]["nodes"]["service"]["value"] == 8.0 and warnings == []


def test_the_rows_behind_a_rating_give_the_mean_over_raters(scheme, open_tables):
    from pingji.engine.behind import rows_behind
    from pingji.periods import Period

    ds = open_tables(
        {
            "suppliers": SUPPLIERS,
            "ratings": "entity_id,period,indicator,score,rater\n"
            "S1,2026-Q1,service,10,王工\nS1,2026-Q1,service,10,王工\nS1,2026-Q1,service,4,李工",
        }
    )
    facts = ds.table("ratings")
    facts = facts.filter(facts.entity_id == "S1")
    found = rows_behind(scheme, Period.parse("2026-Q1", "quarter"), None, "service", facts, ds)
    assert found.rows.count().to_pyarrow().as_py() == 3
    assert found.value.to_pyarrow().as_py() == 7.0
