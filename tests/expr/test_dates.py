"""Dates in expressions: date('…') literals, add_days and add_months, on every backend."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from pingji.expr import ExprError, check, parse

# One row per case: a date, a whole number and a fraction; the last row is all NULL.
DATES = pa.table(
    {
        "d": pa.array(
            [
                date(2025, 1, 31),  # a month end before a short month
                date(2024, 1, 31),  # … in a leap year
                date(2024, 2, 29),  # a leap day
                date(2025, 3, 31),
                date(2025, 12, 31),  # a year end
                None,
            ]
        ),
        "n": pa.array([1, 1, 12, -1, 1, None], pa.int64()),
        "x": pa.array([1.7, -1.7, 0.0, 2.999999999999, None, 1.0], pa.float64()),
    }
)

KNOWN = {"d": "date", "n": "number", "x": "number", "s": "string"}


def test_add_months_keeps_the_day_and_clamps_it_to_the_month_end(backend):
    assert backend.evaluate("add_months(d, n)", DATES) == [
        date(2025, 2, 28),  # 2025-01-31 + 1 month: February has 28 days
        date(2024, 2, 29),  # 2024 is a leap year
        date(2025, 2, 28),  # 2024-02-29 + 12 months: no 29 February in 2025
        date(2025, 2, 28),  # 2025-03-31 − 1 month
        date(2026, 1, 31),  # across the year end
        None,
    ]
    assert backend.typed("add_months(d, n)", DATES).is_date()


def test_add_days_crosses_month_and_year_ends_and_leap_days(backend):
    assert backend.evaluate("add_days(d, n)", DATES) == [
        date(2025, 2, 1),
        date(2024, 2, 1),
        date(2024, 3, 12),  # 2024-02-29 + 12 days: 29 Feb is the last of February
        date(2025, 3, 30),
        date(2026, 1, 1),
        None,
    ]
    assert backend.evaluate("add_days(date('2024-02-28'), 1)", DATES)[0] == date(2024, 2, 29)
    assert backend.evaluate("add_days(date('2025-02-28'), 1)", DATES)[0] == date(2025, 3, 1)
    assert backend.evaluate("add_days(date('2025-03-01'), -1)", DATES)[0] == date(2025, 2, 28)


def test_a_fraction_of_days_or_months_is_cut_toward_zero(backend):
    # 1.7 → 1, −1.7 → −1, 0 → 0, 2.999999999999 rounds to 3 at 9 decimals first; null → null
    assert backend.evaluate("add_days(date('2025-01-10'), x)", DATES) == [
        date(2025, 1, 11),
        date(2025, 1, 9),
        date(2025, 1, 10),
        date(2025, 1, 13),
        None,
        date(2025, 1, 11),
    ]
    assert backend.evaluate("add_months(date('2025-01-31'), x)", DATES)[:2] == [
        date(2025, 2, 28),
        date(2024, 12, 31),
    ]


def test_null_inputs_give_null(backend):
    assert backend.evaluate("add_days(null, 3)", DATES) == [None] * 6
    assert backend.evaluate("add_months(d, null)", DATES) == [None] * 6
    assert backend.evaluate("isnull(add_days(d, 1))", DATES) == [False] * 5 + [True]


def test_a_date_literal_is_a_date(backend):
    assert backend.evaluate("date('2025-01-31')", DATES)[0] == date(2025, 1, 31)
    assert backend.typed("date('2025-01-31')", DATES).is_date()
    # compared with a column, a literal, or used with days_between and add_months
    assert backend.evaluate("d >= date('2025-01-01')", DATES) == [
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    assert backend.evaluate("days_between(date('2024-02-01'), date('2024-03-01'))", DATES)[0] == 29
    assert (
        backend.evaluate("add_months(date('2024-02-29'), 12) = date('2025-02-28')", DATES)
        == [True] * 6
    )


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        (
            "date('2025-02-30')",
            "'2025-02-30' is not a date: write date('YYYY-MM-DD'), e.g. date('2025-01-31')",
            5,
        ),
        ("date('2025-1-3')", "'2025-1-3' is not a date", 5),
        ("date('31.01.2025')", "'31.01.2025' is not a date", 5),
        ("date(s)", "date() takes a constant date in quotes", 5),
        ("date(20250131)", "date() takes a constant date in quotes", 5),
        ("date()", "date() takes exactly 1 argument, got 0; write date('2025-01-31')", 0),
        ("add_days(d, 'x')", "the days of add_days() must be a number, but this is a string", 12),
        ("add_months(s, 1)", "add_months() needs a date, but 's' is a string", 11),
        ("add_days(d)", "add_days() takes exactly 2 arguments, got 1", 0),
        ("workdays_between(d, 3)", "workdays_between() needs dates, but this is a number", 20),
    ],
)
def test_bad_dates_are_refused_where_they_are(text, message, at):
    with pytest.raises(ExprError) as err:
        check(parse(text), KNOWN)
    assert err.value.message.startswith(message)
    assert err.value.offset == at


def test_workdays_between_needs_the_engine(duckdb_backend):
    # compiled without a data set's calendar (e.g. a web page's own expression) it is refused
    with pytest.raises(ExprError, match=r"workdays_between\(\) counts with the data set's"):
        duckdb_backend.evaluate("workdays_between(d, d)", DATES)


def test_the_database_itself_returns_dates_not_timestamps(backend):
    # date + interval is a timestamp in SQL; the result must be a date in the query itself
    # (what text(), outputs and explain show), not only once Ibis converts it
    from pingji.expr import compile_expr

    t = backend.table(DATES)
    value = compile_expr(parse("add_months(d, n)"), lambda n: t[n])
    sql = backend.con.compile(t.select(x=value, row_=t.row_).order_by("row_"))
    cursor = backend.con.raw_sql(sql)
    first = cursor.fetchall()[0][0]
    assert type(first) is date and first == date(2025, 2, 28)


def test_a_bad_date_in_a_scheme_is_reported_at_its_line_and_column(tmp_path):
    from pingji.errors import SchemeError
    from pingji.scheme import load_scheme

    path = tmp_path / "dates.yaml"
    path.write_text(
        "id: dates\nentity: customers\nperiod: year\nmetrics:\n"
        "  first_sale: {first: sales.date}\n"
        "  old: {expr: \"first_sale < date('2025-02-30')\"}\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemeError) as err:
        load_scheme(path)
    assert str(err.value).startswith(
        f"{path}:6:34: in expression `first_sale < date('2025-02-30')`: '2025-02-30' is not a date"
    )
    assert err.value.exit_code == 2
