"""What keeps the run pages cheap when many users read them (docs/benchmarks.md → many users):
the app database is asked the same number of queries however many runs, periods and batches
there are (no query per row), a scorecard reads its trend in one DuckDB query, and a results
file's row count is read once per filter.

Data: support.import_small — customers K01–K08, sales of 2024 and 2025; the test scheme
(data/runs-test.yaml). K01 scores 85 in 2024 and 100 in 2025."""

import os
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.entities import data
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import attributes, results, scorecard
from pingji.web.runs.models import Run


class ManyUsersTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.run_2025 = finished_run(cls.version, "2025", cls.analyst)

    def queries(self, url: str) -> int:
        """Return how many app-database queries a GET of `url` asks (as the viewer)."""
        self.login(self.viewer)
        self.client.get(url)  # the first request of a test fills per-process caches
        with CaptureQueriesContext(connection) as asked:
            response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        return len(asked.captured_queries)

    def test_the_run_list_asks_as_many_queries_for_three_runs_as_for_one(self):
        url = reverse("runs:list")
        one = self.queries(url)
        finished_run(self.version, "2024", self.analyst)
        finished_run(self.version, "2023", self.analyst)
        self.assertEqual(self.queries(url), one)

    def test_a_scorecard_asks_as_many_queries_with_three_periods_as_with_one(self):
        url = reverse("runs:scorecard", args=[self.run_2025.pk, "K01"])
        one = self.queries(url)
        finished_run(self.version, "2024", self.analyst)
        finished_run(self.version, "2023", self.analyst)
        self.assertEqual(self.queries(url), one)

    def test_the_run_page_and_the_api_ask_a_fixed_number_of_queries_per_page(self):
        for url in (
            reverse("runs:detail", args=[self.run_2025.pk]),
            reverse("runs:detail", args=[self.run_2025.pk]) + "?sort=-grade&page=2&grade=C",
            f"/api/runs/{self.run_2025.pk}/results?sort=score&size=3&page=2",
            f"/api/runs/{self.run_2025.pk}/entities/K01",
        ):
            with self.subTest(url=url):
                self.assertLessEqual(self.queries(url), 12)

    def test_the_trend_reads_every_earlier_period_in_one_query(self):
        run_2024 = finished_run(self.version, "2024", self.analyst)
        run_2023 = finished_run(self.version, "2023", self.analyst)
        read = []
        real = scorecard._row
        with (
            mock.patch.object(scorecard, "_row", side_effect=lambda *a: read.append(a) or real(*a)),
            mock.patch.object(scorecard, "_rows_of", wraps=scorecard._rows_of) as together,
        ):
            card = scorecard.build(self.run_2025, "K01")
        # the results row and the raw row of this run; the earlier periods all at once
        self.assertEqual(len(read), 2)
        together.assert_called_once()
        self.assertEqual(
            [(t["run"], t["period"], t["score"], t["current"]) for t in card["trend"]],
            [
                (run_2023.pk, "2023", 0.0, False),
                (run_2024.pk, "2024", 85.0, False),
                (self.run_2025.pk, "2025", 100.0, True),
            ],
        )

    def test_the_trend_marks_a_period_whose_run_lacks_the_entity_as_not_found(self):
        run_2024 = finished_run(self.version, "2024", self.analyst)
        rows = scorecard._rows_of([run_2024, self.run_2025], "K99")
        self.assertEqual(rows, {})
        rows = scorecard._rows_of([run_2024, self.run_2025], "K03")
        self.assertEqual(
            {pk: row["score"] for pk, row in rows.items()},
            {run_2024.pk: 40.0, self.run_2025.pk: 80.0},
        )

    def test_a_count_is_kept_per_filter_and_one_of_a_name_search_is_not(self):
        run = Run.objects.get(pk=self.run_2025.pk)
        self.assertEqual(results.query(run).total, 8)
        self.assertEqual(results.query(run, grade="A").total, 3)  # K01, K02, K03
        self.assertEqual(results.query(run, grade="C").total, 3)  # K06, K07, K08
        self.assertEqual(results.query(run, page=2, size=5).total, 8)
        self.assertEqual(results.query(run, grade="A", page=2, size=2).total, 3)
        self.assertEqual(results.query(run, search="zzz-nobody").total, 0)
        file = str(results.results_file(run))
        kept = {key[3:]: n for key, n in results._ROWS.items() if key[0] == file}
        self.assertEqual(
            kept, {("",): 8, (" WHERE grade = ?", "A"): 3, (" WHERE grade = ?", "C"): 3}
        )

    def test_a_kept_count_is_used_until_the_results_file_changes(self):
        run = Run.objects.get(pk=self.run_2025.pk)
        file = str(results.results_file(run))
        with mock.patch.dict(results._ROWS, clear=True):
            self.assertEqual(results.query(run, grade="A").total, 3)
            (key,) = results._ROWS
            results._ROWS[key] = 99  # a kept count is not asked for again
            self.assertEqual(results.query(run, grade="A").total, 99)
            st = os.stat(file)
            os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # written anew
            self.assertEqual(results.query(run, grade="A").total, 3)


class KeptAttributeChoicesTest(WebTestCase):
    """The run page's attribute choices (a GROUP BY over the entity file) are read once per
    set of entity files and process, and read again when a file is not the same any more.
    Data: support.import_small with data/customers-attrs.csv (regions 华东 ×3, 华南 ×2, 华中,
    华北, 西南)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst, customers="customers-attrs.csv")
        cls.done = finished_run(small_scheme(cls.analyst), "2025", cls.analyst)

    def setUp(self):
        attributes._kept.clear()
        self.login(self.viewer)

    def regions(self) -> list[tuple[str, int]]:
        response = self.client.get(reverse("runs:detail", args=[self.done.pk]))
        self.assertEqual(response.status_code, 200)
        (region,) = [a for a in response.context["attributes"] if a["name"] == "region"]
        return region["options"]

    def test_the_choices_are_read_once_and_shown_the_same_each_time(self):
        expected = [("华东", 3), ("华南", 2), ("华中", 1), ("华北", 1), ("西南", 1)]
        with (
            mock.patch.object(data, "attribute_options", wraps=data.attribute_options) as grouped,
            mock.patch.object(data, "columns_of", wraps=data.columns_of) as described,
        ):
            self.assertEqual(self.regions(), expected)
            self.assertEqual(self.regions(), expected)
            self.assertEqual(self.regions(), expected)
        self.assertEqual(grouped.call_count, 1)
        self.assertEqual(described.call_count, 1)

    def test_a_changed_entity_file_is_read_again(self):
        with mock.patch.object(data, "attribute_options", wraps=data.attribute_options) as grouped:
            self.regions()
            (file,) = results.entity_files(Run.objects.get(pk=self.done.pk))
            stat = os.stat(file)
            os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
            self.regions()
        self.assertEqual(grouped.call_count, 2)

    def test_at_most_kept_sets_of_files_are_kept(self):
        with mock.patch.object(attributes, "KEPT", 1):
            for n in range(3):
                attributes._kept_or("options", "customers", [], lambda n=n: n)
                attributes._kept_or("options", f"table-{n}", [], lambda n=n: n)
        self.assertEqual(list(attributes._kept.values()), [2])
