"""The sample-data generators: files, contract columns, determinism, edge cases, speed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pingji.data.contract import TABLES
from pingji.errors import BadInput
from pingji.periods import Period
from pingji.templates.sample import CUSTOMER_RATINGS, SAMPLE_PERIODS, generate


def _read(path: Path) -> duckdb.DuckDBPyRelation:
    return duckdb.read_csv(str(path))


@pytest.mark.parametrize("scheme", sorted(SAMPLE_PERIODS))
def test_it_writes_contract_tables_for_every_scheme(scheme: str, tmp_path: Path) -> None:
    paths = generate(scheme, tmp_path / "data", entities=50)
    assert paths and all(p.exists() and p.parent == tmp_path / "data" for p in paths)
    for path in paths:
        spec = TABLES[path.stem]
        rel = _read(path)
        missing = {c.name for c in spec.required} - set(rel.columns)
        assert not missing, f"{path.name} lacks {missing}"
        assert set(rel.columns) <= {c.name for c in spec.columns}
        for col in spec.columns:
            if col.type == "date" and col.name in rel.columns:
                assert str(rel.types[rel.columns.index(col.name)]) == "DATE", (path.name, col.name)


@pytest.mark.parametrize("scheme", sorted(SAMPLE_PERIODS))
def test_it_covers_the_sample_period_and_earlier(scheme: str, tmp_path: Path) -> None:
    paths = {p.stem: p for p in generate(scheme, tmp_path, entities=50)}
    end = Period.parse(SAMPLE_PERIODS[scheme]).end
    for name, path in paths.items():
        date = TABLES[name].date
        if date is None:
            continue
        lo, hi = _read(path).aggregate(f"min({date}), max({date})").fetchone()
        assert hi is None or (lo.year == 2023 and hi <= end), (name, lo, hi)


def test_it_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    for scheme in ("customer-composite", "supplier-rating", "hotel-service-quality"):
        a = generate(scheme, tmp_path / "a" / scheme, entities=80, seed=3)
        b = generate(scheme, tmp_path / "b" / scheme, entities=80, seed=3)
        c = generate(scheme, tmp_path / "c" / scheme, entities=80, seed=4)
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
        assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_it_refuses_an_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"^no sample data for scheme 'nope': .*customer-composite"):
        generate("nope", tmp_path)


def test_money_has_two_decimals_and_ids_look_real(tmp_path: Path) -> None:
    generate("customer-composite", tmp_path, entities=30)
    lines = (tmp_path / "sales.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '"customer_id","date","amount","batch_id"'
    assert lines[1].startswith('"C000001",2024-03-15,800000.00,')
    customers = (tmp_path / "customers.csv").read_text(encoding="utf-8")
    assert "公司" in customers and "华" in customers


def test_customer_data_exercises_the_rules(tmp_path: Path) -> None:
    generate("customer-composite", tmp_path, entities=300)
    con = duckdb.connect()
    q = lambda sql: con.sql(sql.replace("{d}", str(tmp_path))).fetchall()  # noqa: E731
    # The seed's worked example and the all-thresholds customer, in exact decimals.
    sums = dict(
        q(
            "select customer_id, sum(amount::decimal(18,2)) from '{d}/sales.csv'"
            " where year(date) = 2025 group by 1"
        )
    )
    assert sums["C000001"] == 2_000_000 and sums["C000002"] == 2_100_000
    # Customers with no facts at all, rated and unrated customers, orphan keys.
    factless = q(
        "select count(*) from '{d}/customers.csv' c where not exists"
        " (select 1 from '{d}/sales.csv' s where s.customer_id = c.customer_id)"
        " and not exists (select 1 from '{d}/visits.csv' v where v.customer_id = c.customer_id)"
    )[0][0]
    assert factless >= 2
    unrated = q(
        "select count(*) from '{d}/customers.csv' c where customer_id not in"
        " (select entity_id from '{d}/ratings.csv' where period::VARCHAR = '2025')"
    )[0][0]
    assert unrated >= 10
    orphans = q(
        "select count(*) from '{d}/sales.csv' where customer_id not in"
        " (select customer_id from '{d}/customers.csv')"
    )[0][0]
    assert orphans > 0
    lo, hi = q(
        "select min(score), max(score) from '{d}/ratings.csv' where indicator = 'manager_rating'"
    )[0]
    assert (lo, hi) == (CUSTOMER_RATINGS[0].scale_min, CUSTOMER_RATINGS[0].scale_max)
    assert q("select count(*) from '{d}/overrides.csv' where period = '2025-12'")[0][0] >= 3


def test_supplier_data_has_exact_edges_and_bad_months(tmp_path: Path) -> None:
    generate("supplier-rating", tmp_path, entities=100)
    con = duckdb.connect()
    q = lambda sql: con.sql(sql.replace("{d}", str(tmp_path))).fetchall()  # noqa: E731
    rate = q(
        "select avg((result = 'pass')::int) from '{d}/inspections.csv'"
        " where supplier_id = 'S0001' and date >= '2025-12-01'"
    )[0][0]
    assert rate == pytest.approx(0.97)
    premiums = {r[0] for r in q("select premium from '{d}/quotes.csv'")}
    assert {0.0, 0.01, 0.03, 0.06} <= premiums
    late = q(
        "select count(*) from (select supplier_id from '{d}/deliveries.csv'"
        " where due_date >= '2025-12-01' and delivered_date > due_date"
        " group by 1 having count(*) >= 4)"
    )[0][0]
    assert late >= 2


def test_dealer_data_has_the_seed_front_desk(tmp_path: Path) -> None:
    generate("dealer-aftersales-audit", tmp_path, entities=20)
    rows = duckdb.sql(
        f"select indicator, score from '{tmp_path}/ratings.csv'"
        " where entity_id = 'D001' and period = 2025 and department = 'front_desk'"
    ).fetchall()
    got = dict(rows)
    assert [got[k] for k in ("core_process", "safety_5s", "staff_training")] == [100, 43, 9]
    assert [got[k] for k in ("documents", "boards", "dms")] == [7, 0, 5]


@pytest.mark.slow
def test_it_generates_100000_customers(tmp_path: Path) -> None:
    # no timing assertion here (timings live in docs/benchmarks.md); a few seconds on 2 cores
    paths = generate("customer-composite", tmp_path, entities=100_000)
    count = duckdb.sql(f"select count(*) from '{tmp_path}/customers.csv'").fetchone()[0]
    assert count == 100_000 and len(paths) == 11  # ten tables and the working-day calendar
