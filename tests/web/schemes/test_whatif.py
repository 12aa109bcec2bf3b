"""What-if preview of a draft, worked out by hand on the small run data (tests/web/runs).

Run #1 (v1, 2025, full_at 100): scores K01 100 · K02 95 · K03 80 · K04 65 · K05 50 · K06 30 ·
K07 10 · K08 45; grades A ≥ 80, B ≥ 50, else C → A: K01 K02 K03, B: K04 K05, C: K06 K07 K08.

Draft v2 moves the bands: A ≥ 90, B ≥ 40 → A: K01 K02, B: K03 K04 K05 K08, C: K06 K07.
Migration: A→A 2 (K01 K02), A→B 1 (K03), B→B 2 (K04 K05), C→B 1 (K08), C→C 2 (K06 K07):
one down, one up, six unchanged.
"""

from unittest import mock

from django.utils import timezone
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import results
from pingji.web.runs.models import Run
from pingji.web.schemes import whatif
from pingji.web.schemes.services import copy_version, update_draft

ABSENT = results.ABSENT


def moved_bands(text: str) -> str:
    """The draft's change: A from 80 to 90, B from 50 to 40."""
    changed = text.replace("min: 80}", "min: 90}").replace("min: 50}", "min: 40}")
    assert changed.count("min: 90}") == 1 and changed.count("min: 40}") == 1
    return changed


class WhatIfTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.v1 = small_scheme(cls.analyst)
        cls.base = finished_run(cls.v1, "2025", cls.analyst)

    def setUp(self):
        self.draft = copy_version(self.v1, self.analyst)
        update_draft(self.draft, moved_bands(self.draft.yaml), self.analyst)
        self.url = f"/schemes/runs-test/v{self.draft.number}/whatif/"
        self.login(self.analyst)

    def test_it_sets_the_drafts_grades_against_the_latest_run(self):
        r = self.client.get(self.url)
        self.assertEqual(r.status_code, 200)
        preview = r.context["preview"]
        self.assertEqual(preview.run, self.base)
        self.assertEqual(preview.entities, 8)
        self.assertEqual(
            [(row["grade"], row["before"], row["after"], row["change"]) for row in preview.rows],
            [("A", 3, 2, -1), ("B", 2, 4, 2), ("C", 3, 2, -1)],
        )
        m = preview.matrix
        self.assertEqual([c["grade"] for c in m["columns"]], ["A", "B", "C", ABSENT])
        grid = {row["grade"]: [c and c["n"] for c in row["cells"]] for row in m["matrix"]}
        self.assertEqual(
            grid,
            {"A": [2, 1, 0, 0], "B": [0, 2, 0, 0], "C": [0, 1, 2, 0], ABSENT: [0, 0, 0, None]},
        )
        self.assertEqual((m["up"], m["same"], m["down"], m["in_both"]), (1, 6, 1, 8))
        self.assertEqual((m["only_a"], m["only_b"]), (0, 0))
        # mean score is the same: the draft changed only the grade bands
        self.assertAlmostEqual(preview.mean_before, (100 + 95 + 80 + 65 + 50 + 30 + 10 + 45) / 8)
        self.assertAlmostEqual(preview.mean_after, preview.mean_before)
        self.assertContains(r, "等级迁移矩阵")
        self.assertContains(r, f"最近一次运行 #{self.base.pk}")
        # cells of a preview do not link to run drill-downs (there is no run B)
        self.assertNotContains(r, "/runs/compare/entities/")

    def test_it_leaves_nothing_behind(self):
        before = (
            sorted(p.name for p in (self.home / "tmp").glob("*"))
            if (self.home / "tmp").exists()
            else []
        )
        self.client.get(self.url)
        after = sorted(p.name for p in (self.home / "tmp").glob("*"))
        self.assertEqual(after, before)
        self.assertEqual(Run.objects.count(), 1)

    def test_it_reads_the_runs_parameters(self):
        # a later run with full_at 200 halves every score: K01 60 B … K05 25 C (draft: B ≥ 40)
        later = finished_run(self.v1, "2025", self.analyst, params={"full_at": "200"})
        preview = self.client.get(self.url).context["preview"]
        self.assertEqual(preview.run, later)
        # 2025 at full_at 200: K01 60 K02 47.5 K03 40 K04 32.5 K05 25 K06 15 K07 5 K08 22.5
        # run (A ≥ 80, B ≥ 50): B: K01; C: the rest. Draft (A ≥ 90, B ≥ 40): B: K01 K02 K03.
        self.assertEqual(
            [(row["grade"], row["before"], row["after"]) for row in preview.rows],
            [("A", 0, 0), ("B", 1, 3), ("C", 7, 5)],
        )

    def test_a_voided_run_is_not_the_base(self):
        if not hasattr(Run, "voided_at"):
            self.skipTest("runs cannot be voided in this tree")
        Run.objects.filter(pk=self.base.pk).update(voided_at=timezone.now())
        r = self.client.get(self.url)
        self.assertNotIn("preview", r.context)
        self.assertContains(r, "此方案还没有已完成的运行，无法预览")

    def test_a_run_larger_than_the_limit_is_not_previewed(self):
        with mock.patch.object(whatif, "MAX_ENTITIES", 7):
            r = self.client.get(self.url)
        self.assertContains(r, f"运行 #{self.base.pk} 有 8 个评价对象，超过预览上限 7")

    def test_a_published_version_is_not_previewed(self):
        r = self.client.get("/schemes/runs-test/v1/whatif/")
        self.assertRedirects(r, "/schemes/runs-test/v1/", fetch_redirect_response=False)

    def test_roles(self):
        self.login(self.viewer)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        self.login(self.nobody)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.login(self.analyst)
        self.assertEqual(self.client.post(self.url).status_code, 405)


class FormOfAParameterisedRuleTest(WebTestCase):
    def test_a_threshold_given_by_a_parameter_is_not_a_field_but_said(self):
        from tests.web.runs.support import DATA

        from pingji.web.schemes.services import add_version

        add_version((DATA / "runs-test.yaml").read_text(encoding="utf-8"), self.analyst)
        self.login(self.analyst)
        r = self.client.get("/schemes/runs-test/v1/form/")
        names = [f.name for f in r.context["form"].fields]
        self.assertIn("tree.children.0.rule.linear.zero_at", names)
        self.assertNotIn("tree.children.0.rule.linear.full_at", names)
        self.assertContains(r, "满分点由参数 full_at 决定，运行时可改。")


class WhatIfWithoutGradesTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.v1 = small_scheme(cls.analyst)
        finished_run(cls.v1, "2025", cls.analyst)

    def test_a_draft_without_grades_says_there_is_nothing_to_compare(self):
        draft = copy_version(self.v1, self.analyst)
        text = draft.yaml
        start = text.index("grades:\n")
        end = text.index("classes:\n")
        no_grades = text[:start] + text[end:]
        no_grades = (
            no_grades.replace("grade = 'C'", "score < 50")
            .replace("notnull(grade)", "notnull(score)")
            .replace("grade = 'A'", "score >= 80")
        )
        update_draft(draft, no_grades, self.analyst)
        self.login(self.analyst)
        r = self.client.get(f"/schemes/runs-test/v{draft.number}/whatif/")
        self.assertNotIn("preview", r.context)
        self.assertContains(r, "的方案没有等级，无法对照等级分布。")
