"""delivery-experience (项目交付客户体验): 集中交付率, 无缺陷交付率, 户均缺陷."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "delivery-experience"

DATA = {
    "customers": "customer_id,name\nD1,一期\nD2,二期\nD3,三期\nD4,四期\n",
    "events": """
entity_id,date,type,count
D1,2025-06-18,planned_households,100
D1,2025-06-18,delivered_households,95
D1,2025-06-18,defect_free_households,76
D1,2025-06-18,rectification_items,190
D2,2025-09-01,planned_households,50
D2,2025-09-01,delivered_households,50
D2,2025-09-01,attending_households,40
D2,2025-09-01,defect_free_households,50
D4,2025-11-08,planned_households,200
D4,2025-11-08,delivered_households,190
D4,2025-11-08,attending_households,180
D4,2025-11-08,defect_free_households,171
D4,2025-11-08,rectification_items,45
D3,2024-12-20,planned_households,80
""",
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("delivery")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_rates_and_points(rows: dict[str, dict]) -> None:
    # D1: 95/100 = 0.95 → 40 × (0.95 − 0.8)/0.2 = 30; 76/95 = 0.8 → 30 × (0.8 − 0.5)/0.5 = 18;
    # attending not recorded → delivered 95: 190/95 = 2 → 30 × (3 − 2)/3 = 10. 58 → D (待改进)
    n = rows["D1"]["nodes"]
    assert (n["delivery_rate"]["value"], n["defect_free_rate"]["value"]) == (0.95, 0.8)
    assert n["defects_per_household"]["value"] == 2
    assert rows["D1"]["points"] == pytest.approx(58)
    assert rows["D1"]["grade"] == "D"


def test_perfect_delivery(rows: dict[str, dict]) -> None:
    # D2: 50/50 → 40; 50/50 → 30; 0 items / 40 attending → 30. 100 → A
    assert rows["D2"]["points"] == pytest.approx(100)
    assert rows["D2"]["grade"] == "A"


def test_attending_households_and_no_delivery(rows: dict[str, dict]) -> None:
    # D4: 190/200 = 0.95 → 30; 171/190 = 0.9 → 24; 45 / 180 attending = 0.25 → 30 × 2.75/3
    # = 27.5. 81.5 → B
    assert rows["D4"]["nodes"]["defects_per_household"]["value"] == pytest.approx(0.25)
    assert rows["D4"]["points"] == pytest.approx(81.5)
    assert rows["D4"]["grade"] == "B"
    # D3: its only delivery was in 2024 → all three missing, 0 points, no grade
    assert rows["D3"]["points"] == 0
    assert rows["D3"]["grade"] is None
    assert rows["D3"]["missing"] == ["delivery_rate", "defect_free_rate", "defects_per_household"]
