"""The compare page's score movers and cards, worked out by hand, and a run compared with
itself refused.

Run A: 2024 over K01–K08; run B: 2025 over K01–K07 and K09 (support.import_small, as in
test_compare). Scores A → B, change:

    K01 85→100 +15 (A→A)   K02 60→95 +35 (B→A)   K03 40→80 +40 (C→A)   K04 90→65 −25 (A→B)
    K05 50→50 0 (B→B)      K06 20→30 +10 (C→C)   K07 55→10 −45 (B→C)
    K08 45 only in A (C)   K09 70 only in B (B)
"""

from django.urls import reverse
from tests.web.runs.support import DATA, finished_run, import_small, small_scheme

from pingji.web.imports.services import commit_batch, withdraw_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import movers


class CompareMoversTest(WebTestCase):
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

    def compare(self, query: str = ""):
        response = self.client.get(reverse("runs:compare") + f"?a={self.a.pk}&b={self.b.pk}{query}")
        self.assertEqual(response.status_code, 200)
        return response

    @staticmethod
    def changes(rows):
        return [(r["entity_id"], round(r["change"], 6)) for r in rows]

    def test_it_lists_the_largest_rises_and_falls_of_everyone_in_both_runs(self):
        ctx = self.compare().context
        self.assertEqual(ctx["group"], "both")
        self.assertEqual(
            self.changes(ctx["rises"]), [("K03", 40), ("K02", 35), ("K01", 15), ("K06", 10)]
        )
        self.assertEqual(self.changes(ctx["falls"]), [("K07", -45), ("K04", -25)])
        self.assertEqual((ctx["risen"], ctx["fallen"]), (4, 2))  # K05 did not move
        # a rise within one grade counts too: K01 stayed A
        self.assertEqual((ctx["rises"][2]["grade_a"], ctx["rises"][2]["grade_b"]), ("A", "A"))
        self.assertEqual(ctx["rises"][0]["name"], "北方建材有限公司")

    def test_the_cards_filter_the_movers(self):
        up = self.compare("&group=up").context
        self.assertEqual(self.changes(up["rises"]), [("K03", 40), ("K02", 35)])
        self.assertEqual((up["falls"], up["risen"], up["fallen"]), ([], 2, 0))
        down = self.compare("&group=down").context
        self.assertEqual(
            (down["rises"], self.changes(down["falls"])), ([], [("K07", -45), ("K04", -25)])
        )
        same = self.compare("&group=same").context
        self.assertEqual(self.changes(same["rises"]), [("K01", 15), ("K06", 10)])
        self.assertEqual(same["falls"], [])
        only_a = self.compare("&group=only_a").context
        self.assertEqual(
            [(r["entity_id"], r["score_a"], r["grade_a"]) for r in only_a["present"]],
            [("K08", 45.0, "C")],
        )
        only_b = self.compare("&group=only_b").context
        self.assertEqual(
            [(r["entity_id"], r["score_b"], r["grade_b"]) for r in only_b["present"]],
            [("K09", 70.0, "B")],
        )

    def test_each_card_links_to_its_group_and_the_chosen_one_is_marked(self):
        response = self.compare("&group=down")
        for group in movers.GROUPS:
            self.assertContains(
                response, f"?a={self.a.pk}&amp;b={self.b.pk}&amp;group={group}#movers"
            )
        self.assertContains(response, 'class="tile active"', count=1)
        self.assertContains(response, "下降最多")

    def test_an_unknown_group_shows_everyone(self):
        self.assertEqual(self.compare("&group=bogus").context["group"], "both")

    def test_the_limit_keeps_the_largest(self):
        found = movers.movers(self.a, self.b, ["A", "B", "C"], "both", limit=2)
        self.assertEqual(self.changes(found.rises), [("K03", 40), ("K02", 35)])
        self.assertEqual(self.changes(found.falls), [("K07", -45), ("K04", -25)])
        self.assertEqual((found.risen, found.fallen), (4, 2))

    def test_a_run_cannot_be_compared_with_itself(self):
        response = self.client.get(reverse("runs:compare") + f"?a={self.b.pk}&b={self.b.pk}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["error"], "不能将一次运行与它自己对比，请选择另一次运行作为 A 或 B。"
        )
        self.assertNotIn("matrix", response.context)
        self.assertNotContains(response, 'id="movers"')
