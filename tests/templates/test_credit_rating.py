"""credit-rating (客户信用等级评定): hand-computed points, caps, credit line and payment terms."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "credit-rating"


def _write(folder: Path, tables: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


# Shipments of C1 and C2: one per quarter in 2024 (100 each) and 2025 (130 each), each paid the
# same day, so nothing is ever outstanding. C2 also ships 1000 on 2025-03-01, paid 2025-08-01.
_QUARTERLY = [
    "2024-01-15,100",
    "2024-04-15,100",
    "2024-07-15,100",
    "2024-10-15,100",
    "2025-01-15,130",
    "2025-04-15,130",
    "2025-07-15,130",
    "2025-10-15,130",
]
_SALES = "\n".join(f"{c},{row}" for c in ("C1", "C2") for row in _QUARTERLY)
# A strong balance sheet (see test_a_strong_customer_gets_every_point for each ratio).
_STRONG = "20000000,8000000,10000000,5000000,4000000,60000000,6000000,2500000"

DATA = {
    "customers": """
customer_id,created_on,opening_balance,net_assets
C1,2015-03-01,0,2000000.50
C2,2015-03-01,0,1234567.89
C3,2025-06-30,5000,
""",
    "sales": "customer_id,date,amount\n" + _SALES + "\nC2,2025-03-01,1000",
    "payments": "customer_id,date,amount\n" + _SALES + "\nC2,2025-08-01,1000",
    "returns": "customer_id,date,amount\n",
    "events": "entity_id,date,type,count\n",
    "ratings": """
entity_id,period,indicator,score
C1,2025-Q4,management_quality,100
C1,2025-Q4,industry_standing,100
C1,2025-Q4,cooperation_attitude,100
C2,2025-Q4,management_quality,100
C2,2025-Q4,industry_standing,100
C2,2025-Q4,cooperation_attitude,100
C1,2025-Q3,management_quality,0
""",
    "financials": f"""
customer_id,period_end,total_assets,total_liabilities,current_assets,current_liabilities,inventory,revenue,net_profit,operating_cash_flow
C1,2024-12-31,1,2,1,1,0,1,0,0
C1,2025-09-30,{_STRONG}
C2,2025-09-30,{_STRONG}
C3,2025-09-30,1000000,1200000,500000,800000,100000,2000000,-100000,-50000
C1,2026-03-31,1,2,1,1,0,1,0,0
""",
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = _write(tmp_path_factory.mktemp("credit"), DATA)
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025-Q4")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def _points(row: dict) -> dict[str, float]:
    return {k: round(v["points"], 6) for k, v in row["nodes"].items()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_twenty_indicators_financial_30_non_financial_70() -> None:
    rs = resolve_scheme(SCHEME)
    leaves = {n.id: n.max for n in rs.leaves()}
    assert len(leaves) == 20
    financial = (
        "current_ratio",
        "quick_ratio",
        "cash_flow_ratio",
        "debt_ratio",
        "net_assets_scale",
        "profit_margin",
        "return_on_assets",
        "revenue_scale",
    )
    assert sum(leaves[i] for i in financial) == 30
    assert sum(leaves.values()) - 30 == 70
    assert [rs.nodes[g].max for g in ("character", "fulfilment", "capital")] == [35, 47, 18]


def test_a_strong_customer_gets_every_point(rows: dict[str, dict]) -> None:
    # 品质特性: since 2015 ≥ 5 years → 5; ratings 100 → 7 + 6 + 4; 4 active quarters → 5;
    #   growth (520 − 400) / 400 = 0.3 ≥ 0.2 → 4; no bad records → 4.                 = 35
    # 信用履约: collection 520/520 = 1 → 10; no overdue checkpoint → 10; debt 0 → 0 days → 7;
    #   promises 4, bounced 4; current 10M/5M = 2 → 4; quick (10M − 4M)/5M = 1.2 → 4;
    #   cash flow 2.5M/5M = 0.5 → 4.                                                 = 47
    # 资本状况: debt ratio 8/20 = 0.4 → 5; equity 12M ≥ 10M → 4; margin 6/60 = 0.1 → 3;
    #   ROA 6/20 = 0.3 → 3; revenue 60M ≥ 50M → 3.                                   = 18
    # The Q3 rating of 0, the 2024 and the 2026 statements are outside what the quarter reads.
    r = rows["C1"]
    assert r["points"] == pytest.approx(100)
    assert r["score"] == pytest.approx(100)
    assert r["grade"] == "AAA"
    assert r["missing"] == []
    # credit line = 2,000,000.50 × 1.0, exactly
    assert r["credit_line"] == Decimal("2000000.50")
    assert r["payment_terms"] == 90


def test_an_overdue_episode_caps_the_grade_at_b(rows: dict[str, dict]) -> None:
    # C2 ships 1000 on 2025-03-01 and pays on 2025-08-01 (153 days). Checkpoints are
    # 2025-12-31 − 30k days: k=6 → 2025-07-04 and k=7 → 2025-06-04 see the shipment older
    # than 90 days (before 04-05 / 03-06) and unpaid → 2 overdue checkpoints → 10 − 2 × 2.5 = 5.
    # k=5 (2025-08-03) is after the payment; k=8 (2025-05-05) needs shipments before 02-04.
    # Everything else as C1: collection 1520/1520 = 1, growth 1120/400 → 4. 100 − 5 = 95 → AAA,
    # capped at B. credit line = 1,234,567.89 × 0.3 = 370,370.367; terms 30 days.
    r = rows["C2"]
    assert r["nodes"]["overdue_record"]["value"] == 2
    assert r["nodes"]["overdue_record"]["points"] == pytest.approx(5)
    assert r["points"] == pytest.approx(95)
    assert r["grade"] == "B"
    assert r["credit_line"] == Decimal("370370.367")
    assert r["payment_terms"] == 30


def test_an_insolvent_new_customer_without_data(rows: dict[str, dict]) -> None:
    # C3: developed 2025-06-30, 184 days → 0.504 years → 1 point; no ratings → 0 (missing);
    # no shipment → continuity 0, growth missing → 0, collection missing → 0;
    # the opening balance of 5000 is outstanding at all 13 checkpoints → 10 − 13 × 2.5 → 0,
    # and receivable days are missing (debt, but no sales) → 0; no events → 4 + 4 + 4.
    # Statement: current 0.625 → 0, quick 0.5 → 0, cash flow −0.0625 → 0, debt ratio 1.2 → 0,
    # equity −200,000 → 0, margin and ROA negative → 0, revenue 2M / 50M × 3 = 0.12.
    # Total 1 + 12 + 0.12 = 13.12 → C (also capped: overdue → B, insolvent → C).
    r = rows["C3"]
    points = _points(r)
    assert points["cooperation_years"] == 1
    assert points["overdue_record"] == 0
    assert points["revenue_scale"] == pytest.approx(0.12)
    assert r["points"] == pytest.approx(13.12)
    assert r["grade"] == "C"
    assert set(r["missing"]) == {
        "management_quality",
        "industry_standing",
        "cooperation_attitude",
        "sales_growth",
        "collection_rate",
        "receivable_days",
    }
    # net_assets is empty: the statement's equity (−200,000) is used, floored at 0 → 0
    assert r["credit_line"] == Decimal("0")
    assert r["payment_terms"] == 0


def test_multipliers_and_terms_are_parameters(tmp_path: Path) -> None:
    folder = _write(tmp_path / "d", DATA)
    result = evaluate(
        resolve_scheme(SCHEME),
        open_dataset(folder),
        "2025-Q4",
        params={"mult_b": "0.25", "terms_b": "15", "overdue_days": "200"},
    )
    got = {r["entity_id"]: r for r in result.table.to_pylist()}
    # with a 200-day limit C2's 153-day episode is no longer overdue: 100 points, AAA
    assert got["C2"]["grade"] == "AAA"
    assert got["C2"]["credit_line"] == Decimal("1234567.89")
    # C3 stays C (insolvent)
    assert got["C3"]["grade"] == "C"
    result = evaluate(
        resolve_scheme(SCHEME),
        open_dataset(folder),
        "2025-Q4",
        params={"mult_b": "0.25", "terms_b": "15"},
    )
    c2 = next(r for r in result.table.to_pylist() if r["entity_id"] == "C2")
    # 1,234,567.89 × 0.25 = 308,641.9725
    assert c2["credit_line"] == Decimal("308641.9725")
    assert c2["payment_terms"] == 15
