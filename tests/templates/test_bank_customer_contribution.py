"""bank-customer-contribution (客户贡献与星级): contributions from annual figures, stars."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme

SCHEME = "bank-customer-contribution"

DATA = {
    "customers": "customer_id\nK1\nK2\nK3\n",
    "ratings": """
entity_id,period,indicator,score
K1,2025,loan_interest,500000
K1,2025,loan_balance_days,3600000000
K1,2025,loan_losses,10000
K1,2025,loan_transactions,100
K1,2025,deposit_balance_days,1800000000
K1,2025,deposit_interest_paid,30000
K1,2025,deposit_transactions,200
K1,2025,fee_income,20000
K1,2025,adjustment,250000
K1,2024,adjustment,9000000
K2,2025,adjustment,-10000
""",
}


def _run(tmp_path: Path, params: dict[str, str] | None = None) -> dict[str, dict]:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025", params=params)
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_contributions_and_stars(tmp_path: Path) -> None:
    rows = _run(tmp_path)
    k1 = rows["K1"]
    # loan: 500,000 − 3.6e9 × 0.025 / 360 (= 250,000) − 10,000 − 100 × 5 (= 500)
    #       − 500,000 × 0.0672 (= 33,600) = 205,900
    assert k1["loan_contribution_amount"] == Decimal("205900")
    # deposit income: 1.8e9 × 0.93 × 0.022 / 360 (= 102,300) + 1.8e9 × 0.07 × 0.0162 / 360
    #   (= 5,670) = 107,970; cost 30,000 + 200 × 5 = 31,000 → 76,970
    assert k1["deposit_contribution_amount"] == Decimal("76970")
    assert k1["fee_contribution_amount"] == Decimal("20000")
    # contribution 205,900 + 76,970 + 20,000 = 302,870; + adjustment 250,000 = 552,870
    # (the 2024 adjustment is another year) → ≥ 500,000 → four stars
    assert k1["contribution_amount"] == Decimal("302870")
    assert k1["rating_value_amount"] == Decimal("552870")
    assert k1["grade"] == "S4"


def test_adjustment_only_and_no_data(tmp_path: Path) -> None:
    rows = _run(tmp_path)
    # K2: only an adjustment of −10,000 → contribution 0, rating value −10,000 → one star
    assert rows["K2"]["contribution_amount"] == Decimal("0")
    assert rows["K2"]["rating_value_amount"] == Decimal("-10000")
    assert rows["K2"]["grade"] == "S1"
    # K3: no figure at all → no star
    assert rows["K3"]["grade"] is None


def test_rates_and_thresholds_are_parameters(tmp_path: Path) -> None:
    # loan FTP 3 %: funding cost 3.6e9 × 0.03 / 360 = 300,000 → loan 155,900;
    # rating value 502,870; four stars now need 600,000 → three stars (≥ 200,000)
    rows = _run(tmp_path, {"loan_ftp": "0.03", "star4_from": "600000"})
    assert rows["K1"]["loan_contribution_amount"] == Decimal("155900")
    assert rows["K1"]["rating_value_amount"] == Decimal("502870")
    assert rows["K1"]["grade"] == "S3"
