"""The schemes list: every scheme with its entity, period kind, versions and runs."""

from pingji.templates import builtin_text
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run
from pingji.web.schemes.services import add_version, publish


class SchemeListTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        v1 = add_version(builtin_text("customer-composite"), cls.analyst)
        publish(v1, cls.analyst)
        add_version(builtin_text("customer-composite") + "# 第二版\n", cls.analyst)
        add_version(builtin_text("customer-composite") + "# 第三版\n", cls.analyst)
        Run.objects.create(scheme_version=v1, period="2025", status="done")
        Run.objects.create(scheme_version=v1, period="2024", status="done")
        add_version(builtin_text("supplier-rating"), cls.analyst)

    def test_it_lists_every_scheme_for_each_reading_role(self):
        for user in (self.admin, self.analyst, self.rater, self.viewer):
            self.login(user)
            r = self.client.get("/schemes/")
            self.assertEqual(r.status_code, 200, user.username)
            self.assertContains(r, "客户综合评价")
            self.assertContains(r, "供应商等级评定")

    def test_it_shows_entity_period_versions_drafts_and_runs(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/")
        rows = {row["scheme"].code: row for row in r.context["rows"]}
        composite = rows["customer-composite"]
        self.assertEqual(composite["entity_label"], "客户")
        self.assertEqual(composite["period_label"], "年度")
        self.assertEqual(composite["scheme"].published, 1)
        self.assertEqual(composite["scheme"].drafts, 2)
        self.assertEqual(composite["scheme"].runs, 2)
        supplier = rows["supplier-rating"]
        self.assertEqual(supplier["entity_label"], "供应商")
        self.assertEqual(supplier["period_label"], "月度")
        self.assertIsNone(supplier["scheme"].published)
        self.assertEqual(supplier["scheme"].drafts, 1)
        self.assertContains(r, 'href="/schemes/customer-composite/v1/"')
        self.assertContains(r, "未发布")

    def test_it_filters_by_entity_and_search(self):
        self.login(self.analyst)
        r = self.client.get("/schemes/", {"entity": "suppliers"})
        self.assertEqual([row["scheme"].code for row in r.context["rows"]], ["supplier-rating"])
        r = self.client.get("/schemes/", {"q": "综合"})
        self.assertEqual([row["scheme"].code for row in r.context["rows"]], ["customer-composite"])
        r = self.client.get("/schemes/", {"q": "no-such-scheme"})
        self.assertContains(r, "没有符合条件的方案")

    def test_it_sorts_by_runs(self):
        self.login(self.analyst)
        r = self.client.get("/schemes/", {"sort": "runs"})
        codes = [row["scheme"].code for row in r.context["rows"]]
        self.assertEqual(codes, ["customer-composite", "supplier-rating"])

    def test_it_offers_upload_only_to_who_may_add(self):
        self.login(self.analyst)
        self.assertContains(self.client.get("/schemes/"), 'href="/schemes/upload/"')
        self.login(self.viewer)
        self.assertNotContains(self.client.get("/schemes/"), 'href="/schemes/upload/"')

    def test_it_hides_schemes_from_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get("/schemes/").status_code, 404)

    def test_it_refuses_post(self):
        self.login(self.admin)
        self.assertEqual(self.client.post("/schemes/").status_code, 405)
