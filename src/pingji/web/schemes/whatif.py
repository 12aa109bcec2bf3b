"""What-if preview of a draft: evaluate it on exactly what the scheme's latest run read — its
import batches, its approved manual ratings, its period and parameters — and set the draft's
grades against that run's: distribution old and new, and the grade migration matrix.

It runs inside the request (synchronously), so it is limited to runs of at most
MAX_ENTITIES entities (two or three seconds of engine time on DuckDB); for a larger population,
publish the draft, run it, and compare the two runs. Nothing is stored: the draft's results
live in a temporary folder of the workspace and are removed before the page is shown.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from pingji.engine import evaluate
from pingji.errors import PingjiError
from pingji.output.writers import write
from pingji.web.imports.services import open_batches
from pingji.web.lib import workspace
from pingji.web.runs import migration, results
from pingji.web.runs.execution import summarise
from pingji.web.runs.files import results_file
from pingji.web.runs.models import Run
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.outline import PERIOD_LABELS
from pingji.web.schemes.services import resolve_version

log = logging.getLogger(__name__)

# 20,000 customers of customer-composite (five indicators, a year of sales, payments and
# returns) take about 2.3 s from their Parquet batches on 2 busy cores: a page can wait that.
MAX_ENTITIES = 20_000


class WhatIfRefused(Exception):
    """The preview cannot be made (no run to compare with, too large, a failed evaluation)."""


@dataclass
class WhatIf:
    """A draft's grades set against the latest run of its scheme."""

    run: Run
    entities: int
    rows: list[dict]  # per grade: grade, label, color, before, after, change
    matrix: dict  # runs/migration.layout
    mean_before: float | None
    mean_after: float | None
    warnings: list[str] = field(default_factory=list)


def base_run(scheme: Scheme) -> Run | None:
    """Return the scheme's latest finished run of a published version that counts (a voided
    run never does)."""
    runs = Run.objects.filter(
        scheme_version__scheme=scheme,
        scheme_version__status=SchemeVersion.Status.PUBLISHED,
        status=Run.Status.DONE,
    )
    if hasattr(runs, "counted"):  # runs can be voided (issue 10 §6)
        runs = runs.counted()
    return runs.select_related("scheme_version").order_by("-finished_at", "-pk").first()


def preview(draft: SchemeVersion) -> WhatIf:
    """Evaluate `draft` on the data of its scheme's latest run and compare the grades."""
    run = base_run(draft.scheme)
    if run is None:
        raise WhatIfRefused(_("此方案还没有已完成的运行，无法预览；请先发布并运行一个版本。"))
    if (run.entities or 0) > MAX_ENTITIES:
        raise WhatIfRefused(
            _(
                "运行 #%(run)s 有 %(n)s 个评价对象，超过预览上限 %(max)s；"
                "请发布草稿后运行，再用“对比两次运行”查看等级迁移。"
            )
            % {"run": run.pk, "n": f"{run.entities:,}", "max": f"{MAX_ENTITIES:,}"}
        )
    rs = resolve_version(draft)
    before_rs = resolve_version(run.scheme_version)
    if rs.scheme.period != before_rs.scheme.period:
        raise WhatIfRefused(
            _("草稿的评价期间类型（%(new)s）与运行 #%(run)s 的（%(old)s）不同，无法对照。")
            % {
                "new": PERIOD_LABELS.get(rs.scheme.period, rs.scheme.period),
                "old": PERIOD_LABELS.get(before_rs.scheme.period, before_rs.scheme.period),
                "run": run.pk,
            }
        )
    if rs.scheme.grades is None or before_rs.scheme.grades is None:
        raise WhatIfRefused(
            _("草稿或运行 #%(run)s 的方案没有等级，无法对照等级分布。") % {"run": run.pk}
        )
    before_file = results_file(run)
    if not before_file.is_file():
        raise WhatIfRefused(_("运行 #%(run)s 的结果文件不在工作区中，无法对照。") % {"run": run.pk})
    ds = open_batches(list(run.batches.all()))
    ratings = before_file.with_name("manual_ratings.parquet")  # the ratings the run read
    if ratings.is_file():
        ds = ds.with_table("ratings", ratings)
    # the run's parameters the draft still has; a parameter new in the draft takes its default
    params = {k: str(v) for k, v in (run.params or {}).items() if k in rs.scheme.params}
    folder = Path(tempfile.mkdtemp(prefix="whatif-", dir=workspace.make_tmp_dir()))
    try:
        try:
            ev = evaluate(rs, ds, run.period, params, allow_empty=True)
            after_file = folder / "results.parquet"
            write(ev, "parquet", after_file)
        except PingjiError as exc:
            raise WhatIfRefused(
                _("草稿在运行 #%(run)s 的数据上计算失败：") % {"run": run.pk} + exc.render()
            ) from exc
        except Exception as exc:  # as a run would fail: said on the page, logged in full
            log.exception("what-if preview of %s on run %s failed", draft, run.pk)
            raise WhatIfRefused(
                _("草稿在运行 #%(run)s 的数据上计算失败：") % {"run": run.pk}
                + f"{type(exc).__name__}: {exc}"
            ) from exc
        after = summarise(rs, after_file)
        counts = results.migration_of_files(before_file, after_file)
        warnings = [str(w) for w in ev.warnings]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        ds.con.disconnect()
    before = run.summary or {}
    colors = {
        g["grade"]: g.get("color") or migration.NO_COLOR
        for side in (before, after)
        for g in side.get("grades", [])
        if g["grade"] is not None
    }
    orders = [after.get("grade_order", []), before.get("grade_order", [])]
    return WhatIf(
        run=run,
        entities=after.get("entities", 0),
        rows=_distribution(before, after, orders),
        matrix=migration.layout(counts, orders, colors, (_("不在运行结果中"), _("不在草稿结果中"))),
        mean_before=(before.get("score") or {}).get("mean"),
        mean_after=(after.get("score") or {}).get("mean"),
        warnings=warnings,
    )


def _distribution(before: dict, after: dict, orders) -> list[dict]:
    """Return one row per grade (the draft's order, then grades only the run had, then no
    grade) with the run's count, the draft's count and the change."""
    counts = {"before": {}, "after": {}}
    info: dict = {}
    for side, summary in (("before", before), ("after", after)):
        for g in summary.get("grades", []):
            counts[side][g["grade"]] = g["count"]
            if side == "after" or g["grade"] not in info:
                info[g["grade"]] = g
    keys = migration.grade_axis(orders, {})
    keys += [k for k in info if k not in keys and k is not None]
    if None in info:
        keys.append(None)
    rows = []
    for key in keys:
        n_before, n_after = counts["before"].get(key, 0), counts["after"].get(key, 0)
        if key not in info and not (n_before or n_after):
            continue
        g = info.get(key, {})
        rows.append(
            {
                "grade": key,
                "label": g.get("label") or "",
                "color": g.get("color") or migration.NO_COLOR,
                "before": n_before,
                "after": n_after,
                "change": n_after - n_before,
            }
        )
    return rows
