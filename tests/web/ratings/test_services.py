"""The rating life cycle in the service layer, and end to end: approved manual ratings feed
an evaluation run (together with the imported ratings batch); nothing else does."""

from decimal import Decimal

import duckdb
from django.core.exceptions import PermissionDenied

from pingji.web.audit.models import AuditEvent
from pingji.web.ratings.indicators import rated_scheme
from pingji.web.ratings.models import Rating
from pingji.web.ratings.services import (
    RatingRefused,
    approved_rows,
    decide,
    parse_entity_ids,
    save_rating,
)
from pingji.web.ratings.testing import INDICATOR, RatingsTestCase
from pingji.web.runs.files import raw_file, results_file
from pingji.web.runs.services import create_run


class RatingServiceTest(RatingsTestCase):
    def setUp(self):
        self.rated = rated_scheme(self.scheme)
        self.ind = self.rated.indicators[INDICATOR]

    def save(self, user, score, entity_id="C000001", submit=False):
        return save_rating(
            user, self.rated, self.ind, entity_id, "2025", Decimal(score), "", submit=submit
        )

    def test_it_reads_the_manual_indicator_with_its_scale_and_node(self):
        self.assertEqual(list(self.rated.indicators), ["manager_rating"])
        self.assertEqual((self.ind.lo, self.ind.hi), (Decimal(0), Decimal(100)))
        self.assertEqual(self.ind.label, "客户经理评分")
        [node] = self.ind.used_by
        self.assertEqual((node.id, node.max, node.direct), ("manager_rating", 10.0, True))
        self.assertIn("人工评分", node.rule)

    def test_it_accepts_the_scale_bounds_and_refuses_beyond_them(self):
        self.assertEqual(self.save(self.rater, "0").score, Decimal(0))
        self.assertEqual(self.save(self.rater, "100").score, Decimal(100))
        with self.assertRaisesMessage(RatingRefused, "分值 100.01 超出量表 0–100"):
            self.save(self.rater, "100.01")
        with self.assertRaisesMessage(RatingRefused, "分值 -1 超出量表 0–100"):
            self.save(self.rater, "-1")
        self.assertEqual(Rating.objects.get().score, Decimal(100))

    def test_it_moves_draft_to_submitted_to_approved_and_audits_each_step(self):
        draft = self.save(self.rater, "70")
        self.assertEqual(draft.status, "draft")
        submitted = self.save(self.rater, "72", submit=True)
        self.assertEqual((submitted.pk, submitted.status), (draft.pk, "submitted"))
        result = decide(self.analyst, [submitted], approve=True)
        self.assertEqual([r.pk for r in result.done], [draft.pk])
        rating = Rating.objects.get()
        self.assertEqual((rating.status, rating.reviewed_by), ("approved", self.analyst))
        events = list(
            AuditEvent.objects.filter(object_type="ratings.rating", object_id=str(rating.pk))
            .order_by("id")
            .values_list("action", "before", "after")
        )
        self.assertEqual([e[0] for e in events], ["rating.save", "rating.submit", "rating.approve"])
        self.assertIsNone(events[0][1])
        self.assertEqual(events[1][1]["score"], "70")
        self.assertEqual(events[1][2]["score"], "72")
        self.assertEqual(
            (events[2][1]["status"], events[2][2]["status"]), ("submitted", "approved")
        )

    def test_it_refuses_to_change_a_submitted_or_approved_rating(self):
        self.save(self.rater, "60", submit=True)
        with self.assertRaises(PermissionDenied):
            self.save(self.rater, "90")
        decide(self.analyst, Rating.objects.all(), approve=True)
        with self.assertRaises(PermissionDenied):
            self.save(self.rater, "90", submit=True)
        self.assertEqual(Rating.objects.get().score, Decimal(60))

    def test_it_lets_the_rater_correct_a_rejected_rating(self):
        self.save(self.rater, "60", submit=True)
        decide(self.analyst, Rating.objects.all(), approve=False, note="请核对拜访记录")
        rating = Rating.objects.get()
        self.assertEqual((rating.status, rating.review_note), ("rejected", "请核对拜访记录"))
        again = self.save(self.rater, "65", submit=True)
        self.assertEqual((again.status, again.score), ("submitted", Decimal(65)))

    def test_it_requires_a_note_to_reject(self):
        self.save(self.rater, "60", submit=True)
        with self.assertRaisesMessage(RatingRefused, "审核意见"):
            decide(self.analyst, Rating.objects.all(), approve=False, note="  ")
        self.assertEqual(Rating.objects.get().status, "submitted")

    def test_it_refuses_decisions_by_raters_and_skips_own_or_unsubmitted_ratings(self):
        own = self.save(self.rater, "60", submit=True)
        with self.assertRaises(PermissionDenied):
            decide(self.rater, [own], approve=True)
        self.admin.profile.department = self.sales
        self.admin.profile.save()
        admins = self.save(self.admin, "50", entity_id="C000002", submit=True)
        draft = self.save(self.rater_q, "40")
        result = decide(self.admin, [own, admins, draft], approve=True)
        self.assertEqual([r.pk for r in result.done], [own.pk])
        self.assertEqual(
            {r.pk: why for r, why in result.skipped},
            {admins.pk: "不能审批自己的评分", draft.pk: "状态为“草稿”"},
        )
        self.assertEqual(Rating.objects.get(pk=draft.pk).status, "draft")

    def test_it_gives_the_engine_approved_ratings_only(self):
        approved = self.save(self.rater, "80", submit=True)
        self.save(self.rater_q, "30", submit=True)
        decide(self.analyst, [approved], approve=True)
        rows = approved_rows(self.scheme, "2025")
        self.assertEqual(
            rows,
            [
                {
                    "entity_id": "C000001",
                    "period": "2025",
                    "indicator": "manager_rating",
                    "score": 80.0,
                    "rater": "rater",
                    "department": "sales",
                }
            ],
        )
        self.assertEqual(approved_rows(self.scheme, "2024"), [])

    def test_it_splits_lists_of_entity_ids(self):
        self.assertEqual(
            parse_entity_ids("C1, C2,C3、C4\nC5 C1;C6"), ["C1", "C2", "C3", "C4", "C5", "C6"]
        )


class RatingsFeedRunsTest(RatingsTestCase):
    """Approve ratings, run the scheme, read what the engine computed for the metric."""

    def test_it_uses_the_mean_of_approved_and_imported_ratings_in_a_run(self):
        rated = rated_scheme(self.scheme)
        ind = rated.indicators[INDICATOR]
        sales2 = self.make_user("rater2", "rater", self.sales)

        def rate(user, entity_id, score):
            return save_rating(user, rated, ind, entity_id, "2025", Decimal(score), "", submit=True)

        # C000001: imported batch has 75 and 85 (rater 孙超); sales 80 and quality 91 approved.
        a = rate(self.rater, "C000001", "80")
        b = rate(self.rater_q, "C000001", "91")
        pending = rate(sales2, "C000001", "10")  # stays submitted: must not count
        # C000003: nothing imported for 2025; sales 60 approved, rater2's 0 rejected.
        c = rate(self.rater, "C000003", "60")
        rejected = rate(sales2, "C000003", "0")
        decide(self.analyst, [a, b, c], approve=True)
        decide(self.analyst, [rejected], approve=False, note="不符合评分口径")
        self.assertEqual(Rating.objects.get(pk=pending.pk).status, "submitted")

        run = create_run(self.version, "2025", {}, self.analyst)
        self.assertEqual(run.status, "done", run.error)
        self.assertEqual(run.ratings_used, 3)
        raw = dict(
            duckdb.sql(
                f"SELECT entity_id, m__manager_rating FROM read_parquet('{raw_file(run)}') "
                "WHERE entity_id IN ('C000001', 'C000003', 'C000007')"
            ).fetchall()
        )
        # the mean over raters: 孙超's imported 75 and 85 count once (80) → (80 + 80 + 91) / 3
        self.assertAlmostEqual(raw["C000001"], (80 + 80 + 91) / 3)
        self.assertAlmostEqual(raw["C000003"], 60.0)
        self.assertIsNone(raw["C000007"])  # no rating of any kind
        points = dict(
            duckdb.sql(
                f'SELECT entity_id, "manager_rating.points" FROM read_parquet('
                f"'{results_file(run)}') WHERE entity_id IN ('C000001', 'C000003')"
            ).fetchall()
        )
        self.assertAlmostEqual(points["C000001"], 8.366666667)  # 83.67 / 100 × 10, 9 places
        self.assertAlmostEqual(points["C000003"], 6.0)
