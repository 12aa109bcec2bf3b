"""customer-composite: the seed's worked example and hand-computed cases at every edge."""

from decimal import Decimal

import pytest

from pingji.errors import DataError

CUSTOMERS = """
customer_id,name
C1,示例客户
C2,边界客户
C3,超额客户
C4,无业务客户
C5,九十分客户
"""


def tables(sales: str, payments: str = "", returns: str = "", ratings: str = "") -> dict:
    return {
        "customers": CUSTOMERS,
        "sales": "customer_id,date,amount\n" + sales.strip(),
        "payments": "customer_id,date,amount\n" + payments.strip(),
        "returns": "customer_id,date,amount\n" + returns.strip(),
        "ratings": "entity_id,period,indicator,score,rater\n" + ratings.strip(),
    }


def test_it_reproduces_the_seed_worked_example(run_scheme):
    # sales 2,000,000 (prev 1,600,000), payments 1,840,000, returns 120,000, manager 80
    # → 28.5 + 30 + 4 + 0 + 8 = 70.5, grade A
    rows = run_scheme(
        "customer-composite",
        tables(
            "C1,2025-03-01,1500000\nC1,2025-09-30,500000\nC1,2024-12-31,1600000",
            "C1,2025-10-01,1840000",
            "C1,2025-11-01,120000",
            "C1,2025,manager_rating,80,张经理",
        ),
        "2025",
    )
    r = rows["C1"]
    assert r["score"] == 70.5
    assert r["grade"] == "A"
    nodes = r["nodes"]
    assert [
        nodes[i]["points"]
        for i in (
            "sales_volume",
            "sales_growth",
            "collection_rate",
            "return_rate",
            "manager_rating",
        )
    ] == [28.5, 30.0, 4.0, 0.0, 8.0]
    assert nodes["sales_volume"]["value"] == Decimal("2000000")
    assert nodes["sales_volume"]["max"] == 30.0 and nodes["sales_volume"]["score"] == 95.0
    assert r["missing"] == []
    # lost weighted points: collection 16, return 10, manager 2, sales volume 1.5
    assert r["reasons"] == ["low_collection_rate", "high_return_rate", "low_manager_rating"]


def test_it_clamps_at_the_anchor_points_and_scores_missing_input_zero(run_scheme):
    rows = run_scheme(
        "customer-composite",
        tables(
            # C2: exactly 100,000 → 0 points; no previous year → growth missing
            # C3: 3,000,000 (clamped 30); growth 50 % (clamped 30); overpaid (clamped 20);
            #     returns exactly 1 % → 10; ratings 70 and 90 → mean 80 → 8 — total 98 → AAA
            "C2,2025-01-01,100000\nC3,2025-06-01,3000000\nC3,2024-06-01,2000000",
            "C2,2025-02-01,95000\nC3,2025-07-01,3300000",
            "C2,2025-03-01,3000\nC3,2025-08-01,30000",
            "C3,2025,manager_rating,70,甲\nC3,2025,manager_rating,90,乙",
        ),
        "2025",
    )
    c2 = rows["C2"]
    # collection 0.95 → (0.95-0.90)/0.10 × 20 = 10; return 3 % → (0.05-0.03)/0.04 × 10 = 5
    assert c2["nodes"]["sales_volume"]["points"] == 0.0
    assert c2["nodes"]["sales_growth"]["points"] == 0.0
    assert c2["nodes"]["collection_rate"]["points"] == 10.0
    assert c2["nodes"]["return_rate"]["points"] == 5.0
    assert c2["missing"] == ["sales_growth", "manager_rating"]
    assert c2["score"] == 15.0 and c2["grade"] == "C"
    c3 = rows["C3"]
    assert c3["score"] == 98.0 and c3["grade"] == "AAA"
    assert c3["nodes"]["manager_rating"]["value"] == 80.0
    # an entity without any facts is still in the output, with everything missing but volume
    c4 = rows["C4"]
    assert c4["score"] == 0.0 and c4["grade"] == "C"
    assert c4["missing"] == ["sales_growth", "collection_rate", "return_rate", "manager_rating"]


def test_grade_bands_are_closed_at_their_lower_edge(run_scheme):
    # 30 + 30 + 20 + 10 + 0 = exactly 90 → AAA (the rating 0 is an input, not missing)
    rows = run_scheme(
        "customer-composite",
        tables(
            "C5,2025-01-01,2100000\nC5,2024-01-01,1680000",
            "C5,2025-12-31,2100000",
            "C5,2025-12-31,21000",
            "C5,2025,manager_rating,0,甲",
        ),
        "2025",
    )
    assert rows["C5"]["score"] == 90.0
    assert rows["C5"]["grade"] == "AAA"
    assert rows["C5"]["missing"] == []


def test_money_is_exact_so_paying_in_full_is_exactly_full_marks(run_scheme):
    # 0.10 + 0.20 shipped, 0.30 paid: a float sum would give 0.30000000000000004
    rows = run_scheme(
        "customer-composite",
        tables("C1,2025-01-01,0.10\nC1,2025-01-02,0.20", "C1,2025-02-01,0.30"),
        "2025",
    )
    assert rows["C1"]["nodes"]["collection_rate"]["value"] == 1.0
    assert rows["C1"]["nodes"]["collection_rate"]["points"] == 20.0


def test_a_rating_outside_its_scale_is_an_error_naming_the_row(run_scheme):
    with pytest.raises(DataError) as err:
        run_scheme(
            "customer-composite",
            tables(
                "C1,2025-01-01,10",
                ratings="C1,2025,manager_rating,80,甲\nC2,2025,manager_rating,101,乙",
            ),
            "2025",
        )
    text = str(err.value)
    assert "ratings" in text and "column 'score'" in text and "101" in text
    assert "0 to 100" in text


def test_a_period_of_the_wrong_kind_is_refused(run_scheme):
    from pingji.errors import BadInput

    with pytest.raises(BadInput, match="per year"):
        run_scheme("customer-composite", tables("C1,2025-01-01,10"), "2025-Q3")


def test_a_guards_expected_text_is_a_message_worded_in_the_readers_language(open_tables):
    from pingji.engine.frozen import FrozenPlan
    from pingji.engine.run import execute, plan_for
    from pingji.i18n import msg
    from pingji.periods import Period
    from pingji.templates import resolve_scheme

    rs = resolve_scheme("customer-composite")
    data = open_tables(
        tables("C1,2025-01-01,10", ratings="C1,2025,manager_rating,101,甲"),
    )
    plan = plan_for(rs, data, Period.parse("2025", rs.scheme.period))
    # the frozen plan keeps the message's id and parameters, not its English wording
    stored = FrozenPlan.from_json(plan.to_json())
    assert [g.expected for g in stored.guards] == [
        {
            "msgid": "a score from {low} to {high} (scheme {scheme})",
            "params": {"low": "0", "high": "100", "scheme": "customer-composite"},
        }
    ]
    with pytest.raises(DataError) as err:
        execute(stored, data, rs)
    assert err.value.expected == msg(
        "a score from {low} to {high} (scheme {scheme})",
        low="0",
        high="100",
        scheme="customer-composite",
    )
    assert err.value.render("en").endswith(
        "(got 101.0, expected a score from 0 to 100 (scheme customer-composite))"
    )
    assert err.value.render("zh").endswith(
        "（实际为 101.0，应为介于 0 到 100 之间的分数（方案 customer-composite））"
    )
