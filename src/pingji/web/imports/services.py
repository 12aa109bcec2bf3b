"""Import batches: commit a checked file as a batch, withdraw one, and open the data set of
the active batches for an evaluation. Views and the API call these; no HTTP here."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from pingji.data.batches import BatchDataSet, import_file
from pingji.data.contract import TABLES
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.tables import declared
from pingji.web.lib import workspace
from pingji.web.lib.audit import record


def checksum(path: Path) -> str:
    """Return the sha256 of a file (recognises the same file uploaded twice)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DuplicateBatch(ValueError):
    """The same file (same SHA-256) is already an active batch of the same table."""

    def __init__(self, batch: ImportBatch) -> None:
        super().__init__(f"the same file is already active as batch #{batch.pk}")
        self.batch = batch


def find_duplicate(table: str, digest: str) -> ImportBatch | None:
    """Return the active batch of `table` imported from a file with this checksum, if any."""
    return (
        ImportBatch.objects.filter(table=table, checksum=digest, status=ImportBatch.Status.ACTIVE)
        .order_by("uploaded_at", "id")
        .first()
    )


def commit_batch(
    path: Path,
    table: str,
    user,
    shown_as: str | None = None,
    *,
    refuse_duplicate: bool = False,
    digest: str | None = None,
) -> ImportBatch:
    """Check `path` as table `table` and store it as a new active batch — all rows or none.

    The file is checked and written as Parquet under a pending name first (outside any
    database transaction, so a long import does not hold the database's write lock and the
    job's heartbeat keeps beating); then, in one short transaction, the batch row is created
    and the file renamed to <batch id>.parquet. On any failure neither remains (a pending
    file left by a killed process is removed when `pingji serve` starts). Raises
    pingji.errors.DataError for the first bad row, and DuplicateBatch when
    `refuse_duplicate` and the same file is already an active batch of the table."""
    shown_as = shown_as or path.name
    digest = digest or checksum(path)
    if refuse_duplicate and (same := find_duplicate(table, digest)) is not None:
        raise DuplicateBatch(same)  # known before the long part
    pending = workspace.batches_dir() / table / f"pending-{uuid.uuid4().hex}.parquet"
    out: Path | None = None
    try:
        # a table that is not the contract's is one a published scheme declares
        tables = None if table in TABLES else declared()
        written = import_file(path, table, pending, shown_as=shown_as, tables=tables)
        with transaction.atomic():
            if refuse_duplicate and (same := find_duplicate(table, digest)) is not None:
                raise DuplicateBatch(same)
            batch = ImportBatch.objects.create(
                table=table,
                file_name=shown_as,
                checksum=digest,
                rows=0,
                path="",
                uploaded_by=user if user is not None and user.is_authenticated else None,
            )
            out = workspace.batches_dir() / table / f"{batch.pk}.parquet"
            os.replace(pending, out)
            batch.rows, batch.min_date, batch.max_date = (
                written.rows,
                written.min_date,
                written.max_date,
            )
            batch.path = workspace.relative(out)
            batch.save()
            record(
                user,
                "import.commit",
                batch,
                after={
                    "table": table,
                    "file": shown_as,
                    "rows": batch.rows,
                    "checksum": digest,
                    "min_date": batch.min_date,
                    "max_date": batch.max_date,
                },
            )
    except BaseException:
        pending.unlink(missing_ok=True)
        if out is not None:
            out.unlink(missing_ok=True)
        raise
    return batch


class NotActive(ValueError):
    """Only an active batch can be withdrawn."""


def withdraw_batch(batch: ImportBatch, user, reason: str) -> None:
    """Withdraw a batch: later runs no longer read it; the file and the record stay, and runs
    that read it still name it. Raises NotActive for a batch already withdrawn."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ImportBatch.Status.ACTIVE:
            raise NotActive(f"batch #{batch.pk} is already withdrawn")
        before = {"status": locked.status}
        batch.status = ImportBatch.Status.WITHDRAWN
        batch.withdrawn_by = user if user is not None and user.is_authenticated else None
        batch.withdrawn_at = timezone.now()
        batch.withdraw_reason = reason
        batch.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdraw_reason"])
        record(
            user,
            "import.withdraw",
            batch,
            before=before,
            after={"status": batch.status, "reason": reason},
        )


def active_batches():
    """Return the active batches, oldest first (later entity rows replace earlier ones)."""
    return ImportBatch.objects.filter(status=ImportBatch.Status.ACTIVE).order_by(
        "uploaded_at", "id"
    )


def open_batches(batches) -> BatchDataSet:
    """Return the data set an evaluation reads: the given batches, per table, oldest first."""
    files: dict[str, list[Path]] = {}
    ordered = sorted(batches, key=lambda b: (b.uploaded_at, b.pk))
    for b in ordered:
        files.setdefault(b.table, []).append(workspace.absolute(b.path))
    ids = ", ".join(str(b.pk) for b in ordered)
    return BatchDataSet(files, f"import batches {ids}" if ids else "no import batches")
