"""Files as people's Excel and ERP exports are: GBK text, dates and amounts written the ways
Chinese spreadsheets write them, read when unambiguous and refused with a clear message when
not — the same way by a data folder (the CLI) and by an upload's inspection (the web)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import openpyxl.utils.datetime
import pytest

from pingji.data import DataSet, open_dataset
from pingji.data import encoding as encoding_module
from pingji.data.batches import import_file
from pingji.data.contract import ROW_COLUMN
from pingji.data.encoding import utf8_file
from pingji.data.problems import ConvertedCells, UnknownKeys, inspect_file
from pingji.errors import DataError


def rows(ds: DataSet, name: str) -> list[dict]:
    return ds.table(name).order_by(ROW_COLUMN).to_pyarrow().to_pylist()


def load_error(folder, table: str) -> str:
    with pytest.raises(DataError) as err:
        open_dataset(folder).table(table)
    return str(err.value)


# An ERP export saved by Excel on Chinese Windows: GBK, every date and amount form accepted.
GBK_SALES = (
    "customer_id,date,amount,客户名称\n"
    'C001,2026/1/6,"￥12,500",上海华东贸易有限公司\n'
    'C002,2026年1月7日,"12,500.00",北京燕山机械厂\n'
    "C003,2026-01-08,￥1 000,广州南方电子\n"
    "C004,20260109,３，２００．５０,深圳前海物流\n"
    "C005,2026.1.10,-300元,成都天府商贸\n"
    "C006,2026-1-11 14:30:00,-￥0.5,重庆山城实业\n"
)

EXPECTED_SALES = [
    ("C001", dt.date(2026, 1, 6), Decimal("12500"), "上海华东贸易有限公司"),
    ("C002", dt.date(2026, 1, 7), Decimal("12500"), "北京燕山机械厂"),
    ("C003", dt.date(2026, 1, 8), Decimal("1000"), "广州南方电子"),
    ("C004", dt.date(2026, 1, 9), Decimal("3200.5"), "深圳前海物流"),
    ("C005", dt.date(2026, 1, 10), Decimal("-300"), "成都天府商贸"),
    ("C006", dt.date(2026, 1, 11), Decimal("-0.5"), "重庆山城实业"),
]


def sales_of(ds: DataSet) -> list[tuple]:
    return [(r["customer_id"], r["date"], r["amount"], r["客户名称"]) for r in rows(ds, "sales")]


class TestEncodings:
    def test_a_gbk_csv_is_read_with_its_chinese_text(self, folder):
        (folder / "sales.csv").write_bytes(GBK_SALES.encode("gbk"))
        ds = open_dataset(folder)
        assert sales_of(ds) == EXPECTED_SALES
        assert ds.encodings == {"sales": "GB18030"}
        assert [r[ROW_COLUMN] for r in rows(ds, "sales")] == [2, 3, 4, 5, 6, 7]

    def test_a_gb18030_only_character_survives(self, folder):
        text = "customer_id,name\nC1,𠀀记商行\nC2,华东\n"
        (folder / "customers.csv").write_bytes(text.encode("gb18030"))
        names = [r["name"] for r in rows(open_dataset(folder), "customers")]
        assert names == ["𠀀记商行", "华东"]

    def test_utf8_with_and_without_a_bom_is_read_as_it_is(self, folder, write_csv):
        write_csv("customers.csv", "customer_id,name\nC1,华东\n", bom=True)
        ds = open_dataset(folder)
        assert [r["name"] for r in rows(ds, "customers")] == ["华东"]
        assert ds.encodings == {}
        plain = utf8_file(write_csv("x.csv", "a\n甲\n", bom=False), "x.csv")
        assert (plain.converted_from, plain.path.name) == (None, "x.csv")

    def test_utf16_with_a_bom_is_converted(self, folder):
        (folder / "customers.csv").write_bytes("customer_id,name\r\nC1,华东\r\n".encode("utf-16"))
        ds = open_dataset(folder)
        assert [(r["customer_id"], r["name"]) for r in rows(ds, "customers")] == [("C1", "华东")]
        assert ds.encodings == {"customers": "UTF-16"}

    def test_a_large_gbk_file_is_converted_in_chunks_with_its_line_numbers(self, folder):
        # 3 MB of GBK: multi-byte characters straddle the 1 MB chunks of the conversion
        line = 'C{:06d},2026/1/6,"1,000.00",上海华东贸易有限公司第{:06d}号仓库\n'
        body = "".join(line.format(i, i) for i in range(60_000))
        (folder / "sales.csv").write_bytes(("customer_id,date,amount,名称\n" + body).encode("gbk"))
        ds = open_dataset(folder)
        table = ds.table("sales")
        assert table.count().execute() == 60_000
        assert table.amount.sum().to_pyarrow().as_py() == Decimal("60000000")
        last = table.filter(table.customer_id == "C059999").to_pyarrow().to_pylist()[0]
        assert (last["名称"], last[ROW_COLUMN]) == ("上海华东贸易有限公司第059999号仓库", 60_001)

    def test_the_conversion_holds_a_chunk_in_memory_not_the_file(self, folder):
        import tracemalloc

        line = "C000001,2026-01-06,1.00,上海华东贸易有限公司第一号仓库\n".encode("gbk")
        path = folder / "sales.csv"
        with path.open("wb") as f:
            f.write(b"customer_id,date,amount,name\n")
            for _ in range(16):
                f.write(line * (1_048_576 // len(line)))  # 16 MB in all
        tracemalloc.start()
        try:
            converted = utf8_file(path, "sales.csv")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        converted.remove()
        assert converted.converted_from == "GB18030"
        assert peak < 8 * 1_048_576  # a 1 MB chunk, its text and its UTF-8; not 16 MB

    def test_a_byte_gb18030_cannot_read_is_named_by_its_line(self, folder, monkeypatch):
        # the sample judged is the first 4 KB; the broken line comes after it
        monkeypatch.setattr(encoding_module, "SAMPLE_BYTES", 4096)
        good = "".join(f"C{i},上海华东贸易有限公司\n" for i in range(400))
        data = ("customer_id,name\n" + good).encode("gbk") + b"C400,\xff\xfe\n"
        (folder / "customers.csv").write_bytes(data)
        assert load_error(folder, "customers") == (
            f"{folder / 'customers.csv'}:402: the file is not UTF-8 or GBK/GB18030 text: "
            "save it as CSV UTF-8"
        )

    def test_the_converted_copy_is_removed(self, folder, tmp_path, monkeypatch):
        monkeypatch.setattr(encoding_module.tempfile, "tempdir", str(tmp_path))
        (folder / "sales.csv").write_bytes(GBK_SALES.encode("gbk"))
        assert len(rows(open_dataset(folder), "sales")) == 6
        assert list(tmp_path.glob("pingji-utf8-*")) == []

    def test_a_utf8_bom_followed_by_gbk_is_refused(self, folder):
        (folder / "customers.csv").write_bytes(
            b"\xef\xbb\xbf" + "customer_id,name\nC1,华东\n".encode("gbk")
        )
        assert load_error(folder, "customers").startswith(
            f"{folder / 'customers.csv'}:2: the file mixes UTF-8 with another encoding"
        )


class TestCellForms:
    def test_booleans_in_chinese_spreadsheet_words(self, folder, write_csv):
        words = ["是", "否", "Y", "N", "对", "错", "√", "×", "TRUE", "0", "真", "假"]
        body = "".join(f"C{i},{w}\n" for i, w in enumerate(words))
        write_csv("customers.csv", "customer_id,vip_designated\n" + body)
        found = [r["vip_designated"] for r in rows(open_dataset(folder), "customers")]
        assert found == [True, False] * 6

    def test_whole_numbers_with_thousands_separators(self, folder, write_csv):
        write_csv(
            "events.csv",
            'entity_id,date,type,count\nC1,2026/1/6,late,"1,200"\nC1,2026/1/7,late,３\n',
        )
        assert [r["count"] for r in rows(open_dataset(folder), "events")] == [1200, 3]

    @pytest.mark.parametrize(
        ("cell", "message"),
        [
            ("1/6/2026", "ambiguous date: the year must come first"),
            ("2026/13/1", "not a valid date"),
            ("2026年2月30日", "not a valid date"),
            ("45658", "a number, not a date"),
            ("明天", "not a valid date"),
        ],
    )
    def test_refused_dates_name_file_line_column_and_format(self, folder, write_csv, cell, message):
        write_csv("sales.csv", f"customer_id,date,amount\nC1,2026-01-05,1\nC2,{cell},1\n")
        assert load_error(folder, "sales").startswith(
            f"{folder / 'sales.csv'}:3: column 'date': {message} (got '{cell}', expected "
        )

    @pytest.mark.parametrize(
        ("cell", "message"),
        [
            ("1,2,3", "thousands separators in the wrong places"),
            ("12,500 000", "thousands separators in the wrong places"),
            ("1.234.567", "not an amount"),
            ("$12", "not an amount"),
            ("¥¥12", "not an amount"),
            ("(12.00)", "not an amount"),
        ],
    )
    def test_refused_amounts(self, folder, write_csv, cell, message):
        write_csv("payments.csv", f'customer_id,date,amount\nC1,2026-01-05,"{cell}"\n')
        assert load_error(folder, "payments").startswith(
            f"{folder / 'payments.csv'}:2: column 'amount': {message} (got '{cell}'"
        )


def write_workbook(path, rows_, epoch=None) -> None:
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    for r, row in enumerate(rows_, start=1):
        for c, value in enumerate(row, start=1):
            sheet.cell(r, c, value)
    workbook.save(path)


class TestExcelSerialDates:
    def test_a_number_cell_in_a_date_column_is_an_excel_serial_date(self, folder):
        write_workbook(
            folder / "sales.xlsx",
            [
                ["customer_id", "date", "amount"],
                ["C1", 45658, 45658],  # 2025-01-01; the amount stays a number
                ["C2", 45658.75, 1],  # the time of day is dropped
                ["C3", dt.date(2025, 1, 3), 1],  # a date cell, as before
                ["C4", "2025/1/4", 1],  # text, year first
            ],
        )
        found = [(r["date"], r["amount"]) for r in rows(open_dataset(folder), "sales")]
        assert found == [
            (dt.date(2025, 1, 1), Decimal("45658")),
            (dt.date(2025, 1, 1), Decimal("1")),
            (dt.date(2025, 1, 3), Decimal("1")),
            (dt.date(2025, 1, 4), Decimal("1")),
        ]

    def test_a_1904_workbook_counts_from_1904(self, folder):
        write_workbook(
            folder / "sales.xlsx",
            [["customer_id", "date", "amount"], ["C1", 44196, 1]],
            epoch=openpyxl.utils.datetime.CALENDAR_MAC_1904,
        )
        assert rows(open_dataset(folder), "sales")[0]["date"] == dt.date(2025, 1, 1)

    def test_a_text_cell_holding_a_number_is_not_a_date(self, folder):
        write_workbook(
            folder / "sales.xlsx", [["customer_id", "date", "amount"], ["C1", "45658", 1]]
        )
        assert load_error(folder, "sales").startswith(
            f"{folder / 'sales.xlsx'}:2: column 'date': a number, not a date (got '45658'"
        )

    def test_serials_before_march_1900_are_refused(self, folder):
        # Excel's serial 60 is 29 February 1900, a day that never was
        write_workbook(folder / "sales.xlsx", [["customer_id", "date", "amount"], ["C1", 60, 1]])
        assert load_error(folder, "sales").startswith(
            f"{folder / 'sales.xlsx'}:2: column 'date': not a valid date (got 'Excel:60'"
        )


class TestInspection:
    def test_it_shows_each_conversion_with_its_count_and_first_example(self, write_csv):
        path = write_csv(
            "sales.csv",
            "customer_id,date,amount\n"
            'C1,2026/1/6,"¥12,500"\n'
            'C2,2026/1/7,"12,500.00"\n'
            "C3,2026年1月8日,100\n"
            "C4,2026-01-09,￥3\n"
            "C5,2026/1/10,１０\n",
        )
        found = inspect_file(path, "sales")
        assert found.ok
        assert found.conversions == [
            ConvertedCells("date", "date_chinese", 1, "2026年1月8日", dt.date(2026, 1, 8), 4),
            ConvertedCells("date", "date_ymd", 3, "2026/1/6", dt.date(2026, 1, 6), 2),
            ConvertedCells("amount", "currency", 2, "¥12,500", Decimal("12500.0000"), 2),
            ConvertedCells("amount", "grouped", 1, "12,500.00", Decimal("12500.0000"), 3),
            ConvertedCells("amount", "fullwidth", 1, "１０", Decimal("10.0000"), 6),
        ]
        assert [r[1:] for r in found.preview] == [
            ("C1", dt.date(2026, 1, 6), Decimal("12500.0000"), None),
            ("C2", dt.date(2026, 1, 7), Decimal("12500.0000"), None),
            ("C3", dt.date(2026, 1, 8), Decimal("100.0000"), None),
            ("C4", dt.date(2026, 1, 9), Decimal("3.0000"), None),
            ("C5", dt.date(2026, 1, 10), Decimal("10.0000"), None),
        ]
        assert (found.min_date, found.max_date) == (dt.date(2026, 1, 6), dt.date(2026, 1, 10))

    def test_the_preview_never_shows_a_value_it_refuses(self, write_csv):
        path = write_csv(
            "events.csv",
            "entity_id,date,type,count\n"
            "C1,2026/1/6,late,3.5\n"  # DuckDB's TRY_CAST would make this 4
            "C1,1/6/2026,late,2\n"  # ambiguous: not 2026-01-06 nor 2026-06-01
            'C1,2026/1/8,late,"1,2"\n',
        )
        found = inspect_file(path, "events")
        assert [(p.row, p.column, p.code) for p in found.problems] == [
            (2, "count", "not_integer"),
            (3, "date", "date_order"),
            (4, "count", "bad_grouping"),
        ]
        preview = [(r[2], r[4]) for r in found.preview]  # date, count
        assert preview == [(dt.date(2026, 1, 6), None), (None, 2), (dt.date(2026, 1, 8), None)]
        # the refused date is not in the range either
        assert (found.min_date, found.max_date) == (dt.date(2026, 1, 6), dt.date(2026, 1, 8))
        assert found.conversions == [
            ConvertedCells("date", "date_ymd", 2, "2026/1/6", dt.date(2026, 1, 6), 2)
        ]

    def test_what_the_preview_shows_is_what_the_import_stores(self, folder, tmp_path):
        path = folder / "sales.csv"
        path.write_bytes(GBK_SALES.encode("gbk"))
        found = inspect_file(path, "sales")
        assert found.ok and found.encoding == "GB18030"
        written = import_file(path, "sales", tmp_path / "b.parquet")
        assert written.rows == 6
        import duckdb

        stored = duckdb.sql(
            f"SELECT customer_id, date, amount, 客户名称 FROM '{tmp_path / 'b.parquet'}'"
        ).fetchall()
        preview = [(r[1], r[2], r[3], r[5]) for r in found.preview]
        assert (
            stored
            == preview
            == [(k, d, a.quantize(Decimal("0.0001")), n) for k, d, a, n in EXPECTED_SALES]
        )

    def test_rows_naming_unknown_entities_are_flagged(self, folder, tmp_path, write_csv):
        customers = write_csv("customers.csv", "customer_id,name\nC1,甲\nC2,乙\n")
        batch = import_file(customers, "customers", tmp_path / "customers-1.parquet")
        assert batch.rows == 2
        sales = write_csv(
            "sales.csv",
            "customer_id,date,amount\n"
            "C1,2026-01-06,1\n"
            "C9,2026-01-06,1\n"
            "C2,2026-01-07,1\n"
            "C9,2026-01-08,1\n"
            "C8,2026-01-08,1\n",
        )
        found = inspect_file(sales, "sales", entities=[tmp_path / "customers-1.parquet"])
        assert found.ok  # a warning, not a problem: an evaluation skips such rows
        assert found.unknown == UnknownKeys(
            "customers", "customer_id", 3, 2, [(3, "C9"), (5, "C9"), (6, "C8")]
        )
        assert inspect_file(sales, "sales").unknown is None  # no entity table to compare with
