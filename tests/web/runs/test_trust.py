"""Runs people can trust: a period the data covers only in part warns before the run starts
and on its page; a run lists only the batches it read; a run can be voided (a reason, the
audit log, analysts and administrators only) and then no longer counts as the latest — on
the home page, entity profiles, the scorecard's history, the API, compare defaults and export
file names — and restored.

The small data set (support.import_small): sales from 2024-06-01 to 2025-12-31, so 2024 is
covered in part (January to May missing), 2025 in full and 2030 not at all. Scores, 2024 →
2025: K01 85→100, K02 60→95, K03 40→80, K04 90→65, K05 50→50, K06 20→30, K07 55→10, K08 45→45.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from tests.web.runs.support import import_small, small_scheme

from pingji.web.accounts.models import ApiToken
from pingji.web.audit.models import AuditEvent
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import exports
from pingji.web.runs.coverage import PeriodCoverage, run_coverage
from pingji.web.runs.models import Run
from pingji.web.runs.services import create_run


def _done(version, period: str, user) -> Run:
    run = create_run(version, period, {}, user)
    assert run.status == "done", run.error
    return run


class CoverageTest(WebTestCase):
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

    def test_it_warns_before_a_run_over_a_period_the_data_covers_in_part(self):
        response = self._post("2024")
        self.assertEqual(response.status_code, 200)
        [error] = response.context["form"].non_field_errors()
        self.assertTrue(error.startswith("所选期间的数据不完整"), error)
        self.assertIn(
            "期间 2024 读取 sales 在 2024-01-01 ~ 2024-12-31 的数据，但数据只覆盖其中一部分"
            "（数据的日期范围：2024-06-01 ~ 2025-12-31）",
            error,
        )
        self.assertContains(response, "仍然运行（数据只覆盖部分期间）")
        self.assertFalse(Run.objects.exists())

    def test_once_confirmed_the_run_starts_and_its_page_warns_too(self):
        response = self._post("2024", allow_empty="on")
        run = Run.objects.get()
        self.assertRedirects(response, reverse("runs:detail", args=[run.pk]))
        found = run_coverage(run)
        self.assertEqual(
            (found.tables, found.first, found.last, found.start, found.end),
            (
                ("sales",),
                dt.date(2024, 6, 1),
                dt.date(2025, 12, 31),
                dt.date(2024, 1, 1),
                dt.date(2024, 12, 31),
            ),
        )
        # 2024's sales rows: K01 85, K02 60, K03 40, K04 90, K05 50, K06 20, K07 55, K08 45
        self.assertEqual(found.rows, 8)
        self.assertTrue(found.partial and not found.empty)
        page = self.client.get(reverse("runs:detail", args=[run.pk]))
        self.assertContains(page, "数据只覆盖部分期间")
        self.assertContains(page, "数据的日期范围：2024-06-01 ~ 2025-12-31")

    def test_a_fully_covered_period_starts_at_once_without_a_warning(self):
        response = self._post("2025")
        run = Run.objects.get()
        self.assertRedirects(response, reverse("runs:detail", args=[run.pk]))
        found = run_coverage(run)
        self.assertFalse(found.partial or found.empty)
        page = self.client.get(reverse("runs:detail", args=[run.pk]))
        self.assertNotContains(page, 'id="coverage"')

    def test_a_few_days_short_is_not_partial_but_weeks_are(self):
        def year(first, last):
            start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
            return PeriodCoverage("2025", ("sales",), 10, first, last, start, end)

        # a year: 5 % of 365 days = 18 days of slack at either end
        self.assertFalse(year(dt.date(2024, 1, 1), dt.date(2025, 12, 13)).partial)  # 18 short
        self.assertTrue(year(dt.date(2024, 1, 1), dt.date(2025, 12, 12)).partial)  # 19 short
        self.assertFalse(year(dt.date(2025, 1, 19), dt.date(2026, 1, 1)).partial)  # 18 late
        self.assertTrue(year(dt.date(2025, 1, 20), dt.date(2026, 1, 1)).partial)  # 19 late
        # a month: at least 7 days of slack
        feb = PeriodCoverage(
            "2025-02",
            ("sales",),
            3,
            dt.date(2025, 1, 1),
            dt.date(2025, 2, 21),
            dt.date(2025, 2, 1),
            dt.date(2025, 2, 28),
        )
        self.assertFalse(feb.partial)
        self.assertTrue(
            PeriodCoverage(
                "2025-02",
                ("sales",),
                3,
                dt.date(2025, 1, 1),
                dt.date(2025, 2, 20),
                dt.date(2025, 2, 1),
                dt.date(2025, 2, 28),
            ).partial
        )
        # an open window (to_date) has no start to miss; no rows at all is empty, not partial
        open_start = PeriodCoverage(
            "2025",
            ("sales",),
            3,
            dt.date(2025, 6, 1),
            dt.date(2025, 12, 31),
            None,
            dt.date(2025, 12, 31),
        )
        self.assertFalse(open_start.partial)
        empty = PeriodCoverage("2030", ("sales",), 0, None, None, None, None)
        self.assertTrue(empty.empty)
        self.assertFalse(empty.partial)


class BatchesReadTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.batches = import_small(cls.analyst)
        folder = cls._home / "extra"
        folder.mkdir(exist_ok=True)
        (folder / "payments.csv").write_text(
            "customer_id,date,amount\nK01,2025-03-01,10.00\n", encoding="utf-8"
        )
        cls.payments = commit_batch(folder / "payments.csv", "payments", cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.done_run = _done(cls.version, "2025", cls.analyst)

    def test_a_run_records_only_the_batches_of_the_tables_its_scheme_reads(self):
        # runs-test reads customers and sales (and overrides, not imported); not payments
        self.assertEqual(
            set(self.done_run.batches.all()), {self.batches["customers"], self.batches["sales"]}
        )

    def test_the_run_page_lists_only_those(self):
        self.login(self.viewer)
        page = self.client.get(reverse("runs:detail", args=[self.done_run.pk]))
        self.assertEqual(
            [item["batch"] for item in page.context["batches"]],
            [self.batches["customers"], self.batches["sales"]],
        )
        self.assertNotContains(page, f"#{self.payments.pk} payments")

    def test_the_new_run_page_shows_the_tables_the_chosen_scheme_reads(self):
        self.login(self.analyst)
        page = self.client.get(reverse("runs:new") + f"?version={self.version.pk}")
        self.assertEqual([t["table"] for t in page.context["tables"]], ["customers", "sales"])
        page = self.client.get(reverse("runs:new"))  # no scheme chosen: every active table
        self.assertEqual(
            [t["table"] for t in page.context["tables"]], ["customers", "payments", "sales"]
        )

    def test_the_api_lists_only_those(self):
        key = ApiToken.issue(self.viewer, "t")[1]
        body = self.client.get(
            f"/api/runs/{self.done_run.pk}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        self.assertEqual(sorted(b["table"] for b in body["batches"]), ["customers", "sales"])


class TablesReadTest(WebTestCase):
    def test_the_calendar_counts_as_read_when_the_scheme_counts_working_days(self):
        from pingji.scheme.resolve import load_scheme
        from pingji.templates import builtin_text
        from pingji.web.runs.services import tables_read

        # satisfaction-survey counts working days (workdays_between): the engine reads the
        # data set's calendar, though the scheme's reads() does not name it
        survey = load_scheme("s.yaml", text=builtin_text("satisfaction-survey"))
        self.assertNotIn("calendar", survey.reads())
        self.assertEqual(
            tables_read(survey),
            ["calendar", "complaints", "customers", "events", "overrides", "ratings", "sales"],
        )
        composite = load_scheme("c.yaml", text=builtin_text("customer-composite"))
        self.assertEqual(
            tables_read(composite),
            ["customers", "overrides", "payments", "ratings", "returns", "sales"],
        )


class VoidTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.a = _done(cls.version, "2024", cls.analyst)
        cls.b = _done(cls.version, "2025", cls.analyst)

    def void(self, run=None, reason="用错了数据批次", user=None):
        self.login(user or self.analyst)
        return self.client.post(reverse("runs:void", args=[(run or self.b).pk]), {"reason": reason})

    def test_it_voids_a_run_with_a_reason_recorded_in_the_audit_log(self):
        response = self.void()
        self.assertRedirects(response, reverse("runs:detail", args=[self.b.pk]))
        self.b.refresh_from_db()
        self.assertTrue(self.b.is_voided)
        self.assertEqual((self.b.voided_by, self.b.void_reason), (self.analyst, "用错了数据批次"))
        event = AuditEvent.objects.get(action="run.void", object_id=str(self.b.pk))
        self.assertEqual((event.username, event.note), ("analyst", "用错了数据批次"))
        self.assertEqual(event.after, {"voided": True, "reason": "用错了数据批次"})
        page = self.client.get(reverse("runs:detail", args=[self.b.pk]))
        self.assertContains(page, "本次运行已作废")
        self.assertContains(page, "用错了数据批次")
        self.assertContains(page, "恢复为有效")
        # the results stay readable
        self.assertEqual(page.context["page"].total, 8)

    def test_it_refuses_without_a_reason(self):
        response = self.void(reason="   ")
        self.assertRedirects(
            response, reverse("runs:detail", args=[self.b.pk]), fetch_redirect_response=False
        )
        self.b.refresh_from_db()
        self.assertFalse(self.b.is_voided)
        page = self.client.get(reverse("runs:detail", args=[self.b.pk]))
        self.assertContains(page, "请填写作废原因。")
        self.assertFalse(AuditEvent.objects.filter(action="run.void").exists())

    def test_it_refuses_a_reason_longer_than_500_characters(self):
        self.void(reason="长" * 501)
        self.b.refresh_from_db()
        self.assertFalse(self.b.is_voided)

    def test_voiding_twice_voids_once(self):
        self.void()
        self.void(reason="第二次")
        self.b.refresh_from_db()
        self.assertEqual(self.b.void_reason, "用错了数据批次")
        self.assertEqual(AuditEvent.objects.filter(action="run.void").count(), 1)

    def test_a_run_that_is_not_done_cannot_be_voided(self):
        failed = Run.objects.create(
            scheme_version=self.version, period="2023", status=Run.Status.FAILED
        )
        self.void(failed)
        failed.refresh_from_db()
        self.assertFalse(failed.is_voided)

    def test_it_restores_a_voided_run_audited(self):
        self.void()
        response = self.client.post(reverse("runs:restore", args=[self.b.pk]), {"note": "误操作"})
        self.assertRedirects(response, reverse("runs:detail", args=[self.b.pk]))
        self.b.refresh_from_db()
        self.assertFalse(self.b.is_voided)
        self.assertEqual(self.b.void_reason, "")
        event = AuditEvent.objects.get(action="run.restore", object_id=str(self.b.pk))
        self.assertEqual(event.before, {"voided": True, "reason": "用错了数据批次"})
        self.assertEqual(event.note, "误操作")

    def test_admins_may_void_too(self):
        self.void(user=self.admin)
        self.b.refresh_from_db()
        self.assertEqual(self.b.voided_by, self.admin)

    def test_viewers_get_403_and_change_nothing(self):
        for url in ("runs:void", "runs:restore"):
            self.login(self.viewer)
            response = self.client.post(reverse(url, args=[self.b.pk]), {"reason": "x"})
            self.assertEqual(response.status_code, 403)
        self.b.refresh_from_db()
        self.assertFalse(self.b.is_voided)
        page = self.client.get(reverse("runs:detail", args=[self.b.pk]))
        self.assertNotContains(page, "作废此运行")

    def test_users_who_see_no_runs_get_404(self):
        for user in (self.rater, self.nobody):
            self.login(user)
            for url in ("runs:void", "runs:restore"):
                response = self.client.post(reverse(url, args=[self.b.pk]), {"reason": "x"})
                self.assertEqual(response.status_code, 404)
        self.login(self.analyst)
        self.assertEqual(
            self.client.post(reverse("runs:void", args=[99999]), {"reason": "x"}).status_code, 404
        )

    def test_a_get_is_405(self):
        self.login(self.analyst)
        for url in ("runs:void", "runs:restore"):
            self.assertEqual(self.client.get(reverse(url, args=[self.b.pk])).status_code, 405)

    def test_the_list_marks_voided_runs_and_filters_by_them(self):
        self.void()
        page = self.client.get(reverse("runs:list"))
        self.assertContains(page, "status-voided", count=1)
        self.assertEqual(page.context["counts"]["voided"], 1)
        only = self.client.get(reverse("runs:list") + "?voided=yes")
        self.assertEqual([r.pk for r in only.context["page"].object_list], [self.b.pk])
        valid = self.client.get(reverse("runs:list") + "?voided=no")
        self.assertEqual([r.pk for r in valid.context["page"].object_list], [self.a.pk])

    def test_the_home_page_leaves_voided_runs_out(self):
        self.void()
        home = self.client.get(reverse("home"))
        self.assertEqual([r.pk for r in home.context["runs"]], [self.a.pk])

    def test_the_entity_profile_takes_the_latest_run_that_is_not_voided(self):
        self.void()
        page = self.client.get(reverse("entities:profile", args=["customers", "K01"]))
        [latest] = page.context["grades"]
        self.assertEqual(latest["run"], self.a)
        self.assertEqual(latest["row"]["grade"], "A")  # K01 scored 85 in 2024

    def test_the_scorecard_history_leaves_a_voided_run_out(self):
        from pingji.web.runs.scorecard import trend

        before = [p["period"] for p in trend(self.b, "K01")]
        self.void(self.a)
        after = [p["period"] for p in trend(self.b, "K01")]
        self.assertEqual((before, after), (["2024", "2025"], ["2025"]))

    def test_compare_does_not_suggest_a_voided_run(self):
        self.void(self.a)
        page = self.client.get(reverse("runs:compare") + f"?b={self.b.pk}")
        self.assertIsNone(page.context["a"])
        self.assertNotIn(self.a.pk, [r.pk for r in page.context["choices"]])
        # asked for by number it still compares, with a warning
        page = self.client.get(reverse("runs:compare") + f"?a={self.a.pk}&b={self.b.pk}")
        self.assertContains(page, f"运行 #{self.a.pk} 已作废（原因：用错了数据批次）")

    def test_an_export_of_a_voided_run_says_so_in_its_name(self):
        self.void()
        self.b.refresh_from_db()
        name = exports.file_name(self.b, "csv", stamp="20260101-0000")
        self.assertEqual(name, f"pingji-run{self.b.pk}-runs-test-2025-已作废-20260101-0000.csv")
        response = self.client.get(reverse("runs:export", args=[self.b.pk, "csv"]))
        self.assertIn("%E5%B7%B2%E4%BD%9C%E5%BA%9F", response["Content-Disposition"])  # 已作废

    def test_the_api_lists_runs_without_voided_ones_unless_asked(self):
        self.void()
        key = ApiToken.issue(self.viewer, "t")[1]
        headers = {"Authorization": f"Bearer {key}"}
        listed = self.client.get("/api/runs", headers=headers).json()
        self.assertEqual([r["id"] for r in listed], [self.a.pk])
        listed = self.client.get("/api/runs?include_voided=true", headers=headers).json()
        self.assertEqual(
            [(r["id"], r["voided"], r["void_reason"]) for r in listed],
            [(self.b.pk, True, "用错了数据批次"), (self.a.pk, False, "")],
        )
        one = self.client.get(f"/api/runs/{self.b.pk}", headers=headers).json()
        self.assertEqual((one["voided"], one["void_reason"]), (True, "用错了数据批次"))

    def test_the_voided_run_and_the_movers_speak_english_when_asked(self):
        from django.conf import settings

        self.void()
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = self.client.get(reverse("runs:detail", args=[self.b.pk]))
        self.assertContains(page, "This run was voided")
        self.assertContains(page, "Reason for voiding")
        self.assertContains(page, "Save current filters")
        self.assertNotContains(page, "本次运行已作废")
        compare = self.client.get(reverse("runs:compare") + f"?a={self.a.pk}&b={self.b.pk}")
        self.assertContains(compare, "Largest rises")
        self.assertContains(compare, "Largest falls")
        self.assertNotContains(compare, "上升最多")
