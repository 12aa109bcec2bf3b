"""Fixtures for data set tests: writers for CSV/XLSX/Parquet files and a PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import openpyxl
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return an empty data folder."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def write_csv(folder: Path) -> Callable[..., Path]:
    """Write `text` as folder/name (UTF-8 with a BOM unless bom=False); return the path."""

    def write(name: str, text: str, bom: bool = True) -> Path:
        path = folder / name
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
        return path

    return write


@pytest.fixture
def write_xlsx(folder: Path) -> Callable[[str, Sequence[Sequence[object]]], Path]:
    """Write rows (row 1 = header, None = empty cell) into the first sheet of folder/name."""

    def write(name: str, rows: Sequence[Sequence[object]]) -> Path:
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(number, column, value)
        workbook.create_sheet("ignored")["A1"] = "the first sheet is the one read"
        path = folder / name
        workbook.save(path)
        return path

    return write


@pytest.fixture
def write_parquet(folder: Path) -> Callable[[str, pa.Table], Path]:
    """Write an Arrow table as folder/name."""

    def write(name: str, table: pa.Table) -> Path:
        path = folder / name
        pq.write_table(table, path)
        return path

    return write


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """Yield (server URL, a fresh schema name); the schema is dropped afterwards."""
    base = os.environ.get("PINGJI_TEST_PG_URL")
    if not base:
        pytest.skip("PINGJI_TEST_PG_URL is not set: no PostgreSQL server to test against")
    schema = f"pingji_test_{uuid.uuid4().hex[:12]}"
    try:
        yield base, schema
    finally:
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
