"""The rating form of one cell: rule and scale in words, scale refusal, draft → submitted,
every rater's rating with the mean, and who may see and change what."""

from decimal import Decimal

from pingji.templates import builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.ratings.models import Assignment, Rating
from pingji.web.ratings.testing import RatingsTestCase
from pingji.web.schemes.services import add_version, publish


class RatingFormTest(RatingsTestCase):
    def post(self, score, entity_id="C000001", action="save", comment=""):
        return self.client.post(
            self.cell_url(entity_id), {"score": score, "comment": comment, action: "1"}
        )

    def test_it_shows_the_rule_the_scale_and_the_entity(self):
        self.login(self.rater)
        r = self.client.get(self.cell_url())
        self.assertContains(r, "客户经理评分 · 大庆中联食品有限公司")
        self.assertContains(r, "<b>0 – 100</b>", html=True)
        self.assertContains(r, "人工评分，按评分量表折算为 0–10 分（多人评分取平均）")
        self.assertContains(r, "换算：得分 = （评分 − 0） ÷ （100 − 0） × 10")
        self.assertContains(r, 'name="score"')
        self.assertContains(r, 'min="0"')
        self.assertContains(r, 'max="100"')
        self.assertContains(r, "保存草稿")
        self.assertContains(r, "提交审批")

    def test_it_saves_a_draft_at_exactly_the_scale_minimum_and_maximum(self):
        self.login(self.rater)
        r = self.post("0", comment="新客户,尚无往来")
        self.assertRedirects(
            r, "/ratings/?scheme=customer-composite&period=2025", fetch_redirect_response=False
        )
        rating = Rating.objects.get()
        self.assertEqual((rating.score, rating.status), (Decimal(0), "draft"))
        self.assertEqual((rating.department, rating.comment), (self.sales, "新客户,尚无往来"))
        self.post("100")
        self.assertEqual(Rating.objects.get().score, Decimal(100))

    def test_it_refuses_a_score_outside_the_scale_and_changes_nothing(self):
        self.login(self.rater)
        self.post("55")
        for score, shown in (("100.5", "100.5"), ("-0.01", "-0.01"), ("120", "120")):
            r = self.post(score, action="submit")
            self.assertEqual(r.status_code, 200)
            self.assertContains(r, f"分值 {shown} 超出量表 0–100")
        self.assertContains(self.post("abc"), "分值必须是数字")
        rating = Rating.objects.get()
        self.assertEqual((rating.score, rating.status), (Decimal(55), "draft"))
        self.assertEqual(AuditEvent.objects.filter(action__startswith="rating.").count(), 1)

    def test_it_submits_and_then_shows_the_rating_read_only(self):
        self.login(self.rater)
        self.post("70")
        r = self.post("75", action="submit")
        self.assertEqual(r.status_code, 302)
        rating = Rating.objects.get()
        self.assertEqual((rating.score, rating.status), (Decimal(75), "submitted"))
        self.assertIsNotNone(rating.submitted_at)
        page = self.client.get(self.cell_url())
        self.assertNotContains(page, 'name="score"')
        self.assertContains(page, "已提交或已批准的评分不能修改")

    def test_it_refuses_to_edit_a_submitted_or_approved_rating(self):
        self.rating(self.rater, 75, status="submitted")
        self.login(self.rater)
        self.assertEqual(self.post("10").status_code, 403)
        Rating.objects.update(status="approved")
        self.assertEqual(self.post("10", action="submit").status_code, 403)
        self.assertEqual(Rating.objects.get().score, Decimal(75))

    def test_it_lets_the_rater_rework_a_rejected_rating_and_shows_the_note(self):
        rating = self.rating(self.rater, 75, status="rejected")
        rating.review_note = "与拜访记录不符"
        rating.reviewed_by = self.analyst
        rating.save()
        self.login(self.rater)
        page = self.client.get(self.cell_url())
        self.assertContains(page, "审批人退回了您的评分：与拜访记录不符")
        self.assertContains(page, 'value="75"')
        self.post("68", action="submit")
        rating.refresh_from_db()
        self.assertEqual((rating.score, rating.status), (Decimal(68), "submitted"))

    def test_it_shows_every_raters_rating_and_the_mean_of_the_approved_ones(self):
        self.rating(self.rater, 80, status="approved")
        self.rating(self.rater_q, 91, status="approved")
        other = self.make_user("rater2", "rater", self.sales)
        self.rating(other, 12, status="submitted")
        hidden = self.make_user("rater3", "rater", self.sales)
        self.rating(hidden, 3, status="draft")
        self.login(self.viewer)
        r = self.client.get(self.cell_url())
        self.assertContains(r, "<b>85.5</b>", html=True)  # (80 + 91) / 2
        # imported batch: 75 and 85 → the run will use (75 + 85 + 80 + 91) / 4
        self.assertContains(r, "<b>82.75</b>", html=True)
        self.assertContains(r, "rater_q")
        self.assertContains(r, "rater2")
        self.assertContains(r, "质量部")
        self.assertNotContains(r, "rater3")  # a draft belongs to its rater alone

    def test_it_gives_404_to_a_rater_of_a_department_not_assigned_the_cell(self):
        self.login(self.rater_q)
        self.assertEqual(self.client.get(self.cell_url("C000001")).status_code, 200)
        self.assertEqual(self.client.get(self.cell_url("C000003")).status_code, 404)
        self.assertEqual(self.post("50", entity_id="C000003").status_code, 404)
        self.assertFalse(Rating.objects.exists())

    def test_it_lets_viewers_and_analysts_read_but_not_rate(self):
        for user in (self.viewer, self.analyst):
            self.login(user)
            page = self.client.get(self.cell_url())
            self.assertEqual(page.status_code, 200, user)
            self.assertNotContains(page, 'name="score"')
            self.assertEqual(self.post("50").status_code, 403, user)
        self.assertFalse(Rating.objects.exists())

    def test_it_gives_404_to_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(self.cell_url()).status_code, 404)
        self.assertEqual(self.post("50").status_code, 404)

    def test_it_gives_404_for_unknown_cells(self):
        self.login(self.analyst)
        for url in (
            self.cell_url("C999999"),  # no such customer
            self.cell_url(indicator="sales"),  # not a manual indicator
            self.cell_url(period="2025-Q1"),  # a quarter, but the scheme is yearly
            "/ratings/no-such-scheme/2025/C000001/manager_rating/",
        ):
            self.assertEqual(self.client.get(url).status_code, 404, url)

    def test_it_gives_404_for_a_scheme_without_a_published_version(self):
        add_version(builtin_text("credit-rating"), self.analyst)  # a draft only
        self.login(self.analyst)
        r = self.client.get("/ratings/credit-rating/2025-Q3/C000001/management_quality/")
        self.assertEqual(r.status_code, 404)

    def test_it_speaks_english_when_switched(self):
        self.login(self.rater)
        self.client.post("/language/", {"language": "en", "next": "/"})
        r = self.post("120", action="submit")
        self.assertContains(r, "Score 120 is outside the scale 0–100")
        self.assertContains(r, "Save draft")
        self.assertContains(r, "Scoring rule")
        self.assertNotContains(r, "保存草稿")

    def test_it_refuses_other_methods(self):
        self.login(self.rater)
        self.assertEqual(self.client.put(self.cell_url()).status_code, 405)
        self.assertEqual(self.client.delete(self.cell_url()).status_code, 405)

    def test_it_limits_a_rater_to_the_indicators_assigned_to_the_department(self):
        publish(add_version(builtin_text("satisfaction-survey"), self.analyst), self.analyst)
        scheme = self.version.scheme.__class__.objects.get(code="satisfaction-survey")
        Assignment.objects.create(scheme=scheme, indicator="overall_image", department=self.sales)
        self.login(self.rater)
        base = "/ratings/satisfaction-survey/2025/C000001/"
        page = self.client.get(base + "overall_image/")
        self.assertContains(page, "公司整体形象")
        self.assertContains(page, "0 – 10")
        self.assertEqual(self.client.get(base + "product_development/").status_code, 404)
        r = self.client.post(base + "overall_image/", {"score": "10.5", "submit": "1"})
        self.assertContains(r, "分值 10.5 超出量表 0–10")
        r = self.client.post(base + "overall_image/", {"score": "10", "submit": "1"})
        self.assertEqual(r.status_code, 302)
        self.assertEqual(Rating.objects.get(scheme=scheme).indicator, "overall_image")

    def test_it_returns_to_the_page_the_rater_came_from(self):
        self.login(self.rater)
        back = "/ratings/?scheme=customer-composite&period=2025&page=1"
        r = self.client.post(self.cell_url(), {"score": "50", "save": "1", "next": back})
        self.assertRedirects(r, back, fetch_redirect_response=False)
        r = self.client.post(
            self.cell_url(), {"score": "50", "save": "1", "next": "https://evil.example/"}
        )
        self.assertRedirects(
            r, "/ratings/?scheme=customer-composite&period=2025", fetch_redirect_response=False
        )
