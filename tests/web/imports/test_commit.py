"""Commit: a checked upload becomes one active batch — all rows or none — stored as typed
Parquet, audited; a file with problems, a duplicate or a failure halfway leaves nothing."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from unittest import mock

import duckdb
from django.urls import reverse

from pingji.web.audit.models import AuditEvent
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import active_batches, commit_batch
from pingji.web.lib import workspace
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import BAD_SALES, GOOD_SALES, csv_file, upload, upload_id


def parquet_files(home: Path) -> list[Path]:
    return sorted((home / "batches").rglob("*.parquet*")) if (home / "batches").exists() else []


class CommitTest(WebTestCase):
    def setUp(self):
        # Batch files of earlier tests (rolled back in the database) would confuse the checks.
        for path in parquet_files(self.home):
            path.unlink()
        self.login(self.analyst)

    def uploaded(self, text=GOOD_SALES, table="sales", name="三月发货.csv") -> str:
        r = upload(self.client, table, csv_file(name, text))
        self.assertEqual(r.status_code, 302)
        return upload_id(r)

    def test_it_creates_one_batch_with_every_row_typed_in_parquet(self):
        uid = self.uploaded()
        r = self.client.post(reverse("imports:commit", args=[uid]))
        batch = ImportBatch.objects.get()
        self.assertRedirects(
            r, reverse("imports:detail", args=[batch.pk]), fetch_redirect_response=False
        )
        self.assertEqual(
            (batch.table, batch.file_name, batch.rows, batch.status, batch.uploaded_by),
            ("sales", "三月发货.csv", 3, "active", self.analyst),
        )
        self.assertEqual(
            (batch.min_date, batch.max_date), (dt.date(2025, 1, 5), dt.date(2025, 3, 20))
        )
        path = workspace.absolute(batch.path)
        self.assertEqual(path, self.home / "batches" / "sales" / f"{batch.pk}.parquet")
        rows = duckdb.sql(
            f"SELECT customer_id, sum(amount), count(*) FROM '{path}' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        self.assertEqual(rows, [("C1", Decimal("350.5000"), 2), ("C2", Decimal("49.9900"), 1)])
        self.assertEqual(list(active_batches()), [batch])
        event = AuditEvent.objects.get(action="import.commit")
        self.assertEqual((event.user, event.object_id), (self.analyst, str(batch.pk)))
        self.assertEqual(event.after["rows"], 3)
        self.assertFalse((self.home / "uploads" / uid).exists())  # the upload is done with

    def test_the_checksum_of_the_file_is_recorded(self):
        import hashlib

        uid = self.uploaded()
        self.client.post(reverse("imports:commit", args=[uid]))
        expected = hashlib.sha256(b"\xef\xbb\xbf" + GOOD_SALES.encode()).hexdigest()
        self.assertEqual(ImportBatch.objects.get().checksum, expected)

    def test_a_file_with_problems_cannot_be_committed(self):
        uid = self.uploaded(BAD_SALES)
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "文件有问题，不能导入")
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(parquet_files(self.home), [])
        self.assertTrue((self.home / "uploads" / uid).is_dir())  # still there to look at

    def test_the_same_file_twice_is_refused_the_second_time(self):
        first, second = self.uploaded(name="a.csv"), self.uploaded(name="b.csv")
        self.client.post(reverse("imports:commit", args=[first]))
        r = self.client.post(reverse("imports:commit", args=[second]), follow=True)
        batch = ImportBatch.objects.get()
        self.assertContains(r, f'此文件已导入为批次 <a href="/imports/{batch.pk}/">#{batch.pk}</a>')
        self.assertEqual(ImportBatch.objects.count(), 1)

    def test_a_second_click_while_committing_is_refused(self):
        uid = self.uploaded()
        (self.home / "uploads" / uid / "commit.lock").touch()
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "此文件正在导入")
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_a_failure_after_the_file_is_written_leaves_no_batch_and_no_file(self):
        uid = self.uploaded()
        with (
            mock.patch(
                "pingji.web.imports.services.record", side_effect=RuntimeError("audit down")
            ),
            self.assertRaises(RuntimeError),
        ):
            self.client.post(reverse("imports:commit", args=[uid]))
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(parquet_files(self.home), [])
        self.assertEqual(AuditEvent.objects.filter(action="import.commit").count(), 0)

    def test_a_failure_while_writing_parquet_leaves_no_batch_and_no_partial_file(self):
        uid = self.uploaded()
        failing = mock.patch("pingji.data.batches.os.replace", side_effect=OSError("disk full"))
        with failing, self.assertRaises(OSError):
            self.client.post(reverse("imports:commit", args=[uid]))
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(parquet_files(self.home), [])


class CommitServiceTest(WebTestCase):
    def test_a_bad_file_raises_and_stores_nothing(self):
        from pingji.errors import DataError

        path = self.home / "bad" / "sales.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BAD_SALES, encoding="utf-8")
        with self.assertRaises(DataError) as err:
            commit_batch(path, "sales", self.analyst)
        self.assertEqual((err.exception.row, err.exception.column), (3, "amount"))
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_it_refuses_a_duplicate_only_when_asked(self):
        from pingji.web.imports.services import DuplicateBatch

        path = self.home / "good" / "sales.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(GOOD_SALES, encoding="utf-8")
        first = commit_batch(path, "sales", self.analyst)
        with self.assertRaises(DuplicateBatch) as err:
            commit_batch(path, "sales", self.analyst, refuse_duplicate=True)
        self.assertEqual(err.exception.batch, first)
        self.assertEqual(ImportBatch.objects.count(), 1)
        commit_batch(path, "sales", self.analyst)  # scripts (and the demo) may re-import
        self.assertEqual(ImportBatch.objects.count(), 2)
