"""Scheme errors: each one names file:line:col, the dotted field path and what is allowed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pingji.cli.main import main
from pingji.errors import SchemeError
from pingji.scheme import load_scheme
from pingji.templates import builtin_names

# A small valid scheme; each test changes one thing (line numbers below refer to it).
BASE = """\
id: t
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
  payments: {sum: payments.amount}
tree:
  id: root
  max: 100
  weighting: fractions
  children:
    - id: a
      weight: 0.5
      value: sales
      rule: {linear: {zero_at: 0, full_at: 100}}
    - id: b
      weight: 0.5
      value: payments
      rule: {linear: {zero_at: 0, full_at: 100}}
grades:
  levels:
    - {grade: A, min: 80}
    - {grade: B}
"""


def scheme_file(tmp_path: Path, text: str) -> Path:
    """Write a scheme YAML into tmp_path and return its path."""
    path = tmp_path / "scheme.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """Return the `line:col: message [path]` heads of every problem, without the file name."""
    path = scheme_file(tmp_path, text)
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    err = info.value
    assert err.exit_code == 2
    return [
        f"{p.line}:{p.col}: {p.message}" + (f"  [{p.path}]" if p.path else "") for p in err.problems
    ]


def first(tmp_path: Path, text: str) -> str:
    """Return the head of the only problem found."""
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def edit(old: str, new: str, count: int = 1) -> str:
    """Return BASE with one change."""
    assert old in BASE
    return BASE.replace(old, new, count)


def test_the_base_scheme_is_valid(tmp_path: Path) -> None:
    load_scheme(scheme_file(tmp_path, BASE))


# ----------------------------------------------------------------------------- YAML


def test_it_reports_malformed_yaml(tmp_path: Path) -> None:
    text = "id: t\nentity: [customers\nperiod: year\n"
    assert first(tmp_path, text).startswith("3:7: malformed YAML: expected ',' or ']'")


def test_it_reports_duplicate_keys(tmp_path: Path) -> None:
    text = edit("period: year\n", "period: year\nperiod: month\n")
    assert first(tmp_path, text).startswith('4:1: malformed YAML: found duplicate key "period"')


def test_it_refuses_yaml_tags_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = edit("id: t\n", f"id: !!python/object/apply:os.system ['touch {marker}']\n")
    assert first(tmp_path, text).startswith(
        "1:5: YAML tags such as !!python/object/apply:os.system are not allowed in a scheme: "
        "write plain values"
    )
    assert not marker.exists()


def test_it_refuses_a_tagged_document(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"# a comment\n!!python/object/apply:os.system ['touch {marker}']\n"
    assert first(tmp_path, text).startswith("2:1: YAML tags such as !!python/object/apply")
    assert not marker.exists()


# ------------------------------------------------------------------ keys and types


def test_it_never_ignores_an_unknown_key(tmp_path: Path) -> None:
    text = edit("  max: 100\n", "  max: 100\n  wieght: 1\n")
    assert first(tmp_path, text).startswith(
        "10:3: unknown key 'wieght' (did you mean 'weight'?): a typo is never ignored; "
        "allowed here: label, description, id, weight, max,"
    )
    assert first(tmp_path, text).endswith("[tree.wieght]")


def test_it_names_a_required_key_that_is_missing(tmp_path: Path) -> None:
    text = edit("period: year\n", "")
    assert first(tmp_path, text).startswith("1:1: required key 'period' is missing")


def test_it_reports_a_wrong_type_with_what_was_expected(tmp_path: Path) -> None:
    text = edit("  max: 100\n", "  max: hundred\n")
    assert first(tmp_path, text) == "9:8: expected a number (got 'hundred')  [tree.max]"


def test_it_does_not_take_true_for_a_number(tmp_path: Path) -> None:
    text = edit("weight: 0.5", "weight: true")
    assert first(tmp_path, text).startswith("13:15: expected a number (got True)")


def test_it_lists_the_allowed_values_of_a_choice(tmp_path: Path) -> None:
    text = edit("period: year", "period: yearly")
    assert first(tmp_path, text) == (
        "3:9: expected one of 'year', 'quarter' or 'month' (got 'yearly')  [period]"
    )


def test_a_model_check_points_at_the_key_it_is_about(tmp_path: Path) -> None:
    text = edit("  max: 100\n", "  max: 100\n  pass: 2\n")
    assert first(tmp_path, text) == (
        "10:3: `pass` is a fraction of the node's maximum, between 0 and 1  [tree.pass]"
    )


# ------------------------------------------------------------------------ weights


def test_fractions_must_add_up_to_one(tmp_path: Path) -> None:
    text = edit("weight: 0.5\n      value: payments", "weight: 0.4\n      value: payments")
    assert first(tmp_path, text).startswith(
        "12:5: the weights of 'root' add up to 0.9, not 1 (use `weighting: ratios`"
    )


def test_points_children_must_add_up_to_the_group_max(tmp_path: Path) -> None:
    text = (
        BASE.replace("weighting: fractions", "weighting: points")
        .replace("weight: 0.5\n      value: sales", "max: 60\n      value: sales")
        .replace("weight: 0.5\n      value: payments", "max: 30\n      value: payments")
    )
    assert first(tmp_path, text).startswith(
        "9:8: the children of 'root' add up to 90 points, not its max 100: "
        "with points weighting the children's `max` must add up to the group's `max`"
    )


# -------------------------------------------------------------------------- bands


def test_grade_levels_must_descend(tmp_path: Path) -> None:
    text = edit("    - {grade: B}\n", "    - {grade: B, min: 90}\n    - {grade: C}\n")
    assert first(tmp_path, text).startswith(
        "23:23: grade 'B' (min 90) overlaps the grade above it (min 80): "
        "levels run from the best grade down"
    )


def test_an_explicit_below_must_meet_the_level_above(tmp_path: Path) -> None:
    text = edit("    - {grade: B}\n", "    - {grade: B, min: 60, below: 70}\n    - {grade: C}\n")
    assert first(tmp_path, text).startswith(
        "23:34: grade 'B' ends below 70 but the grade above starts at 80: a gap "
        "(`below` must equal the `min` of the grade above"
    )


def test_an_explicit_below_above_the_next_min_is_an_overlap(tmp_path: Path) -> None:
    text = edit("    - {grade: B}\n", "    - {grade: B, min: 60, below: 85}\n    - {grade: C}\n")
    assert first(tmp_path, text).startswith(
        "23:34: grade 'B' ends below 85 but the grade above starts at 80: an overlap"
    )


def test_rule_bands_must_not_overlap(tmp_path: Path) -> None:
    text = edit(
        "rule: {linear: {zero_at: 0, full_at: 100}}",
        "rule:\n        bands:\n          - {from: 0, upto: 10, points: 50}\n"
        "          - {from: 10, points: 40}",
    )
    assert first(tmp_path, text) == (
        "18:13: band 2 (from 10) overlaps band 1 (from 0 upto 10): a value may fall in one band "
        "only (use `below`/`above` for open edges)  [tree.children.0.rule.bands.1]"
    )


# -------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("value", "col"),
    [
        ("sales + nosuch", 22),  # plain: the value starts at column 14
        ("'sales + nosuch'", 23),  # the opening quote takes one column
        ('"sales + nosuch"', 23),
        ("'sales + if(true, nosuch, 1)'", 32),
    ],
)
def test_an_unknown_name_is_pointed_at_inside_the_expression(
    tmp_path: Path, value: str, col: int
) -> None:
    text = edit("value: sales\n", f"value: {value}\n")
    assert first(tmp_path, text).startswith(f"14:{col}: in expression `")
    assert "unknown name 'nosuch'; known names: payments, period_end, period_start, sales" in (
        first(tmp_path, text)
    )


def test_quote_escapes_do_not_shift_the_column(tmp_path: Path) -> None:
    text = (
        BASE + "consequences:\n  statuses:\n"
        "    - {status: x, when: 'grade = ''A'' and nosuch > 1'}\n"
        "    - status: y\n"
        '      when: "grade = \\"A\\" and nosuch > 1"\n'
    )
    found = problems(tmp_path, text)
    assert found[0].startswith("26:44: in expression `grade = 'A' and nosuch > 1`: unknown name")
    assert found[1].startswith('28:32: in expression `grade = "A" and nosuch > 1`: unknown name')


@pytest.mark.parametrize(
    ("value", "line", "col"),
    [
        (">-\n        sales +\n        nosuch", 16, 9),
        ("|\n        sales\n          + nosuch", 16, 13),
        ("sales\n        + nosuch", 15, 11),
    ],
)
def test_multi_line_expressions_point_at_the_right_line(
    tmp_path: Path, value: str, line: int, col: int
) -> None:
    text = edit("value: sales\n", f"value: {value}\n")
    assert first(tmp_path, text).startswith(
        f"{line}:{col}: in expression `sales"
    ) and "unknown name 'nosuch'" in first(tmp_path, text)


def test_an_unknown_function_lists_the_available_ones(tmp_path: Path) -> None:
    text = edit("value: sales\n", "value: frob(sales)\n")
    assert first(tmp_path, text).startswith(
        "14:14: in expression `frob(sales)`: unknown function 'frob'; available: abs, add_days, add_months, between,"
    )


def test_it_refuses_dunder_names(tmp_path: Path) -> None:
    text = edit("value: sales\n", "value: __import__('os')\n")
    assert first(tmp_path, text).startswith(
        "14:14: in expression `__import__('os')`: dunder names are not allowed"
    )


def test_it_refuses_attribute_access(tmp_path: Path) -> None:
    text = edit("value: sales\n", "value: a.b\n")
    assert first(tmp_path, text).startswith(
        "14:15: in expression `a.b`: '.' is not allowed: there is no attribute access"
    )


# ----------------------------------------------------------------- names and grades


def test_node_ids_are_unique(tmp_path: Path) -> None:
    text = edit("- id: b", "- id: a")
    assert first(tmp_path, text).startswith(
        "16:11: node id 'a' is used twice (first at line 12); every node needs its own id"
    )


def test_a_cap_names_a_known_grade(tmp_path: Path) -> None:
    text = BASE + "  caps:\n    - {when: sales < 10, at_most: Z}\n"
    assert first(tmp_path, text) == (
        "25:35: unknown grade 'Z'; levels: A, B  [grades.caps.0.at_most]"
    )


def test_a_grade_rule_names_a_known_grade(tmp_path: Path) -> None:
    text = edit(
        "    - {grade: B}\n", "    - {grade: B}\n  rules:\n    - {grade: Z, when: sales > 1}\n"
    )
    assert first(tmp_path, text).startswith("25:15: unknown grade 'Z'; levels: A, B")


def test_grade_streak_names_a_known_grade(tmp_path: Path) -> None:
    text = BASE + "consequences:\n  statuses:\n    - {status: x, when: \"grade_streak('Z', 3)\"}\n"
    assert first(tmp_path, text).startswith("26:39: grade_streak: unknown grade 'Z'; levels: A, B")


def test_points_names_a_known_node(tmp_path: Path) -> None:
    text = BASE + "outputs:\n  - {id: o, expr: \"points('nosuchnode') * 2\"}\n"
    assert first(tmp_path, text) == (
        "25:27: points(): unknown node 'nosuchnode'; nodes: a, b, root  [outputs.0.expr]"
    )


def test_a_manual_rule_scores_a_rating_metric(tmp_path: Path) -> None:
    text = edit("rule: {linear: {zero_at: 0, full_at: 100}}", "rule: manual")
    assert first(tmp_path, text).startswith(
        "15:13: a manual rule scores a rating, but 'sales' is a sum metric: the value must be "
        "a metric like `{rating: <indicator>, scale: [0, 100]}`"
    )


# ------------------------------------------------------------------------ metrics


def test_a_metric_reads_a_known_table(tmp_path: Path) -> None:
    text = edit("sum: sales.amount", "sum: salez.amount")
    assert first(tmp_path, text).startswith(
        "5:16: 'salez' is an unknown table (did you mean 'sales'?); `sum` reads a fact table: "
        "sales, payments,"
    )


def test_a_metric_reads_a_known_column(tmp_path: Path) -> None:
    text = edit("sum: sales.amount", "sum: sales.amont")
    assert first(tmp_path, text).startswith(
        "5:16: table 'sales' has no column 'amont' (did you mean 'amount'?) "
        "(columns: customer_id, date, amount, batch_id; declare others under extra_columns)"
    )


def test_a_metric_reads_a_table_of_the_evaluated_entity(tmp_path: Path) -> None:
    text = edit("sum: sales.amount", "sum: quotes.premium")
    assert first(tmp_path, text).startswith(
        "5:16: table 'quotes' describes suppliers, but this scheme evaluates customers "
        "(its tables: sales, payments,"
    )


def test_metrics_may_not_depend_on_each_other_in_a_circle(tmp_path: Path) -> None:
    text = edit(
        "  payments: {sum: payments.amount}\n",
        "  payments: {sum: payments.amount}\n  x: {expr: y + 1}\n  y: {expr: x * 2}\n",
    )
    assert first(tmp_path, text).startswith(
        "7:3: metrics depend on each other in a circle: x → y → x"
    )


# ---------------------------------------------------------------------------- CLI


def test_validate_exits_2_and_shows_the_numbered_lines(tmp_path: Path, capsys) -> None:
    path = scheme_file(tmp_path, edit("value: sales\n", "value: sales + nosuch\n"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:14:22: in expression `sales + nosuch`: unknown name 'nosuch'" in err
    assert "[tree.children.0.value]" in err
    assert "  > 14 |       value: sales + nosuch\n" in err
    assert "    13 |       weight: 0.5\n" in err
    assert "       |                      ^\n" in err  # the caret under `nosuch`
    assert "Fix the scheme file and run `pingji validate` again." in err


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_scheme_validates(name: str, capsys) -> None:
    assert main(["validate", name]) == 0
    assert capsys.readouterr().err.startswith("OK: ")


def test_there_are_14_built_in_schemes() -> None:
    assert len(builtin_names()) == 14


def test_band_points_cannot_exceed_the_indicator_max(tmp_path: Path) -> None:
    text = edit(
        "rule: {linear: {zero_at: 0, full_at: 100}}",
        "rule:\n        bands:\n          - {below: 10, points: 0}\n          - {from: 10, points: 60}",
    )
    assert first(tmp_path, text).startswith(
        "17:11: a band gives 60 points but 'a' is worth at most 50"
    )


def test_passed_needs_a_node_with_a_pass_mark(tmp_path: Path) -> None:
    text = edit("grades:", "outputs:\n  - {id: ok, expr: \"passed('a')\"}\ngrades:")
    assert "passed(): node 'a' has no pass mark" in first(tmp_path, text)


def test_first_and_last_take_a_date_column(tmp_path: Path) -> None:
    text = edit("sum: sales.amount", "last: sales.amount")
    assert "`last` takes a date column" in first(tmp_path, text)
