"""The command line and hostile input: a device as a scheme, periods outside the calendar,
integer overflow, and result cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
import json
import textwrap
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.cli.test_cli import CUSTOMERS, run, write_tables

SCHEME = """\
id: hostile
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
  orders: {count: sales}
  amount: {expr: "%s"}
tree:
  id: root
  max: 100
  children:
    - id: a
      weight: 1
      value: amount
      rule: {linear: {zero_at: 0, full_at: 100}}
"""


def scheme(tmp_path: Path, value: str = "sales") -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(SCHEME % value, encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "data", CUSTOMERS)


def test_a_device_as_the_scheme_is_refused_after_a_megabyte(capsys) -> None:
    start = time.perf_counter()
    code, out, err = run(capsys, "validate", "/dev/zero")
    assert time.perf_counter() - start < 5
    assert code == 2
    assert out == ""
    assert err.startswith("Error: /dev/zero: the scheme is larger than 1 MB")


@pytest.mark.parametrize("period", ["0000", "0001", "9999", "1899", "3000-Q1"])
def test_a_period_outside_the_allowed_years_is_bad_input(tmp_path, data, capsys, period) -> None:
    code, out, err = run(capsys, "evaluate", str(scheme(tmp_path)), "--data", str(data), "--period", period)  # fmt: skip
    assert code == 2
    assert out == ""
    assert f"period '{period}' is out of range: the year must be from 1900 to 2999" in err


def test_the_first_and_last_allowed_years_work(tmp_path, data, capsys) -> None:
    for period in ("1900", "2999"):
        # the data has no row in those years: --allow-empty (tests/cli/test_empty_period.py)
        code, out, _err = run(capsys, "evaluate", str(scheme(tmp_path)), "--data", str(data), "--period", period, "--allow-empty")  # fmt: skip
        assert code == 0, period
        assert f'"period":"{period}"' in out


def test_an_integer_overflow_is_bad_input_that_says_what_to_do(tmp_path, data, capsys) -> None:
    path = scheme(tmp_path, "orders * 10000000000 * 10000000000")
    code, out, err = run(capsys, "evaluate", str(path), "--data", str(data), "--period", "2025")
    assert code == 2
    assert out == ""
    assert "internal error" not in err
    assert err.startswith("Error: a value of the scheme went beyond the range of whole numbers")
    assert "write 1.0 * a * b" in err
    # as a decimal it is computed
    path = scheme(tmp_path, "1.0 * orders * 10000000000 * 10000000000")
    code, out, _err = run(capsys, "evaluate", str(path), "--data", str(data), "--period", "2025")
    assert code == 0


def test_a_literal_too_large_for_an_integer_is_computed_as_a_decimal(
    tmp_path, data, capsys
) -> None:
    path = scheme(tmp_path, "100000000000000000000000 + sales")
    code, out, err = run(capsys, "evaluate", str(path), "--data", str(data), "--period", "2025")
    assert (code, err) == (0, "")
    assert [line["nodes"]["a"]["value"] for line in map(json.loads, out.splitlines())] == [
        1e23 + 1_100_000,
        1e23 + 300_000,
    ]


# ---------------------------------------------------------------- formulas in results

HOSTILE = {
    "customers": """
        customer_id,name
        "=HYPERLINK(""http://evil.example/"",""x"")",甲
        @SUM(A1),乙
        +1,丙
        -2,丁
        C5,戊
    """,
    "sales": """
        customer_id,date,amount
        "=HYPERLINK(""http://evil.example/"",""x"")",2025-03-01,100
        C5,2025-03-01,-5
    """,
    "payments": """
        customer_id,date,amount
        C5,2025-04-01,1
    """,
}
LINK = '=HYPERLINK("http://evil.example/","x")'


def test_csv_results_neutralise_text_that_would_be_a_formula(tmp_path, capsys) -> None:
    data = write_tables(tmp_path / "data", HOSTILE)
    code, out, _err = run(capsys, "evaluate", str(scheme(tmp_path)), "--data", str(data), "--period", "2025", "--format", "csv")  # fmt: skip
    assert code == 0
    rows = {r["entity_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert sorted(rows) == ["'+1", "'-2", "'" + LINK, "'@SUM(A1)", "C5"]
    # a negative number stays a number
    assert rows["C5"]["a.value"].startswith("-5")


def test_excel_results_write_such_text_as_text_never_a_formula(tmp_path, capsys) -> None:
    data = write_tables(tmp_path / "data", HOSTILE)
    label = textwrap.dedent(SCHEME % "sales").replace("id: hostile", "id: hostile\nlabel: '=1+1'")
    path = tmp_path / "labelled.yaml"
    path.write_text(label, encoding="utf-8")
    target = tmp_path / "out.xlsx"
    code, _out, _err = run(capsys, "evaluate", str(path), "--data", str(data), "--period", "2025", "--format", "xlsx", "--out", str(target))  # fmt: skip
    assert code == 0
    book = load_workbook(target)
    cells = {row[0].value: row for row in book["结果"].iter_rows(min_row=3)}
    assert cells[LINK][0].data_type == "s"
    assert cells["@SUM(A1)"][0].data_type == "s"
    value_column = [c.value for c in book["结果"][2]].index("a.value")
    assert cells["C5"][value_column].value == -5
    assert cells["C5"][value_column].data_type == "n"
    assert book["说明"]["B1"].value == "=1+1"
    assert book["说明"]["B1"].data_type == "s"


def test_the_one_rule_neutralises_only_text_columns() -> None:
    import duckdb

    from pingji.output.cells import neutralise, neutralised_query

    con = duckdb.connect()
    sql = (
        "SELECT * FROM (VALUES ('=1+1', -5, -2.5, ['=x'], '-a', NULL, 'ok', chr(9) || 'tab'),"
        " ('@x', 3, 0.0, [], '+1', 'r', '', chr(13) || 'cr')) t(a, b, c, d, e, f, g, h)"
        " WHERE ?"
    )
    got = con.execute(neutralised_query(con, sql, [True]), [True]).fetchall()
    assert got == [
        ("'=1+1", -5, -2.5, ["=x"], "'-a", None, "ok", "'\ttab"),
        ("'@x", 3, 0.0, [], "'+1", "r", "", "'\rcr"),
    ]
    assert [neutralise(v) for v in ("=1", "+1", "-1", "@a", "a=1", -1, None, "")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "a=1",
        -1,
        None,
        "",
    ]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_a_parameter_that_is_not_a_finite_number_is_bad_input(
    tmp_path, data, capsys, value
) -> None:
    text = (
        (SCHEME % "sales")
        .replace("period: year\n", "period: year\nparams:\n  goal: {default: 100, type: money}\n")
        .replace("full_at: 100", "full_at: goal")
    )
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "evaluate", str(path), "--data", str(data), "--period", "2025", "--param", f"goal={value}")  # fmt: skip
    assert (code, out) == (2, "")
    assert err == f"Error: parameter 'goal' expects a finite number below 10^28, got '{value}'\n"
