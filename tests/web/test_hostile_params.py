"""Numbers in addresses and forms that no page can use — `ids=²`, a 31-digit id, a page far
beyond any result, a period in year 1 — answer 400 with a message (or 404), never 500, and
nothing is stored."""

from pingji.web.accounts.models import ApiToken
from pingji.web.lib.params import MAX_PAGE
from pingji.web.ratings.models import Rating
from pingji.web.ratings.testing import RatingsTestCase
from pingji.web.runs.models import Run
from pingji.web.runs.services import create_run

HUGE = str(10**30)
BEYOND = str(MAX_PAGE + 1)


class HostileParamsTest(RatingsTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.done = create_run(cls.version, "2025", {}, cls.analyst)
        assert cls.done.status == "done", cls.done.error
        cls.key = ApiToken.issue(cls.analyst, "t")[1]

    def api(self, method: str, url: str, body=None, **params):
        headers = {"Authorization": f"Bearer {self.key}"}
        if method == "post":
            return self.client.post(url, body, content_type="application/json", headers=headers)
        return self.client.get(url, params, headers=headers)

    # the ratings review form

    def test_the_review_form_answers_400_to_ids_that_are_not_plain_digits(self):
        submitted = self.rating(self.rater, 80, status="submitted")
        self.login(self.analyst)
        for bad in ("²", HUGE, "-1", "1e3", "١٢"):  # superscript two, 10**30, Arabic digits
            with self.subTest(bad):
                r = self.client.post(
                    "/ratings/review/decide/", {"ids": [bad, submitted.pk], "action": "approve"}
                )
                self.assertEqual(r.status_code, 400)
                self.assertContains(r, "不是有效的编号", status_code=400)
        self.assertEqual(Rating.objects.get(pk=submitted.pk).status, "submitted")

    def test_the_review_form_still_takes_plain_ids(self):
        submitted = self.rating(self.rater, 80, status="submitted")
        self.login(self.analyst)
        r = self.client.post(
            "/ratings/review/decide/", {"ids": [submitted.pk], "action": "approve"}
        )
        self.assertEqual(r.status_code, 302)
        self.assertEqual(Rating.objects.get(pk=submitted.pk).status, "approved")

    # pages

    def test_the_run_page_answers_400_to_a_page_beyond_any_result(self):
        self.login(self.viewer)
        for page in (HUGE, BEYOND, "9" * 5000):
            with self.subTest(page[:12]):
                r = self.client.get(f"/runs/{self.done.pk}/", {"page": page})
                self.assertEqual(r.status_code, 400)
                self.assertContains(r, "超出范围", status_code=400)
        # a page past the last one that a page number can name shows the last page
        r = self.client.get(f"/runs/{self.done.pk}/", {"page": str(MAX_PAGE)})
        self.assertEqual(r.status_code, 200)

    def test_the_message_is_in_english_when_chosen(self):
        self.login(self.viewer)
        self.client.cookies["django_language"] = "en"
        r = self.client.get(f"/runs/{self.done.pk}/", {"page": HUGE})
        self.assertContains(r, "is out of range: pages run from 1 to 1,000,000", status_code=400)

    def test_the_worklist_and_entity_list_answer_400_to_a_huge_page(self):
        self.login(self.rater)
        r = self.client.get("/ratings/", {"scheme": "customer-composite", "period": "2025", "page": HUGE})  # fmt: skip
        self.assertEqual(r.status_code, 400)
        self.login(self.viewer)
        r = self.client.get("/entities/", {"page": HUGE})
        self.assertEqual(r.status_code, 400)

    def test_text_where_a_page_belongs_still_shows_the_first_page(self):
        self.login(self.viewer)
        r = self.client.get(f"/runs/{self.done.pk}/", {"page": "²"})
        self.assertEqual(r.status_code, 200)

    def test_a_huge_run_id_in_a_comparison_is_not_found(self):
        self.login(self.viewer)
        r = self.client.get("/runs/compare/", {"a": HUGE, "b": self.done.pk})
        self.assertEqual(r.status_code, 404)

    # the API

    def test_the_api_answers_400_to_a_page_beyond_any_result(self):
        r = self.api("get", f"/api/runs/{self.done.pk}/results", page=HUGE)
        self.assertEqual(r.status_code, 400)
        r = self.api("get", f"/api/runs/{self.done.pk}/results", page=BEYOND)
        self.assertEqual(r.status_code, 400)
        self.assertIn("page out of range", r.json()["detail"])

    def test_the_api_refuses_periods_outside_the_allowed_years_and_stores_nothing(self):
        runs = Run.objects.count()
        for period in ("0001", "0000", "9999"):
            with self.subTest(period):
                r = self.api("post", "/api/runs", {"scheme": "customer-composite", "period": period})  # fmt: skip
                self.assertEqual(r.status_code, 400)
                self.assertIn("年份须在 1900 到 2999 之间", r.json()["detail"])
        self.assertEqual(Run.objects.count(), runs)

    def test_the_run_form_refuses_year_one(self):
        self.login(self.analyst)
        runs = Run.objects.count()
        r = self.client.post("/runs/new/", {"version": self.version.pk, "period": "0001"})
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.context["form"].errors.get("period"))
        self.assertEqual(Run.objects.count(), runs)

    def test_a_huge_id_in_an_address_is_not_found(self):
        self.login(self.viewer)
        self.assertEqual(self.client.get(f"/runs/{HUGE}/").status_code, 404)
        self.assertEqual(self.api("get", f"/api/runs/{HUGE}").status_code, 404)
