"""Where a run's files lie in the workspace: PINGJI_HOME/runs/<id>/ holds results.parquet
(the flat output shape), raw.parquet (the engine's raw columns) and exports/ (kept Excel
exports). The bottom of the runs app: it imports nothing of it but the model's type."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pingji.web.lib import workspace

if TYPE_CHECKING:
    from pingji.web.runs.models import Run


def run_dir(run: Run) -> Path:
    """Return the folder of a run's files: runs/<id>/."""
    return workspace.runs_dir() / str(run.pk)


def results_file(run: Run) -> Path:
    """The flat results of a finished run (one row per entity)."""
    return workspace.absolute(run.results_path)


def raw_file(run: Run) -> Path:
    """The engine's raw columns of a finished run (metric values, node columns)."""
    return workspace.absolute(run.results_path).with_name("raw.parquet")


def exports_dir(run_id: int) -> Path:
    """Folder of a run's kept Excel exports: runs/<id>/exports/."""
    return workspace.runs_dir() / str(int(run_id)) / "exports"
