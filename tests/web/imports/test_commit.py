"""Commit: a checked upload becomes one active batch — all rows or none — stored as typed
Parquet, audited; a file with problems, a duplicate or a failure halfway leaves nothing.

The commit runs as a background task; the test settings run tasks inside the request
(ImmediateBackend), so the task is done when the POST returns (test_background.py covers
the queued and running states)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from decimal import Decimal
from pathlib import Path
from unittest import mock

import duckdb
from django.urls import reverse

from pingji.web.audit.models import AuditEvent
from pingji.web.imports import uploads
from pingji.web.imports.models import ImportBatch, Upload
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
        # the commit page is the upload's page: it follows the task, then opens the batch
        self.assertRedirects(
            r, reverse("imports:preview", args=[uid]), fetch_redirect_response=False
        )
        batch = ImportBatch.objects.get()
        r = self.client.get(r["Location"])
        self.assertRedirects(
            r, reverse("imports:detail", args=[batch.pk]), fetch_redirect_response=False
        )
        r = self.client.get(r["Location"])
        self.assertContains(r, f"已导入批次 #{batch.pk}：发货（sales），3 行。")
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
        # the upload is done with: its file is gone, its record names the batch
        folder = self.home / "uploads" / uid
        self.assertEqual(list(folder.iterdir()), [])
        up = uploads.load(uid)
        self.assertEqual((up.state, up.batch_id, up.progress), ("committed", batch.pk, 100))
        self.assertNotIn(uid, [u.id for u in uploads.pending(self.analyst)])

    def test_committing_again_after_it_is_done_opens_the_same_batch(self):
        uid = self.uploaded()
        self.client.post(reverse("imports:commit", args=[uid]))
        batch = ImportBatch.objects.get()
        r = self.client.post(reverse("imports:commit", args=[uid]))
        self.assertRedirects(
            r, reverse("imports:detail", args=[batch.pk]), fetch_redirect_response=False
        )
        self.assertEqual(ImportBatch.objects.count(), 1)
        r = self.client.post(reverse("imports:discard", args=[uid]))
        self.assertRedirects(
            r, reverse("imports:detail", args=[batch.pk]), fetch_redirect_response=False
        )

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
        Upload.objects.filter(pk=uid).update(state="committing")  # another click's commit
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "此文件正在导入")
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(uploads.load(uid).state, "committing")  # the other click owns it

    def failed_commit(self, uid: str):
        """POST the commit and follow to the upload's page (the task failed inside it)."""
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertEqual(r.redirect_chain, [(reverse("imports:preview", args=[uid]), 302)])
        return r

    def assert_nothing_stored_and_ready_again(self, uid: str):
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(parquet_files(self.home), [])
        self.assertEqual(AuditEvent.objects.filter(action="import.commit").count(), 0)
        folder = self.home / "uploads" / uid
        self.assertEqual(sorted(p.name for p in folder.iterdir()), ["三月发货.csv"])
        self.assertEqual(uploads.load(uid).state, "ready")  # it may be tried again

    def test_a_failure_after_the_file_is_written_leaves_no_batch_and_no_file(self):
        uid = self.uploaded()
        with mock.patch(
            "pingji.web.imports.services.record", side_effect=RuntimeError("audit down")
        ):
            r = self.failed_commit(uid)
        self.assertContains(r, "导入失败，未写入任何数据：")
        self.assertContains(r, "RuntimeError: audit down")
        self.assert_nothing_stored_and_ready_again(uid)
        self.assertContains(r, "导入全部 3 行")  # it may be tried again, and then it works
        self.client.post(reverse("imports:commit", args=[uid]))
        self.assertEqual(ImportBatch.objects.get().rows, 3)
        self.assertEqual(uploads.load(uid).error, "")

    def test_a_failure_while_writing_parquet_leaves_no_batch_and_no_partial_file(self):
        uid = self.uploaded()
        real_replace = os.replace

        def replace(source, target):  # fails for the Parquet file only
            if str(source).endswith(".parquet.partial"):
                raise OSError("disk full")
            return real_replace(source, target)

        with mock.patch("pingji.data.batches.os.replace", side_effect=replace):
            r = self.failed_commit(uid)
        self.assertContains(r, "OSError: disk full")
        self.assert_nothing_stored_and_ready_again(uid)

    def test_a_row_refused_at_commit_is_named_with_its_line_and_column(self):
        from pingji.errors import DataError

        uid = self.uploaded()
        refused = DataError(
            "三月发货.csv", "不是金额", row=3, column="amount", value="x", expected="金额"
        )
        with mock.patch("pingji.web.imports.services.import_file", side_effect=refused):
            r = self.failed_commit(uid)
        self.assertContains(r, "导入失败，未写入任何数据：")
        self.assertContains(r, "三月发货.csv:3：列“amount”：不是金额")
        self.assert_nothing_stored_and_ready_again(uid)

    def test_a_file_committed_meanwhile_is_refused_as_a_duplicate(self):
        """The duplicate check runs again inside the task (another upload of the same file may
        have been committed between the click and the task)."""
        uid = self.uploaded()
        earlier = commit_batch(uploads.load(uid).path, "sales", self.analyst, shown_as="早先.csv")
        with mock.patch("pingji.web.imports.views.find_duplicate", return_value=None):
            self.client.post(reverse("imports:commit", args=[uid]))  # the view saw none
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertEqual(ImportBatch.objects.get(), earlier)
        self.assertContains(r, f"导入为批次 #{earlier.pk}")
        self.assertNotContains(r, "导入全部")
        self.assertEqual(uploads.load(uid).state, "ready")


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
