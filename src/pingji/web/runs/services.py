"""Evaluation runs: create one (recording the scheme version, period, parameters and the
batches it will read), execute it in the background through the engine, and summarise it.

The engine does all scoring, set-based; this module only moves files and records facts.
Results of run N live in PINGJI_HOME/runs/N/: results.parquet (the flat output shape: one
row per entity, one column per output and per node part) and raw.parquet (the engine's raw
columns: metric values `m__…`, node columns `n__…`, for the scorecard's explanations).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from pingji import i18n
from pingji.errors import PingjiError
from pingji.periods import Period
from pingji.web.imports.services import active_batches, open_batches
from pingji.web.jobs import lease
from pingji.web.lib import workspace
from pingji.web.lib.audit import record
from pingji.web.lib.language import list_texts, texts_of
from pingji.web.ratings.services import approved_rows
from pingji.web.runs.models import Run
from pingji.web.schemes.models import SchemeVersion
from pingji.web.schemes.services import resolve_version

log = logging.getLogger(__name__)

HISTOGRAM_BINS = 20


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


# Data that stops this many days (or this share of the window, if more) short of either end
# of the windows a run reads counts as partial: no business books a row on every last day
# (weekends, holidays), and a warning on every run would be one nobody reads.
PARTIAL_SLACK_DAYS = 7
PARTIAL_SLACK_SHARE = 0.05


@dataclass(frozen=True)
class PeriodCoverage:
    """What the data holds of the windows a run reads: the engine's coverage (fact tables
    read through windows, their rows inside, the data's first and last day) and the span of
    those windows (start None: open, `to_date`/`all`)."""

    period: str
    tables: tuple[str, ...]
    rows: int
    first: date | None
    last: date | None
    start: date | None
    end: date | None

    @property
    def empty(self) -> bool:
        """Tell whether the scheme reads windowed facts and none of them has a row there."""
        return bool(self.tables) and self.rows == 0

    def _slack(self) -> int:
        if self.start is None or self.end is None:
            return PARTIAL_SLACK_DAYS
        span = (self.end - self.start).days + 1
        return max(PARTIAL_SLACK_DAYS, math.floor(span * PARTIAL_SLACK_SHARE))

    @property
    def missing_start(self) -> bool:
        """Tell whether the data starts well after the windows do."""
        return (
            self.start is not None
            and self.first is not None
            and (self.first - self.start).days > self._slack()
        )

    @property
    def missing_end(self) -> bool:
        """Tell whether the data stops well before the windows end."""
        return (
            self.end is not None
            and self.last is not None
            and (self.end - self.last).days > self._slack()
        )

    @property
    def partial(self) -> bool:
        """Tell whether there is data, but it covers only part of the windows."""
        return bool(self.tables) and not self.empty and (self.missing_start or self.missing_end)

    def describe(self) -> str:
        """Return one sentence (Chinese first, translated) on what the data covers."""
        values = {
            "tables": "、".join(self.tables),
            "span": _span(self.start, self.end),
            "data": _span(self.first, self.last) if self.first else gettext("没有任何数据行"),
            "period": self.period,
        }
        if self.empty:
            return (
                gettext(
                    "期间 %(period)s 读取 %(tables)s 在 %(span)s 的数据，但其中没有任何数据行"
                    "（数据的日期范围：%(data)s）。"
                )
                % values
            )
        return (
            gettext(
                "期间 %(period)s 读取 %(tables)s 在 %(span)s 的数据，但数据只覆盖其中一部分"
                "（数据的日期范围：%(data)s）。"
            )
            % values
        )

    def as_json(self) -> dict:
        """The facts as JSON for the run's summary (dates as ISO text)."""
        out = dataclasses.asdict(self)
        for key in ("first", "last", "start", "end"):
            out[key] = out[key].isoformat() if out[key] else None
        out["tables"] = list(self.tables)
        return out

    @classmethod
    def from_json(cls, data: dict) -> PeriodCoverage | None:
        """The coverage kept in a run's summary, or None when it holds none (older runs)."""
        try:
            return cls(
                period=str(data["period"]),
                tables=tuple(data["tables"]),
                rows=int(data["rows"]),
                **{
                    k: date.fromisoformat(data[k]) if data.get(k) else None
                    for k in ("first", "last", "start", "end")
                },
            )
        except (KeyError, TypeError, ValueError):
            return None


def _span(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return gettext("全部日期")
    if start is None:
        return gettext("截至 %(end)s") % {"end": end.isoformat()}
    return f"{start.isoformat()} ~ {end.isoformat() if end else '…'}"


def measure_coverage(rs, ds, period: str) -> PeriodCoverage | None:
    """Ask the engine what the data set holds of the windows `rs` reads for `period`, or
    None when it cannot tell (the run itself will say what is wrong with the data)."""
    from pingji.engine.coverage import coverage, windows

    try:
        parsed = Period.parse(period, rs.scheme.period)
        found = coverage(rs, ds, parsed)
        spans = [w for t, ws in windows(rs, parsed).items() if t in found.tables for w in ws]
    except PingjiError:
        return None
    except Exception:  # a warning's facts must never stop a run: say so in the log
        log.exception("coverage of period %s could not be measured", period)
        return None
    starts = [s for s, _e in spans]
    ends = [e for _s, e in spans]
    return PeriodCoverage(
        period=str(parsed),
        tables=tuple(found.tables),
        rows=int(found.rows),
        first=found.first,
        last=found.last,
        start=None if not starts or None in starts else min(starts),
        end=None if not ends or None in ends else max(ends),
    )


def period_coverage(version: SchemeVersion, period: str) -> PeriodCoverage | None:
    """What a run of `version` started now would find of `period` in the active batches
    (one query over the fact tables), or None when that cannot be told."""
    rs = resolve_version(version)
    ds = open_batches(list(active_batches().filter(table__in=tables_read(rs))))
    try:
        return measure_coverage(rs, ds, period)
    finally:
        ds.con.disconnect()


def run_coverage(run: Run) -> PeriodCoverage | None:
    """The coverage recorded when the run was executed (None for runs before it was)."""
    data = (run.summary or {}).get("coverage")
    return PeriodCoverage.from_json(data) if isinstance(data, dict) else None


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


def _progress(run: Run, progress: int, stage: str) -> None:
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        progress=progress, stage=stage, heartbeat_at=timezone.now()
    )


def run_dir(run: Run) -> Path:
    return workspace.runs_dir() / str(run.pk)


def results_file(run: Run) -> Path:
    """The flat results of a finished run (one row per entity)."""
    return workspace.absolute(run.results_path)


def raw_file(run: Run) -> Path:
    """The engine's raw columns of a finished run (metric values, node columns)."""
    return workspace.absolute(run.results_path).with_name("raw.parquet")


def execute_run(run_id: int) -> None:
    """Execute a queued run: evaluate, write the result files, summarise, mark it done.

    Any failure marks the run failed with the error's text; no partial results remain. The
    worker holds the run's lease meanwhile (jobs/lease.py): if it dies, recovery marks the
    run failed and it can be run again."""
    run = Run.objects.select_related("scheme_version__scheme").get(pk=run_id)
    started = timezone.now()
    if not Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING,
        started_at=started,
        progress=5,
        stage="读取方案与数据",
        heartbeat_at=started,
        worker_id=lease.current_worker(),
    ):
        return  # already started (a task run twice) or given up
    run.status, run.started_at = Run.Status.RUNNING, started  # run.save() writes every field
    run.heartbeat_at, run.worker_id = started, lease.current_worker()
    with lease.hold(Run, run.pk):
        _execute(run)


def _execute(run: Run) -> None:
    from pingji.engine.run import evaluate
    from pingji.output.writers import write

    final = run_dir(run)
    partial = final.with_name(f"{run.pk}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        rs = resolve_version(run.scheme_version)
        ds = open_batches(list(run.batches.all()))
        partial.mkdir(parents=True)
        ratings = approved_rows(run.scheme_version.scheme, run.period)
        if ratings:
            path = partial / "manual_ratings.parquet"
            pq.write_table(pa.Table.from_pylist(ratings), path)
            ds = ds.with_table("ratings", path)
        # what the data holds of the period, kept for the run page (coverage reads the dated
        # fact tables only: the ratings table added above plays no part)
        covered = measure_coverage(rs, ds, run.period)
        _progress(run, 20, "计算中")
        # the new-run page warned about a period without data; the run says so again
        ev = evaluate(
            rs, ds, run.period, {k: str(v) for k, v in run.params.items()}, allow_empty=True
        )
        _progress(run, 75, "写入结果")
        write(ev, "parquet", partial / "results.parquet")
        pq.write_table(ev.raw, partial / "raw.parquet")
        summary = summarise(rs, partial / "results.parquet")
        # English as before; every language for the run page (shown in the viewer's)
        summary["warnings"] = [i18n.render(w, "en") for w in ev.warnings]
        summary["warnings_text"] = list_texts(ev.warnings)
        summary["checks"] = [_jsonable_check(c) for c in ev.checks]
        if covered is not None:
            summary["coverage"] = covered.as_json()
        if final.exists():
            shutil.rmtree(final)
        os.replace(partial, final)
        finished = timezone.now()
        done = {
            "status": Run.Status.DONE,
            "progress": 100,
            "stage": "完成",
            "entities": summary["entities"],
            "summary": summary,
            "ratings_used": len(ratings),
            "results_path": workspace.relative(final / "results.parquet"),
            "finished_at": finished,
            "heartbeat_at": finished,
        }
        if not Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(**done):
            # recovery took the run for dead meanwhile (it showed no sign of life for a
            # whole lease): it stays failed, its results go
            log.warning("run %s was marked interrupted while it ran: results dropped", run.pk)
            shutil.rmtree(final, ignore_errors=True)
            return
        for name, value in done.items():
            setattr(run, name, value)
    except Exception as exc:
        shutil.rmtree(partial, ignore_errors=True)
        log.exception("run %s failed", run.pk)
        message = exc.render() if isinstance(exc, PingjiError) else f"{type(exc).__name__}: {exc}"
        Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.FAILED,
            error=message,
            # the error in every language: the run page shows the viewer's
            summary={**(run.summary or {}), "error_text": texts_of(exc)},
            finished_at=timezone.now(),
            stage="失败",
            progress=100,
        )


def _jsonable_check(check) -> dict:
    """A run-level check (engine CheckResult: id, label, share, at_least, ok) as JSON."""
    if dataclasses.is_dataclass(check) and not isinstance(check, type):
        check = dataclasses.asdict(check)
    if isinstance(check, dict):
        return {
            k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v))
            for k, v in check.items()
        }
    return {"text": str(check)}


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


def summarise(rs, results: Path) -> dict:
    """Counts for the run page, computed once by DuckDB over the results file: entities,
    grade distribution (in the scheme's grade order and colours), score histogram, class,
    status and action counts."""
    con = duckdb.connect()
    src = f"read_parquet('{results.as_posix()}')"
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    total = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    out: dict = {"entities": total}
    s = rs.scheme
    if "grade" in cols and s.grades is not None:
        counts = dict(con.execute(f"SELECT grade, count(*) FROM {src} GROUP BY 1").fetchall())
        levels = [lv.grade for lv in s.grades.levels]
        out["grades"] = [
            {
                "grade": lv.grade,
                "label": lv.label or "",
                "color": lv.color or "",
                "count": counts.pop(lv.grade, 0),
            }
            for lv in s.grades.levels
        ]
        for grade, n in counts.items():  # no grade (None), or a grade not in levels
            out["grades"].append({"grade": grade, "label": "", "color": "", "count": n})
        out["grade_order"] = levels
    if "score" in cols:
        lo, hi, mean = con.execute(
            f"SELECT min(score), max(score), avg(score) FROM {src}"
        ).fetchone()
        out["score"] = {"min": lo, "max": hi, "mean": mean}
        if lo is not None:
            lo_edge, hi_edge = math.floor(min(lo, 0)), math.ceil(max(hi, 100))
            width = (hi_edge - lo_edge) / HISTOGRAM_BINS or 1
            rows = con.execute(
                f"SELECT least(floor((score - {lo_edge}) / {width})::INT, {HISTOGRAM_BINS - 1}) "
                f"AS b, count(*) FROM {src} WHERE score IS NOT NULL GROUP BY 1"
            ).fetchall()
            counts = dict(rows)
            out["histogram"] = {
                "edges": [lo_edge + i * width for i in range(HISTOGRAM_BINS + 1)],
                "counts": [counts.get(i, 0) for i in range(HISTOGRAM_BINS)],
            }
    if "classes" in cols or "class" in cols:
        labels = {c.id: c.label or c.id for c in (s.classes.rules if s.classes else [])}
        if s.classes and s.classes.fallback:
            labels[s.classes.fallback.id] = s.classes.fallback.label or s.classes.fallback.id
        column = "class" if "class" in cols else None
        if column:
            rows = con.execute(
                f'SELECT "class", count(*) FROM {src} GROUP BY 1 ORDER BY 2 DESC'
            ).fetchall()
            out["classes"] = [
                {"class": c, "label": labels.get(c, c or ""), "count": n} for c, n in rows
            ]
    if "status" in cols:
        rows = con.execute(
            f"SELECT status, count(*) FROM {src} WHERE status IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        out["statuses"] = [{"status": st, "count": n} for st, n in rows]
    if "actions" in cols:
        rows = con.execute(
            f"SELECT a, count(*) FROM (SELECT unnest(actions) AS a FROM {src}) GROUP BY 1 "
            "ORDER BY 2 DESC"
        ).fetchall()
        out["actions"] = [{"action": a, "count": n} for a, n in rows]
    con.close()
    return out
