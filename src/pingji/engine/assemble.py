"""The output of an evaluation in its shapes, as queries over the plan's result.

nested and flat are DuckDB queries (structs and lists), run where the result is; text (lists
joined by ';') is portable: `pingji compile` ends its scripts with it in any dialect.
"""

from __future__ import annotations

from functools import partial

from pingji.engine.columns import col_node
from pingji.scheme.resolve import ResolvedScheme
from pingji.sqltext import ident, literal

# The SQL types the output casts to, per dialect
_TYPES = {
    "duckdb": {"double": "DOUBLE", "text": "VARCHAR"},
    "postgres": {"double": "DOUBLE PRECISION", "text": "VARCHAR"},
    "pyspark": {"double": "DOUBLE", "text": "STRING"},
}


def _listed(shape: str, items: list[str]) -> str:
    """SQL for the non-NULL text values among items, in order: a list, or (text shape) the
    values joined by ';' ('' when none). concat_ws skips NULLs, so no per-row lambda is
    needed (ids and codes never hold a comma)."""
    if shape == "text":
        return f"concat_ws(';', {', '.join(items)})" if items else "''"
    if not items:
        return "CAST([] AS VARCHAR[])"
    joined = f"concat_ws(',', {', '.join(items)})"
    return (
        f"CASE WHEN {joined} = '' THEN CAST([] AS VARCHAR[]) ELSE string_split({joined}, ',') END"
    )


def reason_code(n) -> str:
    """Return the reason code an indicator reports when it loses points."""
    return n.node.reason.code if n.node.reason else n.id


def reason_label(n) -> str:
    """Return what a person reads for an indicator's reason code."""
    if n.node.reason and n.node.reason.label:
        return n.node.reason.label
    return f"{n.node.label or n.id}失分"


def assembly_sql(
    rs: ResolvedScheme,
    columns: set[str],
    shape: str = "nested",
    source: str = "raw",
    dialect: str = "duckdb",
) -> str:
    """Return the query that turns the plan's result (`source`) into the output shape.

    nested: `nodes` is one struct of per-node structs (JSON lines); flat: one column per node
    part, `<id>.points` … (Parquet); both DuckDB. text: flat, and lists joined by ';' (CSV,
    Excel, `pingji compile`), in `dialect`.
    """
    _q = partial(ident, dialect=dialect)
    double, text = _TYPES[dialect]["double"], _TYPES[dialect]["text"]

    def _list_of_flags(flags: list[tuple[str, str]]) -> str:
        return _listed(
            shape,
            [f"CASE WHEN {_q(col)} THEN {literal(label, dialect)} END" for col, label in flags],
        )

    s = rs.scheme
    sel: list[str] = ["entity_id", "period"]
    ranks: list[str] = []
    root = next(iter(rs.nodes.values()), None)
    for name in ("score", "points"):
        sel.append(f"{_q(name)}" if name in columns else f"CAST(NULL AS {double}) AS {name}")
    sel.append(f"CAST({root.max if root else 'NULL'} AS {double}) AS max_points")
    if rs.grade_basis:  # the value the grade bands applied to, when not the plain score
        sel.append("grade_basis")
    sel.append("grade" if "grade" in columns else f"CAST(NULL AS {text}) AS grade")
    classes = [(f"c__{r.id}", r.id) for r in s.classes.rules] if s.classes else []
    sel.append(f"{_list_of_flags(classes)} AS classes")
    sel.append(f"{_q('class')}" if "class" in columns else f"CAST(NULL AS {text}) AS {_q('class')}")
    sel.append("status" if "status" in columns else f"CAST(NULL AS {text}) AS status")
    actions = (
        [(f"a__{a.action}", a.action) for a in s.consequences.actions] if s.consequences else []
    )
    sel.append(f"{_list_of_flags(actions)} AS actions")
    missing = [(col_node(n.id, "missing"), n.id) for n in rs.leaves()]
    sel.append(f"{_list_of_flags(missing)} AS missing")
    flat: list[str] = []  # flat shapes: one column per node part, after everything else
    if rs.nodes and shape != "nested":
        for n in rs.nodes.values():
            if col_node(n.id, "value") in columns:
                flat.append(f"{_q(col_node(n.id, 'value'))} AS {_q(n.id + '.value')}")
            flat.append(f"{_q(col_node(n.id, 'points'))} AS {_q(n.id + '.points')}")
            flat.append(f"{_q(col_node(n.id, 'score'))} AS {_q(n.id + '.score')}")
            if n.pass_points is not None:
                flat.append(f"{_q(col_node(n.id, 'passed'))} AS {_q(n.id + '.passed')}")
    if rs.nodes:
        parts = []
        for n in rs.nodes.values():
            fields = []
            value_col = col_node(n.id, "value")
            if value_col in columns:
                fields.append(f"value := {_q(value_col)}")
            fields += [
                f"points := {_q(col_node(n.id, 'points'))}",
                f"max := CAST({n.max} AS DOUBLE)",
                f"score := {_q(col_node(n.id, 'score'))}",
            ]
            if n.pass_points is not None:
                fields.append(f"passed := {_q(col_node(n.id, 'passed'))}")
            parts.append(f"{_q(n.id)} := struct_pack({', '.join(fields)})")
        if shape == "nested":
            sel.append(f"struct_pack({', '.join(parts)}) AS nodes")
        # The reason codes of the three indicators that lost the most weighted points (ties:
        # scheme order), by plain comparisons: each leaf's rank is how many leaves lost more.
        leaves = rs.leaves()
        lost = [_q(col_node(n.id, "lost")) for n in leaves]  # rounded by the plan already
        for i, lo in enumerate(lost):
            beats = [
                f"({o} > {lo})" if j > i else f"({o} >= {lo})" for j, o in enumerate(lost) if j != i
            ]
            ranks.append(
                f"({' + '.join(f'CAST({b} AS INTEGER)' for b in beats) or '0'}) AS __rank{i}"
            )
        picks = []
        for k in range(min(3, len(leaves))):
            whens = " ".join(
                f"WHEN __rank{i} = {k} AND {lo} > 0 THEN {literal(reason_code(n), dialect)}"
                for i, (n, lo) in enumerate(zip(leaves, lost, strict=True))
            )
            picks.append(f"CASE {whens} END")
        reasons = _listed(shape, picks)
        if "rated" in columns:  # an entity that is not rated lost no points: it was not scored
            reasons = f"CASE WHEN rated THEN {reasons} ELSE {_listed(shape, [])} END"
        sel.append(f"{reasons} AS reasons")
    else:
        if shape == "nested":
            sel.append("NULL AS nodes")
        sel.append(f"{_listed(shape, [])} AS reasons")
    if s.grades is not None:
        sel.append("override_reason AS override")
    else:
        sel.append(f"CAST(NULL AS {text}) AS override")
    for out in s.outputs:
        sel.append(f"{_q('o__' + out.id)} AS {_q(out.id)}")
    sel += flat
    source = f"(SELECT *, {', '.join(ranks)} FROM {source}) AS ranked" if ranks else source
    return f"SELECT {', '.join(sel)} FROM {source} ORDER BY entity_id"
