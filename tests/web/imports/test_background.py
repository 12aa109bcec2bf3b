"""Inspection and commit run in the background worker: the upload and commit views only queue
the task, the preview page shows a progress block polling imports:upload_status while the
task is queued or running, and shows the outcome once it is done.

These tests queue tasks without running them (django-tasks' DummyBackend) and then run each
queued task as the worker would, so every state is seen as a user sees it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks import default_task_backend

from pingji.web.audit.models import AuditEvent
from pingji.web.imports.models import ImportBatch, Upload
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import BAD_SALES, CUSTOMERS, GOOD_SALES, csv_file, upload, upload_id

QUEUED = override_settings(
    TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
)


@QUEUED
class BackgroundTest(WebTestCase):
    def setUp(self):
        default_task_backend.clear()
        self.login(self.analyst)

    def queued(self) -> list:
        """The tasks queued so far: (task name, args)."""
        return [(r.task.name, list(r.args)) for r in default_task_backend.results]

    def work(self) -> None:
        """Run every queued task, as the worker does, and empty the queue."""
        results = list(default_task_backend.results)
        default_task_backend.clear()
        for r in results:
            r.task.call(*r.args, **r.kwargs)

    def status(self, uid: str) -> dict:
        r = self.client.get(reverse("imports:upload_status", args=[uid]))
        self.assertEqual(r.status_code, 200)
        return r.json()

    def uploaded(self, text=GOOD_SALES, name="三月发货.csv") -> str:
        r = upload(self.client, "sales", csv_file(name, text))
        self.assertRedirects(
            r, reverse("imports:preview", args=[upload_id(r)]), fetch_redirect_response=False
        )
        return upload_id(r)

    def test_the_upload_only_stores_the_file_and_queues_its_inspection(self):
        uid = self.uploaded()
        self.assertEqual(self.queued(), [("inspect_upload_task", [uid])])
        self.assertTrue((self.home / "uploads" / uid / "三月发货.csv").is_file())
        self.assertEqual(
            self.status(uid),
            {
                "id": uid,
                "state": "inspecting",
                "progress": 0,
                "stage": "排队等待检查",  # translated (it is a msgid)
                "finished": False,
                "ok": False,
                "error": "",
                "batch": None,
                "batch_url": None,
            },
        )

    def test_the_preview_polls_while_inspecting_then_shows_the_report(self):
        uid = self.uploaded()
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "检查中…")
        self.assertContains(r, f'data-poll="{reverse("imports:upload_status", args=[uid])}"')
        self.assertContains(r, "排队等待检查")
        self.assertNotContains(r, "导入全部")
        self.assertContains(self.client.get(reverse("imports:list")), "检查中")

        self.work()
        status = self.status(uid)
        self.assertEqual(
            (status["state"], status["finished"], status["ok"], status["progress"]),
            ("ready", True, True, 100),
        )
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertNotContains(r, "data-poll")
        self.assertContains(r, "导入全部 3 行")
        self.assertEqual(r.context["report"]["rows"], 3)

    def test_the_progress_block_speaks_english_when_asked(self):
        from django.conf import settings

        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        uid = self.uploaded()
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "Checking…")
        self.assertContains(r, "this page refreshes when the check is done")
        self.assertContains(r, "Queued for checking")
        self.assertEqual(self.status(uid)["stage"], "Queued for checking")

    def test_the_problems_of_a_bad_file_appear_once_inspected(self):
        uid = self.uploaded(BAD_SALES)
        self.work()
        self.assertEqual(self.status(uid)["ok"], False)
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertEqual(r.context["report"]["total"], 4)
        self.assertContains(r, "文件有问题，不能导入")

    def test_a_file_still_being_inspected_cannot_be_committed(self):
        uid = self.uploaded()
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "文件仍在检查中，请稍候。")
        self.assertEqual(self.queued(), [("inspect_upload_task", [uid])])  # no commit queued
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_the_commit_is_queued_and_followed_until_the_batch_exists(self):
        uid = self.uploaded()
        self.work()
        r = self.client.post(reverse("imports:commit", args=[uid]))
        self.assertRedirects(
            r, reverse("imports:preview", args=[uid]), fetch_redirect_response=False
        )
        self.assertEqual(self.queued(), [("commit_upload_task", [uid, self.analyst.pk])])
        self.assertEqual(ImportBatch.objects.count(), 0)
        status = self.status(uid)
        self.assertEqual(
            (status["state"], status["stage"], status["finished"], status["batch"]),
            ("committing", "排队等待导入", False, None),
        )
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "导入中…")
        self.assertContains(r, "data-poll")
        self.assertNotContains(r, "导入全部")
        self.assertNotContains(r, reverse("imports:discard", args=[uid]))

        self.work()
        batch = ImportBatch.objects.get()
        status = self.status(uid)
        self.assertEqual(
            (status["state"], status["finished"], status["batch"], status["batch_url"]),
            ("committed", True, batch.pk, reverse("imports:detail", args=[batch.pk])),
        )
        r = self.client.get(reverse("imports:preview", args=[uid]), follow=True)
        self.assertEqual(r.redirect_chain, [(reverse("imports:detail", args=[batch.pk]), 302)])
        self.assertContains(r, f"已导入批次 #{batch.pk}：发货（sales），3 行。")
        self.assertEqual(batch.rows, 3)
        # audited with the user who clicked, though the worker did the work
        event = AuditEvent.objects.get(action="import.commit")
        self.assertEqual((event.user, event.object_id), (self.analyst, str(batch.pk)))

    def test_a_second_click_while_the_commit_is_queued_queues_nothing(self):
        uid = self.uploaded()
        self.work()
        self.client.post(reverse("imports:commit", args=[uid]))
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "此文件正在导入，请稍候。")
        self.assertEqual(len(self.queued()), 1)
        self.work()
        self.assertEqual(ImportBatch.objects.count(), 1)
        self.assertEqual(Upload.objects.get(pk=uid).state, "committed")

    def test_an_upload_being_committed_cannot_be_discarded_until_its_worker_is_dead(self):
        uid = self.uploaded()
        self.work()
        self.client.post(reverse("imports:commit", args=[uid]))
        r = self.client.post(reverse("imports:discard", args=[uid]), follow=True)
        self.assertContains(r, "此文件正在导入，不能放弃。")
        self.assertTrue((self.home / "uploads" / uid / "三月发货.csv").is_file())

        # a worker took the commit, then died: its heartbeat is older than the lease
        old = timezone.now() - dt.timedelta(seconds=settings.PINGJI_JOB_LEASE + 1)
        Upload.objects.filter(pk=uid).update(heartbeat_at=old, worker_id="gone")
        status = self.status(uid)
        self.assertEqual((status["state"], status["finished"]), ("ready", True))
        self.assertTrue(status["error"].startswith("任务被中断：执行它的后台任务进程已停止"))
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "任务被中断")
        self.assertContains(r, "(Interrupted: the background worker")
        self.assertContains(r, "导入全部 3 行")  # it may be tried again at once
        self.work()  # the dead worker's task, run after all, finds nothing to do
        self.assertEqual(ImportBatch.objects.count(), 0)

        self.client.post(reverse("imports:commit", args=[uid]))
        self.work()
        self.assertEqual(ImportBatch.objects.get().rows, 3)
        self.assertEqual(self.status(uid)["state"], "committed")

    def test_an_upload_being_inspected_by_a_dead_worker_fails_and_can_be_discarded(self):
        uid = self.uploaded()
        old = timezone.now() - dt.timedelta(seconds=settings.PINGJI_JOB_LEASE + 1)
        Upload.objects.filter(pk=uid).update(heartbeat_at=old, progress=10)
        status = self.status(uid)
        self.assertEqual((status["state"], status["finished"]), ("failed", True))
        self.assertIn("任务被中断", status["error"])
        self.client.post(reverse("imports:discard", args=[uid]))
        self.assertFalse((self.home / "uploads" / uid).exists())
        self.assertFalse(Upload.objects.filter(pk=uid).exists())

    def test_an_upload_discarded_while_queued_for_inspection_stays_gone(self):
        uid = self.uploaded()
        self.client.post(reverse("imports:discard", args=[uid]))
        self.work()
        self.assertFalse((self.home / "uploads" / uid).exists())
        self.assertEqual(self.client.get(reverse("imports:preview", args=[uid])).status_code, 404)

    def test_a_failing_commit_task_leaves_no_batch_and_no_file_and_shows_the_error(self):
        uid = self.uploaded()
        self.work()
        self.client.post(reverse("imports:commit", args=[uid]))
        with mock.patch(
            "pingji.web.imports.services.record", side_effect=RuntimeError("audit down")
        ):
            self.work()
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(sorted((self.home / "batches").rglob("*.parquet*")), [])
        status = self.status(uid)
        self.assertEqual(
            (status["state"], status["finished"], status["error"], status["batch"]),
            ("ready", True, "RuntimeError: audit down", None),
        )
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "导入失败，未写入任何数据：")
        self.assertContains(r, "RuntimeError: audit down")
        self.assertContains(r, "导入全部 3 行")  # it may be tried again

    def test_an_inspection_that_breaks_says_so_and_the_file_can_only_be_discarded(self):
        uid = self.uploaded()
        with mock.patch(
            "pingji.web.imports.uploads.inspect_file", side_effect=MemoryError("out of memory")
        ):
            self.work()
        status = self.status(uid)
        self.assertEqual(
            (status["state"], status["finished"], status["error"]),
            ("failed", True, "MemoryError: out of memory"),
        )
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertContains(r, "检查失败")
        self.assertContains(r, "MemoryError: out of memory")
        self.assertNotContains(r, "导入全部")
        r = self.client.post(reverse("imports:commit", args=[uid]), follow=True)
        self.assertContains(r, "文件有问题，不能导入")
        self.assertEqual(self.queued(), [])
        self.client.post(reverse("imports:discard", args=[uid]))
        self.assertFalse((self.home / "uploads" / uid).exists())


class UploadStatusAccessTest(WebTestCase):
    """The status endpoint goes with the preview: the uploader and admins; 403 for viewers,
    404 for raters, users without a role and other analysts; GET only."""

    def setUp(self):
        self.login(self.analyst)
        self.uid = upload_id(upload(self.client, "customers", csv_file("c.csv", CUSTOMERS)))
        self.url = reverse("imports:upload_status", args=[self.uid])
        self.client.logout()

    def code(self, user) -> int:
        self.login(user)
        return self.client.get(self.url).status_code

    def test_the_uploader_and_admins_may_read_it(self):
        self.assertEqual(self.code(self.analyst), 200)
        self.assertEqual(self.client.get(self.url).json()["state"], "ready")
        self.assertEqual(self.code(self.admin), 200)

    def test_viewers_may_not(self):
        self.assertEqual(self.code(self.viewer), 403)

    def test_raters_users_without_a_role_and_other_analysts_do_not_see_it(self):
        other = self.make_user("analyst2", "analyst")
        for user in (self.rater, self.rater_q, self.nobody, other):
            self.assertEqual(self.code(user), 404, user)

    def test_an_unknown_upload_has_no_status(self):
        self.login(self.analyst)
        for uid in ("0" * 32, "not-an-id"):
            url = reverse("imports:upload_status", args=[uid])
            self.assertEqual(self.client.get(url).status_code, 404)

    def test_it_answers_get_only(self):
        self.login(self.analyst)
        self.assertEqual(self.client.post(self.url).status_code, 405)
        self.assertEqual(self.client.put(self.url).status_code, 405)
