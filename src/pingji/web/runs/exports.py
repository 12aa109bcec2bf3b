"""Export a run's (filtered) results as CSV or Excel, with Chinese column headers.

Both read the results file through one DuckDB query (the page's filters and sort, every
column): codes of classes, statuses, actions, reasons and missing indicators become the
scheme's Chinese labels, lists become "a; b" text. CSV is written by DuckDB's COPY and
streamed (UTF-8 with a BOM, so Excel opens the Chinese correctly); Excel is written by
openpyxl in write-only mode: bold frozen header row, column widths, number formats and
grade cells filled with the grade's colour."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from pingji.output.writers import column_labels
from pingji.scheme.resolve import ResolvedScheme
from pingji.web.runs import results
from pingji.web.runs.models import Run
from pingji.web.runs.services import results_file, scheme_of

EXCEL_MAX_ROWS = 1_048_575  # one sheet, one header row
BOM = "\ufeff".encode()
CHUNK = 1 << 20


class ExportRefused(ValueError):
    """An export cannot be made as asked (e.g. too many rows for Excel); nothing was written."""


@dataclass(frozen=True)
class Filters:
    """What the results page shows: filters and sort (exports take the same)."""

    grade: str | None = None
    cls: str | None = None
    status: str | None = None
    action: str | None = None
    search: str | None = None
    sort: str = "-score"

    def describe(self) -> str:
        parts = []
        for label, value in (
            ("等级", self.grade),
            ("类别", self.cls),
            ("状态", self.status),
            ("措施", self.action),
            ("搜索", self.search),
        ):
            if value:
                parts.append(f"{label}={value}")
        return ",".join(parts) or "全部"


@dataclass
class Column:
    """One exported column: its SQL, Chinese header and kind (for Excel formats)."""

    sql: str
    header: str
    kind: str  # id, name, text, grade, number, value, money, integer, list, bool
    width: int = 12


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _case(expr: str, labels: dict[str, str]) -> str:
    """SQL mapping codes to labels (unknown codes stay as they are)."""
    pairs = [(k, v) for k, v in labels.items() if k and v and v != k]
    if not pairs:
        return expr
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in pairs)
    return f"CASE {expr} {whens} ELSE {expr} END"


def _list_text(col: str, labels: dict[str, str]) -> str:
    inner = _case("x", labels)
    body = col if inner == "x" else f"list_transform({col}, lambda x: {inner})"
    return f"array_to_string({body}, '; ')"


def scheme_labels(rs: ResolvedScheme) -> dict[str, dict[str, str]]:
    """Chinese labels of a scheme's codes: grades, classes, statuses, actions, reasons, nodes."""
    from pingji.engine.run import reason_code, reason_label

    s = rs.scheme
    out: dict[str, dict[str, str]] = {
        "grade": {},
        "class": {},
        "status": {},
        "action": {},
        "reason": {},
        "node": {},
    }
    if s.grades:
        out["grade"] = {lv.grade: lv.label or "" for lv in s.grades.levels}
    if s.classes:
        out["class"] = {c.id: c.label or c.id for c in s.classes.rules}
        if s.classes.fallback:
            fb = s.classes.fallback
            out["class"][fb.id] = fb.label or fb.id
    if s.consequences:
        out["status"] = {st.status: st.label or st.status for st in s.consequences.statuses}
        out["action"] = {a.action: a.label or a.action for a in s.consequences.actions}
    for n in rs.nodes.values():
        out["node"][n.id] = n.node.label or n.id
        out["reason"][reason_code(n)] = reason_label(n)
    return out


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def export_columns(rs: ResolvedScheme, types: dict[str, str], names: bool) -> list[Column]:
    """The exported columns, in the results file's order; with `names`, the entity's name
    (column __name) second."""
    labels = column_labels(rs)
    codes = scheme_labels(rs)
    out: list[Column] = []
    for name, dtype in types.items():
        q = results._q(name)
        header = labels.get(name, name)
        if name == "entity_id":
            out.append(Column(f"r.{q}", header, "id", 14))
            if names:
                out.append(Column("r.__name", "名称", "name", 28))
        elif name == "grade":
            out.append(Column(f"r.{q}", header, "grade", 8))
            if any(codes["grade"].values()):
                out.append(Column(_case(f"r.{q}", codes["grade"]), "等级名称", "text", 16))
        elif name == "class":
            out.append(Column(_case(f"r.{q}", codes["class"]), header, "text", 16))
        elif name == "status":
            out.append(Column(_case(f"r.{q}", codes["status"]), header, "text", 16))
        elif name in ("classes", "actions", "reasons", "missing"):
            table = {
                "classes": codes["class"],
                "actions": codes["action"],
                "reasons": codes["reason"],
                "missing": codes["node"],
            }[name]
            out.append(Column(_list_text(f"r.{q}", table), header, "list", 30))
        elif dtype.endswith("[]"):
            out.append(Column(f"array_to_string(r.{q}, '; ')", header, "list", 24))
        elif dtype == "BOOLEAN":
            sql = f"CASE WHEN r.{q} IS NULL THEN NULL WHEN r.{q} THEN '是' ELSE '否' END"
            out.append(Column(sql, header, "bool", 8))
        elif dtype.startswith("DECIMAL"):
            out.append(Column(f"r.{q}", header, "money", 14))
        elif dtype in ("DOUBLE", "FLOAT", "REAL"):
            # scores and points with two decimals; measured values (rates …) as they are
            scored = name in ("score", "points", "max_points") or name.endswith(
                (".points", ".score")
            )
            out.append(Column(f"r.{q}", header, "number" if scored else "value", 10))
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT"):
            out.append(Column(f"r.{q}", header, "integer", 10))
        else:
            out.append(Column(f"r.{q}", header, "text", 14))
    seen: dict[str, int] = {}
    for c in out:  # headers must be unique (two nodes may share a label)
        seen[c.header] = seen.get(c.header, 0) + 1
        if seen[c.header] > 1:
            c.header = f"{c.header} ({seen[c.header]})"
        c.width = max(c.width, min(40, _width(c.header) + 2))
    return out


def _query(run: Run, filters: Filters) -> tuple[str, list, list[Column], ResolvedScheme]:
    rs = scheme_of(run.scheme_version)
    file = str(results_file(run))
    types = results.column_types(run)
    table = results.names_table(run)
    cols = export_columns(rs, types, table is not None)
    cond, args = _where(run, types, filters)
    rows = f"SELECT * FROM read_parquet(?){cond}"
    if table:  # the entity's name as column __name
        rows = (
            f"SELECT x.*, n.name AS __name FROM ({rows}) x "
            f"LEFT JOIN {table} n ON n.entity_id = x.entity_id"
        )
    order = results.order_by(filters.sort, types, (run.summary or {}).get("grade_order"))
    select = ", ".join(f"{c.sql} AS {results._q(c.header)}" for c in cols)
    sql = f"SELECT {select} FROM ({rows}) r ORDER BY {order}"
    return sql, [file, *args], cols, rs


def _where(run: Run, types, filters: Filters) -> tuple[str, list]:
    """The WHERE clause and its arguments for the page's filters (as the results table)."""
    return results.where(
        run,
        types,
        grade=filters.grade,
        cls=filters.cls,
        status=filters.status,
        action=filters.action,
        search=filters.search,
    )


def count(run: Run, filters: Filters) -> int:
    """Return how many rows an export of these filters would hold."""
    types = results.columns(run)
    cond, args = _where(run, types, filters)
    return (
        results.connection()
        .execute(f"SELECT count(*) FROM read_parquet(?){cond}", [str(results_file(run)), *args])
        .fetchone()[0]
    )


def file_name(run: Run, ext: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"pingji-run{run.pk}-{run.scheme_version.scheme.code}-{run.period}-{stamp}.{ext}"


def _chunks(fh, path: Path) -> Iterator[bytes]:
    """Yield an open file's bytes after a BOM, then close it (and remove it if still there)."""
    try:
        yield BOM
        while chunk := fh.read(CHUNK):
            yield chunk
    finally:
        fh.close()
        path.unlink(missing_ok=True)


def csv_stream(run: Run, filters: Filters) -> Iterator[bytes]:
    """Write the export with DuckDB's COPY to a temporary file; return its bytes (BOM first)."""
    sql, args, _cols, _rs = _query(run, filters)
    fd, tmp = tempfile.mkstemp(prefix="pingji-export-", suffix=".csv")
    os.close(fd)
    try:
        results.connection().execute(
            f"COPY ({sql}) TO {_lit(tmp)} (FORMAT CSV, HEADER, DELIMITER ',')", args
        )
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    path = Path(tmp)
    fh = path.open("rb")
    # removed now: the open handle keeps the bytes (POSIX), an abandoned download leaves nothing
    with contextlib.suppress(OSError):  # Windows: removed after reading instead
        path.unlink()
    return _chunks(fh, path)


def _argb(color: str | None) -> str | None:
    """'#1a9850' or '1a9850' → 'FF1A9850'; None for anything else."""
    text = (color or "").strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in text):
        return None
    return "FF" + text.upper()


def _ink(argb: str) -> str:
    """Black or white text, whichever reads better on a fill colour."""
    r, g, b = (int(argb[i : i + 2], 16) for i in (2, 4, 6))
    return "FF000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "FFFFFFFF"


NUMBER_FORMATS = {"number": "0.00", "money": "#,##0.00", "integer": "0"}


def xlsx_file(run: Run, filters: Filters, user=None) -> Path:
    """Write the export as a formatted .xlsx in a temporary file and return its path.

    Raises ExportRefused when the rows do not fit in one sheet (nothing is written then)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    total = count(run, filters)
    if total > EXCEL_MAX_ROWS:
        raise ExportRefused(
            f"筛选后共 {total:,} 行,超过 Excel 单个工作表的上限 {EXCEL_MAX_ROWS:,} 行:"
            "请缩小筛选范围,或导出 CSV。"
        )
    sql, args, cols, rs = _query(run, filters)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("评价结果")
    ws.freeze_panes = "B2"
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="FFDDEBF7")
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.font, cell.fill, cell.alignment = bold, head_fill, center
        header.append(cell)
    ws.append(header)

    # In write-only mode a row is written when appended, so one styled cell per column (per
    # grade) is reused for every row: no style lookup per cell.
    formatted: dict[int, WriteOnlyCell] = {}
    for i, c in enumerate(cols):
        if c.kind in NUMBER_FORMATS:
            cell = formatted[i] = WriteOnlyCell(ws)
            cell.number_format = NUMBER_FORMATS[c.kind]
    graded: dict[int, dict[str, WriteOnlyCell]] = {}
    for i in (i for i, c in enumerate(cols) if c.kind == "grade"):
        graded[i] = {}
        for lv in rs.scheme.grades.levels if rs.scheme.grades else []:
            argb = _argb(lv.color)
            if argb:
                cell = graded[i][lv.grade] = WriteOnlyCell(ws)
                cell.fill = PatternFill("solid", fgColor=argb)
                cell.font = Font(bold=True, color=_ink(argb))
                cell.alignment = center

    reader = results.connection().execute(sql, args).to_arrow_reader(10_000)
    for batch in reader:
        # one Python list per column, then rows: openpyxl writes a row at a time
        data = [col.to_pylist() for col in batch.columns]
        for row in zip(*data, strict=True):
            values = list(row)
            for i, cell in formatted.items():
                if values[i] is not None:
                    cell.value = values[i]
                    values[i] = cell
            for i, cells in graded.items():
                cell = cells.get(values[i])
                if cell is not None:
                    cell.value = values[i]
                    values[i] = cell
            ws.append(values)

    info = wb.create_sheet("说明")
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 70
    v = run.scheme_version
    params = ", ".join(f"{k}={val}" for k, val in sorted((run.params or {}).items())) or "默认"
    batches = ", ".join(f"#{b.pk} {b.table}" for b in run.batches.order_by("id")) or "—"
    when = run.finished_at and timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M")
    for key, value in (
        ("评价运行", f"#{run.pk}"),
        ("评价方案", f"{v.scheme.name} ({v.scheme.code})"),
        ("方案版本", f"v{v.number}"),
        ("期间", run.period),
        ("参数", params),
        ("数据批次", batches),
        ("采用的人工评分", run.ratings_used),
        ("运行完成", when or ""),
        ("筛选条件", filters.describe()),
        ("行数", total),
        ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        ("导出人", user.get_username() if user is not None else ""),
    ):
        key_cell = WriteOnlyCell(info, value=key)
        key_cell.font = bold
        info.append([key_cell, value])
    fd, tmp = tempfile.mkstemp(prefix="pingji-export-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
