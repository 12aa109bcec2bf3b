"""An upload's problems and errors are stored as message ids, not as text: each reader sees
them in their own language, whatever the uploader's was."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from pingji.errors import DataError
from pingji.i18n import msg
from pingji.web.imports.models import Upload
from pingji.web.lib.language import stored_text
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import BAD_SALES, GOOD_SALES, csv_file, upload, upload_id

# the inspection runs in the uploader's request, in the uploader's language
IMMEDIATE = override_settings(
    TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
)
WIDE = ",".join(["customer_id", "date", "amount", *(f"x{i}" for i in range(1_200))]) + "\n"
WIDE_ZH = "文件有 1,203 列，超过上限 1,000 列：请只保留需要的列"
WIDE_EN = "the file has 1,203 columns, more than the limit of 1,000: keep only the columns needed"


@IMMEDIATE
class UploadLanguageTest(WebTestCase):
    def speak(self, lang: str) -> None:
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang

    def uploaded(self, lang: str, text: str, name: str = "发货.csv") -> str:
        self.login(self.analyst)
        self.speak(lang)
        return upload_id(upload(self.client, "sales", csv_file(name, text)))

    def read(self, uid: str, lang: str, user=None):
        """The preview page as `user` (the uploader by default) reading in `lang`."""
        self.login(user or self.analyst)
        self.speak(lang)
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertEqual(r.status_code, 200)
        return r

    def test_a_file_problem_uploaded_in_chinese_reads_in_english_for_an_english_reader(self):
        uid = self.uploaded("zh-hans", WIDE)
        stored = Upload.objects.get(pk=uid).report["problems"][0]["message"]
        self.assertEqual(
            stored["msgid"],
            "the file has {count:,} columns, more than the limit "
            "of {limit:,}: keep only the columns needed",
        )
        self.assertEqual(stored["params"], {"count": 1203, "limit": 1000})
        self.assertEqual(self.read(uid, "zh-hans").context["problems"][0]["why"], WIDE_ZH)
        english = self.read(uid, "en", self.admin)
        self.assertEqual(english.context["problems"][0]["why"], WIDE_EN)
        self.assertContains(english, WIDE_EN)
        self.assertNotContains(english, WIDE_ZH)

    def test_a_file_problem_uploaded_in_english_reads_in_chinese_for_a_chinese_reader(self):
        uid = self.uploaded("en", WIDE)
        self.assertEqual(self.read(uid, "en").context["problems"][0]["why"], WIDE_EN)
        chinese = self.read(uid, "zh-hans", self.admin)
        self.assertContains(chinese, WIDE_ZH)
        self.assertNotContains(chinese, WIDE_EN)

    def test_row_problems_read_in_each_readers_language(self):
        uid = self.uploaded("zh-hans", BAD_SALES)
        why = [p["why"] for p in self.read(uid, "en", self.admin).context["problems"]]
        self.assertEqual(why[0], "not an amount")
        why = [p["why"] for p in self.read(uid, "zh-hans").context["problems"]]
        self.assertEqual(why[0], "不是金额")

    def test_a_failed_inspection_reads_in_each_readers_language(self):
        error = DataError("发货.csv", msg("the data folder does not exist"))
        with mock.patch("pingji.web.imports.uploads.inspect_file", side_effect=error):
            uid = self.uploaded("zh-hans", GOOD_SALES)
        self.assertEqual(Upload.objects.get(pk=uid).state, "failed")

        chinese = self.read(uid, "zh-hans")
        self.assertContains(chinese, "发货.csv：数据目录不存在")
        status = self.client.get(reverse("imports:upload_status", args=[uid])).json()
        self.assertEqual(status["error"], "发货.csv：数据目录不存在")

        english = self.read(uid, "en", self.admin)
        self.assertContains(english, "发货.csv: the data folder does not exist")
        self.assertNotContains(english, "数据目录不存在")
        status = self.client.get(reverse("imports:upload_status", args=[uid])).json()
        self.assertEqual(status["error"], "发货.csv: the data folder does not exist")

    def test_a_failed_commit_reads_in_each_readers_language(self):
        uid = self.uploaded("en", GOOD_SALES)
        error = DataError("发货.csv", msg("line 1 is empty: a header row is required"), row=1)
        with mock.patch("pingji.web.imports.services.import_file", side_effect=error):
            self.client.post(reverse("imports:commit", args=[uid]))
        up = Upload.objects.get(pk=uid)
        self.assertEqual(up.state, "ready")
        chinese = self.read(uid, "zh-hans", self.admin)
        self.assertContains(chinese, "发货.csv:1：第 1 行为空：需要表头行")
        english = self.read(uid, "en")
        self.assertContains(english, "发货.csv:1: line 1 is empty: a header row is required")

    def test_errors_and_messages_stored_before_read_as_they_were_written(self):
        uid = self.uploaded("zh-hans", WIDE)
        up = Upload.objects.get(pk=uid)
        up.report["problems"][0]["message"] = "an old English text"
        up.error = "ValueError: 旧的错误"
        up.save()
        r = self.read(uid, "en")
        self.assertEqual(r.context["problems"][0]["why"], "an old English text")
        self.assertContains(r, "ValueError: 旧的错误")


class StoredTextTest(WebTestCase):
    def test_a_message_is_stored_as_its_id_and_worded_per_reader(self):
        from pingji.i18n import use_language
        from pingji.web.lib.language import viewer_text

        stored = stored_text(msg("the data folder does not exist"))
        self.assertEqual(stored, '{"msgid": "the data folder does not exist", "params": {}}')
        with use_language("zh"):
            self.assertEqual(viewer_text(stored), "数据目录不存在")
        with use_language("en"):
            self.assertEqual(viewer_text(stored), "the data folder does not exist")
            self.assertEqual(viewer_text("{not json}"), "{not json}")
            self.assertEqual(viewer_text(""), "")
