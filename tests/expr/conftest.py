"""Backend fixtures for the expression tests: DuckDB always, PostgreSQL when configured."""

from __future__ import annotations

import itertools
import os
from datetime import date
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest

PG_URL = os.environ.get("PINGJI_TEST_PG_URL")
_counter = itertools.count()

MONEY = pa.decimal128(18, 4)

# A small table with decimal money, floats, ints, strings, dates and NULLs in every column.
SAMPLE = pa.table(
    {
        "a": pa.array([Decimal("100.10"), Decimal("5"), None, Decimal("0")], MONEY),
        "b": pa.array([Decimal("200.20"), Decimal("0"), Decimal("1"), None], MONEY),
        "c": pa.array([Decimal("300.30"), Decimal("5"), Decimal("1"), Decimal("0")], MONEY),
        "f": pa.array([0.97, None, 2.675, 0.0], pa.float64()),
        "i": pa.array([1, 0, None, 3], pa.int64()),
        "s": pa.array(["rude", "late", None, "ok"], pa.string()),
        "d": pa.array([date(2024, 1, 31), date(2024, 3, 1), None, date(2023, 12, 31)]),
        "flag": pa.array([True, None, False, True], pa.bool_()),
    }
)


class Backend:
    """One connected backend plus a helper to evaluate expressions over a table."""

    def __init__(self, name: str, con) -> None:
        self.name = name
        self.con = con
        self._tables: dict[int, object] = {}

    def table(self, data: pa.Table):
        """Return an Ibis table holding `data` on this backend (cached per data object)."""
        key = id(data)
        if key not in self._tables:
            name = f"pingji_expr_test_{os.getpid()}_{next(_counter)}"
            # A row number keeps results in input order on backends that do not promise it.
            numbered = data.append_column("row_", pa.array(range(data.num_rows), pa.int64()))
            self._tables[key] = (self.con.create_table(name, numbered, temp=True), data)
        return self._tables[key][0]

    def evaluate(self, text_or_node, data: pa.Table = SAMPLE, functions=None) -> list:
        """Compile an expression against `data` and return its values, one per row."""
        from pingji.expr import compile_expr, parse

        node = parse(text_or_node) if isinstance(text_or_node, str) else text_or_node
        t = self.table(data)
        value = compile_expr(node, lambda n: t[n], functions)
        result = self.con.to_pyarrow(t.select(x=value, row_=t.row_).order_by("row_"))
        return result.column("x").to_pylist()

    def typed(self, text: str, data: pa.Table = SAMPLE):
        """Return the Ibis type an expression compiles to."""
        from pingji.expr import compile_expr, parse

        t = self.table(data)
        return compile_expr(parse(text), lambda n: t[n]).type()


@pytest.fixture(scope="session")
def duckdb_backend() -> Backend:
    return Backend("duckdb", ibis.duckdb.connect())


@pytest.fixture(scope="session")
def postgres_backend() -> Backend:
    if not PG_URL:
        pytest.skip(
            "PostgreSQL tests need PINGJI_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return Backend("postgres", ibis.connect(PG_URL))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> Backend:
    """Each compile test runs on DuckDB and, when configured, on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_backend")
