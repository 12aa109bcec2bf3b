"""customer-classification: every class, the precedence, and the seed's ambiguous edges."""

CUSTOMERS = """
customer_id,name,created_on,opening_balance
K1,无业务,2020-01-01,0
K2,待处理,2020-01-01,5000
K3,呆滞,2020-01-01,30000
K4,新增有效,2025-03-01,0
K5,新增无效,2025-04-01,0
K6,成熟,2020-01-01,0
K7,非正常,2020-01-01,0
K8,劣化,2020-01-01,0
K9,首单即新增,,0
"""

SALES = """
customer_id,date,amount,batch_id
K3,2025-02-01,1000,b1
K4,2025-03-10,150000,b1
K5,2025-04-10,100000,b1
K6,2025-01-10,50000,b1
K6,2025-04-10,50000,b2
K6,2025-07-10,50000,b3
K6,2025-10-10,50000,b4
K7,2025-05-01,200000,b1
K8,2024-05-01,300000,b1
K8,2025-05-01,150000,b1
K9,2025-08-01,20000,
"""

PAYMENTS = """
customer_id,date,amount
K3,2025-03-01,1000
K4,2025-04-01,150000
K5,2025-05-01,100000
K6,2025-12-01,198000
K7,2025-06-01,150000
K8,2024-06-01,300000
K8,2025-06-01,150000
K9,2025-09-01,20000
"""


def test_each_customer_gets_every_class_that_holds_and_one_by_precedence(run_scheme):
    rows = run_scheme(
        "customer-classification",
        {
            "customers": CUSTOMERS,
            "sales": SALES,
            "payments": PAYMENTS,
            "returns": "customer_id,date,amount\nK6,2025-11-01,1000",
        },
        "2025",
    )
    got = {k: (r["class"], r["classes"]) for k, r in rows.items()}
    # K1: no sales, no debt
    assert got["K1"] == ("no_business", ["no_business"])
    # K2: opening balance 5,000 unpaid, no sales this year → pending (not stagnant: debt < 20,000)
    assert got["K2"] == ("pending", ["pending"])
    # K3: sales 1,000 < 20,000 and debt 30,000 + 1,000 − 1,000 = 30,000 ≥ 20,000; one batch
    #     → stagnant and pending; stagnant comes first
    assert got["K3"] == ("stagnant", ["pending", "stagnant"])
    # K4: developed in 2025, 150,000 > 100,000 → new, new_effective (paid in full, one batch)
    assert got["K4"] == ("new_effective", ["new", "new_effective"])
    # K5: exactly 100,000 counts as ineffective
    assert got["K5"] == ("new_ineffective", ["new", "new_ineffective"])
    # K6: 200,000 in 4 batches, collection 0.99, returns 0.5 % → mature
    assert got["K6"] == ("mature", ["mature"])
    # K7: 200,000 with collection 0.75 → abnormal; owes 50,000 but has one batch → pending too
    assert got["K7"] == ("pending", ["pending", "abnormal"])
    # K8: 150,000 ≤ 0.5 × 300,000 → deteriorating (collection 1.0 both years, one batch, no debt)
    assert got["K8"] == ("deteriorating", ["deteriorating"])
    # K9: no created_on → first sale date 2025-08-01 → new; a row without batch_id is one batch
    assert got["K9"] == ("new_ineffective", ["new", "new_ineffective"])


def test_a_comparison_with_a_missing_ratio_is_false(run_scheme):
    # sales 0 this year → collection rate missing: "collection rate < 0.95" must not hold,
    # but "sales ≤ 0.5 × prev_sales" does → deteriorating; debt 0 → no_business too
    # (a sale of 2025 by a customer not in the table: 2025 is not a period after all the data)
    rows = run_scheme(
        "customer-classification",
        {
            "customers": "customer_id,name\nZ1,去年客户",
            "sales": "customer_id,date,amount\nZ1,2024-03-01,50000\nZ9,2025-06-01,1",
            "payments": "customer_id,date,amount\nZ1,2024-04-01,50000",
            "returns": "customer_id,date,amount",
        },
        "2025",
    )
    assert rows["Z1"]["classes"] == ["no_business", "deteriorating"]
    assert rows["Z1"]["class"] == "deteriorating"
