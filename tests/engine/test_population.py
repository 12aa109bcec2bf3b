"""Population functions (rank, pct_rank, ntile, quantile, cum_share) in schemes, hand-computed,
on DuckDB and PostgreSQL: ties, NULLs, groups, a population of one, a total of 0, every section
that evaluates per entity, `explain` of one entity, and the errors for misuse."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from pingji.cli.main import app, main
from pingji.engine import evaluate
from pingji.errors import SchemeError
from pingji.scheme import load_scheme

SCHEME = """
id: population-test
entity: customers
period: year
metrics:
  orders: {count: sales}
  sales: {sum: sales.amount}
  region: {attribute: region}
  x: {expr: "if(orders > 0, sales, null)"}
  rank_x: {expr: rank(x)}
  pct_x: {expr: pct_rank(x)}
  tile_x: {expr: "ntile(x, 3)"}
  median_x: {expr: "quantile(x, 0.5)"}
  q25_x: {expr: "quantile(x, 0.25)"}
  q30_x: {expr: "quantile(x, 0.3)"}
  q90_x: {expr: "quantile(x, 0.9)"}
  share_x: {expr: cum_share(x)}
  rank_r: {expr: "rank(x, region)"}
  pct_r: {expr: "pct_rank(x, region)"}
  tile_r: {expr: "ntile(x, 2, region)"}
  median_r: {expr: "quantile(x, 0.5, region)"}
  share_r: {expr: "cum_share(x, region)"}
  total_x: {expr: total(x)}
  total_r: {expr: "total(x, region)"}
"""

# x (sales of customers with an order): A 100, B 300, C 300, D 50, E 200, F none (NULL), G 0,
# H 300. Regions: 东 A B F H, 西 C D G, E none.
DATA = {
    "customers": """
        customer_id,region
        A,东
        B,东
        C,西
        D,西
        E,
        F,东
        G,西
        H,东
    """,
    "sales": """
        customer_id,date,amount
        A,2025-01-05,60
        A,2025-02-05,40
        B,2025-02-05,300
        C,2025-03-05,300
        D,2025-04-05,50
        E,2025-05-05,200
        G,2025-06-05,0
        H,2025-07-05,300
        F,2024-07-05,999
    """,
}


def _scheme(tmp_path, text: str = SCHEME):
    path = tmp_path / "population.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


def _metrics(ev) -> dict[str, dict]:
    return {
        r["entity_id"]: {k[3:]: v for k, v in r.items() if k.startswith("m__")}
        for r in ev.raw.to_pylist()
    }


@pytest.fixture
def values(tmp_path, open_tables) -> dict[str, dict]:
    return _metrics(evaluate(_scheme(tmp_path), open_tables(DATA), "2025"))


def _column(values: dict[str, dict], name: str) -> dict:
    return {e: values[e][name] for e in sorted(values)}


def test_rank_counts_the_strictly_greater_values(values):
    # population A B C D E G H (F has no x): 300 ×3 → 1, 200 → 4, 100 → 5, 50 → 6, 0 → 7
    assert _column(values, "rank_x") == dict(A=5, B=1, C=1, D=6, E=4, F=None, G=7, H=1)


def test_pct_rank_counts_the_strictly_smaller_values_over_n_minus_one(values):
    # n = 7: G 0/6, D 1/6, A 2/6, E 3/6, B C H 4/6
    got = _column(values, "pct_x")
    want = dict(A=2 / 6, B=4 / 6, C=4 / 6, D=1 / 6, E=0.5, F=None, G=0.0, H=4 / 6)
    assert got == {k: v if v is None else pytest.approx(v) for k, v in want.items()}


def test_ntile_breaks_ties_by_entity_id(values):
    # by (x, id): G 0, D 50, A 100 | E 200, B 300 | C 300, H 300 — 7 rows in 3 buckets: 3, 2, 2
    assert _column(values, "tile_x") == dict(A=1, B=2, C=3, D=1, E=2, F=None, G=1, H=3)


def test_quantile_interpolates_linearly(values):
    # sorted 0, 50, 100, 200, 300, 300, 300: h = 6q
    # q 0.5 → h 3 → 200; q 0.25 → h 1.5 → 50 + 0.5·50 = 75; q 0.3 → h 1.8 → 50 + 0.8·50 = 90;
    # q 0.9 → h 5.4 → 300 + 0.4·0 = 300. The entity without x gets NULL.
    for name, want in (("median_x", 200), ("q25_x", 75), ("q30_x", 90), ("q90_x", 300)):
        got = _column(values, name)
        assert got.pop("F") is None
        assert list(got.values()) == [pytest.approx(want)] * 7, name


def test_cum_share_runs_down_by_value_then_id(values):
    # by x descending, then id: B 300, C 300, H 300, E 200, A 100, D 50, G 0; total 1250
    # B 300/1250 = 0.24, C 0.48, H 0.72, E 1100/1250 = 0.88, A 0.96, D 1, G 1
    got = _column(values, "share_x")
    want = dict(A=0.96, B=0.24, C=0.48, D=1.0, E=0.88, F=None, G=1.0, H=0.72)
    assert got == {k: v if v is None else pytest.approx(v) for k, v in want.items()}


def test_total_sums_the_population_and_keeps_money_exact(values):
    # A 100 + B 300 + C 300 + D 50 + E 200 + G 0 + H 300 = 1250; F has no x → NULL
    got = _column(values, "total_x")
    assert got.pop("F") is None
    assert {float(v) for v in got.values()} == {1250.0}
    # 东 A B H = 700, 西 C D G = 350; E has no region
    got = {k: None if v is None else float(v) for k, v in _column(values, "total_r").items()}
    assert got == dict(A=700, B=700, C=350, D=350, E=None, F=None, G=350, H=700)


def test_groups_split_the_population(values):
    # 东: A 100, B 300, H 300 (F no x); 西: C 300, D 50, G 0; E has no region → NULL
    assert _column(values, "rank_r") == dict(A=3, B=1, C=1, D=2, E=None, F=None, G=3, H=1)
    assert _column(values, "pct_r") == dict(A=0, B=0.5, C=1, D=0.5, E=None, F=None, G=0, H=0.5)
    # 东 by (x, id): A, B | H (3 rows in 2 buckets: 2, 1); 西: G, D | C
    assert _column(values, "tile_r") == dict(A=1, B=1, C=2, D=1, E=None, F=None, G=1, H=2)
    # 东 100, 300, 300 → 300; 西 0, 50, 300 → 50
    assert _column(values, "median_r") == dict(
        A=300, B=300, C=50, D=50, E=None, F=None, G=50, H=300
    )
    # 东 total 700: B 300/700, H 600/700, A 1; 西 total 350: C 300/350, D 1, G 1
    got = _column(values, "share_r")
    want = dict(A=1.0, B=3 / 7, C=6 / 7, D=1.0, E=None, F=None, G=1.0, H=6 / 7)
    assert got == {k: v if v is None else pytest.approx(v) for k, v in want.items()}


def test_a_population_of_one(tmp_path, open_tables):
    data = {
        "customers": "customer_id,region\nX,北\nY,北",
        "sales": "customer_id,date,amount\nX,2025-03-01,80",
    }
    got = _metrics(evaluate(_scheme(tmp_path), open_tables(data), "2025"))
    # only X has x: rank 1, pct_rank 0 (n = 1), ntile 1, every quantile 80, cum_share 1
    x = got["X"]
    assert (x["rank_x"], x["pct_x"], x["tile_x"], x["share_x"]) == (1, 0, 1, 1)
    assert (x["median_x"], x["q25_x"], x["q90_x"], x["median_r"]) == (80, 80, 80, 80)
    assert all(v is None for k, v in got["Y"].items() if k.endswith(("_x", "_r")))


def test_a_total_of_zero_gives_no_share(tmp_path, open_tables):
    data = {
        "customers": "customer_id,region\nP,南\nQ,南",
        "sales": "customer_id,date,amount\nP,2025-03-01,0\nQ,2025-04-01,0",
    }
    got = _metrics(evaluate(_scheme(tmp_path), open_tables(data), "2025"))
    # two zeros: tied first, pct_rank 0; 2 rows in 3 buckets: one each, by id; total 0 → NULL
    assert [(got[e]["rank_x"], got[e]["pct_x"], got[e]["tile_x"]) for e in "PQ"] == [
        (1, 0, 1),
        (1, 0, 2),
    ]
    assert got["P"]["share_x"] is None and got["Q"]["share_r"] is None
    assert got["P"]["median_x"] == 0


SECTIONS = """
id: population-sections
entity: customers
period: year
metrics:
  orders: {count: sales}
  sales: {sum: sales.amount}
  x: {expr: "if(orders > 0, sales, null)"}
  second_order: {expr: "rank(rank(x))"}
tree:
  id: total
  children:
    - id: standing
      max: 60
      value: pct_rank(x)
      rule: {linear: {zero_at: 0, full_at: 1}}
    - id: leader
      max: 40
      value: x
      rule: {expr: "if(rank(value) <= 2, 40, 0)"}
grades:
  levels:
    - {grade: top}
    - {grade: rest}
  rules:
    - {when: "ntile(score, 2) = 2", grade: top}
  else: rest
classes:
  rules:
    - {id: first_half, when: "cum_share(x) <= 0.6"}
consequences:
  actions:
    - {action: award, when: "rank(points('standing')) = 1"}
outputs:
  - {id: median, type: number, expr: "quantile(x, 0.5)"}
  - {id: position, type: integer, expr: "rank(score)"}
  - {id: tag, type: string, expr: "concat(grade, '-', text(rank(x)))"}
checks:
  - {id: leaders, share_of: "rank(x) <= 2", among: "notnull(x)", at_least: 0.5}
"""


@pytest.fixture
def sections(tmp_path, open_tables):
    data = {
        "customers": "customer_id\nA\nB\nC\nD",
        "sales": "customer_id,date,amount\nA,2025-01-01,100\nB,2025-01-01,400\nC,2025-01-01,250",
    }
    rs = _scheme(tmp_path, SECTIONS)
    return rs, open_tables(data)


def test_every_section_that_evaluates_per_entity_can_use_them(sections):
    rs, ds = sections
    ev = evaluate(rs, ds, "2025")
    rows = {r["entity_id"]: r for r in ev.table.to_pylist()}
    raw = {r["entity_id"]: r for r in ev.raw.to_pylist()}
    # x: A 100, B 400, C 250, D none. rank: B 1, C 2, A 3; rank of those ranks: A 1, C 2, B 3
    assert {e: raw[e]["m__second_order"] for e in "ABCD"} == dict(A=1, B=3, C=2, D=None)
    # standing = 60 · pct_rank: A 0, C 30, B 60 (D missing → 0); leader 40 for B and C
    assert {e: rows[e]["points"] for e in "ABCD"} == dict(A=0, B=100, C=70, D=0)
    # ntile(score, 2) over all four scores by (score, id): A 0, D 0 | C 70, B 100
    assert {e: rows[e]["grade"] for e in "ABCD"} == dict(A="rest", B="top", C="top", D="rest")
    # cum_share: B 400/750 = 0.53, C 650/750 = 0.87, A 1: only B is within the first 60 %
    assert {e: rows[e]["classes"] for e in "ABCD"} == dict(A=[], B=["first_half"], C=[], D=[])
    # points('standing'): B 60 is the best
    assert [e for e in "ABCD" if rows[e]["actions"] == ["award"]] == ["B"]
    assert {rows[e]["median"] for e in "ABC"} == {250} and rows["D"]["median"] is None
    assert {e: rows[e]["position"] for e in "ABCD"} == dict(A=3, B=1, C=2, D=3)
    assert {e: rows[e]["tag"] for e in "ABCD"} == dict(A="rest-3", B="top-1", C="top-2", D=None)
    # rank(x) ≤ 2 among the three with x: B and C → 2/3 ≥ 0.5
    assert ev.checks[0].ok and ev.checks[0].share == pytest.approx(2 / 3)


def test_one_entity_gets_the_values_of_the_full_run(sections):
    rs, ds = sections
    full = {r["entity_id"]: r for r in evaluate(rs, ds, "2025").raw.to_pylist()}
    for entity in "ABCD":
        one = evaluate(rs, ds, "2025", entity=entity).raw.to_pylist()
        assert one == [full[entity]]


def test_explain_of_one_entity_shows_its_population_values(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id\nA\nB\nC\n", encoding="utf-8")
    (tmp_path / "data" / "sales.csv").write_text(
        "customer_id,date,amount\nA,2025-01-01,100\nB,2025-01-01,400\nC,2025-01-01,250\n",
        encoding="utf-8",
    )
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(SECTIONS), encoding="utf-8")
    args = ["explain", str(path), "--data", str(tmp_path / "data"), "--period", "2025"]
    result = CliRunner().invoke(app, [*args, "--entity", "C"])
    assert result.exit_code == 0, result.output
    # A 100, B 400, C 250: C's standing 30 (pct_rank 0.5) + leader 40 (second) → 70; the grade
    # ntile(score, 2) over A 0, C 70, B 100 (3 rows in 2 buckets: 2, 1) puts C in bucket 1
    # (scores shown with the scheme's display decimals, 1 by default: as the outputs show them)
    assert "得分 score 70.0  分数 points 70.0/100.0  等级 grade rest" in result.output
    assert "position: 2" in result.output and "tag: rest-2" in result.output


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("ntile(sales, k)", "the buckets of ntile() must be a constant whole number of at least 1"),
        ("ntile(sales, 0)", "the buckets of ntile() must be a constant whole number of at least 1"),
        ("ntile(sales, 2.5)", "the buckets of ntile() must be a constant whole number"),
        ("quantile(sales, 1.5)", "the q of quantile() must be a constant from 0 to 1"),
        ("quantile(sales, k)", "the q of quantile() must be a constant from 0 to 1"),
        ("rank(sales, region, 2)", "rank() takes 1 to 2 arguments, got 3; write rank(x) or"),
        ("cum_share()", "cum_share() takes 1 to 2 arguments, got 0"),
        ("quantile(sales)", "quantile() takes 2 to 3 arguments, got 1"),
        ("rank(region)", "rank() ranks numbers, but 'region' is a string"),
        ("pct_rank(sales, null)", "the group of pct_rank() must be a value such as an attribute"),
        ("concat(sales)", "concat() takes at least 2 arguments, got 1"),
        ("text(sales, 2)", "text() takes exactly 1 argument, got 2"),
    ],
)
def test_misuse_is_a_positioned_scheme_error(tmp_path, expression, message):
    text = f"""
id: bad
entity: customers
period: year
params:
  k: 5
metrics:
  sales: {{sum: sales.amount}}
  region: {{attribute: region}}
  bad: {{expr: "{expression}"}}
"""
    with pytest.raises(SchemeError) as err:
        _scheme(tmp_path, text)
    (problem,) = err.value.problems
    assert problem.message.startswith(f"in expression `{expression}`: {message}")
    assert problem.line == 10 and problem.path == "metrics.bad.expr"


def test_where_refuses_them_at_their_position(tmp_path):
    text = """
id: bad
entity: customers
period: year
metrics:
  big: {count: sales, where: "amount > 0 and rank(amount) <= 3"}
"""
    with pytest.raises(SchemeError) as err:
        _scheme(tmp_path, text)
    (problem,) = err.value.problems
    assert problem.message.startswith(
        "rank() compares an entity with the other entities and cannot be used in `where`"
    )
    # line 6, column of `rank(` inside the quoted expression
    assert (problem.line, problem.col) == (6, 46)


def test_validate_exits_2_on_misuse(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\nentity: customers\nperiod: year\n"
        "metrics:\n  sales: {sum: sales.amount}\n  q: {expr: 'quantile(sales, 2)'}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:6:30: in expression `quantile(sales, 2)`: the q of quantile()" in err
