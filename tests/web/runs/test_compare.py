"""Comparing two runs: the grade migration matrix, worked out by hand.

Run A: 2024 over customers K01–K08. Then the customers batch is withdrawn and one with
K01–K07 and K09 imported; run B: 2025. Grades (support.import_small):

    K01 A→A  K02 B→A  K03 C→A  K04 A→B  K05 B→B  K06 C→C  K07 B→C  K08 C→(not in B)
    K09 (not in A)→B (70 in 2025)
"""

from django.urls import reverse
from tests.web.runs.support import DATA, finished_run, import_small, small_scheme

from pingji.web.imports.services import commit_batch, withdraw_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import results
from pingji.web.schemes.services import add_version, publish

ABSENT = results.ABSENT


class CompareTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        batches = import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.a = finished_run(cls.version, "2024", cls.analyst)
        withdraw_batch(batches["customers"], cls.analyst, "K08 已注销")
        commit_batch(DATA / "customers-2.csv", "customers", cls.analyst)
        cls.b = finished_run(cls.version, "2025", cls.analyst)

    def setUp(self):
        self.login(self.viewer)

    def compare(self, query: str):
        response = self.client.get(reverse("runs:compare") + query)
        self.assertEqual(response.status_code, 200)
        return response

    def test_it_counts_the_grade_migration_in_one_join(self):
        self.assertEqual(
            results.migration(self.a, self.b),
            {
                ("A", "A"): 1,
                ("B", "A"): 1,
                ("C", "A"): 1,
                ("A", "B"): 1,
                ("B", "B"): 1,
                ("C", "C"): 1,
                ("B", "C"): 1,
                ("C", ABSENT): 1,
                (ABSENT, "B"): 1,
            },
        )

    def test_it_shows_the_matrix_with_totals(self):
        response = self.compare(f"?a={self.a.pk}&b={self.b.pk}")
        ctx = response.context
        self.assertEqual([c["grade"] for c in ctx["columns"]], ["A", "B", "C", ABSENT])
        grid = {row["grade"]: [c and c["n"] for c in row["cells"]] for row in ctx["matrix"]}
        self.assertEqual(
            grid,
            {"A": [1, 1, 0, 0], "B": [1, 1, 1, 0], "C": [1, 0, 1, 1], ABSENT: [0, 1, 0, None]},
        )
        self.assertEqual([row["total"] for row in ctx["matrix"]], [2, 3, 3, 1])
        self.assertEqual(ctx["col_totals"], [3, 3, 2, 1])
        self.assertEqual(ctx["grand_total"], 9)
        self.assertEqual(
            (ctx["in_both"], ctx["up"], ctx["same"], ctx["down"], ctx["only_a"], ctx["only_b"]),
            (7, 2, 3, 2, 1, 1),
        )
        kinds = {row["grade"]: [c and c["kind"] for c in row["cells"]] for row in ctx["matrix"]}
        self.assertEqual(kinds["B"], ["up", "same", "down", "other"])
        self.assertContains(response, "不在 A 中")
        self.assertContains(response, "不在 B 中")

    def test_each_cell_links_to_its_entities(self):
        response = self.compare(f"?a={self.a.pk}&b={self.b.pk}")
        url = reverse("runs:compare_entities")
        self.assertContains(response, f"{url}?a={self.a.pk}&amp;b={self.b.pk}&amp;ga=B&amp;gb=A")

    def test_the_drill_down_lists_the_entities_with_both_scores(self):
        url = reverse("runs:compare_entities")
        response = self.client.get(f"{url}?a={self.a.pk}&b={self.b.pk}&ga=B&gb=A")
        self.assertEqual(response.status_code, 200)
        (row,) = response.context["rows"]
        self.assertEqual(
            (
                row["entity_id"],
                row["name"],
                row["grade_a"],
                row["score_a"],
                row["grade_b"],
                row["score_b"],
            ),
            ("K02", "南方电子股份公司", "B", 60.0, "A", 95.0),
        )
        self.assertEqual(row["change"], 35.0)
        self.assertContains(response, reverse("runs:scorecard", args=[self.b.pk, "K02"]))

    def test_the_drill_down_lists_entities_found_in_one_run_only(self):
        url = reverse("runs:compare_entities")
        gone = self.client.get(f"{url}?a={self.a.pk}&b={self.b.pk}&ga=C&gb={ABSENT}")
        self.assertEqual([r["entity_id"] for r in gone.context["rows"]], ["K08"])
        self.assertEqual(gone.context["rows"][0]["name"], "珠江纺织有限公司")
        new = self.client.get(f"{url}?a={self.a.pk}&b={self.b.pk}&ga={ABSENT}&gb=B")
        self.assertEqual([r["entity_id"] for r in new.context["rows"]], ["K09"])
        self.assertEqual(new.context["rows"][0]["name"], "新疆果品有限公司")
        empty = self.client.get(f"{url}?a={self.a.pk}&b={self.b.pk}&ga=A&gb=C")
        self.assertEqual(empty.context["page"].total, 0)

    def test_it_suggests_the_previous_run_of_the_scheme_for_a(self):
        response = self.compare(f"?b={self.b.pk}")
        self.assertEqual(response.context["a"], self.a)
        self.assertEqual(response.context["grand_total"], 9)

    def test_it_asks_for_two_runs(self):
        response = self.compare("")
        self.assertNotIn("matrix", response.context)
        self.assertEqual(set(response.context["choices"]), {self.a, self.b})

    def test_it_refuses_runs_of_different_schemes(self):
        text = (DATA / "runs-test.yaml").read_text(encoding="utf-8")
        other = publish(
            add_version(text.replace("id: runs-test", "id: runs-other"), self.analyst), self.analyst
        )
        c = finished_run(other, "2025", self.analyst)
        response = self.compare(f"?a={self.a.pk}&b={c.pk}")
        self.assertContains(response, "两次运行属于不同的评价方案")
        self.assertNotIn("matrix", response.context)
