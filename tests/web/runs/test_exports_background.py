"""Large Excel exports are written by the background worker: above exports.BACKGROUND_ROWS
filtered rows, a GET of the export shows what will be exported and a button, its POST queues
the export and opens the export's page, which polls runs:export_status and then offers the
file, kept in PINGJI_HOME/runs/<id>/exports/ under a name showing the filters. Smaller
exports stay a direct download.

The threshold is patched down to a few rows (the small run has 8). Tests of the pending state
queue the task without running it (django-tasks' DummyBackend) and then run it as the worker
would; the others run it inline (ImmediateBackend)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from unittest import mock

from django.conf import settings
from django.test import override_settings
from django.urls import resolve, reverse
from django.utils import timezone
from django_tasks import default_task_backend
from openpyxl import load_workbook
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import exports
from pingji.web.runs.files import exports_dir
from pingji.web.runs.models import ExportJob

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOW = mock.patch.object(exports, "BACKGROUND_ROWS", 5)  # the run has 8 rows, grade C 3


class BackgroundExportCase(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def setUp(self):
        LOW.start()
        self.addCleanup(LOW.stop)
        # the workspace is the class's: no export left over from another test
        shutil.rmtree(exports_dir(self.done.pk), ignore_errors=True)
        self.login(self.viewer)  # viewers may export

    def export_url(self, query: str = "", fmt: str = "xlsx") -> str:
        return reverse("runs:export", args=[self.done.pk, fmt]) + query

    def start(self, query: str = "") -> str:
        """POST the export; return the job id of the page it redirects to."""
        r = self.client.post(self.export_url(query))
        self.assertEqual(r.status_code, 302)
        match = resolve(r["Location"])
        self.assertEqual(match.url_name, "export_job")
        self.assertEqual(match.kwargs["run_id"], self.done.pk)
        return match.kwargs["job_id"]

    def status(self, job: str) -> dict:
        r = self.client.get(reverse("runs:export_status", args=[self.done.pk, job]))
        self.assertEqual(r.status_code, 200)
        return r.json()

    def job_page(self, job: str):
        return self.client.get(reverse("runs:export_job", args=[self.done.pk, job]))

    def download(self, job: str):
        return self.client.get(reverse("runs:export_download", args=[self.done.pk, job]))


class BackgroundExportTest(BackgroundExportCase):
    def test_a_large_export_asks_first_with_a_button_that_posts(self):
        before = len(exports.jobs(self.done.pk))
        r = self.client.get(self.export_url("?grade=&sort=score"))
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r["Content-Type"].startswith("text/html"))
        self.assertContains(r, "筛选后共 8 行，超过 5 行：Excel 文件将在后台生成")
        self.assertContains(
            r, f'<form method="post" action="{self.export_url("?grade=&amp;sort=score")}"'
        )
        self.assertContains(r, "在后台生成 Excel")
        self.assertEqual(len(exports.jobs(self.done.pk)), before)  # nothing started by a GET

    def test_a_small_export_stays_a_direct_download(self):
        for method in (self.client.get, self.client.post):
            r = method(self.export_url("?grade=C"))  # 3 rows
            self.assertEqual(r.status_code, 200)
            self.assertIn(".xlsx", r["Content-Disposition"])
            wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
            self.assertEqual(wb["评价结果"].max_row, 1 + 3)

    def test_the_export_is_written_kept_and_downloaded(self):
        job = self.start()
        status = self.status(job)
        self.assertEqual(
            {k: status[k] for k in ("state", "progress", "stage", "finished", "rows", "error")},
            {
                "state": "done",
                "progress": 100,
                "stage": "完成",
                "finished": True,
                "rows": 8,
                "error": "",
            },
        )
        url = reverse("runs:export_download", args=[self.done.pk, job])
        self.assertEqual(status["download_url"], url)

        page = self.job_page(job)
        self.assertContains(page, "Excel 文件已生成")
        self.assertContains(page, f'href="{url}"')
        self.assertNotContains(page, "data-poll")

        folder = self.home / "runs" / str(self.done.pk) / "exports"
        saved = exports.load_job(self.done.pk, job)
        self.assertTrue(saved.file_name.startswith(f"pingji-run{self.done.pk}-"))
        self.assertTrue((folder / saved.file_name).is_file())
        self.assertFalse(list(folder.glob("*.partial")))

        r = self.download(job)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], XLSX)
        self.assertIn(saved.file_name.split("-2025-")[0], r["Content-Disposition"])
        wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
        self.assertEqual(wb.sheetnames, ["评价结果", "说明"])
        ws = wb["评价结果"]
        header = [c.value for c in ws[1]]
        for name in ("编号", "名称", "得分", "等级", "等级名称", "类别", "状态", "销售额 得分率"):
            self.assertIn(name, header)
        self.assertTrue(all(c.font.b for c in ws[1]))
        self.assertEqual(ws.freeze_panes, "B2")
        self.assertEqual(ws.max_row, 1 + 8)
        grade = ws.cell(row=2, column=header.index("等级") + 1)
        self.assertEqual((grade.value, grade.fill.fgColor.rgb), ("A", "FF1A9850"))
        self.assertEqual(ws.cell(row=2, column=header.index("得分") + 1).number_format, "#,##0.0")
        info = dict(wb["说明"].iter_rows(values_only=True))
        self.assertEqual((info["行数"], info["筛选条件"], info["导出人"]), (8, "全部", "viewer"))

    def test_the_file_name_shows_the_filters_and_the_rows_follow_them(self):
        with mock.patch.object(exports, "BACKGROUND_ROWS", 2):
            job = self.start("?grade=C&sort=score")
        saved = exports.load_job(self.done.pk, job)
        self.assertIn("-等级=C-", saved.file_name)
        self.assertTrue(saved.file_name.endswith(".xlsx"))
        self.assertEqual(saved.filters["sort"], "score")
        ws = load_workbook(io.BytesIO(b"".join(self.download(job).streaming_content)))["评价结果"]
        self.assertEqual(
            [r[0] for r in ws.iter_rows(min_row=2, values_only=True)], ["K07", "K06", "K08"]
        )
        # the same export again, within the same minute: a second file, not the first replaced
        with mock.patch.object(exports, "BACKGROUND_ROWS", 2):
            again = exports.load_job(self.done.pk, self.start("?grade=C&sort=score"))
        self.assertNotEqual(again.file_name, saved.file_name)
        self.assertTrue(saved.path.is_file() and again.path.is_file())

    def test_the_request_page_lists_the_files_already_written(self):
        job = self.start()
        r = self.client.get(self.export_url())
        self.assertContains(r, "已生成的 Excel 文件")
        self.assertContains(r, reverse("runs:export_download", args=[self.done.pk, job]))

    def test_a_failed_export_says_why_and_leaves_no_file(self):
        with mock.patch.object(exports, "write_xlsx", side_effect=OSError("磁盘已满")):
            job = self.start()
        status = self.status(job)
        self.assertEqual(
            (status["state"], status["finished"], status["download_url"]), ("failed", True, None)
        )
        self.assertEqual(status["error"], "OSError: 磁盘已满")
        page = self.job_page(job)
        self.assertContains(page, "导出失败")
        self.assertContains(page, "OSError: 磁盘已满")
        self.assertEqual(self.download(job).status_code, 404)
        saved = exports.load_job(self.done.pk, job)
        self.assertFalse(saved.path.exists())
        self.assertFalse(saved.path.with_name(saved.path.name + ".partial").exists())

    def test_too_many_rows_for_a_sheet_are_refused_before_anything_is_queued(self):
        with mock.patch.object(exports, "EXCEL_MAX_ROWS", 6):
            r = self.client.post(self.export_url(), follow=True)
        self.assertRedirects(r, reverse("runs:detail", args=[self.done.pk]))
        self.assertContains(r, "筛选后共 8 行，超过 Excel 单个工作表的上限 6 行")

    def test_unknown_jobs_and_jobs_of_another_run_are_not_found(self):
        job = self.start()
        other = finished_run(self.version, "2024", self.analyst)
        for name in ("export_job", "export_status", "export_download"):
            for run_id, job_id in (
                (self.done.pk, "0" * 32),
                (self.done.pk, "not-a-job"),
                (other.pk, job),
            ):
                with self.subTest(name=name, job=job_id):
                    r = self.client.get(reverse(f"runs:{name}", args=[run_id, job_id]))
                    self.assertEqual(r.status_code, 404)

    def test_the_export_page_speaks_english_when_asked(self):
        from django.conf import settings

        job = self.start()
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        self.assertEqual(self.status(job)["stage"], "Done")
        self.assertContains(self.job_page(job), "The Excel file is ready")
        self.assertContains(
            self.client.get(self.export_url()), "Generate the Excel file in the background"
        )


class PendingExportTest(BackgroundExportCase):
    def setUp(self):
        super().setUp()
        queued = override_settings(TASKS=DUMMY)  # not for the class: its run must be done
        queued.enable()
        self.addCleanup(queued.disable)
        default_task_backend.clear()

    def work(self) -> None:
        """Run every queued task, as the worker does, and empty the queue."""
        queued = list(default_task_backend.results)
        default_task_backend.clear()
        for r in queued:
            r.task.call(*r.args, **r.kwargs)

    def test_the_post_only_queues_the_export_and_the_page_polls_until_it_is_written(self):
        job = self.start("?grade=")
        self.assertEqual(
            [(r.task.name, list(r.args)) for r in default_task_backend.results],
            [("export_xlsx_task", [self.done.pk, job])],
        )
        self.assertEqual(
            self.status(job),
            {
                "id": job,
                "state": "queued",
                "progress": 0,
                "stage": "排队等待导出",
                "finished": False,
                "rows": 8,
                "error": "",
                "download_url": None,
            },
        )
        page = self.job_page(job)
        self.assertContains(
            page, f'data-poll="{reverse("runs:export_status", args=[self.done.pk, job])}"'
        )
        self.assertContains(page, "正在生成 Excel…")
        self.assertContains(page, "排队等待导出")
        self.assertNotContains(page, "后台任务长时间没有进展")
        self.assertEqual(self.download(job).status_code, 404)

        self.work()
        status = self.status(job)
        self.assertEqual((status["state"], status["finished"]), ("done", True))
        self.assertNotContains(self.job_page(job), "data-poll")
        ws = load_workbook(io.BytesIO(b"".join(self.download(job).streaming_content)))["评价结果"]
        self.assertEqual(ws.max_row, 1 + 8)

    def test_a_second_click_opens_the_export_under_way(self):
        job = self.start("?grade=")
        self.assertEqual(self.start(), job)  # the same rows (an empty filter is no filter)
        self.assertEqual(len(default_task_backend.results), 1)
        other = self.start("?sort=score")  # other order: another file
        self.assertNotEqual(other, job)
        self.work()
        self.assertNotEqual(self.start(), job)  # written: a new export

    def test_the_worker_reports_progress_while_it_writes(self):
        job = self.start()
        seen = []
        write = exports.write_xlsx

        def watched(*args, **kwargs):
            seen.append(self.status(job))
            return write(*args, **kwargs)

        with mock.patch.object(exports, "write_xlsx", watched):
            self.work()
        self.assertEqual(
            (seen[0]["state"], seen[0]["stage"], seen[0]["finished"]),
            ("writing", "正在写入 Excel", False),
        )
        self.assertEqual(self.status(job)["progress"], 100)

    def test_a_task_run_twice_writes_once(self):
        job = self.start()
        queued = list(default_task_backend.results)
        self.work()
        first = exports.load_job(self.done.pk, job)
        with mock.patch.object(exports, "write_xlsx") as write:
            for r in queued:
                r.task.call(*r.args, **r.kwargs)
        write.assert_not_called()
        self.assertEqual(exports.load_job(self.done.pk, job).updated_at, first.updated_at)

    def test_a_job_whose_worker_died_is_marked_failed_and_can_be_started_again(self):
        job = self.start()
        saved = exports.load_job(self.done.pk, job)
        partial = saved.path.with_name(saved.path.name + ".partial")
        partial.write_bytes(b"half an Excel file")
        # the worker took the job, then died: its heartbeat is older than the lease
        old = timezone.now() - dt.timedelta(seconds=settings.PINGJI_JOB_LEASE + 1)
        ExportJob.objects.filter(pk=job).update(state="writing", progress=40, heartbeat_at=old)
        status = self.status(job)
        self.assertEqual((status["state"], status["finished"]), ("failed", True))
        self.assertTrue(status["error"].startswith("任务被中断"))
        self.assertContains(self.job_page(job), "任务被中断")
        self.assertFalse(partial.exists())
        self.work()  # the dead worker's task, run after all, writes nothing
        self.assertFalse(saved.path.exists())
        again = self.start()  # not taken for the same export still under way
        self.assertNotEqual(again, job)
        self.work()
        self.assertEqual(self.status(again)["state"], "done")


class ExportAccessTest(BackgroundExportCase):
    """Same permissions as the direct export: viewers, analysts and administrators; raters
    and users without a role see nothing (404); a wrong method is 405."""

    def test_readers_may_export_in_the_background(self):
        for user in (self.viewer, self.analyst, self.admin):
            with self.subTest(user=user.username):
                self.login(user)
                job = self.start()
                self.assertEqual(self.job_page(job).status_code, 200)
                self.assertEqual(self.status(job)["state"], "done")
                self.assertEqual(self.download(job).status_code, 200)

    def test_raters_and_users_without_a_role_see_nothing(self):
        job = self.start()
        for user in (self.rater, self.nobody):
            with self.subTest(user=user.username):
                self.login(user)
                self.assertEqual(self.client.get(self.export_url()).status_code, 404)
                self.assertEqual(self.client.post(self.export_url()).status_code, 404)
                self.assertEqual(self.job_page(job).status_code, 404)
                r = self.client.get(reverse("runs:export_status", args=[self.done.pk, job]))
                self.assertEqual(r.status_code, 404)
                self.assertEqual(self.download(job).status_code, 404)
        self.client.logout()
        r = self.client.get(reverse("runs:export_status", args=[self.done.pk, job]))
        self.assertEqual(r.status_code, 302)  # to the login page

    def test_a_wrong_method_is_not_allowed(self):
        job = self.start()
        self.assertEqual(self.client.put(self.export_url()).status_code, 405)
        self.assertEqual(self.client.delete(self.export_url()).status_code, 405)
        self.assertEqual(self.client.post(self.export_url(fmt="csv")).status_code, 405)
        for name in ("export_job", "export_status", "export_download"):
            with self.subTest(name=name):
                url = reverse(f"runs:{name}", args=[self.done.pk, job])
                self.assertEqual(self.client.post(url).status_code, 405)
