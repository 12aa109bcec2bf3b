"""Write evaluation results: JSON lines, CSV, Excel, Parquet — set-based through DuckDB."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa

from pingji.errors import BadInput
from pingji.scheme.resolve import ResolvedScheme

FORMATS = ("jsonl", "csv", "xlsx", "parquet")
EXCEL_MAX_ROWS = 1_048_575  # one header row


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def flat_sql(rs: ResolvedScheme, columns: list[str], lists: bool = False) -> str:
    """Return the query that flattens nodes to `<id>.points`, `<id>.score`, `<id>.value` columns.

    Lists (classes, actions, missing, reasons) stay lists with `lists`, else become text joined
    by ';'.
    """
    sel = []
    for name in columns:
        if name in ("classes", "actions", "missing", "reasons") and not lists:
            sel.append(f"array_to_string({_q(name)}, ';') AS {_q(name)}")
        elif name != "nodes":
            sel.append(_q(name))
    if "nodes" in columns and rs.nodes:
        for n in rs.nodes.values():
            base = f"nodes.{_q(n.id)}"
            if not n.node.is_group and rs.exprs.get((*n.path, "$value")) is not None:
                sel.append(f"{base}.value AS {_q(n.id + '.value')}")
            sel.append(f"{base}.points AS {_q(n.id + '.points')}")
            sel.append(f"{base}.score AS {_q(n.id + '.score')}")
            if n.pass_points is not None:
                sel.append(f"{base}.passed AS {_q(n.id + '.passed')}")
    return f"SELECT {', '.join(sel)} FROM result"


def column_labels(rs: ResolvedScheme) -> dict[str, str]:
    """Return Chinese labels for the flat output columns (used as Excel's second header)."""
    labels = {
        "entity_id": "编号",
        "period": "期间",
        "score": "得分",
        "points": "总分",
        "max_points": "满分",
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


def write(
    table: pa.Table, rs: ResolvedScheme, fmt: str, out: str | Path | None, stdout: IO | None = None
) -> None:
    """Write a result table in a format to a file (atomically) or to stdout."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if out is None and fmt in ("xlsx", "parquet"):
        raise BadInput(f"--format {fmt} needs --out FILE")
    con = duckdb.connect()
    con.register("result", table)
    if out is None:
        _write_stream(con, rs, fmt, stdout or sys.stdout)
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
            _write_xlsx(con, rs, table, tmp)
        else:
            con.execute(_copy_sql(rs, fmt, table.column_names, tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _path(p: str) -> str:
    return str(p).replace("'", "''")


def _copy_sql(rs: ResolvedScheme, fmt: str, columns: list[str], path: str) -> str:
    if fmt == "jsonl":
        return f"COPY (SELECT * FROM result) TO '{_path(path)}' (FORMAT JSON)"
    if fmt == "csv":
        return f"COPY ({flat_sql(rs, columns)}) TO '{_path(path)}' (FORMAT CSV, HEADER)"
    # Parquet is flat too (one column per node part): what BI tools and spreadsheets read
    return f"COPY ({flat_sql(rs, columns, lists=True)}) TO '{_path(path)}' (FORMAT PARQUET)"


def _write_stream(con: duckdb.DuckDBPyConnection, rs: ResolvedScheme, fmt: str, stream: IO) -> None:
    """Let DuckDB write the text (quoting, JSON) to a temporary file, then copy it to the stream."""
    columns = [d[0] for d in con.execute("SELECT * FROM result LIMIT 0").description]
    with tempfile.TemporaryDirectory(prefix="pingji-") as tmp:
        path = os.path.join(tmp, f"result.{fmt}")
        con.execute(_copy_sql(rs, fmt, columns, path))
        with open(path, encoding="utf-8") as fh:
            shutil.copyfileobj(fh, stream, 1 << 20)
    stream.flush()


def _write_xlsx(
    con: duckdb.DuckDBPyConnection, rs: ResolvedScheme, table: pa.Table, path: str
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    if table.num_rows > EXCEL_MAX_ROWS:
        raise BadInput(
            f"{table.num_rows:,} results do not fit in one Excel sheet ({EXCEL_MAX_ROWS:,} rows): "
            "use --format csv or parquet"
        )
    flat = con.execute(flat_sql(rs, table.column_names)).to_arrow_table()
    labels = column_labels(rs)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("结果")
    ws.freeze_panes = "B3"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    from openpyxl.cell import WriteOnlyCell

    def header(values):
        row = []
        for v in values:
            cell = WriteOnlyCell(ws, value=v)
            cell.font = bold
            cell.fill = fill
            row.append(cell)
        return row

    ws.append(header([labels.get(c, c) for c in flat.column_names]))
    ws.append(header(flat.column_names))
    for batch in flat.to_batches(10_000):
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            ws.append(list(row))
    info = wb.create_sheet("说明")
    info.append(["方案", rs.scheme.label or rs.id, rs.id])
    info.append(["版本", str(rs.scheme.version)])
    if rs.scheme.description:
        info.append(["说明", rs.scheme.description])
    wb.save(path)
