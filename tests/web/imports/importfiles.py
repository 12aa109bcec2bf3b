"""Hand-made files for the import tests, and a helper to upload one through the page."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

# Three good sales rows: C1 has 100.50 + 250.00, C2 has 49.99; dates 2025-01-05 … 2025-03-20.
GOOD_SALES = (
    "customer_id,date,amount\nC1,2025-01-05,100.50\nC2,2025-02-10,49.99\nC1,2025-03-20,250.00\n"
)

# Known errors: line 3 amount is not a number; line 4 has no 30 February; line 5 has no
# customer; line 6 repeats nothing (sales is a fact table) but has its date month first
# (3/2/2025: 2 March or 3 February?), which is refused as ambiguous.
BAD_SALES = (
    "customer_id,date,amount\n"
    "C1,2025-01-05,100.50\n"
    "C2,2025-02-10,十二元\n"
    "C3,2025-02-30,5\n"
    ",2025-03-01,7\n"
    "C4,3/2/2025,8\n"
)

# Customers with Chinese headers (labels) and a duplicate id on line 4 (first on line 2).
CUSTOMERS_DUPLICATE = "客户编号,名称,区域\nC1,甲公司,华东\nC2,乙公司,华南\nC1,丙公司,华北\n"

CUSTOMERS = "客户编号,名称,区域\nC1,甲公司,华东\nC2,乙公司,华南\nC3,丙公司,华北\n"


def csv_file(name: str, text: str, bom: bool = True) -> SimpleUploadedFile:
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def xlsx_file(name: str, rows: list[list[object]]) -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


BAD_SALES_XLSX_ROWS = [
    ["客户编号", "日期", "金额"],
    ["C1", dt.date(2025, 1, 5), 100.5],
    ["C2", "yesterday", 3],  # row 3: not a date
    ["C3", dt.date(2025, 1, 7), "n/a"],  # row 4: not an amount
]


def upload(client, table: str, file) -> object:
    """POST a file to the upload page; return the response (a redirect to the preview)."""
    return client.post(reverse("imports:upload"), {"table": table, "file": file})


def upload_id(response) -> str:
    """The upload id in the preview URL a successful upload redirects to."""
    return response["Location"].rstrip("/").split("/")[-1]
