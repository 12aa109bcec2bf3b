"""Files built to cost a lot: too many columns, XLSX zip bombs, NaN and infinity in numbers.

Each is refused with the file (and row and column where there is one) before it costs much;
the preview (`inspect_file`) and the import (`import_file`, the data set) say the same."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pingji.data import folder as folder_module
from pingji.data import xlsx
from pingji.data.batches import import_file
from pingji.data.folder import FolderDataSet
from pingji.data.problems import inspect_file
from pingji.data.validate import MAX_COLUMNS
from pingji.errors import DataError

HEADER = ["customer_id", "date", "amount"]


def load_error(path: Path, table: str = "sales") -> DataError:
    with pytest.raises(DataError) as caught:
        FolderDataSet(path.parent).table(table)
    assert caught.value.exit_code == 2
    return caught.value


# ----------------------------------------------------------------- wide files


def wide_csv(path: Path, columns: int) -> Path:
    extra = [f"x{i}" for i in range(columns - len(HEADER))]
    values = ["1"] * len(extra)
    path.write_text(
        ",".join(HEADER + extra) + "\n" + ",".join(["C1", "2025-01-05", "10", *values]) + "\n",
        encoding="utf-8",
    )
    return path


def test_a_csv_wider_than_the_limit_is_refused_with_its_width(folder: Path) -> None:
    path = wide_csv(folder / "sales.csv", MAX_COLUMNS + 1)
    error = str(load_error(path))
    assert error.startswith(
        f"{path}:1: the file has 1,001 columns, more than the limit of 1,000: "
        "keep only the columns needed"
    )
    problem = inspect_file(path, "sales").problems[0]
    assert (problem.code, problem.row, problem.message) == (
        "file",
        1,
        "the file has 1,001 columns, more than the limit of 1,000: keep only the columns needed",
    )


def test_a_csv_of_10000_columns_is_refused_before_any_column_is_checked(
    folder: Path, monkeypatch
) -> None:
    checked: list[int] = []
    real = folder_module.check_and_plan
    monkeypatch.setattr(
        folder_module, "check_and_plan", lambda *a, **k: checked.append(1) or real(*a, **k)
    )
    path = wide_csv(folder / "sales.csv", 10_000)
    assert "the file has 10,000 columns" in str(load_error(path))
    assert checked == []


def test_a_parquet_file_and_a_sheet_wider_than_the_limit_are_refused(folder: Path) -> None:
    names = HEADER + [f"x{i}" for i in range(MAX_COLUMNS)]
    pq.write_table(pa.table({n: ["1"] for n in names}), folder / "sales.parquet")
    assert str(load_error(folder / "sales.parquet")).startswith(
        f"{folder / 'sales.parquet'}: the file has 1,003 columns, more than the limit of 1,000"
    )
    (folder / "sales.parquet").unlink()
    workbook = openpyxl.Workbook()
    workbook.active.append(names)
    workbook.save(folder / "sales.xlsx")
    assert str(load_error(folder / "sales.xlsx")).startswith(
        f"{folder / 'sales.xlsx'}:1: the file has 1,003 columns, more than the limit of 1,000"
    )


def test_a_wide_file_is_checked_and_typed_across_query_chunks(folder: Path) -> None:
    # 600 extra columns: their probes take many queries; a column late in the file is typed
    # as it would be in a narrow file, and a bad amount is found with its line
    extra = [f"x{i}" for i in range(600)]
    head = ",".join(HEADER + extra)
    cells = ["7"] * 600
    cells[590] = "2025-02-03"
    good = ",".join(["C1", "2025-01-05", "10", *cells])
    bad = ",".join(["C2", "2025-01-06", "ten", *cells])
    (folder / "sales.csv").write_text(f"{head}\n{good}\n{good}\n", encoding="utf-8")
    ds = FolderDataSet(folder)
    schema = ds.table("sales").schema()
    assert (str(schema["x590"]), str(schema["x599"])) == ("date", "int64")
    (folder / "sales.csv").write_text(f"{head}\n{good}\n{bad}\n", encoding="utf-8")
    error = load_error(folder / "sales.csv")
    assert str(error).startswith(f"{folder / 'sales.csv'}:3: column 'amount': not an amount")
    found = inspect_file(folder / "sales.csv", "sales")
    assert [(p.row, p.column, p.code) for p in found.problems] == [(3, "amount", "not_amount")]


# ----------------------------------------------------------------- XLSX bombs


def sheet_with_rows(path: Path, rows: Iterable[bytes], header: list[str] = HEADER) -> Path:
    """Write a workbook whose first sheet holds `header` and the raw XML `rows`."""
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(header)
    workbook.save(buffer)
    cells = b"".join(
        b'<c t="inlineStr"><is><t>' + name.encode() + b"</t></is></c>" for name in header
    )
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item.filename, src.read(item.filename))
                continue
            with dst.open(item.filename, "w", force_zip64=True) as out:
                out.write(
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b"<sheetData><row>" + cells + b"</row>"
                )
                for row in rows:
                    out.write(row)
                out.write(b"</sheetData></worksheet>")
    return path


ROW = b'<row><c t="inlineStr"><is><t>C1</t></is></c><c t="inlineStr"><is><t>2025-01-05</t></is></c><c><v>1</v></c></row>'


def test_a_highly_compressed_sheet_is_refused_before_it_is_parsed(folder: Path) -> None:
    # 200,000 rows, 21 MB of XML packed into well under 1 MB: refused on the archive's
    # declared sizes, without parsing a row
    path = sheet_with_rows(folder / "sales.xlsx", (ROW for _ in range(200_000)))
    assert path.stat().st_size < 1_000_000
    error = str(load_error(path))
    assert error.startswith(f"{path}: the workbook's part xl/worksheets/sheet1.xml unpacks "), error
    assert "times larger than it is stored, more than the limit of 100 times" in error
    problem = inspect_file(path, "sales").problems[0]
    assert problem.code == "file" and problem.message.startswith("the workbook's part")


def test_a_workbook_unpacking_beyond_the_limit_is_refused(folder: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 50_000)
    path = sheet_with_rows(folder / "sales.xlsx", (ROW for _ in range(1_000)))
    error = str(load_error(path))
    assert error.startswith(f"{path}: the workbook unpacks to "), error
    assert error.endswith(
        " bytes, more than the limit of 50,000 bytes: save the data as CSV or Parquet"
    )


def test_unpacked_bytes_are_counted_while_the_sheet_is_read(folder: Path, monkeypatch) -> None:
    # as if the archive declared smaller sizes than it holds: the count stops the reading
    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 50_000)
    monkeypatch.setattr(xlsx, "_unpacked_size", lambda path, file: 0)
    path = sheet_with_rows(folder / "sales.xlsx", (ROW for _ in range(1_000)))
    assert str(load_error(path)).startswith(
        f"{path}: the workbook unpacks to more than the limit of 50,000 bytes: "
        "save the data as CSV or Parquet"
    )


def test_a_sheet_longer_than_the_row_limit_is_refused(folder: Path, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 5)
    path = sheet_with_rows(folder / "sales.xlsx", (ROW for _ in range(10)))
    assert str(load_error(path)).startswith(
        f"{path}:6: the sheet has more than 5 rows, Excel's limit: save the data as CSV or Parquet"
    )
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 11)
    assert FolderDataSet(folder).table("sales").count().execute() == 10


def test_excel_s_row_limit_is_the_default() -> None:
    assert xlsx.MAX_SHEET_ROWS == 1_048_576


# ----------------------------------------------------- NaN, infinity, huge amounts


def floats(folder: Path, table: str, column: str, values: list[float]) -> Path:
    n = len(values)
    data = {
        "sales": {"customer_id": ["C1"] * n, "date": ["2025-01-05"] * n, column: values},
        "production_defects": {
            "supplier_id": ["S1"] * n,
            "date": ["2025-01-05"] * n,
            "used_qty": [1.0] * n,
            "defective_qty": [1.0] * n,
        },
    }[table]
    data[column] = values
    path = folder / f"{table}.parquet"
    columns = {k: pa.array(v, pa.float64()) if k == column else v for k, v in data.items()}
    pq.write_table(pa.table(columns), path)
    return path


MONEY = "an amount such as 1234.56 (at most 4 decimals)"


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        (float("nan"), "not_amount", "not an amount (got nan, expected " + MONEY),
        (float("inf"), "not_amount", "not an amount (got inf, expected " + MONEY),
        (-float("inf"), "not_amount", "not an amount (got -inf, expected " + MONEY),
        (1e20, "amount_range", "amount out of range (got 1e+20, expected at most 14 digits"),
    ],
)
def test_a_parquet_money_column_refuses_nan_infinity_and_huge_amounts_alike(
    folder: Path, tmp_path: Path, value: float, code: str, message: str
) -> None:
    path = floats(folder, "sales", "amount", [10.5, value])
    # the data set (CLI) …
    assert str(load_error(path)).startswith(f"{path}:2: column 'amount': {message}")
    # … the preview …
    found = inspect_file(path, "sales")
    assert [(p.row, p.column, p.code) for p in found.problems] == [(2, "amount", code)]
    assert not found.ok
    # … and the commit say the same
    with pytest.raises(DataError) as caught:
        import_file(path, "sales", tmp_path / "batch.parquet")
    assert str(caught.value).startswith(f"sales.parquet:2: column 'amount': {message}")
    assert not (tmp_path / "batch.parquet").exists()


def test_a_parquet_number_column_refuses_nan(folder: Path) -> None:
    path = floats(folder, "production_defects", "used_qty", [1.0, 2.0, float("nan")])
    assert str(load_error(path, "production_defects")).startswith(
        f"{path}:3: column 'used_qty': not a number (got nan, expected a number)"
    )
    found = inspect_file(path, "production_defects")
    assert [(p.row, p.column, p.code) for p in found.problems] == [(3, "used_qty", "not_number")]


def test_finite_parquet_amounts_still_pass(folder: Path) -> None:
    path = floats(folder, "sales", "amount", [10.5, -3.25, 99_999_999_999_999.0])
    assert inspect_file(path, "sales").ok
    assert FolderDataSet(folder).table("sales").count().execute() == 3


@pytest.mark.parametrize(
    ("table", "header", "cell", "column", "message"),
    [
        ("sales", "customer_id,date,amount", "NaN", "amount", "not an amount (got 'NaN'"),
        ("sales", "customer_id,date,amount", "inf", "amount", "not an amount (got 'inf'"),
        (
            "sales",
            "customer_id,date,amount",
            "100000000000000",
            "amount",
            "amount out of range (got '100000000000000'",
        ),
        (
            "production_defects",
            "supplier_id,date,used_qty,defective_qty",
            "NaN,1",
            "used_qty",
            "not a number (got 'NaN'",
        ),
        (
            "production_defects",
            "supplier_id,date,used_qty,defective_qty",
            "1,-inf",
            "defective_qty",
            "not a number (got '-inf'",
        ),
    ],
)
def test_csv_text_nan_and_infinity_are_refused_with_line_and_column(
    folder: Path, table: str, header: str, cell: str, column: str, message: str
) -> None:
    key = "S1" if table != "sales" else "C1"
    path = folder / f"{table}.csv"
    path.write_text(f"{header}\n{key},2025-01-05,{cell}\n", encoding="utf-8")
    assert str(load_error(path, table)).startswith(f"{path}:2: column '{column}': {message}")
    problem = inspect_file(path, table).problems[0]
    assert (problem.row, problem.column) == (2, column)
