"""Uploaded files waiting to be committed: PINGJI_HOME/uploads/<id>/<original name>, with
upload.json beside it (who, when, which table, the SHA-256, where it stands and the
inspection report).

The request only stores the file (streamed to disk in chunks, hashed on the way); the
background worker (tasks.py) inspects it once (every problem listed, 20 typed rows) and,
when asked, commits it as a batch. upload.json says where an upload stands:

    inspecting  stored, inspection queued or running        (the preview page polls)
    ready       inspected: the report is there; committable when it has no problem
                (`error` holds why the last commit attempt failed, if it did)
    failed      the inspection itself broke (not a problem of the file: those are listed)
    committing  commit queued or running; commit.lock is held (no second commit)
    committed   done: `batch_id` names the batch; the uploaded file is removed

One writer at a time: the request writes upload.json before it queues a task (and under
commit.lock for a commit), the worker while it runs that task. The file is read by DuckDB;
no Python loop over its rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_noop

from pingji.data.problems import Inspection, inspect_file
from pingji.errors import PingjiError
from pingji.web.lib import workspace

log = logging.getLogger(__name__)

STATE = "upload.json"
LOCK = "commit.lock"
KEEP_DAYS = 7  # uploads never committed (and the records of committed ones) go after this
STALE_AFTER = 3600  # s: a task showing no sign of life this long may be discarded anyway
_ID = re.compile(r"^[0-9a-f]{32}$")

INSPECTING, READY, FAILED, COMMITTING, COMMITTED = (
    "inspecting",
    "ready",
    "failed",
    "committing",
    "committed",
)
BUSY = (INSPECTING, COMMITTING)


@dataclass
class Upload:
    """One uploaded file and its inspection report (a JSON-able dict, see `report_of`)."""

    id: str
    table: str
    file_name: str
    user_id: int | None
    created_at: str  # ISO 8601
    size: int
    checksum: str
    report: dict
    state: str = READY
    progress: int = 100
    stage: str = ""  # a msgid (Chinese): the pages show it translated
    error: str = ""  # why the inspection (state failed) or the last commit attempt failed
    batch_id: int | None = None
    updated_at: str = ""  # ISO 8601, each save

    @property
    def folder(self) -> Path:
        return workspace.uploads_dir() / self.id

    @property
    def path(self) -> Path:
        return self.folder / self.file_name

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    @property
    def ok(self) -> bool:
        """Inspected, without a problem: it can be committed (unless it is a duplicate)."""
        return self.state == READY and bool(self.report.get("ok"))

    @property
    def busy(self) -> bool:
        """A task (inspection or commit) is queued or running for it."""
        return self.state in BUSY

    @property
    def stale(self) -> bool:
        """Busy, but nothing moved for STALE_AFTER seconds (the worker died or is not running)."""
        if not self.busy:
            return False
        last = dt.datetime.fromisoformat(self.updated_at or self.created_at)
        return (timezone.now() - last).total_seconds() > STALE_AFTER

    def save(self) -> None:
        self.updated_at = timezone.now().isoformat()
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        partial = self.folder / (STATE + ".partial")
        partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.folder / STATE)


def display(value: object) -> str:
    """Return a typed cell as the preview shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, "g") if abs(value) < 1e15 else repr(value)
    return str(value)


def money_text(value: Decimal, grouped: bool = False) -> str:
    """Exact amount with at least 2 decimals and no trailing zeros beyond them (and with
    thousands separators when `grouped`)."""
    text = format(value.normalize(), ",f" if grouped else "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


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
                "message": p.message,
                "expected": p.expected,
                "first": p.first,
            }
            for p in inspection.problems
        ],
        "preview_columns": inspection.preview_columns,
        "preview": [[display(v) for v in row] for row in inspection.preview],
        "min_date": inspection.min_date.isoformat() if inspection.min_date else None,
        "max_date": inspection.max_date.isoformat() if inspection.max_date else None,
    }


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
        upload = Upload(
            id=upload_id,
            table=table,
            file_name=name,
            user_id=user.pk if user is not None and user.is_authenticated else None,
            created_at=timezone.now().isoformat(),
            size=size,
            checksum=digest.hexdigest(),
            report={},
            state=INSPECTING,
            progress=0,
            stage=gettext_noop("排队等待检查"),
        )
        upload.save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return upload


def _error_text(exc: BaseException) -> str:
    return exc.render() if isinstance(exc, PingjiError) else f"{type(exc).__name__}: {exc}"


def _save_if_there(upload: Upload) -> None:
    """Save, unless the upload was discarded meanwhile (then there is nothing to report to)."""
    if upload.folder.is_dir():
        upload.save()


def inspect_upload(upload_id: str) -> None:
    """Inspect a stored upload (the worker's task): every problem, 20 typed rows, stored in
    upload.json. A failure of the inspection itself marks the upload failed with its text."""
    upload = load(upload_id)
    if upload is None or upload.state != INSPECTING:
        return  # discarded meanwhile, or already inspected (a task run twice)
    upload.progress, upload.stage = 10, gettext_noop("正在检查每一行")
    _save_if_there(upload)
    try:
        inspection = inspect_file(upload.path, upload.table, shown_as=upload.file_name)
    except Exception as exc:
        if not upload.folder.is_dir():
            return
        log.exception("inspection of upload %s failed", upload.id)
        upload.state, upload.error, upload.stage = FAILED, _error_text(exc), gettext_noop("失败")
    else:
        upload.state, upload.report, upload.stage = (
            READY,
            report_of(inspection),
            gettext_noop("完成"),
        )
    upload.progress = 100
    _save_if_there(upload)


def begin_commit(upload: Upload) -> bool:
    """Take the upload's commit lock and mark it committing (the view then queues `commit_upload`).
    Return False when another commit holds the lock or it is no longer a committable upload
    (a double click): nothing changed then."""
    lock = upload.folder / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    current = load(upload.id)  # as it is now, under the lock
    if current is None or not current.ok:
        lock.unlink(missing_ok=True)
        return False
    current.state, current.progress, current.stage, current.error = (
        COMMITTING,
        0,
        gettext_noop("排队等待导入"),
        "",
    )
    current.save()
    upload.__dict__.update(current.__dict__)
    return True


def end_commit(upload: Upload, error: str = "") -> None:
    """Give up a commit that could not be queued: ready again, with the error; lock released."""
    upload.state, upload.progress, upload.stage, upload.error = READY, 100, "", error
    _save_if_there(upload)
    (upload.folder / LOCK).unlink(missing_ok=True)


def commit_upload(upload_id: str, user_id: int | None) -> None:
    """Commit an upload marked committing as one batch — all rows or none (the worker's task).

    Success: the upload is committed (`batch_id`) and its file removed. A duplicate (the same
    file committed meanwhile): ready again, the preview names the batch. Any other failure:
    ready again with the error's text; commit_batch left no batch and no file. The commit
    lock is released in every case."""
    from django.contrib.auth import get_user_model

    from pingji.web.imports.services import DuplicateBatch, commit_batch

    upload = load(upload_id)
    if upload is None or upload.state != COMMITTING:
        return
    try:
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        upload.progress, upload.stage = 10, gettext_noop("正在写入数据")
        if not upload.folder.is_dir():
            return  # discarded meanwhile (a stale commit given up)
        upload.save()
        try:
            batch = commit_batch(
                upload.path,
                upload.table,
                user,
                shown_as=upload.file_name,
                refuse_duplicate=True,
                digest=upload.checksum,
            )
        except DuplicateBatch:
            upload.state, upload.error = READY, ""
        except Exception as exc:
            if not isinstance(exc, PingjiError):
                log.exception("commit of upload %s failed", upload.id)
            upload.state, upload.error = READY, _error_text(exc)
        else:
            upload.state, upload.batch_id, upload.error = COMMITTED, batch.pk, ""
        upload.progress, upload.stage = (
            100,
            gettext_noop("完成") if upload.state == COMMITTED else gettext_noop("失败"),
        )
        _save_if_there(upload)
        if upload.state == COMMITTED:
            upload.path.unlink(missing_ok=True)  # the batch holds the data now
    finally:
        (upload.folder / LOCK).unlink(missing_ok=True)


def load(upload_id: str) -> Upload | None:
    """Return a stored upload, or None (unknown id, discarded, or its file is gone). A
    committed upload is returned without its file: it names its batch."""
    if not _ID.match(str(upload_id)):
        return None
    state = workspace.uploads_dir() / str(upload_id) / STATE
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        upload = Upload(**data)
    except TypeError:
        return None
    return upload if upload.state == COMMITTED or upload.path.is_file() else None


def pending(user=None) -> list[Upload]:
    """Return the uploads not yet committed (of one user, if given), newest first."""
    root = workspace.uploads_dir()
    if not root.is_dir():
        return []
    found = [
        u
        for entry in root.iterdir()
        if entry.is_dir() and (u := load(entry.name)) and u.state != COMMITTED
    ]
    if user is not None:
        found = [u for u in found if u.user_id == user.pk]
    return sorted(found, key=lambda u: u.created_at, reverse=True)


def discard(upload: Upload) -> None:
    """Remove an upload and its folder."""
    shutil.rmtree(upload.folder, ignore_errors=True)


def prune(days: int = KEEP_DAYS) -> None:
    """Remove upload folders older than `days` (uploads that were never committed)."""
    root = workspace.uploads_dir()
    if not root.is_dir():
        return
    limit = time.time() - days * 86400
    for entry in root.iterdir():
        if entry.is_dir() and _ID.match(entry.name) and entry.stat().st_mtime < limit:
            shutil.rmtree(entry, ignore_errors=True)
