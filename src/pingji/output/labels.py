"""What a person reads for a scheme's codes: the one code → label map of pages and exports.

Grades, classes, statuses, actions, reason codes and node ids each map to the scheme's Chinese
label (a code without a label reads as itself; the status `not_rated` as the scheme's
`evidence.label`, else 不予评级). When several rules give the same status or action, the
first rule's label is the code's label."""

from __future__ import annotations

from pingji.engine.assemble import reason_code, reason_label
from pingji.scheme.resolve import NOT_RATED, ResolvedScheme

KINDS = ("grade", "class", "status", "action", "reason", "node")


def scheme_labels(rs: ResolvedScheme) -> dict[str, dict[str, str]]:
    """Return the labels of a scheme's codes by kind: grade, class, status, action, reason,
    node (a grade without a label maps to "")."""
    s = rs.scheme
    out: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    if s.grades:
        out["grade"] = {lv.grade: lv.label or "" for lv in s.grades.levels}
    if s.classes:
        out["class"] = {c.id: c.label or c.id for c in s.classes.rules}
        if s.classes.fallback:
            fb = s.classes.fallback
            out["class"][fb.id] = fb.label or fb.id
    if s.consequences:
        for st in s.consequences.statuses:
            out["status"].setdefault(st.status, st.label or st.status)
        for a in s.consequences.actions:
            out["action"].setdefault(a.action, a.label or a.action)
    if s.evidence:
        out["status"][NOT_RATED] = s.evidence.label or "不予评级"
    for n in rs.nodes.values():
        out["node"][n.id] = n.node.label or n.id
        out["reason"][reason_code(n)] = reason_label(n)
    return out
