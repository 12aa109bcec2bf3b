"""POST /api/runs starts a run; GET /api/runs/{id} follows it; /results pages through it;
/entities/{id} is one scorecard. Tasks run at once in tests (ImmediateBackend)."""

import csv

import duckdb

from pingji.templates import builtin_text
from pingji.templates.sample import generate
from pingji.web.accounts.models import ApiToken
from pingji.web.audit.models import AuditEvent
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.files import results_file
from pingji.web.runs.models import Run
from pingji.web.runs.services import create_run
from pingji.web.schemes.services import add_version, publish

ENTITIES = 40


# the tables customer-composite reads: a run lists only their batches
READ = {"customers", "sales", "payments", "returns", "ratings", "overrides"}


class ApiRunsTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        folder = cls._home / "sample"
        generate("customer-composite", folder, entities=ENTITIES, seed=7)
        cls.batches = [commit_batch(p, p.stem, cls.analyst) for p in sorted(folder.glob("*.csv"))]
        with (folder / "customers.csv").open(encoding="utf-8") as f:
            cls.entity_ids = sorted(row["customer_id"] for row in csv.DictReader(f))
        text = builtin_text("customer-composite")
        cls.v1 = publish(add_version(text, cls.analyst), cls.analyst)
        cls.v2 = add_version(text, cls.analyst)  # a newer draft
        cls.done = create_run(cls.v1, "2025", {}, cls.analyst)
        assert cls.done.status == "done", cls.done.error
        cls.keys = {}
        for user in (cls.admin, cls.analyst, cls.rater, cls.viewer, cls.nobody):
            cls.keys[user.username] = ApiToken.issue(user, "t")[1]

    def auth(self, user) -> dict:
        return {"Authorization": f"Bearer {self.keys[user.username]}"}

    def get(self, url, user=None, **params):
        return self.client.get(url, params, headers=self.auth(user or self.analyst))

    def post_run(self, body, user=None):
        return self.client.post(
            "/api/runs",
            body,
            content_type="application/json",
            headers=self.auth(user or self.analyst),
        )

    def file_rows(self, where="TRUE"):
        return duckdb.sql(
            f"SELECT entity_id, score, grade FROM read_parquet('{results_file(self.done)}') WHERE {where}"
        ).fetchall()

    # starting a run

    def test_it_starts_a_run_of_the_latest_published_version_that_finishes(self):
        r = self.post_run({"scheme": "customer-composite", "period": "2025"})
        self.assertEqual(r.status_code, 201, r.content)
        body = r.json()
        self.assertEqual(body["status"], "done")
        run = Run.objects.get(pk=body["id"])
        self.assertEqual(run.scheme_version, self.v1)  # not the newer draft v2
        self.assertEqual(run.created_by, self.analyst)
        # only the batches of the tables customer-composite reads
        self.assertEqual(set(run.batches.all()), {b for b in self.batches if b.table in READ})
        event = AuditEvent.objects.get(action="run.create", object_id=str(run.pk))
        self.assertEqual(event.username, "analyst")
        self.assertEqual(event.after["period"], "2025")

        status = self.get(f"/api/runs/{run.pk}").json()
        self.assertEqual(status["status"], "done")
        self.assertTrue(status["finished"])
        self.assertEqual(status["progress"], 100)
        self.assertEqual(status["entities"], ENTITIES)
        self.assertEqual(
            (status["scheme"], status["version"], status["period"]),
            ("customer-composite", 1, "2025"),
        )

    def test_it_pages_the_results_of_a_run_started_through_the_api(self):
        run_id = self.post_run({"scheme": "customer-composite", "period": "2025"}).json()["id"]
        pages = [
            self.get(f"/api/runs/{run_id}/results", page=n, size=15, sort="entity_id").json()
            for n in (1, 2, 3)
        ]
        self.assertEqual([p["total"] for p in pages], [40, 40, 40])
        self.assertEqual([p["pages"] for p in pages], [3, 3, 3])
        self.assertEqual([len(p["rows"]) for p in pages], [15, 15, 10])
        ids = [row["entity_id"] for p in pages for row in p["rows"]]
        self.assertEqual(ids, self.entity_ids)
        self.assertEqual({row["period"] for p in pages for row in p["rows"]}, {"2025"})

    def test_it_starts_a_run_of_a_named_version(self):
        r = self.post_run({"scheme": "customer-composite", "version": 1, "period": "2025"})
        self.assertEqual(r.status_code, 201)

    def test_it_refuses_a_draft_version_with_the_reason(self):
        r = self.post_run({"scheme": "customer-composite", "version": 2, "period": "2025"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("只能运行已发布的方案版本", r.json()["detail"])
        self.assertEqual(Run.objects.count(), 1)

    def test_it_refuses_a_period_of_the_wrong_kind(self):
        r = self.post_run({"scheme": "customer-composite", "period": "2025-10"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("该方案按年评价", r.json()["detail"])  # in the caller's language (Chinese)

    def test_it_refuses_an_unknown_parameter(self):
        r = self.post_run({"scheme": "customer-composite", "period": "2025", "params": {"nope": 1}})
        self.assertEqual(r.status_code, 400)
        self.assertIn("nope", r.json()["detail"])

    def test_it_refuses_a_body_without_a_period(self):
        r = self.post_run({"scheme": "customer-composite"})
        self.assertEqual(r.status_code, 422)

    def test_it_answers_404_for_an_unknown_scheme_or_version(self):
        self.assertEqual(self.post_run({"scheme": "nope", "period": "2025"}).status_code, 404)
        r = self.post_run({"scheme": "customer-composite", "version": 9, "period": "2025"})
        self.assertEqual(r.status_code, 404)

    def test_it_forbids_viewers_to_start_runs(self):
        r = self.post_run({"scheme": "customer-composite", "period": "2025"}, self.viewer)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(Run.objects.count(), 1)

    def test_it_hides_runs_from_raters_and_users_without_a_role(self):
        for user in (self.rater, self.nobody):
            r = self.post_run({"scheme": "customer-composite", "period": "2025"}, user)
            self.assertEqual(r.status_code, 404, user.username)
            self.assertEqual(self.get("/api/runs", user).status_code, 404)
            self.assertEqual(self.get(f"/api/runs/{self.done.pk}", user).status_code, 404)
            self.assertEqual(self.get(f"/api/runs/{self.done.pk}/results", user).status_code, 404)
            url = f"/api/runs/{self.done.pk}/entities/{self.entity_ids[0]}"
            self.assertEqual(self.get(url, user).status_code, 404)

    # reading a run

    def test_it_shows_what_a_run_read_and_its_summary(self):
        r = self.get(f"/api/runs/{self.done.pk}", self.viewer)
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(
            sorted(b["id"] for b in body["batches"]),
            sorted(b.pk for b in self.batches if b.table in READ),
        )
        self.assertEqual(body["params"], {})
        self.assertEqual(body["created_by"], "analyst")
        self.assertEqual(body["error"], "")
        self.assertEqual(body["status_label"], "已完成")
        grades = {g["grade"]: g["count"] for g in body["summary"]["grades"]}
        by_file = {}
        for _, _, grade in self.file_rows():
            by_file[grade] = by_file.get(grade, 0) + 1
        self.assertEqual({k: v for k, v in grades.items() if v}, by_file)

    def test_it_lists_runs_newest_first(self):
        newer = create_run(self.v1, "2024", {}, self.analyst)
        body = self.get("/api/runs", self.viewer).json()
        self.assertEqual([r["id"] for r in body], [newer.pk, self.done.pk])
        self.assertEqual([r["period"] for r in body], ["2024", "2025"])
        self.assertEqual(self.get("/api/runs", self.viewer, scheme="other").json(), [])

    def test_it_answers_404_for_an_unknown_run(self):
        self.assertEqual(self.get("/api/runs/999999").status_code, 404)

    # results

    def test_it_pages_through_the_results_sorted_by_score(self):
        seen, scores = [], []
        for page in range(1, 7):
            body = self.get(f"/api/runs/{self.done.pk}/results", page=page, size=7).json()
            self.assertEqual(
                (body["total"], body["page"], body["size"], body["pages"]), (40, page, 7, 6)
            )
            self.assertEqual(len(body["rows"]), 7 if page < 6 else 5)  # 40 = 5 × 7 + 5
            seen += [row["entity_id"] for row in body["rows"]]
            scores += [row["score"] for row in body["rows"]]
        self.assertEqual(sorted(seen), self.entity_ids)
        known = [s for s in scores if s is not None]
        self.assertEqual(known, sorted(known, reverse=True))
        self.assertIn("grade", body["columns"])

    def test_it_sorts_by_entity_id_ascending(self):
        body = self.get(f"/api/runs/{self.done.pk}/results", sort="entity_id", size=5).json()
        self.assertEqual([r["entity_id"] for r in body["rows"]], self.entity_ids[:5])

    def test_it_filters_by_grade(self):
        grade = self.file_rows()[0][2]
        expected = sorted(e for e, _, g in self.file_rows() if g == grade)
        body = self.get(f"/api/runs/{self.done.pk}/results", grade=grade, size=100).json()
        self.assertEqual(body["total"], len(expected))
        self.assertEqual(sorted(r["entity_id"] for r in body["rows"]), expected)
        self.assertEqual({r["grade"] for r in body["rows"]}, {grade})

    def test_it_searches_by_the_start_of_the_entity_id(self):
        body = self.get(f"/api/runs/{self.done.pk}/results", search="c00001", size=100).json()
        expected = [e for e in self.entity_ids if e.startswith("C00001")]
        self.assertEqual(len(expected), 10)  # C000010 … C000019
        self.assertEqual(sorted(r["entity_id"] for r in body["rows"]), expected)

    def test_it_refuses_an_unknown_sort_column_and_a_bad_page_size(self):
        url = f"/api/runs/{self.done.pk}/results"
        r = self.get(url, sort="name; DROP TABLE x")
        self.assertEqual(r.status_code, 400)
        self.assertIn("entity_id", r.json()["detail"])
        self.assertEqual(self.get(url, size=1001).status_code, 422)
        self.assertEqual(self.get(url, page=0).status_code, 422)

    def test_it_answers_409_for_results_of_an_unfinished_run(self):
        queued = Run.objects.create(scheme_version=self.v1, period="2025")
        r = self.get(f"/api/runs/{queued.pk}/results")
        self.assertEqual(r.status_code, 409)
        self.assertIn("排队中", r.json()["detail"])
        status = self.get(f"/api/runs/{queued.pk}").json()
        self.assertEqual((status["status"], status["finished"]), ("queued", False))

    # scorecard

    def test_it_returns_the_scorecard_of_one_entity(self):
        entity, score, grade = self.file_rows(f"entity_id = '{self.entity_ids[3]}'")[0]
        r = self.get(f"/api/runs/{self.done.pk}/entities/{entity}", self.viewer)
        self.assertEqual(r.status_code, 200)
        card = r.json()  # the scorecard (or, before it existed, the flat results row)
        self.assertIn(entity, str(card.get("entity", card.get("entity_id"))))
        self.assertEqual(card["grade"], grade)
        self.assertAlmostEqual(float(card["score"]), score)

    def test_it_answers_404_for_an_entity_not_in_the_run(self):
        r = self.get(f"/api/runs/{self.done.pk}/entities/NOPE")
        self.assertEqual(r.status_code, 404)

    def test_it_answers_405_to_wrong_methods(self):
        headers = self.auth(self.admin)
        self.assertEqual(
            self.client.delete(f"/api/runs/{self.done.pk}", headers=headers).status_code, 405
        )
        self.assertEqual(
            self.client.post(f"/api/runs/{self.done.pk}/results", headers=headers).status_code, 405
        )
        self.assertEqual(self.client.put("/api/runs", headers=headers).status_code, 405)
