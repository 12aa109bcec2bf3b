"""Runs through the engine: a run reads the active batches and approved ratings only."""

import duckdb

from pingji.templates import builtin_text
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.files import results_file
from pingji.web.runs.models import Run
from pingji.web.runs.services import RunRefused, create_run
from pingji.web.schemes.services import add_version, publish


class RunServiceTest(WebTestCase):
    def setUp(self):
        self.batches = self.import_sample("customer-composite", entities=40)
        self.version = add_version(builtin_text("customer-composite"), self.analyst)

    def test_it_refuses_a_draft_version(self):
        with self.assertRaises(RunRefused):
            create_run(self.version, "2025", {}, self.analyst)
        self.assertEqual(Run.objects.count(), 0)

    def test_it_runs_a_published_version_over_the_active_batches(self):
        publish(self.version, self.analyst)
        run = create_run(self.version, "2025", {}, self.analyst)
        self.assertEqual(run.status, "done", run.error)
        self.assertEqual(run.entities, 40)
        # only the batches of the tables customer-composite reads (not calendar, complaints,
        # events, financials or visits, which its sample data also holds)
        read = {"customers", "sales", "payments", "returns", "ratings", "overrides"}
        self.assertEqual(set(run.batches.all()), {b for b in self.batches if b.table in read})
        self.assertLess(run.batches.count(), len(self.batches))
        grades = {g["grade"]: g["count"] for g in run.summary["grades"]}
        self.assertEqual(sum(grades.values()), 40)
        n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{results_file(run)}')").fetchone()[0]
        self.assertEqual(n, 40)
        self.assertEqual(sum(run.summary["histogram"]["counts"]), 40)

    def test_it_refuses_a_period_of_the_wrong_kind(self):
        publish(self.version, self.analyst)
        with self.assertRaisesMessage(RunRefused, "per year"):
            create_run(self.version, "2025-10", {}, self.analyst)
