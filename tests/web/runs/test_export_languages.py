"""An Excel export refused for its size says so in the reader's language: at once (the
request's) and when the background worker refused it (stored in every language)."""

from __future__ import annotations

from unittest import mock

from django.conf import settings
from tests.web.runs.test_exports_background import BackgroundExportCase

from pingji.web.runs import exports
from pingji.web.runs.models import ExportJob

REFUSED_ZH = "筛选后共 8 行，超过 Excel 单个工作表的上限 6 行：请缩小筛选范围，或导出 CSV。"
REFUSED_EN = (
    "8 rows after filtering, more than the 6 rows an Excel sheet holds: narrow the filters, "
    "or export CSV."
)


class ExportLanguageTest(BackgroundExportCase):
    def speak(self, lang: str) -> None:
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang

    def test_a_refusal_before_queueing_reads_in_the_requests_language(self):
        self.speak("en")
        with mock.patch.object(exports, "EXCEL_MAX_ROWS", 6):
            r = self.client.post(self.export_url(), follow=True)
        self.assertContains(r, REFUSED_EN)
        self.speak("zh-hans")
        with mock.patch.object(exports, "EXCEL_MAX_ROWS", 6):
            r = self.client.post(self.export_url(), follow=True)
        self.assertContains(r, REFUSED_ZH)

    def test_a_refusal_by_the_worker_reads_in_each_readers_language(self):
        refused = exports.ExportRefused(8, 6)
        with mock.patch.object(exports, "write_xlsx", side_effect=refused):
            job = self.start()  # refused while being written (the worker runs it at once)
        self.assertEqual(ExportJob.objects.get(pk=job).state, "failed")
        self.speak("en")
        self.assertEqual(self.status(job)["error"], REFUSED_EN)
        self.assertContains(self.job_page(job), REFUSED_EN)
        self.speak("zh-hans")
        self.assertEqual(self.status(job)["error"], REFUSED_ZH)
        self.assertContains(self.job_page(job), REFUSED_ZH)

    def test_an_error_stored_before_reads_as_written(self):
        job = self.start()
        ExportJob.objects.filter(pk=job).update(state="failed", error="OSError: 磁盘已满")
        self.speak("en")
        self.assertEqual(self.status(job)["error"], "OSError: 磁盘已满")
