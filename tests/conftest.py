"""Shared fixtures: evaluate a scheme on small data sets written as real files, on every backend."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("PINGJI_TEST_PG_URL")
# Compiled plans are kept in memory across tests (the key holds everything a plan depends
# on), never on disk: a test run leaves nothing in the user's cache (tests/engine/test_cache.py
# sets its own folder).
os.environ["PINGJI_CACHE_DIR"] = "off"
# Tests read the CLI's messages in English whatever the machine's locale (LANG=zh_CN…);
# tests/test_i18n.py sets the language it checks itself.
os.environ["PINGJI_LANG"] = "en"
ON_CI = os.environ.get("CI", "").lower() == "true"


def require_postgres() -> str:
    """Return the test server URL; skip visibly without one (and fail on CI, where it must run)."""
    if not PG_URL:
        if ON_CI:
            pytest.fail(
                "CI=true but PINGJI_TEST_PG_URL is not set: PostgreSQL tests must run on CI"
            )
        pytest.skip(
            "PostgreSQL tests need PINGJI_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return PG_URL


def write_tables(folder: Path, tables: dict[str, str]) -> Path:
    """Write {table: csv text} as folder/<table>.csv files (text is dedented)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return folder


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    """Each engine a scheme must run on."""
    if request.param == "postgres":
        require_postgres()
    return request.param


@pytest.fixture
def open_tables(tmp_path: Path, backend: str) -> Iterator[Callable]:
    """Return a function that writes tables and opens them as a data set on the backend."""
    from pingji.data import load_into_postgres, open_dataset

    schemas: list[str] = []

    def open_(tables: dict[str, str]):
        folder = write_tables(tmp_path / f"data{len(schemas)}_{uuid.uuid4().hex[:6]}", tables)
        if backend == "duckdb":
            return open_dataset(folder)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        schemas.append(schema)
        load_into_postgres(folder, PG_URL, schema)
        return open_dataset(f"{PG_URL}?schema={schema}")

    yield open_
    if schemas:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def run_scheme(open_tables) -> Callable:
    """Return a function evaluating a scheme on tables; the result rows keyed by entity id."""
    from pingji.engine import evaluate
    from pingji.templates import resolve_scheme

    def run(scheme: str, tables: dict[str, str], period: str, params=None) -> dict[str, dict]:
        ev = evaluate(resolve_scheme(scheme), open_tables(tables), period, params)
        return {row["entity_id"]: row for row in ev.table.to_pylist()}

    return run


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL test server's URL (skips without one, fails on CI)."""
    return require_postgres()
