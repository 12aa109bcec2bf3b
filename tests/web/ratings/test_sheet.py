"""The rating sheet: entities × assigned indicators as inputs, a page saved as drafts in one
transaction, "submit all", typed values kept with the error at the cell, and who may do what
(works / outsider 404 / read-only 403 / wrong method 405)."""

from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from pingji.web.audit.models import AuditEvent
from pingji.web.ratings.models import Rating
from pingji.web.ratings.sheet_views import page_size
from pingji.web.ratings.testing import INDICATOR, SERVICE, SHEET, SheetTestCase


def cell(indicator: str, entity_id: str) -> str:
    return f"v|{indicator}|{entity_id}"


class SheetAccessTest(SheetTestCase):
    def test_it_shows_a_rater_an_input_per_assigned_cell_with_scale_and_rule_in_the_header(self):
        self.login(self.rater)
        r = self.client.get(SHEET)
        self.assertEqual(r.status_code, 200)
        self.assertEqual([i.code for i in r.context["indicators"]], [INDICATOR, SERVICE])
        self.assertEqual(len(r.context["rows"]), 40)
        self.assertContains(r, 'name="v|manager_rating|C000001"')
        self.assertContains(r, 'name="v|service_rating|C000040"')
        self.assertContains(r, "量表 0–100")
        self.assertContains(r, "量表 1–5")
        self.assertContains(r, "人工评分，按评分量表折算为 0–10 分")  # the rule in words
        self.assertContains(r, "盲评")
        self.assertContains(r, "已提交 0 / 80 项，80 项待评分")
        self.assertContains(r, f"截止 {self.deadline:%Y-%m-%d}")
        self.assertContains(r, "pingji/ratings-sheet.js")
        page = r.content.decode()
        self.assertFalse("<script>" in page or "<style" in page or " onclick=" in page)

    def test_it_shows_a_rater_of_another_department_only_the_cells_assigned_to_it(self):
        self.login(self.rater_q)
        r = self.client.get(SHEET)
        self.assertEqual([row["id"] for row in r.context["rows"]], ["C000001", "C000002"])
        self.assertEqual([i.code for i in r.context["indicators"]], [INDICATOR])
        self.assertNotContains(r, "service_rating")

    def test_it_answers_404_to_a_user_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(SHEET).status_code, 404)
        r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "50", "save": "1"})
        self.assertEqual(r.status_code, 404)
        self.assertFalse(Rating.objects.exists())

    def test_it_sends_readers_to_the_worklist_and_refuses_their_changes_with_403(self):
        for user in (self.viewer, self.analyst):
            self.login(user)
            r = self.client.get(SHEET)
            self.assertRedirects(
                r, "/ratings/?scheme=customer-composite", fetch_redirect_response=False
            )
            r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "50", "save": "1"})
            self.assertEqual(r.status_code, 403, user)
        self.assertFalse(Rating.objects.exists())

    def test_it_refuses_a_cell_not_assigned_to_the_raters_department_with_403(self):
        self.login(self.rater_q)
        r = self.client.post(
            SHEET,
            {cell(INDICATOR, "C000001"): "50", cell(INDICATOR, "C000003"): "60", "save": "1"},
        )
        self.assertEqual(r.status_code, 403)
        self.assertFalse(Rating.objects.exists())

    def test_it_answers_405_to_other_methods(self):
        self.login(self.rater)
        self.assertEqual(self.client.put(SHEET).status_code, 405)
        self.assertEqual(self.client.delete(SHEET).status_code, 405)

    def test_it_speaks_english_when_asked(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        self.login(self.rater)
        r = self.client.get(SHEET)
        for text in ("Rating sheet", "scale 0–100", "Submit all", "0 / 80 submitted, 80 to do"):
            self.assertContains(r, text)
        r = self.client.post(SHEET, {cell(SERVICE, "C000001"): "9", "save": "1"})
        self.assertContains(r, "9 is outside the scale; allowed: 1 to 5")

    def test_it_answers_404_for_a_scheme_the_user_does_not_see(self):
        self.login(self.rater)
        self.assertEqual(self.client.get("/ratings/sheet/?scheme=nope").status_code, 404)


class SheetSavingTest(SheetTestCase):
    def test_it_saves_a_page_of_typed_values_as_drafts_and_leaves_empty_cells_alone(self):
        self.login(self.rater)
        r = self.client.post(
            SHEET,
            {
                cell(INDICATOR, "C000001"): "80",
                cell(SERVICE, "C000001"): "4.5",
                cell(INDICATOR, "C000002"): " 1,00 ",  # 100 typed with a separator
                cell(SERVICE, "C000002"): "",
                "save": "1",
            },
        )
        self.assertRedirects(r, SHEET, fetch_redirect_response=False)
        saved = {
            (x.entity_id, x.indicator): (x.score, x.status, x.department_id)
            for x in Rating.objects.all()
        }
        self.assertEqual(
            saved,
            {
                ("C000001", INDICATOR): (Decimal(80), "draft", self.sales.pk),
                ("C000001", SERVICE): (Decimal("4.5"), "draft", self.sales.pk),
                ("C000002", INDICATOR): (Decimal(100), "draft", self.sales.pk),
            },
        )
        self.assertEqual(AuditEvent.objects.filter(action="rating.save").count(), 3)
        page = self.client.get(SHEET)
        self.assertContains(page, 'value="4.5"')
        self.assertContains(page, "已提交 0 / 80 项，80 项待评分")  # drafts are not done

    def test_it_keeps_every_typed_value_and_shows_the_error_and_range_at_its_cell(self):
        self.login(self.rater)
        r = self.client.post(
            SHEET,
            {
                cell(INDICATOR, "C000001"): "80",
                cell(SERVICE, "C000001"): "7",
                cell(INDICATOR, "C000002"): "abc",
                "save": "1",
            },
        )
        self.assertEqual(r.status_code, 200)
        self.assertFalse(Rating.objects.exists())  # all or nothing: the page is one transaction
        self.assertContains(r, "有 2 个单元格的分值无效，本页未保存")
        first = r.context["rows"][0]["cells"]
        self.assertEqual((first[0]["value"], first[0]["error"]), ("80", ""))
        self.assertEqual((first[1]["value"], first[1]["error"]), ("7", "7 超出量表；允许 1 至 5"))
        second = r.context["rows"][1]["cells"][0]
        self.assertEqual(second["error"], "“abc”不是数字；允许 0 至 100")
        self.assertContains(r, 'value="abc"')
        self.assertContains(r, 'aria-invalid="true"', count=2)

    def test_it_submits_all_drafts_of_the_period_across_pages_in_one_click(self):
        self.rate(self.rater, 30, entity_id="C000040")  # a draft on another page
        self.rate(self.rater, 2, entity_id="C000039", indicator=SERVICE, status="rejected")
        self.rate(self.rater_q, 50, entity_id="C000002")  # someone else's draft
        self.login(self.rater)
        with mock.patch("pingji.web.ratings.sheet_views.PAGE_SIZE", 10):
            r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "90", "submit_all": "1"})
        self.assertEqual(r.status_code, 302)
        mine = Rating.objects.filter(rater=self.rater).order_by("entity_id")
        self.assertEqual(
            [(x.entity_id, x.status) for x in mine],
            [("C000001", "submitted"), ("C000039", "submitted"), ("C000040", "submitted")],
        )
        self.assertTrue(all(x.submitted_at for x in mine))
        self.assertEqual(Rating.objects.get(rater=self.rater_q).status, "draft")
        self.assertEqual(AuditEvent.objects.filter(action="rating.submit").count(), 3)
        page = self.client.get(SHEET)
        self.assertContains(page, "已提交 3 / 80 项，77 项待评分")
        self.assertNotContains(page, 'name="v|manager_rating|C000001"')  # read-only now

    def test_it_leaves_a_returned_rating_returned_when_its_value_is_not_changed(self):
        self.rate(self.rater, 30, status="rejected")
        self.rate(self.rater, 40, status="rejected", entity_id="C000002")
        self.login(self.rater)
        self.client.post(
            SHEET,
            {cell(INDICATOR, "C000001"): "30", cell(INDICATOR, "C000002"): "45", "save": "1"},
        )
        statuses = dict(Rating.objects.values_list("entity_id", "status"))
        self.assertEqual(statuses, {"C000001": "rejected", "C000002": "draft"})

    def test_it_keeps_the_typed_values_when_another_save_of_the_same_cells_got_there_first(self):
        self.login(self.rater)
        crossed = IntegrityError("UNIQUE constraint failed")
        with mock.patch.object(Rating.objects, "bulk_create", side_effect=crossed):
            r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "66", "save": "1"})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "同一时间另有一次保存，本页未保存；请再保存一次。")
        self.assertEqual(r.context["rows"][0]["cells"][0]["value"], "66")
        self.assertFalse(Rating.objects.exists())
        self.assertFalse(AuditEvent.objects.filter(action__startswith="rating.").exists())

    def test_it_deletes_a_draft_whose_cell_was_emptied(self):
        self.rate(self.rater, 30)
        self.login(self.rater)
        self.client.post(SHEET, {cell(INDICATOR, "C000001"): "", "save": "1"})
        self.assertFalse(Rating.objects.exists())
        self.assertEqual(AuditEvent.objects.filter(action="rating.delete").count(), 1)

    def test_it_refuses_to_change_a_submitted_rating_but_accepts_it_unchanged(self):
        self.rate(self.rater, 30, status="submitted")
        self.login(self.rater)
        r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "30", "save": "1"})
        self.assertEqual(r.status_code, 302)
        r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "31", "save": "1"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(Rating.objects.get().score, Decimal(30))

    def test_it_saves_a_page_with_a_fixed_number_of_queries_whatever_its_size(self):
        self.login(self.rater)
        ids = [f"C0000{i:02d}" for i in range(1, 41)]
        for n in ids[:5]:
            self.rate(self.rater, 10, entity_id=n)  # five to update, 75 to create
        values = {cell(ind, e): "3" for e in ids for ind in (INDICATOR, SERVICE)}
        with CaptureQueriesContext(connection) as queries:
            r = self.client.post(SHEET, {**values, "save": "1"})
        self.assertEqual(r.status_code, 302)
        self.assertEqual(Rating.objects.filter(score=3).count(), 80)
        self.assertLess(len(queries), 30)

    def test_it_goes_to_the_next_page_after_saving_when_asked(self):
        self.login(self.rater)
        with mock.patch("pingji.web.ratings.sheet_views.PAGE_SIZE", 10):
            r = self.client.post(SHEET, {cell(INDICATOR, "C000001"): "50", "save_next_page": "1"})
            self.assertRedirects(r, SHEET + "&page=2", fetch_redirect_response=False)
            page = self.client.get(SHEET + "&page=2")
        self.assertEqual(page.context["rows"][0]["id"], "C000011")
        self.assertEqual(page.context["pages"], 4)

    def test_it_holds_fewer_entities_a_page_when_there_are_many_indicators(self):
        self.assertEqual(page_size(2), 50)
        self.assertEqual(page_size(30), 30)
        self.assertEqual(page_size(2000), 1)
