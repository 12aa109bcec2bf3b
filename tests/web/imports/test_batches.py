"""The batch list and a batch's page (viewer and up), and withdrawing a batch (analyst and
admin, a reason required): audited, the file kept, later runs skip it, earlier runs keep it."""

from __future__ import annotations

from django.urls import reverse

from pingji.templates import builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import active_batches, commit_batch, open_batches
from pingji.web.lib import workspace
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run
from pingji.web.schemes.services import add_version


class BatchPagesTest(WebTestCase):
    def setUp(self):
        folder = self.home / "files"
        folder.mkdir(exist_ok=True)
        sales = folder / "sales.csv"
        # 60 rows: C0 … C59, month 1 + i // 30, day 1 + i % 28 (2025-01-01 … 2025-02-28)
        sales.write_text(
            "customer_id,date,amount\n"
            + "".join(f"C{i},2025-{1 + i // 30:02d}-{1 + i % 28:02d},{i}.50\n" for i in range(60)),
            encoding="utf-8",
        )
        customers = folder / "customers.csv"
        customers.write_text("customer_id,name\nC1,甲\nC2,乙\n", encoding="utf-8")
        self.sales = commit_batch(sales, "sales", self.analyst)
        self.customers = commit_batch(customers, "customers", self.admin)

    def test_the_list_shows_every_batch_with_who_when_rows_and_dates(self):
        self.login(self.viewer)
        r = self.client.get(reverse("imports:list"))
        self.assertEqual(list(r.context["page"]), [self.customers, self.sales])
        self.assertContains(r, "sales.csv")
        self.assertContains(r, "customers.csv")
        self.assertContains(r, "2025-01-01 — 2025-02-28")
        self.assertContains(r, "analyst")
        self.assertNotContains(r, "上传文件")  # a viewer cannot upload
        summary = {row["table"]: (row["batches"], row["rows"]) for row in r.context["summary"]}
        self.assertEqual(summary, {"customers": (1, 2), "sales": (1, 60)})

    def test_the_list_filters_by_table_and_status(self):
        self.login(self.analyst)
        r = self.client.get(reverse("imports:list"), {"table": "sales"})
        self.assertEqual(list(r.context["page"]), [self.sales])
        self.client.post(reverse("imports:withdraw", args=[self.sales.pk]), {"reason": "重复"})
        r = self.client.get(reverse("imports:list"), {"status": "withdrawn"})
        self.assertEqual(list(r.context["page"]), [self.sales])
        r = self.client.get(reverse("imports:list"), {"status": "active"})
        self.assertEqual(list(r.context["page"]), [self.customers])
        r = self.client.get(reverse("imports:list"), {"table": "nonsense", "status": "x"})
        self.assertEqual(len(r.context["page"]), 2)  # unknown filters are ignored

    def test_the_list_names_the_runs_that_read_a_batch(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        run = Run.objects.create(scheme_version=version, period="2025")
        run.batches.add(self.sales)
        self.login(self.viewer)
        r = self.client.get(reverse("imports:list"))
        self.assertContains(r, f'href="{reverse("runs:detail", args=[run.pk])}"')

    def test_a_batch_page_shows_its_facts_and_first_50_rows(self):
        self.login(self.viewer)
        r = self.client.get(reverse("imports:detail", args=[self.sales.pk]))
        self.assertEqual(r.context["headers"], ["客户编号", "日期", "金额", "批号"])
        self.assertEqual(len(r.context["rows"]), 50)
        self.assertEqual(r.context["rows"][0], ["C0", "2025-01-01", "0.50", ""])
        self.assertContains(r, self.sales.checksum)
        self.assertIsNone(r.context["withdraw_form"])  # a viewer cannot withdraw
        self.assertContains(r, "导入")  # the audit trail lists the commit
        self.assertEqual([e.action for e in r.context["events"]], ["import.commit"])

    def test_an_analyst_sees_the_withdraw_form(self):
        self.login(self.analyst)
        r = self.client.get(reverse("imports:detail", args=[self.sales.pk]))
        self.assertIsNotNone(r.context["withdraw_form"])
        self.assertContains(r, "撤回批次")


class WithdrawTest(WebTestCase):
    def setUp(self):
        path = self.home / "sales.csv"
        path.write_text("customer_id,date,amount\nC1,2025-01-01,1\n", encoding="utf-8")
        self.batch = commit_batch(path, "sales", self.analyst)
        self.url = reverse("imports:withdraw", args=[self.batch.pk])

    def test_it_withdraws_with_a_reason_audited_and_keeps_the_file(self):
        self.login(self.analyst)
        r = self.client.post(self.url, {"reason": "数据口径错误"})
        self.assertRedirects(
            r, reverse("imports:detail", args=[self.batch.pk]), fetch_redirect_response=False
        )
        self.batch.refresh_from_db()
        self.assertEqual(
            (self.batch.status, self.batch.withdrawn_by, self.batch.withdraw_reason),
            ("withdrawn", self.analyst, "数据口径错误"),
        )
        self.assertIsNotNone(self.batch.withdrawn_at)
        self.assertTrue(workspace.absolute(self.batch.path).is_file())
        self.assertNotIn(self.batch, active_batches())
        self.assertFalse(open_batches(active_batches()).has("sales"))
        event = AuditEvent.objects.get(action="import.withdraw")
        self.assertEqual(event.user, self.analyst)
        self.assertEqual(event.before, {"status": "active"})
        self.assertEqual(event.after, {"status": "withdrawn", "reason": "数据口径错误"})

    def test_a_run_that_read_it_still_names_it(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        run = Run.objects.create(scheme_version=version, period="2025")
        run.batches.set(active_batches())
        self.login(self.admin)
        self.client.post(self.url, {"reason": "撤回"})
        self.assertEqual(list(run.batches.all()), [self.batch])
        r = self.client.get(reverse("imports:detail", args=[self.batch.pk]))
        self.assertEqual(list(r.context["runs"]), [run])

    def test_it_requires_a_reason(self):
        self.login(self.analyst)
        r = self.client.post(self.url, {"reason": "   "}, follow=True)
        self.assertContains(r, "请填写撤回原因")
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.status, "active")
        self.assertFalse(AuditEvent.objects.filter(action="import.withdraw").exists())

    def test_a_withdrawn_batch_cannot_be_withdrawn_again(self):
        self.login(self.analyst)
        self.client.post(self.url, {"reason": "第一次"})
        r = self.client.post(self.url, {"reason": "第二次"}, follow=True)
        self.assertContains(r, "已撤回，不能再次撤回")
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.withdraw_reason, "第一次")
        self.assertEqual(AuditEvent.objects.filter(action="import.withdraw").count(), 1)


class BatchAccessTest(WebTestCase):
    def setUp(self):
        path = self.home / "customers.csv"
        path.write_text("customer_id\nC1\n", encoding="utf-8")
        self.batch = commit_batch(path, "customers", self.analyst)
        self.list_url = reverse("imports:list")
        self.detail_url = reverse("imports:detail", args=[self.batch.pk])
        self.withdraw_url = reverse("imports:withdraw", args=[self.batch.pk])

    def test_viewers_analysts_and_admins_see_the_list_and_a_batch(self):
        for user in (self.viewer, self.analyst, self.admin):
            self.login(user)
            self.assertEqual(self.client.get(self.list_url).status_code, 200, user)
            self.assertEqual(self.client.get(self.detail_url).status_code, 200, user)

    def test_a_viewer_may_not_withdraw(self):
        self.login(self.viewer)
        self.assertEqual(self.client.post(self.withdraw_url, {"reason": "x"}).status_code, 403)
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.status, "active")

    def test_raters_and_users_without_a_role_see_nothing(self):
        for user in (self.rater, self.nobody):
            self.login(user)
            self.assertEqual(self.client.get(self.list_url).status_code, 404, user)
            self.assertEqual(self.client.get(self.detail_url).status_code, 404, user)
            self.assertEqual(
                self.client.post(self.withdraw_url, {"reason": "x"}).status_code, 404, user
            )
        self.batch.refresh_from_db()
        self.assertEqual(self.batch.status, "active")

    def test_an_unknown_batch_is_not_found(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get(reverse("imports:detail", args=[999999])).status_code, 404)

    def test_wrong_methods_are_refused(self):
        self.login(self.analyst)
        self.assertEqual(self.client.post(self.list_url).status_code, 405)
        self.assertEqual(self.client.post(self.detail_url).status_code, 405)
        self.assertEqual(self.client.get(self.withdraw_url).status_code, 405)

    def test_anonymous_users_are_sent_to_log_in(self):
        r = self.client.get(self.list_url)
        self.assertEqual(r.status_code, 302)
        self.assertIn("/login/", r["Location"])
        self.assertEqual(ImportBatch.objects.count(), 1)
