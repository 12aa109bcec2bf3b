"""dealer-aftersales-audit: the seed's front-desk example, pass marks, weak modules."""

MODULES = {
    "core_process": 195,
    "safety_5s": 62,
    "staff_training": 28,
    "documents": 11,
    "boards": 24,
    "dms": 10,
    "workshop": 290,
    "parts": 150,
    "claims": 50,
    "customer_service": 140,
    "station_manager": 40,
}


def ratings(dealer: str, scores: dict[str, float]) -> str:
    return "\n".join(f"{dealer},2025,{k},{v},审核员" for k, v in scores.items())


def test_it_reproduces_the_seed_front_desk_and_marks_weak_modules(run_scheme):
    seed = {
        "core_process": 100,
        "safety_5s": 43,
        "staff_training": 9,
        "documents": 7,
        "boards": 0,
        "dms": 5,
    }
    full = {k: v for k, v in MODULES.items() if k not in seed}
    rows = run_scheme(
        "dealer-aftersales-audit",
        {
            "dealers": "dealer_id,name\nD1,上海某汽车销售服务有限公司\nD2,恰好七成店",
            "ratings": "entity_id,period,indicator,score,rater\n"
            + ratings("D1", {**seed, **full})
            + "\n"
            + ratings("D2", {k: v * 0.7 for k, v in MODULES.items()}),
        },
        "2025",
    )
    d1 = rows["D1"]["nodes"]
    # 100 + 43 + 9 + 7 + 0 + 5 = 164 of 330 = 49.7 % → not passed
    assert d1["front_desk"]["points"] == 164.0
    assert round(d1["front_desk"]["score"], 1) == 49.7
    assert d1["front_desk"]["passed"] is False
    # module rates 51 %, 69 %, 32 %, 64 %, 0 %, 50 % — all weak
    rates = [round(d1[m]["score"]) for m in seed]
    assert rates == [51, 69, 32, 64, 0, 50]
    assert all(d1[m]["passed"] is False for m in seed)
    # the other departments are full: 164 + 290 + 150 + 50 + 140 + 40 = 834 ≥ 700
    assert rows["D1"]["points"] == 834.0
    assert rows["D1"]["grade"] == "pass"
    assert rows["D1"]["actions"] == ["rectify_front_desk"]
    # D2: exactly 70 % everywhere passes everywhere (the pass mark is inclusive)
    d2 = rows["D2"]
    assert d2["points"] == 700.0 and d2["grade"] == "pass"
    assert all(node["passed"] for node in d2["nodes"].values())
    assert d2["actions"] == []


def test_an_unaudited_module_scores_zero_and_is_listed_missing(run_scheme):
    rows = run_scheme(
        "dealer-aftersales-audit",
        {
            "dealers": "dealer_id,name\nD3,部分评估店",
            "ratings": "entity_id,period,indicator,score,rater\n"
            + ratings("D3", {k: v for k, v in MODULES.items() if k != "workshop"}),
        },
        "2025",
    )
    d3 = rows["D3"]
    assert d3["missing"] == ["workshop"]
    assert d3["points"] == 710.0
    assert d3["nodes"]["workshop"]["passed"] is False
    assert d3["actions"] == ["rectify_workshop"]
