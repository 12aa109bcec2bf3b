"""Rating at the speed of a spreadsheet, on the existing pages: "save and next" on the form,
blind rating on the form, outliers flagged on the review page, what is waiting on the home
page, and the deadline, period and blind setting of an assignment."""

from datetime import timedelta

from django.utils import timezone

from pingji.web.ratings.models import Assignment, Rating
from pingji.web.ratings.testing import INDICATOR, SCHEME, SERVICE, SheetTestCase


class SaveAndNextTest(SheetTestCase):
    def test_it_saves_a_draft_and_opens_the_next_entity_still_to_submit(self):
        self.rate(self.rater, 70, status="submitted", entity_id="C000002")
        self.login(self.rater)
        r = self.client.post(
            self.cell_url("C000001"), {"score": "60", "save_next": "1", "next": "/ratings/"}
        )
        self.assertRedirects(
            r,
            f"/ratings/{SCHEME}/2025/C000003/{INDICATOR}/?next=%2Fratings%2F",
            fetch_redirect_response=False,
        )
        self.assertEqual(Rating.objects.get(entity_id="C000001").status, "draft")
        page = self.client.get(self.cell_url("C000003"))
        self.assertContains(page, "保存并下一个")

    def test_it_goes_back_to_the_worklist_when_nothing_is_left(self):
        self.login(self.rater_q)
        self.rate(self.rater_q, 50, status="submitted", entity_id="C000002")
        r = self.client.post(self.cell_url("C000001"), {"score": "60", "save_next": "1"})
        self.assertRedirects(
            r, f"/ratings/?scheme={SCHEME}&period=2025", fetch_redirect_response=False
        )

    def test_it_refuses_save_and_next_to_readers_and_outsiders(self):
        for user, status in ((self.viewer, 403), (self.analyst, 403), (self.nobody, 404)):
            self.login(user)
            r = self.client.post(self.cell_url("C000001"), {"score": "60", "save_next": "1"})
            self.assertEqual(r.status_code, status, user)
        self.assertFalse(Rating.objects.exists())


class WorklistProgressTest(SheetTestCase):
    def test_it_counts_submitted_and_approved_cells_and_rounds_the_percentage_down(self):
        for i in range(1, 40):
            self.rate(
                self.rater,
                50,
                status="submitted" if i % 2 else "approved",
                entity_id=f"C0000{i:02d}",
            )
        self.rate(self.rater, 50, status="draft", entity_id="C000040")
        self.login(self.rater)
        r = self.client.get(f"/ratings/?scheme={SCHEME}&period=2025")
        grid = r.context["grid"]
        self.assertEqual((grid.cells, grid.done), (80, 39))  # two indicators × 40 customers
        self.assertEqual(r.context["percent_done"], 48)  # 39 / 80 = 48.75 %


class BlindRatingTest(SheetTestCase):
    def cell(self, entity_id="C000001"):
        return self.cell_url(entity_id, indicator=SERVICE)

    def test_it_hides_other_raters_scores_until_the_raters_own_is_submitted(self):
        colleague = self.make_user("rater2", "rater", self.sales)
        self.rate(colleague, 2, status="approved", indicator=SERVICE)
        self.login(self.rater)
        r = self.client.get(self.cell())
        self.assertContains(r, "盲评：提交您的评分之后，才能看到其他评分人的分值。")
        self.assertEqual(r.context["ratings"], [])
        self.assertIsNone(r.context["approved_mean"])
        self.client.post(self.cell(), {"score": "5", "submit": "1"})
        r = self.client.get(self.cell())
        self.assertNotContains(r, "盲评：")
        self.assertEqual(
            sorted(x.rater.username for x in r.context["ratings"]), ["rater", "rater2"]
        )

    def test_it_shows_every_score_to_readers_and_on_indicators_not_rated_blind(self):
        colleague = self.make_user("rater2", "rater", self.sales)
        self.rate(colleague, 2, status="approved", indicator=SERVICE)
        self.rate(colleague, 80, status="approved")
        self.login(self.analyst)
        self.assertEqual(len(self.client.get(self.cell()).context["ratings"]), 1)
        self.login(self.rater)
        self.assertEqual(len(self.client.get(self.cell_url()).context["ratings"]), 1)


class OutliersOnReviewTest(SheetTestCase):
    def test_it_flags_a_score_far_from_the_other_raters_mean(self):
        colleague = self.make_user("rater2", "rater", self.sales)
        self.rate(self.rater, 10, status="submitted")
        self.rate(colleague, 80, status="submitted")
        self.rate(self.rater_q, 84, status="approved")
        self.login(self.analyst)
        r = self.client.get(f"/ratings/review/?scheme={SCHEME}&status=")
        flagged = {
            it["r"].rater.username: it["others_mean"]
            for it in r.context["items"]
            if it["others_mean"] is not None
        }
        # rater 10 vs mean(80, 84) = 82: flagged; rater2 80 vs mean(10, 84) = 47, sd 37 → no
        self.assertEqual(flagged, {"rater": 82.0})
        self.assertContains(r, "偏离（他人均 82）")

    def test_it_flags_the_outlier_on_the_cell_page_for_approvers_only(self):
        colleague = self.make_user("rater2", "rater", self.sales)
        self.rate(self.rater, 10, status="submitted")
        self.rate(colleague, 80, status="submitted")
        self.rate(self.rater_q, 84, status="approved")
        self.login(self.analyst)
        self.assertContains(self.client.get(self.cell_url()), "偏离（他人均 82）", count=1)
        self.login(colleague)
        self.assertNotContains(self.client.get(self.cell_url()), "偏离")

    def test_it_keeps_the_review_page_closed_to_raters_and_outsiders(self):
        for user in (self.rater, self.nobody):
            self.login(user)
            self.assertEqual(self.client.get("/ratings/review/").status_code, 404)


class HomePageTest(SheetTestCase):
    def test_it_tells_a_rater_how_many_cells_wait_and_until_when(self):
        self.rate(self.rater, 70, status="submitted")
        self.login(self.rater)
        r = self.client.get("/")
        self.assertContains(r, f'79 项待评分<span class="">，截止 {self.deadline:%Y-%m-%d}</span>')
        self.assertContains(r, "已提交 1 / 80")
        self.assertContains(r, f"/ratings/sheet/?scheme={SCHEME}&amp;period=2025")

    def test_it_says_when_the_deadline_has_passed(self):
        late = timezone.localdate() - timedelta(days=2)
        Assignment.objects.filter(indicator=SERVICE).update(deadline=late)
        self.login(self.rater)
        self.assertContains(
            self.client.get("/"),
            f'80 项待评分<span class="overdue">，已过截止日期 {late:%Y-%m-%d}</span>',
        )

    def test_it_shows_readers_no_rating_work(self):
        for user in (self.analyst, self.viewer, self.nobody):
            self.login(user)
            r = self.client.get("/")
            self.assertEqual((r.status_code, r.context["waiting"]), (200, []), user)


class AssignmentSettingsTest(SheetTestCase):
    def test_it_stores_the_period_deadline_and_blind_rating_of_an_assignment(self):
        self.login(self.analyst)
        r = self.client.post(
            "/ratings/assignments/add/",
            {
                "indicator": f"{SCHEME}:{INDICATOR}",
                "department": self.quality.pk,
                "entity_ids": "C000001",
                "period": "2025",
                "deadline": "2026-12-15",
                "blind": "on",
            },
        )
        self.assertRedirects(r, "/ratings/assignments/", fetch_redirect_response=False)
        a = Assignment.objects.get(indicator=INDICATOR, department=self.quality)
        self.assertEqual((a.period, a.deadline.isoformat(), a.blind), ("2025", "2026-12-15", True))
        page = self.client.get("/ratings/assignments/")
        self.assertContains(page, "2026-12-15")

    def test_it_refuses_a_period_of_the_wrong_kind(self):
        self.login(self.analyst)
        r = self.client.post(
            "/ratings/assignments/add/",
            {"indicator": f"{SCHEME}:{INDICATOR}", "department": self.quality.pk, "period": "x"},
        )
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.context["form"].errors["period"])
        self.assertEqual(
            Assignment.objects.get(indicator=INDICATOR, department=self.quality).period, ""
        )

    def test_it_refuses_settings_to_viewers_and_raters(self):
        for user in (self.viewer, self.rater):
            self.login(user)
            r = self.client.post(
                "/ratings/assignments/add/",
                {"indicator": f"{SCHEME}:{INDICATOR}", "department": self.quality.pk},
            )
            self.assertEqual(r.status_code, 403, user)
