"""Publish (draft → published, immutable), new draft from a version, delete a draft."""

from pingji.templates import builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.ratings.models import Assignment
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.services import add_version, publish

TEXT = builtin_text("customer-composite")


class PublishTest(WebTestCase):
    def setUp(self):
        self.draft = add_version(TEXT, self.analyst)
        self.url = "/schemes/customer-composite/v1/publish/"

    def test_it_publishes_a_draft_and_audits_it(self):
        self.login(self.analyst)
        r = self.client.post(self.url)
        self.assertRedirects(r, "/schemes/customer-composite/v1/", fetch_redirect_response=False)
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.status, "published")
        self.assertEqual(self.draft.published_by, self.analyst)
        self.assertIsNotNone(self.draft.published_at)
        event = AuditEvent.objects.get(action="scheme.version.publish")
        self.assertEqual(
            (event.before, event.after), ({"status": "draft"}, {"status": "published"})
        )
        r = self.client.get("/schemes/customer-composite/v1/")
        self.assertContains(r, "已发布第 1 版")
        self.assertContains(r, "内容不可再修改")

    def test_it_makes_the_version_immutable(self):
        self.login(self.analyst)
        self.client.post(self.url)
        r = self.client.post(
            "/schemes/customer-composite/v1/edit/", {"yaml": TEXT.replace("min: 90", "min: 95")}
        )
        self.assertEqual(r.status_code, 302)
        r = self.client.post("/schemes/customer-composite/v1/delete/", follow=True)
        self.assertContains(r, "已发布的版本不可删除")
        self.draft.refresh_from_db()
        self.assertEqual((self.draft.yaml, self.draft.status), (TEXT, "published"))
        self.assertFalse(
            AuditEvent.objects.filter(action__in=["scheme.version.edit", "scheme.version.delete"])
        )

    def test_it_says_so_when_already_published(self):
        publish(self.draft, self.analyst)
        self.login(self.admin)
        r = self.client.post(self.url, follow=True)
        self.assertContains(r, "第 1 版已经发布")
        self.assertEqual(AuditEvent.objects.filter(action="scheme.version.publish").count(), 1)

    def test_it_forbids_publishing_to_readers(self):
        for user in (self.viewer, self.rater):
            self.login(user)
            self.assertEqual(self.client.post(self.url).status_code, 403)
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.status, "draft")

    def test_it_hides_publishing_from_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.post(self.url).status_code, 404)

    def test_it_refuses_get(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.status, "draft")


class CopyTest(WebTestCase):
    def setUp(self):
        self.published = publish(add_version(TEXT, self.analyst), self.analyst)
        self.url = "/schemes/customer-composite/v1/copy/"

    def test_it_starts_a_new_draft_from_a_published_version(self):
        self.login(self.analyst)
        r = self.client.post(self.url)
        self.assertRedirects(
            r, "/schemes/customer-composite/v2/edit/", fetch_redirect_response=False
        )
        draft = SchemeVersion.objects.get(number=2)
        # the copy says its own number in the YAML too (`version: 1` → `version: 2`)
        copied = TEXT.replace("\nversion: 1\n", "\nversion: 2\n", 1)
        self.assertNotEqual(copied, TEXT)
        self.assertEqual((draft.status, draft.yaml, draft.note), ("draft", copied, "基于第 1 版"))
        self.assertTrue(AuditEvent.objects.filter(action="scheme.version.create").exists())

    def test_it_forbids_copying_to_readers(self):
        for user in (self.viewer, self.rater):
            self.login(user)
            self.assertEqual(self.client.post(self.url).status_code, 403)
        self.login(self.nobody)
        self.assertEqual(self.client.post(self.url).status_code, 404)
        self.assertEqual(SchemeVersion.objects.count(), 1)

    def test_it_refuses_get(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get(self.url).status_code, 405)


class DeleteDraftTest(WebTestCase):
    def setUp(self):
        self.v1 = publish(add_version(TEXT, self.analyst), self.analyst)
        self.v2 = add_version(TEXT + "# 草稿\n", self.analyst, note="试改")

    def test_it_deletes_a_draft_and_audits_it(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/customer-composite/v2/delete/")
        self.assertRedirects(r, "/schemes/customer-composite/", fetch_redirect_response=False)
        self.assertEqual(list(SchemeVersion.objects.values_list("number", flat=True)), [1])
        event = AuditEvent.objects.get(action="scheme.version.delete")
        self.assertEqual(event.before["yaml"], TEXT + "# 草稿\n")
        self.assertEqual(event.before["note"], "试改")

    def test_it_removes_an_uploaded_scheme_with_its_last_draft(self):
        other = TEXT.replace("id: customer-composite", "id: my-scheme")
        add_version(other, self.analyst)
        self.login(self.analyst)
        r = self.client.post("/schemes/my-scheme/v1/delete/")
        self.assertRedirects(r, "/schemes/", fetch_redirect_response=False)
        self.assertFalse(Scheme.objects.filter(code="my-scheme").exists())
        self.assertTrue(AuditEvent.objects.filter(action="scheme.delete").exists())

    def test_it_keeps_a_scheme_that_ratings_refer_to(self):
        other = add_version(TEXT.replace("id: customer-composite", "id: my-scheme"), self.analyst)
        Assignment.objects.create(
            scheme=other.scheme, indicator="manager_rating", department=self.sales
        )
        self.login(self.analyst)
        self.client.post("/schemes/my-scheme/v1/delete/")
        self.assertTrue(Scheme.objects.filter(code="my-scheme").exists())
        self.assertEqual(Assignment.objects.count(), 1)

    def test_it_forbids_deleting_to_readers(self):
        for user in (self.viewer, self.rater):
            self.login(user)
            self.assertEqual(
                self.client.post("/schemes/customer-composite/v2/delete/").status_code, 403
            )
        self.login(self.nobody)
        self.assertEqual(
            self.client.post("/schemes/customer-composite/v2/delete/").status_code, 404
        )
        self.assertEqual(SchemeVersion.objects.count(), 2)

    def test_it_refuses_get(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get("/schemes/customer-composite/v2/delete/").status_code, 405)
        self.assertEqual(SchemeVersion.objects.count(), 2)
