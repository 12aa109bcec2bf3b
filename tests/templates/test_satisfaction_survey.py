"""satisfaction-survey (顾客满意度调查): bands with interpolation, picks inside a band, checks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "satisfaction-survey"

_S1_SALES = "\n".join(f"S1,2025-0{1 + i % 9}-10,100,B{i}" for i in range(10))
_S2_SALES = "\n".join(f"S2,2025-0{1 + i % 9}-12,100,K{i}" for i in range(20))

DATA = {
    "customers": """
customer_id,vip_designated
S1,false
S2,false
S3,true
""",
    "sales": "customer_id,date,amount,batch_id\n"
    + _S1_SALES
    + "\n"
    + _S2_SALES
    + "\nS3,2024-05-01,100,OLD",
    "events": """
entity_id,date,type,count
S2,2025-02-01,defective_delivery,2
S2,2025-03-01,late_delivery,1
S2,2025-04-01,late_delivery,2
S2,2025-05-01,missed_feedback,2
S1,2024-06-01,missed_feedback,5
""",
    "complaints": """
entity_id,opened_at,resolved_at,severity
S2,2025-02-28,2025-03-05,minor
S2,2025-05-01,2025-05-03,minor
""",
    "ratings": """
entity_id,period,indicator,score
S1,2025,product_development,12
S1,2025,price_competitiveness,9
S1,2025,overall_image,8
S2,2025,product_development,10
S2,2025,overall_image,6
S2,2025,communication_points,9
S2,2025,complaint_handling_points,15
S3,2024,overall_image,10
""",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("survey")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025")


@pytest.fixture(scope="module")
def rows(result) -> dict[str, dict]:
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_seven_items_total_100() -> None:
    rs = resolve_scheme(SCHEME)
    assert [n.max for n in rs.leaves()] == [15, 15, 15, 15, 15, 15, 10]


def test_a_clean_year_with_answers(rows: dict[str, dict]) -> None:
    # S1: 10 batches, none defective → 15; none late → 100 % → 15; no missed feedback → 15
    # (no pick: top of band A); no complaint → 15; answers 12 + 9 + 8. 89 → B (满意).
    # The 2024 missed feedbacks lie outside the year.
    r = rows["S1"]
    assert {k: v["points"] for k, v in r["nodes"].items()} == {
        "satisfaction": 89.0,
        "delivery_quality": 15.0,
        "delivery_capability": 15.0,
        "communication": 15.0,
        "product_development": 12.0,
        "complaint_handling": 15.0,
        "price_competitiveness": 9.0,
        "overall_image": 8.0,
    }
    assert r["grade"] == "B"
    assert r["missing"] == []


def test_interpolation_and_picks_inside_bands(rows: dict[str, dict]) -> None:
    # S2: 20 batches. defect rate 2/20 = 0.10 in (5 %, 30 %] → [10, 8], lower is better:
    #   8 + 2 × (1 − (0.10 − 0.05)/0.25) = 9.6.
    # fulfilment (20 − 3)/20 = 0.85 in (80 %, 90 %] → [10, 8], higher is better:
    #   8 + 2 × (0.85 − 0.8)/0.1 = 9.
    # 2 missed feedbacks → band 10…8, the rater picked 9 → 9.
    # complaints take 3 working days and 0: opened Friday 2025-02-28, resolved Wednesday
    #   03-05 → Mon 03-03, Tue 03-04, Wed 03-05 (5 calendar days, which would be band E);
    #   opened 05-01, resolved 05-03, both in the Labour Day holiday (05-01…05-05) → 0.
    #   The slowest (3) → band 14…11; the pick 15 lies outside and is moved to 14.
    # product development 10, price not answered → 0, image 6.
    # 9.6 + 9 + 9 + 10 + 14 + 0 + 6 = 57.6 → E (很不满意); responded but not effective.
    r = rows["S2"]
    nodes = r["nodes"]
    assert nodes["delivery_quality"]["value"] == pytest.approx(0.10)
    assert nodes["delivery_quality"]["points"] == pytest.approx(9.6)
    assert nodes["delivery_capability"]["points"] == pytest.approx(9)
    assert nodes["communication"]["points"] == pytest.approx(9)
    assert nodes["complaint_handling"]["value"] == 1
    assert nodes["complaint_handling"]["points"] == pytest.approx(14)
    assert r["points"] == pytest.approx(57.6)
    assert r["grade"] == "E"
    assert r["missing"] == ["price_competitiveness"]


def test_a_customer_without_business_or_answers(rows: dict[str, dict]) -> None:
    # S3: no shipment in 2025 → both delivery items excluded; communication 15 and complaint
    # handling 15 (nothing to count); no 2025 answer → 0 + 0 + 0. Present maximum 70:
    # 100 × 30 / 70 = 42.857142857. Not surveyed → no grade.
    r = rows["S3"]
    assert r["points"] == pytest.approx(300 / 7)
    assert r["grade"] is None
    assert set(r["missing"]) == {
        "delivery_quality",
        "delivery_capability",
        "product_development",
        "price_competitiveness",
        "overall_image",
    }


def test_survey_quality_checks_are_reported(result) -> None:
    checks = {c.id: c for c in result.checks}
    # active customers S1, S2 both responded → 100 %
    assert checks["respondent_coverage"].share == 1 and checks["respondent_coverage"].ok
    # the only key customer S3 did not respond → 0 % < 100 %
    assert checks["key_customer_coverage"].share == 0 and not checks["key_customer_coverage"].ok
    # effective: S1 of S1, S2 → 50 % < 70 %
    assert checks["effective_response_rate"].share == 0.5
    assert not checks["effective_response_rate"].ok
    assert any("effective_response_rate" in w for w in result.warnings)
