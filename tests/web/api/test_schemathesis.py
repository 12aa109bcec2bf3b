"""Requests generated from the REST API's own OpenAPI schema (/api/openapi.json) by
schemathesis — valid ones and broken ones, for every operation — never get a server error.

The app is called through WSGI in this process (Django's handler, the test database, a
finished run of customer-composite to read), as an administrator with a token; a bounded
number of examples per operation, derandomised so a failure is found again on the next run."""

from __future__ import annotations

import contextlib
import csv
import os

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from pingji.templates import builtin_text
from pingji.templates.sample import generate
from pingji.web.accounts.models import ApiToken
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.services import create_run
from pingji.web.schemes.services import add_version, publish

# per operation (9 operations): the whole test stays within a minute; a deeper search:
# PINGJI_SCHEMATHESIS_EXAMPLES=500 pytest tests/web/api/test_schemathesis.py
EXAMPLES = int(os.environ.get("PINGJI_SCHEMATHESIS_EXAMPLES", "25"))
ENTITIES = 20


@contextlib.contextmanager
def _one_connection():
    """Keep the test's database connection across WSGI requests (as Django's test client
    does): its transaction holds the test data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class SchemathesisTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        folder = cls._home / "sample"
        generate("customer-composite", folder, entities=ENTITIES, seed=7)
        for path in sorted(folder.glob("*.csv")):
            commit_batch(path, path.stem, cls.analyst)
        with (folder / "customers.csv").open(encoding="utf-8") as f:
            cls.entity_ids = sorted(row["customer_id"] for row in csv.DictReader(f))
        version = publish(add_version(builtin_text("customer-composite"), cls.admin), cls.admin)
        cls.done_run = create_run(version, "2025", {}, cls.analyst)
        assert cls.done_run.status == "done", cls.done_run.error
        cls.token = ApiToken.issue(cls.admin, "schemathesis")[1]

    def _examples(self, operation, headers: dict, app) -> list[str]:
        """Send EXAMPLES generated requests of one operation, half of them fitting the schema
        and half not (wrong types, missing fields); return those answered 5xx.

        Path parameters (and a run's scheme) are sometimes the finished run, one of its
        entities and its scheme, so the examples reach past the 404 of an unknown run into
        the results, the scorecards and the checks of a new run."""
        failures: list[str] = []
        known = {
            "run_id": st.just(self.done_run.pk),
            "entity_id": st.sampled_from(self.entity_ids),
            "code": st.just("customer-composite"),
        }

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def check(data):
            mode = data.draw(st.sampled_from(list(GenerationMode)), label="mode")
            case = data.draw(operation.as_strategy(generation_mode=mode))
            if data.draw(st.booleans(), label="use known ids"):
                for name in case.path_parameters or {}:
                    if name in known:
                        case.path_parameters[name] = data.draw(known[name], label=name)
                if isinstance(case.body, dict) and "scheme" in case.body:
                    case.body["scheme"] = "customer-composite"
            response = case.call(headers=headers, app=app)
            if response.status_code >= 500:
                failures.append(
                    f"{response.status_code} {case.method} {case.formatted_path} "
                    f"query={case.query!r} body={case.body!r}"
                )

        check()
        return failures

    def test_it_never_answers_a_server_error_to_generated_requests(self):
        app = WSGIHandler()
        headers = {"Authorization": f"Bearer {self.token}"}
        with _one_connection():
            schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, headers=headers)
            operations = [result.ok() for result in schema.get_all_operations()]
            self.assertGreaterEqual(len(operations), 9)  # every operation is generated for
            failures = []
            for operation in operations:
                failures += self._examples(operation, headers, app)
        self.assertEqual(failures, [], "\n".join(failures[:20]))
