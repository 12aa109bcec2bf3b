"""A scheme written from docs/ alone, as a new user would, on data made by hand; every number
below is computed by hand (review of the scheme language 2 change)."""

from __future__ import annotations

import json
import textwrap

from pingji.cli.main import main

SCHEME = """
id: outsider-check
label: 外部试用
entity: customers
period: year
metrics:
  revenue: {label: 收入, sum: sales.amount}
  prev: {label: 上年收入, sum: sales.amount, window: previous}
  growth: {label: 增长率, expr: "(revenue - prev) / prev"}
  share: {label: 累计占比, expr: "cum_share(revenue)"}
tree:
  id: total
  children:
    - {id: volume, max: 50, value: revenue, rule: {linear: {zero_at: 0, full_at: 600}}}
    - {id: growth, max: 50, missing: zero, rule: {linear: {zero_at: 0, full_at: 1}}}
grades:
  levels:
    - {grade: A, min: 60}
    - {grade: B, min: 20}
    - {grade: C}
outputs:
  - {id: pareto, expr: share, round: 4}
  - {id: last_year_score, expr: "score_at(1)", round: 4}
"""

DATA = {
    "customers.csv": "customer_id,name\nA,甲公司\nB,乙公司\nC,丙公司\n",
    "sales.csv": textwrap.dedent("""\
        customer_id,date,amount
        A,2024-03-01,100
        B,2024-05-01,300
        A,2025-02-01,600
        B,2025-06-01,300
        C,2025-09-01,100
        """),
}


def test_a_scheme_written_from_the_docs_gives_the_hand_computed_numbers(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(SCHEME, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    for name, text in DATA.items():
        (data / name).write_text(text, encoding="utf-8")
    code = main(["evaluate", str(tmp_path / "s.yaml"), "--data", str(data), "--period", "2025"])
    assert code == 0
    rows = {r["entity_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    # 2025 revenue A 600, B 300, C 100 (total 1000); 2024: A 100, B 300, C 0.
    # A: volume 600/600·50 = 50; growth (600−100)/100 = 5 → capped at 1 → 50; score 100 → A
    # B: volume 25; growth (300−300)/300 = 0 → 0; score 25 → B
    # C: volume 100/600·50 = 8.333333333; growth 100/0 → null → missing, 0 points → C
    assert [rows[e]["score"] for e in "ABC"] == [100.0, 25.0, 8.333333333]
    assert [rows[e]["grade"] for e in "ABC"] == ["A", "B", "C"]
    assert [rows[e]["missing"] for e in "ABC"] == [[], [], ["growth"]]
    # cum_share, largest first: A 600/1000, B 900/1000, C 1
    assert [rows[e]["pareto"] for e in "ABC"] == [0.6, 0.9, 1.0]
    # 2024: A volume 100/600·50 = 8.3333, growth null (2023 is 0) → 0; B 25 + 0; C 0 + 0
    assert [rows[e]["last_year_score"] for e in "ABC"] == [8.3333, 25.0, 0.0]
