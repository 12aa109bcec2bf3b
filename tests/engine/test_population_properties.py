"""Property tests: the population window columns agree with a small Python/numpy reference
written here, on DuckDB for random populations (ties, NULLs, groups) and on PostgreSQL for a
fixed random one."""

from __future__ import annotations

import math
import uuid

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingji.engine import population

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------- the reference


def _members(xs, gs, i):
    """Return the indexes in entity i's population (same group, x not NULL), or None."""
    if xs[i] is None or (gs is not None and gs[i] is None):
        return None
    return [j for j in range(len(xs)) if xs[j] is not None and (gs is None or gs[j] == gs[i])]


def _r9(v):
    return round(v, 9)


def reference(name, xs, ids, gs=None, constant=None):
    """Return the value of a population function for every entity, computed row by row."""
    out = []
    for i in range(len(xs)):
        pop = _members(xs, gs, i)
        if pop is None:
            out.append(None)
            continue
        x = _r9(xs[i])
        values = [_r9(xs[j]) for j in pop]
        n = len(pop)
        if name == "rank":
            out.append(1 + sum(v > x for v in values))
        elif name == "pct_rank":
            out.append(sum(v < x for v in values) / (n - 1) if n > 1 else 0.0)
        elif name == "ntile":
            order = sorted(pop, key=lambda j: (_r9(xs[j]), ids[j]))
            k = constant
            small, extra = divmod(n, k)  # SQL NTILE: the first `extra` buckets get one more
            sizes = [small + 1] * extra + [small] * (k - extra)
            bucket = np.repeat(np.arange(1, k + 1), sizes)
            out.append(int(bucket[order.index(i)]))
        elif name == "quantile":
            out.append(float(np.quantile([xs[j] for j in pop], constant)))
        else:  # cum_share
            order = sorted(pop, key=lambda j: (-_r9(xs[j]), ids[j]))
            total = sum(xs[j] for j in pop)
            running = sum(xs[j] for j in order[: order.index(i) + 1])
            out.append(None if total == 0 else running / total)
    return out


CALLS = [
    ("rank", None),
    ("pct_rank", None),
    ("ntile", 3),
    ("ntile", 5),
    ("quantile", 0.25),
    ("quantile", 0.9),
    ("quantile", 1.0),
    ("cum_share", None),
]


def computed(con, xs, gs, ids) -> dict[tuple, list]:
    """Return every call of CALLS (without and with the group) computed by the engine."""
    columns: dict[str, object] = {"entity_id": pa.array(ids, pa.string())}
    specs = []
    for k, (name, constant) in enumerate(CALLS):
        for grouped in (False, True):
            column = f"p__{k}_{int(grouped)}"
            columns[f"{column}__x"] = pa.array(xs, pa.float64())
            if grouped:
                columns[f"{column}__g"] = pa.array(gs, pa.string())
            group = f"{column}__g" if grouped else None
            specs.append(population.Call(column, name, f"{column}__x", group, constant))
    t = con.create_table(f"pop_{uuid.uuid4().hex[:10]}", pa.table(columns), temp=True)
    result = con.to_pyarrow(population.add_columns(t, specs).order_by("entity_id"))
    return {
        (name, constant, grouped): result.column(f"p__{k}_{int(grouped)}").to_pylist()
        for k, (name, constant) in enumerate(CALLS)
        for grouped in (False, True)
    }


def _agree(got, want) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def check_against_reference(con, xs, gs) -> None:
    ids = [f"e{i:03d}" for i in range(len(xs))]
    got = computed(con, xs, gs, ids)
    for (name, constant, grouped), values in got.items():
        want = reference(name, xs, ids, gs if grouped else None, constant)
        bad = [
            (ids[i], xs[i], gs[i], g, w)
            for i, (g, w) in enumerate(zip(values, want, strict=True))
            if not _agree(g, w)
        ]
        assert not bad, f"{name}({constant}, grouped={grouped}): {bad[:5]}"


# --------------------------------------------------------------------- the tests

# Few distinct values so that ties are common; floats with binary noise (0.1 + 0.2) too.
values = st.one_of(
    st.none(),
    st.sampled_from([0.0, 1.0, 2.0, 0.3, 0.1 + 0.2, 5.5, -1.0, 100.0]),
    st.integers(-3, 1000).map(float),
)
populations = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(values, min_size=n, max_size=n),
        st.lists(st.sampled_from(["东", "西", "南", None]), min_size=n, max_size=n),
    )
)


@pytest.fixture(scope="module")
def duck():
    return ibis.duckdb.connect()


@FAST
@given(populations)
def test_population_columns_agree_with_the_reference_on_duckdb(duck, population_):
    xs, gs = population_
    check_against_reference(duck, xs, gs)


@pytest.mark.postgres
def test_population_columns_agree_with_the_reference_on_postgres(pg_url):
    rng = np.random.default_rng(5)
    n = 300
    xs = [
        None if rng.random() < 0.1 else float(v)
        for v in rng.choice([0, 1, 2, 3, 10, 50, 0.1, 0.3, 1000.5], n)
    ]
    xs[7] = 0.1 + 0.2  # ties with 0.3 after rounding to 9 decimals, as on DuckDB
    gs = [None if rng.random() < 0.05 else str(g) for g in rng.choice(["甲", "乙", "丙"], n)]
    check_against_reference(ibis.connect(pg_url), xs, gs)
