"""Exports of a run's results: Excel (formatted, Chinese headers, grade colours) and CSV
(UTF-8 with BOM), both of the rows the page's filters select, in the page's order."""

import csv
import io
from unittest import mock

from django.urls import reverse
from openpyxl import load_workbook
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import exports
from pingji.web.runs.models import Run


class ExportTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def setUp(self):
        self.login(self.viewer)  # viewers may export

    def get(self, fmt: str, query: str = ""):
        response = self.client.get(reverse("runs:export", args=[self.done.pk, fmt]) + query)
        self.assertEqual(response.status_code, 200)
        return response

    def workbook(self, query: str = ""):
        response = self.get("xlsx", query)
        self.assertEqual(
            response["Content-Type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        self.assertIn(".xlsx", response["Content-Disposition"])
        return load_workbook(io.BytesIO(b"".join(response.streaming_content)))

    def csv_rows(self, query: str = "") -> tuple[bytes, list[list[str]]]:
        response = self.get("csv", query)
        self.assertTrue(response["Content-Type"].startswith("text/csv"))
        self.assertIn("attachment;", response["Content-Disposition"])
        data = b"".join(response.streaming_content)
        return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))

    def test_it_exports_excel_with_chinese_headers_and_every_row(self):
        wb = self.workbook()
        self.assertEqual(wb.sheetnames, ["评价结果", "说明"])
        ws = wb["评价结果"]
        header = [c.value for c in ws[1]]
        for name in (
            "编号",
            "名称",
            "得分",
            "等级",
            "等级名称",
            "类别",
            "状态",
            "措施",
            "主要失分原因",
        ):
            self.assertIn(name, header)
        self.assertIn("销售额 得分率", header)  # 0–100: points ÷ max
        self.assertEqual(ws.max_row, 1 + 8)
        col = {name: i for i, name in enumerate(header)}
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
        self.assertEqual(
            [r[col["编号"]] for r in rows], ["K01", "K02", "K03", "K04", "K05", "K08", "K06", "K07"]
        )
        k01, k06 = rows[0], rows[6]
        self.assertEqual(
            (k01[col["名称"]], k01[col["得分"]], k01[col["等级"]]), ("华东机电有限公司", 100, "A")
        )
        self.assertEqual((k01[col["等级名称"]], k01[col["类别"]]), ("优秀", "大客户"))
        self.assertEqual((k06[col["状态"]], k06[col["措施"]]), ("重点关注", "电话回访"))
        self.assertEqual(k06[col["主要失分原因"]], "销售额失分")

    def test_it_formats_the_excel_sheet(self):
        ws = self.workbook()["评价结果"]
        self.assertEqual(ws.freeze_panes, "B2")
        self.assertTrue(all(c.font.b for c in ws[1]))
        header = [c.value for c in ws[1]]
        grade = ws.cell(row=2, column=header.index("等级") + 1)
        self.assertEqual(grade.fill.fgColor.rgb, "FF1A9850")  # A's colour in the scheme
        c_grade = ws.cell(row=9, column=header.index("等级") + 1)
        self.assertEqual((c_grade.value, c_grade.fill.fgColor.rgb), ("C", "FFD73027"))
        # the scheme has no `display:`: one decimal
        self.assertEqual(ws.cell(row=2, column=header.index("得分") + 1).number_format, "#,##0.0")
        self.assertGreaterEqual(ws.column_dimensions["B"].width, 28)

    def test_it_describes_the_export_on_a_second_sheet(self):
        info = dict(
            (r[0], r[1])
            for r in self.workbook("?grade=C").worksheets[1].iter_rows(values_only=True)
        )
        self.assertEqual(info["评价运行"], f"#{self.done.pk}")
        self.assertEqual((info["期间"], info["筛选条件"], info["行数"]), ("2025", "等级=C", 3))
        self.assertEqual(info["导出人"], "viewer")

    def test_it_exports_the_filtered_rows_in_the_pages_order(self):
        ws = self.workbook("?grade=C&sort=score")["评价结果"]
        self.assertEqual(
            [r[0] for r in ws.iter_rows(min_row=2, values_only=True)], ["K07", "K06", "K08"]
        )

    def test_it_exports_csv_with_a_bom_and_chinese_headers(self):
        data, rows = self.csv_rows()
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"))
        self.assertEqual(rows[0][:4], ["编号", "名称", "期间", "得分"])
        self.assertEqual(len(rows), 1 + 8)
        self.assertEqual(rows[1][:4], ["K01", "华东机电有限公司", "2025", "100.0"])

    def test_it_exports_csv_of_a_search(self):
        _data, rows = self.csv_rows("?q=南方")
        self.assertEqual([r[0] for r in rows[1:]], ["K02"])

    def test_it_refuses_excel_beyond_the_sheets_rows(self):
        with mock.patch.object(exports, "EXCEL_MAX_ROWS", 5):
            response = self.client.get(
                reverse("runs:export", args=[self.done.pk, "xlsx"]), follow=True
            )
        self.assertRedirects(response, reverse("runs:detail", args=[self.done.pk]))
        self.assertContains(response, "筛选后共 8 行，超过 Excel 单个工作表的上限 5 行")
        with mock.patch.object(exports, "EXCEL_MAX_ROWS", 5):
            self.get("xlsx", "?grade=C")  # 3 rows fit

    def test_it_has_no_export_of_an_unknown_format_or_an_unfinished_run(self):
        self.assertEqual(
            self.client.get(reverse("runs:export", args=[self.done.pk, "pdf"])).status_code, 404
        )
        queued = Run.objects.create(scheme_version=self.version, period="2025")
        self.assertEqual(
            self.client.get(reverse("runs:export", args=[queued.pk, "csv"])).status_code, 404
        )
