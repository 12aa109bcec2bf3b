"""Write evaluation results: JSON lines, CSV, Excel, Parquet — set-based through DuckDB."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO

import duckdb

from pingji.engine.run import Evaluation
from pingji.errors import BadInput
from pingji.output.cells import excel_cell, excel_row, neutralised_query
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
        labels[f"{n.id}.score"] = f"{name} 百分制"
        labels[f"{n.id}.passed"] = f"{name} 是否达标"
    for out in rs.scheme.outputs:
        labels[out.id] = out.label or out.id
    return labels


def write(ev: Evaluation, fmt: str, out: str | Path | None, stdout: IO | None = None) -> None:
    """Write an evaluation's results in a format to a file (atomically) or to stdout.

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
            con.execute(_copy_sql(ev, fmt, path))
            with open(path, encoding="utf-8") as fh:
                shutil.copyfileobj(fh, stdout or sys.stdout, 1 << 20)
        (stdout or sys.stdout).flush()
        return
    target = Path(out)
    if target.parent and not target.parent.exists():
        raise BadInput(f"cannot write {target}: folder {target.parent} does not exist")
    # write next to the target, then rename: a failed run never leaves a half-written file
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".{fmt}", dir=target.parent or "."
    )
    os.close(fd)
    try:
        if fmt == "xlsx":
            _write_xlsx(con, ev, tmp)
        else:
            con.execute(_copy_sql(ev, fmt, tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _path(p: str) -> str:
    return str(p).replace("'", "''")


def _copy_sql(ev: Evaluation, fmt: str, path: str) -> str:
    if fmt == "jsonl":
        return f"COPY ({ev.shaped_sql('nested')}) TO '{_path(path)}' (FORMAT JSON)"
    if fmt == "csv":  # text cells that could start a formula get a leading ' (output.cells)
        rows = neutralised_query(ev.duck, ev.shaped_sql("text"))
        return f"COPY ({rows}) TO '{_path(path)}' (FORMAT CSV, HEADER)"
    # Parquet is flat too (one column per node part): what BI tools and spreadsheets read
    return f"COPY ({ev.shaped_sql('flat')}) TO '{_path(path)}' (FORMAT PARQUET)"


def _write_xlsx(con: duckdb.DuckDBPyConnection, ev: Evaluation, path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    rs = ev.plan.scheme
    if ev.raw.num_rows > EXCEL_MAX_ROWS:
        raise BadInput(
            f"{ev.raw.num_rows:,} results do not fit in one Excel sheet ({EXCEL_MAX_ROWS:,} rows): "
            "use --format csv or parquet"
        )
    flat = con.execute(ev.shaped_sql("text")).to_arrow_table()
    labels = column_labels(rs)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("结果")
    ws.freeze_panes = "B3"
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
    for batch in flat.to_batches(10_000):
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            ws.append(excel_row(ws, list(row)))
    info = wb.create_sheet("说明")
    info.append(excel_row(info, ["方案", rs.scheme.label or rs.id, rs.id]))
    info.append(excel_row(info, ["版本", str(rs.scheme.version)]))
    if rs.scheme.description:
        info.append(excel_row(info, ["说明", rs.scheme.description]))
    wb.save(path)
