"""Score movers between two runs of one scheme: the entities whose score rose or fell the
most, optionally within one group of the compare page's cards (grade up, same, down, only in
A, only in B). One DuckDB query per list over the two results files (results._joined)."""

from __future__ import annotations

from dataclasses import dataclass

from pingji.web.runs import results
from pingji.web.runs.models import Run

ABSENT, NO_GRADE = results.ABSENT, results.NO_GRADE

# The compare page's cards, each a group of entities the movers list can be limited to.
GROUPS = ("both", "up", "same", "down", "only_a", "only_b")
MOVERS = 10  # entities per list


@dataclass(frozen=True)
class Movers:
    """The largest rises and falls of one group (or, for only_a / only_b, its entities by
    score), and how many entities rose and fell in it."""

    group: str
    rises: list[dict]
    falls: list[dict]
    risen: int
    fallen: int
    present: list[dict]  # only_a / only_b: the entities of the one run, best score first


def _group_sql(group: str, axis: list[str]) -> tuple[str, list]:
    """The condition selecting a card's group in results._joined (ga, gb: grade keys)."""
    if group == "only_a":
        return "gb = ?", [ABSENT]
    if group == "only_b":
        return "ga = ?", [ABSENT]
    both = "ga <> ? AND gb <> ?"
    if group == "same":
        return f"{both} AND ga = gb", [ABSENT, ABSENT]
    if group in ("up", "down"):
        # a better grade comes first in the scheme's order: up = B's position before A's
        graded = [g for g in axis if g not in (NO_GRADE, ABSENT)]
        way = "<" if group == "up" else ">"
        return (
            f"{both} AND ga <> ? AND gb <> ? AND list_position(?::VARCHAR[], gb) "
            f"{way} list_position(?::VARCHAR[], ga) AND list_position(?::VARCHAR[], ga) > 0 "
            "AND list_position(?::VARCHAR[], gb) > 0",
            [ABSENT, ABSENT, NO_GRADE, NO_GRADE, graded, graded, graded, graded],
        )
    return both, [ABSENT, ABSENT]


def movers(a: Run, b: Run, axis: list[str], group: str = "both", limit: int = MOVERS) -> Movers:
    """Return the largest score rises and falls from run a to run b among `group`'s
    entities (`axis`: the grades best first, as the migration matrix shows them). Entities
    without a score in either run have no change and are in neither list."""
    group = group if group in GROUPS else "both"
    sql, args = results._joined(a, b)
    cond, more = _group_sql(group, axis)
    con = results.connection()
    select = (
        "SELECT entity_id, grade_a, score_a, grade_b, score_b, score_b - score_a AS change "
        f"FROM ({sql}) WHERE {cond}"
    )
    if group in ("only_a", "only_b"):
        score = "score_a" if group == "only_a" else "score_b"
        cur = con.execute(
            f"{select} ORDER BY {score} DESC NULLS LAST, entity_id LIMIT {int(limit)}",
            [*args, *more],
        )
        names = [d[0] for d in cur.description]
        present = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return Movers(group, [], [], 0, 0, present)
    lists = {}
    for key, where, order in (
        ("rises", "change > 0", "change DESC"),
        ("falls", "change < 0", "change ASC"),
    ):
        cur = con.execute(
            f"{select} AND {where} ORDER BY {order}, entity_id LIMIT {int(limit)}",
            [*args, *more],
        )
        names = [d[0] for d in cur.description]
        lists[key] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    risen, fallen = con.execute(
        f"SELECT count(*) FILTER (WHERE change > 0), count(*) FILTER (WHERE change < 0) "
        f"FROM ({select})",
        [*args, *more],
    ).fetchone()
    return Movers(group, lists["rises"], lists["falls"], risen, fallen, [])
