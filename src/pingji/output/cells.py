"""Text cells a spreadsheet will not run: the one rule every CSV and Excel writer applies.

A customer named `=HYPERLINK("http://…")` or `=cmd|' /C calc'!A1` becomes a live formula when
a CSV is opened in Excel or LibreOffice. As OWASP recommends (CSV injection), a text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, which the
spreadsheet shows as text. Only text cells: a negative number in a numeric column stays a
number. Excel files write such text as a string cell, never a formula (`excel_text`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import duckdb

from pingji.sqltext import ident

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    """Return True if a spreadsheet could take this text for a formula."""
    return text.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """Return a text value with a leading apostrophe if it could start a formula; else as is."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def neutralise_sql(expr: str) -> str:
    """Return DuckDB SQL applying `neutralise` to a text expression (set-based, no Python)."""
    starts = ", ".join(f"chr({ord(ch)})" for ch in FORMULA_START)
    return f"CASE WHEN left({expr}, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def neutralised_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list | None = None,
    numeric_text: Collection[str] = (),
) -> str:
    """Return `sql` wrapped so that its text columns are neutralised, its other columns as is.

    Column names are neutralised too (a CSV header is a row of text; labels come from
    schemes). The names and types come from DuckDB (DESCRIBE, nothing is read); `params` are
    the query's own parameters, still to be passed when the returned query is run.
    `numeric_text` names text columns the query itself prints from numbers ("-27.8%"): no
    one can put a formula there, and a leading ' would stop a spreadsheet reading the number."""
    described = con.execute(f"DESCRIBE {sql}", params or []).fetchall()
    columns = []
    for name, kind, *_ in described:
        column = f"q.{ident(name)}"
        if kind == "VARCHAR" and name not in numeric_text:
            column = neutralise_sql(column)
        columns.append(f"{column} AS {ident(neutralise(name))}")
    return f"SELECT {', '.join(columns)} FROM ({sql}) q"


def excel_cell(ws: Any, value: Any) -> Any:
    """Return an openpyxl write-only cell; text is always a string cell, never a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes "=…" a formula (<f>) unless told otherwise
    return cell


def excel_row(ws: Any, values: list) -> list:
    """Return a row for openpyxl's write-only sheet: text that could start a formula becomes a
    string cell (excel_cell); every other value is passed as is (fast)."""
    return [excel_cell(ws, v) if isinstance(v, str) and is_formula_like(v) else v for v in values]
