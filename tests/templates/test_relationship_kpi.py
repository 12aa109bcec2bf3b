"""relationship-kpi (客情关系工作考核): weighted 0–100 indicators with deductions and floors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "relationship-kpi"

DATA = {
    "staff": "staff_id,name\nR1,张三\nR2,李四\nR3,王五\n",
    "events": """
entity_id,date,type,count
R1,2025-12-03,card_inaccuracy,1
R1,2025-12-05,customer_visit,10
R1,2025-12-20,customer_visit,8
R1,2025-11-20,customer_visit,30
R1,2025-11-21,card_inaccuracy,4
R2,2025-12-10,customer_visit,11
R2,2025-12-11,product_record_miss,6
""",
    "ratings": """
entity_id,period,indicator,score
R1,2025-12,familiarity,80
R1,2025-12,first_recommendation_rate,77.5
R2,2025-12,familiarity,100
R2,2025-12,first_recommendation_rate,90
R3,2025-11,familiarity,100
""",
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("kpi")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025-12")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def _scores(row: dict) -> dict[str, float]:
    return {k: round(v["score"], 6) for k, v in row["nodes"].items() if k != "relationship"}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_a_good_month(rows: dict[str, dict]) -> None:
    # R1 (December only): 1 card error → 90; familiarity 80; 18 visits, target 20 → 100 − 2 × 5
    # = 90; no record miss → 100; first recommendation 77.5 % vs 80 %: 2.5 points short, per
    # started point → 3 × 5 = 15 → 85.
    # 0.20 × 90 + 0.15 × 80 + 0.35 × 90 + 0.15 × 100 + 0.15 × 85 = 89.25 → B (良好)
    r = rows["R1"]
    assert _scores(r) == {
        "card_accuracy": 90,
        "familiarity": 80,
        "visits": 90,
        "product_records": 100,
        "first_recommendation": 85,
    }
    assert r["score"] == pytest.approx(89.25)
    assert r["grade"] == "B"


def test_floors_zero_an_indicator(rows: dict[str, dict]) -> None:
    # R2: 11 visits < floor 12 → 0; 6 record misses > 5 → 0; card 100, familiarity 100,
    # first recommendation 90 % ≥ 80 % → 100.  20 + 15 + 0 + 0 + 15 = 50 → D (不合格)
    r = rows["R2"]
    assert _scores(r)["visits"] == 0
    assert _scores(r)["product_records"] == 0
    assert r["score"] == pytest.approx(50)
    assert r["grade"] == "D"


def test_nothing_recorded(rows: dict[str, dict]) -> None:
    # R3: no card error → 100 × 0.20 = 20; familiarity only rated for November → missing, 0;
    # no visit → 0; no record miss → 15; no first recommendation rating → 0. 35 → D
    r = rows["R3"]
    assert r["score"] == pytest.approx(35)
    assert r["grade"] == "D"
    assert r["missing"] == ["familiarity", "first_recommendation"]
