"""Review: analysts approve or reject submitted ratings, singly and in bulk; raters and
viewers cannot; everything is audited."""

from pingji.web.audit.models import AuditEvent
from pingji.web.ratings.models import Rating
from pingji.web.ratings.testing import RatingsTestCase

REVIEW = "/ratings/review/"
DECIDE = "/ratings/review/decide/"


class ReviewTest(RatingsTestCase):
    def setUp(self):
        self.a = self.rating(self.rater, 80, status="submitted", entity_id="C000001")
        self.b = self.rating(self.rater, 70, status="submitted", entity_id="C000002")
        self.c = self.rating(self.rater_q, 91, status="submitted", entity_id="C000001")
        self.draft = self.rating(self.rater, 5, status="draft", entity_id="C000003")

    def statuses(self):
        return dict(Rating.objects.values_list("pk", "status"))

    def test_it_lists_submitted_ratings_with_names_and_scales(self):
        self.login(self.analyst)
        r = self.client.get(REVIEW)
        self.assertEqual(r.status_code, 200)
        shown = [it["r"].pk for it in r.context["items"]]
        self.assertEqual(sorted(shown), sorted([self.a.pk, self.b.pk, self.c.pk]))
        self.assertContains(r, "大庆中联食品有限公司")
        self.assertContains(r, "客户经理评分")
        self.assertContains(r, 'name="ids"', count=3)
        self.assertEqual(r.context["counts"], {"submitted": 3, "approved": 0, "rejected": 0})

    def test_it_filters_by_department_scheme_and_period(self):
        self.login(self.analyst)
        r = self.client.get(REVIEW + "?department=quality")
        self.assertEqual([it["r"].pk for it in r.context["items"]], [self.c.pk])
        r = self.client.get(REVIEW + "?scheme=customer-composite&period=2024")
        self.assertEqual(r.context["items"], [])
        r = self.client.get(REVIEW + "?q=C000002")
        self.assertEqual([it["r"].pk for it in r.context["items"]], [self.b.pk])

    def test_it_approves_the_checked_ratings_in_bulk(self):
        self.login(self.analyst)
        r = self.client.post(
            DECIDE, {"ids": [self.a.pk, self.c.pk], "action": "approve", "next": REVIEW}
        )
        self.assertRedirects(r, REVIEW, fetch_redirect_response=False)
        self.assertEqual(
            self.statuses(),
            {
                self.a.pk: "approved",
                self.b.pk: "submitted",
                self.c.pk: "approved",
                self.draft.pk: "draft",
            },
        )
        self.assertEqual(AuditEvent.objects.filter(action="rating.approve").count(), 2)
        page = self.client.get(REVIEW)
        self.assertContains(page, "已批准 2 条评分")

    def test_it_approves_one_rating_by_its_own_button(self):
        self.login(self.analyst)
        self.client.post(DECIDE, {"ids": [self.a.pk, self.b.pk], "approve_one": self.b.pk})
        self.assertEqual(self.statuses()[self.b.pk], "approved")
        self.assertEqual(self.statuses()[self.a.pk], "submitted")

    def test_it_rejects_with_a_note_and_refuses_a_rejection_without_one(self):
        self.login(self.analyst)
        self.client.post(DECIDE, {"ids": [self.a.pk], "action": "reject", "note": ""})
        self.assertEqual(self.statuses()[self.a.pk], "submitted")
        self.client.post(
            DECIDE, {"ids": [self.a.pk], "action": "reject", "note": "分数偏高,请复核"}
        )
        self.a.refresh_from_db()
        self.assertEqual((self.a.status, self.a.review_note), ("rejected", "分数偏高,请复核"))
        event = AuditEvent.objects.get(action="rating.reject")
        self.assertEqual((event.before["status"], event.after["status"]), ("submitted", "rejected"))
        self.assertEqual(event.username, "analyst")

    def test_it_can_revoke_an_approval_but_never_approves_a_draft(self):
        self.login(self.analyst)
        self.client.post(DECIDE, {"ids": [self.a.pk, self.draft.pk], "action": "approve"})
        self.assertEqual(self.statuses()[self.draft.pk], "draft")
        self.assertEqual(self.statuses()[self.a.pk], "approved")
        self.client.post(DECIDE, {"reject_one": self.a.pk, "note": "评分口径变更"})
        self.assertEqual(self.statuses()[self.a.pk], "rejected")

    def test_it_refuses_a_rater_approving_their_own_rating(self):
        self.login(self.rater)
        r = self.client.post(DECIDE, {"ids": [self.a.pk], "action": "approve"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(self.statuses()[self.a.pk], "submitted")
        self.assertEqual(self.client.get(REVIEW).status_code, 404)

    def test_it_lets_viewers_read_the_ratings_but_not_decide(self):
        self.login(self.viewer)
        r = self.client.get(REVIEW)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "评分记录")
        self.assertNotContains(r, 'name="ids"')
        self.assertEqual(
            self.client.post(DECIDE, {"ids": [self.a.pk], "action": "approve"}).status_code, 403
        )
        self.assertEqual(self.statuses()[self.a.pk], "submitted")

    def test_it_gives_404_to_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(REVIEW).status_code, 404)
        self.assertEqual(
            self.client.post(DECIDE, {"ids": [self.a.pk], "action": "approve"}).status_code, 404
        )

    def test_it_gives_404_for_unknown_ratings_and_405_for_wrong_methods(self):
        self.login(self.analyst)
        self.assertEqual(
            self.client.post(DECIDE, {"ids": [999999], "action": "approve"}).status_code, 404
        )
        self.assertEqual(self.client.get(DECIDE).status_code, 405)
        self.assertEqual(self.client.post(REVIEW).status_code, 405)

    def test_it_shows_the_analyst_approve_buttons_on_the_rating_page(self):
        self.login(self.analyst)
        page = self.client.get(self.cell_url("C000001"))
        self.assertContains(page, f'name="approve_one" value="{self.a.pk}"')
        self.assertContains(page, f'name="reject_one" value="{self.c.pk}"')
