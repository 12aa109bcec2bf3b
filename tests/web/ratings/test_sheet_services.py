"""The rules behind the sheet, checked by hand: the outlier rule, progress counts, blind
visibility, deadlines and what is waiting for a rater, the next cell to rate, reminders."""

from datetime import timedelta
from io import StringIO

from django.core import mail
from django.core.management import call_command
from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from pingji.web.ratings import sheet
from pingji.web.ratings.data import Grid
from pingji.web.ratings.indicators import rated_scheme
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.reminders import due_reminders, email_configured
from pingji.web.ratings.services import scope_for
from pingji.web.ratings.testing import INDICATOR, SERVICE, SheetTestCase


class OutlierRuleTest(SimpleTestCase):
    def test_it_flags_a_score_more_than_a_fifth_of_the_scale_from_close_raters(self):
        # others 70 and 80: mean 75, sd 5 → limit max(2·5, 20 % of 100) = 20
        self.assertTrue(sheet.is_outlier(96, [70, 80], 0, 100))  # 21 away
        self.assertFalse(sheet.is_outlier(95, [70, 80], 0, 100))  # exactly 20: not "more"
        self.assertTrue(sheet.is_outlier(54, [70, 80], 0, 100))

    def test_it_allows_two_standard_deviations_when_the_raters_disagree(self):
        # others 50, 70, 90: mean 70, population sd √(800/3) = 16.33 → limit 32.66
        self.assertFalse(sheet.is_outlier(100, [50, 70, 90], 0, 100))  # 30 away
        self.assertTrue(sheet.is_outlier(0, [50, 70, 90], 0, 100))  # 70 away
        self.assertFalse(sheet.is_outlier(37.5, [50, 70, 90], 0, 100))  # 32.5 away
        self.assertTrue(sheet.is_outlier(37, [50, 70, 90], 0, 100))  # 33 away

    def test_it_uses_the_scale_of_the_indicator_and_never_flags_a_lone_rater(self):
        self.assertTrue(sheet.is_outlier(5, [4], 1, 5))  # 1 > 20 % of 4 = 0.8
        self.assertFalse(sheet.is_outlier(4.5, [4], 1, 5))
        self.assertFalse(sheet.is_outlier(100, [], 0, 100))


class ProgressTest(SimpleTestCase):
    def test_it_counts_submitted_and_approved_cells_as_done_and_the_rest_as_pending(self):
        grid = Grid(
            has_data=True,
            counts={"empty": 150, "draft": 20, "submitted": 19, "approved": 10, "rejected": 1},
            cells=200,
        )
        p = sheet.progress_of(grid)
        self.assertEqual((p.done, p.pending, p.percent), (29, 171, 14))

    def test_it_shows_100_percent_only_when_every_cell_is_done(self):
        p = sheet.Progress(cells=200, counts={"submitted": 199, "draft": 1})
        self.assertEqual((p.pending, p.percent), (1, 99))
        self.assertEqual(sheet.Progress(cells=0, counts={}).percent, 0)


class SheetServicesTest(SheetTestCase):
    def rated(self):
        return rated_scheme(self.scheme)

    def test_it_counts_the_raters_own_submitted_cells_of_the_assigned_period(self):
        self.rate(self.rater, 80, status="submitted", entity_id="C000001")
        self.rate(self.rater, 4, status="approved", entity_id="C000001", indicator=SERVICE)
        self.rate(self.rater, 60, status="draft", entity_id="C000002")
        self.rate(self.rater, 3, status="rejected", entity_id="C000002", indicator=SERVICE)
        self.rate(self.rater_q, 90, status="submitted", entity_id="C000003")  # not theirs
        waiting = sheet.waiting_for(self.rater)
        self.assertEqual(len(waiting), 1)
        w = waiting[0]
        self.assertEqual(
            (w.period, w.deadline, w.overdue, w.days_left), ("2025", self.deadline, False, 5)
        )
        self.assertEqual((w.progress.cells, w.progress.done, w.progress.pending), (80, 2, 78))

    def test_it_lists_for_a_rater_of_another_department_only_its_two_cells(self):
        self.rate(self.rater_q, 90, status="submitted", entity_id="C000001")
        Assignment.objects.filter(department=self.quality).update(period="2025")
        w = sheet.waiting_for(self.rater_q)[0]
        self.assertEqual((w.progress.cells, w.progress.done, w.deadline), (2, 1, None))
        self.assertEqual(sheet.waiting_for(self.analyst), [])
        self.assertEqual(sheet.waiting_for(self.viewer), [])

    def test_it_says_a_deadline_in_the_past_is_overdue(self):
        Assignment.objects.filter(indicator=SERVICE).update(
            deadline=timezone.localdate() - timedelta(days=1)
        )
        w = sheet.waiting_for(self.rater)[0]
        self.assertEqual((w.overdue, w.days_left), (True, -1))

    def test_it_hides_other_raters_scores_of_a_blind_indicator_until_the_own_is_submitted(self):
        rated = self.rated()
        self.assertEqual(sheet.blind_indicators(self.rater, rated), {SERVICE})
        self.assertEqual(sheet.blind_indicators(self.analyst, rated), set())
        self.assertEqual(sheet.blind_indicators(self.rater_q, rated), set())
        draft = self.rate(self.rater, 3, indicator=SERVICE)
        self.assertTrue(sheet.hides_others({SERVICE}, SERVICE, None))
        self.assertTrue(sheet.hides_others({SERVICE}, SERVICE, draft))
        self.assertFalse(sheet.hides_others({SERVICE}, INDICATOR, None))
        submitted = self.rate(
            self.rater, 3, indicator=SERVICE, status="submitted", entity_id="C000002"
        )
        self.assertFalse(sheet.hides_others({SERVICE}, SERVICE, submitted))
        submitted.status = "rejected"  # returned: it was submitted, the others stay visible
        self.assertFalse(sheet.hides_others({SERVICE}, SERVICE, submitted))

    def test_it_flags_the_outliers_of_a_page_of_ratings_in_one_query(self):
        other = self.make_user("rater2", "rater", self.sales)
        third = self.make_user("rater3", "rater", self.sales)
        far = self.rate(self.rater, 10, status="submitted")
        near = self.rate(other, 75, status="approved")
        self.rate(third, 85, status="submitted")
        self.rate(self.rater_q, 0, status="draft")  # drafts do not count
        lone = self.rate(self.rater, 1, status="submitted", entity_id="C000002")
        rated = self.rated()
        with self.assertNumQueries(1):
            flagged = sheet.outliers([far, near, lone], {self.scheme.pk: rated.indicators})
        # far: others 75, 85 → mean 80, limit 20, |10 − 80| = 70; near: others 10, 85 → mean
        # 47.5, sd 37.5 → limit 75, |75 − 47.5| = 27.5
        self.assertEqual(flagged, {far.pk: 80.0})

    def test_it_finds_the_next_entity_still_to_submit_and_wraps_round(self):
        rated = self.rated()
        scope = scope_for(self.rater, rated)
        self.rate(self.rater, 50, status="submitted", entity_id="C000002")
        self.rate(self.rater, 50, status="draft", entity_id="C000003")  # still to submit
        self.assertEqual(
            sheet.next_cell(self.rater, rated, scope, "2025", "C000001", INDICATOR), "C000003"
        )
        self.assertEqual(
            sheet.next_cell(self.rater, rated, scope, "2025", "C000040", INDICATOR), "C000001"
        )
        scope_q = scope_for(self.rater_q, rated)
        self.rate(self.rater_q, 50, status="submitted", entity_id="C000002")
        self.assertIsNone(
            sheet.next_cell(self.rater_q, rated, scope_q, "2025", "C000001", INDICATOR)
        )

    def test_it_saves_nothing_when_one_value_is_outside_the_scale(self):
        rated = self.rated()
        scope = scope_for(self.rater, rated)
        result = sheet.save_sheet(
            self.rater,
            rated,
            scope,
            "2025",
            {("C000001", INDICATOR): "100", ("C000001", SERVICE): "0.5"},
        )
        self.assertEqual(result.errors, {("C000001", SERVICE): "0.5 超出量表；允许 1 至 5"})
        self.assertEqual(result.saved, 0)
        self.assertEqual(
            sheet.page_ratings(self.rater, rated, "2025", [("C000001", INDICATOR)]), {}
        )


class RemindersTest(SheetTestCase):
    def test_it_reminds_raters_with_open_cells_when_the_deadline_is_near(self):
        self.rater.email = "rater@example.com"
        self.rater.save()
        self.assertEqual(due_reminders(days=3), [])  # the deadline is five days away
        [reminder] = due_reminders(days=5)
        self.assertEqual(
            (reminder.user, reminder.pending, reminder.deadline), (self.rater, 80, self.deadline)
        )
        out = StringIO()
        with override_settings(EMAIL_HOST="smtp.example.com"):  # sent to the locmem outbox
            self.assertTrue(email_configured())
            call_command(
                "send_rating_reminders",
                "--days",
                "5",
                "--base-url",
                "https://pj.example.com",
                stdout=out,
            )
        self.assertIn(
            f"rater: 80 cell(s) to rate, deadline {self.deadline.isoformat()} — e-mailed",
            out.getvalue(),
        )
        [sent] = mail.outbox
        self.assertEqual(sent.to, ["rater@example.com"])
        self.assertEqual(sent.subject, f"【评级】80 项待评分，截止 {self.deadline.isoformat()}")
        self.assertIn("客户综合评价，期间 2025：80 项待评分（已提交 0 / 80）", sent.body)
        self.assertIn(
            "https://pj.example.com/ratings/sheet/?scheme=customer-composite&period=2025", sent.body
        )

    def test_it_sends_no_mail_on_a_dry_run_or_without_email_settings(self):
        self.rater.email = "rater@example.com"
        self.rater.save()
        out = StringIO()
        with override_settings(EMAIL_HOST="smtp.example.com"):
            call_command("send_rating_reminders", "--days", "5", "--dry-run", stdout=out)
        self.assertIn("rater: 80 cell(s) to rate", out.getvalue())
        self.assertIn("not sent", out.getvalue())
        self.assertEqual(mail.outbox, [])
        with override_settings(EMAIL_HOST=""):  # PINGJI_EMAIL_HOST unset
            self.assertFalse(email_configured())
            out = StringIO()
            call_command("send_rating_reminders", "--days", "5", stdout=out)
        self.assertIn("E-mail is not configured", out.getvalue())
        self.assertEqual(mail.outbox, [])

    def test_it_does_not_remind_a_rater_who_submitted_everything(self):
        ids = [f"C0000{i:02d}" for i in range(1, 41)]
        for entity_id in ids:
            for indicator in (INDICATOR, SERVICE):
                self.rate(
                    self.rater, 3, status="submitted", entity_id=entity_id, indicator=indicator
                )
        self.assertEqual(due_reminders(days=5), [])
