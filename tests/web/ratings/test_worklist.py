"""The rater's worklist: entities × the manual indicators assigned to the department, with
the rater's status per cell, counts, search, status filter and pages."""

from unittest import mock

from pingji.templates import builtin_text
from pingji.web.imports.services import withdraw_batch
from pingji.web.ratings.indicators import current_period
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.testing import RatingsTestCase
from pingji.web.schemes.models import Scheme
from pingji.web.schemes.services import add_version, publish

URL = "/ratings/?scheme=customer-composite&period=2025"


def rows(response) -> list[str]:
    """The entity ids of the grid rows on the page."""
    return [r["id"] for r in response.context["rows"]]


class WorklistTest(RatingsTestCase):
    def test_it_lists_every_customer_for_a_rater_assigned_all_of_them(self):
        self.rating(self.rater, 80, status="submitted", entity_id="C000001")
        self.rating(self.rater, 40, status="draft", entity_id="C000002")
        self.rating(self.rater_q, 10, status="approved", entity_id="C000003")  # not theirs
        self.login(self.rater)
        r = self.client.get(URL)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(rows(r)), 40)
        self.assertEqual(rows(r)[:2], ["C000001", "C000002"])
        self.assertContains(r, "大庆中联食品有限公司")
        grid = r.context["grid"]
        self.assertEqual(grid.cells, 40)
        self.assertEqual(
            grid.counts,
            {"empty": 38, "draft": 1, "submitted": 1, "approved": 0, "rejected": 0},
        )
        first = r.context["rows"][0]["cells"][0]
        self.assertEqual((first["status"], first["own"].score), ("submitted", 80))
        self.assertEqual(r.context["rows"][2]["cells"][0]["status"], "empty")
        self.assertContains(r, "/ratings/customer-composite/2025/C000001/manager_rating/")

    def test_it_shows_a_rater_only_the_entities_assigned_to_the_department(self):
        self.login(self.rater_q)
        r = self.client.get(URL)
        self.assertEqual(rows(r), ["C000001", "C000002"])
        self.assertEqual(r.context["grid"].cells, 2)

    def test_it_searches_by_id_or_name_and_filters_by_status(self):
        self.rating(self.rater, 80, status="submitted", entity_id="C000004")
        self.login(self.rater)
        self.assertEqual(
            rows(self.client.get(URL + "&q=c00001")), [f"C0000{i}" for i in range(10, 20)]
        )
        self.assertEqual(rows(self.client.get(URL + "&q=大庆")), ["C000001"])
        self.assertEqual(rows(self.client.get(URL + "&status=submitted")), ["C000004"])
        self.assertEqual(len(rows(self.client.get(URL + "&status=empty"))), 39)
        self.assertEqual(rows(self.client.get(URL + "&q=nothing-like-this")), [])

    def test_it_pages_the_entities(self):
        self.login(self.rater)
        with mock.patch("pingji.web.ratings.views.PAGE_SIZE", 15):
            first = self.client.get(URL)
            last = self.client.get(URL + "&page=3")
        self.assertEqual(rows(first)[0], "C000001")
        self.assertEqual(len(rows(first)), 15)
        self.assertEqual(rows(last), [f"C0000{i}" for i in range(31, 41)])
        self.assertEqual(last.context["pages"], 3)
        self.assertContains(last, "第 3 / 3 页，共 40 个评价对象")

    def test_it_shows_readers_every_department_with_the_mean_of_approved_ratings(self):
        self.rating(self.rater, 80, status="approved")
        self.rating(self.rater_q, 91, status="approved")
        self.rating(self.rater, 50, status="submitted", entity_id="C000002")
        self.rating(self.rater, 20, status="draft", entity_id="C000003")  # private
        for user in (self.viewer, self.analyst, self.admin):
            self.login(user)
            r = self.client.get(URL)
            self.assertEqual(r.status_code, 200, user)
            self.assertEqual(len(rows(r)), 40)
            cell = r.context["rows"][0]["cells"][0]
            self.assertEqual((cell["approved"], cell["approved_mean"]), (2, 85.5))
            self.assertContains(r, "均 85.5")
            self.assertContains(r, "待审 1")
            counts = r.context["grid"].counts
            self.assertEqual((counts["approved"], counts["submitted"], counts["empty"]), (1, 1, 38))

    def test_it_defaults_to_the_current_period_of_the_schemes_kind(self):
        self.login(self.rater)
        r = self.client.get("/ratings/")
        self.assertEqual(r.context["rated"].scheme.code, "customer-composite")
        self.assertEqual(r.context["period"], current_period("year"))
        self.assertIn("2025", r.context["periods"])

    def test_it_explains_a_wrong_period_and_uses_the_current_one(self):
        self.login(self.rater)
        r = self.client.get("/ratings/?scheme=customer-composite&period=2025-07")
        self.assertContains(r, "期间“2025-07”无效")
        self.assertEqual(r.context["period"], current_period("year"))

    def test_it_lists_only_the_schemes_a_rater_has_work_in(self):
        publish(add_version(builtin_text("satisfaction-survey"), self.analyst), self.analyst)
        survey = Scheme.objects.get(code="satisfaction-survey")
        self.login(self.rater)
        r = self.client.get(URL)
        self.assertEqual([s.scheme.code for s in r.context["schemes"]], ["customer-composite"])
        self.assertEqual(self.client.get("/ratings/?scheme=satisfaction-survey").status_code, 404)
        Assignment.objects.create(scheme=survey, indicator="overall_image", department=self.sales)
        r = self.client.get("/ratings/?scheme=satisfaction-survey&period=2025")
        self.assertEqual([i.code for i in r.context["indicators"]], ["overall_image"])
        self.login(self.analyst)
        r = self.client.get("/ratings/?scheme=satisfaction-survey&period=2025")
        self.assertEqual(len(r.context["indicators"]), 5)

    def test_it_tells_a_rater_without_assignments_there_is_no_work(self):
        from pingji.web.accounts.models import Department

        idle = self.make_user("idle", "rater", Department.objects.create(code="hr", name="人事部"))
        self.login(idle)
        r = self.client.get("/ratings/")
        self.assertContains(r, "还没有分配给您部门的评分任务")

    def test_it_says_when_the_entities_are_not_imported(self):
        for batch in self.batches:
            if batch.table == "customers":
                withdraw_batch(batch, self.analyst, "重新导入")
        self.login(self.rater)
        self.assertContains(self.client.get(URL), "尚未导入客户数据")

    def test_it_gives_404_to_users_without_a_role_and_405_to_posts(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(URL).status_code, 404)
        self.login(self.rater)
        self.assertEqual(self.client.post(URL).status_code, 405)
        self.assertEqual(self.client.get("/ratings/?scheme=no-such").status_code, 404)


class WorklistSeveralIndicatorsTest(RatingsTestCase):
    """satisfaction-survey: sales rates overall_image for everyone and product_development
    for C000001 only — 41 cells; an entity stays "to do" until all its cells are rated."""

    def setUp(self):
        publish(add_version(builtin_text("satisfaction-survey"), self.analyst), self.analyst)
        self.survey = Scheme.objects.get(code="satisfaction-survey")
        Assignment.objects.create(
            scheme=self.survey, indicator="overall_image", department=self.sales
        )
        Assignment.objects.create(
            scheme=self.survey,
            indicator="product_development",
            department=self.sales,
            entity_ids=["C000001"],
        )
        self.url = "/ratings/?scheme=satisfaction-survey&period=2025"

    def rate(self, indicator, entity_id, status="submitted"):
        from pingji.web.ratings.models import Rating

        Rating.objects.create(
            scheme=self.survey,
            indicator=indicator,
            entity_id=entity_id,
            period="2025",
            score=8,
            status=status,
            rater=self.rater,
            department=self.sales,
        )

    def test_it_counts_the_cells_and_keeps_partly_rated_entities_to_do(self):
        self.rate("overall_image", "C000001")
        self.rate("overall_image", "C000002", status="draft")
        self.login(self.rater)
        r = self.client.get(self.url)
        self.assertEqual(
            [i.code for i in r.context["indicators"]], ["product_development", "overall_image"]
        )
        self.assertEqual(r.context["grid"].cells, 41)
        self.assertEqual(
            r.context["grid"].counts,
            {"empty": 39, "draft": 1, "submitted": 1, "approved": 0, "rejected": 0},
        )
        first = r.context["rows"][0]["cells"]
        self.assertEqual([c["status"] for c in first], ["empty", "submitted"])
        second = r.context["rows"][1]["cells"]
        self.assertEqual([c["shown"] for c in second], [False, True])
        self.assertContains(r, "未分配给您的部门")
        todo = rows(self.client.get(self.url + "&status=empty"))
        self.assertEqual(len(todo), 39)  # C000001 (one cell left) and 38 untouched
        self.assertIn("C000001", todo)
        self.assertNotIn("C000002", todo)  # its only cell is a draft
        self.rate("product_development", "C000001")
        self.assertNotIn("C000001", rows(self.client.get(self.url + "&status=empty")))
