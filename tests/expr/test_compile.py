"""Compilation tests, executed on DuckDB and (when configured) PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pyarrow as pa
import pytest

from pingji.expr import ExprError, compile_expr, literal_value, parse, uses_nodes

# Rows of SAMPLE (see conftest): a, b, c are decimal(18,4) money; f float; i int; s string;
# d date; flag bool. Row 2 is mostly NULL.


def test_money_stays_exact_decimal(backend):
    assert backend.evaluate("a + b - c") == [Decimal(0), Decimal(0), None, None]
    assert backend.typed("a + b - c").is_decimal()
    assert backend.evaluate("a * 3")[0] == Decimal("300.30")
    assert backend.typed("a * i").is_decimal()


def test_literals_are_int64_or_float64(backend):
    assert backend.typed("1").is_int64()
    assert backend.typed("1e6").is_int64()
    assert backend.typed("0.5").is_float64()
    assert backend.evaluate("7 - 2 * 3") == [1, 1, 1, 1]


def test_float_meeting_decimal_is_float(backend):
    assert backend.typed("a * 0.5").is_float64()
    assert backend.evaluate("a * 0.5")[0] == pytest.approx(50.05)


def test_division_is_float_and_null_on_zero(backend):
    assert backend.typed("a / b").is_float64()
    values = backend.evaluate("a / b")
    assert values[0] == pytest.approx(0.5)
    assert values[1:] == [None, None, None]  # 5 / 0, NULL / 1, 0 / NULL
    assert backend.evaluate("i / 0") == [None] * 4
    assert backend.evaluate("7 / 2") == [3.5] * 4


def test_comparisons_with_null_are_false(backend):
    assert backend.evaluate("i > 0") == [True, False, False, True]
    assert backend.evaluate("i <= 0") == [False, True, False, False]
    assert backend.evaluate("not (i > 0)") == [False, True, True, False]
    assert backend.evaluate("i != 1") == [False, True, False, True]
    assert backend.evaluate("s = 'rude'") == [True, False, False, False]


def test_floats_compare_after_rounding_to_9_decimals(backend):
    assert backend.evaluate("0.97 * 100 >= 97") == [True] * 4
    assert backend.evaluate("0.97 * 100 = 97") == [True] * 4
    assert backend.evaluate("f * 100 >= 97") == [True, False, True, False]
    assert backend.evaluate("0.1 + 0.2 = 0.3") == [True] * 4


def test_floor_and_ceil_round_to_9_decimals_first(backend):
    assert backend.evaluate("ceil(0.1 * 3 * 10)") == [3] * 4
    assert backend.evaluate("floor(0.7 * 10 / 0.1 / 10)") == [7] * 4  # 6.999999999999999
    assert backend.evaluate("floor(-0.5)") == [-1] * 4
    assert backend.evaluate("ceil(a)")[0] == 101


def test_logic_treats_null_as_false(backend):
    assert backend.evaluate("flag and true") == [True, False, False, True]
    assert backend.evaluate("flag or false") == [True, False, False, True]
    assert backend.evaluate("not flag") == [False, True, True, False]
    assert backend.evaluate("if(flag, 1, 2)") == [1, 2, 2, 1]
    assert backend.evaluate("null and true") == [False] * 4


def test_if_with_null_branch(backend):
    values = backend.evaluate("if(i = 0, null, a / i)")
    assert values[0] == pytest.approx(100.1)
    assert values[1:] == [None, None, 0.0]


def test_min_and_max_ignore_nulls(backend):
    assert backend.evaluate("min(i, f)") == [pytest.approx(0.97), 0.0, 2.675, 0.0]
    assert backend.evaluate("max(a, b)") == [Decimal("200.2"), Decimal(5), Decimal(1), Decimal(0)]
    assert backend.evaluate("max(i, null)") == [1, 0, None, 3]
    assert backend.evaluate("min(i, i)") == [1, 0, None, 3]


def test_clamp_between_in(backend):
    assert backend.evaluate("clamp(i, 1, 2)") == [1, 1, None, 2]
    assert backend.evaluate("clamp(f * 100, 0, 100)") == [pytest.approx(97), None, 100, 0]
    assert backend.evaluate("between(i, 0, 1)") == [True, True, False, False]
    assert backend.evaluate("i in (1, 3)") == [True, False, False, True]
    assert backend.evaluate("i not in (1, 3)") == [False, True, False, False]
    assert backend.evaluate("s in ('rude', 'late')") == [True, True, False, False]
    assert backend.evaluate("f * 100 in (97, 0)") == [True, False, False, True]


def test_round_is_half_away_from_zero(backend):
    assert backend.evaluate("round(2.5)") == [3.0] * 4
    assert backend.evaluate("round(-2.5)") == [-3.0] * 4
    assert backend.evaluate("round(f, 2)") == [0.97, None, 2.68, 0.0]
    assert backend.evaluate("round(1.005, 2)") == [1.01] * 4
    assert backend.evaluate("round(a / 3, 1)")[0] == pytest.approx(33.4)
    assert backend.evaluate("round(c, 1)")[0] == Decimal("300.3")
    assert backend.typed("round(c, 1)").is_decimal()
    assert backend.evaluate("round(i)") == [1, 0, None, 3]


def test_case_picks_the_first_equal_key(backend):
    assert backend.evaluate("case(s, 'rude', 10, 'late', 5, 0)") == [10, 5, 0, 0]
    assert backend.evaluate("case(i, 1, 'one', 1, 'uno')") == ["one", None, None, None]


def test_dates(backend):
    assert backend.evaluate("days_between(d, '2024-03-01')") == [30, 0, None, 61]
    assert backend.evaluate("year(d) * 100 + month(d)") == [202401, 202403, None, 202312]
    assert backend.evaluate("d >= '2024-01-01'") == [True, True, False, False]


def test_null_tests_and_coalesce(backend):
    assert backend.evaluate("isnull(i)") == [False, False, True, False]
    assert backend.evaluate("notnull(s)") == [True, True, False, True]
    assert backend.evaluate("coalesce(i, 99)") == [1, 0, 99, 3]
    assert backend.evaluate("abs(a - 1000)")[0] == Decimal("899.9")


def test_context_functions_get_compiled_arguments(backend):
    seen = {}

    def scaled(value, factor):
        seen["factor"] = literal_value(factor)
        return value * factor

    @uses_nodes
    def label(call, compile_):
        seen["node"] = call.args[0]
        return compile_(call.args[0])

    assert backend.evaluate(
        "scaled(i, 10) + label(1)", functions={"scaled": scaled, "label": label}
    ) == [
        11,
        1,
        None,
        31,
    ]
    assert seen["factor"] == 10
    assert seen["node"].value == 1


def test_compile_errors_carry_positions():
    t = ibis.table({"s": "string", "n": "int64"}, name="t")
    with pytest.raises(ExprError) as info:
        compile_expr(parse("n + zz"), lambda name: t[name])
    assert (info.value.offset, info.value.length) == (4, 2)
    assert str(info.value).startswith("unknown name 'zz'")
    with pytest.raises(ExprError) as info:
        compile_expr(parse("n > 1 and s"), lambda name: t[name])
    assert (info.value.offset, str(info.value)[:25]) == (10, "a true/false value is nee")
    with pytest.raises(ExprError) as info:
        compile_expr(parse("s * 2"), lambda name: t[name])
    assert (info.value.offset, str(info.value)[:23]) == (0, "'*' needs a number, but")


def test_compiled_sql_has_no_backend_specific_strings():
    t = ibis.table({"a": "decimal(18,4)", "f": "float64", "i": "int64"}, name="t")
    value = compile_expr(
        parse("if(a / i > 0.5 and f in (1, 2), round(f, 2), clamp(a, 0, 9))"), t.__getitem__
    )
    for dialect in ("duckdb", "postgres"):
        assert "SELECT" in ibis.to_sql(t.select(x=value), dialect=dialect)


def test_unicode_names_compile(duckdb_backend):
    data = pa.table({"销售额": pa.array([10, 20], pa.int64())})
    assert duckdb_backend.evaluate("销售额 / 10", data) == [1.0, 2.0]
