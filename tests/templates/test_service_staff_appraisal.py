"""service-staff-appraisal (客户服务员绩效考核): capped per-occurrence deductions and bonus."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "service-staff-appraisal"

_FULL = ("enthusiasm,2", "accountability,8", "supervisor_tasks,3", "gm_tasks,5")
_P2 = ("enthusiasm,1", "accountability,6", "supervisor_tasks,2", "gm_tasks,4")
DATA = {
    "staff": "staff_id,name\nP1,赵一\nP2,钱二\nP3,孙三\n",
    "events": """
entity_id,date,type,count
P2,2025-12-01,discipline_violation,1
P2,2025-12-02,attendance_violation,3
P2,2025-12-03,dress_violation,1
P2,2025-12-04,workplace_nonconformity,4
P2,2025-12-05,negligent_complaint,1
P2,2025-12-06,task_error,12
P1,2025-11-30,discipline_violation,2
""",
    "ratings": "entity_id,period,indicator,score\n"
    + "\n".join(f"P1,2025-12,{r}" for r in _FULL)
    + "\n"
    + "\n".join(f"P2,2025-12,{r}" for r in _P2)
    + "\n",
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("staff")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025-12")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_conduct_20_and_work_quality_80() -> None:
    rs = resolve_scheme(SCHEME)
    assert rs.nodes["conduct"].max == 20 and rs.nodes["work_quality"].max == 80
    assert sum(n.max for n in rs.leaves() if n.parent == "conduct") == 20
    assert sum(n.max for n in rs.leaves() if n.parent == "work_quality") == 80


def test_a_clean_month_earns_the_whole_bonus(rows: dict[str, dict]) -> None:
    # P1: no December event (the November one is another month), full ratings → 100, A, 300.00
    r = rows["P1"]
    assert r["points"] == pytest.approx(100)
    assert r["grade"] == "A"
    assert r["bonus"] == Decimal("300")


def test_deductions_stop_at_each_items_points(rows: dict[str, dict]) -> None:
    # P2 conduct: discipline 4 − 2 = 2; attendance 4 − 3 × 2 → 0 (floor); attitude 3;
    #   dress 3 − 1 = 2; etiquette 3; saving 3                                  = 13
    # work quality: reception 10; ledger 12; workplace 20 − 4 × 2 = 12; complaints 10 − 2 = 8;
    #   tasks 10 − 12 → 0; ratings 1 + 6 + 2 + 4                                = 55
    # total 68 → C (合格); bonus 68 / 100 × 300 = 204.00
    r = rows["P2"]
    nodes = r["nodes"]
    assert nodes["attendance"]["points"] == 0
    assert nodes["task_execution"]["points"] == 0
    assert nodes["conduct"]["points"] == pytest.approx(13)
    assert nodes["work_quality"]["points"] == pytest.approx(55)
    assert r["points"] == pytest.approx(68)
    assert r["grade"] == "C"
    assert r["bonus"] == Decimal("204")


def test_unrated_items_count_zero(rows: dict[str, dict]) -> None:
    # P3: no event → conduct 20, work quality 10 + 12 + 20 + 10 + 10 = 62; no rating → 0 each.
    # 82 → B; bonus 82 / 100 × 300 = 246.00
    r = rows["P3"]
    assert r["points"] == pytest.approx(82)
    assert r["grade"] == "B"
    assert r["bonus"] == Decimal("246")
    assert r["missing"] == ["enthusiasm", "accountability", "supervisor_tasks", "gm_tasks"]
