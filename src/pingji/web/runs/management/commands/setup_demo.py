"""`python -m pingji.web.manage setup_demo`: turn a workspace into a ready demo — users in every
role, departments, every built-in scheme published, the sample data imported and one finished
evaluation run per built-in. Safe to run again: what is already there is kept.

The sample data. Each built-in has its own generated data set, but they overlap: the seven
customer schemes share one identical customer data set, the three staff schemes share an
identical staff table, and events, complaints and ratings appear in several sets. Batches of
the same table are read together (entity tables: a later batch wins per key; fact tables are
unioned), so importing every file would count the shared facts several times. The demo
therefore imports each distinct file once (by checksum). What remains in common is safe:
customer (C…), supplier (S…), dealer (D…) and staff (E…) ids never collide, and the staff
schemes' events and ratings use different types and indicators. Every built-in evaluated on
this combined data set gives exactly the results it gives on its own folder (tested).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils import timezone

from pingji.templates.demo import DEMO_PASSWORD, DEMO_USERS, prepare_data
from pingji.web.lib.access import ensure_roles

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("sales", "销售部"),
    ("quality", "质量部"),
    ("purchasing", "采购部"),
    ("finance", "财务部"),
    ("service", "客服部"),
)

# (scheme, department, manual indicators rated by it): every entity of the scheme, for the
# scheme's sample period (the one its demo run evaluates), due by demo_deadline().
ASSIGNMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("customer-composite", "sales", ("manager_rating",)),
    ("satisfaction-survey", "sales", ("product_development", "price_competitiveness")),
    (
        "credit-rating",
        "finance",
        ("management_quality", "industry_standing", "cooperation_attitude"),
    ),
    ("dealer-aftersales-audit", "quality", ("workshop", "parts")),
    ("service-staff-appraisal", "service", ("enthusiasm", "accountability")),
)


class Command(BaseCommand):
    help = (
        "Prepare a demo workspace: users, departments, every built-in scheme published, "
        "the sample data imported and one evaluation run per built-in (idempotent)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--samples",
            type=Path,
            default=None,
            help="folder of the sample data sets, one sub-folder per scheme "
            "(default: PINGJI_HOME/samples; `make demo` passes demo-data)",
        )
        parser.add_argument("--entities", type=int, default=200, help="entities per data set")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the sample data")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password of the demo users")
        parser.add_argument("--no-runs", action="store_true", help="do not evaluate the schemes")

    def handle(self, *args, **options) -> None:
        from django.conf import settings

        if options["entities"] < 1:
            raise CommandError("--entities must be at least 1")
        samples = options["samples"] or Path(settings.PINGJI_HOME) / "samples"
        ensure_roles()
        departments = self._departments()
        users = self._users(options["password"], departments)
        admin, analyst = users["admin"], users["demo"]
        versions = self._schemes(admin)
        self._assignments(versions, departments, admin)
        self._import(samples, options["entities"], options["seed"], analyst)
        if not options["no_runs"]:
            self._runs(versions, analyst)

    # -- steps -------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.stdout.write(text)

    def _departments(self) -> dict:
        from pingji.web.accounts.services import department_for_code

        # created (audited) with their usual Chinese names when missing; kept when there
        out = {code: department_for_code(None, code) for code, _name in DEPARTMENTS}
        self._say(f"部门 departments: {', '.join(d.name for d in out.values())}")
        return out

    def _users(self, password: str, departments: dict) -> dict:
        """Create the demo users, or bring existing ones back to their demo role, department
        and password (audited through the accounts services, like the users page)."""
        from pingji.web.accounts import services

        User = get_user_model()
        out = {}
        for username, role, dept, _shown in DEMO_USERS:
            department = departments[dept] if dept else None
            user = User.objects.filter(username=username).first()
            if user is None:
                user = services.create_user(None, username, password, role, department)
            else:
                services.update_user(
                    None,
                    user,
                    name=user.first_name,
                    email=user.email,
                    role=role,
                    department=department,
                    is_active=True,
                )
                if not user.check_password(password):
                    services.set_password(None, user, password, note="setup_demo")
            out[username] = user
        self._say(f"用户 users: {', '.join(u for u, *_ in DEMO_USERS)}")
        return out

    def _schemes(self, user) -> dict:
        """Publish every built-in scheme (a new version only when its text changed)."""
        from pingji.templates import builtin_names, builtin_text
        from pingji.web.schemes.models import Scheme, SchemeVersion
        from pingji.web.schemes.services import add_version, publish

        versions = {}
        for name in builtin_names():
            text = builtin_text(name)
            rs_id = _scheme_id(text)
            scheme = Scheme.objects.filter(code=rs_id).first()
            version = None
            if scheme is not None:
                version = scheme.versions.filter(yaml=text).order_by("-number").first()
            if version is None:
                version = add_version(text, user, note="内置方案", builtin=True)
            if version.status != SchemeVersion.Status.PUBLISHED:
                version = publish(version, user)
            versions[name] = version
        self._say(f"方案 schemes: {len(versions)} 个内置方案已发布 built-ins published")
        return versions

    def _assignments(self, versions: dict, departments: dict, user) -> None:
        """Assign manual indicators to departments (all entities, the sample period, a
        deadline); existing ones are kept."""
        from pingji.templates.sample import SAMPLE_PERIODS
        from pingji.web.ratings.models import Assignment
        from pingji.web.ratings.services import assign

        deadline = demo_deadline(timezone.localdate())
        for name, dept, indicators in ASSIGNMENTS:
            if name not in versions:
                continue
            scheme = versions[name].scheme
            for indicator in indicators:
                there = Assignment.objects.filter(
                    scheme=scheme, indicator=indicator, department=departments[dept]
                )
                if not there.exists():
                    assign(
                        user,
                        scheme,
                        indicator,
                        departments[dept],
                        [],
                        period=SAMPLE_PERIODS[name],
                        deadline=deadline,
                    )
        self._say(
            f"评分分工 assignments: {sum(len(i) for *_, i in ASSIGNMENTS)}"
            f"(截止 deadline {deadline.isoformat()})"
        )

    def _import(self, samples: Path, entities: int, seed: int, user) -> None:
        """Generate (or reuse) each built-in's sample data; import each distinct file once."""
        from pingji.data.contract import TABLES
        from pingji.templates import builtin_names
        from pingji.web.imports.models import ImportBatch
        from pingji.web.imports.services import checksum, commit_batch

        done: set[tuple[str, str]] = set()
        added = rows = 0
        for name in builtin_names():
            folder = samples / name
            prepare_data(name, folder, entities, seed)  # reuses `make demo`'s data sets
            for path in sorted(folder.glob("*.csv")):
                table = path.stem
                if table not in TABLES:
                    continue  # results-<period>.csv and the like
                digest = checksum(path)
                if (table, digest) in done:
                    continue
                done.add((table, digest))
                active = ImportBatch.objects.filter(
                    table=table, checksum=digest, status=ImportBatch.Status.ACTIVE
                )
                if active.exists():
                    continue
                batch = commit_batch(path, table, user, shown_as=f"{name}/{path.name}")
                added += 1
                rows += batch.rows
        total = ImportBatch.objects.filter(status=ImportBatch.Status.ACTIVE).count()
        self._say(
            f"数据 data: {added} 个新批次 new batches ({rows:,} 行 rows), {total} 个有效批次 active"
        )

    def _runs(self, versions: dict, user) -> None:
        """One finished run per built-in for its sample period (executed here, not queued)."""
        from pingji.templates.sample import SAMPLE_PERIODS
        from pingji.web.runs.execution import execute_run
        from pingji.web.runs.models import Run
        from pingji.web.runs.services import create_run

        failed = []
        logging.getLogger("django_tasks").setLevel(logging.WARNING)
        for name, version in versions.items():
            period = SAMPLE_PERIODS[name]
            if Run.objects.filter(
                scheme_version=version, period=period, status=Run.Status.DONE
            ).exists():
                continue
            # Executed here and now, not queued for the worker: the demo ends with results.
            with override_settings(TASKS=IMMEDIATE_TASKS):
                run = create_run(version, period, {}, user)
            if run.status == Run.Status.QUEUED:  # a backend that still queued it
                execute_run(run.pk)
            run.refresh_from_db()
            if run.status != Run.Status.DONE:
                failed.append(f"{name}: {run.error}")
            else:
                self._say(
                    f"  运行 run #{run.pk} {name} {period}: {run.entities} 个评价对象 entities"
                )
        if failed:
            raise CommandError("evaluation runs failed:\n" + "\n".join(failed))
        done = Run.objects.filter(status=Run.Status.DONE).count()
        self._say(f"运行 runs: {done} 个已完成 done")


def demo_deadline(today: date) -> date:
    """Return the last day of the month after `today`'s: the sample periods are long past,
    and a demo's raters should see a deadline ahead of them (截止 …), not an overdue one."""
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (next_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _scheme_id(text: str) -> str:
    from pingji.web.schemes.services import check_yaml

    return check_yaml(text).scheme.id
