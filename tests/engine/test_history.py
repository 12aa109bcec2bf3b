"""Earlier periods' results in expressions (score_at, grade_at, points_at, value_at), on hand-made
data across four months, on every backend; the two worked examples are read from the docs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from tests.conftest import write_tables

from pingji.cli.main import main
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.engine.explain import explain_entity
from pingji.engine.frozen import PLANS
from pingji.engine.plan import Compiler
from pingji.errors import SchemeError
from pingji.scheme import load_scheme

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scheme-language.md"


def doc_scheme(scheme_id: str) -> str:
    """Return the YAML example of docs/scheme-language.md whose id is `scheme_id`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if re.match(rf"id: {re.escape(scheme_id)}\n", b)]
    assert len(found) == 1, f"one ```yaml block with id: {scheme_id} in {DOCS.name}"
    return found[0]


def load(tmp_path: Path, text: str):
    path = tmp_path / "scheme.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


def inspections(rows: list[tuple[str, int, int, int]]) -> str:
    """CSV of inspections: per (supplier, month of 2025, batches, passed batches)."""
    lines = ["supplier_id,date,result"]
    for supplier, month, batches, passed in rows:
        for i in range(batches):
            result = "pass" if i < passed else "fail"
            lines.append(f"{supplier},2025-{month:02d}-{10 + i:02d},{result}")
    return "\n".join(lines)


# Pass rates (= scores: linear 0 → 0, 1 → 100) per month of 2025:
#        Jan   Feb   Mar   Apr
#   S1    50    75   100    80
#   S2     —     —    60   100
#   S3     —     —     —     —     (never inspected: no score in any month)
#   S4   100     —     0    50
# A month without inspections has no score (pass_rate is 0/0 = null, `missing: exclude`).
DATA = {
    "suppliers": "supplier_id,name\nS1,一号\nS2,二号\nS3,三号\nS4,四号",
    "inspections": inspections(
        [
            ("S1", 1, 4, 2),
            ("S1", 2, 4, 3),
            ("S1", 3, 4, 4),
            ("S1", 4, 5, 4),
            ("S2", 3, 5, 3),
            ("S2", 4, 2, 2),
            ("S4", 1, 1, 1),
            ("S4", 3, 2, 0),
            ("S4", 4, 2, 1),
        ]
    ),
}


def rows_of(ev) -> dict[str, dict]:
    return {r["entity_id"]: r for r in ev.table.to_pylist()}


def test_erpnext_weights_the_scores_of_the_last_12_periods(tmp_path, open_tables):
    rs = load(tmp_path, doc_scheme("supplier-weighted"))
    rows = rows_of(evaluate(rs, open_tables(DATA), "2025-04"))
    # weights 12 (April), 11 (March), 10 (February), 9 (January); months without a score
    # (all of 2024 here) weigh nothing:
    # S1: (12·80 + 11·100 + 10·75 + 9·50) / (12 + 11 + 10 + 9) = 3260 / 42 = 77.619047619… → B
    # S2: (12·100 + 11·60) / (12 + 11) = 1860 / 23 = 80.869565217… → A
    # S3: 0 / 0 → null → no grade
    # S4: (12·50 + 11·0 + 9·100) / (12 + 11 + 9) = 1500 / 32 = 46.875 → C
    got = {k: (r["score"], r["grade_basis"], r["grade"]) for k, r in rows.items()}
    assert got == {
        "S1": (80.0, pytest.approx(3260 / 42, abs=1e-9), "B"),
        "S2": (100.0, pytest.approx(1860 / 23, abs=1e-9), "A"),
        "S3": (None, None, None),
        "S4": (50.0, 46.875, "C"),
    }


def test_sap_smooths_the_score_recursively_from_k_periods_back(tmp_path, open_tables):
    rs = load(tmp_path, doc_scheme("supplier-smoothed"))
    rows = rows_of(evaluate(rs, open_tables(DATA), "2025-04"))
    # f = 0.4; S = coalesce(f·s0 + 0.6·coalesce(f·s1 + 0.6·coalesce(f·s2 + 0.6·s3, s2), s1), s0)
    # S1: s3..s0 = 50, 75, 100, 80: 0.4·75 + 0.6·50 = 60; 0.4·100 + 0.6·60 = 76;
    #     0.4·80 + 0.6·76 = 77.6 → B (the recursion from January, exactly)
    # S2: s3, s2 null → the innermost is null; 0.4·60 + 0.6·null → null → 60;
    #     0.4·100 + 0.6·60 = 76 → B
    # S4: s2 (February) null breaks the chain: coalesce(0.4·0 + 0.6·null, 0) = 0;
    #     0.4·50 + 0.6·0 = 20 → C
    got = {k: (r["score"], r["grade_basis"], r["grade"]) for k, r in rows.items()}
    assert got == {
        "S1": (80.0, 77.6, "B"),
        "S2": (100.0, 76.0, "B"),
        "S3": (None, None, None),
        "S4": (50.0, 20.0, "C"),
    }
    # March's grade is given on March's own smoothed value: S1 76 → B, S2 60 → B,
    # S4 coalesce(0.4·0 + 0.6·coalesce(0.4·null …), 0) = 0 → C
    assert {k: r["last_grade"] for k, r in rows.items()} == {
        "S1": "B",
        "S2": "B",
        "S3": None,
        "S4": "C",
    }
    assert {k: r["last_pass_rate"] for k, r in rows.items()} == {
        "S1": 1.0,
        "S2": 0.6,
        "S3": None,
        "S4": 0.0,
    }


READERS = """
classes:
  rules:
    - {id: improving, when: "score > score_at(1)"}
    - {id: was_c, when: "grade_at(1) = 'C'"}
consequences:
  statuses:
    - {status: stop, when: "grade_streak('C', 2)"}
  actions:
    - {action: review, when: "grade_at(1) != grade"}
outputs:
  - {id: last_grade, type: string, expr: "grade_at(1)"}
  - {id: this_grade, type: string, expr: "grade_at(0)"}
  - {id: this_score, expr: "score_at(0)"}
  - {id: last_rate, expr: "value_at('pass_rate', 1)"}
  - {id: points_feb, expr: "points_at('pass_rate', 2)"}
checks:
  - {id: kept, share_of: "grade = grade_at(1)", at_least: 0.5}
"""


def test_classes_consequences_outputs_and_checks_read_earlier_periods(tmp_path, open_tables):
    rs = load(tmp_path, doc_scheme("supplier-weighted") + READERS)
    ev = evaluate(rs, open_tables(DATA), "2025-04")
    rows = rows_of(ev)
    # March's grades, each on March's own weighted score:
    # S1 (12·100 + 11·75 + 10·50) / 33 = 76.52 → B; S2 60 → B; S3 none;
    # S4 (12·0 + 10·100) / 22 = 45.45 → C. April's: S1 B, S2 A, S3 none, S4 C (see above).
    assert {k: r["last_grade"] for k, r in rows.items()} == {
        "S1": "B",
        "S2": "B",
        "S3": None,
        "S4": "C",
    }
    # improving: April's score above March's — S2 100 > 60, S4 50 > 0; S1 80 < 100; S3 null
    assert {k: r["classes"] for k, r in rows.items()} == {
        "S1": [],
        "S2": ["improving"],
        "S3": [],
        "S4": ["improving", "was_c"],
    }
    # C in April and in March: S4 only; the grade changed from March: S2 only (B → A)
    assert {k: (r["status"], r["actions"]) for k, r in rows.items()} == {
        "S1": (None, []),
        "S2": (None, ["review"]),
        "S3": (None, []),
        "S4": ("stop", []),
    }
    for r in rows.values():  # k = 0 is the evaluated period itself
        assert (r["this_grade"], r["this_score"]) == (r["grade"], r["score"])
    # March's pass rate; February's points (S2 and S4 had no inspection in February)
    assert {k: (r["last_rate"], r["points_feb"]) for k, r in rows.items()} == {
        "S1": (1.0, 75.0),
        "S2": (0.6, None),
        "S3": (None, None),
        "S4": (0.0, None),
    }
    # same grade as in March: S1 (B) and S4 (C) of 4; S3's null counts as false
    assert [(c.id, c.share, c.ok) for c in ev.checks] == [("kept", 0.5, True)]


def test_caps_and_demotions_read_earlier_points_and_values(tmp_path, open_tables):
    text = doc_scheme("supplier-weighted").replace(
        "  levels:",
        "  caps:\n"
        "    - {when: \"value_at('inspections', 1) < 6\", at_most: B}\n"
        "  demotions:\n"
        "    - {when: \"points_at('pass_rate', 3) < 60\"}\n"
        "  levels:",
    )
    rows = rows_of(evaluate(load(tmp_path, text), open_tables(DATA), "2025-04"))
    # weighted grades B, A, none, C (first test). Cap at B when March had fewer than 6
    # inspections (S1 4, S2 5, S4 2): S2 A → B. Demote when January's points were below 60
    # (S1 50; S2 had no January score, S4 100): S1 B → C. S3 has no grade to cap or demote.
    assert {k: r["grade"] for k, r in rows.items()} == {
        "S1": "C",
        "S2": "B",
        "S3": None,
        "S4": "C",
    }


def test_each_earlier_period_is_evaluated_once(tmp_path, monkeypatch):
    built: list[str] = []
    original = Compiler.base

    def counting_base(self, period):
        built.append(str(period))
        return original(self, period)

    monkeypatch.setattr(Compiler, "base", counting_base)
    PLANS.clear()  # compiled here, not taken from an earlier test's plans
    rs = load(tmp_path, doc_scheme("supplier-weighted") + READERS)
    evaluate(rs, open_dataset(write_tables(tmp_path / "data", DATA)), "2025-04")
    # grades read April back to May 2024 (k = 0…11); grade_at(1) and grade_streak grade
    # March, which reads back to April 2024; points_at(…, 2) reads February: 13 periods, once
    # each, the evaluated period first
    assert built[0] == "2025-04"
    assert sorted(built) == sorted({*built}) and len(built) == 13
    assert min(built) == "2024-04"


def test_grade_basis_is_in_every_shape_and_only_when_on_is_derived(tmp_path, open_tables):
    data = open_tables(DATA)
    ev = evaluate(load(tmp_path, doc_scheme("supplier-smoothed")), data, "2025-04")
    head = ["entity_id", "period", "score", "points", "max_points", "grade_basis", "grade"]
    assert ev.table.column_names[:7] == head
    assert ev.shaped("text").column_names[:7] == head  # CSV and Excel
    for on in ("", "  on: points\n"):  # both are in the output already
        text = doc_scheme("supplier-smoothed").split("grades:")[0] + "grades:\n" + on
        text += "  levels:\n    - {grade: A, min: 80}\n    - {grade: B}\n"
        ev = evaluate(load(tmp_path, text), data, "2025-04")
        assert ev.table.column_names[:6] == [*head[:5], "grade"]


def test_explain_entity_shows_what_the_grade_was_given_on(tmp_path, open_tables):
    rs = load(tmp_path, doc_scheme("supplier-smoothed"))
    text = explain_entity(evaluate(rs, open_tables(DATA), "2025-04", entity="S1"))
    assert "得分 score 80.0 " in text and "等级 grade B" in text  # display decimals: 1
    assert "定级依据 grade basis 77.6  (grades.on: coalesce(smoothing * score" in text
    assert "上月等级: B" in text


# ------------------------------------------------------------------------- errors

BASE = """\
id: t
entity: suppliers
period: month
metrics:
  inspections: {count: inspections}
  rate: {expr: "inspections / 10"}
tree:
  id: root
  children:
    - {id: a, max: 100, value: rate, rule: {expr: "value * 100"}}
grades:
  on: score
  levels:
    - {grade: A, min: 80}
    - {grade: B}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "scheme.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    assert info.value.exit_code == 2
    return [f"{p.line}:{p.col}: {p.message}  [{p.path}]" for p in info.value.problems]


NOT_IN_METRICS = (
    "reads earlier periods' results, which metrics and the tree may not use: an earlier "
    "period's values and points never depend on its own history (use it in grades, classes, "
    "consequences, outputs or checks)"
)
NOT_IN_GRADES = (
    "grade_at() may not be used in `grades`: a grade that depends on an earlier grade would "
    "need that period's grade first, and so on back without end (use score_at, points_at or "
    "value_at here; grade_at in classes, consequences, outputs or checks)"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'rate: {expr: "inspections / 10"}',
            "rate: {expr: \"inspections / value_at('inspections', 1)\"}",
            f"6:31: value_at() {NOT_IN_METRICS}  [metrics.rate.expr]",
        ),
        (
            'rule: {expr: "value * 100"}',
            'rule: {expr: "value * score_at(1)"}',
            f"10:60: score_at() {NOT_IN_METRICS}  [tree.children.0.rule.expr]",
        ),
        ("on: score", "on: grade_at(1)", f"12:7: {NOT_IN_GRADES}  [grades.on]"),
        (
            "on: score",
            "on: score\n  caps:\n    - {when: \"grade_at(1) = 'B'\", at_most: B}",
            f"14:15: {NOT_IN_GRADES}  [grades.caps.0.when]",
        ),
    ],
)
def test_history_is_refused_where_it_could_recurse(tmp_path, old, new, expected):
    assert problems(tmp_path, BASE.replace(old, new)) == [expected]


PERIODS_BACK = (
    "the number of periods back is a whole number from 0 (this period) to 60, written as a number: "
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("points_at('nope', 1)", "17:30: points_at(): unknown node 'nope'; nodes: a, root"),
        (
            "value_at(rate, 1)",
            "17:29: value_at() takes a metric id in quotes; metrics: inspections, rate",
        ),
        (
            "value_at('sales', 1)",
            "17:29: value_at(): unknown metric 'sales'; metrics: inspections, rate",
        ),
        ("score_at(61)", f"17:29: score_at(): {PERIODS_BACK}score_at(1)"),
        ("score_at(-1)", f"17:29: score_at(): {PERIODS_BACK}score_at(1)"),
        ("score_at(1.5)", f"17:29: score_at(): {PERIODS_BACK}score_at(1)"),
        ("grade_at(inspections)", f"17:29: grade_at(): {PERIODS_BACK}grade_at(1)"),
        (
            "points_at('a', inspections)",
            f"17:35: points_at(): {PERIODS_BACK}points_at('<node id>', 1)",
        ),
        (
            "score_at(1, 2)",
            "17:20: in expression `score_at(1, 2)`: score_at() takes exactly 1 argument, got 2",
        ),
    ],
)
def test_history_calls_name_what_they_read(tmp_path, expression, expected):
    # line 17 is `  - {id: o, expr: "…"}`: the expression starts in column 20
    text = BASE + f'outputs:\n  - {{id: o, expr: "{expression}"}}\n'
    assert problems(tmp_path, text) == [f"{expected}  [outputs.0.expr]"]


def test_grade_at_needs_grades_and_score_at_a_tree(tmp_path):
    no_grades = BASE.split("grades:")[0] + 'outputs:\n  - {id: o, expr: "grade_at(1)"}\n'
    assert problems(tmp_path, no_grades) == [
        "12:20: grade_at needs a `grades` section  [outputs.0.expr]"
    ]
    no_tree = BASE.split("tree:")[0] + 'outputs:\n  - {id: o, expr: "score_at(1)"}\n'
    assert problems(tmp_path, no_tree) == [
        "8:20: score_at needs a `tree`: without one there is no score  [outputs.0.expr]"
    ]


def test_validate_exits_2_naming_the_line_and_column(tmp_path, capsys):
    path = tmp_path / "scheme.yaml"
    path.write_text(BASE.replace("on: score", "on: grade_at(1)"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"scheme.yaml:12:7: {NOT_IN_GRADES[:40]}" in err
