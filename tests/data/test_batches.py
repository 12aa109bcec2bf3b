"""Import batches at the data layer: `import_file` writes a checked, typed Parquet file or
nothing; `inspect_file` lists every problem of an upload at once (the same checks), with a
typed preview; headers may be Chinese labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from pingji.data.batches import BatchDataSet, batch_rows_sql, import_file
from pingji.data.problems import inspect_file
from pingji.errors import DataError

SALES_WITH_ERRORS = (
    "customer_id,date,amount,batch_id\n"
    "C1,2025-01-02,10.50,B1\n"  # line 2: good
    "C2,2025-01-03,abc,B2\n"  # line 3: amount not an amount
    "C3,2025-02-30,5,B3\n"  # line 4: no such date
    ",2025-01-05,1.23456,B4\n"  # line 5: customer missing, amount too precise
    "C5,6/1/2025,7,B5\n"  # line 6: day or month first, ambiguous
)


def problems(inspection) -> list[tuple]:
    return [(p.row, p.column, p.value, p.code) for p in inspection.problems]


class TestImportFile:
    def test_it_writes_typed_parquet_with_every_row(self, write_csv, tmp_path):
        path = write_csv(
            "upload.csv",
            "customer_id,date,amount\nC1,2025-01-02,10.50\nC2,2025-03-04,0.0001\n"
            "C1,2024-12-31,1200\n",
        )
        out = tmp_path / "batches" / "1.parquet"
        written = import_file(path, "sales", out)
        assert (written.rows, written.min_date, written.max_date) == (
            3,
            dt.date(2024, 12, 31),
            dt.date(2025, 3, 4),
        )
        con = duckdb.connect()
        schema = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()}
        assert schema == {
            "customer_id": "VARCHAR",
            "date": "DATE",
            "amount": "DECIMAL(18,4)",
            "batch_id": "VARCHAR",
        }
        total = con.execute(f"SELECT sum(amount), count(*) FROM '{out}'").fetchone()
        assert total == (Decimal("1210.5001"), 3)
        assert not out.with_name("1.parquet.partial").exists()

    def test_it_writes_nothing_for_a_bad_file(self, write_csv, tmp_path):
        path = write_csv("upload.csv", SALES_WITH_ERRORS)
        out = tmp_path / "1.parquet"
        with pytest.raises(DataError) as err:
            import_file(path, "sales", out, shown_as="销售.csv")
        assert str(err.value).startswith("销售.csv:3: column 'amount': not an amount")
        assert list(tmp_path.glob("*.parquet*")) == []

    def test_it_reads_chinese_headers_of_fact_tables(self, write_csv, tmp_path):
        path = write_csv("回款.csv", "客户编号,日期,金额\nC1,2025-05-01,99.90\n")
        out = tmp_path / "p.parquet"
        assert import_file(path, "payments", out).rows == 1
        row = duckdb.sql(f"SELECT * FROM '{out}'").fetchone()
        assert row == ("C1", dt.date(2025, 5, 1), Decimal("99.9000"))

    def test_a_later_batch_replaces_entities_of_the_same_key(self, write_csv, tmp_path):
        first = write_csv("a.csv", "customer_id,name\nC1,甲\nC2,乙\n")
        second = write_csv("b.csv", "customer_id,name\nC2,乙（新）\n")
        import_file(first, "customers", tmp_path / "1.parquet")
        import_file(second, "customers", tmp_path / "2.parquet")
        ds = BatchDataSet({"customers": [tmp_path / "1.parquet", tmp_path / "2.parquet"]})
        names = dict(ds.table("customers").select("customer_id", "name").execute().values)
        assert names == {"C1": "甲", "C2": "乙（新）"}


class TestBatchRows:
    """batch_rows_sql: the one place batch files are read as a table's rows."""

    @pytest.fixture
    def customers(self, tmp_path):
        import pyarrow.parquet as pq

        first, second = tmp_path / "1.parquet", tmp_path / "2.parquet"
        pq.write_table(pa.table({"customer_id": ["C1", "C2"], "name": ["甲", "乙"]}), first)
        # the later batch changes C2's name and brings C3
        pq.write_table(pa.table({"customer_id": ["C2", "C3"], "name": ["乙（新）", "丙"]}), second)
        return [first, second]

    @staticmethod
    def rows(sql: str) -> list[tuple]:
        return sorted(duckdb.sql(sql).fetchall())

    def test_a_later_batch_replaces_the_row_of_the_same_key(self, customers):
        sql = batch_rows_sql(
            customers, "customer_id", line_column="line", batch_column="batch", batch_ids=[7, 9]
        )
        assert self.rows(sql) == [
            ("C1", "甲", 7, 1),
            ("C2", "乙（新）", 9, 1),
            ("C3", "丙", 9, 2),
        ]
        assert self.rows(batch_rows_sql(customers, "customer_id")) == [
            ("C1", "甲"),
            ("C2", "乙（新）"),
            ("C3", "丙"),
        ]

    def test_one_entity_is_read_as_its_latest_row(self, customers):
        sql = batch_rows_sql(
            customers,
            "customer_id",
            where="customer_id = 'C2'",
            batch_column="batch",
            batch_ids=[7, 9],
        )
        assert self.rows(sql) == [("C2", "乙（新）", 9)]

    def test_without_a_key_every_row_of_every_batch_is_read(self, customers):
        sql = batch_rows_sql(
            customers, line_column="line", batch_column="batch", batch_ids=[7, None]
        )
        assert self.rows(sql) == [
            ("C1", "甲", 7, 1),
            ("C2", "乙", 7, 2),
            ("C2", "乙（新）", None, 1),
            ("C3", "丙", None, 2),
        ]

    def test_a_single_batch_is_read_as_it_is(self, customers):
        sql = batch_rows_sql(customers[1:], "customer_id", batch_column="batch", batch_ids=[9])
        assert self.rows(sql) == [("C2", "乙（新）", 9), ("C3", "丙", 9)]


class TestInspectFile:
    def test_it_lists_every_problem_in_line_order(self, write_csv):
        found = inspect_file(write_csv("sales.csv", SALES_WITH_ERRORS), "sales")
        assert problems(found) == [
            (3, "amount", "abc", "not_amount"),
            (4, "date", "2025-02-30", "not_date"),
            (5, "customer_id", None, "missing"),
            (5, "amount", "1.23456", "too_precise"),
            (6, "date", "6/1/2025", "date_order"),
        ]
        assert found.total == 5 and found.rows == 5 and not found.ok

    def test_its_first_problem_is_the_one_the_import_reports(self, write_csv, tmp_path):
        path = write_csv("sales.csv", SALES_WITH_ERRORS)
        first = inspect_file(path, "sales").problems[0]
        with pytest.raises(DataError) as err:
            import_file(path, "sales", tmp_path / "x.parquet")
        assert (err.value.row, err.value.column, err.value.value, err.value.message) == (
            first.row,
            first.column,
            first.value,
            first.message,
        )

    def test_it_counts_all_problems_and_lists_the_first_n(self, write_csv):
        lines = "".join(f"C{i},not-a-date,{i}\n" for i in range(300))
        found = inspect_file(
            write_csv("sales.csv", "customer_id,date,amount\n" + lines), "sales", limit=200
        )
        assert found.total == 300
        assert len(found.problems) == 200
        assert [p.row for p in found.problems[:3]] == [2, 3, 4]
        assert found.problems[-1].row == 201

    def test_it_reports_a_missing_required_column_and_still_checks_the_others(self, write_csv):
        found = inspect_file(write_csv("sales.csv", "customer_id,amount\nC1,1\nC2,x\n"), "sales")
        assert problems(found) == [
            (1, "date", None, "missing_column"),
            (3, "amount", "x", "not_amount"),
        ]
        assert found.missing == ["date"]
        assert found.absent == ["batch_id"]

    def test_it_lists_every_repeated_key_with_its_first_line(self, write_csv):
        found = inspect_file(
            write_csv("customers.csv", "customer_id,name\nC1,a\nC2,b\nC1,c\nC2,d\nC1,e\n"),
            "customers",
        )
        assert [(p.row, p.value, p.first) for p in found.problems] == [
            (4, "C1", 2),
            (5, "C2", 3),
            (6, "C1", 2),
        ]
        assert {p.code for p in found.problems} == {"duplicate"}

    def test_it_matches_chinese_headers_and_keeps_extra_columns(self, write_csv):
        found = inspect_file(
            write_csv("客户.csv", "客户编号,名称,区域,指定VIP,备注\nC1,甲公司,华东,是,x\n"),
            "customers",
        )
        assert found.ok
        assert found.columns == ["customer_id", "name", "region", "vip_designated", "备注"]
        assert found.extra == ["备注"]
        row = dict(zip(found.preview_columns, found.preview[0], strict=True))
        assert row["_row"] == 2
        assert row["vip_designated"] is True
        assert row["opening_balance"] == Decimal("0")  # the contract's default

    def test_it_shows_bad_cells_as_empty_in_the_preview(self, write_csv):
        found = inspect_file(write_csv("sales.csv", SALES_WITH_ERRORS), "sales", preview=2)
        assert found.preview_columns == ["_row", "customer_id", "date", "amount", "batch_id"]
        assert found.preview == [
            (2, "C1", dt.date(2025, 1, 2), Decimal("10.5"), "B1"),
            (3, "C2", dt.date(2025, 1, 3), None, "B2"),
        ]

    def test_it_reports_a_file_it_cannot_read(self, folder):
        path = folder / "sales.csv"
        path.write_bytes(b"customer_id,date,amount\nC1,2025-01-01,1\nC2,2025-01-01,1,9\n")
        found = inspect_file(path, "sales")
        assert found.rows is None and found.total == 1
        assert (found.problems[0].row, found.problems[0].code) == (3, "file")
        assert "expected 3 fields" in found.problems[0].message

    def test_it_reports_a_file_of_another_kind(self, folder):
        path = folder / "sales.txt"
        path.write_text("customer_id,date,amount\n")
        found = inspect_file(path, "sales")
        assert [p.code for p in found.problems] == ["file"]

    def test_a_file_without_rows_cannot_be_imported(self, write_csv):
        found = inspect_file(write_csv("sales.csv", "customer_id,date,amount\n"), "sales")
        assert found.rows == 0 and [p.code for p in found.problems] == ["empty"]
        assert not found.ok

    def test_it_names_spreadsheet_rows_in_a_workbook(self, write_xlsx):
        path = write_xlsx(
            "sales.xlsx",
            [
                ["客户编号", "日期", "金额"],
                ["C1", dt.date(2025, 1, 2), 10.5],
                ["C2", "2025-02-30", 3],
                [None, None, None],  # a blank row is layout, not a record
                ["C3", dt.date(2025, 3, 1), "x"],
            ],
        )
        found = inspect_file(path, "sales")
        assert found.unit == "row" and found.rows == 3
        assert problems(found) == [
            (3, "date", "2025-02-30", "not_date"),
            (5, "amount", "x", "not_amount"),
        ]
        assert (found.min_date, found.max_date) == (dt.date(2025, 1, 2), dt.date(2025, 3, 1))

    def test_it_checks_parquet_rows(self, write_parquet):
        path = write_parquet(
            "sales.parquet",
            pa.table(
                {
                    "customer_id": ["C1", None, "C3"],
                    "date": [dt.date(2025, 1, 1)] * 3,
                    "amount": ["1", "2.5", "zz"],
                }
            ),
        )
        found = inspect_file(path, "sales")
        assert problems(found) == [
            (2, "customer_id", None, "missing"),
            (3, "amount", "zz", "not_amount"),
        ]
