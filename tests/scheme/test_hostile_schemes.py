"""Hostile or broken schemes are refused quickly, at their line: YAML alias bombs, deep
nesting, more than 1 MB, non-finite numbers, a grade colour that is not a colour."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.scheme.test_scheme_errors import BASE

from pingji.errors import SchemeError
from pingji.scheme import load_scheme
from pingji.scheme.loader import MAX_ALIAS_VALUES, MAX_SCHEME_BYTES, read_scheme_file


def refused(text: str) -> SchemeError:
    with pytest.raises(SchemeError) as info:
        load_scheme("s.yaml", text=text)
    assert info.value.exit_code == 2
    return info.value


def laughs(levels: int) -> str:
    """A "billion laughs": each level is a list of nine aliases of the level before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return BASE + "\n".join(lines) + "\n"


# ---------------------------------------------------------------- alias bombs


@pytest.mark.parametrize("levels", [7, 10, 40])
def test_an_alias_bomb_is_refused_at_the_alias_in_well_under_a_second(levels: int) -> None:
    start = time.perf_counter()
    err = refused(laughs(levels))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed:.2f} s"
    [problem] = err.problems
    assert problem.message.startswith(
        f"YAML aliases (*name) repeat more than {MAX_ALIAS_VALUES:,} values in all (at *a3)"
    )
    # the first alias that goes over the budget: line 5 of the bomb, after BASE
    assert (problem.line, problem.col) == (BASE.count("\n") + 5, 10)


def test_a_bomb_of_mappings_is_refused_too() -> None:
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: lol" for j in range(9)) + "}"]
    lines += [
        f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(9)) + "}"
        for i in range(1, 12)
    ]
    err = refused(BASE + "\n".join(lines) + "\n")
    assert "YAML aliases (*name) repeat more than" in err.problems[0].message


def test_a_chain_of_merges_that_grows_with_its_square_is_refused_quickly() -> None:
    # each mapping merges the one before: ruamel alone needs minutes for a few thousand
    lines = ["a0: &a0 {x0: 1, x1: 2}"]
    lines += [f"a{i}: &a{i} {{<<: *a{i - 1}, y{i}: 1}}" for i in range(1, 5000)]
    start = time.perf_counter()
    err = refused(BASE + "\n".join(lines) + "\n")
    assert time.perf_counter() - start < 1
    assert "YAML aliases (*name) repeat more than" in err.problems[0].message


def test_a_few_aliases_are_still_fine() -> None:
    text = BASE.replace(
        "rule: {linear: {zero_at: 0, full_at: 100}}\n    - id: b",
        "rule: &linear {linear: {zero_at: 0, full_at: 100}}\n    - id: b",
    ).replace(
        "value: payments\n      rule: {linear: {zero_at: 0, full_at: 100}}",
        "value: payments\n      rule: *linear",
    )
    assert text.count("*linear") == 1
    rs = load_scheme("s.yaml", text=text)
    assert rs.scheme.tree.children[1].rule == rs.scheme.tree.children[0].rule


def test_a_merge_key_is_read_with_the_merged_values() -> None:
    text = BASE.replace(
        "    - id: a\n      weight: 0.5\n",
        "    - &half\n      id: a\n      weight: 0.5\n",
    ).replace("    - id: b\n      weight: 0.5\n", "    - <<: *half\n      id: b\n")
    assert text.count("*half") == 1
    rs = load_scheme("s.yaml", text=text)
    assert [(c.id, c.weight) for c in rs.scheme.tree.children] == [("a", 0.5), ("b", 0.5)]


def test_nesting_beyond_a_hundred_levels_is_refused_at_its_line() -> None:
    start = time.perf_counter()
    err = refused(BASE + "deep: " + "[" * 100_000 + "\n")
    assert time.perf_counter() - start < 0.5
    [problem] = err.problems
    assert problem.message.startswith("mappings and lists are nested more than 100 deep")
    assert (problem.line, problem.col) == (BASE.count("\n") + 1, 7)
    nested = "deep:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(60)) + "  " * 60 + "- 1\n"
    assert "nested more than 100 deep" in refused(BASE + nested).problems[0].message


# ---------------------------------------------------------------- size


def test_text_over_one_megabyte_is_refused_before_it_is_parsed() -> None:
    text = BASE + "notes: " + "x" * MAX_SCHEME_BYTES + "\n"
    size = len(text.encode())
    assert refused(text).problems[0].message == (
        f"the scheme is larger than 1 MB ({size:,} bytes): a scheme holds at most 1,048,576 bytes"
    )


def test_one_megabyte_counts_bytes_not_characters() -> None:
    chinese = "评" * (MAX_SCHEME_BYTES // 3 + 1)  # three bytes each in UTF-8
    assert len(chinese) < MAX_SCHEME_BYTES
    assert "larger than 1 MB" in refused(BASE + f"notes: {chinese}\n").problems[0].message


def test_a_device_given_as_a_scheme_is_read_only_up_to_the_limit() -> None:
    start = time.perf_counter()
    with pytest.raises(SchemeError) as info:
        read_scheme_file("/dev/zero")
    assert time.perf_counter() - start < 2
    assert info.value.problems[0].message == (
        "the scheme is larger than 1 MB: a scheme holds at most 1,048,576 bytes"
    )


def test_a_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = BASE + "# " + "x" * (MAX_SCHEME_BYTES - len(BASE) - 3) + "\n"
    path.write_text(text)
    assert path.stat().st_size == MAX_SCHEME_BYTES
    assert read_scheme_file(path) == (str(path), text)


def test_windows_line_endings_are_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(BASE.replace("\n", "\r\n").encode())
    assert read_scheme_file(path)[1] == BASE


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "got"),
    [
        ("max: 100", "max: .nan", 9, "tree.max", "nan"),
        ("weight: 0.5\n      value: sales", "weight: .NaN\n      value: sales", 13, "tree.children.0.weight", "nan"),
        ("full_at: 100}}\n    - id: b", "full_at: .inf}}\n    - id: b", 15, "tree.children.0.rule.linear.full_at", "inf"),
        ("min: 80", "min: 1e400", 22, "grades.levels.0.min", "inf"),
        ("min: 80", "min: -.inf", 22, "grades.levels.0.min", "-inf"),
    ],
)  # fmt: skip
def test_a_number_that_is_not_finite_is_refused_at_its_line(old, new, line, path, got) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    [problem] = refused(text).problems
    assert problem.message.startswith(f"expected a finite number (got {got}): .nan, .inf")
    assert (problem.line, problem.path) == (line, path)


def test_a_parameter_default_that_is_not_finite_is_refused() -> None:
    text = BASE.replace("period: year\n", "period: year\nparams:\n  goal: {default: .inf}\n")
    [problem] = refused(text).problems
    assert problem.path == "params.goal.default"
    assert problem.message.startswith("expected a finite number (got inf)")


# ---------------------------------------------------------------- colours


@pytest.mark.parametrize("color", ["'#1a9850'", "'#abc'", "green", "RebeccaPurple"])
def test_a_grade_colour_may_be_hex_or_a_css_name(color: str) -> None:
    rs = load_scheme(
        "s.yaml", text=BASE.replace("{grade: A, min: 80}", f"{{grade: A, min: 80, color: {color}}}")
    )
    assert rs.scheme.grades.levels[0].color == color.strip("'")


@pytest.mark.parametrize(
    "color",
    [
        "'red;background-image:url(https://evil.example/x)'",
        "'#12345'",
        "'rgb(1,2,3)'",
        "'#abc\"'",
        "notacolour",
    ],
)
def test_a_grade_colour_that_is_not_a_colour_is_refused_at_its_line(color: str) -> None:
    text = BASE.replace("{grade: A, min: 80}", f"{{grade: A, min: 80, color: {color}}}")
    [problem] = refused(text).problems
    assert problem.path == "grades.levels.0.color"
    assert problem.line == 22
    assert "is not a colour: write #rgb or #rrggbb (e.g. #1a9850) or a CSS colour name" in (
        problem.message
    )


def test_a_key_valid_elsewhere_is_not_suggested_as_its_own_spelling(tmp_path):
    from pingji.errors import SchemeError
    from pingji.scheme import load_scheme

    path = tmp_path / "s.yaml"
    path.write_text(
        "id: s\nentity: customers\nperiod: year\nmetrics:\n  v: {sum: sales.amount}\n"
        "tree:\n  id: t\n  children:\n    - id: v\n      max: 10\n"
        "      rule: {bands: [{below: 1, points: 3}], else: 6}\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemeError) as err:
        load_scheme(path)
    message = str(err.value)
    assert "unknown key 'else'" in message
    assert "did you mean 'else'" not in message
