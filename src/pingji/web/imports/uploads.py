"""Uploaded files waiting to be committed: PINGJI_HOME/uploads/<id>/<original name>, with
an Upload row (models.py: who, when, which table, the SHA-256, where it stands and the
inspection report).

The request only stores the file (streamed to disk in chunks, hashed on the way); the
background worker (tasks.py) inspects it once (every problem listed, 20 typed rows) and,
when asked, commits it as a batch. The row's state says where an upload stands:

    inspecting  stored, inspection queued or running        (the preview page polls)
    ready       inspected: the report is there; committable when it has no problem
                (`error` holds why the last commit attempt failed, if it did)
    failed      the inspection itself broke (not a problem of the file: those are listed)
    committing  commit queued or running (no second commit: the request moves the state
                from ready to committing in one conditional UPDATE)
    committed   done: `batch_id` names the batch; the uploaded file is removed

Each state change is a conditional UPDATE from the state its writer expects (the request,
the worker, recovery), so none overwrites another's. The worker holds the upload's lease
while it inspects or commits (jobs/lease.py): when its worker died, an inspection fails and
a commit is ready to be tried again, both saying they were interrupted. The file is read by
DuckDB; no Python loop over its rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import shutil
import time
import uuid
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_noop

from pingji import i18n
from pingji.data.contract import TABLES
from pingji.data.problems import Inspection, inspect_file
from pingji.errors import PingjiError
from pingji.output import numbers
from pingji.web.imports.models import Upload
from pingji.web.imports.tables import declared
from pingji.web.jobs import lease
from pingji.web.lib import workspace
from pingji.web.lib.language import stored_text

log = logging.getLogger(__name__)

KEEP_DAYS = 7  # uploads never committed (and the records of committed ones) go after this
_ID = re.compile(r"^[0-9a-f]{32}$")

INSPECTING, READY, FAILED, COMMITTING, COMMITTED = (
    "inspecting",
    "ready",
    "failed",
    "committing",
    "committed",
)
BUSY = (INSPECTING, COMMITTING)


def display(value: object) -> str:
    """Return a typed cell as the preview shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return money_text(value, grouped=True)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):  # grouped, every digit, no exponent (1,234,567.5)
        return numbers.exact(value)
    return str(value)


def money_text(value: Decimal, grouped: bool = False) -> str:
    """Exact amount with at least 2 decimals and no trailing zeros beyond them (and with
    thousands separators when `grouped`)."""
    return numbers.exact(value, grouped=grouped, min_decimals=2)


def report_of(inspection: Inspection) -> dict:
    """Return an inspection as JSON-able data for upload.json and the preview page."""
    return {
        "ok": inspection.ok,
        "unit": inspection.unit,
        "rows": inspection.rows,
        "columns": inspection.columns,
        "missing": inspection.missing,
        "absent": inspection.absent,
        "extra": inspection.extra,
        "total": inspection.total,
        "problems": [
            {
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "code": p.code,
                # a file problem's message as ids (worded in the viewer's language)
                "message": i18n.to_json(p.message),
                "expected": i18n.to_json(p.expected),
                "first": p.first,
            }
            for p in inspection.problems
        ],
        "preview_columns": inspection.preview_columns,
        "preview": [[display(v) for v in row] for row in inspection.preview],
        "min_date": inspection.min_date.isoformat() if inspection.min_date else None,
        "max_date": inspection.max_date.isoformat() if inspection.max_date else None,
        "encoding": inspection.encoding,
        "conversions": [
            {
                "column": c.column,
                "code": c.code,
                "rows": c.rows,
                "example": c.example,
                # the stored value plainly (12500.00, not 12,500.00 again)
                "converted": money_text(c.converted)
                if isinstance(c.converted, Decimal)
                else display(c.converted),
                "row": c.example_row,
            }
            for c in inspection.conversions
        ],
        "unknown": None
        if inspection.unknown is None
        else {
            "entity": inspection.unknown.entity,
            "column": inspection.unknown.key,
            "rows": inspection.unknown.rows,
            "keys": inspection.unknown.keys,
            "listed": [list(found) for found in inspection.unknown.listed],
        },
    }


def entity_files(table: str, tables: dict | None = None) -> list[Path]:
    """Return the files of the active batches of the entity table whose keys a fact table's
    rows name (none for other tables, or when that entity table has no batch yet)."""
    from pingji.web.imports.services import active_batches

    spec = TABLES.get(table) or (tables or {}).get(table)
    if spec is None or spec.kind != "fact" or not spec.entity:
        return []
    batches = active_batches().filter(table=spec.entity).exclude(path="")
    return [p for p in (workspace.absolute(b.path) for b in batches) if p.is_file()]


def safe_name(name: str) -> str:
    """Return an uploaded file's name without folders or characters a file system refuses."""
    name = Path(name.replace("\\", "/")).name
    name = re.sub(r'[\x00-\x1f<>:"/\\|?*]', "_", name).strip(" .")
    return name[:200] or "upload"


def receive(file: UploadedFile, table: str, user) -> Upload:
    """Store an uploaded file (streamed in chunks, hashed on the way), waiting for inspection
    (see `inspect_upload`; the view queues it)."""
    prune()
    upload_id = uuid.uuid4().hex
    folder = workspace.uploads_dir() / upload_id
    folder.mkdir(parents=True)
    name = safe_name(file.name or "upload.csv")
    digest, size = hashlib.sha256(), 0
    try:
        with (folder / name).open("wb") as out:
            for chunk in file.chunks(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return Upload.objects.create(
            id=upload_id,
            table=table,
            file_name=name,
            user=user if user is not None and user.is_authenticated else None,
            size=size,
            checksum=digest.hexdigest(),
            report={},
            state=INSPECTING,
            progress=0,
            stage=gettext_noop("排队等待检查"),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def queued(upload: Upload, task_id: str) -> None:
    """Record the django-tasks row that will inspect or commit the upload (recovery follows
    it: a task that will never run leaves no upload busy)."""
    _touch(upload, task_id=task_id)


def _error_text(exc: BaseException) -> str:
    """Return the error to store in `Upload.error`, worded in every language (the page shows
    the viewer's: Upload.shown_error)."""
    return stored_text(exc) if isinstance(exc, PingjiError) else f"{type(exc).__name__}: {exc}"


def _touch(upload: Upload, *, was: tuple[str, ...] | None = None, **fields) -> bool:
    """Store fields of an upload (only while its state is one of `was`, if given); False
    when it was discarded or had moved on meanwhile (then nothing changed)."""
    fields.setdefault("updated_at", timezone.now())
    rows = Upload.objects.filter(pk=upload.pk)
    if was is not None:
        rows = rows.filter(state__in=was)
    if not rows.update(**fields):
        return False
    for name, value in fields.items():
        setattr(upload, name, value)
    return True


def inspect_upload(upload_id: str) -> None:
    """Inspect a stored upload (the worker's task): every problem, 20 typed rows, stored in
    its row. A failure of the inspection itself marks the upload failed with its text."""
    upload = load(upload_id)
    if upload is None or not _touch(
        upload,
        was=(INSPECTING,),
        progress=10,
        stage=gettext_noop("正在检查每一行"),
        heartbeat_at=timezone.now(),
    ):
        return  # discarded meanwhile, or already inspected (a task run twice)
    try:
        with lease.hold(Upload, upload.pk):
            tables = None if upload.table in TABLES else declared()  # a scheme's own table
            inspection = inspect_file(
                upload.path,
                upload.table,
                shown_as=upload.file_name,
                tables=tables,
                entities=entity_files(upload.table, tables),
            )
    except Exception as exc:
        if not upload.folder.is_dir():
            return
        log.exception("inspection of upload %s failed", upload.id)
        outcome = {"state": FAILED, "error": _error_text(exc), "stage": gettext_noop("失败")}
    else:
        outcome = {"state": READY, "report": report_of(inspection), "stage": gettext_noop("完成")}
    _touch(upload, was=(INSPECTING,), progress=100, **outcome)


def begin_commit(upload: Upload) -> bool:
    """Mark a committable upload committing (the view then queues `commit_upload`). Return
    False when another commit took it first or it is no longer committable (a double
    click): nothing changed then."""
    current = Upload.objects.filter(pk=upload.pk).first()
    if current is None or not current.ok:
        return False
    if not _touch(
        upload,
        was=(READY,),
        state=COMMITTING,
        progress=0,
        stage=gettext_noop("排队等待导入"),
        error="",
        heartbeat_at=None,  # not started: its lease begins when the worker takes it
        worker_id="",
        task_id="",
    ):
        return False
    upload.report = current.report
    return True


def end_commit(upload: Upload, error: str = "") -> None:
    """Give up a commit that could not be queued: ready again, with the error."""
    _touch(upload, was=(COMMITTING,), state=READY, progress=100, stage="", error=error)


def commit_upload(upload_id: str, user_id: int | None) -> None:
    """Commit an upload marked committing as one batch — all rows or none (the worker's task).

    Success: the upload is committed (`batch_id`) and its file removed. A duplicate (the same
    file committed meanwhile): ready again, the preview names the batch. Any other failure:
    ready again with the error's text; commit_batch left no batch and no file."""
    from django.contrib.auth import get_user_model

    from pingji.web.imports.services import DuplicateBatch, commit_batch

    upload = load(upload_id)
    if upload is None or not upload.folder.is_dir():
        return  # discarded meanwhile
    if not _touch(
        upload,
        was=(COMMITTING,),
        progress=10,
        stage=gettext_noop("正在写入数据"),
        heartbeat_at=timezone.now(),
    ):
        return  # not (or no longer) to be committed: a task run twice, or given up
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    batch = None
    try:
        with lease.hold(Upload, upload.pk):
            batch = commit_batch(
                upload.path,
                upload.table,
                user,
                shown_as=upload.file_name,
                refuse_duplicate=True,
                digest=upload.checksum,
            )
    except DuplicateBatch:
        outcome = {"state": READY, "error": ""}
    except Exception as exc:
        if not isinstance(exc, PingjiError):
            log.exception("commit of upload %s failed", upload.id)
        outcome = {"state": READY, "error": _error_text(exc)}
    if batch is not None:
        # committed, even if recovery took the upload for dead meanwhile: the batch is there
        _touch(
            upload,
            was=(COMMITTING, READY),
            state=COMMITTED,
            batch=batch,
            error="",
            progress=100,
            stage=gettext_noop("完成"),
        )
        upload.path.unlink(missing_ok=True)  # the batch holds the data now
    else:
        _touch(upload, was=(COMMITTING,), progress=100, stage=gettext_noop("失败"), **outcome)


def interrupted(upload: Upload) -> int:
    """Mark an upload whose worker died (recovery): an inspection failed, a commit ready to
    be tried again, each with lease.INTERRUPTED. Return 1, or 0 if it moved on meanwhile."""
    if upload.state == INSPECTING:
        state, stage = FAILED, gettext_noop("中断")
    elif upload.state == COMMITTING:
        state, stage = READY, ""
    else:
        return 0
    moved = _touch(
        upload,
        was=(upload.state,),
        state=state,
        progress=100,
        stage=stage,
        error=lease.INTERRUPTED,
        heartbeat_at=None,
    )
    return int(moved)


def load(upload_id: str) -> Upload | None:
    """Return a stored upload, or None (unknown id, discarded, or its file is gone). A
    committed upload is returned without its file: it names its batch. A started task whose
    lease ran out is marked interrupted first (its worker died)."""
    if not _ID.match(str(upload_id)):
        return None
    upload = Upload.objects.filter(pk=str(upload_id)).first()
    if upload is None:
        return None
    if upload.busy and upload.heartbeat_at is not None and lease.is_dead(upload):
        interrupted(upload)
    return upload if upload.state == COMMITTED or upload.path.is_file() else None


def discardable(upload: Upload) -> bool:
    """Whether an upload may be thrown away: not while its commit runs or will run (a commit
    queued while no worker is alive may go)."""
    if upload.state == COMMITTED:
        return False
    if upload.state != COMMITTING:
        return True
    return upload.heartbeat_at is None and lease.uses_worker() and not lease.worker_alive()


def pending(user=None) -> list[Upload]:
    """Return the uploads not yet committed (of one user, if given), newest first."""
    found = Upload.objects.exclude(state=COMMITTED).order_by("-created_at")
    if user is not None:
        found = found.filter(user_id=user.pk)
    return [u for u in found if u.path.is_file()]


def discard(upload: Upload) -> None:
    """Remove an upload, its folder and its row."""
    shutil.rmtree(upload.folder, ignore_errors=True)
    Upload.objects.filter(pk=upload.pk).delete()


def prune(days: int = KEEP_DAYS) -> None:
    """Remove uploads older than `days` (never committed, or the records of committed ones)
    and upload folders without a row."""
    limit = timezone.now() - dt.timedelta(days=days)
    for upload in Upload.objects.filter(created_at__lt=limit).exclude(state=COMMITTING):
        discard(upload)
    root = workspace.uploads_dir()
    if not root.is_dir():
        return
    oldest = time.time() - days * 86400
    known = set(Upload.objects.values_list("pk", flat=True))
    for entry in root.iterdir():
        if (
            entry.is_dir()
            and _ID.match(entry.name)
            and entry.name not in known
            and entry.stat().st_mtime < oldest
        ):
            shutil.rmtree(entry, ignore_errors=True)
