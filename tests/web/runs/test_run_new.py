"""Starting a run from the web: a published version, a period of the scheme's kind, the
scheme's parameters; refusals on the form; re-running with the same settings."""

from unittest import mock

from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.templates import builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import results
from pingji.web.runs.models import Run
from pingji.web.runs.services import RunRefused
from pingji.web.schemes.services import add_version


class NewRunTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.draft = add_version(builtin_text("supplier-rating"), cls.analyst)

    def setUp(self):
        self.login(self.analyst)

    def test_it_offers_published_versions_only(self):
        response = self.client.get(reverse("runs:new"))
        self.assertContains(response, "测试客户评价 · v1")
        self.assertNotContains(response, "supplier-rating")
        self.assertEqual(list(response.context["form"].fields["version"].queryset), [self.version])

    def test_it_builds_the_parameter_fields_from_the_scheme(self):
        response = self.client.get(reverse("runs:new") + f"?version={self.version.pk}")
        form = response.context["form"]
        self.assertEqual(form.param_names, ["full_at"])
        field = form.fields["param_full_at"]
        self.assertEqual((field.label, field.initial), ("满分线(元)", 100))
        self.assertContains(response, "默认值：100")
        # the period of the latest data (sales up to 2025-12-31), and the scheme's period kind
        self.assertEqual(form.initial["period"], "2025")
        self.assertContains(response, "本方案按年度评价，例如 2025")

    def test_it_starts_a_run_and_shows_its_page(self):
        response = self.client.post(
            reverse("runs:new"),
            {"version": self.version.pk, "period": " 2025 ", "param_full_at": "200"},
        )
        run = Run.objects.get()
        self.assertRedirects(response, reverse("runs:detail", args=[run.pk]))
        self.assertEqual((run.status, run.period, run.params), ("done", "2025", {"full_at": "200"}))
        self.assertEqual(run.created_by, self.analyst)
        # full marks at 200: K01's 120 scores 60
        self.assertEqual(results.entity_row(run, "K01")["score"], 60.0)
        self.assertTrue(
            AuditEvent.objects.filter(action="run.create", object_id=str(run.pk)).exists()
        )

    def test_it_refuses_a_period_of_another_kind_on_the_form(self):
        response = self.client.post(
            reverse("runs:new"),
            {"version": self.version.pk, "period": "2025-10", "param_full_at": "100"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertFormError(
            response.context["form"],
            "period",
            "“2025-10”不是本方案的期间：本方案按年度评价，请填写如 2025。",
        )
        self.assertFalse(Run.objects.exists())

    def test_it_refuses_a_parameter_value_of_the_wrong_type(self):
        response = self.client.post(
            reverse("runs:new"),
            {"version": self.version.pk, "period": "2025", "param_full_at": "abc"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors["param_full_at"])
        self.assertFalse(Run.objects.exists())

    def test_it_refuses_a_draft_version(self):
        response = self.client.post(
            reverse("runs:new"), {"version": self.draft.pk, "period": "2025-12"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors["version"])
        self.assertFalse(Run.objects.exists())

    def test_it_shows_a_refusal_of_the_service_on_the_form(self):
        with mock.patch("pingji.web.runs.views.create_run", side_effect=RunRefused("没有数据批次")):
            response = self.client.post(
                reverse("runs:new"),
                {"version": self.version.pk, "period": "2025", "param_full_at": "100"},
            )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["form"].non_field_errors(), ["没有数据批次"])
        self.assertContains(response, "没有数据批次")

    def test_it_fills_the_form_from_an_earlier_run(self):
        run = finished_run(self.version, "2024", self.analyst, {"full_at": "150"})
        response = self.client.get(reverse("runs:new") + f"?from={run.pk}")
        form = response.context["form"]
        self.assertEqual(form.initial["version"], self.version.pk)
        self.assertEqual((form.initial["period"], form.initial["param_full_at"]), ("2024", "150"))

    def test_it_reruns_with_the_same_settings_as_a_new_run(self):
        old = finished_run(self.version, "2024", self.analyst, {"full_at": "150"})
        before = Run.objects.filter(pk=old.pk).values().get()
        response = self.client.post(reverse("runs:rerun", args=[old.pk]))
        new = Run.objects.exclude(pk=old.pk).get()
        self.assertRedirects(response, reverse("runs:detail", args=[new.pk]))
        self.assertEqual(
            (new.scheme_version, new.period, new.params, new.status),
            (self.version, "2024", {"full_at": "150"}, "done"),
        )
        self.assertEqual(Run.objects.filter(pk=old.pk).values().get(), before)  # untouched
        self.assertEqual(new.summary["grades"], old.summary["grades"])
        self.assertNotEqual(new.results_path, old.results_path)
