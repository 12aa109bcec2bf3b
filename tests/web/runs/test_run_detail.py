"""The run page: what the run read, charts, consequences, and the results table with its
filters, sort and pages — checked against the small data set worked out by hand
(tests/web/runs/support.py: import_small)."""

from unittest import mock

from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import views
from pingji.web.runs.models import Run

BY_SCORE = ["K01", "K02", "K03", "K04", "K05", "K08", "K06", "K07"]


class RunPageTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.batches = import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def page(self, query: str = "", user=None):
        self.login(user or self.viewer)
        response = self.client.get(reverse("runs:detail", args=[self.done.pk]) + query)
        self.assertEqual(response.status_code, 200)
        return response

    def ids(self, response) -> list[str]:
        return [r["entity_id"] for r in response.context["rows"]]

    def test_it_shows_the_grade_counts_of_the_summary(self):
        response = self.page()
        counts = {g["grade"]: g["count"] for g in response.context["grades"]}
        self.assertEqual(counts, {"A": 3, "B": 2, "C": 3})
        summary = {g["grade"]: g["count"] for g in self.done.summary["grades"]}
        self.assertEqual(counts, summary)
        pct = {g["grade"]: round(g["pct"], 1) for g in response.context["grades"]}
        self.assertEqual(pct, {"A": 37.5, "B": 25.0, "C": 37.5})
        self.assertContains(response, "优秀")
        self.assertContains(response, "background: #1a9850")

    def test_it_draws_the_grade_histogram_and_class_charts(self):
        response = self.page()
        figs = response.context["figs"]
        self.assertEqual(figs["grades"]["data"][0]["y"], [3, 2, 3])
        self.assertEqual(
            figs["grades"]["data"][0]["marker"]["color"], ["#1a9850", "#fdae61", "#d73027"]
        )
        self.assertEqual(sum(figs["histogram"]["data"][0]["y"]), 8)
        self.assertEqual(figs["classes"]["data"][0]["x"], ["普通客户", "大客户"])
        self.assertEqual(figs["classes"]["data"][0]["y"], [6, 2])
        self.assertContains(response, "data-figure=", count=3)

    def test_it_shows_statuses_and_actions_with_their_labels(self):
        response = self.page()
        statuses = {s["label"]: s["count"] for s in response.context["statuses"]}
        actions = {a["label"]: a["count"] for a in response.context["actions"]}
        self.assertEqual(statuses, {"重点关注": 3})
        self.assertEqual(actions, {"电话回访": 3})

    def test_it_shows_the_run_checks_and_warnings(self):
        response = self.page()
        checks = {c["id"]: (c["share"], c["ok"]) for c in response.context["checks"]}
        self.assertEqual(checks, {"graded": (1.0, True), "enough_a": (0.375, False)})
        self.assertContains(response, "A 级客户过半")
        self.assertContains(response, "✘ 未通过")
        self.assertTrue(any("enough_a" in w for w in response.context["warnings"]))

    def test_it_records_what_the_run_read(self):
        response = self.page()
        for batch in self.batches.values():
            self.assertContains(response, f"#{batch.pk} {batch.table}")
        self.assertContains(response, "满分线(元)")
        self.assertContains(response, "测试客户评价")
        self.assertContains(response, "2025")
        self.assertContains(response, "0 条（仅已审批）")

    def test_it_lists_results_by_score_best_first(self):
        response = self.page()
        self.assertEqual(self.ids(response), BY_SCORE)
        first = response.context["rows"][0]
        self.assertEqual(first["name"], "华东机电有限公司")
        self.assertEqual(first["score"], "100.0")  # the scheme's one precision
        self.assertEqual(first["grade"], "A")
        self.assertEqual(first["class"], "大客户")
        last = response.context["rows"][-1]
        self.assertEqual((last["status"], last["actions"]), ("重点关注", ["电话回访"]))
        self.assertEqual(last["reasons"], ["销售额失分"])
        self.assertContains(response, reverse("runs:scorecard", args=[self.done.pk, "K01"]))

    def test_it_filters_by_grade_class_status_and_action(self):
        self.assertEqual(self.ids(self.page("?grade=C")), ["K08", "K06", "K07"])
        self.assertEqual(self.ids(self.page("?class=big")), ["K01", "K02"])
        self.assertEqual(self.ids(self.page("?status=watch")), ["K08", "K06", "K07"])
        self.assertEqual(self.ids(self.page("?action=call&grade=A")), [])
        response = self.page("?grade=B&class=small")
        self.assertEqual(self.ids(response), ["K04", "K05"])
        self.assertEqual(response.context["page"].total, 2)
        self.assertContains(response, "符合条件的 2 个（共 8 个）")

    def test_it_searches_the_start_of_the_id_and_any_part_of_the_name(self):
        self.assertEqual(self.ids(self.page("?q=k0")), BY_SCORE)
        self.assertEqual(self.ids(self.page("?q=K08")), ["K08"])
        self.assertEqual(self.ids(self.page("?q=南方")), ["K02"])
        self.assertEqual(self.ids(self.page("?q=有限公司&grade=A")), ["K01", "K03"])
        self.assertEqual(self.ids(self.page("?q=%25")), [])  # "%" is a character, not a wildcard

    def test_it_sorts_by_the_column_asked_for(self):
        self.assertEqual(self.ids(self.page("?sort=score")), BY_SCORE[::-1])
        self.assertEqual(self.ids(self.page("?sort=-entity_id")), sorted(BY_SCORE, reverse=True))
        # grades in the scheme's order (A best), then by score
        self.assertEqual(
            self.ids(self.page("?sort=-grade")),
            ["K08", "K06", "K07", "K04", "K05", "K01", "K02", "K03"],
        )
        self.assertEqual(self.ids(self.page("?sort=volume.score")), BY_SCORE[::-1])

    def test_it_sorts_by_entity_id_when_the_sort_is_unknown(self):
        response = self.page("?sort=name;drop")
        self.assertEqual(self.ids(response), sorted(BY_SCORE))
        self.assertEqual(response.context["sort"], "entity_id")

    def test_it_marks_the_sorted_header_and_offers_the_other_direction(self):
        headers = {h["key"]: h for h in self.page("?sort=score").context["headers"] if h["key"]}
        self.assertEqual((headers["score"]["arrow"], headers["score"]["next"]), ("▲", "-score"))
        self.assertEqual(headers["grade"]["next"], "grade")

    def test_it_pages_the_results(self):
        with mock.patch.object(views, "PAGE_SIZE", 3):
            second = self.page("?sort=score&page=2")
            self.assertEqual(self.ids(second), ["K05", "K04", "K03"])
            self.assertEqual((second.context["page"].page, second.context["page"].pages), (2, 3))
            self.assertContains(second, "第 2 / 3 页，共 8 条")
            beyond = self.page("?sort=score&page=99")
            self.assertEqual(self.ids(beyond), ["K02", "K01"])
            self.assertEqual(self.ids(self.page("?sort=score&page=x")), ["K07", "K06", "K08"])

    def test_it_offers_exports_of_the_current_filters(self):
        response = self.page("?grade=C&sort=score")
        url = reverse("runs:export", args=[self.done.pk, "xlsx"])
        self.assertContains(response, f"{url}?grade=C&amp;sort=score")

    def test_it_offers_a_rerun_to_analysts_only(self):
        rerun = reverse("runs:rerun", args=[self.done.pk])
        self.assertContains(self.page(user=self.analyst), rerun)
        self.assertNotContains(self.page(user=self.viewer), rerun)


class RunProgressTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.version = small_scheme(cls.analyst)
        cls.queued = Run.objects.create(
            scheme_version=cls.version, period="2025", progress=20, stage="计算中"
        )
        cls.failed = Run.objects.create(
            scheme_version=cls.version,
            period="2025",
            status=Run.Status.FAILED,
            error="sales.csv, row 4, column amount: 'abc' is not an amount (expected 1234.56)",
        )

    def test_it_polls_the_status_of_a_run_that_is_not_finished(self):
        self.login(self.viewer)
        response = self.client.get(reverse("runs:detail", args=[self.queued.pk]))
        self.assertContains(
            response, f'data-poll="{reverse("runs:status", args=[self.queued.pk])}"'
        )
        self.assertContains(response, '<progress class="run" max="100" value="20">')
        self.assertContains(response, "计算中")
        self.assertNotContains(response, "评价结果")

    def test_it_answers_the_status_as_json(self):
        self.login(self.viewer)
        data = self.client.get(reverse("runs:status", args=[self.queued.pk])).json()
        self.assertEqual(
            {k: data[k] for k in ("status", "progress", "stage", "finished")},
            {"status": "queued", "progress": 20, "stage": "计算中", "finished": False},
        )
        data = self.client.get(reverse("runs:status", args=[self.failed.pk])).json()
        self.assertEqual((data["status"], data["finished"]), ("failed", True))

    def test_it_shows_why_a_run_failed(self):
        self.login(self.viewer)
        response = self.client.get(reverse("runs:detail", args=[self.failed.pk]))
        self.assertContains(response, "运行失败")
        self.assertContains(response, "sales.csv, row 4, column amount: &#x27;abc&#x27; is not")
        self.assertNotContains(response, "data-poll")

    def test_it_answers_the_status_of_a_finished_run(self):
        import_small(self.analyst)
        run = finished_run(self.version, "2025", self.analyst)
        self.login(self.viewer)
        data = self.client.get(reverse("runs:status", args=[run.pk])).json()
        self.assertEqual(
            {k: data[k] for k in ("status", "progress", "finished", "entities")},
            {"status": "done", "progress": 100, "finished": True, "entities": 8},
        )


class RunPageLanguageTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.done = finished_run(small_scheme(cls.analyst), "2025", cls.analyst)

    def test_it_speaks_chinese_first_and_english_when_asked(self):
        from django.conf import settings

        self.login(self.viewer)
        url = reverse("runs:detail", args=[self.done.pk])
        self.assertContains(self.client.get(url), "等级分布")
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = self.client.get(url)
        self.assertContains(response, "Grade distribution")
        self.assertContains(response, "Score distribution")
        self.assertNotContains(response, "等级分布")
