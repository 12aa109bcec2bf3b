"""text() and concat(), and population functions outside the engine, on every backend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from pingji.expr import ExprError, compile_expr, parse

NUMBERS = pa.table(
    {
        "f": pa.array([2.0, 1.5, 0.1 * 3, -2.5, 1e-10, 100.0, None], pa.float64()),
        "i": pa.array([7, 0, -3, 12, 1, None, 5], pa.int64()),
        "m": pa.array(
            [
                Decimal("100.10"),
                Decimal("5"),
                Decimal("0.0001"),
                None,
                Decimal("-1.5"),
                Decimal("0"),
                Decimal("2"),
            ],
            pa.decimal128(18, 4),
        ),
        "d": pa.array([date(2025, 1, 31), None, date(2024, 2, 29), None, None, None, None]),
        "s": pa.array(["甲", "b", None, "", "x", "y", "z"], pa.string()),
    }
)


def test_text_of_floats_has_no_trailing_zeros(backend):
    # 2.0 → "2", 0.1·3 (0.30000000000000004) → "0.3" (9 decimals), 1e-10 → "0", 100.0 → "100"
    assert backend.evaluate("text(f)", NUMBERS) == ["2", "1.5", "0.3", "-2.5", "0", "100", None]


def test_text_of_integers_money_dates_and_text(backend):
    assert backend.evaluate("text(i)", NUMBERS) == ["7", "0", "-3", "12", "1", None, "5"]
    assert backend.evaluate("text(m)", NUMBERS) == ["100.1", "5", "0.0001", None, "-1.5", "0", "2"]
    assert backend.evaluate("text(d)", NUMBERS)[:3] == ["2025-01-31", None, "2024-02-29"]
    assert backend.evaluate("text(s)", NUMBERS) == ["甲", "b", None, "", "x", "y", "z"]
    assert backend.evaluate("text(1 = 1)", NUMBERS)[0] == "true"
    assert backend.evaluate("text(null)", NUMBERS) == [None] * 7


def test_concat_joins_texts_and_is_null_when_a_part_is(backend):
    # i and f side by side; a missing part makes the whole text missing
    assert backend.evaluate("concat(i, '/', f)", NUMBERS) == [
        "7/2",
        "0/1.5",
        "-3/0.3",
        "12/-2.5",
        "1/0",
        None,
        None,
    ]
    assert backend.evaluate("concat(s, coalesce(text(d), ''))", NUMBERS) == [
        "甲2025-01-31",
        "b",
        None,
        "",
        "x",
        "y",
        "z",
    ]
    assert backend.evaluate("concat('a', null)", NUMBERS) == [None] * 7


def test_concat_and_text_are_text(backend):
    assert backend.typed("concat(i, f)", NUMBERS).is_string()
    assert backend.typed("text(m)", NUMBERS).is_string()


@pytest.mark.parametrize(
    "text", ["rank(i)", "pct_rank(f, s)", "ntile(i, 3)", "quantile(i, 0.5)", "cum_share(m)"]
)
def test_population_functions_need_the_engine(duckdb_backend, text):
    t = duckdb_backend.table(NUMBERS)
    with pytest.raises(
        ExprError, match=r"compares an entity with the other entities and cannot be used here"
    ):
        compile_expr(parse(text), lambda n: t[n])
