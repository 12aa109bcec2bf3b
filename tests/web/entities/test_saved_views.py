"""Saved views: named filter sets of a run's results (per scheme) and of the entity list (per
table), kept per user, optionally shared, listed beside the filters; audited. Role matrix:
it works for whoever sees the list; others' shared views are read-only (403 to delete, an
administrator may); others' private views and lists one cannot see are 404; GET is 405."""

from urllib.parse import quote

from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.audit.models import AuditEvent
from pingji.web.entities.models import SavedView
from pingji.web.lib.testing import WebTestCase


class SavedViewTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst, customers="customers-attrs.csv")
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def save(self, user=None, **data):
        self.login(user or self.analyst)
        form = {
            "page": "results",
            "scope": "runs-test",
            "run": self.done.pk,
            "name": "华东 C 级",
            "query": "attr_region=华东&grade=C&page=3&bogus=1&q=",
            **data,
        }
        return self.client.post(reverse("entities:save_view"), form)

    def run_page(self, query: str = ""):
        return self.client.get(reverse("runs:detail", args=[self.done.pk]) + query)

    def test_it_saves_the_filters_the_page_accepts_and_opens_them(self):
        response = self.save(shared="on")
        view = SavedView.objects.get()
        self.assertEqual(
            (view.user, view.page, view.scope, view.name, view.shared),
            (self.analyst, "results", "runs-test", "华东 C 级", True),
        )
        self.assertEqual(view.query, {"grade": "C", "attr_region": "华东"})  # no page, bogus
        target = reverse("runs:detail", args=[self.done.pk])
        self.assertRedirects(
            response,
            f"{target}?grade=C&attr_region={quote('华东')}#results",
            fetch_redirect_response=False,
        )
        event = AuditEvent.objects.get(action="view.save")
        self.assertEqual(event.after["query"], {"grade": "C", "attr_region": "华东"})
        # listed beside the filters, marked when it is the one shown
        page = self.run_page("?grade=C&attr_region=华东")
        [item] = page.context["saved_views"]
        self.assertTrue(item["active"] and item["own"])
        self.assertEqual(item["url"], f"?grade=C&attr_region={quote('华东')}#results")
        self.assertContains(page, "华东 C 级")
        self.assertEqual([r["entity_id"] for r in page.context["rows"]], ["K07"])
        self.assertFalse(self.run_page().context["saved_views"][0]["active"])

    def test_saving_a_name_again_replaces_its_filters(self):
        self.save()
        self.save(query="attr_owner=张三")
        view = SavedView.objects.get()
        self.assertEqual(view.query, {"attr_owner": "张三"})
        self.assertEqual(AuditEvent.objects.filter(action="view.save").count(), 2)

    def test_a_view_needs_a_name(self):
        response = self.save(name="  ")
        self.assertEqual(response.status_code, 302)
        self.assertFalse(SavedView.objects.exists())
        self.assertContains(self.client.get(response.url), "请为视图起一个名称。")

    def test_a_shared_view_is_listed_for_others_and_a_private_one_is_not(self):
        self.save(shared="on")
        self.save(name="我的")
        self.login(self.viewer)
        items = self.run_page().context["saved_views"]
        self.assertEqual([(i["view"].name, i["own"]) for i in items], [("华东 C 级", False)])
        self.assertContains(self.run_page(), "（analyst 共享）")

    def test_a_results_view_is_not_listed_on_the_entity_list(self):
        self.save(shared="on")
        entities = self.client.get(reverse("entities:list") + "?table=customers")
        self.assertEqual(entities.context["saved_views"], [])

    def test_viewers_may_save_their_own_views(self):
        self.save(user=self.viewer)
        self.assertEqual(SavedView.objects.get().user, self.viewer)

    def test_deleting_ones_own_view(self):
        self.save()
        view = SavedView.objects.get()
        back = reverse("runs:detail", args=[self.done.pk]) + "?grade=C"
        response = self.client.post(reverse("entities:delete_view", args=[view.pk]), {"next": back})
        self.assertRedirects(response, back, fetch_redirect_response=False)
        self.assertFalse(SavedView.objects.exists())
        self.assertTrue(AuditEvent.objects.filter(action="view.delete").exists())

    def test_it_does_not_follow_a_next_address_off_the_site(self):
        self.save()
        view = SavedView.objects.get()
        response = self.client.post(
            reverse("entities:delete_view", args=[view.pk]), {"next": "//evil.example/x"}
        )
        self.assertRedirects(
            response, reverse("runs:list") + "?scheme=runs-test", fetch_redirect_response=False
        )

    def test_others_shared_views_are_403_to_delete_except_for_admins(self):
        self.save(shared="on")
        view = SavedView.objects.get()
        url = reverse("entities:delete_view", args=[view.pk])
        self.login(self.viewer)
        self.assertEqual(self.client.post(url).status_code, 403)
        self.assertTrue(SavedView.objects.exists())
        self.login(self.admin)
        self.assertEqual(self.client.post(url).status_code, 302)
        self.assertFalse(SavedView.objects.exists())

    def test_others_private_views_are_404(self):
        self.save()
        view = SavedView.objects.get()
        self.login(self.viewer)
        self.assertEqual(
            self.client.post(reverse("entities:delete_view", args=[view.pk])).status_code, 404
        )
        self.assertEqual(
            self.client.post(reverse("entities:delete_view", args=[99999])).status_code, 404
        )

    def test_users_who_cannot_see_the_list_get_404(self):
        for user in (self.rater, self.nobody):
            self.assertEqual(self.save(user=user).status_code, 404)
            self.assertEqual(
                self.save(user=user, page="entities", scope="customers").status_code, 404
            )
        self.assertEqual(self.save(page="bogus").status_code, 404)
        self.assertEqual(self.save(run="99999").status_code, 404)
        self.assertEqual(self.save(page="entities", scope="sales").status_code, 404)
        self.assertFalse(SavedView.objects.exists())

    def test_a_get_is_405(self):
        self.save()
        view = SavedView.objects.get()
        self.assertEqual(self.client.get(reverse("entities:save_view")).status_code, 405)
        self.assertEqual(
            self.client.get(reverse("entities:delete_view", args=[view.pk])).status_code, 405
        )

    def test_the_entity_list_has_its_own_views(self):
        response = self.save(
            page="entities", scope="customers", query="table=customers&attr_region=华南&x=1"
        )
        self.assertRedirects(
            response,
            reverse("entities:list") + f"?table=customers&attr_region={quote('华南')}",
            fetch_redirect_response=False,
        )
        view = SavedView.objects.get()
        self.assertEqual(view.query, {"table": "customers", "attr_region": "华南"})
        page = self.client.get(reverse("entities:list") + "?table=customers&attr_region=华南")
        [item] = page.context["saved_views"]
        self.assertTrue(item["active"])
        self.assertEqual([r["id"] for r in page.context["rows"]], ["K02", "K08"])
