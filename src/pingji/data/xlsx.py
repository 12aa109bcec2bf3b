"""Read the first sheet of an XLSX workbook as text cells, keeping spreadsheet row numbers."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa

from pingji.data.contract import ROW_COLUMN
from pingji.errors import DataError


def cell_text(value: object) -> str | None:
    """Return a cell as the text a CSV export would hold: ISO dates, shortest numbers."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # repr is the shortest text that reads back as the same float; 'f' avoids 1e-05.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def read_first_sheet(path: Path, file: str) -> tuple[list[str | None], pa.Table]:
    """Return the header cells and the data rows (all text, plus the sheet row number)."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(file, f"cannot read the workbook: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        # Some writers store a wrong <dimension>; without this, read-only mode trusts it.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        header = [cell_text(v) for v in first] if first else []
        while header and not (header[-1] or "").strip():
            header.pop()
        if not header:
            raise DataError(file, "row 1 is empty: a header row is required", row=1)
        width = len(header)
        cells: list[list[str | None]] = [[] for _ in range(width)]
        numbers: list[int] = []
        # openpyxl yields one tuple per sheet row (gaps filled), so enumerate gives the row.
        for number, row in enumerate(rows, start=2):
            texts = [cell_text(v) for v in row[:width]]
            if not any(t is not None and t.strip() for t in texts):
                continue  # blank rows are layout, not records
            texts += [None] * (width - len(texts))
            for column, text in zip(cells, texts, strict=True):
                column.append(text)
            numbers.append(number)
    finally:
        workbook.close()
    arrays = [pa.array(column, pa.string()) for column in cells]
    names = [f"c{i}" for i in range(width)]  # renamed by the caller once headers are resolved
    table = pa.table([*arrays, pa.array(numbers, pa.int64())], names=[*names, ROW_COLUMN])
    return header, table
