"""/api/batches — upload a file of a data-contract table as one import batch (all rows or
none), and list the batches."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.http import HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from pingji.errors import DataError
from pingji.web.api.access import require
from pingji.web.api.schemas import BatchOut, DataErrorOut, DuplicateOut, Message
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import DuplicateBatch, commit_batch
from pingji.web.imports.tables import importable, spec_of
from pingji.web.lib import workspace

router = Router(tags=["数据导入 batches"])

SUFFIXES = (".csv", ".xlsx", ".parquet")


def _batch(b: ImportBatch) -> dict:
    spec = spec_of(b.table)
    return {
        "id": b.pk,
        "table": b.table,
        "table_label": spec.label if spec else b.table,
        "file_name": b.file_name,
        "rows": b.rows,
        "status": b.status,
        "checksum": b.checksum,
        "min_date": b.min_date,
        "max_date": b.max_date,
        "uploaded_by": b.uploaded_by.get_username() if b.uploaded_by else None,
        "uploaded_at": b.uploaded_at,
        "withdrawn_at": b.withdrawn_at,
    }


def _data_error(exc: DataError) -> dict:
    return {
        "error": exc.render(),
        "file": str(exc.file),
        "row": exc.row,
        "column": exc.column,
        "value": None if exc.value is None else str(exc.value),
        # a message of the data layer: worded in the caller's language, as `error`
        "expected": None if exc.expected is None else str(exc.expected),
    }


@contextlib.contextmanager
def _on_disk(file: UploadedFile, suffix: str):
    """The upload as a file with the right suffix: Django's own temporary file for a large
    upload (no second copy), else a private copy in the workspace; removed afterwards."""
    temporary = getattr(file, "temporary_file_path", None)
    if temporary is not None and Path(temporary()).suffix.lower() == suffix:
        yield Path(temporary())  # Django deletes it after the request
        return
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="api-", dir=workspace.make_tmp_dir())
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


@router.get(
    "/batches",
    response={200: list[BatchOut], 401: Message, 404: Message},
    summary="导入批次列表 (list batches)",
)
def list_batches(request: HttpRequest, table: str | None = None, status: str | None = None):
    """Import batches, newest first; optionally of one table or in one status."""
    require(request, "imports.view_importbatch")
    batches = ImportBatch.objects.select_related("uploaded_by")
    if table:
        batches = batches.filter(table=table)
    if status:
        batches = batches.filter(status=status)
    return [_batch(b) for b in batches]


@router.post(
    "/batches",
    response={
        201: BatchOut,
        400: DataErrorOut,
        401: Message,
        403: Message,
        404: Message,
        409: DuplicateOut,
    },
    summary="上传数据文件 (upload a batch)",
)
def upload_batch(request: HttpRequest, table: Form[str], file: File[UploadedFile]):
    """Upload a CSV, XLSX or Parquet file of the contract table `table`. Every row is checked;
    a bad one refuses the whole file (400, naming row, column, value and what was expected).
    The same file already active for that table answers 409."""
    require(request, "imports.view_importbatch", "imports.add_importbatch")
    name = Path(file.name or "upload").name
    if spec_of(table) is None:
        known = ", ".join(importable())
        err = DataError(name, f"未知的数据表 {table!r} (unknown table)", expected=known)
        return Status(400, _data_error(err))
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        err = DataError(
            name, "文件须为 CSV、XLSX 或 Parquet", value=suffix, expected=".csv/.xlsx/.parquet"
        )
        return Status(400, _data_error(err))
    with _on_disk(file, suffix) as path:
        try:
            batch = commit_batch(path, table, request.user, shown_as=name, refuse_duplicate=True)
        except DuplicateBatch as exc:
            same = exc.batch.pk
            message = (
                f"同一文件已作为批次 #{same} 导入 {table} "
                f"(the same file is already active as batch #{same})"
            )
            return Status(409, {"detail": message, "batch": same})
        except DataError as exc:
            return Status(400, _data_error(exc))
    return Status(201, _batch(batch))
