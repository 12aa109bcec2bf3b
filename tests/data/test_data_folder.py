"""Folder data sets: finding files, types, defaults, extra columns and row numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from pingji.data import DataSet, open_dataset
from pingji.data.contract import ROW_COLUMN, TABLES
from pingji.errors import BadInput, DataError


def rows(ds: DataSet, name: str) -> list[dict]:
    return ds.table(name).order_by(ROW_COLUMN).to_pyarrow().to_pylist()


def test_it_finds_contract_files_and_ignores_the_rest(folder, write_csv):
    write_csv("customers.CSV", "customer_id\nC1\n")
    write_csv("notes.csv", "anything\n")
    write_csv("sales.txt", "customer_id,date,amount\n")
    (folder / "ratings.xlsx").mkdir()  # a folder named like a table is not a table
    ds = open_dataset(folder)
    assert ds.backend == "duckdb"
    assert ds.description == str(folder)
    assert ds.names() == ["customers"]
    assert ds.has("customers") and not ds.has("sales")
    assert ds.source("customers") == str(folder / "customers.CSV")


def test_it_refuses_two_files_for_one_table(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\n")
    write_csv("sales.parquet", "")
    with pytest.raises(DataError) as err:
        open_dataset(folder)
    assert str(err.value).startswith(
        f"{folder}: table 'sales' has two files, sales.csv and sales.parquet: keep one"
    )


def test_it_refuses_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="the data folder does not exist"):
        open_dataset(tmp_path / "nope")


def test_money_is_exact_decimal(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\nC1,2025-01-01,0.1\nC1,2025-01-02,0.2\n")
    ds = open_dataset(folder)
    sales = ds.table("sales")
    assert str(sales.schema()["amount"]) == "decimal(18, 4)"
    total = sales.amount.sum().to_pyarrow().as_py()
    assert total == Decimal("0.3")
    assert [r["amount"] for r in rows(ds, "sales")] == [Decimal("0.1"), Decimal("0.2")]


def test_it_types_every_contract_column(folder, write_csv):
    write_csv(
        "customers.csv",
        "customer_id,name,created_on,vip_designated,opening_balance,net_assets\n"
        "00123,甲公司,2024-02-29,是,-12.5,1000000.1234\n",
    )
    write_csv("events.csv", "entity_id,date,type,count\nC1,2025-01-01,late_reply,3\n")
    write_csv("ratings.csv", "entity_id,period,indicator,score\nC1,2025,manager_rating,87.5\n")
    ds = open_dataset(folder)
    schema = ds.table("customers").schema()
    assert {n: str(schema[n]) for n in ("customer_id", "created_on", "vip_designated")} == {
        "customer_id": "string",
        "created_on": "date",
        "vip_designated": "boolean",
    }
    assert str(ds.table("events").schema()["count"]) == "int64"
    assert str(ds.table("ratings").schema()["score"]) == "float64"
    (customer,) = rows(ds, "customers")
    assert customer["customer_id"] == "00123"  # keys stay text
    assert customer["created_on"] == dt.date(2024, 2, 29)
    assert customer["vip_designated"] is True
    assert customer["opening_balance"] == Decimal("-12.5")
    assert customer["net_assets"] == Decimal("1000000.1234")
    assert rows(ds, "events")[0]["count"] == 3
    assert rows(ds, "ratings")[0]["score"] == 87.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[("true", True), ("FALSE", False), ("1", True), ("0", False), ("Yes", True)],
        *[("no", False), ("y", True), ("N", False), ("是", True), ("否", False), ("", False)],
    ],
)
def test_booleans_accept_the_usual_spellings(folder, write_csv, text, expected):
    write_csv("customers.csv", f"customer_id,vip_designated\nC1,{text}\n")
    assert rows(open_dataset(folder), "customers")[0]["vip_designated"] is expected


def test_absent_and_empty_optional_columns_get_their_defaults(folder, write_csv):
    write_csv("customers.csv", "customer_id,opening_balance\nC1,\nC2,5\n")
    write_csv(
        "complaints.csv", "entity_id,opened_at,severity\nC1,2025-01-01,\nC1,2025-01-02,MAJOR\n"
    )
    write_csv("events.csv", "entity_id,date,type\nC1,2025-01-01,late\n")
    write_csv("sales.csv", "customer_id,date,amount\nC1,2025-01-01,1\n")
    ds = open_dataset(folder)
    customers = rows(ds, "customers")
    assert [c["opening_balance"] for c in customers] == [Decimal(0), Decimal(5)]
    assert [c["vip_designated"] for c in customers] == [False, False]
    assert [c["net_assets"] for c in customers] == [None, None]
    assert [c["severity"] for c in rows(ds, "complaints")] == ["minor", "major"]
    assert rows(ds, "events")[0]["count"] == 1
    assert rows(ds, "sales")[0]["batch_id"] is None
    assert ds.columns("sales") == ["customer_id", "date", "amount", "batch_id"]


def test_extra_columns_are_typed_and_usable(folder, write_csv):
    write_csv(
        "sales.csv",
        "customer_id,date,amount,qty,price,shipped,channel,code,paid\n"
        "C1,2025-01-01,10,2,1.5,2025-01-03,web,007,true\n"
        "C1,2025-01-02,20,3,,2025-01-04,shop,010,false\n",
    )
    ds = open_dataset(folder)
    sales = ds.table("sales")
    types = {n: str(sales.schema()[n]) for n in ("qty", "price", "shipped", "channel", "code")}
    assert types == {
        "qty": "int64",
        "price": "float64",
        "shipped": "date",
        "channel": "string",
        "code": "string",  # leading zeros: an identifier, not a number
    }
    assert str(sales.schema()["paid"]) == "boolean"
    assert sales.qty.sum().execute() == 5
    assert sales.filter(sales.channel == "web").amount.sum().to_pyarrow().as_py() == 10
    assert ds.columns("sales")[4:] == ["qty", "price", "shipped", "channel", "code", "paid"]


def test_headers_match_ignoring_case_and_by_label(folder, write_csv):
    write_csv("customers.csv", " Customer_ID ,名称,区域\nC1,甲,华东\n")
    (customer,) = rows(open_dataset(folder), "customers")
    assert (customer["customer_id"], customer["name"], customer["region"]) == ("C1", "甲", "华东")


def test_cells_are_trimmed_including_full_width_spaces(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\n C1\u3000, 2025-01-01 ,\t7 \n")
    (sale,) = rows(open_dataset(folder), "sales")
    assert (sale["customer_id"], sale["amount"]) == ("C1", Decimal(7))


def test_row_numbers_are_file_lines(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\nC1,2025-01-01,1\nC2,2025-01-01,2\n", bom=False)
    assert [r[ROW_COLUMN] for r in rows(open_dataset(folder), "sales")] == [2, 3]


def test_row_numbers_skip_blank_lines_and_follow_quoted_line_breaks(folder, write_csv):
    write_csv(
        "sales.csv",
        'customer_id,date,amount,note\r\nC1,2025-01-01,1,"two\r\n\r\nlines"\r\n\r\n'
        "C2,2025-01-01,2,x\r\nC3,2025-01-01,oops,y",
    )
    with pytest.raises(DataError) as err:
        open_dataset(folder).table("sales")
    assert err.value.row == 7
    (folder / "sales.csv").write_text(
        'customer_id,date,amount,note\nC1,2025-01-01,1,"a\n\nb"\n\nC2,2025-01-01,2,x\n'
    )
    ds = open_dataset(folder)
    assert [(r["customer_id"], r[ROW_COLUMN]) for r in rows(ds, "sales")] == [("C1", 2), ("C2", 6)]
    assert rows(ds, "sales")[0]["note"] == "a\n\nb"


def test_a_header_only_file_is_an_empty_table(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\n")
    sales = open_dataset(folder).table("sales")
    assert sales.count().execute() == 0
    assert str(sales.schema()["amount"]) == "decimal(18, 4)"


def test_tables_load_once(folder, write_csv):
    write_csv("staff.csv", "staff_id\nS1\n")
    ds = open_dataset(folder)
    assert ds.table("staff") is ds.table("staff")


def test_an_unknown_table_name_is_an_error(folder):
    with pytest.raises(DataError, match="unknown table 'sale'"):
        open_dataset(folder).table("sale")


def test_require_names_the_folder_table_columns_and_who_needs_them(folder, write_csv):
    write_csv("sales.csv", "customer_id,date,amount\n")
    ds = open_dataset(folder)
    ds.require("sales", ["customer_id", "amount", "batch_id"], "scheme customer-composite")
    with pytest.raises(DataError) as err:
        ds.require("payments", ["customer_id", "date", "amount"], "scheme customer-composite")
    assert isinstance(err.value, BadInput) and err.value.exit_code == 2
    assert str(err.value) == (
        f"{folder}: table 'payments' is missing: scheme customer-composite needs "
        "payments.csv/.parquet/.xlsx with columns customer_id, date, amount"
    )
    with pytest.raises(DataError) as err:
        ds.require("sales", ["amount", "channel"], "indicator online_share")
    assert str(err.value) == (
        f"{folder / 'sales.csv'}: column 'channel' is missing: "
        "indicator online_share needs sales with columns amount, channel"
    )


def test_every_contract_table_loads_from_a_header_only_csv(folder, write_csv):
    for spec in TABLES.values():
        write_csv(f"{spec.name}.csv", ",".join(c.name for c in spec.required) + "\n")
    ds = open_dataset(folder)
    for spec in TABLES.values():
        assert ds.columns(spec.name) == [c.name for c in spec.columns]


def test_it_reads_xlsx_with_sheet_row_numbers(folder, write_xlsx):
    write_xlsx(
        "sales.xlsx",
        [
            ["customer_id", "date", "amount", "qty", "when"],
            ["00123", dt.date(2025, 1, 2), 0.1, 2, dt.datetime(2025, 1, 2, 0, 0)],
            [None, None, None, None, None],
            [123, "2025-01-03", 0.2, 3.0, dt.datetime(2025, 1, 3, 0, 0)],
        ],
    )
    ds = open_dataset(folder)
    sales = rows(ds, "sales")
    assert [(r["customer_id"], r["date"], r[ROW_COLUMN]) for r in sales] == [
        ("00123", dt.date(2025, 1, 2), 2),
        ("123", dt.date(2025, 1, 3), 4),
    ]
    assert ds.table("sales").amount.sum().to_pyarrow().as_py() == Decimal("0.3")
    assert str(ds.table("sales").schema()["qty"]) == "int64"
    assert str(ds.table("sales").schema()["when"]) == "date"


def test_it_reads_parquet_as_a_typed_view(folder, write_parquet):
    write_parquet(
        "sales.parquet",
        pa.table(
            {
                "customer_id": pa.array([1, 2], pa.int64()),  # keys become text
                "date": pa.array([dt.datetime(2025, 1, 1, 12), dt.datetime(2025, 2, 1)]),
                "amount": pa.array([Decimal("0.10"), Decimal("0.20")], pa.decimal128(10, 2)),
                "channel": ["web", "shop"],
            }
        ),
    )
    write_parquet(
        "payments.parquet",
        pa.table(
            {
                "customer_id": ["C1", "C1"],
                "date": ["2025-01-01", "2025-01-02"],  # text dates are checked and cast
                "amount": pa.array([0.1, 0.2], pa.float64()),
            }
        ),
    )
    ds = open_dataset(folder)
    sales = ds.table("sales")
    assert {n: str(t) for n, t in sales.schema().items()} == {
        "customer_id": "string",
        "date": "date",
        "amount": "decimal(18, 4)",
        "batch_id": "string",
        "channel": "string",
        ROW_COLUMN: "int64",
    }
    assert rows(ds, "sales")[0]["customer_id"] == "1"
    assert rows(ds, "sales")[0]["date"] == dt.date(2025, 1, 1)
    assert sales.amount.sum().to_pyarrow().as_py() == Decimal("0.3")
    assert ds.table("payments").amount.sum().to_pyarrow().as_py() == Decimal("0.3")
    assert [r[ROW_COLUMN] for r in rows(ds, "payments")] == [1, 2]
    assert ds.con.list_tables() == ["payments", "sales"]
