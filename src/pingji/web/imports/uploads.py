"""Uploaded files waiting to be committed: PINGJI_HOME/uploads/<id>/<original name>, with
upload.json beside it (who, when, which table, the SHA-256 and the inspection report).

An upload is inspected once, when it arrives (every problem listed, 20 typed rows): the
preview page reads the stored report, so it opens at once whatever the file's size. The file
is streamed to disk in chunks and read by DuckDB; no Python loop over its rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
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

from pingji.data.problems import Inspection, inspect_file
from pingji.web.lib import workspace

STATE = "upload.json"
LOCK = "commit.lock"
KEEP_DAYS = 7  # uploads never committed are removed after this
_ID = re.compile(r"^[0-9a-f]{32}$")


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
        return bool(self.report.get("ok"))

    def save(self) -> None:
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
    """Store an uploaded file (streamed in chunks, hashed on the way) and inspect it."""
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
        inspection = inspect_file(folder / name, table, shown_as=name)
        upload = Upload(
            id=upload_id,
            table=table,
            file_name=name,
            user_id=user.pk if user is not None and user.is_authenticated else None,
            created_at=timezone.now().isoformat(),
            size=size,
            checksum=digest.hexdigest(),
            report=report_of(inspection),
        )
        upload.save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return upload


def load(upload_id: str) -> Upload | None:
    """Return a stored upload, or None (unknown id, or already committed or discarded)."""
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
    return upload if upload.path.is_file() else None


def pending(user=None) -> list[Upload]:
    """Return the uploads not yet committed (of one user, if given), newest first."""
    root = workspace.uploads_dir()
    if not root.is_dir():
        return []
    found = [u for entry in root.iterdir() if entry.is_dir() and (u := load(entry.name))]
    if user is not None:
        found = [u for u in found if u.user_id == user.pk]
    return sorted(found, key=lambda u: u.created_at, reverse=True)


def discard(upload: Upload) -> None:
    """Remove an upload and its folder."""
    shutil.rmtree(upload.folder, ignore_errors=True)


@contextlib.contextmanager
def commit_lock(upload: Upload):
    """Hold the upload's commit lock; yield False when another request holds it (a double
    click), True otherwise. The lock file goes with the folder once committed."""
    lock = upload.folder / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        yield False
        return
    os.close(fd)
    try:
        yield True
    finally:
        lock.unlink(missing_ok=True)


def prune(days: int = KEEP_DAYS) -> None:
    """Remove upload folders older than `days` (uploads that were never committed)."""
    root = workspace.uploads_dir()
    if not root.is_dir():
        return
    limit = time.time() - days * 86400
    for entry in root.iterdir():
        if entry.is_dir() and _ID.match(entry.name) and entry.stat().st_mtime < limit:
            shutil.rmtree(entry, ignore_errors=True)
