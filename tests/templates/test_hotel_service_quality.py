"""hotel-service-quality (酒店服务质量): mean of seven guest-rated aspects, bands, actions."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "hotel-service-quality"

ASPECTS = (
    "check_in",
    "room_facilities",
    "dining",
    "cleanliness",
    "staff_attitude",
    "equipment",
    "feedback_response",
)
_H1 = {
    "room_facilities": 88,
    "dining": 92,
    "cleanliness": 90,
    "staff_attitude": 96,
    "equipment": 85,
    "feedback_response": 84,
}
RATINGS = (
    ["H1,2025,check_in,90,guest1", "H1,2025,check_in,100,guest2", "H1,2024,dining,0,guest3"]
    + [f"H1,2025,{a},{s},guest1" for a, s in _H1.items()]
    + ["H2,2025,check_in,80,g", "H2,2025,dining,70,g", "H2,2025,cleanliness,55,g"]
    + [f"H3,2025,{a},89.5,g" for a in ASPECTS]
)
DATA = {
    "staff": "staff_id,name,department\nH1,一号店,前厅部\nH2,二号店,客房部\nH3,三号店,餐饮部\nH4,四号店,前厅部\n",
    "ratings": "entity_id,period,indicator,score,rater\n" + "\n".join(RATINGS) + "\n",
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("hotel")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_overall_is_the_mean_of_seven(rows: dict[str, dict]) -> None:
    # H1: check-in (90 + 100) / 2 = 95 (the 2024 rating is another year);
    # (95 + 88 + 92 + 90 + 96 + 85 + 84) / 7 = 630 / 7 = 90 → 优秀
    r = rows["H1"]
    assert r["nodes"]["check_in"]["score"] == pytest.approx(95)
    assert r["score"] == pytest.approx(90)
    assert r["grade"] == "excellent"
    assert r["actions"] == []


def test_unrated_aspects_are_left_out(rows: dict[str, dict]) -> None:
    # H2: only three aspects rated: (80 + 70 + 55) / 3 = 68.333… → 不足;
    # cleanliness 55 < 60 → improvement plan
    r = rows["H2"]
    assert r["score"] == pytest.approx(205 / 3)
    assert r["grade"] == "insufficient"
    assert r["actions"] == ["improvement_plan"]
    assert r["missing"] == ["room_facilities", "staff_attitude", "equipment", "feedback_response"]


def test_band_edges_and_no_ratings(rows: dict[str, dict]) -> None:
    # H3: 89.5 everywhere → 89.5 < 90 → 良好; H4: nobody rated → no score, no grade
    assert rows["H3"]["score"] == pytest.approx(89.5)
    assert rows["H3"]["grade"] == "good"
    assert rows["H4"]["score"] is None
    assert rows["H4"]["grade"] is None
