"""People's files on Spark: the forms, encodings and Excel serial dates the folder data set
reads (tests/data/test_people_files.py) give the same typed rows when Spark reads the folder,
and a form it refuses gets the same error. Marked `spark`: run with -m spark -p no:xdist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.data.test_people_files import EXPECTED_SALES, GBK_SALES, write_workbook
from tests.engine.test_spark import on_spark, spark  # noqa: F401  (the module's Spark session)

from pingji.data import open_dataset
from pingji.data.contract import ROW_COLUMN
from pingji.errors import DataError

pytestmark = pytest.mark.spark


def typed(ds, table: str):
    return ds.table(table).order_by(ROW_COLUMN).to_pyarrow()


def same_rows(folder, table: str, *datasets) -> list[dict]:
    """Return the rows of `table` read by DuckDB, after checking Spark reads the same (with
    `datasets`: that folder and Spark data set)."""
    duck_ds, spark_ds = datasets or (open_dataset(folder), on_spark(folder))
    duck, on_spark_ = typed(duck_ds, table), typed(spark_ds, table)
    assert on_spark_.column_names == duck.column_names
    assert on_spark_.schema.types == duck.schema.types
    assert on_spark_.to_pylist() == duck.to_pylist()
    return duck.to_pylist()


def test_a_gbk_erp_export_with_every_form_reads_as_on_duckdb(folder, spark):  # noqa: F811
    (folder / "sales.csv").write_bytes(GBK_SALES.encode("gbk"))
    duck_ds, spark_ds = open_dataset(folder), on_spark(folder)
    found = same_rows(folder, "sales", duck_ds, spark_ds)
    assert [(r["customer_id"], r["date"], r["amount"], r["客户名称"]) for r in found] == (
        EXPECTED_SALES
    )
    assert [r[ROW_COLUMN] for r in found] == [2, 3, 4, 5, 6, 7]
    assert spark_ds.encodings == {"sales": "GB18030"} == duck_ds.encodings


def test_yes_no_words_amounts_and_dates_of_a_customer_file_read_as_on_duckdb(folder, spark):  # noqa: F811
    (folder / "customers.csv").write_text(
        "customer_id,name,created_on,vip_designated,opening_balance,net_assets\n"
        'C001,甲,2024/2/5,是,"12,500.00",¥12500\n'
        'C002,乙,2024年3月6日,否,"¥12,500.5",１２３\n'
        "C003,丙,20240407,√,12 500,\n"
        "C004,丁,2024-04-08 10:30,×,-¥1.5,3 元\n"
        "C005,戊,2024.4.9,,,\n",
        encoding="utf-8",
    )
    found = same_rows(folder, "customers")
    assert [
        (r["customer_id"], r["created_on"], r["vip_designated"], r["opening_balance"])
        for r in found
    ] == [
        ("C001", dt.date(2024, 2, 5), True, Decimal("12500")),
        ("C002", dt.date(2024, 3, 6), False, Decimal("12500.5")),
        ("C003", dt.date(2024, 4, 7), True, Decimal("12500")),
        ("C004", dt.date(2024, 4, 8), False, Decimal("-1.5")),
        ("C005", dt.date(2024, 4, 9), False, Decimal("0")),  # the contract's defaults
    ]
    assert [r["net_assets"] for r in found] == [
        Decimal("12500"),
        Decimal("123"),
        None,
        Decimal("3"),
        None,
    ]


def test_a_whole_number_and_a_number_with_separators_read_as_on_duckdb(folder, spark):  # noqa: F811
    (folder / "events.csv").write_text(
        'entity_id,date,type,count\nC1,2025/1/5,visit,"1,000"\nC2,2025-01-06,visit,３.0\n',
        encoding="utf-8",
    )
    (folder / "ratings.csv").write_text(
        'entity_id,period,indicator,score\nC1,2025,a,"1,234.5"\nC2,2025,a,８５\n',
        encoding="utf-8",
    )
    assert [(r["date"], r["count"]) for r in same_rows(folder, "events")] == [
        (dt.date(2025, 1, 5), 1000),
        (dt.date(2025, 1, 6), 3),
    ]
    assert [r["score"] for r in same_rows(folder, "ratings")] == [1234.5, 85.0]


def test_a_utf16_csv_reads_as_on_duckdb(folder, spark):  # noqa: F811
    (folder / "customers.csv").write_bytes(
        'customer_id,name\r\nC1,华东\r\nC2,"上\n海"\r\nC3,华南\r\n'.encode("utf-16")
    )
    duck_ds, spark_ds = open_dataset(folder), on_spark(folder)
    found = same_rows(folder, "customers", duck_ds, spark_ds)
    assert [(r["customer_id"], r["name"], r[ROW_COLUMN]) for r in found] == [
        ("C1", "华东", 2),
        ("C2", "上\n海", 3),
        ("C3", "华南", 5),
    ]
    assert spark_ds.encodings == {"customers": "UTF-16"} == duck_ds.encodings


def test_excel_serial_dates_of_a_workbook_read_as_on_duckdb(folder, spark):  # noqa: F811
    write_workbook(
        folder / "sales.xlsx",
        [
            ["customer_id", "date", "amount"],
            ["C1", 45658, 45658],  # 2025-01-01; the amount stays a number
            ["C2", 45658.75, "¥1,000"],  # the time of day is dropped
            ["C3", dt.date(2025, 1, 3), 1],  # a date cell
            ["C4", "2025年1月4日", 1],  # text, year first
        ],
    )
    assert [(r["date"], r["amount"]) for r in same_rows(folder, "sales")] == [
        (dt.date(2025, 1, 1), Decimal("45658")),
        (dt.date(2025, 1, 1), Decimal("1000")),
        (dt.date(2025, 1, 3), Decimal("1")),
        (dt.date(2025, 1, 4), Decimal("1")),
    ]


@pytest.mark.parametrize(
    "cells, says",
    [
        ("1/6/2026,1", "column 'date': ambiguous date: the year must come first"),
        ("2026-13-01,1", "column 'date': not a valid date"),
        ('2026-01-06,"12,50.00"', "column 'amount': thousands separators in the wrong places"),
        ("2026-01-06,¥¥5", "column 'amount': not an amount"),
        ("45658,1", "column 'date': a number, not a date"),
    ],
)
def test_a_form_duckdb_refuses_is_refused_with_the_same_error(folder, spark, cells, says):  # noqa: F811
    (folder / "sales.csv").write_text(
        f"customer_id,date,amount\nC1,2026-01-05,1\nC2,{cells}\n", encoding="utf-8"
    )
    errors = []
    for ds in (open_dataset(folder), on_spark(folder)):
        with pytest.raises(DataError) as err:
            ds.table("sales")
        errors.append((err.value.render("en"), err.value.render("zh")))
    assert errors[0] == errors[1]
    assert errors[0][0].startswith(f"{folder / 'sales.csv'}:3: {says}")
