"""Evaluation runs: create one (recording the scheme version, period, parameters and the
batches it will read) and queue it for the worker (tasks.py → execution.py), rerun, void and
restore one, and tell what a run started now would find of its period (coverage.py).

The runs app in layers, none importing one after it (tests/test_architecture.py): files.py
(where a run's files lie), filters.py, models.py, coverage.py, execution.py (a queued run
executed), results.py, exports.py, tasks.py (the worker's entry points) and this module, which
queues runs through tasks.py; the views come last.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from pingji.errors import PingjiError
from pingji.periods import Period
from pingji.web.imports.services import active_batches, open_batches
from pingji.web.lib.audit import record
from pingji.web.runs.coverage import PeriodCoverage, measure_coverage
from pingji.web.runs.models import Run
from pingji.web.schemes.models import SchemeVersion
from pingji.web.schemes.services import resolve_version


class RunRefused(ValueError):
    """A run cannot be started as asked (draft version, bad period, …); nothing was created."""


def create_run(version: SchemeVersion, period: str, params: dict[str, str], user) -> Run:
    """Record a run of a published version over the active batches and queue it."""
    from pingji.web.runs.tasks import execute_run_task

    if not version.is_published:
        raise RunRefused("只能运行已发布的方案版本 (only published versions can be run)")
    rs = resolve_version(version)
    try:
        period = str(Period.parse(period, rs.scheme.period))
    except PingjiError as exc:
        raise RunRefused(str(exc)) from exc
    known = set(rs.scheme.params or {})
    unknown = sorted(set(params) - known)
    if unknown:
        raise RunRefused(f"未知参数 unknown parameter(s): {', '.join(unknown)}")
    with transaction.atomic():
        run = Run.objects.create(
            scheme_version=version,
            period=period,
            params=params,
            created_by=user if user is not None and user.is_authenticated else None,
            stage="排队中",
        )
        # only the batches of tables the scheme reads: the run page lists what it read
        run.batches.set(active_batches().filter(table__in=tables_read(rs)))
        record(
            user,
            "run.create",
            run,
            after={
                "scheme": version.scheme.code,
                "version": version.number,
                "period": period,
                "params": params,
                "batches": sorted(run.batches.values_list("pk", flat=True)),
            },
        )
    result = execute_run_task.enqueue(run.pk)
    Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(task_id=str(result.id))
    run.refresh_from_db()
    return run


def tables_read(rs) -> list[str]:
    """The tables a run of `rs` reads: those its metrics, attributes and ratings name, and the
    working-day calendar when it counts working days (the engine reads the data set's
    `calendar` then, though rs.reads() does not list it)."""
    from pingji import expr

    tables = set(rs.reads())
    if any(
        isinstance(n, expr.Call) and n.name == "workdays_between"
        for tree in rs.exprs.values()
        if tree is not None
        for n in expr.walk(tree)
    ):
        tables.add("calendar")
    return sorted(tables)


def empty_period(version: SchemeVersion, period: str) -> str | None:
    """Return why a run of `version` over the active batches would find no data in `period`
    (no fact row inside the scheme's windows), or None; one query over the fact tables."""
    found = period_coverage(version, period)
    return found.describe() if found is not None and found.empty else None


def period_coverage(version: SchemeVersion, period: str) -> PeriodCoverage | None:
    """What a run of `version` started now would find of `period` in the active batches
    (one query over the fact tables), or None when that cannot be told."""
    rs = resolve_version(version)
    ds = open_batches(list(active_batches().filter(table__in=tables_read(rs))))
    try:
        return measure_coverage(rs, ds, period)
    finally:
        ds.con.disconnect()


VOID_REASON_MAX = 500


class VoidRefused(ValueError):
    """A run cannot be voided or restored as asked; nothing changed."""


def void_run(run: Run, user, reason: str) -> Run:
    """Void a done run (with a reason, audited): it stays readable but no longer counts as
    the latest run — not on the home page, entity profiles, compare defaults or the API."""
    reason = (reason or "").strip()
    if not reason:
        raise VoidRefused(gettext("请填写作废原因。"))
    if len(reason) > VOID_REASON_MAX:
        raise VoidRefused(gettext("作废原因最多 %(n)s 个字。") % {"n": VOID_REASON_MAX})
    if run.status != Run.Status.DONE:
        raise VoidRefused(gettext("只有已完成的运行可以作废。"))
    now = timezone.now()
    with transaction.atomic():
        # one conditional update: two people voiding at once void it once
        if not Run.objects.filter(pk=run.pk, voided_at__isnull=True).update(
            voided_at=now, voided_by=user, void_reason=reason
        ):
            raise VoidRefused(gettext("该运行已经作废。"))
        record(
            user,
            "run.void",
            run,
            before={"voided": False},
            after={"voided": True, "reason": reason},
            note=reason,
        )
    run.voided_at, run.voided_by, run.void_reason = now, user, reason
    return run


def restore_run(run: Run, user, note: str = "") -> Run:
    """Undo a voiding (audited, with the old reason kept in the log): the run counts again."""
    note = (note or "").strip()
    with transaction.atomic():
        before = {"voided": True, "reason": run.void_reason}
        if not Run.objects.filter(pk=run.pk, voided_at__isnull=False).update(
            voided_at=None, voided_by=None, void_reason=""
        ):
            raise VoidRefused(gettext("该运行没有作废。"))
        record(user, "run.restore", run, before=before, after={"voided": False}, note=note)
    run.voided_at, run.voided_by, run.void_reason = None, None, ""
    return run


def rerun(run: Run, user) -> Run:
    """Start a new run with the same scheme version, period and parameters as `run` (over
    the batches and approved ratings active now): a finished run itself never changes."""
    return create_run(run.scheme_version, run.period, dict(run.params or {}), user)


def suggested_period(kind: str) -> str:
    """Return the period (of `kind`) holding the latest date of the active batches, or ""."""
    latest = (
        active_batches()
        .filter(max_date__isnull=False)
        .order_by("-max_date")
        .values_list("max_date", flat=True)
    ).first()
    if latest is None:
        return ""
    if kind == "year":
        return f"{latest.year}"
    if kind == "quarter":
        return f"{latest.year}-Q{(latest.month - 1) // 3 + 1}"
    return f"{latest.year}-{latest.month:02d}"
