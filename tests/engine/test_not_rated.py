"""Minimum evidence (`evidence`): an entity with too little data is not rated, not graded on
defaults (ERPNext #31597): no score, no grade, status `not_rated`."""

from __future__ import annotations

import textwrap

import pytest

from pingji.engine import evaluate
from pingji.errors import SchemeError
from pingji.scheme import load_scheme

SCHEME = """
id: evidence-test
entity: customers
period: year
metrics:
  orders: {count: sales}
  sales: {sum: sales.amount}
  payments: {sum: payments.amount}
  collection: {expr: payments / sales}
evidence:
  label: 年内发货不足 3 笔不予评级
  when: "orders >= 3"
tree:
  id: total
  children:
    - {id: sales, weight: 0.5, rule: {linear: {zero_at: 0, full_at: 1000}}}
    - {id: collection, weight: 0.5, rule: {linear: {zero_at: 0.5, full_at: 1}}}
grades:
  levels:
    - {grade: A, min: 80}
    - {grade: B, min: 50}
    - {grade: C}
consequences:
  statuses:
    - {status: watch, when: "grade = 'C'"}
  default_status: normal
  actions:
    - {action: collect_data, when: "not rated"}
    - {action: review, when: "grade = 'C'"}
outputs:
  - {id: shown, type: string, expr: "if(rated, 'rated', 'not rated')"}
checks:
  - {id: enough, share_of: rated, at_least: 0.9}
"""

DATA = {
    "customers": "customer_id\nA\nB\nC\nN\nO",
    "sales": """
customer_id,date,amount
A,2025-01-10,400
A,2025-02-10,400
A,2025-03-10,400
B,2025-01-10,500
B,2025-02-10,500
C,2025-01-10,100
C,2025-02-10,100
C,2025-03-10,100
O,2025-04-01,100
""",
    "payments": """
customer_id,date,amount
A,2025-04-01,1200
B,2025-04-01,1000
""",
    "overrides": "entity_id,period,grade,reason\nO,2025,B,新客户由销售总监定级",
}


def scheme(tmp_path, text: str = SCHEME):
    path = tmp_path / "evidence.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


@pytest.fixture
def evaluation(tmp_path, open_tables):
    return evaluate(scheme(tmp_path), open_tables(DATA), "2025")


def test_an_entity_with_enough_data_is_rated_as_before(evaluation):
    rows = {r["entity_id"]: r for r in evaluation.table.to_pylist()}
    # A: 3 orders, sales 1200 → 50 of 50; collection 1200/1200 = 1 → 50 of 50: 100 → A
    a = rows["A"]
    assert (a["score"], a["grade"], a["status"], a["actions"]) == (100.0, "A", "normal", [])
    assert a["shown"] == "rated"
    # C: 3 orders, sales 300 → 15; collection 0 → 0: 15 → C, watched and reviewed
    c = rows["C"]
    assert (c["score"], c["grade"], c["status"]) == (15.0, "C", "watch")
    assert c["actions"] == ["review"]
    assert c["reasons"] == ["collection", "sales"]


def test_too_little_data_is_not_rated_rather_than_graded_on_defaults(evaluation):
    rows = {r["entity_id"]: r for r in evaluation.table.to_pylist()}
    # B: 2 orders. Its data would score 100 (an A), but two orders are too few to judge.
    b = rows["B"]
    assert (b["score"], b["points"], b["grade"], b["status"]) == (None, None, None, "not_rated")
    assert b["actions"] == ["collect_data"]
    assert b["reasons"] == []
    assert b["max_points"] == 100.0
    # the nodes still show what data there was
    assert b["nodes"]["sales"]["points"] == 50.0
    assert b["shown"] == "not rated"
    # N: no order at all. On defaults it would score 0 (sales 0, collection missing → 0) and
    # get C and `watch`; instead it is not rated.
    n = rows["N"]
    assert (n["score"], n["grade"], n["status"]) == (None, None, "not_rated")
    assert n["missing"] == ["collection"]
    assert n["actions"] == ["collect_data"]


def test_a_grade_set_by_hand_rates_the_entity(evaluation):
    o = {r["entity_id"]: r for r in evaluation.table.to_pylist()}["O"]
    # one order only, but an override gives B: rated by hand, the score stays empty
    assert (o["grade"], o["override"], o["score"]) == ("B", "新客户由销售总监定级", None)
    assert o["status"] == "normal" and o["actions"] == []


def test_checks_can_count_the_rated(evaluation):
    # rated: A, C and O (by hand) of 5 → 60 % < 90 %
    check = next(c for c in evaluation.checks if c.id == "enough")
    assert check.share == pytest.approx(0.6) and not check.ok


def test_without_consequences_the_status_still_says_not_rated(tmp_path, open_tables):
    text = SCHEME.split("consequences:")[0]
    ev = evaluate(scheme(tmp_path, text), open_tables(DATA), "2025")
    status = {r["entity_id"]: r["status"] for r in ev.table.to_pylist()}
    assert status == {"A": None, "B": "not_rated", "C": None, "N": "not_rated", "O": None}


@pytest.mark.parametrize(
    ("old", "new", "message", "path"),
    [
        (
            'when: "orders >= 3"',
            'when: "score >= 3"',
            "in expression `score >= 3`: unknown name 'score'",
            "evidence.when",
        ),
        (
            'when: "orders >= 3"',
            "when: orders",
            "a true/false value",
            "evidence.when",
        ),
        (
            "- {status: watch,",
            "- {status: not_rated,",
            "'not_rated' is the status of entities without enough evidence (`evidence`): "
            "choose another status",
            "consequences.statuses.0.status",
        ),
    ],
)
def test_bad_evidence_is_refused_with_its_position(tmp_path, old, new, message, path):
    assert old in SCHEME
    with pytest.raises(SchemeError) as err:
        scheme(tmp_path, SCHEME.replace(old, new))
    assert message in str(err.value)
    assert f"[{path}]" in str(err.value)
    assert err.value.problems[0].line is not None


def test_the_web_pages_label_the_status_with_the_evidence_label(tmp_path):
    from pingji.web.runs.exports import scheme_labels

    labels = scheme_labels(scheme(tmp_path))["status"]
    assert labels == {"watch": "watch", "not_rated": "年内发货不足 3 笔不予评级"}
