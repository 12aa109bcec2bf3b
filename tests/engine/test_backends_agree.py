"""Every built-in scheme gives the same results on DuckDB and on PostgreSQL (its sample data)."""

import math
import uuid

import psycopg
import pytest

from pingji.data import load_into_postgres, open_dataset
from pingji.engine import evaluate
from pingji.templates import builtin_names, resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS, generate

pytestmark = pytest.mark.postgres


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    return (
        float(a) == float(b) if isinstance(a, float | int) or isinstance(b, float | int) else a == b
    )


@pytest.mark.parametrize("name", builtin_names())
def test_duckdb_and_postgres_agree_on_the_sample_data(name, tmp_path, pg_url):
    url = pg_url
    folder = tmp_path / name
    generate(name, folder, entities=40, seed=11)
    rs = resolve_scheme(name)
    period = SAMPLE_PERIODS[name]
    on_duckdb = evaluate(rs, open_dataset(folder), period).table.to_pylist()
    schema = f"agree_{uuid.uuid4().hex[:10]}"
    try:
        load_into_postgres(folder, url, schema)
        on_postgres = evaluate(rs, open_dataset(f"{url}?schema={schema}"), period).table.to_pylist()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert len(on_duckdb) == len(on_postgres) > 0
    for d, p in zip(on_duckdb, on_postgres, strict=True):
        assert d["entity_id"] == p["entity_id"]
        diff = {k: (d[k], p[k]) for k in d if not _same(d[k], p[k])}
        assert not diff, f"{d['entity_id']}: {diff}"
