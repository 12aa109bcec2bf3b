"""Uploads built to break the import: NaN, infinity and huge amounts in a Parquet money column
are problems in the preview (row, column, value) and cannot be committed; a file wider than
the column limit and an XLSX zip bomb are refused with the file named."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pingji.web.imports.models import ImportBatch
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import csv_file, upload, upload_id, xlsx_file


def parquet_file(name: str, amounts: list[float]) -> SimpleUploadedFile:
    n = len(amounts)
    table = pa.table(
        {
            "customer_id": [f"C{i}" for i in range(1, n + 1)],
            "date": ["2025-03-01"] * n,
            "amount": pa.array(amounts, pa.float64()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def found(response) -> list[tuple]:
    return [(p["row"], p["column"], p["value"], p["code"]) for p in response.context["problems"]]


class HostileUploadTest(WebTestCase):
    def setUp(self):
        self.login(self.analyst)

    def preview(self, file, table: str = "sales"):
        r = upload(self.client, table, file)
        self.assertEqual(r.status_code, 302)
        uid = upload_id(r)
        return uid, self.client.get(reverse("imports:preview", args=[uid]))

    def test_nan_infinity_and_huge_amounts_are_listed_and_cannot_be_committed(self):
        uid, page = self.preview(
            parquet_file("金额.parquet", [1.5, float("nan"), float("inf"), 1e20, 2.0])
        )
        self.assertEqual(
            found(page),
            [
                (2, "amount", "nan", "not_amount"),
                (3, "amount", "inf", "not_amount"),
                (4, "amount", "1e+20", "amount_range"),
            ],
        )
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "文件有问题，不能导入")
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_finite_parquet_amounts_preview_and_commit(self):
        uid, page = self.preview(parquet_file("金额.parquet", [1.5, -2.25]))
        self.assertEqual(found(page), [])
        self.client.post(reverse("imports:commit", args=[uid]))
        self.assertEqual(ImportBatch.objects.get().rows, 2)

    def test_a_csv_wider_than_the_limit_is_one_problem_naming_the_width(self):
        header = ",".join(["customer_id", "date", "amount", *(f"x{i}" for i in range(2_000))])
        _uid, page = self.preview(csv_file("宽.csv", header + "\n"))
        problems = page.context["problems"]
        self.assertEqual(len(problems), 1)
        self.assertEqual((problems[0]["row"], problems[0]["code"]), (1, "file"))
        self.assertTrue(
            problems[0]["message"].startswith(
                "the file has 2,003 columns, more than the limit of 1,000"
            ),
            problems[0]["message"],
        )

    def test_a_zip_bomb_workbook_is_refused_naming_the_limit(self):
        # a real workbook whose sheet is 200,000 identical rows: packed over 100 times
        good = xlsx_file("x.xlsx", [["customer_id", "date", "amount"]]).read()
        row = b"<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>"
        buffer = io.BytesIO()
        with (
            zipfile.ZipFile(io.BytesIO(good)) as src,
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst,
        ):
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(b"</sheetData>", row * 200_000 + b"</sheetData>")
                dst.writestr(item.filename, data)
        _uid, page = self.preview(SimpleUploadedFile("炸弹.xlsx", buffer.getvalue()))
        problems = page.context["problems"]
        self.assertEqual(len(problems), 1)
        self.assertTrue(
            problems[0]["message"].startswith(
                "the workbook's part xl/worksheets/sheet1.xml unpacks "
            ),
            problems[0]["message"],
        )
        self.assertIn("more than the limit of 100 times", problems[0]["message"])
