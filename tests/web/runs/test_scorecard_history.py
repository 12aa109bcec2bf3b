"""The scorecard of a run whose scheme grades a smoothed score read from the period before.

Scores (support.import_small; no sales before 2024, so every 2023 score is 0):
K01 2024 85, 2025 100 · K03 2024 40, 2025 80. Graded on 0.5 · score + 0.5 · last year's score:
K01 2025: 0.5·100 + 0.5·85 = 92.5 → A; 2024: 0.5·85 + 0.5·0 = 42.5 → C.
K03 2025: 0.5·80 + 0.5·40 = 60 → B.
"""

from django.urls import reverse
from tests.web.runs.support import DATA, finished_run, import_small

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import scorecard
from pingji.web.schemes.services import add_version, publish

SMOOTHED = (DATA / "runs-test.yaml").read_text(encoding="utf-8").replace(
    "id: runs-test", "id: runs-smoothed"
).replace(
    "grades:\n  levels:",
    'grades:\n  on: "0.5 * score + 0.5 * score_at(1)"\n  levels:',
) + 'outputs:\n  - {id: last_grade, label: 上年等级, type: string, expr: "grade_at(1)"}\n'


class ScorecardHistoryTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        version = publish(add_version(SMOOTHED, cls.analyst), cls.analyst)
        cls.smoothed_run = finished_run(version, "2025", cls.analyst)

    def test_it_shows_the_graded_value_next_to_the_score(self):
        card = scorecard.build(self.smoothed_run, "K01")
        self.assertEqual((card["score"], card["grade_basis"], card["grade"]), (100.0, 92.5, "A"))
        self.assertEqual([(o["id"], o["value"]) for o in card["outputs"]], [("last_grade", "C")])
        card = scorecard.build(self.smoothed_run, "K03")
        self.assertEqual((card["score"], card["grade_basis"], card["grade"]), (80.0, 60.0, "B"))

    def test_the_page_says_what_the_grade_was_given_on(self):
        self.login(self.viewer)
        response = self.client.get(reverse("runs:scorecard", args=[self.smoothed_run.pk, "K01"]))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "定级依据 92.5")
