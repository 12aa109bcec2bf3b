"""Chinese throughout: a run that failed in the worker reads in the viewer's language, the
API words validation errors in Chinese (English on request), and the audit log shows field
labels, choices in words and a scheme's YAML change as a diff."""

from __future__ import annotations

from unittest import mock

from django.urls import reverse
from tests.web.runs.support import import_small, small_scheme

from pingji import i18n
from pingji.data import open_dataset
from pingji.web.accounts.models import ApiToken
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.audit import record
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run
from pingji.web.runs.services import create_run

# line 3 holds an amount that is not one: the data layer's DataError, raised in the worker
BAD_SALES = "customer_id,date,amount\nK01,2025-03-01,70.00\nK02,2025-04-01,12x\n"
CUSTOMERS = "customer_id,name\nK01,华东机电有限公司\nK02,南方电子股份公司\n"


class FailedRunTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        folder = cls._home / "bad-data"
        folder.mkdir()
        (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
        (folder / "sales.csv").write_text(BAD_SALES, encoding="utf-8")
        cls.sales_file = folder / "sales.csv"
        # the run reads this folder instead of the imported batches (which are clean)
        with mock.patch(
            "pingji.web.runs.execution.open_batches", lambda batches: open_dataset(str(folder))
        ):
            cls.failed_run = create_run(cls.version, "2025", {}, cls.analyst)

    def page(self, **headers):
        self.login(self.viewer)
        return self.client.get(reverse("runs:detail", args=[self.failed_run.pk]), headers=headers)

    def test_it_failed_and_stored_its_error_in_every_language(self):
        self.assertEqual(self.failed_run.status, Run.Status.FAILED)
        stored = self.failed_run.summary["error_text"]
        self.assertEqual(
            stored["en"],
            f"{self.sales_file}:3: column 'amount': not an amount "
            "(got '12x', expected an amount such as 1234.56 (at most 4 decimals))",
        )
        self.assertEqual(
            stored["zh"],
            f"{self.sales_file}:3：列“amount”：不是金额"
            "（实际为 '12x'，应为金额，如 1234.56（最多 4 位小数））",
        )

    def test_its_page_shows_the_error_in_chinese(self):
        r = self.page()
        self.assertContains(r, "运行失败")
        self.assertContains(r, ":3：列“amount”：不是金额（实际为 &#x27;12x&#x27;")
        self.assertNotContains(r, "not an amount")

    def test_its_page_shows_the_error_in_english_to_an_english_reader(self):
        r = self.page(accept_language="en")
        self.assertContains(r, ":3: column &#x27;amount&#x27;: not an amount")
        self.assertNotContains(r, "不是金额")

    def test_the_api_gives_the_error_in_the_callers_language(self):
        key = ApiToken.issue(self.viewer, "t")[1]
        url = f"/api/runs/{self.failed_run.pk}"
        auth = f"Bearer {key}"
        zh = self.client.get(url, headers={"authorization": auth}).json()
        en = self.client.get(url, headers={"authorization": auth, "accept-language": "en"}).json()
        self.assertIn(":3：列“amount”：不是金额", zh["error"])
        self.assertIn(":3: column 'amount': not an amount", en["error"])

    def test_a_run_from_before_shows_its_stored_text(self):
        old = Run.objects.create(
            scheme_version=self.version,
            period="2025",
            status=Run.Status.FAILED,
            error="sales.csv:4: column 'amount': not an amount",
        )
        self.login(self.viewer)
        r = self.client.get(reverse("runs:detail", args=[old.pk]))
        self.assertContains(r, "sales.csv:4: column &#x27;amount&#x27;: not an amount")


class ApiValidationTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.key = ApiToken.issue(cls.analyst, "t")[1]

    def post(self, body, **headers):
        return self.client.post(
            "/api/runs",
            body,
            content_type="application/json",
            headers={"authorization": f"Bearer {self.key}", **headers},
        )

    def test_a_missing_field_is_worded_in_chinese(self):
        r = self.post({"scheme": "x"})
        self.assertEqual(r.status_code, 422)
        detail = r.json()["detail"]
        self.assertEqual(
            [(d["type"], d["loc"][-1], d["msg"]) for d in detail],
            [("missing", "period", "必须填写")],
        )

    def test_a_wrong_type_is_worded_in_chinese_and_in_english_on_request(self):
        body = {"scheme": "x", "period": "2025", "version": "three"}
        [zh] = self.post(body).json()["detail"]
        [en] = self.post(body, accept_language="en").json()["detail"]
        self.assertEqual((zh["loc"][-1], zh["msg"]), ("version", "应为整数"))
        self.assertEqual(en["msg"], "expected a whole number")

    def test_a_query_limit_says_the_limit(self):
        r = self.client.get(
            "/api/runs/1/results", {"size": 1001}, headers={"authorization": f"Bearer {self.key}"}
        )
        self.assertEqual(r.status_code, 422)
        [d] = r.json()["detail"]
        self.assertEqual(d["msg"], "应为不大于 1000 的数")

    def test_the_language_of_a_request_does_not_outlive_it(self):
        self.post({"scheme": "x"})
        self.assertEqual(i18n.language(), "en")


SCHEME_V1 = """\
id: s
label: 测试
entity: customers
period: year
metrics:
  sales: {sum: sales.amount}
tree:
  id: total
  children:
    - {id: a, weight: 1, value: sales, rule: {linear: {zero_at: 0, full_at: 100}}}
"""
SCHEME_V2 = SCHEME_V1.replace("full_at: 100", "full_at: 200")


class AuditWordsTest(WebTestCase):
    def setUp(self):
        AuditEvent.objects.all().delete()
        self.login(self.admin)

    def test_a_status_change_shows_the_fields_label_and_the_choices_words(self):
        record(
            self.analyst,
            "rating.approve",
            object_type="ratings.rating",
            object_id="7",
            before={"status": "submitted", "score": "80"},
            after={"status": "approved", "score": "80"},
        )
        r = self.client.get("/audit/")
        [row] = r.context["rows"]
        status = next(d for d in row["diff"] if d["key"] == "status")
        self.assertEqual(
            (status["label"], status["before"], status["after"]), ("状态", "已提交", "已批准")
        )
        self.assertEqual(row["changed_labels"], ["状态"])
        html = r.content.decode()
        self.assertIn('<th title="status">状态</th>', html)
        self.assertIn("1 项变更：<span", html)
        self.assertNotIn(">submitted<", html)

    def test_a_scheme_yaml_change_is_a_diff_not_both_texts(self):
        record(
            self.analyst,
            "scheme.version.edit",
            object_type="schemes.schemeversion",
            object_id="3",
            before={"yaml": SCHEME_V1, "note": "初稿"},
            after={"yaml": SCHEME_V2, "note": "初稿"},
        )
        r = self.client.get("/audit/")
        [row] = r.context["rows"]
        yaml = next(d for d in row["diff"] if d["key"] == "yaml")
        self.assertEqual(yaml["label"], "YAML")  # the field's verbose_name
        changed = [(line["kind"], line["text"]) for line in yaml["lines"] if line["kind"] in "+-"]
        self.assertEqual(
            changed,
            [
                ("-", "--- 修改前"),
                ("+", "+++ 修改后"),
                ("-", "-    - {id: a, weight: 1, value: sales, rule: {linear: {zero_at: 0, full_at: 100}}}"),
                ("+", "+    - {id: a, weight: 1, value: sales, rule: {linear: {zero_at: 0, full_at: 200}}}"),
            ],
        )  # fmt: skip
        html = r.content.decode()
        # the three lines before the change once (context); the rest of the YAML not at all
        self.assertEqual(html.count("  id: total"), 1)
        self.assertEqual(html.count("  sales: {sum: sales.amount}"), 0)
        self.assertIn('class="diff-line diff-del"', html)
        self.assertIn('class="diff-line diff-add"', html)
        self.assertEqual(row["changed"], ["yaml"])

    def test_a_new_schemes_yaml_is_shown_once(self):
        record(
            self.analyst,
            "scheme.version.create",
            object_type="schemes.schemeversion",
            object_id="4",
            after={"scheme": "s", "number": 1, "yaml": SCHEME_V1},
        )
        r = self.client.get("/audit/")
        [row] = r.context["rows"]
        self.assertEqual(  # in the order the database keeps the keys (jsonb sorts them)
            sorted((d["label"], d["lines"]) for d in row["diff"]),
            sorted([("评价方案", None), ("版本号", None), ("YAML", None)]),
        )
        self.assertEqual(r.content.decode().count("  sales: {sum: sales.amount}"), 1)

    def test_labels_are_english_for_an_english_reader(self):
        record(
            self.analyst,
            "rating.approve",
            object_type="ratings.rating",
            object_id="7",
            before={"status": "submitted"},
            after={"status": "approved"},
        )
        r = self.client.get("/audit/", headers={"accept-language": "en"})
        status = r.context["rows"][0]["diff"][0]
        self.assertEqual((status["before"], status["after"]), ("Submitted", "Approved"))
