"""Export a run's (filtered) results as CSV or Excel, with Chinese column headers.

Both read the results file through one DuckDB query (the page's filters and sort, every
column): codes of classes, statuses, actions, reasons and missing indicators become the
scheme's Chinese labels, lists become "a; b" text. Numbers are rounded as the pages show them
(pingji.output.numbers: scores in the scheme's precision, rates as percentages, money to
cents), and the root node's points and score, which repeat the result's own, are left out.
CSV is written by DuckDB's COPY and streamed (UTF-8 with a BOM, so Excel opens the Chinese
correctly; a rate is written as "92.0%", which Excel reads as a percentage); Excel is written
by XlsxWriter in constant_memory mode from Arrow record batches: bold frozen header row with
an autofilter, column widths, number formats (a rate as 0.0%, money as #,##0.00) and grade
cells filled with the grade's colour, and a "说明" sheet.

An Excel export of more than BACKGROUND_ROWS rows is written by the background worker and
kept in the run's folder (see "background Excel exports" below); smaller ones are written in
the request and downloaded at once."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from pingji.output import numbers
from pingji.output.cells import neutralised_query
from pingji.output.labels import scheme_labels
from pingji.output.writers import column_labels
from pingji.scheme.resolve import ResolvedScheme
from pingji.sqltext import ident, literal
from pingji.web.jobs import lease
from pingji.web.lib import workspace
from pingji.web.lib.language import stored_gettext
from pingji.web.runs import results
from pingji.web.runs.files import exports_dir, results_file
from pingji.web.runs.filters import Filters
from pingji.web.runs.models import ExportJob, Run
from pingji.web.schemes.services import resolve_version

EXCEL_MAX_ROWS = 1_048_575  # one sheet, one header row
BOM = "\ufeff".encode()
CHUNK = 1 << 20


class ExportRefused(ValueError):
    """An export cannot be made as asked: too many rows for an Excel sheet; nothing was
    written. Worded when shown (str), in the language active then."""

    def __init__(self, total: int, limit: int) -> None:
        super().__init__(total, limit)
        self.total, self.limit = total, limit

    def __str__(self) -> str:
        return _(
            "筛选后共 %(total)s 行，超过 Excel 单个工作表的上限 %(limit)s 行：请缩小筛选范围，或导出 CSV。"
        ) % {"total": f"{self.total:,}", "limit": f"{self.limit:,}"}


@dataclass
class Column:
    """One exported column: its SQL, Chinese header and kind (for Excel formats)."""

    sql: str
    header: str
    kind: str  # id, name, text, grade, number, date, list, bool
    width: int = 12
    fmt: numbers.NumberFormat | None = None  # numbers: how they are rounded and shown


def _case(expr: str, labels: dict[str, str]) -> str:
    """SQL mapping codes to labels (unknown codes stay as they are)."""
    pairs = [(k, v) for k, v in labels.items() if k and v and v != k]
    if not pairs:
        return expr
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in pairs)
    return f"CASE {expr} {whens} ELSE {expr} END"


def _list_text(col: str, labels: dict[str, str]) -> str:
    inner = _case("x", labels)
    body = col if inner == "x" else f"list_transform({col}, lambda x: {inner})"
    return f"array_to_string({body}, '; ')"


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def export_columns(rs: ResolvedScheme, types: dict[str, str], names: bool) -> list[Column]:
    """The exported columns, in the results file's order; with `names`, the entity's name
    (column __name) second."""
    labels = column_labels(rs)
    codes = scheme_labels(rs)
    formats = numbers.column_formats(rs)
    repeated = numbers.duplicate_columns(rs)  # the root's points and score: shown once
    out: list[Column] = []
    for name, dtype in types.items():
        if name in repeated:
            continue
        q = ident(name)
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
            fmt = formats.get(name) or numbers.NumberFormat(numbers.MONEY)
            out.append(Column(f"r.{q}", header, "number", 14, fmt))
        elif dtype in ("DOUBLE", "FLOAT", "REAL"):
            # scores in the scheme's precision, measured values as their metric says
            out.append(Column(f"r.{q}", header, "number", 10, formats.get(name, numbers.PLAIN)))
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT"):
            fmt = formats.get(name) or numbers.INTEGER_FORMAT
            out.append(Column(f"r.{q}", header, "number", 10, fmt))
        elif dtype == "DATE":
            out.append(Column(f"r.{q}", header, "date", 12))
        else:
            out.append(Column(f"r.{q}", header, "text", 14))
    seen: dict[str, int] = {}
    for c in out:  # headers must be unique (two nodes may share a label)
        seen[c.header] = seen.get(c.header, 0) + 1
        if seen[c.header] > 1:
            c.header = f"{c.header} ({seen[c.header]})"
        c.width = max(c.width, min(40, _width(c.header) + 2))
    return out


# Excel gets numbers as doubles (what a cell holds) and anything not a number, a date or a
# grade as text.
_EXCEL_CAST = {
    "number": "DOUBLE",
    **dict.fromkeys(("id", "name", "text", "list", "bool"), "VARCHAR"),
}


def _select(c: Column, excel: bool) -> str:
    """SQL of one exported column: numbers rounded as shown (a rate in a CSV as '92.0%')."""
    sql = c.sql
    if c.fmt is not None:
        sql = c.fmt.sql(sql) if excel else c.fmt.sql_text(sql)
    if excel and c.kind in _EXCEL_CAST:
        sql = f"CAST({sql} AS {_EXCEL_CAST[c.kind]})"
    return sql


def _query(
    run: Run, filters: Filters, excel: bool = False
) -> tuple[str, list, list[Column], ResolvedScheme]:
    rs = resolve_version(run.scheme_version)
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
    select = ", ".join(f"{_select(c, excel)} AS {ident(c.header)}" for c in cols)
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
        attrs=filters.attrs or None,
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


def _safe(text: str) -> str:
    """Text fit for a file name on any system (no folders, no characters Windows refuses)."""
    return re.sub(r'[\x00-\x1f<>:"/\\|?*\s]+', "_", text).strip(" ._")


def file_name(run: Run, ext: str, filters: Filters | None = None, stamp: str = "") -> str:
    """pingji-run12-<scheme>-<period>[-<filters>]-<yyyymmdd-hhmm>.<ext>; the filters as the
    description's text (等级=B,搜索=…), without characters a file system refuses."""
    stamp = stamp or timezone.localtime().strftime("%Y%m%d-%H%M")
    described = filters.describe() if filters is not None else "全部"
    part = "" if described == "全部" else "-" + _safe(described)[:60]
    code, period = _safe(run.scheme_version.scheme.code), _safe(run.period)
    if run.voided_at is not None:  # a file of a voided run must not pass for a current one
        part = "-已作废" + part
    return f"pingji-run{run.pk}-{code}-{period}{part}-{stamp}.{ext}"


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
    sql, args, cols, _rs = _query(run, filters)
    # rates are printed by the query itself ("-27.8%"): numbers, not text to neutralise
    printed = [c.header for c in cols if c.fmt is not None and c.fmt.kind == numbers.PERCENT]
    fd, tmp = tempfile.mkstemp(prefix="export-", suffix=".csv", dir=workspace.make_tmp_dir())
    os.close(fd)
    try:
        con = results.connection()
        sql = neutralised_query(con, sql, args, printed)  # no cell a spreadsheet would run
        con.execute(f"COPY ({sql}) TO {literal(tmp)} (FORMAT CSV, HEADER, DELIMITER ',')", args)
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


DATE_FORMAT = "yyyy-mm-dd"
BATCH_ROWS = 10_000  # rows fetched from DuckDB at a time (Arrow record batches)


def check_rows(total: int) -> None:
    """Raise ExportRefused when `total` rows do not fit in one Excel sheet."""
    if total > EXCEL_MAX_ROWS:
        raise ExportRefused(total, EXCEL_MAX_ROWS)


def write_xlsx(
    run: Run,
    filters: Filters,
    target: Path,
    user=None,
    total: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the export as a formatted .xlsx at `target` and return its number of rows;
    `progress(rows written, total)` is called after each batch of rows.

    Raises ExportRefused when the rows do not fit in one sheet (nothing is written then).
    XlsxWriter in constant_memory mode: each row goes to a temporary file as it is written,
    so memory stays flat; the workbook is zipped into `target` at the end."""
    import xlsxwriter

    if total is None:
        total = count(run, filters)
    check_rows(total)
    sql, args, cols, rs = _query(run, filters, excel=True)
    wb = xlsxwriter.Workbook(
        str(target),
        {
            "constant_memory": True,
            # text stays text: no formulas from "=…", no links, no numbers from "0012"
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,  # NaN / ±inf of a measured value: #NUM! / #DIV/0!
            "default_date_format": DATE_FORMAT,
        },
    )
    ws = wb.add_worksheet("评价结果")
    info = wb.add_worksheet("说明")
    ws.freeze_panes(1, 1)  # B2: the header row and the id column stay in view
    formats: dict[str, object] = {DATE_FORMAT: wb.add_format({"num_format": DATE_FORMAT})}
    for i, c in enumerate(cols):
        # a column's format applies to the cells written without one (numbers, below)
        code = c.fmt.excel() if c.fmt is not None else DATE_FORMAT if c.kind == "date" else None
        if code is not None and code not in formats:
            formats[code] = wb.add_format({"num_format": code})
        ws.set_column(i, i, c.width, formats.get(code) if code else None)
    head = wb.add_format(
        {
            "bold": True,
            "bg_color": "#DDEBF7",
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
        }
    )
    for i, c in enumerate(cols):
        ws.write_string(0, i, c.header, head)

    graded: dict[int, dict[str, object]] = {}  # column → grade → its format (fill colour)
    for i in (i for i, c in enumerate(cols) if c.kind == "grade"):
        graded[i] = {}
        for lv in rs.scheme.grades.levels if rs.scheme.grades else []:
            argb = _argb(lv.color)
            if argb:
                graded[i][lv.grade] = wb.add_format(
                    {
                        "bold": True,
                        "bg_color": "#" + argb[2:],
                        "font_color": "#" + _ink(argb)[2:],
                        "align": "center",
                        "valign": "vcenter",
                        "text_wrap": True,
                    }
                )

    write_row, write_string = ws.write_row, ws.write_string
    row = 1
    reader = results.connection().execute(sql, args).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        # one Python list per column, then rows: XlsxWriter writes a row at a time
        data = [col.to_pylist() for col in batch.columns]
        for values in zip(*data, strict=True):
            write_row(row, 0, values)
            for i, fmts in graded.items():  # the grade again, in its colour
                fmt = fmts.get(values[i])
                if fmt is not None:
                    write_string(row, i, values[i], fmt)
            row += 1
        if progress is not None:
            progress(row - 1, total)
    ws.autofilter(0, 0, max(row - 1, 1), len(cols) - 1)  # filter buttons on the header row

    bold = wb.add_format({"bold": True})
    info.set_column(0, 0, 14)
    info.set_column(1, 1, 70)
    v = run.scheme_version
    params = ", ".join(f"{k}={val}" for k, val in sorted((run.params or {}).items())) or "默认"
    batches = ", ".join(f"#{b.pk} {b.table}" for b in run.batches.order_by("id")) or "—"
    when = run.finished_at and timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M")
    for n, (key, value) in enumerate(
        (
            ("评价运行", f"#{run.pk}"),
            ("评价方案", f"{v.scheme.name} ({v.scheme.code})"),
            ("方案版本", f"v{v.number}"),
            ("期间", run.period),
            ("参数", params),
            ("数据批次", batches),
            ("采用的人工评分", run.ratings_used),
            ("运行完成", when or ""),
            ("筛选条件", filters.describe()),
            ("行数", row - 1),
            ("导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")),
            ("导出人", user.get_username() if user is not None else ""),
        )
    ):
        info.write_string(n, 0, key, bold)
        info.write(n, 1, value)
    wb.close()
    return row - 1


def xlsx_file(run: Run, filters: Filters, user=None, total: int | None = None) -> Path:
    """Write the export as a formatted .xlsx in a temporary file and return its path
    (`total`: the rows, if counted already).

    Raises ExportRefused when the rows do not fit in one sheet (nothing is written then)."""
    fd, tmp = tempfile.mkstemp(prefix="export-", suffix=".xlsx", dir=workspace.make_tmp_dir())
    os.close(fd)
    try:
        write_xlsx(run, filters, Path(tmp), user, total)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


# ---------------------------------------------------------------- background Excel exports
#
# An Excel export of more than BACKGROUND_ROWS rows is written by the worker (tasks.py), not
# in the request. Each such export is a job, an ExportJob row saying where it stands; the
# finished file lies in PINGJI_HOME/runs/<run>/exports/ under a name that shows the filters
# (pingji-run12-…-等级=B-20250301-0930.xlsx) and is kept. The worker holds the job's lease
# while it writes (jobs/lease.py): a job whose worker died is marked failed, its .partial
# file removed.

BACKGROUND_ROWS = 20_000  # Excel exports of more filtered rows are written in the background
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
QUEUED, WRITING, DONE, FAILED = "queued", "writing", "done", "failed"

log = logging.getLogger(__name__)


def _touch(job: ExportJob, *, was: tuple[str, ...] | None = None, **fields) -> bool:
    """Store fields of a job (only while its state is one of `was`, if given): the request,
    the worker and recovery each change a job only from the state they expect."""
    fields.setdefault("updated_at", timezone.now())
    rows = ExportJob.objects.filter(pk=job.pk)
    if was is not None:
        rows = rows.filter(state__in=was)
    if not rows.update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    return True


def _free_name(run: Run, filters: Filters, job_id: str) -> str:
    """A file name showing the filters, not taken by a file or another job of the run."""
    name = file_name(run, "xlsx", filters)
    taken = set(ExportJob.objects.filter(run_id=run.pk).values_list("file_name", flat=True))
    if name in taken or (exports_dir(run.pk) / name).exists():
        name = name.removesuffix(".xlsx") + f"-{job_id[:6]}.xlsx"
    return name


def start_job(run: Run, filters: Filters, user, rows: int) -> ExportJob:
    """Record an export to be written by the worker (the view then queues `run_job`)."""
    folder = exports_dir(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    job_id = uuid.uuid4().hex
    return ExportJob.objects.create(
        id=job_id,
        run=run,
        file_name=_free_name(run, filters, job_id),
        filters=asdict(filters),
        rows=rows,
        user=user if user is not None and user.is_authenticated else None,
        stage=gettext_noop("排队等待导出"),
    )


def queued(job: ExportJob, task_id: str) -> None:
    """Record the django-tasks row that will write the job (recovery follows it)."""
    _touch(job, task_id=task_id)


def pending_job(run: Run, filters: Filters) -> ExportJob | None:
    """Return an export of the same rows still queued or being written (a second click)."""
    same = asdict(filters)
    return next((j for j in jobs(run.pk) if not j.finished and j.filters == same), None)


def fail_job(job: ExportJob, error: str) -> None:
    """Mark a job failed (e.g. it could not be queued), with the reason."""
    _touch(job, state=FAILED, progress=100, stage=gettext_noop("失败"), error=error)


def interrupted(job: ExportJob) -> int:
    """Mark a job whose worker died failed (recovery), its half-written file removed; it
    can be started again at once. Return 1, or 0 when it had moved on meanwhile."""
    if not _touch(
        job,
        was=(QUEUED, WRITING),
        state=FAILED,
        progress=100,
        stage=gettext_noop("中断"),
        error=lease.INTERRUPTED,
    ):
        return 0
    job.path.with_name(job.path.name + ".partial").unlink(missing_ok=True)
    return 1


def load_job(run_id: int, job_id: str) -> ExportJob | None:
    """Return a run's export job, or None (unknown id). A job being written whose lease ran
    out is marked failed first (its worker died)."""
    if not _JOB_ID.match(str(job_id)):
        return None
    job = ExportJob.objects.filter(pk=job_id, run_id=int(run_id)).first()
    if job is not None and job.state == WRITING and lease.is_dead(job):
        interrupted(job)
    return job


def jobs(run_id: int) -> list[ExportJob]:
    """Return a run's export jobs, newest first."""
    return list(ExportJob.objects.filter(run_id=int(run_id)).order_by("-created_at"))


def run_job(run_id: int, job_id: str) -> None:
    """Write a queued export (the worker's task): into <name>.partial, renamed when whole,
    holding the job's lease meanwhile. A failure marks the job failed with its text and
    leaves no file."""
    from django.contrib.auth import get_user_model

    job = load_job(run_id, job_id)
    if job is None or not _touch(
        job, was=(QUEUED,), state=WRITING, progress=1, stage=gettext_noop("正在写入 Excel")
    ):
        return  # unknown, or already done (a task run twice), or given up
    partial = job.path.with_name(job.path.name + ".partial")

    def progress(rows: int, total: int) -> None:
        fields = {"progress": 1 + int(94 * rows / max(total, 1)), "heartbeat_at": timezone.now()}
        if rows >= total:
            fields["stage"] = gettext_noop("正在压缩文件")
        _touch(job, was=(WRITING,), **fields)

    try:
        with lease.hold(ExportJob, job.pk):
            run = Run.objects.select_related("scheme_version__scheme").get(pk=run_id)
            user = get_user_model().objects.filter(pk=job.user_id).first() if job.user_id else None
            rows = write_xlsx(run, job.filters_obj(), partial, user, progress=progress)
            os.replace(partial, job.path)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        if not isinstance(exc, ExportRefused):
            log.exception("Excel export %s of run %s failed", job_id, run_id)
        _touch(
            job,
            was=(WRITING,),
            state=FAILED,
            progress=100,
            stage=gettext_noop("失败"),
            error=stored_gettext(exc)
            if isinstance(exc, ExportRefused)
            else f"{type(exc).__name__}: {exc}",
        )
        return
    if not _touch(
        job, was=(WRITING,), state=DONE, progress=100, stage=gettext_noop("完成"), rows=rows
    ):
        job.path.unlink(missing_ok=True)  # given up meanwhile (failed by recovery): no file
