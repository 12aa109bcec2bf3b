"""The scorecard of one entity in one run, and the fact rows behind one of its metrics.

No HTTP here: the scorecard pages and the REST API call `build`, `why` and `why_csv`.
Everything is read from what the run recorded — its results.parquet and raw.parquet
(filtered to one entity by DuckDB, never loaded whole), the import batches it read and the
manual ratings it used — and the rules are said in words by `pingji.scheme.describe`. The
fact rows behind a metric, and its value over them, come from the engine (engine/behind.py,
the plan's own selection and aggregation), so a "why" page lists exactly the rows the run
aggregated. No scoring happens here.

Values in the returned dicts are JSON-ready: exact decimals (money) become strings, dates
ISO text; next to each value a `text` gives it formatted for people.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv

from pingji import expr
from pingji.data.batches import BatchDataSet, batch_rows_sql
from pingji.data.labels import column_label
from pingji.engine import behind
from pingji.engine.assemble import reason_code, reason_label
from pingji.engine.compile import typed_sql
from pingji.engine.coverage import window_bounds
from pingji.engine.plan import col_metric, col_node, default_of, resolve_params
from pingji.errors import PingjiError
from pingji.output import numbers
from pingji.output.cells import neutralised_query
from pingji.output.labels import scheme_labels
from pingji.periods import Period
from pingji.scheme.describe import (
    AGGREGATION_WORDS,
    WINDOW_WORDS,
    describe_group,
    describe_metric,
    describe_missing,
    describe_rule,
)
from pingji.scheme.describe import METRIC_KIND_WORDS as KIND_WORDS
from pingji.scheme.resolve import ResolvedNode, ResolvedScheme
from pingji.sqltext import ident, literal
from pingji.web.lib import keyed_rows, workspace
from pingji.web.runs.files import raw_file, results_file, run_dir
from pingji.web.runs.models import Run
from pingji.web.schemes.services import resolve_version

ROWS_SHOWN = 100  # fact rows listed on a "why" page; the CSV has them all
TREND_PERIODS = 12  # periods shown in the trend (the latest ones up to the run's period)

# columns a "why" table adds to the fact rows: where each row came from
BATCH_COLUMN, LINE_COLUMN = "__batch", "__line"


# ------------------------------------------------------------------------ values

_WIDE = Context(prec=60)  # decimal(38, x) values keep every digit when formatted


def plain(value: Any) -> Any:
    """Return a value as JSON can hold it: exact decimals as text, dates as ISO text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def text(value: Any) -> str:
    """Return a value formatted for people: thousands separators, no trailing zeros."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "—"
        if value == value.quantize(Decimal("0.01"), context=_WIDE):
            return f"{value:,.2f}"
        return f"{value.normalize(_WIDE):,f}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == int(value):
            return f"{value:,.0f}"
        if abs(value) < 0.01:
            return f"{value:.6g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "、".join(text(v) for v in value) or "—"
    return str(value)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Tell whether a recomputed value equals the run's value (numbers to 9 decimals)."""
    if a is None or b is None:
        return a is None and b is None
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return str(a) == str(b)


# ------------------------------------------------------------------ run's files


_local = threading.local()


def _backend() -> ibis.BaseBackend:
    """This thread's DuckDB (through Ibis): the run's files are read-only Parquet."""
    backend = getattr(_local, "backend", None)
    if backend is None:
        backend = _local.backend = ibis.duckdb.connect()
        backend.raw_sql("SET enable_progress_bar = false")
        backend.raw_sql("SET parquet_metadata_cache = true")  # run files never change in place
    return backend


def resolved(run: Run) -> ResolvedScheme:
    """Return the run's resolved scheme."""
    return resolve_version(run.scheme_version)


def _row(path: Path, entity_id: str) -> dict | None:
    """Return one entity's row of a run's Parquet file: from memory for a file kept there
    (lib/keyed_rows.py), else read by DuckDB (only that row group)."""
    kept = keyed_rows.keyed(path)
    if kept is not None:
        return kept.row(entity_id)
    if not path.exists():
        return None
    cur = _backend().con.execute(
        "SELECT * FROM read_parquet(?) WHERE entity_id = ?", [str(path), entity_id]
    )
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def _rows_of(runs: list[Run], entity_id: str) -> dict[int, dict]:
    """Return {run id: the entity's results row} of several runs, read in one query."""
    files = {str(results_file(r)): r.pk for r in runs if r.results_path}
    files = {f: pk for f, pk in files.items() if Path(f).exists()}
    out = {}
    for f in list(files):
        kept = keyed_rows.keyed(f)
        if kept is not None:  # in memory; the other files are read by DuckDB
            row = kept.row(entity_id)
            if row is not None:
                out[files[f]] = row
            del files[f]
    if not files:
        return out
    cur = _backend().con.execute(
        "SELECT * FROM read_parquet(?, union_by_name = true, filename = true) WHERE entity_id = ?",
        [list(files), entity_id],
    )
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        out[files[values.pop("filename")]] = values
    return out


def _batches(run: Run, table: str) -> list:
    """Return the run's batches of one table, oldest first (later entity rows win)."""
    # filtered by the database: a run may have read dozens of batches of other tables
    return list(run.batches.filter(table=table).order_by("uploaded_at", "pk"))


# The batch files a done run read, per table: recorded when the run was created, and a
# batch's file never moves, so a scorecard asks the database once per run, not per view.
_BATCH_FILES: OrderedDict[tuple, list[tuple[int, Path]]] = OrderedDict()
_batch_files_lock = threading.Lock()


def _batch_files(run: Run, table: str) -> list[tuple[int, Path]]:
    """Return (batch id, file) of the run's batches of one table, oldest first."""
    key = (run.pk, str(run.created_at), table)  # the creation time: a reused id is new
    done = run.status == Run.Status.DONE
    with _batch_files_lock:
        found = _BATCH_FILES.get(key) if done else None
    if found is None:
        found = [(b.pk, workspace.absolute(b.path)) for b in _batches(run, table)]
        if done:
            with _batch_files_lock:
                _BATCH_FILES[key] = found
                while len(_BATCH_FILES) > 1024:
                    _BATCH_FILES.popitem(last=False)
    return list(found)


def _entity_row(files: list[tuple[int, Path]], key: str, entity_id: str) -> tuple[int, dict] | None:
    """Return (batch id, row) of an entity as the run read it from its entity batch files
    (the latest batch holding the key wins), or None when no batch holds it: from memory
    when every file is kept there and all have one schema (lib/keyed_rows.py), else by
    DuckDB."""
    kept = [keyed_rows.keyed(p, key) for _, p in files]
    if all(k is not None for k in kept) and all(
        k.table.schema.equals(kept[0].table.schema) for k in kept
    ):
        for (bid, _), k in zip(reversed(files), reversed(kept), strict=True):
            row = k.row(entity_id)
            if row is not None:
                return bid, row
        return None
    where = f"CAST({ident(key)} AS VARCHAR) = ?"
    cur = _backend().con.execute(f"{_read(files, where, key)} LIMIT 1", [entity_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is None:
        return None
    values = dict(zip(names, row, strict=True))
    values.pop(LINE_COLUMN, None)
    return values.pop(BATCH_COLUMN), values


def _read(files: list[tuple[int | None, Path]], where: str, key: str | None = None) -> str:
    """SQL reading batch files with the batch id of each row (and without `key`, its row
    number); with `key`, the entity rows as the run read them (a later batch wins per key)."""
    return batch_rows_sql(
        [p for _, p in files],
        key,
        where=where,
        line_column=LINE_COLUMN if key is None else None,
        batch_column=BATCH_COLUMN,
        batch_ids=[bid for bid, _ in files],
    )


def entity_attributes(run: Run, rs: ResolvedScheme, entity_id: str) -> dict:
    """Return the entity's row of its table as the run read it (the latest batch wins)."""
    table = rs.scheme.entity
    spec = rs.tables[table]  # the contract's, or the scheme's own (`tables:`)
    files = [(bid, p) for bid, p in _batch_files(run, table) if p.exists()]
    out = {"table": table, "table_label": spec.label or table, "name": None, "attributes": []}
    if not files:
        return out
    found = _entity_row(files, spec.key, entity_id)
    if found is None:
        return out
    out["batch"], values = found
    values.pop("_row", None)
    contract = [c.name for c in spec.columns]
    ordered = [n for n in contract if n in values] + [n for n in values if n not in contract]
    out["name"] = values.get("name")
    out["attributes"] = [
        {
            "name": n,
            "label": column_label(table, n),
            "value": plain(values[n]),
            "text": text(values[n]),
        }
        for n in ordered
    ]
    return out


# ---------------------------------------------------------------------- metrics


def metric_inputs(rs: ResolvedScheme, name: str) -> list[str]:
    """Return the metrics a derived metric's expression uses, in scheme order."""
    m = rs.scheme.metrics[name]
    if m.expr is None:
        return []
    used = expr.names(rs.exprs[("metrics", name, "expr")])
    return [n for n in rs.scheme.metrics if n in used]


def node_metrics(rs: ResolvedScheme, rn: ResolvedNode) -> list[str]:
    """Return the metrics a node reads directly: every expression stored under the node's
    own path (its value, rule parameters, deduction items), or a group's `weights_by`."""
    metrics = rs.scheme.metrics
    if rn.node.is_group:
        by = rn.node.weights_by.by if rn.node.weights_by is not None else None
        return [by] if by in metrics else []
    size = len(rn.path)
    used: set[str] = set()
    for path, tree in rs.exprs.items():
        if tree is not None and path[:size] == rn.path and "children" not in path[size:]:
            used |= expr.names(tree)
    return [n for n in metrics if n in used]


def value_metric(rs: ResolvedScheme, rn: ResolvedNode) -> str | None:
    """Return the metric an indicator's value simply is (`value: sales`), if it is one."""
    tree = rs.exprs.get((*rn.path, "$value"))
    if isinstance(tree, expr.Name) and tree.name in rs.scheme.metrics:
        return tree.name
    return None


# What a scorecard says of a scheme's metrics and nodes whatever the entity (labels, rules in
# words, formats, the metrics each reads), worked out once per resolved scheme: resolved
# schemes are kept (schemes/services.resolve_version) and never changed.
_STATIC: OrderedDict[int, tuple[ResolvedScheme, dict]] = OrderedDict()
_static_lock = threading.Lock()


def _static(rs: ResolvedScheme) -> dict:
    """Return {"metrics": {name: …}, "nodes": {id: …}}: the entity-independent parts."""
    with _static_lock:
        kept = _STATIC.get(id(rs))
        if kept is not None and kept[0] is rs:
            return kept[1]
    metrics = {}
    for name, m in rs.scheme.metrics.items():
        metrics[name] = {
            "label": m.label or name,
            "description": m.description or "",
            "kind": m.kind,
            "kind_label": KIND_WORDS[m.kind],
            "described": describe_metric(m),
            "unit": m.unit or "",
            "format": numbers.metric_format(rs, name),
            "inputs": metric_inputs(rs, name),
        }
    nodes = {}
    for rn in rs.nodes.values():
        is_group = rn.node.is_group
        nodes[rn.id] = {
            "value_format": numbers.node_value_format(rs, rn),
            "missing_policy": describe_missing(rn),
            "rule": describe_group(rs, rn) if is_group else describe_rule(rn),
            "metrics": node_metrics(rs, rn),
            "value_metric": value_metric(rs, rn),
        }
        if not is_group:
            nodes[rn.id] |= {"reason_code": reason_code(rn), "reason_label": reason_label(rn)}
    found = {"metrics": metrics, "nodes": nodes}
    with _static_lock:
        _STATIC[id(rs)] = (rs, found)  # holding rs: its id is not reused while kept
        while len(_STATIC) > 64:
            _STATIC.popitem(last=False)
    return found


def _metric(rs: ResolvedScheme, name: str, raw: dict) -> dict:
    m = _static(rs)["metrics"][name]
    value = raw.get(col_metric(name))
    return {
        "name": name,
        "label": m["label"],
        "description": m["description"],
        "kind": m["kind"],
        "kind_label": m["kind_label"],
        "described": m["described"],
        "unit": m["unit"],
        "value": plain(value),
        "text": numbers.text(value, m["format"]),
        "inputs": list(m["inputs"]),
    }


# ------------------------------------------------------------------------ build


def _labels(rs: ResolvedScheme) -> dict[str, dict[str, str]]:
    codes = scheme_labels(rs)  # the one code → label map (output/labels.py)
    s = rs.scheme
    grades = {
        lv.grade: {"label": lv.label or "", "color": lv.color or ""}
        for lv in (s.grades.levels if s.grades else [])
    }
    return {
        "grades": grades,
        "classes": codes["class"],
        "statuses": codes["status"],
        "actions": codes["action"],
    }


def _shares(rs: ResolvedScheme, raw: dict) -> dict[str, float | None]:
    """Each node's share of its parent (%): static weights, or the entity's weight profile."""
    shares: dict[str, float | None] = {}
    for rn in rs.nodes.values():
        if not rn.node.is_group:
            continue
        kids = rn.node.children or []
        if rn.node.weights_by is not None:
            weights = [_number(raw.get(f"w__{rn.id}__{ch.id}")) for ch in kids]
        else:
            weights = [rs.nodes[ch.id].weight for ch in kids]
        total = sum(w or 0 for w in weights)
        for ch, w in zip(kids, weights, strict=True):
            shares[ch.id] = (w or 0) * 100 / total if total and w is not None else None
    return shares


def _nodes(rs: ResolvedScheme, row: dict, raw: dict) -> list[dict]:
    shares = _shares(rs, raw)
    static = _static(rs)["nodes"]
    out = []
    for rn in rs.nodes.values():
        nid = rn.id
        known = static[nid]
        value = row.get(f"{nid}.value")
        points = _number(row.get(f"{nid}.points"))
        score = _number(row.get(f"{nid}.score"))
        is_group = rn.node.is_group
        item = {
            "id": nid,
            "label": rn.node.label or nid,
            "description": rn.node.description or "",
            "parent": rn.parent,
            "depth": rn.depth,
            "is_group": is_group,
            "children": [ch.id for ch in rn.node.children or []],
            "weight": rn.weight,
            "share": shares.get(nid),
            "max": rn.max,
            "points": points,
            "score": score,
            "has_value": f"{nid}.value" in row,
            "value": plain(value),
            "value_text": numbers.text(value, known["value_format"]),
            "pass_points": rn.pass_points,
            "passed": row.get(f"{nid}.passed") if rn.pass_points is not None else None,
            "missing": bool(raw.get(col_node(nid, "missing"))),
            "missing_policy": known["missing_policy"],
            "rule": known["rule"],
            "rule_kind": "group" if is_group else rn.node.rule.kind,
            "metrics": list(known["metrics"]),
            "value_metric": known["value_metric"],
        }
        if not is_group:
            item["lost"] = _number(raw.get(col_node(nid, "lost")))
            item["reason_code"] = known["reason_code"]
            item["reason_label"] = known["reason_label"]
        out.append(item)
    return out


def build(run: Run, entity_id: str, *, with_trend: bool = True) -> dict | None:
    """Return the scorecard of one entity in a done run, or None when the run holds no row
    for that entity. JSON-serialisable (the REST API returns it as it is)."""
    if run.status != Run.Status.DONE or not run.results_path:
        return None
    row = _row(results_file(run), entity_id)
    if row is None:
        return None
    raw = _row(raw_file(run), entity_id) or {}
    rs = resolved(run)
    s = rs.scheme
    labels = _labels(rs)
    grade = row.get("grade")
    computed = raw.get("grade_computed", grade)
    override = raw.get("override_reason")
    nodes = _nodes(rs, row, raw)
    by_id = {n["id"]: n for n in nodes}
    root = next(iter(rs.nodes.values()), None)
    top = (
        [
            {
                "id": ch.id,
                "label": by_id[ch.id]["label"],
                "points": by_id[ch.id]["points"],
                "max": by_id[ch.id]["max"],
                "percent": by_id[ch.id]["score"],
            }
            for ch in root.node.children
        ]
        if root is not None and root.node.is_group
        else []
    )
    leaves = {reason_code(n): n for n in rs.leaves()}
    reasons = []
    for code in row.get("reasons") or []:
        n = leaves.get(code)
        reasons.append(
            {
                "code": code,
                "label": reason_label(n) if n else code,
                "node": n.id if n else None,
                "lost": _number(raw.get(col_node(n.id, "lost"))) if n else None,
            }
        )
    version = run.scheme_version
    card = {
        "run": {
            "id": run.pk,
            "period": run.period,
            "scheme": version.scheme.code,
            "scheme_label": s.label or s.id,
            "version": version.number,
            "finished_at": plain(run.finished_at),
        },
        "entity": {"id": entity_id, **entity_attributes(run, rs, entity_id)},
        "period": row.get("period") or run.period,
        "score": _number(row.get("score")),
        "decimals": rs.scheme.display.decimals,  # one precision for scores and points
        "points": _number(row.get("points")),
        "max_points": _number(row.get("max_points")),
        # what the grade bands applied to when `grades.on` is not the plain score (else None)
        "grade_basis": _number(row.get("grade_basis")),
        "grade": grade,
        "grade_label": labels["grades"].get(grade, {}).get("label", "") if grade else "",
        "grade_color": labels["grades"].get(grade, {}).get("color", "") if grade else "",
        "grade_computed": computed,
        "grade_computed_color": labels["grades"].get(computed, {}).get("color", "")
        if computed
        else "",
        "override": override is not None,
        "override_reason": override or "",
        "class": row.get("class"),
        "class_label": labels["classes"].get(row.get("class"), row.get("class") or ""),
        "classes": [
            {"id": c, "label": labels["classes"].get(c, c), "primary": c == row.get("class")}
            for c in row.get("classes") or []
        ],
        "status": row.get("status"),
        "status_label": labels["statuses"].get(row.get("status"), row.get("status") or ""),
        "actions": [
            {"action": a, "label": labels["actions"].get(a, a)} for a in row.get("actions") or []
        ],
        "reasons": reasons,
        "missing": [
            {"id": m, "label": by_id[m]["label"] if m in by_id else m}
            for m in row.get("missing") or []
        ],
        "outputs": [
            {
                "id": o.id,
                "label": o.label or o.id,
                "value": plain(row.get(o.id)),
                "text": numbers.text(row.get(o.id), numbers.output_format(rs, o.id)),
            }
            for o in s.outputs
        ],
        "nodes": nodes,
        "top": top,
        "metrics": [_metric(rs, n, raw) for n in s.metrics],
        "grades": [
            {
                "grade": lv.grade,
                "label": lv.label or "",
                "color": lv.color or "",
                "min": lv.min,
                "above": lv.above,
            }
            for lv in (s.grades.levels if s.grades else [])
        ],
    }
    if with_trend:
        card["trend"] = trend(run, entity_id, current=row)
    return card


def trend(run: Run, entity_id: str, current: dict | None = None) -> list[dict]:
    """Return the entity's score and grade per period over the done runs of the same scheme
    (any version) up to this run's period: for each period the latest finished run, for
    this run's own period this run; the last TREND_PERIODS periods, oldest first.

    `current` is the entity's results row of `run` when the caller has read it already."""
    try:
        here = Period.parse(run.period)
    except PingjiError:
        return []
    runs = (
        Run.objects.counted()  # voided runs are not a period's latest
        .filter(scheme_version__scheme_id=run.scheme_version.scheme_id, status=Run.Status.DONE)
        .select_related("scheme_version")
        .order_by("finished_at", "pk")
    )
    chosen: dict[Period, Run] = {}
    for r in runs:  # one row per run, not per entity
        try:
            p = Period.parse(r.period)
        except PingjiError:
            continue
        if p.kind == here.kind and p <= here:
            chosen[p] = r
    chosen[here] = run
    periods = sorted(chosen)[-TREND_PERIODS:]
    reread = [chosen[p] for p in periods if current is None or chosen[p].pk != run.pk]
    rows = _rows_of(reread, entity_id)  # one query for the periods, not one per period
    if current is not None:
        rows[run.pk] = current  # read once per scorecard, not twice
    out = []
    for p in periods:
        r = chosen[p]
        row = rows.get(r.pk)
        colors = {g["grade"]: g for g in (r.summary or {}).get("grades", [])}
        grade = row.get("grade") if row else None
        out.append(
            {
                "run": r.pk,
                "period": str(p),
                "version": r.scheme_version.number,
                "found": row is not None,
                "score": _number(row.get("score")) if row else None,
                "grade": grade,
                "grade_label": colors.get(grade, {}).get("label", "") if grade else "",
                "grade_color": colors.get(grade, {}).get("color", "") if grade else "",
                "current": r.pk == run.pk,
            }
        )
    return out


# -------------------------------------------------------------------------- why


def _window_words(window, start: date | None, end: date | None) -> dict:
    if isinstance(window, str):
        words = WINDOW_WORDS[window]
        code = window
    elif hasattr(window, "last_months"):
        words, code = f"最近 {window.last_months} 个月", f"last_months: {window.last_months}"
    else:
        words, code = f"往前第 {window.periods_back} 期", f"periods_back: {window.periods_back}"
    if start and end:
        span = f"{start.isoformat()} 至 {end.isoformat()}"
    elif end:
        span = f"截至 {end.isoformat()}"
    else:
        span = "不限日期"
    return {
        "code": code,
        "words": words,
        "start": plain(start),
        "end": plain(end),
        "span": span,
    }


class _Facts:
    """The run's batches of one table (with the batch id and row number of each row),
    filtered to one entity, as an Ibis table on this thread's DuckDB; and the run's period,
    parameters and working-day calendar, with which the engine (engine/behind.py) selects
    the rows exactly as the run did."""

    def __init__(self, run: Run, rs: ResolvedScheme, table: str, entity_id: str, extra=()):
        self.spec = rs.tables[table]
        files = [(b.pk, workspace.absolute(b.path)) for b in _batches(run, table)]
        files += [(None, Path(p)) for p in extra]
        self.files = [(bid, p) for bid, p in files if p.exists()]
        self.period = Period.parse(run.period, rs.scheme.period)
        self.params = {k: str(v) for k, v in run.params.items()}
        calendar = [workspace.absolute(b.path) for b in _batches(run, "calendar")]
        # workdays_between() counts with the run's own calendar rows too
        self.dataset = BatchDataSet({"calendar": calendar}, f"run {run.pk}") if calendar else None
        self.table = None
        if self.files:
            where = f"CAST({ident(self.spec.key)} AS VARCHAR) = {literal(entity_id)}"
            self.table = _backend().sql(_read(self.files, where))

    @property
    def columns(self) -> list[str]:
        if self.table is None:
            return []
        return [c for c in self.table.columns if c not in ("_row", BATCH_COLUMN, LINE_COLUMN)]

    @property
    def headers(self) -> list[dict]:
        """The columns with their Chinese labels (extra columns keep their names)."""
        return [{"name": c, "label": column_label(self.spec.name, c)} for c in self.columns]

    def window(self, window) -> tuple[date | None, date | None]:
        return window_bounds(window, self.period)

    def ordered_sql(self, rows_sql: str, descending: bool = False) -> str:
        """The selected rows by date (latest first when descending), then batch and row."""
        keys = []
        if self.spec.date:
            keys.append(f"{ident(self.spec.date)} {'DESC' if descending else 'ASC'}")
        keys += [BATCH_COLUMN, LINE_COLUMN]
        cols = ", ".join(ident(c) for c in [*self.columns, BATCH_COLUMN, LINE_COLUMN])
        return f"SELECT {cols} FROM ({rows_sql}) ORDER BY {', '.join(keys)}"

    def listed(self, rows_sql: str, limit: int, descending: bool = False) -> list[dict]:
        cur = _backend().con.execute(f"{self.ordered_sql(rows_sql, descending)} LIMIT {limit}")
        n = len(self.columns)
        return [
            {
                "cells": [
                    {"value": plain(v), "text": text(v), "num": _is_number(v)} for v in r[:n]
                ],
                "batch": r[n],
                "line": r[n + 1],
            }
            for r in cur.fetchall()
        ]


def _selection(rs: ResolvedScheme, name: str, facts: _Facts) -> tuple[str, str | None] | None:
    """Return the SQL of the entity's rows behind a metric, selected as the run did (an
    aggregation's window and `where`, a `latest` metric's rows up to the period end, a
    rating's rows of the period and indicator), and the SQL of the metric's value over them
    (None for `latest`): both made by the engine (engine/behind.py)."""
    if facts.table is None:
        return None
    found = behind.rows_behind(rs, facts.period, facts.params, name, facts.table, facts.dataset)
    # the SQL runs as text on this DuckDB: the working-day calendar must be there
    _backend()._register_in_memory_tables(found.rows)
    rows_sql = str(_backend().compile(found.rows))
    if found.value is None:
        return rows_sql, None
    value = found.value.name("value")
    _backend()._register_in_memory_tables(value)
    # typed as the run's results are (a mean of money: to 4 places, as the run stored it)
    return rows_sql, typed_sql(
        str(_backend().compile(value.as_table())), {"value": value.type()}, "duckdb"
    )


def _ratings_extra(run: Run) -> list[Path]:
    """The approved manual ratings the run used (written into its folder when it ran)."""
    path = run_dir(run) / "manual_ratings.parquet"
    return [path] if path.exists() else []


def _source_of(run: Run, rs: ResolvedScheme, name: str) -> tuple[str, list[Path]] | None:
    """The table whose rows a metric reads (and extra files: the run's manual ratings)."""
    table = behind.source_table(rs, name)
    if table is None:
        return None
    return table, _ratings_extra(run) if rs.scheme.metrics[name].rating else []


def _readable(run: Run, entity_id: str, name: str) -> ResolvedScheme | None:
    rs = resolved(run)
    if name not in rs.scheme.metrics or run.status != Run.Status.DONE or not run.results_path:
        return None
    return rs


def why(run: Run, entity_id: str, name: str, limit: int = ROWS_SHOWN) -> dict | None:
    """Return what a metric of one entity in a done run is made of, or None when the run has
    no such metric or entity: the fact rows it aggregated (the first `limit`, the total count
    and the aggregate recomputed over them), the attribute it read, the ratings it averaged,
    or the inputs of its formula."""
    rs = _readable(run, entity_id, name)
    if rs is None:
        return None
    raw = _row(raw_file(run), entity_id)
    if raw is None:
        return None
    m = rs.scheme.metrics[name]
    ent = entity_attributes(run, rs, entity_id)
    out: dict[str, Any] = {
        "run": run.pk,
        "entity_id": entity_id,
        "entity_name": ent["name"],
        "period": run.period,
        "metric": _metric(rs, name, raw),
        "used_by": [
            {"id": rn.id, "label": rn.node.label or rn.id}
            for rn in rs.nodes.values()
            if name in node_metrics(rs, rn)
        ],
        "used_in": [
            {"name": n, "label": rs.scheme.metrics[n].label or n}
            for n in rs.scheme.metrics
            if name in metric_inputs(rs, n)
        ],
        "rows": [],
        "columns": [],
        "total": None,
        "csv": False,
    }
    source = _source_of(run, rs, name)
    if source is not None:
        table, extra = source
        spec = rs.tables[table]
        facts = _Facts(run, rs, table, entity_id, extra=extra)
        out["table"] = {"name": table, "label": spec.label or table, "date": spec.date}
        out["batches"] = [bid for bid, _ in facts.files if bid is not None]
        out["columns"] = facts.headers
        out["csv"] = True
        selected = _selection(rs, name, facts)
        if m.aggregation:
            out["aggregation"] = {
                "kind": m.aggregation,
                "label": AGGREGATION_WORDS[m.aggregation],
                "column": getattr(m, m.aggregation).partition(".")[2],
            }
            out["where"] = m.where or ""
            out["window"] = _window_words(m.window, *facts.window(m.window))
        elif m.latest:
            out["column"] = m.latest.partition(".")[2]
            out["window"] = _window_words("to_date", None, facts.period.end)
        else:
            out["scale"] = list(m.scale)
            out["indicator"] = m.rating
            out["manual_ratings_used"] = any(bid is None for bid, _ in facts.files)
        total, value = 0, default_of(m) if m.aggregation else None
        if selected is not None:
            rows_sql, value_sql = selected
            total = _backend().con.execute(f"SELECT count(*) FROM ({rows_sql})").fetchone()[0]
            if value_sql is not None:
                value = _backend().con.execute(value_sql).fetchone()[0]
            out["rows"] = _listed_or_empty(facts, rows_sql, limit, bool(m.latest))
        out["total"] = int(total)
        if not m.latest:
            if isinstance(value, float) and math.isnan(value):
                value = None
            out["recomputed"] = plain(value)
            out["recomputed_text"] = numbers.text(value, numbers.metric_format(rs, name))
            out["matches"] = _same(value, raw.get(col_metric(name)))
    elif m.attribute:
        out["table"] = {"name": ent["table"], "label": ent["table_label"], "date": None}
        out["column"] = m.attribute
        out["batches"] = [ent["batch"]] if ent.get("batch") else []
        out["attribute"] = next(
            (a for a in ent["attributes"] if a["name"] == m.attribute),
            {"name": m.attribute, "label": m.attribute, "value": None, "text": text(None)},
        )
    else:  # a formula over other metrics, parameters and the period's dates
        used = expr.names(rs.exprs[("metrics", name, "expr")])
        period = Period.parse(run.period, rs.scheme.period)
        params = resolve_params(rs, {k: str(v) for k, v in run.params.items()})
        out["expression"] = m.expr
        # rank(), quantile() …: the value compares the entity with the run's other entities,
        # so it is read from the run's results, never recomputed from this entity's inputs
        out["population"] = sorted(
            expr.calls(rs.exprs[("metrics", name, "expr")]) & expr.POPULATION_FUNCTIONS
        )
        out["inputs"] = [_metric(rs, n, raw) for n in rs.scheme.metrics if n in used]
        out["params"] = [
            {
                "name": p,
                "label": rs.scheme.params[p].label or p,
                "value": plain(params[p]),
                "text": text(params[p]),
            }
            for p in rs.scheme.params
            if p in used
        ]
        out["params"] += [
            {"name": n, "label": label, "value": plain(d), "text": text(d)}
            for n, label, d in (
                ("period_start", "期初日期", period.start),
                ("period_end", "期末日期", period.end),
            )
            if n in used
        ]
    return out


def _listed_or_empty(facts: _Facts, rows_sql: str, limit: int, descending: bool) -> list[dict]:
    return facts.listed(rows_sql, limit, descending) if limit > 0 else []


def why_csv(run: Run, entity_id: str, name: str) -> Iterator[bytes] | None:
    """Return every fact row behind a metric as CSV (UTF-8 with BOM, for Excel), in chunks;
    None when the metric reads no fact rows or the run has no such metric or entity."""
    rs = _readable(run, entity_id, name)
    if rs is None or _row(raw_file(run), entity_id) is None:
        return None
    m = rs.scheme.metrics[name]
    source = _source_of(run, rs, name)
    if source is None:
        return None
    facts = _Facts(run, rs, source[0], entity_id, extra=source[1])
    selected = _selection(rs, name, facts)
    header = [*facts.columns, "import_batch", "batch_row"]
    ordered = facts.ordered_sql(selected[0], bool(m.latest)) if selected else None

    def chunks() -> Iterator[bytes]:
        yield "\ufeff".encode()
        if ordered is None:
            yield (",".join(header) + "\n").encode()
            return
        # a cursor of its own: the thread's connection may serve other queries meanwhile
        cur = _backend().con.cursor()
        try:
            safe = neutralised_query(cur, ordered)  # no cell a spreadsheet would run
            reader = cur.execute(safe).to_arrow_reader(50_000)
            first = True
            for batch in reader:
                batch = pa.RecordBatch.from_arrays(batch.columns, names=header)
                buf = io.BytesIO()
                pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=first))
                first = False
                yield buf.getvalue()
            if first:
                yield (",".join(header) + "\n").encode()
        finally:
            cur.close()

    return chunks()
