"""Write evaluation results: JSON lines, CSV, Excel, Parquet — set-based through DuckDB."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb

from pingji.engine.run import Evaluation
from pingji.errors import BadInput
from pingji.i18n import msg
from pingji.output import numbers
from pingji.output.cells import excel_cell, excel_row, neutralised_query
from pingji.output.numbers import COLUMN
from pingji.sqltext import ident, literal

if TYPE_CHECKING:
    from pingji.scheme.resolve import ResolvedScheme

FORMATS = ("jsonl", "csv", "xlsx", "parquet")
EXCEL_MAX_ROWS = 1_048_575  # one header row


def column_labels(rs: ResolvedScheme) -> dict[str, str]:
    """Return Chinese labels for the flat output columns (used as Excel's second header)."""
    labels = {
        "entity_id": "编号",
        "period": "期间",
        "score": "得分",
        "points": "总分",
        "max_points": "满分",
        "grade_basis": "定级依据",
        "grade": "等级",
        "classes": "类别(全部)",
        "class": "类别",
        "status": "状态",
        "actions": "措施",
        "missing": "缺失指标",
        "reasons": "主要失分原因",
        "override": "人工定级原因",
    }
    for n in rs.nodes.values():
        name = n.node.label or n.id
        labels[f"{n.id}.value"] = f"{name} 指标值"
        labels[f"{n.id}.points"] = f"{name} 得分"
        labels[f"{n.id}.score"] = f"{name} 得分率"  # points ÷ max on 0–100
        labels[f"{n.id}.passed"] = f"{name} 是否达标"
    for out in rs.scheme.outputs:
        labels[out.id] = out.label or out.id
    return labels


def write(ev: Evaluation, fmt: str, out: str | Path | None, stdout: IO | None = None) -> int | None:
    """Write an evaluation's results in a format to a file (atomically) or to stdout; return
    the number of rows written (None for Excel).

    The rows go from the plan's result to the file inside DuckDB: JSON lines nested as in
    "Output of one evaluation"; CSV, Excel and Parquet flat (`<id>.points`, `<id>.score`, …).
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if out is None and fmt in ("xlsx", "parquet"):
        raise BadInput(f"--format {fmt} needs --out FILE")
    con = ev.duck
    if out is None:
        with tempfile.TemporaryDirectory(prefix="pingji-") as tmp:
            path = os.path.join(tmp, f"result.{fmt}")
            written = con.execute(_copy_sql(ev, fmt, path)).fetchone()[0]  # COPY: its rows
            with open(path, encoding="utf-8") as fh:
                shutil.copyfileobj(fh, stdout or sys.stdout, 1 << 20)
        (stdout or sys.stdout).flush()
        return written
    target = Path(out)
    if target.parent and not target.parent.exists():
        raise BadInput(
            msg(
                "cannot write {path}: folder {folder} does not exist",
                path=str(target),
                folder=str(target.parent),
            )
        )
    # write next to the target, then rename: a failed run never leaves a half-written file
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".{fmt}", dir=target.parent or "."
    )
    os.close(fd)
    written = None
    try:
        if fmt == "xlsx":
            _write_xlsx(con, ev, tmp)
        else:
            written = con.execute(_copy_sql(ev, fmt, tmp)).fetchone()[0]
        os.replace(tmp, target)
        return written
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy_sql(ev: Evaluation, fmt: str, path: str) -> str:
    if fmt == "jsonl":
        return f"COPY ({ev.shaped_sql('nested')}) TO {literal(path)} (FORMAT JSON)"
    if fmt == "csv":  # text cells that could start a formula get a leading ' (output.cells)
        rows = neutralised_query(
            ev.duck, rounded_sql(ev.duck, ev.info.rounding, ev.shaped_sql("text"))
        )
        return f"COPY ({rows}) TO {literal(path)} (FORMAT CSV, HEADER)"
    # Parquet is flat too (one column per node part): what BI tools and spreadsheets read
    return f"COPY ({ev.shaped_sql('flat')}) TO {literal(path)} (FORMAT PARQUET)"


_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT")


def rounded_sql(con: duckdb.DuckDBPyConnection, formats: dict[str, str], sql: str) -> str:
    """Return `sql` with its numeric result columns rounded as they are shown
    (output.numbers: scores to the scheme's precision, a rate 0.92345 with one decimal of
    percent to 0.923, money to cents; `formats` from `numbers.rounding`); other columns as
    they are. Set-based, in DuckDB."""
    replaced = []
    for name, kind, *_ in con.execute(f"DESCRIBE {sql}").fetchall():
        fmt = formats.get(name)
        if fmt is not None and kind.startswith(_NUMERIC):
            replaced.append(f"{fmt.replace(COLUMN, 'q.' + ident(name))} AS {ident(name)}")
    if not replaced:
        return sql
    return f"SELECT * REPLACE ({', '.join(replaced)}) FROM ({sql}) q"


def _write_xlsx(con: duckdb.DuckDBPyConnection, ev: Evaluation, path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    rs = ev.scheme
    if ev.raw.num_rows > EXCEL_MAX_ROWS:
        raise BadInput(
            f"{ev.raw.num_rows:,} results do not fit in one Excel sheet ({EXCEL_MAX_ROWS:,} rows): "
            "use --format csv or parquet"
        )
    flat = con.execute(ev.shaped_sql("text")).to_arrow_table()
    # the root node's points and score repeat `points` and `score`: shown once
    flat = flat.drop_columns([c for c in numbers.duplicate_columns(rs) if c in flat.column_names])
    labels = column_labels(rs)
    formats = numbers.column_formats(rs)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("结果")
    ws.freeze_panes = "B3"
    # filter buttons on the id row (the second header), over every result row
    last = get_column_letter(max(1, flat.num_columns))
    ws.auto_filter.ref = f"A2:{last}{flat.num_rows + 2}"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")

    def header(values):
        row = []
        for v in values:
            cell = excel_cell(ws, v)  # labels come from schemes: text, never a formula
            cell.font = bold
            cell.fill = fill
            row.append(cell)
        return row

    ws.append(header([labels.get(c, c) for c in flat.column_names]))
    ws.append(header(flat.column_names))
    # numeric columns: the value rounded as shown, in a cell with its number format
    styled = {i: formats[name] for i, name in enumerate(flat.column_names) if name in formats}

    def number_cell(value, fmt: numbers.NumberFormat):
        cell = WriteOnlyCell(ws, value=fmt.rounded(value))
        cell.number_format = fmt.excel()
        return cell

    for batch in flat.to_batches(10_000):
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            values = excel_row(ws, list(row))
            for i, fmt in styled.items():
                value = values[i]
                if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                    values[i] = number_cell(value, fmt)
            ws.append(values)
    info = wb.create_sheet("说明")
    info.append(excel_row(info, ["方案", rs.scheme.label or rs.id, rs.id]))
    info.append(excel_row(info, ["版本", str(rs.scheme.version)]))
    if rs.scheme.description:
        info.append(excel_row(info, ["说明", rs.scheme.description]))
    wb.save(path)
