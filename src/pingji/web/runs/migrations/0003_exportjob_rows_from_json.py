"""Background Excel exports were described by runs/<run>/exports/<id>.json before they became
rows: make a row of each (one that was queued or being written counts as interrupted) and
remove the JSON."""

import datetime as dt
import json
import re
from pathlib import Path

from django.conf import settings
from django.db import migrations

INTERRUPTED = (
    "任务被中断：执行它的后台任务进程已停止（被强制结束或崩溃），没有留下任何结果；可以立即重试。"
    "\n(Interrupted: the background worker running this job stopped — killed or crashed — "
    "and nothing was kept; it can be retried now.)"
)


def rows_from_json(apps, schema_editor):
    ExportJob = apps.get_model("runs", "ExportJob")
    Run = apps.get_model("runs", "Run")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    root = Path(settings.PINGJI_HOME) / "runs"
    if not root.is_dir():
        return
    for state_file in root.glob("*/exports/*.json"):
        run_folder = state_file.parent.parent.name
        if not (re.fullmatch(r"[0-9a-f]{32}", state_file.stem) and run_folder.isdigit()):
            continue
        if not Run.objects.filter(pk=int(run_folder)).exists():
            continue
        try:
            data = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        state, error = data.get("state", "failed"), data.get("error", "")
        if state in ("queued", "writing"):
            state, error = "failed", INTERRUPTED
        user_id = data.get("user_id")
        try:
            created = dt.datetime.fromisoformat(data["created_at"])
        except (KeyError, TypeError, ValueError):
            created = dt.datetime.now(dt.UTC)
        ExportJob.objects.update_or_create(
            id=state_file.stem,
            defaults={
                "run_id": int(run_folder),
                "file_name": str(data.get("file_name", ""))[:255],
                "filters": data.get("filters") or {},
                "rows": int(data.get("rows") or 0),
                "user_id": user_id if User.objects.filter(pk=user_id).exists() else None,
                "created_at": created,
                "state": state,
                "progress": 100 if state in ("done", "failed") else 0,
                "stage": "" if error == INTERRUPTED else str(data.get("stage", ""))[:100],
                "error": error,
            },
        )
        state_file.unlink()


class Migration(migrations.Migration):
    dependencies = [("runs", "0002_job_leases_exportjob")]

    operations = [migrations.RunPython(rows_from_json, migrations.RunPython.noop)]
