"""Compile a resolved scheme + period + data set into one set-based Ibis plan for all entities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from pingji import expr
from pingji.engine import guards, history, population, rules
from pingji.engine.columns import ROUND, col_metric, col_node
from pingji.engine.coverage import window_bounds
from pingji.engine.params import resolve_params
from pingji.engine.workdays import WorkingDays
from pingji.i18n import Message, msg, to_json
from pingji.periods import Period
from pingji.scheme.resolve import NOT_RATED, ResolvedNode, ResolvedScheme

# Plans are built as one projection per step and refer to earlier steps by column name;
# Ibis' select fusing would inline them again, and its cost grows steeply with the number of
# steps (seconds of compile time for schemes with a hundred metrics).
ibis.options.sql.fuse_selects = False

FLATTENING_BACKENDS = {"postgres"}  # backends whose planner inlines nested projections


IN_PERIOD = "__in_period"  # an aggregate's rows dated inside the evaluated period


def _without(t: ir.Table, *names: str) -> ir.Table:
    """Return `t` without those of `names` it has."""
    present = [n for n in names if n in t.columns]
    return t.drop(*present) if present else t


@dataclass
class Plan:
    """A compiled evaluation: the Ibis table expression and what is needed to read its result."""

    scheme: ResolvedScheme
    period: Period
    params: dict[str, Any]
    table: ir.Table
    # (fact table, one row: rows read in all, rows naming an entity, rows dated inside the
    # period): the warning about unknown keys, and whether the period has data
    row_counts: list[tuple[str, ir.Table]] = field(default_factory=list)
    # (boolean column, message): columns that must be all-false after the run
    checks: list[tuple[str, str]] = field(default_factory=list)
    # (query of offending rows, how to report the first): data checks run before the plan
    guards: list[tuple[ir.Table, dict[str, Any]]] = field(default_factory=list)
    # (kind, table, query of labels and rows, choices): rows of ratings and overrides that
    # match nothing the scheme reads, told in warnings (guards.py)
    notices: list[tuple[str, str, ir.Table, tuple[str, ...]]] = field(default_factory=list)

    def sql(self, dialect: str | None = None) -> str:
        """Return the SQL the plan compiles to."""
        return str(ibis.to_sql(self.table, dialect=dialect))


def _param_literal(value: Any, kind: str | None) -> ir.Value:
    if isinstance(value, bool):
        return ibis.literal(value)
    if kind == "money" or isinstance(value, Decimal):
        return ibis.literal(Decimal(str(value)), type="decimal(38, 9)")
    if isinstance(value, int):
        return ibis.literal(value, type="int64")
    if isinstance(value, float):
        return ibis.literal(value, type="float64")
    return ibis.literal(str(value))


def _rounded(x: ir.Value) -> ir.Value:
    return x.cast("float64").round(ROUND)


class Compiler:
    """Builds the plan; one instance per (scheme, data set, parameters)."""

    def __init__(
        self,
        rs: ResolvedScheme,
        dataset,
        params: dict[str, Any],
        entity_filter: str | None = None,
        steps: Callable[[ir.Table], ir.Table] | None = None,
    ) -> None:
        self.rs = rs
        self.s = rs.scheme
        # computes a step once into a table of its own and returns that table (compile.py);
        # None: everything stays one query
        self.steps = steps
        # (query of the offending rows, how to report the first): data checks that need the
        # scheme (ratings within their scale, overrides naming known grades), run first
        self.guards: list[tuple[ir.Table, dict[str, Any]]] = []
        self.orphans: dict[str, ir.Table] = {}  # fact aggregates with `__rows` per key
        self.notices: list[tuple[str, str, ir.Table, tuple[str, ...]]] = []
        # (boolean column, message): the run fails naming entities where the column is true
        self.failures: list[tuple[str, Message]] = []
        self.ds = dataset
        self.params = params
        self.entity_filter = entity_filter
        self.entity_spec = rs.tables[self.s.entity]
        self.key = self.entity_spec.key
        self._checked_ratings: set[str] = set()
        # for workdays_between(), read on first use (from the data set behind a compile view)
        self.calendar = WorkingDays(
            getattr(dataset, "data", dataset), getattr(dataset, "inline", None)
        )
        # population calls (rank() …) computed as columns: id of the call node → column
        self._lifted: dict[int, str] = {}
        self._lift_count = 0
        # each period's evaluation, built once: (period, with grade) → table (score_at & co.)
        self.evaluated: dict[tuple[str, bool], ir.Table] = {}

    # --------------------------------------------------------------- names
    def _param(self, name: str) -> ir.Value:
        p = self.s.params[name]
        return _param_literal(self.params[name], p.type)

    def _base_resolver(self, t: ir.Table, period: Period, extra: dict[str, ir.Value] | None = None):
        def resolve(name: str) -> ir.Value:
            if extra and name in extra:
                return extra[name]
            if name in self.s.metrics:
                return t[col_metric(name)]
            if (value := self._common_name(name, period)) is not None:
                return value
            if name == "max_points":
                return ibis.literal(next(iter(self.rs.nodes.values())).max, type="float64")
            if name in ("score", "points", "grade", "class", "status", "rated"):
                return t[name]
            raise KeyError(name)  # the checker refused unknown names already

        return resolve

    def _functions(self, t: ir.Table, streaks: dict[tuple[str, int], ir.Value] | None = None):
        def node_part(part: str):
            def fn(node_id: ir.Value) -> ir.Value:
                nid = node_id.op().value
                return t[col_node(nid, part)]

            return fn

        fns = {
            "points": node_part("points"),
            "score": node_part("score"),
            "passed": node_part("passed"),
            "missing": node_part("missing"),
            "has_class": lambda cid: t[f"c__{cid.op().value}"],
        }
        if streaks is not None:
            fns["grade_streak"] = lambda g, n: streaks[(g.op().value, int(n.op().value))]
        fns.update(history.functions(t, history_source))  # score_at … value_at
        return fns

    def compile(
        self, path: tuple, t: ir.Table, period: Period, extra=None, functions=None, workdays=None
    ) -> ir.Value:
        """Compile the expression stored at a scheme field path against table t (`workdays`:
        the hook of the workdays_between() columns that calendar.add put on t)."""
        tree = self.rs.exprs[path]
        return expr.compile_expr(
            tree,
            self._base_resolver(t, period, extra),
            functions,
            self._population_of(t),
            workdays=workdays,
        )

    def _population_of(self, t: ir.Table):
        """Return the compiler's callback for population calls: the column `_lift` made."""

        def column(call: expr.Call, _compile) -> ir.Value:
            return t[self._lifted[id(call)]]

        return column

    def _paths(self, *sections: str) -> list[tuple]:
        """Return the paths of the expressions stored under the given top-level sections."""
        return [p for p in self.rs.exprs if p[0] in sections]

    def _lift(
        self,
        t: ir.Table,
        paths: list[tuple],
        period: Period,
        functions=None,
        values: dict[tuple, tuple] | None = None,
    ) -> ir.Table:
        """Add a column per population call (rank() …) in the expressions at `paths`.

        Innermost calls first, each level one step: the arguments become columns, then the
        windows over them (engine/population.py). `values` maps a rule's path to its
        indicator's value path, for rules whose calls use `value`.
        """
        owner: dict[int, tuple] = {}
        for p in paths:
            for n in expr.walk(self.rs.exprs.get(p) or expr.Null()):
                owner.setdefault(id(n), p)
        for level in population.calls(self.rs.exprs.get(p) for p in paths):
            cols: dict[str, ir.Value] = {}
            specs: list[population.Call] = []
            for call in level:
                path = owner[id(call)]
                extra = None
                if values and path in values:
                    extra = {"value": self.compile(values[path], t, period)}
                resolve = self._base_resolver(t, period, extra)
                lifted = self._population_of(t)

                def arg(node, resolve=resolve, lifted=lifted):
                    return expr.compile_expr(node, resolve, functions, lifted)

                self._lift_count += 1
                column = f"{population.COLUMN_PREFIX}{self._lift_count}"
                x = arg(call.args[0])
                cols[f"{column}__x"] = x.cast("float64") if x.type().is_null() else x
                group = population.group_arg(call)
                if group is not None:
                    cols[f"{column}__g"] = arg(group)
                specs.append(
                    population.Call(
                        column,
                        call.name,
                        f"{column}__x",
                        f"{column}__g" if group is not None else None,
                        population.constant(call),
                    )
                )
                self._lifted[id(call)] = column
            t = population.add_columns(t.mutate(**cols), specs)
        return t

    def _number(self, value: Any, path: tuple, t: ir.Table, period: Period, extra=None) -> ir.Value:
        if isinstance(value, str):
            return self.compile(path, t, period, extra).cast("float64")
        return ibis.literal(float(value), type="float64")

    # ----------------------------------------------------------- entities
    def entities(self) -> ir.Table:
        """Return the entity table (optionally filtered to one entity)."""
        self.ds.require(self.s.entity, [self.key], msg("scheme {id}", id=self.rs.id))
        t = self.ds.table(self.s.entity)
        if self.entity_filter is not None:
            t = t.filter(t[self.key] == self.entity_filter)
        return t

    # --------------------------------------------------------------- metrics
    def base(self, period: Period) -> ir.Table:
        """Return one row per entity with every metric as a column `m__<name>`."""
        ent = self.entities()
        metrics = self.s.metrics
        for n, m in metrics.items():
            if m.attribute is not None:
                self.ds.require(
                    self.s.entity,
                    [m.attribute],
                    msg("scheme {id} (metric {metric})", id=self.rs.id, metric=n),
                )
        # only the key and the declared attributes: entity columns never clash with plan columns
        attrs = {
            col_metric(n): ent[m.attribute] for n, m in metrics.items() if m.attribute is not None
        }
        t = ent.select(entity_id=ent[self.key].cast("string"), **attrs)
        # aggregations: one grouped pass per fact table
        by_table: dict[str, list[str]] = {}
        for n, m in metrics.items():
            if m.aggregation:
                by_table.setdefault(getattr(m, m.aggregation).partition(".")[0], []).append(n)
        for table, names in by_table.items():
            agg = self._aggregate(table, names, period)
            # the warning about unknown keys reads the evaluated period's aggregate again
            # (earlier periods, read by score_at & co., are not counted: no cache for them)
            if self.steps is not None and table not in self.orphans and not self.entity_filter:
                agg = self.steps(agg)
            self.orphans.setdefault(table, agg)  # the evaluated period's aggregate comes first
            t = self._join(t, _without(agg, "__rows", IN_PERIOD))
        # latest rows as of the period end
        latest: dict[str, list[str]] = {}
        for n, m in metrics.items():
            if m.latest:
                latest.setdefault(m.latest.partition(".")[0], []).append(n)
        for table, names in latest.items():
            t = self._join(t, self._latest(table, names, period))
        # manual ratings
        rated = [n for n, m in metrics.items() if m.rating is not None]
        if rated:
            agg = self._ratings(rated, [period])
            # computed once: the result and the count of rows for unknown entities read it
            if self.steps is not None and "ratings" not in self.orphans and not self.entity_filter:
                agg = self.steps(agg)
            self.orphans.setdefault("ratings", agg)  # rows for unknown entities: a warning
            t = self._join(t, agg.drop("__rows"))
        # aggregations that found no rows take their default before anything derives from them
        t = self.defaults(t)
        # derived metrics, one projection per layer of the dependency order (fewer nested
        # selects keep Ibis' compile time down on schemes with many metrics)
        for layer in self._derived_layers():
            t = self._lift(t, [("metrics", n, "expr") for n in layer], period)
            t, workdays = self.calendar.add(
                t,
                [self.rs.exprs[("metrics", n, "expr")] for n in layer],
                lambda x: self._base_resolver(x, period),
                period,
            )
            t = t.mutate(
                **{
                    col_metric(n): self.compile(
                        ("metrics", n, "expr"), t, period, workdays=workdays
                    )
                    for n in layer
                }
            )
        return self._stage(t)

    def _derived_layers(self) -> list[list[str]]:
        """Group derived metrics so that each depends only on metrics of earlier layers."""
        depth: dict[str, int] = {}
        layers: dict[int, list[str]] = {}
        for n in self.rs.metric_order:
            m = self.s.metrics[n]
            if m.expr is None:
                depth[n] = -1
                continue
            deps = expr.names(self.rs.exprs[("metrics", n, "expr")]) & set(self.s.metrics)
            depth[n] = 1 + max((depth[d] for d in deps), default=-1)
            layers.setdefault(depth[n], []).append(n)
        return [layers[k] for k in sorted(layers)]

    def _join(self, t: ir.Table, agg: ir.Table) -> ir.Table:
        joined = t.left_join(agg, t.entity_id == agg["__k"])
        return joined.drop("__k")

    def _fact(self, table: str, columns: list[str], who: str) -> ir.Table:
        spec = self.rs.tables[table]
        self.ds.require(table, columns, who)
        f = self.ds.table(table)
        if self.entity_filter is not None:
            f = f.filter(f[spec.key] == self.entity_filter)
        return f

    def _aggregate(self, table: str, names: list[str], period: Period) -> ir.Table:
        spec = self.rs.tables[table]
        metrics = self.s.metrics
        needed = {spec.key}
        for n in names:
            m = metrics[n]
            col = getattr(m, m.aggregation).partition(".")[2]
            if col:
                needed.add(col)
            if m.where:
                needed |= (
                    expr.names(self.rs.exprs[("metrics", n, "where")])
                    - set(self.s.params)
                    - {
                        "period_start",
                        "period_end",
                    }
                )
        if spec.date:
            needed.add(spec.date)
        f = self._fact(table, sorted(needed), msg("scheme {id}", id=self.rs.id))
        windows = {n: window_bounds(metrics[n].window, period) for n in names}
        # prefilter on the union of the windows so the scan reads only what any metric needs
        if spec.date and all(w != (None, None) for w in windows.values()):
            starts = [w[0] for w in windows.values()]
            end = max(w[1] for w in windows.values())
            cond = f[spec.date] <= end
            if all(s is not None for s in starts):
                cond = cond & (f[spec.date] >= min(starts))
            f = f.filter(cond)
        # workdays_between() in a `where`: its counts joined onto the rows first
        f, workdays = self.calendar.add(
            f,
            [self.rs.exprs[("metrics", n, "where")] for n in names if metrics[n].where],
            lambda x: self.fact_resolver(x, period),
            period,
        )
        aggs: dict[str, ir.Value] = {
            col_metric(n): aggregated(
                metrics[n], f, self.selects(f, n, period, windows[n], workdays)
            )
            for n in names
        }
        aggs["__rows"] = f.count()  # rows read per key, for the warning about unknown keys
        if spec.date:  # rows of the period itself: then it has data, with no scan of its own
            aggs[IN_PERIOD] = f.count(
                where=(f[spec.date] >= period.start) & (f[spec.date] <= period.end)
            )
        return f.group_by(__k=f[spec.key].cast("string")).aggregate(**aggs)

    def selects(
        self,
        f: ir.Table,
        name: str,
        period: Period,
        bounds: tuple[date | None, date | None],
        workdays=None,
    ) -> ir.Value:
        """Return the condition choosing the rows of fact table `f` that aggregation metric
        `name` reads: its window `bounds` on the table's date, and its `where` (`workdays`:
        the hook calendar.add returned for `f`). Public: engine/behind.py lists those rows."""
        m = self.s.metrics[name]
        spec = self.rs.tables[getattr(m, m.aggregation).partition(".")[0]]
        start, end = bounds
        # a column condition (never a bare literal): `ifelse(True, 1, 0).sum()` would be
        # a scalar, not an aggregate over the rows (count over `window: all`)
        cond = f[spec.key].notnull()
        if spec.date and end is not None:
            cond = f[spec.date] <= end
            if start is not None:
                cond = cond & (f[spec.date] >= start)
        if m.where:
            cond = cond & expr.compile_expr(
                self.rs.exprs[("metrics", name, "where")],
                self.fact_resolver(f, period),
                workdays=workdays,
            )
        return cond

    def _stage(self, t: ir.Table) -> ir.Table:
        """Materialise a step on the backend when running (not when explaining).

        Databases that flatten nested subqueries (PostgreSQL) substitute each column's
        expression wherever it is used; over metrics → tree → grade → consequences that
        multiplies the work per row. A temporary table between the steps keeps each step flat.
        DuckDB keeps nested projections as they are and needs no such step.
        """
        if self.steps is not None and self.ds.backend in FLATTENING_BACKENDS:
            return self.steps(t)
        return t

    def defaults(self, t: ir.Table) -> ir.Table:
        """Fill aggregation metrics that found no rows with their default (sum/count: 0)."""
        fills = {
            col_metric(n): defaulted(m, t[col_metric(n)])
            for n, m in self.s.metrics.items()
            if m.aggregation and default_of(m) is not None
        }
        return t.mutate(**fills) if fills else t

    def fact_resolver(self, f: ir.Table, period: Period):
        """Return the name resolver for a metric's `where` over fact table `f` (columns,
        parameters, period_start/period_end). Public: engine/behind.py compiles with it."""

        def resolve(name: str) -> ir.Value:
            value = self._common_name(name, period)
            return f[name] if value is None else value

        return resolve

    def _common_name(self, name: str, period: Period) -> ir.Value | None:
        """Resolve the names every expression may use: parameters, period_start/period_end."""
        if name in self.s.params:
            return self._param(name)
        if name == "period_start":
            return ibis.literal(period.start)
        if name == "period_end":
            return ibis.literal(period.end)
        return None

    def _latest(self, table: str, names: list[str], period: Period) -> ir.Table:
        spec = self.rs.tables[table]
        cols = [self.s.metrics[n].latest.partition(".")[2] for n in names]
        f = self._fact(table, [spec.key, spec.date, *cols], msg("scheme {id}", id=self.rs.id))
        f = f.filter(as_of(f, spec.date, period))
        # Rows sharing the latest date: the one with the largest values of the columns read,
        # in the scheme's order (null smallest), so that the result never depends on the
        # order rows are read in (docs/scheme-language.md §4.4).
        ties = [c for c in dict.fromkeys(cols) if c != spec.date]
        order = [ibis.desc(f[c], nulls_first=False) for c in [spec.date, *ties]]
        ranked = f.mutate(__rn=ibis.row_number().over(group_by=f[spec.key], order_by=order))
        ranked = ranked.filter(ranked["__rn"] == 0)
        return ranked.select(
            __k=ranked[spec.key].cast("string"),
            **{col_metric(n): ranked[c] for n, c in zip(names, cols, strict=True)},
        )

    def _ratings(self, names: list[str], periods: list[Period]) -> ir.Table:
        metrics = self.s.metrics
        self.ds.require(
            "ratings",
            ["entity_id", "period", "indicator", "score"],
            msg("scheme {id}", id=self.rs.id),
        )
        r = self.ds.table("ratings")
        if self.entity_filter is not None:
            r = r.filter(r.entity_id == self.entity_filter)
        labels = [str(p) for p in periods]
        indicators = sorted({metrics[n].rating for n in names})
        if "ratings" not in self.orphans and self.entity_filter is None:
            self.notices += guards.rating_notices(r, indicators, periods[0])
        r = r.filter(r.period.isin(labels) & r.indicator.isin(indicators))
        self._check_scales(r, names)
        if "ratings" not in self.orphans and self.entity_filter is None and "rater" in r.columns:
            self.notices += guards.rater_notices(r)
        v = rater_votes(r)  # the mean over raters: each rater's rows averaged first
        aggs = {col_metric(n): v.score.mean(where=rated(v, metrics[n], periods[0])) for n in names}
        return v.group_by(__k=v.entity_id.cast("string")).aggregate(**aggs, __rows=v.n.sum())

    def _check_scales(self, r: ir.Table, names: list[str]) -> None:
        """A rating outside its declared scale is an error, never silently clamped."""
        new = [
            i
            for i in dict.fromkeys(self.s.metrics[n].rating for n in names)
            if i not in self._checked_ratings
        ]
        self._checked_ratings.update(new)
        self.guards += guards.scale_guards(self.rs, r, new)

    # ------------------------------------------------------------------ tree
    def score_tree(self, t: ir.Table, period: Period) -> ir.Table:
        """Add value/points/missing/score/passed columns for every node, leaves first.

        Each level is one projection over the previous one and refers to the columns below
        it by name, so no sub-expression is repeated however deep the tree is.
        """
        if not self.rs.nodes:
            return t
        t = self._weight_columns(t)
        by_depth: dict[int, list[ResolvedNode]] = {}
        for n in self.rs.nodes.values():
            by_depth.setdefault(n.depth, []).append(n)
        for depth in sorted(by_depth, reverse=True):
            t = self._lift_leaves(t, [rn for rn in by_depth[depth] if not rn.node.is_group], period)
            cols: dict[str, ir.Value] = {}
            for rn in by_depth[depth]:
                if rn.node.is_group:
                    cols.update(self._group(rn, t))
                else:
                    cols.update(self._leaf(rn, t, period))
            t = t.mutate(**cols)
            # maxima are constants of the scheme and stay out of the plan's columns
            # (a bare literal column comes back from PostgreSQL as numeric)
            more = {}
            for rn in by_depth[depth]:
                p = t[col_node(rn.id, "points")]
                more[col_node(rn.id, "score")] = (p * (100 / rn.max)).round(ROUND)
                if rn.pass_points is not None:
                    more[col_node(rn.id, "passed")] = ibis.coalesce(
                        p.round(ROUND) >= round(rn.pass_points, ROUND), False
                    )
            t = t.mutate(**more)
        root = next(iter(self.rs.nodes.values()))
        t = t.mutate(points=t[col_node(root.id, "points")], score=t[col_node(root.id, "score")])
        return self._stage(self._lost(t))

    def _lift_leaves(self, t: ir.Table, leaves: list[ResolvedNode], period: Period) -> ir.Table:
        """Compute the population calls of indicators: their values first, then their rules."""
        t = self._lift(t, [(*rn.path, "$value") for rn in leaves], period)
        rules: dict[tuple, tuple | None] = {}
        for rn in leaves:
            size = len(rn.path)
            vpath = (*rn.path, "$value")
            for p in self.rs.exprs:
                if p[:size] == rn.path and p[size] not in ("$value", "value", "id"):
                    rules[p] = vpath if self.rs.exprs.get(vpath) is not None else None
        values = {p: v for p, v in rules.items() if v is not None}
        return self._lift(t, list(rules), period, values=values)

    def _leaf(self, rn: ResolvedNode, t: ir.Table, period: Period) -> dict[str, ir.Value]:
        vpath = (*rn.path, "$value")
        value = self.compile(vpath, t, period) if self.rs.exprs.get(vpath) is not None else None
        extra = {"value": value} if value is not None else {}
        points = rules.points(self, rn, t, period, value, extra)
        # + 0.0 turns an IEEE negative zero (from clamping) into 0.0
        points = points.cast("float64").round(ROUND) + 0.0
        # a rule that yields NULL (its value, a bound, a parameter or another metric is NULL)
        # is missing: the node's `missing` policy decides, never the rule's arithmetic
        missing = points.isnull()
        if value is not None:
            missing = value.isnull() | missing
            points = ibis.ifelse(value.isnull(), ibis.null("float64"), points)
        points = self._apply_missing(rn, points, missing)
        cols = {
            col_node(rn.id, "points"): points,
            col_node(rn.id, "missing"): missing,
        }
        if value is not None:
            cols[col_node(rn.id, "value")] = value
        return cols

    def _apply_missing(self, rn: ResolvedNode, points: ir.Value, missing: ir.Value) -> ir.Value:
        if rn.missing == "zero":
            return ibis.ifelse(missing, 0.0, ibis.coalesce(points, 0.0))
        return ibis.ifelse(missing, ibis.null("float64"), points)

    def _weight(self, t: ir.Table, group: ResolvedNode, child_id: str) -> ir.Value:
        """Return a child's weight in its group: a constant, or a column chosen per entity."""
        if group.node.weights_by is None:
            return ibis.literal(float(self.rs.nodes[child_id].weight or 0))
        return t[f"w__{group.id}__{child_id}"]

    def _weight_columns(self, t: ir.Table) -> ir.Table:
        """Add per-entity weight columns for groups whose weights come from a profile."""
        cols: dict[str, ir.Value] = {}
        for rn in self.rs.nodes.values():
            wb = rn.node.weights_by
            if wb is None:
                continue
            # a profile matches its value whatever the case (`IC` in the data, `ic:` in YAML)
            key = t[col_metric(wb.by)].cast("string").lower()
            for ch in rn.node.children:
                cases = [(key == prof.lower(), float(w[ch.id])) for prof, w in wb.profiles.items()]
                default = wb.profiles[wb.default][ch.id] if wb.default else None
                cols[f"w__{rn.id}__{ch.id}"] = ibis.cases(
                    *cases, else_=ibis.literal(default, type="float64")
                )
            if wb.default is None:
                # a value with no profile must not silently weigh nothing
                known = list(wb.profiles)
                cols[f"wb__{rn.id}__unmatched"] = ~ibis.coalesce(
                    key.isin([k.lower() for k in known]), False
                )
                self.failures.append(
                    (
                        f"wb__{rn.id}__unmatched",
                        msg(
                            "group '{id}' chooses its weights by {by}, but these entities have "
                            "a value with no profile ({profiles}; or give `default`)",
                            id=rn.id,
                            by=wb.by,
                            profiles=", ".join(known),
                        ),
                    )
                )
        return t.mutate(**cols) if cols else t

    def _group(self, rn: ResolvedNode, t: ir.Table) -> dict[str, ir.Value]:
        """Combine children: points = max · Σ wᵢ·pᵢ/maxᵢ / Σ wᵢ over the children present."""
        num = ibis.literal(0.0)
        den = ibis.literal(0.0)
        for ch in rn.node.children:
            p = t[col_node(ch.id, "points")]
            w = self._weight(t, rn, ch.id)
            num = num + ibis.coalesce(w * p / self.rs.nodes[ch.id].max, 0.0)
            den = den + ibis.ifelse(p.isnull(), 0.0, w)
        points = (num / den.nullif(0.0) * rn.max).round(ROUND)
        missing = ibis.and_(*[t[col_node(ch.id, "missing")] for ch in rn.node.children])
        return {
            col_node(rn.id, "points"): self._apply_missing(rn, points, missing),
            col_node(rn.id, "missing"): missing,
        }

    def _lost(self, t: ir.Table) -> ir.Table:
        """Add each indicator's points lost, weighted to the root (for the reasons)."""
        shares: dict[str, ir.Value] = {}
        root = next(iter(self.rs.nodes.values()))
        shares[root.id] = ibis.literal(root.max, type="float64")
        for rn in self.rs.nodes.values():  # parents come before their children
            if not rn.node.is_group:
                continue
            weights = {ch.id: self._weight(t, rn, ch.id) for ch in rn.node.children}
            total = sum(list(weights.values())[1:], next(iter(weights.values())))
            for ch_id, w in weights.items():
                shares[ch_id] = shares[rn.id] * w / total.nullif(0.0)
        lost = {}
        for rn in self.rs.leaves():
            p = t[col_node(rn.id, "points")]
            lost[col_node(rn.id, "lost")] = ibis.coalesce(
                (shares[rn.id] * (1 - p / rn.max)).round(ROUND), 0.0
            )
        return t.mutate(**lost)

    # ---------------------------------------------------------------- grades
    def grade(self, t: ir.Table, period: Period) -> ir.Table:
        """Add `grade` (code) and `grade_rank` (0 = best); caps, demotions and overrides applied."""
        t = self._evidence(t, period)
        g = self.s.grades
        if g is None:
            return t
        funcs = self._functions(t)
        t = self._lift(t, self._paths("grades"), period, functions=funcs)
        n = len(g.levels)
        rank_of = {lv.grade: i for i, lv in enumerate(g.levels)}
        null_rank = ibis.null("int64")
        basis: dict[str, ir.Value] = {}  # what the bands applied to (ResolvedScheme.grade_basis)
        if g.rules is not None:
            cases = []
            for i, rule in enumerate(g.rules):
                cond = self.compile(("grades", "rules", i, "when"), t, period, functions=funcs)
                target = (
                    ibis.literal(rank_of[rule.grade], type="int64") if rule.grade else null_rank
                )
                cases.append((cond, target))
            default = ibis.literal(rank_of[g.else_], type="int64") if g.else_ else null_rank
            rank = ibis.cases(*cases, else_=default) if cases else default
        else:
            on = _rounded(self.compile(("grades", "on"), t, period, functions=funcs))
            cases = []
            for i, lv in enumerate(g.levels):
                if lv.min is not None:
                    reached = on >= round(float(lv.min), ROUND)
                elif lv.above is not None:  # an open edge: Altman's "Z > 2.99"
                    reached = on > round(float(lv.above), ROUND)
                else:
                    reached = on.notnull()
                cases.append((reached, ibis.literal(i, type="int64")))
            default = ibis.literal(rank_of[g.else_], type="int64") if g.else_ else null_rank
            # without a score there is no grade, whatever `else` says
            rank = ibis.ifelse(on.isnull(), null_rank, ibis.cases(*cases, else_=default))
            if self.rs.grade_basis:
                basis["grade_basis"] = on
        if self.s.evidence is not None:  # not rated: no grade, whatever the bands or rules say
            rank = ibis.ifelse(t.rated, rank, null_rank)
        t = t.mutate(grade_rank=rank, **basis)
        cap_cols = {}
        for i in range(len(g.caps)):
            cond = self.compile(("grades", "caps", i, "when"), t, period, functions=funcs)
            cap_cols[f"g__cap{i}"] = cond
        for i in range(len(g.demotions)):
            cap_cols[f"g__dem{i}"] = self.compile(
                ("grades", "demotions", i, "when"), t, period, functions=funcs
            )
        if cap_cols:
            t = t.mutate(**cap_cols)
            rank = t.grade_rank
            # caps and demotions never give a grade to an entity that has none
            for i, cap in enumerate(g.caps):
                capped = ibis.greatest(rank, rank_of[cap.at_most])
                rank = ibis.ifelse(t[f"g__cap{i}"] & rank.notnull(), capped, rank)
            for i, dem in enumerate(g.demotions):
                demoted = ibis.least(rank + dem.steps, n - 1)
                rank = ibis.ifelse(t[f"g__dem{i}"] & rank.notnull(), demoted, rank)
            t = t.mutate(grade_rank=rank)
        codes = ibis.cases(
            *[(t.grade_rank == i, ibis.literal(lv.grade)) for i, lv in enumerate(g.levels)],
            else_=ibis.null("string"),
        )
        t = t.mutate(grade_computed=codes)
        if g.overrides and self.ds.has("overrides"):
            t = self._overrides(t, period)
        else:
            t = t.mutate(grade=t.grade_computed, override_reason=ibis.null("string"))
        return t

    def _overrides(self, t: ir.Table, period: Period) -> ir.Table:
        o = self.ds.table("overrides")
        first = "overrides" not in self.orphans  # the evaluated period's comes first
        if first and self.entity_filter is None:
            self.notices += guards.period_notices("overrides", o, period)
        o = o.filter(o.period == str(period))
        if self.entity_filter is not None:
            o = o.filter(o.entity_id == self.entity_filter)
        self.guards += guards.override_guards(self.rs, o)
        reason = o.reason.cast("string") if "reason" in o.columns else ibis.literal("")
        o = o.select(
            __k=o.entity_id.cast("string"),
            __g=o.grade,
            __r=ibis.coalesce(reason, ""),
            __rows=ibis.literal(1, type="int64"),  # one per entity (a guard): rows for
        )  # unknown entities are the rows of the period minus those joined
        if first:
            self.orphans["overrides"] = o
        o = o.drop("__rows")
        t = t.left_join(o, t.entity_id == o["__k"]).drop("__k")
        rank_of = ibis.cases(
            *[
                (t["__g"] == lv.grade, ibis.literal(i, type="int64"))
                for i, lv in enumerate(self.s.grades.levels)
            ],
            else_=ibis.null("int64"),
        )
        # a grade set by hand rates an entity that had too little evidence to be rated
        rated = {"rated": t.rated | t["__g"].notnull()} if self.s.evidence is not None else {}
        return t.mutate(
            grade=ibis.coalesce(t["__g"], t.grade_computed),
            grade_rank=ibis.ifelse(t["__g"].notnull(), rank_of, t.grade_rank),
            override_reason=ibis.ifelse(t["__g"].notnull(), t["__r"], ibis.null("string")),
            **rated,
        ).drop("__g", "__r")

    # ------------------------------------------------------ classes and after
    def classify(self, t: ir.Table, period: Period) -> ir.Table:
        """Add one boolean column per class rule and `class` (by precedence, else fallback)."""
        cl = self.s.classes
        if cl is None:
            return t
        funcs = self._functions(t)
        t = self._lift(t, self._paths("classes"), period, functions=funcs)
        flags = {
            f"c__{r.id}": ibis.coalesce(
                self.compile(("classes", "rules", i, "when"), t, period, functions=funcs), False
            )
            for i, r in enumerate(cl.rules)
        }
        t = t.mutate(**flags)
        order = cl.precedence or [r.id for r in cl.rules]
        rest = [r.id for r in cl.rules if r.id not in order]
        fallback = ibis.literal(cl.fallback.id) if cl.fallback else ibis.null("string")
        return t.mutate(
            **{
                "class": ibis.cases(
                    *[(t[f"c__{cid}"], ibis.literal(cid)) for cid in [*order, *rest]],
                    else_=fallback,
                )
            }
        )

    def consequences(self, t: ir.Table, period: Period, streaks) -> ir.Table:
        """Add `status` (first rule that holds) and one boolean column per action rule."""
        cq = self.s.consequences
        if cq is None:
            return self._not_rated_status(t)
        funcs = self._functions(t, streaks)
        t = self._lift(t, self._paths("consequences"), period, functions=funcs)
        cols = {}
        for i, _ in enumerate(cq.statuses):
            cols[f"s__{i}"] = ibis.coalesce(
                self.compile(("consequences", "statuses", i, "when"), t, period, functions=funcs),
                False,
            )
        for i, a in enumerate(cq.actions):
            cols[f"a__{a.action}"] = ibis.coalesce(
                self.compile(("consequences", "actions", i, "when"), t, period, functions=funcs),
                False,
            )
        t = t.mutate(**cols)
        default = ibis.literal(cq.default_status) if cq.default_status else ibis.null("string")
        status = (
            ibis.cases(
                *[(t[f"s__{i}"], ibis.literal(r.status)) for i, r in enumerate(cq.statuses)],
                else_=default,
            )
            if cq.statuses
            else default
        )
        t = t.mutate(status=status).drop(*[f"s__{i}" for i in range(len(cq.statuses))])
        return self._not_rated_status(t)

    def _evidence(self, t: ir.Table, period: Period) -> ir.Table:
        """Add `rated` (the scheme's `evidence` holds; null counts as false); an entity that is
        not rated has no score and no points (its nodes stay, to show what data there was)."""
        if self.s.evidence is None:
            return t
        when = self.compile(("evidence", "when"), t, period, functions=self._functions(t))
        t = t.mutate(rated=ibis.coalesce(when, False))
        masked = {
            name: ibis.ifelse(t.rated, t[name], ibis.null("float64"))
            for name in ("score", "points")
            if name in t.columns
        }
        return t.mutate(**masked) if masked else t

    def _not_rated_status(self, t: ir.Table) -> ir.Table:
        """Give the entities that are not rated the status `not_rated` (over any rule's)."""
        if self.s.evidence is None:
            return t
        status = t.status if "status" in t.columns else ibis.null("string")
        return t.mutate(status=ibis.ifelse(t.rated, status, ibis.literal(NOT_RATED)))

    def outputs(self, t: ir.Table, period: Period) -> ir.Table:
        """Add the scheme's extra outputs and the check flags."""
        funcs = self._functions(t)
        t = self._lift(t, self._paths("outputs", "checks"), period, functions=funcs)
        cols = {}
        for i, out in enumerate(self.s.outputs):
            v = self.compile(("outputs", i, "expr"), t, period, functions=funcs)
            if out.type == "money":
                v = v.cast("decimal(38, 4)")
            elif out.type == "integer":
                v = v.cast("float64").round(0).cast("int64")
            elif out.type == "number":
                v = v.cast("float64").round(out.round if out.round is not None else ROUND)
            else:
                v = v.cast("string")
            if out.round is not None and out.type == "money":
                v = v.round(out.round)
            cols[f"o__{out.id}"] = v
        for i, chk in enumerate(self.s.checks):
            cols[f"k__{chk.id}__num"] = ibis.coalesce(
                self.compile(("checks", i, "share_of"), t, period, functions=funcs), False
            )
            cols[f"k__{chk.id}__den"] = ibis.coalesce(
                self.compile(("checks", i, "among"), t, period, functions=funcs), False
            )
        return t.mutate(**cols) if cols else t


def aggregated(m, f: ir.Table, cond: ir.Value) -> ir.Scalar:
    """Return aggregation metric `m` computed over the rows of `f` where `cond` holds, its
    default not yet applied (`defaulted` does: no row chosen gives NULL here)."""
    kind = m.aggregation
    col = getattr(m, kind).partition(".")[2]
    if kind == "count":
        return ibis.ifelse(cond, 1, 0).sum()
    if kind == "count_distinct":
        # a row without a value counts as its own (batches = rows when batch_id is absent)
        return f[col].nunique(where=cond) + ibis.ifelse(cond & f[col].isnull(), 1, 0).sum()
    if kind == "sum":
        return f[col].sum(where=cond)
    if kind == "mean":
        return f[col].mean(where=cond)
    if kind in ("min", "first"):
        return f[col].min(where=cond)
    if kind in ("max", "last"):
        return f[col].max(where=cond)
    raise ValueError(f"no rule for aggregation {kind!r}")  # the scheme model allows no other


def default_of(m) -> Any:
    """Return an aggregation metric's value when it finds no rows (sum and counts: 0)."""
    if m.default is None and m.aggregation in ("sum", "count", "count_distinct"):
        return 0
    return m.default


def defaulted(m, value: ir.Value) -> ir.Value:
    """Return an aggregation metric's `value` with its default where it is NULL."""
    default = default_of(m)
    if default is None:
        return value
    return ibis.coalesce(value, ibis.literal(default).cast(value.type()))


def as_of(f: ir.Table, date_column: str, period: Period) -> ir.Value:
    """Return the condition choosing the rows of `f` a `latest` metric reads in `period`
    (up to its end; the latest of them gives the value)."""
    return f[date_column] <= period.end


def rater_votes(r: ir.Table) -> ir.Table:
    """Return one row per rater of an entity, period and indicator in the ratings `r`: the
    mean of that rater's rows (`score`) and how many there were (`n`). A row without a rater
    is a rater of its own. A rating metric is the mean of these (the mean over raters)."""
    keys = ["entity_id", "period", "indicator"]
    if "rater" not in r.columns:
        return r.select(*keys, score=r.score.cast("float64"), n=ibis.literal(1, type="int64"))
    named = r.filter(r.rater.notnull())
    per_rater = (
        named.group_by([*keys, "rater"])
        .aggregate(score=named.score.cast("float64").mean(), n=named.count())
        .select(*keys, "score", "n")
    )
    anonymous = r.filter(r.rater.isnull())
    anonymous = anonymous.select(
        *keys, score=anonymous.score.cast("float64"), n=ibis.literal(1, type="int64")
    )
    return per_rater.union(anonymous)


def rated(r: ir.Table, m, period: Period) -> ir.Value:
    """Return the condition choosing the manual ratings `r` that rating metric `m` averages
    in `period`."""
    return (r.indicator == m.rating) & (r.period == str(period))


def history_source(fn: str, name: str) -> str:
    """Return the column of a period's own table that score_at, grade_at, points_at or
    value_at reads (of the node or metric `name`)."""
    if fn == "points_at":
        return col_node(name, "points")
    if fn == "value_at":
        return col_metric(name)
    return "score" if fn == "score_at" else "grade"


def scored(c: Compiler, period: Period, graded: bool = True) -> ir.Table:
    """Return metrics and node columns for one period, and its grade unless `graded` is false.

    Each is built once per compiler: score_at, grade_at and grade_streak evaluate earlier
    periods through here, and the periods they share are evaluated once. Grades may read
    earlier scores, points and values (never grades), which are joined before grading.
    """
    key = (str(period), graded)
    if key not in c.evaluated:
        if not graded:
            c.evaluated[key] = c.score_tree(c.base(period), period)
        else:
            t = scored(c, period, graded=False)
            reads = [(fn, name, k) for phase, fn, name, k in c.rs.history if phase == "grades"]
            t = history.join(
                t, period, reads, lambda p, _: scored(c, p, graded=False), history_source
            )
            c.evaluated[key] = c._stage(c.grade(t, period))
    return c.evaluated[key]


def build_plan(
    rs: ResolvedScheme,
    dataset,
    period: Period,
    params: dict[str, str] | None = None,
    entity: str | None = None,
    steps: Callable[[ir.Table], ir.Table] | None = None,
) -> Plan:
    """Build the whole evaluation of one period as Ibis expressions (a Plan).

    `dataset` is what the expressions read: a data set, or (compile.py) a view of one whose
    tables are unbound Ibis tables named after their relations. `steps` turns a step into a
    table of its own (see Compiler); without, the plan is one query. Nothing runs here but
    the loading and checking of the tables the scheme reads."""
    values = resolve_params(rs, params)
    # the data set checks and types only what the scheme reads (and knows its own tables)
    dataset.use(rs.reads())
    # Population functions (rank() …) compare an entity with all the others: for one entity,
    # evaluate them all and keep its row at the end, so its values are those of the full run.
    whole = entity is not None and population.uses_population(rs.exprs.values())
    c = Compiler(rs, dataset, values, entity_filter=None if whole else entity, steps=steps)
    t = scored(c, period)
    # earlier periods' results that classes, consequences, outputs and checks read (§17)
    reads = [(fn, name, k) for phase, fn, name, k in rs.history if phase == "results"]
    t = history.join(t, period, reads, lambda p, graded: scored(c, p, graded), history_source)
    streaks: dict = {}
    joined = _streaks(c, t, period)
    if joined is not None:
        t, streak_cols = joined
        streaks = {k: t[v] for k, v in streak_cols.items()}
    t = c.classify(t, period)
    t = c.consequences(t, period, streaks)
    t = c.outputs(t, period)
    lifted = [col for col in t.columns if col.startswith(population.COLUMN_PREFIX)]
    if lifted:
        t = t.drop(*lifted)
    if whole:
        t = t.filter(t.entity_id == entity)
    # not ordered: the output shapes sort their (fewer) columns by entity id
    t = t.mutate(period=ibis.literal(str(period)))
    plan = Plan(rs, period, values, t, guards=c.guards, notices=c.notices)
    if entity is None:
        # rows read per fact table, and of those the rows whose key is an entity: both from
        # the (small, computed once) aggregate, not from the result (a left join to the
        # entities' keys, unique by contract: Spark takes no subquery inside an aggregate)
        ent = c.entities()
        ids = ent.select(__e=ent[c.key].cast("string"))
        plan.row_counts = [
            (table, _row_counts(agg, ids)) for table, agg in sorted(c.orphans.items())
        ]
    failing = [
        (
            col_node(n.id, "missing"),
            msg("indicator '{id}' has no input and its missing policy is `fail`", id=n.id),
        )
        for n in rs.nodes.values()
        if n.missing == "fail"
    ]
    # earlier periods (score_at …) add the same ones again: one per column; the messages
    # are stored as i18n.to_json does (worded when the check fails, in the reader's language)
    failing += {col: message for col, message in c.failures}.items()
    plan.checks = [(col, to_json(message)) for col, message in failing]
    return plan


def _row_counts(agg: ir.Table, ids: ir.Table) -> ir.Table:
    """Return one row: the rows an aggregate read (`n`), those whose key is an entity
    (`matched`), and those dated inside the evaluated period (`in_period`, NULL: no date)."""
    j = agg.left_join(ids, agg["__k"] == ids["__e"])
    return j.aggregate(
        n=j["__rows"].sum(),
        matched=j["__rows"].sum(where=j["__e"].notnull()),
        in_period=j[IN_PERIOD].sum() if IN_PERIOD in agg.columns else ibis.literal(None, "int64"),
    )


def _streaks(c: Compiler, t: ir.Table, period: Period):
    """Join the grades of earlier periods when a consequence asks for a streak of grades."""
    wanted = c.rs.streaks
    if not wanted:
        return None
    depth = max(n for _, n in wanted) - 1
    for k in range(1, depth + 1):
        earlier = scored(c, period.shift(-k))
        earlier = earlier.select(__k=earlier.entity_id, **{f"g__prev{k}": earlier.grade})
        t = t.left_join(earlier, t.entity_id == earlier["__k"]).drop("__k")
    cols = {}
    for grade, n in wanted:
        cond = t.grade == grade
        for k in range(1, n):
            cond = cond & (t[f"g__prev{k}"] == grade)
        cols[f"g__streak_{grade}_{n}"] = ibis.coalesce(cond, False)
    t = t.mutate(**cols)
    return t, {k: f"g__streak_{k[0]}_{k[1]}" for k in wanted}
