"""`setup_demo` (what `make demo` runs before serving): users, departments, every built-in
published, the sample data imported once per distinct file, one finished run per built-in —
and the same results as each built-in gives on its own sample data set."""

from __future__ import annotations

import io
from datetime import date

import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase
from django.utils import timezone

from pingji.templates import builtin_names
from pingji.templates.sample import SAMPLE_PERIODS
from pingji.web.lib.access import department_of, role_of
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.management.commands.setup_demo import demo_deadline

ENTITIES = 20


class SetupDemoTest(WebTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.out = io.StringIO()
        call_command("setup_demo", samples=cls._home / "samples", entities=ENTITIES, stdout=cls.out)

    def setup_again(self) -> str:
        out = io.StringIO()
        call_command("setup_demo", samples=self.home / "samples", entities=ENTITIES, stdout=out)
        return out.getvalue()

    def test_it_creates_a_user_per_role_who_can_log_in_with_the_printed_password(self):
        users = {u.username: u for u in get_user_model().objects.all()}
        expected = {
            "admin": ("admin", None),
            "demo": ("analyst", None),
            "rater": ("rater", "sales"),
            "rater_f": ("rater", "finance"),
            "viewer": ("viewer", None),
        }
        for name, (role, dept) in expected.items():
            user = users[name]
            self.assertEqual(role_of(user), role, name)
            self.assertEqual(getattr(department_of(user), "code", None), dept, name)
            self.assertTrue(user.check_password("pingji-demo"), name)
        self.assertTrue(users["admin"].is_staff)

    def test_it_creates_the_five_departments_in_chinese(self):
        from pingji.web.accounts.models import Department

        self.assertEqual(
            dict(Department.objects.values_list("code", "name")),
            {
                "sales": "销售部",
                "quality": "质量部",
                "purchasing": "采购部",
                "finance": "财务部",
                "service": "客服部",
            },
        )

    def test_it_publishes_every_builtin_scheme_once(self):
        from pingji.web.schemes.models import Scheme, SchemeVersion

        self.assertEqual(Scheme.objects.filter(builtin=True).count(), len(builtin_names()))
        self.assertEqual(SchemeVersion.objects.count(), len(builtin_names()))
        self.assertFalse(SchemeVersion.objects.exclude(status="published").exists())

    def test_it_assigns_manual_indicators_to_departments(self):
        from pingji.web.ratings.models import Assignment

        pairs = set(Assignment.objects.values_list("scheme__code", "indicator", "department__code"))
        self.assertIn(("customer-composite", "manager_rating", "sales"), pairs)
        self.assertIn(("credit-rating", "management_quality", "finance"), pairs)
        self.assertEqual(len(pairs), 10)

    def test_the_assignments_ask_for_the_sample_period_by_a_deadline_ahead(self):
        from pingji.web.ratings.models import Assignment

        deadline = demo_deadline(timezone.localdate())
        self.assertGreater(deadline, timezone.localdate())
        for a in Assignment.objects.select_related("scheme"):
            code = a.scheme.code
            self.assertEqual((a.period, a.deadline), (SAMPLE_PERIODS[code], deadline), code)
        # the sales rater's home page: customer-composite's manager_rating (20 customers) and
        # satisfaction-survey's two indicators (2 × 20), nothing submitted yet
        self.login(get_user_model().objects.get(username="rater"))
        page = self.client.get("/").content.decode()
        due = f'<span class="">，截止 {deadline.isoformat()}</span>'
        self.assertIn(f"<b>20 项待评分{due}</b>", page)
        self.assertIn(f"<b>40 项待评分{due}</b>", page)
        self.assertIn("期间 2025", page)

    def test_it_imports_each_distinct_sample_file_once(self):
        from pingji.web.imports.models import ImportBatch

        batches = list(ImportBatch.objects.filter(status="active"))
        checksums = [b.checksum for b in batches]
        self.assertEqual(len(checksums), len(set(checksums)))
        per_table = {}
        for b in batches:
            per_table[b.table] = per_table.get(b.table, 0) + 1
        # the seven customer schemes share one data set and the three staff schemes one
        # staff table: one batch each; events and ratings differ per family
        for table in ("customers", "suppliers", "dealers", "staff", "sales", "payments"):
            self.assertEqual(per_table[table], 1, table)
        self.assertEqual(per_table["events"], 5)  # customers, suppliers, 3 staff schemes
        self.assertEqual(per_table["ratings"], 5)  # customers, dealers, 3 staff schemes
        self.assertEqual(
            sum(b.rows for b in batches if b.table in ("customers", "suppliers", "dealers")),
            3 * ENTITIES,
        )

    def test_it_finishes_one_run_per_builtin_over_the_active_batches_it_reads(self):
        from pingji.templates import resolve_scheme
        from pingji.web.imports.models import ImportBatch
        from pingji.web.runs.models import Run
        from pingji.web.runs.services import tables_read

        runs = list(Run.objects.select_related("scheme_version__scheme"))
        self.assertEqual(
            sorted(r.scheme_version.scheme.code for r in runs), sorted(builtin_names())
        )
        active = ImportBatch.objects.filter(status="active")
        for run in runs:
            code = run.scheme_version.scheme.code
            # a run lists the batches of the tables its scheme reads, and only those
            read = active.filter(table__in=tables_read(resolve_scheme(code)))
            self.assertEqual(run.status, "done", f"{code}: {run.error}")
            self.assertEqual(run.period, SAMPLE_PERIODS[code])
            self.assertEqual(run.entities, ENTITIES, code)
            self.assertEqual(
                set(run.batches.values_list("pk", flat=True)),
                set(read.values_list("pk", flat=True)),
                code,
            )
            self.assertTrue(read.exists(), code)

    def test_it_gives_every_builtin_the_results_of_its_own_sample_data(self):
        """The combined data set changes nothing: each run equals the engine on its folder."""
        from pingji.data import open_dataset
        from pingji.engine import evaluate
        from pingji.templates import resolve_scheme
        from pingji.web.runs.files import results_file
        from pingji.web.runs.models import Run

        for run in Run.objects.select_related("scheme_version__scheme"):
            code = run.scheme_version.scheme.code
            alone = evaluate(
                resolve_scheme(code), open_dataset(self.home / "samples" / code), run.period
            ).table
            web_rows = pq.read_table(results_file(run)).sort_by("entity_id").to_pylist()
            alone_rows = sorted(alone.to_pylist(), key=lambda r: r["entity_id"])
            self.assertEqual(len(web_rows), len(alone_rows), code)
            for a, w in zip(alone_rows, web_rows, strict=True):
                for column in ("entity_id", "score", "grade", "class", "status"):
                    if column in a:
                        self.assertEqual(a[column], w[column], f"{code} {a['entity_id']} {column}")

    def test_it_changes_nothing_when_run_again(self):
        from pingji.web.audit.models import AuditEvent
        from pingji.web.imports.models import ImportBatch
        from pingji.web.runs.models import Run
        from pingji.web.schemes.models import SchemeVersion

        before = (
            SchemeVersion.objects.count(),
            ImportBatch.objects.count(),
            Run.objects.count(),
            AuditEvent.objects.count(),
        )
        out = self.setup_again()
        after = (
            SchemeVersion.objects.count(),
            ImportBatch.objects.count(),
            Run.objects.count(),
            AuditEvent.objects.count(),
        )
        self.assertEqual(before, after)
        self.assertIn("0 个新批次", out)

    def test_it_restores_a_demo_users_password_and_role(self):
        from django.contrib.auth.models import Group

        viewer = get_user_model().objects.get(username="viewer")
        viewer.set_password("changed-by-someone")
        viewer.save()
        viewer.groups.set([Group.objects.get(name="admin")])
        self.setup_again()
        viewer.refresh_from_db()
        self.assertTrue(viewer.check_password("pingji-demo"))
        self.assertEqual(role_of(viewer), "viewer")

    def test_it_records_the_imports_and_runs_in_the_audit_log(self):
        from pingji.web.audit.models import AuditEvent
        from pingji.web.imports.models import ImportBatch

        def count(action: str) -> int:
            return AuditEvent.objects.filter(action=action).count()

        self.assertEqual(count("scheme.version.publish"), len(builtin_names()))
        self.assertEqual(count("run.create"), len(builtin_names()))
        self.assertEqual(count("import.commit"), ImportBatch.objects.count())
        self.assertEqual(count("rating.assignment.create"), 10)
        self.assertEqual(
            set(AuditEvent.objects.filter(action="run.create").values_list("username", flat=True)),
            {"demo"},
        )

    def test_it_refuses_zero_entities(self):
        with self.assertRaisesMessage(CommandError, "--entities must be at least 1"):
            call_command("setup_demo", entities=0, stdout=io.StringIO())


class DemoDeadlineTest(SimpleTestCase):
    def test_it_is_the_last_day_of_the_following_month(self):
        cases = {
            date(2026, 12, 1): date(2027, 1, 31),
            date(2026, 1, 31): date(2026, 2, 28),
            date(2024, 1, 15): date(2024, 2, 29),  # a leap year
            date(2026, 11, 30): date(2026, 12, 31),
            date(2026, 8, 31): date(2026, 9, 30),
        }
        for today, expected in cases.items():
            self.assertEqual(demo_deadline(today), expected, today)
