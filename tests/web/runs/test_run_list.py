"""The list of runs: newest first, filtered by scheme and status, with who/when/duration."""

from unittest import mock

from django.urls import reverse
from tests.web.runs.support import DATA, finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import views
from pingji.web.runs.models import Run
from pingji.web.schemes.services import add_version, publish


class RunListTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        text = (DATA / "runs-test.yaml").read_text(encoding="utf-8")
        text = text.replace("id: runs-test", "id: runs-other").replace("测试客户评价", "另一方案")
        cls.other = publish(add_version(text, cls.analyst), cls.analyst)
        cls.r2024 = finished_run(cls.version, "2024", cls.analyst)
        cls.r2025 = finished_run(cls.version, "2025", cls.analyst)
        cls.r_other = finished_run(cls.other, "2025", cls.analyst)
        cls.failed = Run.objects.create(
            scheme_version=cls.version, period="2023", status=Run.Status.FAILED, error="x"
        )

    def get(self, query: str = ""):
        self.login(self.viewer)
        response = self.client.get(reverse("runs:list") + query)
        self.assertEqual(response.status_code, 200)
        return response

    def pks(self, response) -> list[int]:
        return [r.pk for r in response.context["page"].object_list]

    def test_it_lists_every_run_newest_first(self):
        response = self.get()
        self.assertEqual(
            self.pks(response), [self.failed.pk, self.r_other.pk, self.r2025.pk, self.r2024.pk]
        )
        self.assertContains(response, "测试客户评价")
        self.assertContains(response, "已完成")
        self.assertContains(response, "失败")
        self.assertEqual(response.context["counts"]["done"], 3)
        self.assertEqual(response.context["counts"]["failed"], 1)

    def test_it_shows_who_started_a_run_and_how_long_it_took(self):
        response = self.get()
        done = next(r for r in response.context["page"].object_list if r.pk == self.r2025.pk)
        self.assertGreaterEqual(done.duration, 0)
        self.assertEqual(done.created_by, self.analyst)
        self.assertContains(response, "秒")

    def test_it_filters_by_scheme_and_status(self):
        self.assertEqual(self.pks(self.get("?scheme=runs-other")), [self.r_other.pk])
        self.assertEqual(self.pks(self.get("?status=failed")), [self.failed.pk])
        self.assertEqual(
            self.pks(self.get("?scheme=runs-test&status=done")), [self.r2025.pk, self.r2024.pk]
        )
        self.assertEqual(self.pks(self.get("?status=nonsense")), self.pks(self.get()))

    def test_it_links_each_run_and_offers_a_new_one_to_analysts(self):
        response = self.get()
        self.assertContains(response, reverse("runs:detail", args=[self.r2024.pk]))
        self.assertNotContains(response, reverse("runs:new"))
        self.login(self.analyst)
        self.assertContains(self.client.get(reverse("runs:list")), reverse("runs:new"))

    def test_the_pager_counts_what_the_list_holds_whatever_the_filters(self):
        Run.objects.filter(pk=self.r2024.pk).update(voided_at=self.r2024.finished_at)
        for query in (
            "",
            "?status=done",
            "?status=failed",
            "?status=nonsense",
            "?voided=yes",
            "?voided=no",
            "?status=done&voided=no",
            "?status=done&voided=yes",
            "?scheme=runs-other",
            "?scheme=runs-test&voided=no",
        ):
            with self.subTest(query):
                page = self.get(query).context["page"]
                self.assertEqual(page.paginator.count, len(self.pks(self.get(query))))

    def test_the_pager_counts_pages_of_many_runs(self):
        for i in range(3):
            Run.objects.create(scheme_version=self.version, period=f"20{10 + i}", status="failed")
        with mock.patch.object(views, "PAGE_SIZE", 2):
            first = self.get("?status=failed").context["page"]
            last = self.get("?status=failed&page=2").context["page"]
        self.assertEqual((first.paginator.count, first.paginator.num_pages), (4, 2))
        self.assertEqual(len(last.object_list), 2)
        self.assertFalse(last.has_next())
