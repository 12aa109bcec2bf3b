"""The names of the columns a plan computes, in one place (the plan, the executor, the
output and the web read them).

Per entity: `m__<metric>` each metric; `n__<node>__<part>` each part of a node (value,
points, score, passed, missing, lost); `c__<class>` each class rule; `a__<action>` each
action; `o__<output>` each extra output; `k__<check>__num`/`__den` each run-level check;
`r__<table>` the fact rows read per entity; and entity_id, period, score, points, grade,
class, status, rated, override_reason.
"""

from __future__ import annotations

ROUND = 9  # ratios are compared and steps counted on values rounded to 9 decimals


def col_metric(name: str) -> str:
    """Return the plan column holding a metric."""
    return f"m__{name}"


def col_node(node_id: str, part: str) -> str:
    """Return the plan column holding one part (value, points, max, missing …) of a node."""
    return f"n__{node_id}__{part}"
