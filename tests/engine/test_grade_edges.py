"""Grade bands with an open lower edge (`above`): Altman's "Z > 2.99 safe" without rules."""

from __future__ import annotations

import textwrap

import pytest

from pingji.engine import evaluate
from pingji.errors import SchemeError
from pingji.scheme import load_scheme

ALTMAN = """
id: altman-zones
entity: customers
period: year
extra_columns: {{customers: [z]}}
metrics:
  z: {{attribute: z}}
grades:
  on: {on}
  levels:
{levels}
"""

ZONES = """\
    - {grade: safe, label: 安全区, above: 2.99}
    - {grade: grey, label: 灰色区, min: 1.81}
    - {grade: distress, label: 困境区}
"""


def scheme(tmp_path, levels: str = ZONES, on: str = "z"):
    path = tmp_path / "altman.yaml"
    path.write_text(textwrap.dedent(ALTMAN).format(levels=levels, on=on), encoding="utf-8")
    return load_scheme(path)


CUSTOMERS = """
customer_id,z
HIGH,3.5
EDGE,2.99
JUST,2.990000001
GREY,1.81
LOW,1.8099
NONE,
"""


def grades(tmp_path, open_tables, on: str = "z") -> dict[str, str | None]:
    ev = evaluate(scheme(tmp_path, on=on), open_tables({"customers": CUSTOMERS}), "2025")
    return {r["entity_id"]: r["grade"] for r in ev.table.to_pylist()}


def test_an_open_edge_leaves_the_edge_itself_to_the_level_below(tmp_path, open_tables):
    # safe: Z > 2.99; grey: 1.81 ≤ Z ≤ 2.99; distress: the rest; no Z, no grade
    assert grades(tmp_path, open_tables) == {
        "HIGH": "safe",
        "EDGE": "grey",  # exactly 2.99 is not above 2.99
        "JUST": "safe",  # 2.990000001 is, at 9 decimals
        "GREY": "grey",  # `min` is closed: 1.81 belongs to grey
        "LOW": "distress",
        "NONE": None,
    }


def test_the_open_edge_compares_at_9_decimals(tmp_path, open_tables):
    # 2.99 + 0.1 + 0.2 − 0.3 is 2.9900000000000002 in binary floating point: still 2.99
    got = grades(tmp_path, open_tables, on='"z + 0.1 + 0.2 - 0.3"')
    assert got["EDGE"] == "grey"
    assert got["HIGH"] == "safe"


def test_min_right_under_above_at_the_same_edge_is_one_value(tmp_path):
    levels = """\
    - {grade: A, above: 3}
    - {grade: B, min: 3}
    - {grade: C}
"""
    rs = scheme(tmp_path, levels)
    assert [lv.lower for lv in rs.scheme.grades.levels] == [3, 3, None]


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (
            "    - {grade: A, min: 3, above: 3}\n    - {grade: B}\n",
            "give the lower edge once: `min` (≥) or `above` (>)",
        ),
        (
            "    - {grade: A, above: 3}\n    - {grade: B, above: 3}\n    - {grade: C}\n",
            "grade 'B' (above 3) overlaps the grade above it (above 3): levels run from the best "
            "grade down, each lower edge (`min` or `above`) below the one above",
        ),
        (
            "    - {grade: A, min: 3}\n    - {grade: B, above: 3}\n    - {grade: C}\n",
            "grade 'B' (above 3) overlaps the grade above it (min 3)",
        ),
        (
            "    - {grade: A, above: 2}\n    - {grade: B, min: 2.5}\n    - {grade: C}\n",
            "grade 'B' (min 2.5) overlaps the grade above it (above 2)",
        ),
        (
            "    - {grade: A, above: 2.99}\n    - {grade: B, min: 1.81, below: 2.99}\n"
            "    - {grade: C}\n",
            "grade 'B' ends below 2.99 but the grade above starts above 2.99, so 2.99 itself "
            "belongs here: remove `below`",
        ),
        (
            "    - {grade: A, above: 2.99}\n    - {grade: B}\n    - {grade: C, min: 1}\n",
            "grade 'B' needs `min` or `above` (only the last level may leave them out)",
        ),
    ],
)
def test_bad_edges_are_refused_with_their_position(tmp_path, levels, message):
    with pytest.raises(SchemeError) as err:
        scheme(tmp_path, levels)
    assert message in str(err.value)
    assert err.value.problems[0].line is not None
    assert err.value.exit_code == 2
