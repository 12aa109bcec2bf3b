"""customer-rfm (RFM 客户价值细分): quintile scores by ntile, the RFM cell, ten segments and
no_purchase — on hand-made data computed by hand, and on the sample data."""

from __future__ import annotations

from collections import Counter

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_path, resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS, generate

SCHEME = "customer-rfm"


def _sales(rows: dict[str, tuple[str, list[int]]]) -> str:
    """Sales rows: per customer its last sale date and the amounts; earlier rows on Jan 1."""
    lines = ["customer_id,date,amount"]
    for cid, (last, amounts) in rows.items():
        for k, amount in enumerate(amounts):
            day = last if k == len(amounts) - 1 else "2025-01-01"
            lines.append(f"{cid},{day},{amount}")
    return "\n".join(lines)


# Period 2025: the window is the 12 months of 2025, the period end 2025-12-31.
# id: last sale (recency in days) · rows (frequency) · Σ amount (monetary)
# K01 12-31 (0) · 6 · 6000        K06 09-02 (120) · 2 · 300
# K02 12-21 (10) · 1 · 5000       K07 07-04 (180) · 3 · 2000
# K03 12-01 (30) · 3 · 800        K08 04-05 (270) · 5 · 7000
# K04 11-01 (60) · 1 · 9000       K09 02-04 (330) · 2 · 100
# K05 10-02 (90) · 3 · 3000       K10 01-01 (364) · 4 · 800
# K11 bought on 2024-12-31 only, K12 never: no sale in the window.
SALES = {
    "K01": ("2025-12-31", [1000] * 6),
    "K02": ("2025-12-21", [5000]),
    "K03": ("2025-12-01", [300, 300, 200]),
    "K04": ("2025-11-01", [9000]),
    "K05": ("2025-10-02", [1000] * 3),
    "K06": ("2025-09-02", [150, 150]),
    "K07": ("2025-07-04", [1000, 500, 500]),
    "K08": ("2025-04-05", [1400] * 5),
    "K09": ("2025-02-04", [50, 50]),
    "K10": ("2025-01-01", [200] * 4),
}
DATA = {
    "customers": "customer_id\n" + "\n".join(f"K{i:02d}" for i in range(1, 13)),
    "sales": _sales(SALES) + "\nK11,2024-12-31,500",
}

# Ten buyers, so each quintile holds two of them, taken in the order (value, id).
# R = 6 − ntile(recency): K01 K02 | K03 K04 | K05 K06 | K07 K08 | K09 K10 → 5 5 4 4 3 3 2 2 1 1
# F = ntile(frequency): K02 1, K04 1 | K06 2, K09 2 | K03 3, K05 3 | K07 3, K10 4 | K08 5, K01 6
#     — K07 ties K03 and K05 at 3 rows but comes after them by id: bucket 4.
# M = ntile(monetary): K09 100, K06 300 | K03 800, K10 800 | K07 2000, K05 3000 |
#     K02 5000, K01 6000 | K08 7000, K04 9000
EXPECTED = {
    # id: (R, F, M, class)
    "K01": (5, 5, 4, "champions"),  # R = 5, F ≥ 4
    "K02": (5, 1, 4, "new_customers"),  # R = 5, F = 1
    "K03": (4, 3, 2, "potential_loyalists"),  # R ≥ 4, F ∈ {2, 3}
    "K04": (4, 1, 5, "promising"),  # R = 4, F = 1
    "K05": (3, 3, 3, "need_attention"),  # R = 3, F = 3
    "K06": (3, 2, 1, "about_to_sleep"),  # R = 3, F ≤ 2
    "K07": (2, 4, 3, "at_risk"),  # R ≤ 2, F ∈ {3, 4}
    "K08": (2, 5, 5, "cant_lose"),  # R ≤ 2, F = 5
    "K09": (1, 2, 1, "hibernating"),  # R ≤ 2, F ≤ 2
    "K10": (1, 4, 2, "at_risk"),
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("rfm")
    for name, text in DATA.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")
    result = evaluate(resolve_scheme(SCHEME), open_dataset(folder), "2025")
    return {r["entity_id"]: r for r in result.table.to_pylist()}


def test_the_scheme_validates() -> None:
    result = CliRunner().invoke(app, ["validate", str(builtin_path(SCHEME))])
    assert result.exit_code == 0, result.output


def test_scores_cells_and_segments(rows: dict[str, dict]) -> None:
    for cid, (r, f, m, segment) in EXPECTED.items():
        row = rows[cid]
        assert (row["r"], row["f"], row["m"]) == (r, f, m), cid
        assert row["cell"] == f"{r}{f}{m}", cid
        assert (row["class"], row["classes"]) == (segment, [segment]), cid


def test_no_sale_in_the_window_is_no_purchase(rows: dict[str, dict]) -> None:
    for cid in ("K11", "K12"):  # K11's only sale falls in 2024
        row = rows[cid]
        assert (row["r"], row["f"], row["m"], row["cell"]) == (None, None, None, None)
        assert (row["class"], row["classes"]) == ("no_purchase", ["no_purchase"])


def test_there_is_no_score_and_no_grade(rows: dict[str, dict]) -> None:
    assert {(r["score"], r["grade"], r["nodes"]) for r in rows.values()} == {(None, None, None)}


def test_loyal_customers(tmp_path) -> None:
    # Five buyers: one per quintile. recency L1 0, L2 10, L3 20, L4 30, L5 40 → R 5 4 3 2 1;
    # rows L1 1, L2 4, L3 5, L4 2, L5 3 → F 1 4 5 2 3.
    # L1 (5, 1) new; L2 (4, 4) and L3 (3, 5) loyal; L4 (2, 2) hibernating; L5 (1, 3) at risk.
    sales = _sales(
        {
            "L1": ("2025-12-31", [10]),
            "L2": ("2025-12-21", [10] * 4),
            "L3": ("2025-12-11", [10] * 5),
            "L4": ("2025-12-01", [10] * 2),
            "L5": ("2025-11-21", [10] * 3),
        }
    )
    (tmp_path / "customers.csv").write_text("customer_id\nL1\nL2\nL3\nL4\nL5\n", encoding="utf-8")
    (tmp_path / "sales.csv").write_text(sales + "\n", encoding="utf-8")
    got = evaluate(resolve_scheme(SCHEME), open_dataset(tmp_path), "2025").table.to_pylist()
    assert [(r["entity_id"], r["r"], r["f"], r["class"]) for r in got] == [
        ("L1", 5, 1, "new_customers"),
        ("L2", 4, 4, "loyal_customers"),
        ("L3", 3, 5, "loyal_customers"),
        ("L4", 2, 2, "hibernating"),
        ("L5", 1, 3, "at_risk"),
    ]


def test_the_sample_data(tmp_path) -> None:
    generate(SCHEME, tmp_path, entities=200, seed=7)
    ev = evaluate(resolve_scheme(SCHEME), open_dataset(tmp_path), SAMPLE_PERIODS[SCHEME])
    got = ev.table.to_pylist()
    buyers = [r for r in got if r["class"] != "no_purchase"]
    # every customer with a sale in 2025 has scores; quintiles are as even as ntile makes them
    assert buyers and all(r["r"] and r["f"] and r["m"] for r in buyers)
    n = len(buyers)
    for key in ("r", "f", "m"):
        sizes = Counter(r[key] for r in buyers)
        assert set(sizes) == {1, 2, 3, 4, 5}
        assert set(sizes.values()) <= {n // 5, n // 5 + 1}, key
    assert all(r["cell"] == f"{r['r']}{r['f']}{r['m']}" for r in buyers)
    # the sample's customers without any fact (C000007) or with sales in 2024 only (C000012)
    by_id = {r["entity_id"]: r for r in got}
    assert by_id["C000007"]["class"] == by_id["C000012"]["class"] == "no_purchase"
    # a realistic book shows most segments
    assert len({r["class"] for r in buyers}) >= 8
