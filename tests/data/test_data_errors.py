"""Bad data is a DataError naming the file, row, column, value and what was expected."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from pingji.data import open_dataset
from pingji.errors import DataError

MONEY = "expected an amount such as 1234.56 (at most 4 decimals)"


def load_error(folder, table: str) -> str:
    ds = open_dataset(folder)
    with pytest.raises(DataError) as err:
        ds.table(table)
    assert err.value.exit_code == 2
    assert ds.con.list_tables() == []  # nothing is written on error
    return str(err.value)


CSV_CASES = {
    "missing window date column": (
        "sales.csv",
        "customer_id,amount,qty\nC1,1,1\n",
        "sales.csv:1: column 'date': required column is missing; the header has "
        "customer_id, amount, qty (expected columns customer_id, date)",
    ),
    "empty window date": (
        "sales.csv",
        "customer_id,date,amount\nC1,2025-01-01,1\nC1,,1\n",
        "sales.csv:3: column 'date': value is missing (expected a date YYYY-MM-DD)",
    ),
    "empty key": (
        "sales.csv",
        'customer_id,date,amount\n"  ",2025-01-01,1\n',
        "sales.csv:2: column 'customer_id': value is missing (expected text)",
    ),
    "non-numeric money": (
        "sales.csv",
        "customer_id,date,amount\nC1,2025-01-01,1\nC1,2025-01-01,$12\n",
        f"sales.csv:3: column 'amount': not an amount (got '$12', {MONEY})",
    ),
    "thousands separators in the wrong places": (
        "sales.csv",
        'customer_id,date,amount\nC1,2025-01-01,"1,200.00"\nC1,2025-01-01,"1,2,3"\n',
        "sales.csv:3: column 'amount': thousands separators in the wrong places (got '1,2,3', "
        "expected digits in groups of three, such as 12,500.00 or 12 500)",
    ),
    "a decimal comma": (
        "payments.csv",
        'customer_id,date,amount\nC1,2025-01-01,"12,50"\n',
        "payments.csv:2: column 'amount': thousands separators in the wrong places (got '12,50'",
    ),
    "money with more than 4 decimals": (
        "payments.csv",
        "customer_id,date,amount\nC1,2025-01-01,0.12345\n",
        f"payments.csv:2: column 'amount': more than 4 decimals (got '0.12345', {MONEY})",
    ),
    "money out of range": (
        "payments.csv",
        "customer_id,date,amount\nC1,2025-01-01,123456789012345\n",
        "payments.csv:2: column 'amount': amount out of range (got '123456789012345', "
        "expected at most 14 digits before the point)",
    ),
    "optional money": (
        "customers.csv",
        "customer_id,net_assets\nC1,\nC2,lots\n",
        f"customers.csv:3: column 'net_assets': not an amount (got 'lots', {MONEY})",
    ),
    "non-numeric number": (
        "ratings.csv",
        "entity_id,period,indicator,score\nC1,2025,m,high\n",
        "ratings.csv:2: column 'score': not a number (got 'high', expected a number)",
    ),
    "non-integer count": (
        "events.csv",
        "entity_id,date,type,count\nC1,2025-01-01,late,1.5\n",
        "events.csv:2: column 'count': not a whole number (got '1.5', expected a whole number)",
    ),
    "month or day first": (
        "sales.csv",
        "customer_id,date,amount\nC1,2025/01/05,1\nC1,1/6/2026,1\n",
        "sales.csv:3: column 'date': ambiguous date: the year must come first (got '1/6/2026', "
        "expected the year first, such as 2026-01-06, 2026/1/6 or 2026年1月6日)",
    ),
    "a two-digit year": (
        "sales.csv",
        "customer_id,date,amount\nC1,26/1/6,1\n",
        "sales.csv:2: column 'date': ambiguous date: the year must come first (got '26/1/6'",
    ),
    "a number in a CSV date column": (
        "sales.csv",
        "customer_id,date,amount\nC1,45658,1\n",
        "sales.csv:2: column 'date': a number, not a date (got '45658', expected a date such "
        "as 2026-01-06 (a number is read as an Excel date only from a number cell of an "
        ".xlsx file))",
    ),
    "mixed separators": (
        "sales.csv",
        "customer_id,date,amount\nC1,2026/1-6,1\n",
        "sales.csv:2: column 'date': not a valid date (got '2026/1-6', expected a date YYYY-MM-DD)",
    ),
    "a time zone": (
        "sales.csv",
        "customer_id,date,amount\nC1,2026-01-06T08:00:00Z,1\n",
        "sales.csv:2: column 'date': not a valid date (got '2026-01-06T08:00:00Z'",
    ),
    "impossible date": (
        "deliveries.csv",
        "supplier_id,due_date,delivered_date\nS1,2025-01-01,2025-02-30\n",
        "deliveries.csv:2: column 'delivered_date': not a valid date (got '2025-02-30'",
    ),
    "bad boolean": (
        "customers.csv",
        "customer_id,vip_designated\nC1,maybe\n",
        "customers.csv:2: column 'vip_designated': not a true/false value (got 'maybe', "
        "expected true/false (also 1/0, yes/no, 是/否))",
    ),
    "inspection result": (
        "inspections.csv",
        "supplier_id,date,result\nS1,2025-01-01,ok\n",
        "inspections.csv:2: column 'result': not an allowed value (got 'ok', "
        "expected one of pass, fail, concession)",
    ),
    "complaint severity": (
        "complaints.csv",
        "entity_id,opened_at,severity\nC1,2025-01-01,critical\n",
        "complaints.csv:2: column 'severity': not an allowed value (got 'critical', "
        "expected one of minor, major)",
    ),
    "duplicate key": (
        "customers.csv",
        "customer_id,name\nC1,a\nC2,b\nC1,c\n",
        "customers.csv:4: column 'customer_id': duplicate key, first on line 2 "
        "(got 'C1', expected each customer_id once)",
    ),
    "the earliest bad row wins": (
        "sales.csv",
        "customer_id,date,amount\nC1,2025-01-01,1\nC1,2025-01-01,x\nC1,bad,1\n",
        "sales.csv:3: column 'amount': not an amount (got 'x'",
    ),
    "ragged line": (
        "sales.csv",
        "customer_id,date,amount\nC1,2025-01-01,1\nC1,2025-01-01\n",
        "sales.csv:3: expected 3 fields like the header, found 2",
    ),
    "empty file": ("sales.csv", "", "sales.csv:1: line 1 is empty: a header row is required"),
    "column twice": (
        "sales.csv",
        "customer_id,date,amount,Amount\n",
        "sales.csv:1: column 'amount': the column appears twice (columns 3 and 4)",
    ),
    "reserved column": (
        "sales.csv",
        "customer_id,date,amount,_row\n",
        "sales.csv:1: column '_row': this column name is reserved",
    ),
}


@pytest.mark.parametrize(("file", "text", "message"), CSV_CASES.values(), ids=list(CSV_CASES))
def test_bad_csv(folder, write_csv, file, text, message):
    write_csv(file, text)
    assert load_error(folder, file.split(".")[0]).startswith(str(folder / message))


def test_a_csv_in_neither_utf8_nor_gbk(folder):
    latin = "customer_id,date,amount\nCafé Müller,2025-01-01,1\nSeñor,2025-01-02,2\n"
    (folder / "sales.csv").write_bytes(latin.encode("cp1252"))
    assert load_error(folder, "sales") == (
        f"{folder / 'sales.csv'}:2: the file is not UTF-8 or GBK/GB18030 text: save it as CSV UTF-8"
    )


def test_a_csv_mixing_utf8_and_gbk(folder):
    (folder / "sales.csv").write_bytes(
        "customer_id,date,amount\n客户甲,2025-01-01,1\n".encode()
        + "客户乙,2025-01-01,1\n".encode("gbk")
    )
    assert load_error(folder, "sales") == (
        f"{folder / 'sales.csv'}:3: the file mixes UTF-8 with another encoding from this "
        "line on: save it as CSV UTF-8"
    )


def test_bad_xlsx_names_the_sheet_row(folder, write_xlsx):
    write_xlsx(
        "sales.xlsx",
        [
            ["customer_id", "date", "amount"],
            ["C1", dt.date(2025, 1, 1), 1],
            [None, None, None],
            ["C1", "2025-01-02", 0.123456],
        ],
    )
    assert load_error(folder, "sales").startswith(
        f"{folder / 'sales.xlsx'}:4: column 'amount': more than 4 decimals (got '0.123456', {MONEY})"
    )


def test_xlsx_duplicate_keys_name_rows(folder, write_xlsx):
    write_xlsx("staff.xlsx", [["staff_id"], ["S1"], ["S1"]])
    assert load_error(folder, "staff").startswith(
        f"{folder / 'staff.xlsx'}:3: column 'staff_id': duplicate key, first on row 2"
    )


def test_xlsx_without_header(folder, write_xlsx):
    write_xlsx("staff.xlsx", [[None], ["S1"]])
    assert load_error(folder, "staff").startswith(
        f"{folder / 'staff.xlsx'}:1: row 1 is empty: a header row is required"
    )


def test_bad_parquet_text_column_names_the_record(folder, write_parquet):
    write_parquet(
        "sales.parquet",
        pa.table(
            {"customer_id": ["C1", "C2"], "date": ["2025-01-01", "01/02/2025"], "amount": [1, 2]}
        ),
    )
    assert load_error(folder, "sales").startswith(
        f"{folder / 'sales.parquet'}:2: column 'date': ambiguous date: the year must come first "
        "(got '01/02/2025'"
    )


def test_parquet_null_in_required_column(folder, write_parquet):
    write_parquet(
        "payments.parquet",
        pa.table(
            {"customer_id": ["C1", None], "date": [dt.date(2025, 1, 1)] * 2, "amount": [1.0, 2.0]}
        ),
    )
    assert load_error(folder, "payments").startswith(
        f"{folder / 'payments.parquet'}:2: column 'customer_id': value is missing"
    )


def test_parquet_missing_column(folder, write_parquet):
    write_parquet("payments.parquet", pa.table({"customer_id": ["C1"], "amount": [1.0]}))
    assert load_error(folder, "payments").startswith(
        f"{folder / 'payments.parquet'}: column 'date': required column is missing; "
        "the file has customer_id, amount"
    )


def test_a_file_that_is_not_parquet(folder):
    (folder / "sales.parquet").write_text("customer_id,date,amount\n")
    assert load_error(folder, "sales").startswith(
        f"{folder / 'sales.parquet'}: cannot read the Parquet file:"
    )


def test_parquet_blank_key(folder, write_parquet):
    write_parquet(
        "staff.parquet", pa.table({"staff_id": ["S1", "S2", " "], "name": ["a", "b", "c"]})
    )
    assert load_error(folder, "staff").startswith(
        f"{folder / 'staff.parquet'}:3: column 'staff_id': value is missing (got ' '"
    )


def test_parquet_duplicate_key(folder, write_parquet):
    write_parquet("dealers.parquet", pa.table({"dealer_id": ["D1", "D2", "D2"]}))
    assert load_error(folder, "dealers").startswith(
        f"{folder / 'dealers.parquet'}:3: column 'dealer_id': duplicate key, first on row 2"
    )
