"""GET /api/schemes and /api/schemes/{code}: schemes, versions, the latest published YAML."""

from pingji.templates import builtin_text
from pingji.web.accounts.models import ApiToken
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish


class ApiSchemesTest(WebTestCase):
    def setUp(self):
        self.text = builtin_text("customer-composite")
        self.v1 = publish(add_version(self.text, self.analyst, note="初版"), self.analyst)
        self.v2 = add_version(self.text, self.analyst, note="草稿")

    def get(self, url, user):
        _, key = ApiToken.issue(user, "t")
        return self.client.get(url, headers={"Authorization": f"Bearer {key}"})

    def test_it_lists_schemes_with_their_versions_newest_first(self):
        r = self.get("/api/schemes", self.analyst)
        self.assertEqual(r.status_code, 200)
        [scheme] = r.json()
        self.assertEqual(scheme["code"], "customer-composite")
        self.assertEqual(scheme["entity"], "customers")
        self.assertFalse(scheme["builtin"])
        self.assertEqual(
            [(v["number"], v["status"], v["note"]) for v in scheme["versions"]],
            [(2, "draft", "草稿"), (1, "published", "初版")],
        )
        self.assertIsNone(scheme["versions"][0]["published_at"])
        self.assertIsNotNone(scheme["versions"][1]["published_at"])

    def test_it_shows_one_scheme_with_the_latest_published_yaml(self):
        r = self.get("/api/schemes/customer-composite", self.viewer)
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(body["published"]["number"], 1)
        self.assertEqual(body["published"]["status"], "published")
        self.assertEqual(body["published"]["yaml"], self.text)
        self.assertEqual(len(body["versions"]), 2)

    def test_it_shows_no_yaml_for_a_scheme_with_only_drafts(self):
        add_version(builtin_text("supplier-rating"), self.analyst)
        r = self.get("/api/schemes/supplier-rating", self.analyst)
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(r.json()["published"])

    def test_it_lets_raters_and_viewers_read_schemes(self):
        for user in (self.rater, self.viewer, self.admin):
            self.assertEqual(self.get("/api/schemes", user).status_code, 200, user.username)

    def test_it_answers_404_to_a_user_without_a_role(self):
        self.assertEqual(self.get("/api/schemes", self.nobody).status_code, 404)
        self.assertEqual(self.get("/api/schemes/customer-composite", self.nobody).status_code, 404)

    def test_it_answers_404_for_an_unknown_scheme(self):
        r = self.get("/api/schemes/no-such-scheme", self.analyst)
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json()["detail"], "未找到 (not found)")

    def test_it_answers_405_to_a_wrong_method(self):
        _, key = ApiToken.issue(self.admin, "t")
        auth = {"Authorization": f"Bearer {key}"}
        self.assertEqual(self.client.delete("/api/schemes", headers=auth).status_code, 405)
        self.assertEqual(
            self.client.post("/api/schemes/customer-composite", headers=auth).status_code, 405
        )
