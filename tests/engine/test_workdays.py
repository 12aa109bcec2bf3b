"""workdays_between(): China's working days (holidays, 调休) per entity and over fact rows,
the data set's calendar table over the official calendar, and the years it does not know."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from pingji.engine import evaluate
from pingji.engine.workdays import FIRST_YEAR, LAST_YEAR
from pingji.errors import DataError, SchemeError
from pingji.scheme import load_scheme

SCHEME = """
id: workdays-test
entity: customers
period: year
metrics:
  opened: {first: complaints.opened_at, window: all}
  resolved: {last: complaints.resolved_at, window: all}
  span: {expr: "workdays_between(opened, resolved)"}
  back: {expr: "workdays_between(resolved, opened)"}
  calendar_days: {expr: "days_between(opened, resolved)"}
  fast:
    count: complaints
    window: all
    where: "workdays_between(opened_at, coalesce(resolved_at, period_end)) <= 2"
"""

# One complaint per customer; the working days of each are counted by hand in the test.
COMPLAINTS = """
entity_id,opened_at,resolved_at
SF,2025-01-24,2025-02-10
SAT,2025-02-07,2025-02-08
SAME,2025-03-03,2025-03-03
WKND,2025-03-07,2025-03-09
OPEN,2025-12-29,
OCT,2025-09-30,2025-10-13
"""
CUSTOMERS = "customer_id\nSF\nSAT\nSAME\nWKND\nOPEN\nOCT\nNONE"


def scheme(tmp_path, text: str = SCHEME):
    path = tmp_path / "workdays.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scheme(path)


def run(tmp_path, open_tables, tables: dict[str, str], period: str = "2025"):
    ev = evaluate(scheme(tmp_path), open_tables(tables), period)
    return {r["entity_id"]: r for r in ev.raw.to_pylist()}


def test_working_days_follow_holidays_and_make_up_days(tmp_path, open_tables):
    rows = run(tmp_path, open_tables, {"customers": CUSTOMERS, "complaints": COMPLAINTS})
    span = {k: r["m__span"] for k, r in rows.items()}
    # SF: Fri 2025-01-24 → Mon 02-10, the Spring Festival: after the 24th, Sat 25 rests, Sun 26
    #   is a make-up working day (调休), Mon 27 works, Tue 28 … Tue 02-04 are the holiday,
    #   Wed 5, Thu 6, Fri 7 work, Sat 8 is a make-up working day, Sun 9 rests, Mon 10 works:
    #   1 + 1 + 3 + 1 + 1 = 7 (17 calendar days).
    # SAT: Fri 02-07 → Sat 02-08, the make-up Saturday: 1.
    # SAME: resolved the day it was opened: 0.   WKND: Fri 03-07 → Sun 03-09: 0.
    # OCT: Tue 09-30 → Mon 10-13: 10-01…10-08 National Day and Mid-autumn, Thu 9, Fri 10 work,
    #   Sat 11 is a make-up day, Sun 12 rests, Mon 13 works: 4 (13 calendar days).
    # OPEN has no resolution and NONE no complaint: null.
    assert span == {
        "SF": 7,
        "SAT": 1,
        "SAME": 0,
        "WKND": 0,
        "OCT": 4,
        "OPEN": None,
        "NONE": None,
    }
    # counted backwards the sign turns
    assert rows["SF"]["m__back"] == -7 and rows["OCT"]["m__back"] == -4
    assert rows["SF"]["m__calendar_days"] == 17
    # over the complaint rows: OPEN is counted to the period end, Mon 12-29 → Wed 12-31: 2
    fast = {k: r["m__fast"] for k, r in rows.items()}
    assert fast == {"SF": 0, "SAT": 1, "SAME": 1, "WKND": 1, "OPEN": 1, "OCT": 0, "NONE": 0}


def test_the_calendar_table_overrides_the_official_days(tmp_path, open_tables):
    # the company rests on Mon 2025-02-10 and works on Sat 2025-03-08
    calendar = "date,workday\n2025-02-10,false\n2025-03-08,true"
    rows = run(
        tmp_path,
        open_tables,
        {"customers": CUSTOMERS, "complaints": COMPLAINTS, "calendar": calendar},
    )
    span = {k: r["m__span"] for k, r in rows.items()}
    assert span["SF"] == 6  # 7 − Mon 02-10
    assert span["WKND"] == 1  # Sat 03-08 now works
    assert span["OCT"] == 4  # untouched
    assert rows["WKND"]["m__fast"] == 1


def _year(year: int, rest: set[str]) -> str:
    """Return a calendar table for a whole year: Monday–Friday work, except the days in rest."""
    day, lines = datetime.date(year, 1, 1), ["date,workday"]
    while day.year == year:
        lines.append(f"{day},{'true' if day.weekday() < 5 and str(day) not in rest else 'false'}")
        day += datetime.timedelta(days=1)
    return "\n".join(lines)


def test_a_year_the_package_does_not_know_is_refused(tmp_path, open_tables):
    year = LAST_YEAR + 1
    complaints = f"entity_id,opened_at,resolved_at\nSF,{year}-01-01,{year}-01-05"
    with pytest.raises(DataError) as err:
        run(tmp_path, open_tables, {"customers": CUSTOMERS, "complaints": complaints}, str(year))
    assert f"workdays_between() cannot count working days in {year}" in str(err.value)
    assert f"chinese-calendar knows {FIRST_YEAR}–{LAST_YEAR}" in str(err.value)
    assert err.value.exit_code == 2


def test_a_calendar_table_can_add_a_year(tmp_path, open_tables):
    # the year after the package's last, listed in the table: its New Year's Day rests;
    # a span across an unknown year has no count
    year = LAST_YEAR + 1
    later = LAST_YEAR + 3
    jan1 = datetime.date(year, 1, 1)
    complaints = (
        "entity_id,opened_at,resolved_at\n"
        f"SF,{jan1},{jan1 + datetime.timedelta(days=7)}\n"
        f"OCT,{LAST_YEAR}-12-31,{jan1 + datetime.timedelta(days=7)}"
    )
    calendar = _year(year, {str(jan1)}) + "\n" + _year(later, set()).partition("\n")[2]
    tables = {"customers": CUSTOMERS, "complaints": complaints, "calendar": calendar}
    rows = run(tmp_path, open_tables, tables, str(year))
    # after 1 January up to 8 January: 7 days, of which the weekdays work (1 January rests
    # but is not counted anyway), so the count is the weekdays among 2…8 January
    weekdays = sum((jan1 + datetime.timedelta(days=k)).weekday() < 5 for k in range(1, 8))
    assert rows["SF"]["m__span"] == weekdays
    # from the package's last day (a Thursday, 2026-12-31) into the table's year: contiguous
    assert rows["OCT"]["m__span"] == weekdays
    complaints_gap = f"entity_id,opened_at,resolved_at\nSF,{year}-12-31,{later}-01-05"
    tables = {"customers": CUSTOMERS, "complaints": complaints_gap, "calendar": calendar}
    rows = run(tmp_path, open_tables, tables, str(year))
    assert rows["SF"]["m__span"] is None  # {later - 1} is known to nobody


def test_duplicate_calendar_days_are_refused(tmp_path, open_tables):
    calendar = "date,workday\n2025-02-10,false\n2025-02-10,true"
    with pytest.raises(DataError, match="2025-02-10"):
        run(
            tmp_path,
            open_tables,
            {"customers": CUSTOMERS, "complaints": COMPLAINTS, "calendar": calendar},
        )


@pytest.mark.parametrize(
    ("section", "where"),
    [
        (
            'grades: {on: "workdays_between(opened, resolved)", levels: [{grade: A, min: 1}, {grade: B}]}',
            "grades.on",
        ),
        (
            'outputs: [{id: slow, expr: "workdays_between(opened, resolved) > 2", type: string}]',
            "outputs.0.expr",
        ),
    ],
)
def test_workdays_between_outside_metrics_is_refused_with_its_position(tmp_path, section, where):
    with pytest.raises(SchemeError) as err:
        scheme(tmp_path, SCHEME + section + "\n")
    text = str(err.value)
    assert "workdays_between() may be used in a metric's `expr` or `where` only" in text
    assert f"[{where}]" in text
    assert err.value.exit_code == 2
