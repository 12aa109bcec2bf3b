"""`pingji explain --entity`: numbers as the outputs show them (the scheme's display decimals,
metric formats), yes/no for booleans, and a rule bound given as a parameter with its value."""

import textwrap

from pingji.engine import evaluate
from pingji.engine.explain import explain_entity
from pingji.engine.params import resolve_params
from pingji.scheme import load_scheme

SCHEME = """
id: explain-test
entity: customers
period: year
display: {decimals: 2}
params:
  ceiling: {default: 0.5}
metrics:
  sales: {label: 销售额, sum: sales.amount}
  share: {label: 占比, expr: "sales / 4000", format: percent}
  big: {label: 大客户, expr: "sales > 500"}
tree:
  id: total
  max: 30
  children:
    - id: share
      max: 30
      value: share
      rule: {linear: {zero_at: ceiling, full_at: 0}}
"""


def test_explain_shows_numbers_as_the_outputs_do(tmp_path, open_tables):
    path = tmp_path / "explain.yaml"
    path.write_text(textwrap.dedent(SCHEME), encoding="utf-8")
    rs = load_scheme(path)
    data = open_tables(
        {"customers": "customer_id\nA", "sales": "customer_id,date,amount\nA,2025-03-01,1000"}
    )
    ev = evaluate(rs, data, "2025", entity="A")
    text = explain_entity(ev, resolve_params(rs, None))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    # share 1000 / 4000 = 25%: halfway from 0.5 (0 points) to 0 (30 points) → 15 of 30
    assert "得分 score 50.00 分数 points 15.00/30.00 等级 grade —" in lines
    assert "sales 1,000.00 销售额" in lines
    assert "share 25.0% 占比" in lines
    assert "big 是 大客户" in lines
    assert "share : 15.00 / 30.00 分 (值 value = 25.0%)" in lines
    assert (
        "↳ 线性计分：ceiling（= 0.5） 得 0 分，0 得满分 30 分，之间按比例，超出取端点（越低越好）"
    ) in lines
