"""supplier-rating: deductions per started percent, exclusion, weight profiles, consequences."""

import pytest


def inspections(
    supplier: str, month: str, passed: int, failed: int = 0, concession: int = 0
) -> str:
    rows = []
    for i in range(passed + failed + concession):
        result = "pass" if i < passed else "fail" if i < passed + failed else "concession"
        rows.append(f"{supplier},{month}-{1 + i % 28:02d},{result},B{supplier}{month}{i}")
    return "\n".join(rows)


def data(inspection_rows: str, **tables: str) -> dict:
    out = {
        "suppliers": """
            supplier_id,name,category
            S1,芯片供应商,ic
            S2,线路板供应商,pcb
            S3,办公用品供应商,office
            S4,大宗原料供应商,bulk
        """,
        "inspections": "supplier_id,date,result,batch_id\n" + inspection_rows,
        "production_defects": "supplier_id,date,used_qty,defective_qty\n"
        + tables.pop("defects", ""),
        "complaints": "entity_id,opened_at,severity\n" + tables.pop("complaints", ""),
        "deliveries": "supplier_id,due_date,delivered_date\n" + tables.pop("deliveries", ""),
        "quotes": "supplier_id,date,premium\n" + tables.pop("quotes", ""),
        "events": "entity_id,date,type,count\n" + tables.pop("events", ""),
    }
    assert not tables
    return out


def test_it_scores_each_dimension_and_weights_them_by_category(run_scheme):
    rows = run_scheme(
        "supplier-rating",
        data(
            # S1: 100 batches, 97 pass, 1 concession → 97 % → exactly 3 steps → 60 − 9 − 5 = 46
            inspections("S1", "2025-12", 97, 2, 1),
            # 20 defective of 1000 used = 2 % > 1 % → 0.01/0.005 = 2 steps → 20 − 10 = 10
            defects="S1,2025-12-05,1000,20",
            # one minor complaint → 20 − 5 = 15
            complaints="S1,2025-12-03,minor",
            # premium exactly 3 % → the [3 %, 6 %) band → −30; one invoice issue → −5
            quotes="S1,2025-12-01,0.03",
            events="S1,2025-12-09,invoice_issue,1\nS1,2025-12-10,service_attitude,1",
        ),
        "2025-12",
    )
    s1 = rows["S1"]["nodes"]
    assert s1["batch_pass"]["value"] == 97.0
    assert s1["batch_pass"]["points"] == 46.0
    assert s1["process_defect"]["points"] == 10.0
    assert s1["customer_complaints"]["points"] == 15.0
    assert s1["quality"]["points"] == 71.0
    assert s1["delivery"]["points"] == 100.0
    assert s1["attitude"]["points"] == 20.0
    assert s1["service"]["points"] == 90.0
    assert s1["price"]["points"] == 65.0
    # ic weights delivery:service:quality:price = 2:1:2:5
    # (2·100 + 1·90 + 2·71 + 5·65) / 10 = (200 + 90 + 142 + 325) / 10 = 75.7 → B
    assert rows["S1"]["score"] == 75.7
    assert rows["S1"]["grade"] == "B"
    assert rows["S1"]["actions"] == []


def test_a_started_percent_counts_as_a_full_step(run_scheme):
    # 200 batches, 197 pass → 98.5 % → ceil(1.5) = 2 steps → 60 − 6 = 54
    # 0.012 defect rate → (0.012 − 0.01)/0.005 = 0.4 → 1 started step → 15
    rows = run_scheme(
        "supplier-rating",
        data(inspections("S2", "2025-12", 197, 3), defects="S2,2025-12-02,1000,12"),
        "2025-12",
    )
    s2 = rows["S2"]["nodes"]
    assert s2["batch_pass"]["points"] == 54.0
    assert s2["process_defect"]["points"] == 15.0
    # pcb 4:1:4:1 — quality 54 + 15 + 20 = 89; (4·100 + 100 + 4·89 + 100)/10 = 95.6 → A
    assert rows["S2"]["score"] == 95.6
    assert rows["S2"]["grade"] == "A"


def test_without_inspections_batch_pass_is_excluded_and_quality_rescaled(run_scheme):
    rows = run_scheme(
        "supplier-rating",
        data("", complaints="S3,2025-12-01,major"),
        "2025-12",
    )
    s3 = rows["S3"]
    assert s3["missing"] == ["batch_pass"]
    assert s3["nodes"]["batch_pass"]["points"] is None
    # (process_defect 20 + complaints 20 − 10) × 100/40 = 75
    assert s3["nodes"]["quality"]["points"] == 75.0
    # office 1:2:2:5 → (100 + 200 + 150 + 500)/10 = 95
    assert s3["score"] == 95.0


def test_premium_bands_have_closed_lower_edges(run_scheme):
    rows = run_scheme(
        "supplier-rating",
        data(
            inspections("S1", "2025-12", 10) + "\n" + inspections("S2", "2025-12", 10),
            quotes="S1,2025-12-01,0.0099\nS2,2025-12-01,0.01\nS3,2025-12-01,0.06\nS4,2025-12-01,0.02\nS4,2025-12-02,0.04",
        ),
        "2025-12",
    )
    assert rows["S1"]["nodes"]["price"]["points"] == 100.0  # < 1 %
    assert rows["S2"]["nodes"]["price"]["points"] == 85.0  # exactly 1 %
    assert rows["S3"]["nodes"]["price"]["points"] == 50.0  # exactly 6 %
    assert rows["S4"]["nodes"]["price"]["points"] == 70.0  # mean 3 %


def test_four_late_deliveries_suspend_and_three_c_months_disqualify(run_scheme):
    late = "\n".join(f"S1,2025-12-{d:02d},2025-12-{d + 1:02d}" for d in (1, 5, 9, 13))
    # S2 (pcb) is C in Oct, Nov and Dec: 4 late deliveries a month → delivery 0 → C
    late += "\n" + "\n".join(
        f"S2,{m}-{d:02d},{m}-{d + 2:02d}"
        for m in ("2025-10", "2025-11", "2025-12")
        for d in (2, 6, 10, 14)
    )
    # S4 is C in Nov and Dec only (four price_noncooperation events → price 60 → ...)
    ins = "\n".join(
        inspections(s, m, 10) for s in ("S1", "S2", "S4") for m in ("2025-10", "2025-11", "2025-12")
    )
    rows = run_scheme("supplier-rating", data(ins, deliveries=late), "2025-12")
    s1 = rows["S1"]
    assert s1["nodes"]["delivery"]["points"] == 0.0
    # ic: (0 + 100 + 2·100 + 5·100)/10 = 80 → B, but a dimension at 0 suspends
    assert s1["score"] == 80.0 and s1["grade"] == "B"
    assert s1["status"] == "suspended"
    s2 = rows["S2"]
    # pcb: (4·0 + 100 + 400 + 100)/10 = 60 → C three months running: disqualified wins
    assert s2["grade"] == "C"
    assert s2["status"] == "disqualified"
    assert s2["actions"] == ["corrective_action_report"]
    assert rows["S4"]["status"] is None


@pytest.mark.parametrize(("pass_count", "expected"), [(100, 60.0), (99, 57.0), (1, 0.0)])
def test_batch_pass_floors_at_zero(run_scheme, pass_count, expected):
    rows = run_scheme(
        "supplier-rating",
        data(inspections("S1", "2025-12", pass_count, 100 - pass_count)),
        "2025-12",
    )
    assert rows["S1"]["nodes"]["batch_pass"]["points"] == expected
