"""Uploads were described by uploads/<id>/upload.json before they became rows: make a row of
each (an inspection or commit that was under way counts as interrupted) and remove the JSON
and the old commit.lock."""

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
    Upload = apps.get_model("imports", "Upload")
    ImportBatch = apps.get_model("imports", "ImportBatch")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    root = Path(settings.PINGJI_HOME) / "uploads"
    if not root.is_dir():
        return
    for folder in root.iterdir():
        state_file = folder / "upload.json"
        if not (re.fullmatch(r"[0-9a-f]{32}", folder.name) and state_file.is_file()):
            continue
        try:
            data = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        state, error = data.get("state", "ready"), data.get("error", "")
        if state == "inspecting":
            state, error = "failed", INTERRUPTED
        elif state == "committing":
            state, error = "ready", INTERRUPTED
        user_id, batch_id = data.get("user_id"), data.get("batch_id")
        try:
            created = dt.datetime.fromisoformat(data["created_at"])
        except (KeyError, TypeError, ValueError):
            created = dt.datetime.now(dt.UTC)
        Upload.objects.update_or_create(
            id=folder.name,
            defaults={
                "table": str(data.get("table", ""))[:40],
                "file_name": str(data.get("file_name", ""))[:255],
                "user_id": user_id if User.objects.filter(pk=user_id).exists() else None,
                "created_at": created,
                "size": int(data.get("size") or 0),
                "checksum": str(data.get("checksum", ""))[:64],
                "report": data.get("report") or {},
                "state": state,
                "progress": 100 if state in ("ready", "failed", "committed") else 0,
                "stage": "" if error == INTERRUPTED else str(data.get("stage", ""))[:100],
                "error": error,
                "batch_id": batch_id if ImportBatch.objects.filter(pk=batch_id).exists() else None,
            },
        )
        state_file.unlink()
        (folder / "commit.lock").unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [("imports", "0002_upload")]

    operations = [migrations.RunPython(rows_from_json, migrations.RunPython.noop)]
