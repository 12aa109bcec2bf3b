"""A period without data: the new-run page warns before starting the run and asks to confirm;
a run started anyway says so on its page."""

from django.urls import reverse
from tests.web.runs.support import import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run


class EmptyPeriodTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)

    def setUp(self):
        self.login(self.analyst)

    def _post(self, period: str, **extra):
        data = {"version": self.version.pk, "period": period, "param_full_at": "100", **extra}
        return self.client.post(reverse("runs:new"), data)

    def test_it_warns_and_starts_nothing_for_a_period_without_data(self):
        response = self._post("2030")
        self.assertEqual(response.status_code, 200)
        errors = response.context["form"].non_field_errors()
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0].startswith("所选期间在方案的时间窗口内没有任何数据行"), errors[0])
        # the sales data runs from 2024-06-01 to 2025-12-31 (data/sales.csv)
        self.assertIn(
            "期间 2030 读取 sales 在 2030-01-01 ~ 2030-12-31 的数据，但其中没有任何数据行"
            "（数据的日期范围：2024-06-01 ~ 2025-12-31）",
            errors[0],
        )
        self.assertContains(response, 'name="allow_empty"')
        self.assertFalse(Run.objects.exists())

    def test_it_starts_the_run_once_confirmed_and_the_run_page_says_so(self):
        response = self._post("2030", allow_empty="on")
        run = Run.objects.get()
        self.assertRedirects(response, reverse("runs:detail", args=[run.pk]))
        self.assertEqual(run.status, "done", run.error)
        warning = next(w for w in run.summary["warnings"] if "has no row of sales" in w)
        self.assertTrue(warning.startswith("period 2030 (2030-01-01 to 2030-12-31) has no row"))
        self.assertTrue(warning.endswith("every entity was rated on no data"))
        page = self.client.get(reverse("runs:detail", args=[run.pk]))  # in the viewer's language
        self.assertContains(page, "所有评价对象都是在没有数据的情况下评价的")

    def test_a_period_with_data_starts_without_a_warning(self):
        response = self._post("2025")
        run = Run.objects.get()
        self.assertRedirects(response, reverse("runs:detail", args=[run.pk]))
        self.assertFalse(any("no row" in w for w in run.summary["warnings"]))


class PeriodAfterTheDataTest(WebTestCase):
    """A period that begins after the data's last day is empty even when `window: all` or
    `to_date` metrics find older rows (the engine's rule, engine/coverage.py)."""

    def test_a_period_after_the_data_is_empty_and_says_where_the_data_is(self):
        from datetime import date

        from django.utils import translation

        from pingji.web.runs.coverage import PeriodCoverage

        found = PeriodCoverage(
            period="2052-01",
            tables=("sales",),
            rows=40,  # rows of `window: all` before the period
            first=date(2024, 1, 3),
            last=date(2025, 12, 28),
            start=None,
            end=date(2052, 1, 31),
            outside="after",
        )
        self.assertTrue(found.empty)
        self.assertFalse(found.partial)
        with translation.override("zh-hans"):
            self.assertEqual(
                found.describe(),
                "期间 2052-01 在数据的最后一天之后开始（数据的日期范围：2024-01-03 ~ 2025-12-28）。",
            )
        with translation.override("en"):
            self.assertEqual(
                found.describe(),
                "Period 2052-01 begins after the last day of the data (the data runs "
                "2024-01-03 ~ 2025-12-28).",
            )
        self.assertEqual(PeriodCoverage.from_json(found.as_json()), found)
        inside = PeriodCoverage.from_json({**found.as_json(), "outside": None})
        self.assertFalse(inside.empty)
