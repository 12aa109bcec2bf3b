"""customer-tiering: base tiers, half-year demotion, lost customers, overrides."""

CUSTOMERS = """
customer_id,name,vip_designated
T1,积分客户,false
T2,常客,false
T3,指定客户,true
T4,回头客,false
T5,一次客户,false
T6,只来看看,false
T7,半年未来,false
T8,流失客户,false
T9,店长指定,false
T0,从未来过,false
"""

SALES = """
customer_id,date,amount
T1,2025-03-01,4000
T1,2025-09-01,1000
T2,2025-11-01,10
T2,2025-11-05,10
T2,2025-11-09,10
T2,2025-12-01,10
T2,2025-12-05,10
T2,2025-12-09,10
T4,2025-10-01,100
T4,2025-11-01,100
T5,2025-12-20,100
T7,2025-04-15,3000
T7,2025-05-15,3000
T8,2024-11-30,9000
T9,2025-12-01,50
"""


def test_tiers_demotion_loss_and_overrides(run_scheme):
    rows = run_scheme(
        "customer-tiering",
        {
            "customers": CUSTOMERS,
            "sales": SALES,
            "visits": "customer_id,date\nT6,2025-12-03\nT3,2025-08-01",
            "overrides": "entity_id,period,grade,reason,set_by\nT9,2025-12,A,大客户潜力,王店长",
        },
        "2025-12",
    )
    grade = {k: r["grade"] for k, r in rows.items()}
    # T1: 5,000 yuan → exactly 50 points → A (bought in the last 6 months, no demotion)
    assert grade["T1"] == "A"
    # T2: 6 purchases in Nov–Dec (> 5) → A
    assert grade["T2"] == "A"
    # T3: designated by the general manager; visited in August → no demotion
    assert grade["T3"] == "A"
    # T4: bought twice → B; T5 once → C; T6 only visited → C
    assert (grade["T4"], grade["T5"], grade["T6"]) == ("B", "C", "C")
    # T7: 60 points → A, but nothing since May (no visit either) → one tier down: B
    assert grade["T7"] == "B"
    # T8: last purchase 2024-11-30, more than 12 months before 2025-12 → lost, no grade
    assert grade["T8"] is None
    assert rows["T8"]["classes"] == ["lost"] and rows["T8"]["class"] == "lost"
    # T9: would be C; the store manager's override wins and the output says so
    assert grade["T9"] == "A"
    assert rows["T9"]["override"] == "大客户潜力"
    # T0: never bought, never visited → no grade
    assert grade["T0"] is None and rows["T0"]["classes"] == []


def test_an_override_naming_an_unknown_grade_is_a_data_error(run_scheme):
    import pytest

    from pingji.errors import DataError

    with pytest.raises(DataError, match="unknown grade") as err:
        run_scheme(
            "customer-tiering",
            {
                "customers": CUSTOMERS,
                "sales": SALES,
                "visits": "customer_id,date",
                "overrides": "entity_id,period,grade,reason\nT9,2025-12,AAA,笔误",
            },
            "2025-12",
        )
    # what is expected is worded when the error is read, in the reader's language
    assert err.value.render("en").endswith("expected one of A, B, C (scheme customer-tiering))")
    assert err.value.render("zh").endswith("应为以下之一：A, B, C（方案 customer-tiering））")
