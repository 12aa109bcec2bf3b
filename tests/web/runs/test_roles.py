"""Who may do what on the run pages: viewers, analysts and administrators read and export;
analysts and administrators start runs (viewers: 403); raters and users without a role see
no run at all (404); a wrong method is 405; without a login, the login page."""

from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run

READERS = ("admin", "analyst", "viewer")
STARTERS = ("admin", "analyst")
HIDDEN_FROM = ("rater", "rater_q", "nobody")


class RunRolesTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.a = finished_run(cls.version, "2024", cls.analyst)
        cls.b = finished_run(cls.version, "2025", cls.analyst)

    def read_urls(self) -> list[str]:
        a, b = self.a.pk, self.b.pk
        return [
            reverse("runs:list"),
            reverse("runs:detail", args=[b]),
            reverse("runs:detail", args=[b]) + "?grade=A&sort=score&q=K0",
            reverse("runs:status", args=[b]),
            reverse("runs:export", args=[b, "csv"]),
            reverse("runs:export", args=[b, "xlsx"]),
            reverse("runs:compare") + f"?a={a}&b={b}",
            reverse("runs:compare_entities") + f"?a={a}&b={b}&ga=B&gb=A",
        ]

    def test_readers_read_every_run_page(self):
        for name in READERS:
            self.login(getattr(self, name))
            for url in self.read_urls():
                with self.subTest(user=name, url=url):
                    self.assertEqual(self.client.get(url).status_code, 200)

    def test_raters_and_users_without_a_role_see_no_run(self):
        for name in HIDDEN_FROM:
            self.login(getattr(self, name))
            for url in [*self.read_urls(), reverse("runs:new")]:
                with self.subTest(user=name, url=url):
                    self.assertEqual(self.client.get(url).status_code, 404)
            for url in (reverse("runs:new"), reverse("runs:rerun", args=[self.b.pk])):
                with self.subTest(user=name, url=url):
                    response = self.client.post(url, {"version": self.version.pk, "period": "2025"})
                    self.assertEqual(response.status_code, 404)
        self.assertEqual(Run.objects.count(), 2)

    def test_analysts_and_administrators_start_runs(self):
        for name in STARTERS:
            self.login(getattr(self, name))
            with self.subTest(user=name):
                self.assertEqual(self.client.get(reverse("runs:new")).status_code, 200)
                response = self.client.post(
                    reverse("runs:new"),
                    {"version": self.version.pk, "period": "2025", "param_full_at": "100"},
                )
                self.assertEqual(response.status_code, 302)
                response = self.client.post(reverse("runs:rerun", args=[self.b.pk]))
                self.assertEqual(response.status_code, 302)
        self.assertEqual(Run.objects.count(), 2 + 2 * len(STARTERS))

    def test_viewers_may_not_start_runs(self):
        self.login(self.viewer)
        self.assertEqual(self.client.get(reverse("runs:new")).status_code, 403)
        response = self.client.post(
            reverse("runs:new"),
            {"version": self.version.pk, "period": "2025", "param_full_at": "1"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.post(reverse("runs:rerun", args=[self.b.pk])).status_code, 403)
        self.assertEqual(Run.objects.count(), 2)

    def test_a_run_that_does_not_exist_is_not_found(self):
        self.login(self.analyst)
        for name in ("runs:detail", "runs:status"):
            self.assertEqual(self.client.get(reverse(name, args=[9999])).status_code, 404)
        self.assertEqual(self.client.post(reverse("runs:rerun", args=[9999])).status_code, 404)
        url = reverse("runs:compare") + f"?a=9999&b={self.b.pk}"
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_a_wrong_method_is_refused(self):
        self.login(self.admin)
        b = self.b.pk
        for url in (
            reverse("runs:list"),
            reverse("runs:detail", args=[b]),
            reverse("runs:status", args=[b]),
            reverse("runs:export", args=[b, "csv"]),
            reverse("runs:compare"),
            reverse("runs:compare_entities"),
        ):
            with self.subTest(url=url):
                self.assertEqual(self.client.post(url).status_code, 405)
        self.assertEqual(self.client.get(reverse("runs:rerun", args=[b])).status_code, 405)
        self.assertEqual(self.client.put(reverse("runs:new")).status_code, 405)
        self.assertEqual(self.client.delete(reverse("runs:detail", args=[b])).status_code, 405)
        self.assertEqual(Run.objects.count(), 2)

    def test_without_a_login_every_page_asks_for_one(self):
        for url in [*self.read_urls(), reverse("runs:new")]:
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].startswith(reverse("login")))
