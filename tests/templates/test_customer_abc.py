"""customer-abc (客户 ABC 分类): cumulative revenue share, A/B/C by the share of the customers
ahead, the thresholds as parameters — on hand-made data computed by hand, and on the sample."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS, generate

SCHEME = "customer-abc"

# 2025 revenue: A1 400, A2 300, A3 100 (two rows), A4 100, A5 50, A6 30, A7 20 — total 1000;
# A8 sold for 0, A9 sold only in 2024, A10 never.
DATA = {
    "customers": "customer_id\n" + "\n".join(f"A{i}" for i in range(1, 11)),
    "sales": """
customer_id,date,amount
A1,2025-03-01,400
A2,2025-04-01,300
A3,2025-05-01,60
A3,2025-06-01,40
A4,2025-05-01,100
A5,2025-07-01,50
A6,2025-08-01,30
A7,2025-09-01,20
A8,2025-10-01,0
A9,2024-10-01,5000
""",
}

# Down by revenue, ties by id (A3 before A4), running sum ÷ 1000:
#        share   before = share − revenue/1000   grade (A: before < 0.80, B: < 0.95)
# A1     0.40    0.00                             A  (the largest customer)
# A2     0.70    0.40                             A
# A3     0.80    0.70                             A  (the one that reaches 80 %)
# A4     0.90    0.80                             B  (0.80 is not below 0.80)
# A5     0.95    0.90                             B
# A6     0.98    0.95                             C  (0.95 is not below 0.95)
# A7     1.00    0.98                             C
# A8, A9, A10: no revenue in 2025 → no share, C
EXPECTED = {
    "A1": (0.40, "400", "A"),
    "A2": (0.70, "300", "A"),
    "A3": (0.80, "100", "A"),
    "A4": (0.90, "100", "B"),
    "A5": (0.95, "50", "B"),
    "A6": (0.98, "30", "C"),
    "A7": (1.00, "20", "C"),
    "A8": (None, "0", "C"),
    "A9": (None, "0", "C"),
    "A10": (None, "0", "C"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("abc")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    return folder


def _rows(folder, params=None) -> dict[str, dict]:
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025", params)
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_shares_revenue_and_grades(folder) -> None:
    rows = _rows(folder)
    for cid, (share, revenue, grade) in EXPECTED.items():
        row = rows[cid]
        # share: a number rounded to 9 decimals, so 0.8 is 0.8 exactly
        assert row["share"] == share, cid
        assert row["revenue"] == Decimal(revenue), cid  # money: exact decimal
        assert row["grade"] == grade, cid
        assert (row["score"], row["class"]) == (None, None)


def test_the_thresholds_are_parameters(folder) -> None:
    # A below 0.5: A1 (0) and A2 (0.4) only; B below 0.99: A3 … A7 (before 0.7 … 0.98)
    rows = _rows(folder, {"a_share": "0.5", "b_share": "0.99"})
    assert {cid: rows[cid]["grade"] for cid in EXPECTED} == {
        "A1": "A",
        "A2": "A",
        "A3": "B",
        "A4": "B",
        "A5": "B",
        "A6": "B",
        "A7": "B",
        "A8": "C",
        "A9": "C",
        "A10": "C",
    }


def test_one_customer_explained_alone_keeps_its_population_share(folder) -> None:
    one = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025", entity="A4")
    (row,) = one.table.to_pylist()
    assert (row["share"], row["grade"]) == (0.9, "B")


def test_the_sample_data(tmp_path) -> None:
    generate(SCHEME, tmp_path, entities=200, seed=7)
    got = evaluate(
        resolve_scheme(SCHEME), open_dataset(tmp_path), SAMPLE_PERIODS[SCHEME]
    ).table.to_pylist()
    sold = sorted(
        (r for r in got if r["revenue"] > 0), key=lambda r: (-r["revenue"], r["entity_id"])
    )
    total = sum(r["revenue"] for r in sold)
    running = Decimal(0)
    for r in sold:  # recomputed here in exact decimals, compared at 9 decimals
        running += r["revenue"]
        assert r["share"] == pytest.approx(float(running / total), abs=1e-9)
        before = float((running - r["revenue"]) / total)
        want = "A" if round(before, 9) < 0.8 else "B" if round(before, 9) < 0.95 else "C"
        assert r["grade"] == want, r["entity_id"]
    assert {r["grade"] for r in sold} == {"A", "B", "C"}
    assert all(r["grade"] == "C" and r["share"] is None for r in got if r["revenue"] <= 0)
