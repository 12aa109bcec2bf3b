"""Execute a queued run in the background (the worker's task, tasks.py): evaluate it with
the engine, write its result files into PINGJI_HOME/runs/<id>/ (files.py), summarise them
with DuckDB and mark the run done — or failed, leaving no partial results.

The engine does all scoring, set-based; this module only moves files and records facts.
results.parquet is the flat output shape (one row per entity, one column per output and per
node part); raw.parquet holds the engine's raw columns (metric values `m__…`, node columns
`n__…`, for the scorecard's explanations).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import timezone

from pingji import i18n
from pingji.errors import PingjiError
from pingji.web.imports.services import open_batches
from pingji.web.jobs import lease
from pingji.web.lib import workspace
from pingji.web.lib.language import list_texts, texts_of
from pingji.web.ratings.services import approved_rows
from pingji.web.runs.coverage import measure_coverage
from pingji.web.runs.files import run_dir
from pingji.web.runs.models import Run
from pingji.web.schemes.services import resolve_version

log = logging.getLogger(__name__)

HISTOGRAM_BINS = 20


def _progress(run: Run, progress: int, stage: str) -> None:
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        progress=progress, stage=stage, heartbeat_at=timezone.now()
    )


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
