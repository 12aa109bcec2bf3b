"""Check a typed scheme for consistency and resolve it: names, expressions, weights, maxima."""

from __future__ import annotations

import difflib
import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingji import expr
from pingji.data.contract import ROW_COLUMN, TABLES, Column, TableSpec, as_read, with_declared
from pingji.errors import Problem, SchemeError
from pingji.i18n import Text, msg
from pingji.scheme.loader import Path_, Positions, parse_scheme_text, read_scheme_file
from pingji.scheme.models import Node, Scheme

PERIOD_NAMES = {"period_start": "date", "period_end": "date"}
RESULT_NAMES = {"score": "number", "points": "number", "max_points": "number"}
NODE_FUNCTIONS = {"points": (1, 1), "score": (1, 1), "passed": (1, 1), "missing": (1, 1)}
NOT_RATED = "not_rated"  # the status of an entity whose `evidence` does not hold
# earlier periods' results (§17): the number of periods back is a constant from 0 to HISTORY_MAX
HISTORY_FUNCTIONS = {
    "score_at": (1, 1),
    "grade_at": (1, 1),
    "points_at": (2, 2),
    "value_at": (2, 2),
}
HISTORY_MAX = 60
# grades may read earlier scores, points and values but not earlier grades (that would recurse)
GRADE_FUNCTIONS = {
    **NODE_FUNCTIONS,
    **{k: v for k, v in HISTORY_FUNCTIONS.items() if k != "grade_at"},
}
CLASS_FUNCTIONS = {**NODE_FUNCTIONS, **HISTORY_FUNCTIONS}
OUTPUT_FUNCTIONS = {**CLASS_FUNCTIONS, "has_class": (1, 1)}
CONSEQUENCE_FUNCTIONS = {**OUTPUT_FUNCTIONS, "grade_streak": (2, 2)}
WEIGHT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ResolvedNode:
    """A tree node with everything the engine needs worked out."""

    node: Node
    path: Path_
    max: float
    weight: float | None  # this node's static weight in its parent's combination
    parent: str | None
    depth: int
    missing: str  # zero | exclude | fail
    pass_points: float | None

    @property
    def id(self) -> str:
        """Return the node id."""
        return self.node.id


@dataclass(frozen=True)
class ResolvedScheme:
    """A scheme that passed every check, with parsed expressions and resolved tree."""

    scheme: Scheme
    file: str
    text: str
    positions: Positions
    exprs: dict[Path_, Any]  # parsed expression AST by field path
    metric_order: list[str]
    nodes: dict[str, ResolvedNode]  # depth first, root first
    streaks: frozenset[tuple[str, int]]  # (grade, periods) of every grade_streak() call
    grade_codes: list[str] = field(default_factory=list)
    # the data contract as this scheme sees it: the contract's tables and the scheme's own
    tables: dict[str, TableSpec] = field(default_factory=lambda: dict(TABLES))
    # the columns the scheme reads, per table (keys and window dates included)
    columns_read: dict[str, frozenset[str]] = field(default_factory=dict)
    # (phase, function, node or metric id or "", periods back ≥ 1) of every score_at, grade_at,
    # points_at and value_at call; phase "grades" is read before grading, "results" after
    history: frozenset[tuple[str, str, str, int]] = frozenset()

    @property
    def id(self) -> str:
        """Return the scheme id."""
        return self.scheme.id

    @property
    def grade_basis(self) -> bool:
        """Return whether grade bands apply to a value the output does not already show
        (anything but plain `score` or `points`): the output then carries it as grade_basis."""
        g = self.scheme.grades
        if g is None or g.rules is not None:
            return False
        on = self.exprs.get(("grades", "on"))
        return not (isinstance(on, expr.Name) and on.name in ("score", "points"))

    def leaves(self) -> list[ResolvedNode]:
        """Return the indicators (nodes without children)."""
        return [n for n in self.nodes.values() if not n.node.is_group]

    def reads(self) -> dict[str, TableSpec]:
        """Return each table the scheme reads, narrowed to the columns it reads (as_read)."""
        return {t: as_read(self.tables[t], cols) for t, cols in self.columns_read.items()}


class _Checker:
    """Collects problems while resolving one scheme."""

    def __init__(self, scheme: Scheme, file: str, text: str, pos: Positions) -> None:
        self.scheme, self.file, self.text, self.pos = scheme, file, text, pos
        self.problems: list[Problem] = []
        self.pass_ids: set[str] = set()
        self.exprs: dict[Path_, Any] = {}

    def problem(self, path: Path_, message: Text, key: bool = False) -> None:
        """Record a problem at a field path."""
        line, col = self.pos.of(path, key=key) or (None, None)
        self.problems.append(Problem(message, line, col, ".".join(map(str, path))))

    def problem_in(self, path: Path_, node: Any, message: Text) -> None:
        """Record a problem at a sub-expression (the column points at it inside the string)."""
        line, col = self.pos.expr_column(path, node.start) or (None, None)
        self.problems.append(Problem(message, line, col, ".".join(map(str, path))))

    def expression(
        self,
        path: Path_,
        text: str,
        known: dict[str, str],
        functions: dict[str, tuple[int, int | None]] | None = None,
    ) -> Any:
        """Parse and check one expression, recording a positioned problem on error."""
        try:
            tree = expr.parse(str(text))
            if self._refuse_history(path, tree, functions):
                return None
            expr.check(tree, known, functions)
        except expr.ExprError as err:
            line, col = self.pos.expr_column(path, err.offset) or (None, None)
            self.problems.append(
                Problem(
                    msg(
                        "in expression `{expression}`: {message}",
                        expression=" ".join(str(text).split()),
                        message=err.message,
                    ),
                    line,
                    col,
                    ".".join(map(str, path)),
                )
            )
            return None
        self.exprs[path] = tree
        return tree

    def _refuse_history(self, path: Path_, tree, functions) -> bool:
        """Record why an earlier-period function may not be used here; return whether one was."""
        refused = [
            n
            for n in expr.walk(tree)
            if isinstance(n, expr.Call)
            and n.name in HISTORY_FUNCTIONS
            and n.name not in (functions or {})
        ]
        for call in refused:
            if path[0] == "grades":
                why = (
                    f"{call.name}() may not be used in `grades`: a grade that depends on an "
                    "earlier grade would need that period's grade first, and so on back without "
                    "end (use score_at, points_at or value_at here; grade_at in classes, "
                    "consequences, outputs or checks)"
                )
            elif path[0] in ("metrics", "tree"):
                why = (
                    f"{call.name}() reads earlier periods' results, which metrics and the tree "
                    "may not use: an earlier period's values and points never depend on its own "
                    "history (use it in grades, classes, consequences, outputs or checks)"
                )
            else:
                why = (
                    f"{call.name}() reads earlier periods' results, which `{path[0]}` may not "
                    "use (use it in grades, classes, consequences, outputs or checks)"
                )
            self.problem_in(path, call, why)
        return bool(refused)

    def fail_if_any(self) -> None:
        """Raise a SchemeError with every problem found so far."""
        if self.problems:
            raise SchemeError(self.file, self.problems, self.text)


def _number_or_param(c: _Checker, path: Path_, value: Any, known: dict[str, str]) -> None:
    if isinstance(value, str):
        c.expression(path, value, known)


def resolve(scheme: Scheme, file: str, text: str, pos: Positions) -> ResolvedScheme:
    """Check names, expressions, weights and grades; return the resolved scheme or raise."""
    c = _Checker(scheme, file, text, pos)
    tables = _declared_tables(c, scheme)  # the contract as this scheme sees it
    entity = tables.get(scheme.entity)
    if entity is None or entity.kind != "entity":
        entities = [t for t, s in tables.items() if s.kind == "entity"]
        c.problem(
            ("entity",),
            msg(
                "'{entity}' is not an entity table{hint} (entity tables: {names}; declare your own under `tables`)",
                entity=scheme.entity,
                hint=_did_you_mean(scheme.entity, entities),
                names=", ".join(entities),
            ),
        )
        c.fail_if_any()

    # ---------------------------------------------------------- params, extra columns
    param_types = {name: (p.type or param_type(p.default)) for name, p in scheme.params.items()}
    for table in scheme.extra_columns:
        if table not in tables:
            c.problem(
                ("extra_columns", table), msg("unknown table '{table}'", table=table), key=True
            )
    base_names = {**param_types, **PERIOD_NAMES}
    clashes = set(scheme.params) & set(scheme.metrics)
    for name in sorted(clashes):
        c.problem(
            ("params", name), msg("'{name}' is both a parameter and a metric", name=name), key=True
        )

    # ---------------------------------------------------------------------- metrics
    metric_types: dict[str, str] = {}
    deps: dict[str, set[str]] = {}
    for name, m in scheme.metrics.items():
        path = ("metrics", name)
        if (
            name in PERIOD_NAMES
            or name in RESULT_NAMES
            or name in ("grade", "class", "status", "value")
        ):
            c.problem(
                path,
                msg("'{name}' is a reserved name; choose another metric name", name=name),
                key=True,
            )
        deps[name] = set()
        if m.aggregation:
            ref = getattr(m, m.aggregation)
            table, _, column = ref.partition(".")
            spec = tables.get(table)
            if spec is None or spec.kind != "fact":
                facts = [t for t, s in tables.items() if s.kind == "fact"]
                article = "an" if spec is not None and spec.kind == "entity" else "a"
                # "an entity table", "a fact table" or "an unknown table", each a message id
                what = msg(
                    f"{article} {spec.kind} table" if spec is not None else "an unknown table"
                )
                c.problem(
                    (*path, m.aggregation),
                    msg(
                        "'{table}' is {what}{hint}; `{aggregation}` reads a fact table: {names}",
                        table=table,
                        what=what,
                        hint=_did_you_mean(table, facts),
                        aggregation=m.aggregation,
                        names=", ".join(facts),
                    ),
                )
                metric_types[name] = "any"  # known, so expressions using it are not reported too
                continue
            if spec.entity not in (None, scheme.entity):
                c.problem(
                    (*path, m.aggregation),
                    msg(
                        "table '{table}' describes {entity}, but this scheme evaluates {entity2} (its tables: {tables_of})",
                        table=table,
                        entity=spec.entity,
                        entity2=scheme.entity,
                        tables_of=_tables_of(scheme.entity, tables),
                    ),
                )
            columns = {col.name: col for col in spec.columns}
            extras = set(scheme.extra_columns.get(table, []))
            if m.aggregation == "count" and column:
                c.problem((*path, "count"), msg("`count` counts rows: write the table name only"))
            elif m.aggregation != "count" and not column:
                c.problem(
                    (*path, m.aggregation),
                    msg(
                        "write `{aggregation}: {table}.<column>`",
                        aggregation=m.aggregation,
                        table=table,
                    ),
                )
            elif column and column not in columns and column not in extras:
                c.problem(
                    (*path, m.aggregation),
                    msg(
                        "table '{table}' has no column '{column}'{hint} (columns: {names}; declare others under extra_columns)",
                        table=table,
                        column=column,
                        hint=_did_you_mean(column, columns),
                        names=", ".join(columns),
                    ),
                )
            if spec.date is None and m.window != "all":
                c.problem(
                    (*path, "window"),
                    msg("table '{table}' has no date column: use `window: all`", table=table),
                )
            if m.where:
                where_known = {col: _col_type(columns.get(col)) for col in (*columns, *extras)}
                tree = c.expression((*path, "where"), m.where, {**where_known, **base_names})
                if tree is not None:
                    _refuse_population(c, (*path, "where"), tree)
            metric_types[name] = (
                "number" if m.aggregation in ("sum", "count", "count_distinct", "mean") else "any"
            )
            if m.aggregation in ("first", "last") and column:
                metric_types[name] = _col_type(columns.get(column))
                if column in columns and columns[column].type != "date":
                    c.problem(
                        (*path, m.aggregation),
                        msg(
                            "`{aggregation}` takes a date column (the earliest/latest date); '{column}' is {type}: use min or max",
                            aggregation=m.aggregation,
                            column=column,
                            type=columns[column].type,
                        ),
                    )
        elif m.attribute:
            col = entity.column(m.attribute)
            if col is None and m.attribute not in scheme.extra_columns.get(scheme.entity, []):
                names = [col.name for col in entity.columns]
                c.problem(
                    (*path, "attribute"),
                    msg(
                        "table '{entity}' has no column '{attribute}'{hint} (columns: {names}; declare others under extra_columns.{entity})",
                        entity=scheme.entity,
                        attribute=m.attribute,
                        hint=_did_you_mean(m.attribute, names),
                        names=", ".join(names),
                    ),
                )
            metric_types[name] = _col_type(col)
        elif m.latest:
            table, _, column = m.latest.partition(".")
            spec = tables.get(table)
            if spec is None or spec.date is None or spec.kind != "fact" or not column:
                dated = ", ".join(t for t, s in tables.items() if s.kind == "fact" and s.date)
                c.problem(
                    (*path, "latest"),
                    msg(
                        "write `latest: <table>.<column>` of a dated fact table ({dated})",
                        dated=dated,
                    ),
                )
            elif spec.column(column) is None and column not in scheme.extra_columns.get(table, []):
                c.problem(
                    (*path, "latest"),
                    msg(
                        "table '{table}' has no column '{column}'{hint} (columns: {names}; declare others under extra_columns)",
                        table=table,
                        column=column,
                        hint=_did_you_mean(column, [col.name for col in spec.columns]),
                        names=", ".join(col.name for col in spec.columns),
                    ),
                )
            elif spec.entity not in (None, scheme.entity):
                c.problem(
                    (*path, "latest"),
                    msg(
                        "table '{table}' describes {entity}, but this scheme evaluates {entity2}",
                        table=table,
                        entity=spec.entity,
                        entity2=scheme.entity,
                    ),
                )
            metric_types[name] = _col_type(spec.column(column) if spec else None)
        elif m.rating:
            lo, hi = m.scale or (0, 0)
            if not lo < hi:
                c.problem(
                    (*path, "scale"),
                    msg(
                        "a scale runs from a lower to a higher value (got {lo}…{hi})", lo=lo, hi=hi
                    ),
                )
            metric_types[name] = "number"
        else:
            metric_types[name] = "any"
    known_metrics = {**metric_types, **base_names}
    for name, m in scheme.metrics.items():
        if m.expr is not None:
            tree = c.expression(("metrics", name, "expr"), m.expr, known_metrics)
            if tree is not None:
                deps[name] = expr.names(tree) & set(scheme.metrics)
    try:
        order = list(graphlib.TopologicalSorter(deps).static_order())
    except graphlib.CycleError as err:
        cycle = err.args[1]
        c.problem(
            ("metrics", cycle[0]),
            "metrics depend on each other in a circle: "
            + " → ".join(cycle)
            + " (an `expr` metric may use only metrics that do not use it back)",
            key=True,
        )
        order = list(scheme.metrics)

    # ------------------------------------------------------------------------- tree
    nodes: dict[str, ResolvedNode] = {}
    if scheme.tree is not None:
        ids: dict[str, Path_] = {}
        for path, node in _walk_paths(scheme.tree, ("tree",)):
            if node.id in ids:
                first = pos.of((*ids[node.id], "id"))
                c.problem(
                    (*path, "id"),
                    msg(
                        "node id '{id}' is used twice (first at line {value}); every node needs its own id",
                        id=node.id,
                        value=first[0] if first else "?",
                    ),
                )
                continue
            ids[node.id] = path
        _resolve_tree(c, scheme, scheme.tree, ("tree",), None, None, None, 0, nodes, known_metrics)

    # ------------------------------------------------------------------------ grades
    node_ids = set(nodes)
    c.pass_ids = {k for k, n in nodes.items() if n.pass_points is not None}
    result_known = {**known_metrics, **(RESULT_NAMES if nodes else {})}
    # minimum evidence: judged on the data (metrics, node inputs), before any score or grade
    if scheme.evidence is not None:
        tree = c.expression(
            ("evidence", "when"), scheme.evidence.when, known_metrics, NODE_FUNCTIONS
        )
        if tree is not None:
            _check_node_calls(c, ("evidence", "when"), tree, node_ids)
            kind = expr.type_of(tree, known_metrics, NODE_FUNCTIONS)
            if kind not in ("bool", "any"):
                c.problem(
                    ("evidence", "when"),
                    msg(
                        "`when` needs a true/false value (e.g. orders >= 3), but this is a {kind}",
                        kind=kind,
                    ),
                )
        if "rated" in scheme.metrics:
            c.problem(
                ("metrics", "rated"),
                msg("'rated' is a reserved name with `evidence`; choose another metric name"),
                key=True,
            )
        for i, st in enumerate(scheme.consequences.statuses if scheme.consequences else []):
            if st.status == NOT_RATED:
                c.problem(
                    ("consequences", "statuses", i, "status"),
                    msg(
                        "'{NOT_RATED}' is the status of entities without enough evidence (`evidence`): choose another status",
                        NOT_RATED=NOT_RATED,
                    ),
                )
    grade_codes: list[str] = []
    if scheme.grades is not None:
        g = scheme.grades
        gp: Path_ = ("grades",)
        grade_codes = [lv.grade for lv in g.levels]
        if len(set(grade_codes)) != len(grade_codes):
            c.problem((*gp, "levels"), msg("a grade appears twice in `levels`"))
        if g.rules is None:  # `on` is what score bands apply to; rules name their own values
            c.expression((*gp, "on"), g.on, result_known, GRADE_FUNCTIONS)
        with_min = [lv for lv in g.levels if lv.lower is not None]
        if g.rules is None and not with_min:
            c.problem(
                (*gp, "levels"),
                msg("give the levels a `min` or `above` (score bands) or add grade `rules`"),
            )
        if with_min:
            _check_bands(c, g)
        for i, rule in enumerate(g.rules or []):
            if rule.grade is not None and rule.grade not in grade_codes:
                c.problem(
                    (*gp, "rules", i, "grade"),
                    msg(
                        "unknown grade '{grade}'; levels: {names}",
                        grade=rule.grade,
                        names=", ".join(grade_codes),
                    ),
                )
            c.expression((*gp, "rules", i, "when"), rule.when, result_known, GRADE_FUNCTIONS)
        if g.else_ is not None and g.else_ not in grade_codes:
            c.problem(
                (*gp, "else"),
                msg(
                    "unknown grade '{else_value}'; levels: {names}",
                    else_value=g.else_,
                    names=", ".join(grade_codes),
                ),
            )
        for i, cap in enumerate(g.caps):
            if cap.at_most not in grade_codes:
                c.problem(
                    (*gp, "caps", i, "at_most"),
                    msg(
                        "unknown grade '{at_most}'; levels: {names}",
                        at_most=cap.at_most,
                        names=", ".join(grade_codes),
                    ),
                )
            c.expression((*gp, "caps", i, "when"), cap.when, result_known, GRADE_FUNCTIONS)
        for i, dem in enumerate(g.demotions):
            c.expression((*gp, "demotions", i, "when"), dem.when, result_known, GRADE_FUNCTIONS)
    graded_known = {**result_known, **({"grade": "string"} if scheme.grades else {})}
    if scheme.evidence is not None:
        graded_known["rated"] = "bool"  # whether the entity had enough evidence to be rated

    # ----------------------------------------------------------------------- classes
    class_ids: list[str] = []
    if scheme.classes is not None:
        cl = scheme.classes
        class_ids = [r.id for r in cl.rules]
        if len(set(class_ids)) != len(class_ids):
            c.problem(("classes", "rules"), msg("a class id appears twice"))
        for i, rule in enumerate(cl.rules):
            c.expression(("classes", "rules", i, "when"), rule.when, graded_known, CLASS_FUNCTIONS)
        if cl.precedence is not None:
            unknown = [p for p in cl.precedence if p not in class_ids]
            if unknown:
                c.problem(
                    ("classes", "precedence"),
                    msg("unknown class ids: {names}", names=", ".join(unknown)),
                )
            if len(set(cl.precedence)) != len(cl.precedence):
                c.problem(("classes", "precedence"), msg("a class appears twice in `precedence`"))
    classed_known = graded_known  # a class is tested with has_class('id'): `class` is a keyword

    # ------------------------------------------------------------------ consequences
    streaks: set[tuple[str, int]] = set()
    if scheme.consequences is not None:
        cq = scheme.consequences
        for kind, rules in (("statuses", cq.statuses), ("actions", cq.actions)):
            for i, rule in enumerate(rules):
                path = ("consequences", kind, i, "when")
                tree = c.expression(path, rule.when, classed_known, CONSEQUENCE_FUNCTIONS)
                if tree is None:
                    continue
                for call in _calls_with_args(tree, "grade_streak"):
                    args = call.args
                    if not (_is_string(args[0]) and _is_int(args[1])):
                        c.problem_in(
                            path,
                            call,
                            msg(
                                "grade_streak takes a grade in quotes and a whole number: grade_streak('C', 3)"
                            ),
                        )
                        continue
                    if not scheme.grades:
                        c.problem_in(path, call, msg("grade_streak needs a `grades` section"))
                    elif _literal(args[0]) not in grade_codes:
                        c.problem_in(
                            path,
                            args[0],
                            msg(
                                "grade_streak: unknown grade '{literal}'; levels: {names}",
                                literal=_literal(args[0]),
                                names=", ".join(grade_codes),
                            ),
                        )
                    n = int(_literal(args[1]))
                    if not 1 <= n <= 60:
                        c.problem_in(
                            path,
                            args[1],
                            msg("grade_streak: the number of periods is between 1 and 60"),
                        )
                    streaks.add((str(_literal(args[0])), n))
                _check_class_calls(c, path, tree, class_ids)
                _check_node_calls(c, path, tree, node_ids)

    # ---------------------------------------------------------- outputs and checks
    has_status = scheme.consequences is not None or scheme.evidence is not None
    status_known = {**classed_known, **({"status": "string"} if has_status else {})}
    out_ids: set[str] = set()
    for i, out in enumerate(scheme.outputs):
        if out.id in out_ids or out.id in metric_types:
            c.problem(("outputs", i, "id"), msg("output id '{id}' is already used", id=out.id))
        out_ids.add(out.id)
        tree = c.expression(("outputs", i, "expr"), out.expr, status_known, OUTPUT_FUNCTIONS)
        if tree is not None:
            _check_node_calls(c, ("outputs", i, "expr"), tree, node_ids)
            _check_class_calls(c, ("outputs", i, "expr"), tree, class_ids)
    for i, chk in enumerate(scheme.checks):
        for key in ("share_of", "among"):
            tree = c.expression(
                ("checks", i, key), getattr(chk, key), status_known, OUTPUT_FUNCTIONS
            )
            if tree is not None:
                _check_node_calls(c, ("checks", i, key), tree, node_ids)
                _check_class_calls(c, ("checks", i, key), tree, class_ids)

    # every expression that names nodes through points('x') must name real nodes
    for path, tree in list(c.exprs.items()):
        if path[0] in ("grades", "classes"):
            _check_node_calls(c, path, tree, node_ids)
    # working days are counted by joining the calendar onto metric rows (engine.workdays)
    for path, tree in list(c.exprs.items()):
        if path[0] == "metrics" or "$value" in path:
            continue
        for call in _calls_with_args(tree, "workdays_between"):
            c.problem_in(
                path,
                call,
                msg(
                    "workdays_between() may be used in a metric's `expr` or `where` only: count the working days in a metric and use the metric here"
                ),
            )
    # earlier periods' results: a real node or metric in quotes and a constant number back
    history: set[tuple[str, str, str, int]] = set()
    for path, tree in list(c.exprs.items()):
        if path[0] in ("grades", "classes", "consequences", "outputs", "checks"):
            history |= _check_history_calls(c, path, tree, node_ids, set(scheme.metrics))

    c.fail_if_any()
    return ResolvedScheme(
        scheme=scheme,
        file=file,
        text=text,
        positions=pos,
        exprs=c.exprs,
        metric_order=order,
        nodes=nodes,
        streaks=frozenset(streaks),
        grade_codes=grade_codes,
        history=frozenset(history),
        tables=tables,
        columns_read=_columns_read(scheme, tables, c.exprs),
    )


def _tables_of(entity: str, tables: dict[str, TableSpec]) -> str:
    """Return the fact tables that can describe an entity."""
    return ", ".join(
        t for t, s in tables.items() if s.kind == "fact" and s.entity in (None, entity)
    )


_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _declared_tables(c: _Checker, scheme: Scheme) -> dict[str, TableSpec]:
    """Check the scheme's own tables; return the contract's tables followed by them."""
    declared: dict[str, TableSpec] = {}
    entities = {t for t, s in TABLES.items() if s.kind == "entity"}
    entities |= {t for t, d in scheme.tables.items() if d.kind == "entity"}
    for name, t in scheme.tables.items():
        path: Path_ = ("tables", name)
        before = len(c.problems)
        if name in TABLES:
            c.problem(
                path,
                msg(
                    "'{name}' is a table of the data contract: give your own table another name (contract tables: {names})",
                    name=name,
                    names=", ".join(TABLES),
                ),
                key=True,
            )
            continue
        if not _TABLE_NAME.fullmatch(name):
            c.problem(
                path,
                msg(
                    "table name '{name}': use lower-case letters, digits and _ (the data file is named after it, e.g. site_visits.csv)",
                    name=name,
                ),
                key=True,
            )
        names = list(t.columns)
        for col_name, col in t.columns.items():
            cpath: Path_ = (*path, "columns", col_name)
            if not _COLUMN_NAME.fullmatch(col_name) or col_name == ROW_COLUMN:
                c.problem(
                    cpath,
                    msg(
                        "column name '{col_name}': use letters, digits and _ (not starting with a digit; '{ROW_COLUMN}' is reserved), so expressions can name it",
                        col_name=col_name,
                        ROW_COLUMN=ROW_COLUMN,
                    ),
                    key=True,
                )
            if col.choices is not None and col.type != "string":
                c.problem(
                    cpath,
                    msg(
                        "`choices` belong to string columns; '{col_name}' is {type}",
                        col_name=col_name,
                        type=col.type,
                    ),
                )
        if t.key not in t.columns:
            c.problem(
                (*path, "key"),
                msg(
                    "key '{key}' is not among the columns of '{name}'{hint} (columns: {names})",
                    key=t.key,
                    name=name,
                    hint=_did_you_mean(t.key, names),
                    names=", ".join(names),
                ),
            )
        if t.date is not None:
            if t.kind == "entity":
                c.problem((*path, "date"), msg("an entity table has no window date: remove `date`"))
            elif t.date not in t.columns:
                c.problem(
                    (*path, "date"),
                    msg(
                        "date '{date}' is not among the columns of '{name}'{hint} (columns: {names})",
                        date=t.date,
                        name=name,
                        hint=_did_you_mean(t.date, names),
                        names=", ".join(names),
                    ),
                )
            elif t.columns[t.date].type != "date":
                c.problem(
                    (*path, "date"),
                    msg(
                        "windows apply to a date column; '{date}' is {type}",
                        date=t.date,
                        type=t.columns[t.date].type,
                    ),
                )
        if t.entity is not None:
            if t.kind == "entity":
                c.problem((*path, "entity"), msg("`entity` belongs to fact tables: remove it"))
            elif t.entity not in entities:
                c.problem(
                    (*path, "entity"),
                    msg(
                        "'{entity}' is not an entity table{hint} (entity tables: {names})",
                        entity=t.entity,
                        hint=_did_you_mean(t.entity, entities),
                        names=", ".join(sorted(entities)),
                    ),
                )
        if len(c.problems) > before:
            continue
        identity = {t.key, t.date} - {None}
        declared[name] = TableSpec(
            name,
            t.kind,
            t.key,
            tuple(
                Column(
                    col_name,
                    col.type,
                    required=True,  # when the scheme reads it: its own declaration
                    choices=tuple(v.lower() for v in col.choices or ()),
                    label=col.label or "",
                    not_null=col_name in identity,
                )
                for col_name, col in t.columns.items()
            ),
            date=t.date,
            label=t.label or "",
            entity=t.entity,
            unique_key=t.kind == "entity",
        )
    return with_declared(declared)


def _columns_read(
    scheme: Scheme, tables: dict[str, TableSpec], exprs: dict[Path_, Any]
) -> dict[str, frozenset[str]]:
    """Return the columns the scheme reads from each table (keys and window dates too)."""
    reads: dict[str, set[str]] = {scheme.entity: set()}
    common = set(scheme.params) | set(PERIOD_NAMES)
    for name, m in scheme.metrics.items():
        if m.aggregation:
            table, _, column = getattr(m, m.aggregation).partition(".")
            cols = reads.setdefault(table, set())
            cols.update([column] if column else [])
            where = exprs.get(("metrics", name, "where"))
            if where is not None:
                cols |= expr.names(where) - common
        elif m.attribute:
            reads[scheme.entity].add(m.attribute)
        elif m.latest:
            table, _, column = m.latest.partition(".")
            reads.setdefault(table, set()).add(column)
        elif m.rating:
            # the rater too (optional): a rating is the mean over raters
            reads.setdefault("ratings", set()).update(("period", "indicator", "score", "rater"))
    if scheme.grades is not None and scheme.grades.overrides:
        reads.setdefault("overrides", set()).update(("period", "grade", "reason"))
    out: dict[str, frozenset[str]] = {}
    for table, cols in reads.items():
        spec = tables[table]
        out[table] = frozenset(cols | {spec.key} | ({spec.date} if spec.date else set()))
    return out


def _did_you_mean(word: str, choices) -> Text:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return msg(" (did you mean '{word}'?)", word=close[0]) if close else ""


def param_type(value: Any) -> str:
    """Return the type a parameter's default implies: bool, number or string."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _col_type(col) -> str:
    if col is None:
        return "any"
    return {"money": "number", "number": "number", "integer": "number"}.get(col.type, col.type)


def _walk_paths(node: Node, path: Path_):
    yield path, node
    for i, child in enumerate(node.children or ()):
        yield from _walk_paths(child, (*path, "children", i))


def _resolve_tree(
    c: _Checker,
    scheme: Scheme,
    node: Node,
    path: Path_,
    parent: Node | None,
    max_: float | None,
    weight: float | None,
    depth: int,
    out: dict[str, ResolvedNode],
    known: dict[str, str],
) -> float:
    """Resolve one node (and below) given the max its parent assigned; return its max."""
    if max_ is None:
        max_ = float(node.max) if node.max is not None else None
    if node.is_group:
        children = node.children or []
        weighting = node.weighting or _infer_weighting(node)
        if max_ is None:
            if weighting == "points" and all(ch.max is not None for ch in children):
                max_ = float(sum(ch.max for ch in children))
            else:
                max_ = 100.0
        child_max: list[float | None] = [None] * len(children)
        child_weight: list[float | None] = [None] * len(children)
        if node.weights_by is not None:
            wb = node.weights_by
            ids = {ch.id for ch in children}
            if wb.by not in scheme.metrics:
                c.problem(
                    (*path, "weights_by", "by"),
                    msg(
                        "'{by}' is not a metric; declare it (e.g. `{{attribute: {by}}}`)", by=wb.by
                    ),
                )
            for prof, weights in wb.profiles.items():
                if set(weights) != ids:
                    c.problem(
                        (*path, "weights_by", "profiles", prof),
                        msg(
                            "profile '{prof}' must give a weight to exactly the children {names}",
                            prof=prof,
                            names=", ".join(sorted(ids)),
                        ),
                    )
                if sum(weights.values()) <= 0:
                    c.problem((*path, "weights_by", "profiles", prof), msg("weights add up to 0"))
            if wb.default is not None and wb.default not in wb.profiles:
                c.problem(
                    (*path, "weights_by", "default"),
                    msg("unknown profile '{default}'", default=wb.default),
                )
            for i, ch in enumerate(children):
                if ch.max is None:
                    c.problem(
                        (*path, "children", i),
                        msg("with `weights_by`, every child needs its own `max`"),
                    )
                child_max[i] = float(ch.max or 100)
        elif weighting == "fractions":
            weights = [ch.weight for ch in children]
            if any(w is None for w in weights):
                c.problem(
                    (*path, "children"),
                    msg("with `weighting: fractions` every child needs a `weight`"),
                )
            else:
                total = sum(weights)
                if abs(total - 1) > WEIGHT_TOLERANCE:
                    c.problem(
                        (*path, "children"),
                        msg(
                            "the weights of '{id}' add up to {total:g}, not 1 (use `weighting: ratios` for relative weights)",
                            id=node.id,
                            total=total,
                        ),
                    )
            for i, ch in enumerate(children):
                child_weight[i] = float(ch.weight or 0)
                child_max[i] = float(ch.max) if ch.max is not None else (ch.weight or 0) * max_
        elif weighting == "ratios":
            for i, ch in enumerate(children):
                if ch.weight is None:
                    c.problem(
                        (*path, "children", i),
                        msg("with `weighting: ratios` every child needs a `weight`"),
                    )
                child_weight[i] = float(ch.weight or 0)
                child_max[i] = float(ch.max) if ch.max is not None else 100.0
        else:  # points
            for i, ch in enumerate(children):
                if ch.max is None:
                    c.problem(
                        (*path, "children", i),
                        msg("with points weighting every child needs `max` (its points)"),
                    )
                if ch.weight is not None:
                    c.problem(
                        (*path, "children", i, "weight"),
                        msg("with points weighting, give `max`, not `weight`"),
                    )
                child_max[i] = float(ch.max or 0)
                child_weight[i] = child_max[i]
            total = sum(m or 0 for m in child_max)
            if node.max is not None and abs(total - float(node.max)) > WEIGHT_TOLERANCE:
                c.problem(
                    (*path, "max"),
                    msg(
                        "the children of '{id}' add up to {total:g} points, not its max {max:g}: with points weighting the children's `max` must add up to the group's `max`",
                        id=node.id,
                        total=total,
                        max=node.max,
                    ),
                )
        out[node.id] = _resolved(node, path, max_, weight, parent, depth)
        for i, ch in enumerate(children):
            _resolve_tree(
                c,
                scheme,
                ch,
                (*path, "children", i),
                node,
                child_max[i],
                child_weight[i],
                depth + 1,
                out,
                known,
            )
        return max_
    # indicator
    if max_ is None:
        max_ = 100.0
    out[node.id] = _resolved(node, path, max_, weight, parent, depth)
    _check_indicator(c, scheme, node, path, known)
    if node.rule is not None and node.rule.kind == "bands":
        top = max(
            max(b.points) if isinstance(b.points, tuple) else b.points
            for b in node.rule.bands.bands
        )
        if top > max_:
            c.problem(
                (*path, "rule", "bands"),
                msg(
                    "a band gives {top:g} points but '{id}' is worth at most {max_:g}",
                    top=top,
                    id=node.id,
                    max_=max_,
                ),
            )
    return max_


def _resolved(node, path, max_, weight, parent, depth) -> ResolvedNode:
    pass_points = None
    if node.pass_ is not None:
        pass_points = float(node.pass_) * max_
    elif node.pass_points is not None:
        pass_points = float(node.pass_points)
    return ResolvedNode(
        node=node,
        path=path,
        max=max_,
        weight=weight,
        parent=parent.id if parent else None,
        depth=depth,
        missing=node.missing or "zero",
        pass_points=pass_points,
    )


def _infer_weighting(node: Node) -> str:
    children = node.children or []
    if any(ch.weight is not None for ch in children):
        return "fractions"
    return "points"


def _check_indicator(
    c: _Checker, scheme: Scheme, node: Node, path: Path_, known: dict[str, str]
) -> None:
    rule = node.rule
    assert rule is not None
    value_text = (
        node.value if node.value is not None else (node.id if node.id in scheme.metrics else None)
    )
    kind = rule.kind
    if value_text is None and kind in ("linear", "bands", "mapping", "manual"):
        c.problem(
            path, msg("indicator '{id}' needs a `value` (or a metric named '{id}')", id=node.id)
        )
    if value_text is not None:
        vpath = (*path, "value") if node.value is not None else (*path, "id")
        if node.value is not None:
            c.expression(vpath, value_text, known)
        else:
            c.exprs[vpath] = expr.parse(value_text)
        c.exprs[(*path, "$value")] = c.exprs.get(vpath)
    if kind == "manual":
        metric = scheme.metrics.get(value_text or "")
        if metric is None or metric.rating is None:
            got = (
                msg("'{value}' is a {kind} metric", value=value_text, kind=metric.kind)
                if metric
                else (
                    msg("'{value}' is not a metric", value=value_text)
                    if value_text
                    else msg("there is no value")
                )
            )
            c.problem(
                (*path, "rule"),
                msg(
                    "a manual rule scores a rating, but {got}: the value must be a metric like `{{rating: <indicator>, scale: [0, 100]}}`",
                    got=got,
                ),
            )
    rule_known = {**known, "value": "any"}
    rp: Path_ = (*path, "rule")
    if kind == "linear":
        for key in ("zero_at", "full_at"):
            _number_or_param(c, (*rp, "linear", key), getattr(rule.linear, key), rule_known)
        if rule.linear.zero_at == rule.linear.full_at:
            c.problem((*rp, "linear"), msg("`zero_at` and `full_at` must differ"))
    elif kind == "bands":
        _check_band_list(c, (*rp, "bands"), rule.bands)
    elif kind == "deduction":
        d = rule.deduction
        for i, item in enumerate(d.items):
            ip: Path_ = (*rp, "deduction", "items", i)
            for key in ("per", "shortfall", "excess", "amount", "of"):
                text = getattr(item, key)
                if text is not None:
                    c.expression((*ip, key), text, rule_known)
            for key in ("below", "above", "points"):
                _number_or_param(c, (*ip, key), getattr(item, key), rule_known)
            if item.bands is not None:
                _check_band_list(c, (*ip, "bands"), item.bands)
    elif kind == "expr":
        c.expression((*rp, "expr"), rule.expr, rule_known)


def _check_band_list(c: _Checker, path: Path_, bands) -> None:
    """Bands must not overlap: two bands sharing a value would make the points ambiguous."""
    items = bands.bands
    if (*path, "bands") in c.pos.values:
        path = (*path, "bands")  # `bands: {bands: [...]}` rather than the list shorthand
    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            if _overlap(a, b):
                c.problem(
                    (*path, j),
                    msg(
                        "band {value} ({edges}) overlaps band {value2} ({edges2}): a value may fall in one band only (use `below`/`above` for open edges)",
                        value=j + 1,
                        edges=_edges(b),
                        value2=i + 1,
                        edges2=_edges(a),
                    ),
                )


def _edges(band) -> str:
    """Return a band's edges as written, e.g. `from 0 upto 10`."""
    edges = {"equals": band.equals, "from": band.from_, "above": band.above}
    edges |= {"upto": band.upto, "below": band.below}
    return " ".join(f"{k} {v:g}" for k, v in edges.items() if v is not None) or "every value"


def _overlap(a, b) -> bool:
    """Return whether two bands share at least one value."""

    def lower(x):
        return (float("-inf"), True) if x.lower is None else (x.lower, x.lower_closed)

    def upper(x):
        return (float("inf"), True) if x.upper is None else (x.upper, x.upper_closed)

    (alo, alc), (ahi, ahc) = lower(a), upper(a)
    (blo, blc), (bhi, bhc) = lower(b), upper(b)
    # a entirely below b?
    if ahi < blo or (ahi == blo and not (ahc and blc)):
        return False
    return not (bhi < alo or (bhi == alo and not (bhc and alc)))


def _check_bands(c: _Checker, g) -> None:
    """Score bands run from the best grade down with no gap and no overlap: a level takes the
    values from its lower edge (`min` ≥, `above` >) up to where the level above begins."""
    levels = g.levels
    prev: tuple[float, str] | None = None  # the lower edge of the level above, and its key
    for i, lv in enumerate(levels):
        p: Path_ = ("grades", "levels", i)
        key = "min" if lv.min is not None else "above" if lv.above is not None else None
        if key is None and i != len(levels) - 1:
            c.problem(
                p,
                msg(
                    "grade '{grade}' needs `min` or `above` (only the last level may leave them out)",
                    grade=lv.grade,
                ),
            )
            continue
        if prev is not None and key is not None:
            edge, prev_key = prev
            # the same edge leaves this level one value only when it is `min` under `above`
            if lv.lower > edge or (lv.lower == edge and (key, prev_key) != ("min", "above")):
                c.problem(
                    (*p, key),
                    msg(
                        "grade '{grade}' ({key} {lower:g}) overlaps the grade above it ({prev_key} {edge:g}): levels run from the best grade down, each lower edge (`min` or `above`) below the one above",
                        grade=lv.grade,
                        key=key,
                        lower=lv.lower,
                        prev_key=prev_key,
                        edge=edge,
                    ),
                )
        if lv.below is not None:
            if i == 0:
                c.problem((*p, "below"), msg("the best grade has no upper edge: remove `below`"))
            elif prev is not None and prev[1] == "above":
                c.problem(
                    (*p, "below"),
                    msg(
                        "grade '{grade}' ends below {below:g} but the grade above starts above {prev:g}, so {prev:g} itself belongs here: remove `below`",
                        grade=lv.grade,
                        below=lv.below,
                        prev=prev[0],
                    ),
                )
            elif prev is not None and lv.below != prev[0]:
                word = "a gap" if lv.below < prev[0] else "an overlap"
                c.problem(
                    (*p, "below"),
                    msg(
                        "grade '{grade}' ends below {below:g} but the grade above starts at {prev:g}: {word} (`below` must equal the `min` of the grade above, or be left out)",
                        grade=lv.grade,
                        below=lv.below,
                        prev=prev[0],
                        word=word,
                    ),
                )
        if key is not None:
            prev = (lv.lower, key)


def _refuse_population(c: _Checker, path: Path_, tree) -> None:
    """A `where` runs over fact rows: comparing an entity with the others means nothing there."""
    for call in expr.walk(tree):
        if isinstance(call, expr.Call) and call.name in expr.POPULATION_FUNCTIONS:
            c.problem_in(
                path,
                call,
                msg(
                    "{name}() compares an entity with the other entities and cannot be used in `where`, which filters fact rows; compute it in a metric's `expr` from an aggregated metric instead",
                    name=call.name,
                ),
            )


def _calls_with_args(tree, name: str):
    return [n for n in expr.walk(tree) if isinstance(n, expr.Call) and n.name == name]


def _check_node_calls(c: _Checker, path: Path_, tree, node_ids: set[str]) -> None:
    for fn in NODE_FUNCTIONS:
        for call in _calls_with_args(tree, fn):
            arg = call.args[0]
            nodes = ", ".join(sorted(node_ids)) or "none (the scheme has no tree)"
            if not _is_string(arg):
                c.problem_in(
                    path,
                    arg,
                    msg("{fn}() takes a node id in quotes; nodes: {nodes}", fn=fn, nodes=nodes),
                )
            elif _literal(arg) not in node_ids:
                c.problem_in(
                    path,
                    arg,
                    msg(
                        "{fn}(): unknown node '{literal}'; nodes: {nodes}",
                        fn=fn,
                        literal=_literal(arg),
                        nodes=nodes,
                    ),
                )
            elif fn == "passed" and _literal(arg) not in c.pass_ids:
                marked = ", ".join(sorted(c.pass_ids)) or "none"
                c.problem_in(
                    path,
                    arg,
                    msg(
                        "passed(): node '{literal}' has no pass mark (`pass` or `pass_points`); nodes with one: {marked}",
                        literal=_literal(arg),
                        marked=marked,
                    ),
                )


_HISTORY_USAGE = {
    "score_at": "score_at(1)",
    "grade_at": "grade_at(1)",
    "points_at": "points_at('<node id>', 1)",
    "value_at": "value_at('<metric>', 1)",
}


def _check_history_calls(
    c: _Checker, path: Path_, tree, node_ids: set[str], metrics: set[str]
) -> set[tuple[str, str, str, int]]:
    """Check the arguments of score_at, grade_at, points_at and value_at; return what they read
    from earlier periods as (phase, function, node or metric id, periods back ≥ 1)."""
    found: set[tuple[str, str, str, int]] = set()
    phase = "grades" if path[0] == "grades" else "results"
    for call in expr.walk(tree):
        if not (isinstance(call, expr.Call) and call.name in HISTORY_FUNCTIONS):
            continue
        fn, args, name = call.name, call.args, ""
        if fn in ("points_at", "value_at"):
            kind, known = ("node", node_ids) if fn == "points_at" else ("metric", metrics)
            listed = ", ".join(sorted(known)) or "none"
            if not _is_string(args[0]):
                c.problem_in(
                    path,
                    args[0],
                    msg(
                        "{fn}() takes a {kind} id in quotes; {kind}s: {listed}",
                        fn=fn,
                        kind=kind,
                        listed=listed,
                    ),
                )
                continue
            if _literal(args[0]) not in known:
                c.problem_in(
                    path,
                    args[0],
                    msg(
                        "{fn}(): unknown {kind} '{literal}'; {kind}s: {listed}",
                        fn=fn,
                        kind=kind,
                        literal=_literal(args[0]),
                        listed=listed,
                    ),
                )
                continue
            name = str(_literal(args[0]))
        elif fn == "score_at" and not node_ids:
            c.problem_in(path, call, msg("score_at needs a `tree`: without one there is no score"))
            continue
        elif fn == "grade_at" and c.scheme.grades is None:
            c.problem_in(path, call, msg("grade_at needs a `grades` section"))
            continue
        back = args[-1]
        if not (_is_int(back) and 0 <= back.value <= HISTORY_MAX):
            c.problem_in(
                path,
                back,
                msg(
                    "{fn}(): the number of periods back is a whole number from 0 (this period) to {HISTORY_MAX}, written as a number: {_HISTORY_USAGE}",
                    fn=fn,
                    HISTORY_MAX=HISTORY_MAX,
                    _HISTORY_USAGE=_HISTORY_USAGE[fn],
                ),
            )
            continue
        if back.value >= 1:  # 0 is this period: read from its own columns
            found.add((phase, fn, name, int(back.value)))
    return found


def _check_class_calls(c: _Checker, path: Path_, tree, class_ids: list[str]) -> None:
    for call in _calls_with_args(tree, "has_class"):
        if not _is_string(call.args[0]) or _literal(call.args[0]) not in class_ids:
            c.problem_in(
                path,
                call.args[0],
                msg(
                    "has_class: unknown class; classes: {value}",
                    value=", ".join(class_ids) or "none",
                ),
            )


def _is_string(node) -> bool:
    return isinstance(node, expr.String)


def _is_int(node) -> bool:
    return isinstance(node, expr.Number) and node.value == int(node.value)


def _literal(node):
    return node.value


def load_scheme(source: str | Path, text: str | None = None) -> ResolvedScheme:
    """Load, validate and resolve a scheme from a file path (or given text)."""
    if text is None:
        file, text = read_scheme_file(source)
    else:
        file = str(source)
    scheme, pos = parse_scheme_text(text, file)
    return resolve(scheme, file, text, pos)
