"""The command line's contract: what goes to stdout, exit codes, files written or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pingji.cli.main import main
from pingji.templates import builtin_names, resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS

PINGJI = str(Path(sys.executable).with_name("pingji"))
RESULT_KEYS = [
    "entity_id",
    "period",
    "score",
    "points",
    "max_points",
    "grade",
    "classes",
    "class",
    "status",
    "actions",
    "missing",
    "nodes",
    "reasons",
    "override",
]

CUSTOMERS = {
    "customers": """
        customer_id,name
        C1,甲公司
        C2,乙公司
    """,
    "sales": """
        customer_id,date,amount
        C1,2024-03-01,1000000
        C1,2025-03-01,1100000
        C2,2025-05-01,300000
    """,
    "payments": """
        customer_id,date,amount
        C1,2025-04-01,1045000
        C2,2025-06-01,300000
    """,
    "returns": """
        customer_id,date,amount
        C1,2025-04-01,22000
    """,
    "ratings": """
        entity_id,period,indicator,score
        C1,2025,manager_rating,80
        C2,2025,manager_rating,90
    """,
}


def write_tables(folder: Path, tables: dict[str, str]) -> Path:
    """Write {table: csv text} as folder/<table>.csv files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    """A tiny customer data set for customer-composite, period 2025."""
    return write_tables(tmp_path / "data", CUSTOMERS)


@pytest.fixture(scope="module")
def suppliers(tmp_path_factory) -> Path:
    """Sample data for supplier-rating (30 suppliers), period 2025-12."""
    folder = tmp_path_factory.mktemp("suppliers")
    assert main(["sample-data", "supplier-rating", "--out", str(folder), "-n", "30"]) == 0
    return folder


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit code, stdout, stderr)."""
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# ------------------------------------------------------------------------ evaluate


def test_evaluate_writes_one_json_line_per_entity_and_nothing_else(customers, capsys) -> None:
    code, out, _ = run(capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025")
    assert code == 0
    rows = jsonl(out)
    assert [r["entity_id"] for r in rows] == ["C1", "C2"]
    assert list(rows[0]) == RESULT_KEYS
    assert rows[0]["period"] == "2025"
    sales_volume = rows[0]["nodes"]["sales_volume"]
    assert sales_volume["value"] == 1100000
    assert (sales_volume["points"], sales_volume["max"], sales_volume["score"]) == (15, 30, 50)


def test_warnings_go_to_stderr(customers, capsys) -> None:
    with open(customers / "sales.csv", "a", encoding="utf-8") as fh:
        fh.write("NOBODY,2025-01-01,5\n")
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025"
    )
    assert code == 0
    assert len(jsonl(out)) == 2  # stdout is data only
    assert "Warning: 1 row(s) of sales name entities that are not in customers: ignored" in err


def test_csv_flattens_the_nodes(customers, capsys) -> None:
    code, out, _ = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025", "-f", "csv"
    )
    assert code == 0
    lines = out.splitlines()
    header = lines[0].split(",")
    assert header[:13] == [k for k in RESULT_KEYS if k != "nodes"]
    assert "nodes" not in header
    for column in ("composite.points", "composite.score", "sales_volume.value"):
        assert column in header
    assert "sales_volume.points" in header and "manager_rating.score" in header
    assert len(lines) == 3


def test_xlsx_has_chinese_labels_then_ids(customers, tmp_path, capsys) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "out.xlsx"
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025",
        "-f", "xlsx", "--out", str(target),
    )  # fmt: skip
    assert code == 0 and out == ""
    assert f"2 results → {target}" in err
    sheet = load_workbook(target, read_only=True)["结果"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("编号", "期间", "得分", "总分", "满分", "等级")
    assert "销售量 得分" in rows[0]
    assert rows[1][:3] == ("entity_id", "period", "score")
    assert "sales_volume.points" in rows[1]
    assert [r[0] for r in rows[2:]] == ["C1", "C2"]


def test_parquet_is_flat_like_csv_with_lists_kept(customers, tmp_path, capsys) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "out.parquet"
    code, *_ = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025",
        "-f", "parquet", "-o", str(target),
    )  # fmt: skip
    assert code == 0
    table = pq.read_table(target)
    assert table.column_names[:13] == [k for k in RESULT_KEYS if k != "nodes"]
    assert "sales_volume.points" in table.column_names
    assert table.column("entity_id").to_pylist() == ["C1", "C2"]
    assert table.column("missing").to_pylist() == [[], ["sales_growth"]]  # no sales in 2024


def test_xlsx_needs_an_output_file(customers, capsys) -> None:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025", "-f", "xlsx"
    )
    assert code == 2 and out == ""
    assert "Error: --format xlsx needs --out FILE" in err


# ------------------------------------------------------------------------ params


def _batch_pass_and_defect_points(out: str) -> dict[str, float]:
    return {r["entity_id"]: r["nodes"]["process_defect"]["points"] for r in jsonl(out)}


def test_a_param_changes_the_points(suppliers, capsys) -> None:
    base = ["evaluate", "supplier-rating", "-d", str(suppliers), "-p", "2025-12"]
    code, out, _ = run(capsys, *base)
    assert code == 0
    default = _batch_pass_and_defect_points(out)
    code, out, _ = run(capsys, *base, "--param", "defect_limit=0.02")
    assert code == 0
    looser = _batch_pass_and_defect_points(out)
    assert all(looser[k] >= default[k] for k in default)
    assert any(looser[k] > default[k] for k in default)


def test_an_unknown_param_names_the_known_ones(suppliers, capsys) -> None:
    code, out, err = run(
        capsys, "evaluate", "supplier-rating", "-d", str(suppliers), "-p", "2025-12",
        "--param", "nosuch=1",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert (
        "Error: unknown parameter 'nosuch' for scheme supplier-rating (parameters: defect_limit)"
        in err
    )


@pytest.mark.parametrize("item", ["defect_limit=abc", "defect_limit"])
def test_a_bad_param_value_is_bad_input(suppliers, capsys, item: str) -> None:
    code, out, err = run(
        capsys, "evaluate", "supplier-rating", "-d", str(suppliers), "-p", "2025-12",
        "--param", item,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and "defect_limit" in err


# ------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2025-13", "Error: '2025-13' is not a period: write a year (2025), a quarter"),
        ("2025-Q3", "Error: period '2025-Q3' is a quarter, but this scheme is evaluated per year"),
    ],
)
def test_a_bad_period_is_bad_input(customers, capsys, period: str, message: str) -> None:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", period
    )
    assert code == 2 and out == ""
    assert err.startswith(message)


def _evaluate_to_file(capsys, data: Path, target: Path) -> tuple[int, str]:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(data), "-p", "2025",
        "-f", "csv", "-o", str(target),
    )  # fmt: skip
    assert out == ""
    return code, err


def _assert_nothing_written(target: Path) -> None:
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if p.name != "data"] == []


def test_a_missing_data_folder_is_bad_input(tmp_path, capsys) -> None:
    target = tmp_path / "out" / "result.csv"
    target.parent.mkdir()
    code, err = _evaluate_to_file(capsys, tmp_path / "nodir", target)
    assert code == 2
    assert f"Error: {tmp_path / 'nodir'}: the data folder does not exist" in err
    _assert_nothing_written(target)


def test_a_missing_table_is_bad_input(customers, tmp_path, capsys) -> None:
    (customers / "payments.csv").unlink()
    target = tmp_path / "result.csv"
    code, err = _evaluate_to_file(capsys, customers, target)
    assert code == 2
    assert err.startswith("Error: ") and "payments" in err
    _assert_nothing_written(target)


def test_a_missing_column_is_bad_input(customers, tmp_path, capsys) -> None:
    write_tables(customers, {"sales": "customer_id,date\nC1,2025-01-01\n"})
    target = tmp_path / "result.csv"
    code, err = _evaluate_to_file(capsys, customers, target)
    assert code == 2
    assert "sales.csv" in err and "amount" in err
    _assert_nothing_written(target)


def test_a_non_numeric_amount_names_file_row_and_column(customers, tmp_path, capsys) -> None:
    write_tables(
        customers,
        {"sales": "customer_id,date,amount\nC1,2025-01-01,100\nC1,2025-02-01,12O0\n"},
    )
    target = tmp_path / "result.csv"
    code, err = _evaluate_to_file(capsys, customers, target)
    assert code == 2
    assert f"Error: {customers / 'sales.csv'}:3: column 'amount': " in err
    assert "'12O0'" in err
    _assert_nothing_written(target)


def test_an_unknown_scheme_lists_the_built_ins(customers, capsys) -> None:
    code, out, err = run(capsys, "evaluate", "nosuch", "-d", str(customers), "-p", "2025")
    assert code == 2 and out == ""
    assert err.startswith("Error: 'nosuch' is neither a scheme file nor a built-in scheme")
    assert all(name in err for name in builtin_names())


# ----------------------------------------------------------- validate and explain


def test_validate_a_built_in(capsys) -> None:
    code, out, err = run(capsys, "validate", "customer-composite")
    assert code == 0 and out == ""
    assert "OK: " in err and "客户综合评价: 8 metrics, 6 nodes, 5 grades" in err


def test_validate_data_runs_the_checks_evaluate_runs(customers, capsys) -> None:
    """A rating outside its scale or an override naming no grade is refused by validate as
    by evaluate (in any period: validate has none), without evaluating."""
    code, _out, err = run(capsys, "validate", "customer-composite", "-d", str(customers))
    assert code == 0 and "OK: " in err
    ratings = customers / "ratings.csv"
    text = ratings.read_text(encoding="utf-8")
    ratings.write_text(text + "C1,2024,manager_rating,150\n", encoding="utf-8")
    code, out, err = run(capsys, "validate", "customer-composite", "-d", str(customers))
    assert code == 2 and out == ""
    assert f"Error: {ratings}:4: column 'score': rating of 'manager_rating' for C1 in 2024 " in err
    assert "is outside its scale (got 150.0, expected a score from 0 to 100" in err
    ratings.write_text(text, encoding="utf-8")
    (customers / "overrides.csv").write_text(
        "entity_id,period,grade,reason\nC2,2025,Z,by hand\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "validate", "customer-composite", "-d", str(customers))
    assert code == 2
    assert (
        f"Error: {customers / 'overrides.csv'}:2: column 'grade': override for C2 names an "
        "unknown grade (got 'Z', expected one of "
    ) in err


def test_explain_prints_metrics_tree_and_sql(customers, capsys) -> None:
    code, out, _ = run(capsys, "explain", "customer-composite", "-d", str(customers), "-p", "2025")
    assert code == 0
    for text in ("collection_rate", "sales_volume", "composite", "SELECT"):
        assert text in out


def test_explain_one_entity_shows_points_and_rules(customers, capsys) -> None:
    code, out, _ = run(
        capsys, "explain", "customer-composite", "-d", str(customers), "-p", "2025", "-e", "C1"
    )
    assert code == 0
    assert "C1" in out
    assert "sales_volume" in out or "销售量" in out
    assert "/30" in out or "/ 30" in out  # points out of the node's max


# ---------------------------------------------------------------------- templates


def test_templates_lists_all_14_with_chinese_labels(capsys) -> None:
    code, out, _ = run(capsys, "templates")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 14
    assert [line.split()[0] for line in lines] == builtin_names()
    assert "客户综合评价" in lines[0]


def test_a_shown_template_validates_as_a_file(tmp_path, capsys) -> None:
    code, out, _ = run(capsys, "templates", "--show", "customer-composite")
    assert code == 0 and out.startswith("id: customer-composite\n")
    path = tmp_path / "mine.yaml"
    path.write_text(out, encoding="utf-8")
    assert run(capsys, "validate", str(path))[0] == 0


@pytest.mark.parametrize("name", builtin_names())
def test_sample_data_evaluates_for_every_built_in(name: str, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    assert main(["sample-data", name, "--out", str(data), "-n", "30"]) == 0
    code, out, _ = run(capsys, "evaluate", name, "-d", str(data), "-p", SAMPLE_PERIODS[name])
    assert code == 0
    rows = jsonl(out)
    assert len(rows) >= 30
    assert all(r["period"] == SAMPLE_PERIODS[name] for r in rows)
    scheme = resolve_scheme(name).scheme
    extra = [o.id for o in scheme.outputs]  # extra outputs come last
    assert list(rows[0]) == RESULT_KEYS + extra


# -------------------------------------------------------------------- subprocess


def _pingji(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run(
        [PINGJI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_the_real_command_keeps_stdout_for_data(customers, tmp_path) -> None:
    with open(customers / "sales.csv", "a", encoding="utf-8") as fh:
        fh.write("NOBODY,2025-01-01,5\n")
    done = _pingji(
        "evaluate", "customer-composite", "-d", str(customers), "-p", "2025", cwd=tmp_path
    )
    assert done.returncode == 0
    assert [r["entity_id"] for r in jsonl(done.stdout)] == ["C1", "C2"]
    # one warning per line, not wrapped at the terminal width
    assert "Warning: 1 row(s) of sales name entities that are not in customers: ignored\n" in (
        done.stderr
    )


def test_the_real_command_exits_2_on_a_bad_scheme(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: t\nentity: customers\nperiod: yearly\n", encoding="utf-8")
    done = _pingji("validate", str(path), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert f"Error: {path}:3:9: expected one of 'year', 'quarter' or 'month'" in done.stderr
    assert "> 3 | period: yearly" in done.stderr


def test_debug_shows_the_traceback(tmp_path) -> None:
    done = _pingji("--debug", "validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "SchemeError" in done.stderr
    plain = _pingji("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
