"""The import preview of files as people's Excel and ERP exports are: a GBK file read, each
conversion shown (how, an example, how many rows), rows naming unknown entities flagged, and
what the preview shows is what the commit stores."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import commit_batch
from pingji.web.lib import workspace
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import csv_file, upload, xlsx_file

# An export saved by Excel on Chinese Windows (GBK), with Chinese headers.
ERP_SALES = (
    "客户编号,日期,金额\n"
    'C1,2026/1/6,"￥12,500"\n'
    "C2,2026年1月7日,12500.00\n"
    'C1,2026/1/8,"3,000.50"\n'
    "C9,2026/1/9,1\n"
)


def gbk_file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("gbk"), content_type="text/csv")


class PeopleFilesPreviewTest(WebTestCase):
    def preview(self, table, file, user=None):
        self.login(user or self.analyst)
        r = upload(self.client, table, file)
        self.assertEqual(r.status_code, 302)
        return self.client.get(r["Location"])

    def customers_batch(self, text="customer_id,name\nC1,甲公司\nC2,乙公司\n"):
        path = self.home / "earlier" / "customers.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return commit_batch(path, "customers", self.analyst)

    def test_a_gbk_file_is_read_and_each_conversion_is_shown(self):
        self.customers_batch()
        r = self.preview("sales", gbk_file("三月发货.csv", ERP_SALES))
        report = r.context["report"]
        self.assertTrue(r.context["can_commit"])
        self.assertEqual(report["encoding"], "GB18030")
        self.assertContains(r, "文件编码 GB18030，已转换为 UTF-8 读取")
        shown = [
            (c["column_label"], c["label"], c["example"], c["converted"], c["row"], c["rows"])
            for c in r.context["conversions"]
        ]
        self.assertEqual(
            shown,
            [
                ("日期", "中文日期 年月日", "2026年1月7日", "2026-01-07", 3, 1),
                ("日期", "日期写作 年/月/日", "2026/1/6", "2026-01-06", 2, 3),
                ("金额", "去掉货币符号和千位分隔符", "￥12,500", "12500.00", 2, 1),
                ("金额", "去掉千位分隔符", "3,000.50", "3000.50", 4, 1),
            ],
        )
        self.assertContains(r, "<code>2026/1/6</code> → 2026-01-06", html=False)
        self.assertEqual(
            report["preview"],
            [
                ["2", "C1", "2026-01-06", "12,500.00", ""],
                ["3", "C2", "2026-01-07", "12,500.00", ""],
                ["4", "C1", "2026-01-08", "3,000.50", ""],
                ["5", "C9", "2026-01-09", "1.00", ""],
            ],
        )

    def test_rows_naming_unknown_customers_are_flagged_but_do_not_block(self):
        self.customers_batch()
        r = self.preview("sales", gbk_file("sales.csv", ERP_SALES))
        unknown = r.context["unknown"]
        self.assertEqual(
            (unknown["rows"], unknown["keys"], unknown["listed"], unknown["entity_label"]),
            (1, 1, [[5, "C9"]], "客户（customers）"),
        )
        self.assertContains(r, "1 行的编号不在客户（customers）表中（1 个编号）")
        self.assertTrue(r.context["can_commit"])

    def test_a_withdrawn_customers_batch_is_not_known(self):
        batch = self.customers_batch()
        batch.status = ImportBatch.Status.WITHDRAWN
        batch.save()
        r = self.preview("sales", gbk_file("sales.csv", ERP_SALES))
        self.assertIsNone(r.context["unknown"])
        self.assertContains(r, "尚未导入客户（customers）表，未检查编号是否存在。")

    def test_every_key_known_says_so(self):
        self.customers_batch("customer_id\nC1\nC2\nC9\n")
        r = self.preview("sales", gbk_file("sales.csv", ERP_SALES))
        self.assertEqual(r.context["unknown"]["rows"], 0)
        self.assertContains(r, "每行的编号都在客户（customers）表中。")

    def test_an_entity_file_is_not_checked_against_anything(self):
        r = self.preview("customers", csv_file("customers.csv", "客户编号,名称\nC1,甲\n"))
        self.assertIsNone(r.context["unknown"])
        self.assertEqual(r.context["unchecked_entity"], "")
        self.assertNotContains(r, 'id="unknown-entities"')

    def test_an_ambiguous_date_is_refused_and_shown_empty(self):
        text = "客户编号,日期,金额\nC1,1/6/2026,1\nC2,2026/1/7,2\n"
        r = self.preview("sales", csv_file("sales.csv", text))
        problems = [(p["row"], p["why"]) for p in r.context["problems"]]
        self.assertEqual(problems, [(2, "日期顺序不明确：年份应在前")])
        expected = r.context["problems"][0]["expected_text"]
        self.assertTrue(expected.startswith("年份在前，如 2026-01-06、2026/1/6 或 2026年1月6日"))
        self.assertEqual(
            r.context["report"]["preview"],
            [["2", "C1", "", "1.00", ""], ["3", "C2", "2026-01-07", "2.00", ""]],
        )
        # the range is of the dates that will be stored
        report = r.context["report"]
        self.assertEqual((report["min_date"], report["max_date"]), ("2026-01-07", "2026-01-07"))

    def test_an_excel_serial_date_is_shown_as_the_number_the_cell_held(self):
        rows = [["客户编号", "日期", "金额"], ["C1", 45658, 10], ["C2", 45659, 20]]
        r = self.preview("sales", xlsx_file("sales.xlsx", rows))
        shown = [
            (c["label"], c["example"], c["converted"], c["rows"]) for c in r.context["conversions"]
        ]
        self.assertEqual(shown, [("Excel 日期序号", "45658", "2025-01-01", 2)])

    def test_a_file_in_another_encoding_is_refused_in_chinese(self):
        latin = "customer_id,name\nCafé Müller,x\nSeñor,y\n".encode("cp1252")
        r = self.preview("customers", SimpleUploadedFile("customers.csv", latin))
        self.assertEqual(
            [(p["row"], p["why"]) for p in r.context["problems"]],
            [(2, "文件既不是 UTF-8 也不是 GBK/GB18030 编码：请另存为“CSV UTF-8（逗号分隔）”")],
        )

    def test_the_commit_stores_what_the_preview_showed(self):
        r = self.preview("sales", gbk_file("sales.csv", ERP_SALES))
        self.assertTrue(r.context["can_commit"])
        uid = r.context["upload"].id
        self.client.post(reverse("imports:commit", args=[uid]))
        batch = ImportBatch.objects.get()
        stored = duckdb.sql(
            f"SELECT customer_id, date, amount FROM '{workspace.absolute(batch.path)}' "
            "ORDER BY date"
        ).fetchall()
        self.assertEqual(
            [(k, d, str(a)) for k, d, a in stored],
            [
                ("C1", dt.date(2026, 1, 6), "12500.0000"),
                ("C2", dt.date(2026, 1, 7), "12500.0000"),
                ("C1", dt.date(2026, 1, 8), "3000.5000"),
                ("C9", dt.date(2026, 1, 9), "1.0000"),
            ],
        )
        self.assertEqual(
            (batch.min_date, batch.max_date), (dt.date(2026, 1, 6), dt.date(2026, 1, 9))
        )

    def test_it_speaks_english_when_asked(self):
        from django.conf import settings

        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        r = self.preview("sales", gbk_file("sales.csv", ERP_SALES))
        labels = [c["label"] for c in r.context["conversions"]]
        self.assertEqual(
            labels,
            [
                "a date written 年月日",
                "a date written year/month/day",
                "currency sign and thousands separators removed",
                "thousands separators removed",
            ],
        )
        self.assertContains(r, "Converted forms")
