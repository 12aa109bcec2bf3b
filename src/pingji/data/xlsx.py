"""Read a sheet of an XLSX workbook as text cells, keeping spreadsheet row numbers."""

from __future__ import annotations

import datetime as dt
import io
import typing
import zipfile
from collections.abc import Callable, Collection
from decimal import Decimal
from pathlib import Path

import openpyxl
import openpyxl.utils.datetime
import pyarrow as pa

from pingji.data.contract import ROW_COLUMN
from pingji.data.validate import EXCEL_SERIAL, check_width
from pingji.errors import DataError
from pingji.i18n import msg


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


# A workbook is a zip of XML: 6 MB can unpack to gigabytes (a "zip bomb"). These limits are
# read when a workbook is opened (tests lower them).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # all members together, as unpacked
MAX_RATIO = 100  # unpacked / packed size of one member (sheets of real data: 5 to 30)
RATIO_FROM_BYTES = 1024 * 1024  # smaller members are not held to the ratio
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit


def _unpacked_size(path: Path, file: str) -> int:
    """Return the declared unpacked size of a workbook; raise DataError for a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(file, msg("cannot read the workbook: {detail}", detail=str(exc))) from exc
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise DataError(
            file,
            msg(
                "the workbook unpacks to {size}, more than the limit of {limit}: "
                "save the data as CSV or Parquet",
                size=_mb(total),
                limit=_mb(MAX_UNPACKED_BYTES),
            ),
        )
    for m in members:
        if m.file_size > RATIO_FROM_BYTES and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise DataError(
                file,
                msg(
                    "the workbook's part {part} unpacks {ratio} times larger than it is stored, "
                    "more than the limit of {limit} times: save the data as CSV or Parquet",
                    part=m.filename,
                    ratio=m.file_size // max(m.compress_size, 1),
                    limit=MAX_RATIO,
                ),
            )
    return total


def _mb(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / (1024 * 1024):,.0f} MB"


class _Budget:
    """The bytes a workbook's sheets may still unpack to, shared by every part read."""

    def __init__(self, left: int, file: str) -> None:
        self.left, self.file = left, file

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise DataError(
                self.file,
                msg(
                    "the workbook unpacks to more than the limit of {limit}: "
                    "save the data as CSV or Parquet",
                    limit=_mb(MAX_UNPACKED_BYTES),
                ),
            )


class _CountedPart(io.RawIOBase):
    """A part of the workbook being unpacked, charging each byte read to a `_Budget`."""

    def __init__(self, part: typing.BinaryIO, budget: _Budget) -> None:
        self.part, self.budget = part, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.part.read(len(buffer))
        self.budget.spend(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.part.close()
        super().close()


class _CountedArchive:
    """The workbook's zip archive, whose parts are opened through `_CountedPart`."""

    def __init__(self, archive: zipfile.ZipFile, budget: _Budget) -> None:
        self.archive, self.budget = archive, budget

    def open(self, name: str, *args, **kwargs) -> typing.BinaryIO:
        part = _CountedPart(self.archive.open(name, *args, **kwargs), self.budget)
        return typing.cast(typing.BinaryIO, io.BufferedReader(part))

    def __getattr__(self, name: str) -> object:
        return getattr(self.archive, name)


def serial_text(value: object, epoch: dt.datetime) -> str | None:
    """Return a number cell of a date column as `validate.EXCEL_SERIAL` text (its serial day
    in the 1900 date system, which the date typing reads), or None for any other cell."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if epoch == openpyxl.utils.datetime.MAC_EPOCH:  # a 1904 workbook counts from 1904-01-01
        value += 1462
    return EXCEL_SERIAL + str(cell_text(value))


def read_sheet(
    path: Path,
    file: str,
    sheet_name: str | None = None,
    date_columns: Callable[[list[str | None]], Collection[int]] | None = None,
) -> tuple[list[str | None], pa.Table]:
    """Return a sheet's header cells and data rows (all text, plus the sheet row number);
    the first sheet unless `sheet_name` names another.

    `date_columns`, given the header, names the positions (from 0) of the date columns: a
    number cell there is a date whose cell lost its date format, written as an Excel serial
    (`serial_text`) for the date typing to read; a text cell stays text (45658 typed as
    text is not a date, as in a CSV file).

    A workbook that unpacks beyond MAX_UNPACKED_BYTES (declared, or found while reading),
    with a part packed more than MAX_RATIO times, or a sheet longer than MAX_SHEET_ROWS is
    refused."""
    _unpacked_size(path, file)
    # Declared sizes may lie; the sheet's XML is counted again as it is unpacked.
    budget = _Budget(MAX_UNPACKED_BYTES, file)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(file, msg("cannot read the workbook: {detail}", detail=str(exc))) from exc
    # read-only worksheets open their XML through `_archive` as they are iterated
    workbook._archive = _CountedArchive(workbook._archive, budget)
    try:
        if sheet_name is None:
            sheet = workbook.worksheets[0]
        elif sheet_name in workbook.sheetnames:
            sheet = workbook[sheet_name]
        else:
            raise DataError(
                file,
                msg("the workbook has no sheet '{sheet}'", sheet=sheet_name),
                expected=msg("one of {choices}", choices=", ".join(workbook.sheetnames)),
            )
        # Some writers store a wrong <dimension>; without this, read-only mode trusts it.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        header = [cell_text(v) for v in first] if first else []
        while header and not (header[-1] or "").strip():
            header.pop()
        if not header:
            raise DataError(file, msg("row 1 is empty: a header row is required"), row=1)
        check_width(len(header), file)
        width = len(header)
        dates = set(date_columns(header)) if date_columns else set()
        cells: list[list[str | None]] = [[] for _ in range(width)]
        numbers: list[int] = []
        # openpyxl yields one tuple per sheet row (gaps filled), so enumerate gives the row.
        for number, row in enumerate(rows, start=2):
            if number > MAX_SHEET_ROWS:
                raise DataError(
                    file,
                    msg(
                        "the sheet has more than {limit:,} rows, Excel's limit: "
                        "save the data as CSV or Parquet",
                        limit=MAX_SHEET_ROWS,
                    ),
                    row=number,
                )
            texts = [
                (i in dates and serial_text(v, workbook.epoch)) or cell_text(v)
                for i, v in enumerate(row[:width])
            ]
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
