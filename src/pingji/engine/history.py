"""Earlier periods' results in expressions (scheme language §17).

`score_at(k)`, `grade_at(k)`, `points_at('node', k)` and `value_at('metric', k)` read the
result of the period k periods before the evaluated one. The compiler evaluates each earlier
period once, with the same scheme, from the same data, for all entities (metrics and tree;
its grade as well when grade_at asks for one), and this module joins what the expressions
read to the evaluated period by entity_id: one join per distinct k, never a loop over
entities. Metrics and the tree may not use these functions (scheme.resolve refuses them), so
an earlier period's values and points never depend on history; grades may read earlier
scores, points and values but not earlier grades, so every chain of periods ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ibis.expr.types as ir

from pingji.expr import literal_value
from pingji.periods import Period

FUNCTIONS = ("score_at", "grade_at", "points_at", "value_at")

# (function, node or metric id) → the column of a period's own table that the function reads
Source = Callable[[str, str], str]
# (period, whether its grade is needed) → that period's table, one row per entity
Evaluated = Callable[[Period, bool], ir.Table]


def column(fn: str, name: str, back: int) -> str:
    """Return the plan column holding what `fn` reads `back` periods before the evaluated one."""
    return f"h{back}__{fn}__{name}" if name else f"h{back}__{fn}"


def join(
    t: ir.Table,
    period: Period,
    reads: Iterable[tuple[str, str, int]],
    evaluated: Evaluated,
    source: Source,
) -> ir.Table:
    """Join the earlier results that `reads` (function, id, periods back) name and t lacks."""
    by_back: dict[int, dict[str, str]] = {}
    graded: set[int] = set()
    for fn, name, back in sorted(reads):
        col = column(fn, name, back)
        if col in t.columns:  # joined already (grades read it before grading)
            continue
        by_back.setdefault(back, {})[col] = source(fn, name)
        if fn == "grade_at":
            graded.add(back)
    for back, cols in sorted(by_back.items()):
        earlier = evaluated(period.shift(-back), back in graded)
        earlier = earlier.select(
            __k=earlier.entity_id, **{col: earlier[src] for col, src in cols.items()}
        )
        t = t.left_join(earlier, t.entity_id == earlier["__k"]).drop("__k")
    return t


def functions(t: ir.Table, source: Source, allowed: Iterable[str] = FUNCTIONS) -> dict:
    """Return the context functions that compile score_at … value_at over t.

    `k = 0` reads the evaluated period's own column; any other k the column `join` added.
    """

    def reader(fn: str) -> Callable[..., ir.Value]:
        def read(*args: ir.Value) -> ir.Value:
            values = [literal_value(a) for a in args]
            name = str(values[0]) if len(values) == 2 else ""
            back = int(values[-1])
            return t[source(fn, name)] if back == 0 else t[column(fn, name, back)]

        return read

    return {fn: reader(fn) for fn in allowed}
