"""Import batches: commit a checked file as a batch, withdraw one, and open the data set of
the active batches for an evaluation. Views and the API call these; no HTTP here."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from pingji.data.batches import BatchDataSet, import_file
from pingji.web.imports.models import ImportBatch
from pingji.web.lib import workspace
from pingji.web.lib.audit import record


def checksum(path: Path) -> str:
    """Return the sha256 of a file (recognises the same file uploaded twice)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def commit_batch(path: Path, table: str, user, shown_as: str | None = None) -> ImportBatch:
    """Check `path` as table `table` and store it as a new active batch — all rows or none.

    Raises pingji.errors.DataError for the first bad row (nothing is stored then)."""
    shown_as = shown_as or path.name
    digest = checksum(path)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            table=table,
            file_name=shown_as,
            checksum=digest,
            rows=0,
            path="",
            uploaded_by=user if user is not None and user.is_authenticated else None,
        )
        out = workspace.batches_dir() / table / f"{batch.pk}.parquet"
        try:
            written = import_file(path, table, out, shown_as=shown_as)
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
                },
            )
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return batch


def withdraw_batch(batch: ImportBatch, user, reason: str) -> None:
    """Withdraw a batch: later runs no longer read it; the file and the record stay."""
    before = {"status": batch.status}
    batch.status = ImportBatch.Status.WITHDRAWN
    batch.withdrawn_by = user
    batch.withdrawn_at = timezone.now()
    batch.withdraw_reason = reason
    batch.save()
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
