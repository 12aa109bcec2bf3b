"""A period without data is refused (exit 2, naming the data's dates) unless --allow-empty;
NaN, infinity and huge amounts are refused where they are read, with row and column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pingji.data.folder import FolderDataSet
from pingji.engine import evaluate
from pingji.engine.coverage import EmptyPeriod, coverage
from pingji.periods import Period
from pingji.templates import resolve_scheme

from .test_cli import CUSTOMERS, jsonl, run, write_tables


@pytest.fixture
def customers(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "data", CUSTOMERS)


def test_a_period_without_data_exits_2_naming_the_data_range(customers, capsys) -> None:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2052"
    )
    assert code == 2 and out == ""
    assert err.startswith(
        "Error: period 2052 (2052-01-01 to 2052-12-31) has no row of payments, returns, sales "
        "inside the scheme's windows; the data runs from 2024-03-01 to 2025-06-01: every "
        "entity (customers) would be rated on no data. Check the period, or evaluate anyway "
        "with --allow-empty"
    )


def test_allow_empty_evaluates_and_warns(customers, capsys) -> None:
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2052",
        "--allow-empty",
    )  # fmt: skip
    assert code == 0
    assert [r["entity_id"] for r in jsonl(out)] == ["C1", "C2"]
    assert "Warning: period 2052 (2052-01-01 to 2052-12-31) has no row of" in err
    assert "every entity was rated on no data" in err


def test_a_period_with_data_is_not_refused(customers, capsys) -> None:
    code, out, _err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025"
    )
    assert code == 0 and len(jsonl(out)) == 2


def test_the_engine_refuses_unless_allow_empty(customers) -> None:
    rs = resolve_scheme("customer-composite")
    with pytest.raises(EmptyPeriod) as caught:
        evaluate(rs, FolderDataSet(customers), "2052")
    assert caught.value.exit_code == 2
    ev = evaluate(rs, FolderDataSet(customers), "2052", allow_empty=True)
    assert ev.table.num_rows == 2


def test_coverage_counts_rows_inside_the_windows(customers) -> None:
    rs = resolve_scheme("customer-composite")
    found = coverage(rs, FolderDataSet(customers), Period.parse("2025", "year"))
    assert not found.empty
    assert found.tables == ("payments", "returns", "sales")
    assert (str(found.first), str(found.last)) == ("2024-03-01", "2025-06-01")
    # the sales of 2024-03-01 is read by a window of 2025 (previous year) too
    assert found.rows >= 5


def test_nan_in_a_parquet_money_column_is_bad_input(customers, capsys) -> None:
    (customers / "sales.csv").unlink()
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('C1', DATE '2025-03-01', 10.0::DOUBLE), "
        "('C2', DATE '2025-05-01', 'nan'::DOUBLE)) t(customer_id, date, amount)) "
        f"TO '{customers / 'sales.parquet'}'"
    )
    code, out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025"
    )
    assert code == 2 and out == ""
    assert err.startswith(
        f"Error: {customers / 'sales.parquet'}:2: column 'amount': not an amount (got nan"
    )


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity"])
def test_nan_text_in_a_csv_money_column_is_bad_input(customers, capsys, text: str) -> None:
    write_tables(customers, {"sales": f"customer_id,date,amount\nC1,2025-03-01,{text}\n"})
    code, _out, err = run(
        capsys, "evaluate", "customer-composite", "-d", str(customers), "-p", "2025"
    )
    assert code == 2
    assert err.startswith(
        f"Error: {customers / 'sales.csv'}:2: column 'amount': not an amount (got '{text}'"
    )
