"""Workspaces of the version before background jobs were rows: each uploads/<id>/upload.json
and runs/<run>/exports/<id>.json becomes a row (the data migrations imports 0003 and
runs 0003); work that was under way counts as interrupted."""

from __future__ import annotations

import importlib
import json
import uuid

from django.apps import apps

from pingji.templates import builtin_text
from pingji.web.imports.models import Upload
from pingji.web.jobs import lease
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import ExportJob, Run
from pingji.web.schemes.services import add_version, publish


def migration(name: str):
    return importlib.import_module(f"pingji.web.{name}")


class LegacyJsonTest(WebTestCase):
    def write_upload(self, state: str, **extra) -> str:
        uid = uuid.uuid4().hex
        folder = self.home / "uploads" / uid
        folder.mkdir(parents=True)
        (folder / "a.csv").write_text("customer_id\nC1\n", encoding="utf-8")
        data = {
            "id": uid,
            "table": "customers",
            "file_name": "a.csv",
            "user_id": self.analyst.pk,
            "created_at": "2026-11-30T08:00:00+00:00",
            "size": 15,
            "checksum": "ab" * 32,
            "report": {"ok": True, "rows": 1},
            "state": state,
            "progress": 10,
            "stage": "正在写入数据",
            "error": "",
            "batch_id": None,
            "updated_at": "2026-11-30T08:00:01+00:00",
            **extra,
        }
        (folder / "upload.json").write_text(json.dumps(data), encoding="utf-8")
        (folder / "commit.lock").touch()
        return uid

    def test_uploads_become_rows_and_a_commit_under_way_is_interrupted(self):
        ready, committing = self.write_upload("ready"), self.write_upload("committing")
        migration("imports.migrations.0003_upload_rows_from_json").rows_from_json(apps, None)
        first, second = Upload.objects.get(pk=ready), Upload.objects.get(pk=committing)
        self.assertEqual((first.state, first.error, first.user), ("ready", "", self.analyst))
        self.assertEqual(first.report, {"ok": True, "rows": 1})
        self.assertEqual((second.state, second.error), ("ready", lease.INTERRUPTED))
        self.assertEqual(first.created_at.isoformat(), "2026-11-30T08:00:00+00:00")
        for uid in (ready, committing):
            self.assertEqual([p.name for p in (self.home / "uploads" / uid).iterdir()], ["a.csv"])

    def test_exports_become_rows_and_one_being_written_is_interrupted(self):
        version = publish(
            add_version(builtin_text("customer-composite"), self.analyst), self.analyst
        )
        run = Run.objects.create(scheme_version=version, period="2025", status="done")
        folder = self.home / "runs" / str(run.pk) / "exports"
        folder.mkdir(parents=True)
        jobs = {}
        for state in ("done", "writing"):
            job_id = uuid.uuid4().hex
            jobs[state] = job_id
            data = {
                "id": job_id,
                "run_id": run.pk,
                "file_name": f"pingji-run{run.pk}-{state}.xlsx",
                "filters": {"grade": "A", "sort": "-score"},
                "rows": 30000,
                "user_id": self.viewer.pk,
                "created_at": "2026-11-30T08:00:00+00:00",
                "state": state,
                "progress": 40,
                "stage": "",
                "error": "",
            }
            (folder / f"{job_id}.json").write_text(json.dumps(data), encoding="utf-8")
        migration("runs.migrations.0003_exportjob_rows_from_json").rows_from_json(apps, None)
        done, writing = (
            ExportJob.objects.get(pk=jobs["done"]),
            ExportJob.objects.get(pk=jobs["writing"]),
        )
        self.assertEqual(
            (done.state, done.rows, done.user, done.run), ("done", 30000, self.viewer, run)
        )
        self.assertEqual(done.describe(), "等级=A")
        self.assertEqual((writing.state, writing.error), ("failed", lease.INTERRUPTED))
        self.assertEqual(list(folder.glob("*.json")), [])
