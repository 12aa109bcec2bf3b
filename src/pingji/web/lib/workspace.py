"""The workspace folder (PINGJI_HOME): where imported data and run results live."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def home() -> Path:
    """Return the workspace folder (read from settings each call, so tests can move it)."""
    return Path(settings.PINGJI_HOME)


def batches_dir() -> Path:
    """Folder of imported batches: batches/<table>/<id>.parquet."""
    return home() / "batches"


def runs_dir() -> Path:
    """Folder of run results: runs/<id>/results.parquet (and raw.parquet)."""
    return home() / "runs"


def uploads_dir() -> Path:
    """Folder of uploaded files waiting to be committed (preview)."""
    return home() / "uploads"


def absolute(relative: str | Path) -> Path:
    """Return a workspace-relative path as an absolute one."""
    return home() / relative


def relative(path: Path) -> str:
    """Return a path inside the workspace as a relative POSIX path (what models store)."""
    return path.resolve().relative_to(home().resolve()).as_posix()


def tmp_dir() -> Path:
    """Folder of temporary files (uploads being received, exports being written, files being
    checked); emptied when `pingji serve` starts."""
    return home() / "tmp"


def make_tmp_dir() -> Path:
    """Return the temporary folder, made if missing."""
    folder = tmp_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
