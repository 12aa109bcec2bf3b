"""The working-day calendar behind workdays_between(): China's public holidays and make-up
working days (调休) from the chinese-calendar package, with a data set's `calendar` table over it.

workdays_between(a, b) counts the working days d with a < d ≤ b (negative when b < a). The
calendar is one small relation, a row per known day with the number of working days up to and
including it (`__i`) and the run of consecutive known days it belongs to (`__s`); a call is two
left joins on its dates and a subtraction, so it runs set-based over fact rows (a metric's
`where`) and over entities (a metric's `expr`) alike, on every backend.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable

import ibis
import ibis.expr.types as ir
from chinese_calendar.constants import holidays as _HOLIDAYS
from chinese_calendar.constants import workdays as _WORKDAYS

from pingji import expr
from pingji.data.contract import ROW_COLUMN
from pingji.errors import DataError
from pingji.periods import Period

# The years the installed chinese-calendar knows (2004–2026 in 1.11). Each winter the State
# Council publishes the next year's holidays and a new release of the package follows.
FIRST_YEAR = min(_HOLIDAYS).year
LAST_YEAR = max(_HOLIDAYS).year
TABLE = "calendar"
FUNCTION = "workdays_between"


@functools.cache
def official_days() -> dict[datetime.date, bool]:
    """Return whether each day of the years chinese-calendar knows is a working day in China."""
    day = datetime.date(FIRST_YEAR, 1, 1)
    last = datetime.date(LAST_YEAR, 12, 31)
    out: dict[datetime.date, bool] = {}
    while day <= last:
        # the package's own rule: a make-up day works, a holiday rests, else Monday–Friday
        out[day] = day in _WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS)
        day += datetime.timedelta(days=1)
    return out


def relation_rows(days: dict[datetime.date, bool]) -> dict[str, list]:
    """Return the calendar relation's columns for the known days: date, working days up to and
    including it, and the run of consecutive known days it belongs to."""
    dates, index, runs = [], [], []
    count, run, previous = 0, 0, None
    for day in sorted(days):
        if previous is not None and (day - previous).days > 1:
            run += 1  # a day nobody knows lies between: counting may not cross it
        count += days[day]
        dates.append(day)
        index.append(count)
        runs.append(run)
        previous = day
    return {"__d": dates, "__i": index, "__s": runs}


def workday_calls(trees: Iterable) -> list:
    """Return the distinct workdays_between() calls of expression trees, inner calls first."""
    found: list = []
    for tree in trees:
        for node in reversed(list(expr.walk(tree))):  # children before their parents
            if isinstance(node, expr.Call) and node.name == FUNCTION and node not in found:
                found.append(node)
    return found


class WorkingDays:
    """The working-day calendar of one data set (built on first use)."""

    def __init__(self, dataset, inline: Callable | None = None) -> None:
        self.ds = dataset  # None: the official calendar alone
        # makes a table of rows (columns → values) and a schema; default: an Ibis memtable
        self.inline = inline
        self._days: dict[datetime.date, bool] | None = None
        self._relation: ir.Table | None = None

    def days(self) -> dict[datetime.date, bool]:
        """Return every known day and whether it is a working day: the official calendar,
        then the data set's calendar table (which wins, and may add days)."""
        if self._days is None:
            days = dict(official_days())
            if self.ds is not None and self.ds.has(TABLE):
                days.update(self._table_days())
            self._days = days
        return self._days

    def _table_days(self) -> dict[datetime.date, bool]:
        t = self.ds.table(TABLE)
        dup = t.group_by("date").aggregate(n=t.count()).filter(lambda d: d.n > 1)
        dups = dup.order_by("date").limit(1).to_pyarrow().to_pylist()
        if dups:
            raise DataError(
                self.ds.source(TABLE),
                f"{dups[0]['n']} rows for the day {dups[0]['date']}: keep one",
                column="date",
                value=str(dups[0]["date"]),
                expected="each date once",
            )
        cols = ["date", "workday"] + ([ROW_COLUMN] if ROW_COLUMN in t.columns else [])
        rows = t.select(*cols).to_pyarrow().to_pylist()
        bad = next((r for r in rows if r["date"] is None or r["workday"] is None), None)
        if bad is not None:
            raise DataError(
                self.ds.source(TABLE),
                "a calendar row needs both its date and whether it is a working day",
                row=bad.get(ROW_COLUMN),
                column="date" if bad["date"] is None else "workday",
                expected="a date and true/false",
            )
        return {_as_date(r["date"]): bool(r["workday"]) for r in rows}

    def relation(self) -> ir.Table:
        """Return the calendar as a table: __d (date), __i (working days so far), __s (run)."""
        if self._relation is None:
            rows = relation_rows(self.days())
            schema = {"__d": "date", "__i": "int64", "__s": "int64"}
            if self.inline is not None:
                self._relation = self.inline("pingji_calendar", rows, schema)
            else:
                self._relation = ibis.memtable(rows, schema=schema)
        return self._relation

    def require(self, period: Period) -> None:
        """Refuse to count working days for a period the calendar does not know every day of."""
        days = self.days()
        day = period.start
        while day <= period.end:
            if day not in days:
                raise DataError(
                    self.ds.description if self.ds is not None else TABLE,
                    f"workdays_between() cannot count working days in {period}: the calendar "
                    f"does not know {day} (chinese-calendar knows {FIRST_YEAR}–{LAST_YEAR}); "
                    f"list the days of {day.year} in a `{TABLE}` table (date, workday) or "
                    "update the chinese-calendar package",
                    expected=f"a working-day calendar covering {period}",
                )
            day += datetime.timedelta(days=1)

    def add(
        self,
        t: ir.Table,
        trees: Iterable,
        resolver_for: Callable[[ir.Table], Callable[[str], ir.Value]],
        period: Period,
    ) -> tuple[ir.Table, Callable | None]:
        """Add a column per workdays_between() call of `trees` to `t`; return the table and the
        hook that compile_expr() gives those calls (None when there are none)."""
        calls = workday_calls(trees)
        if not calls:
            return t, None
        self.require(period)
        cal = self.relation()
        columns: dict = {}
        for k, call in enumerate(calls):
            current = t
            dates: list[ir.Value] = []

            def capture(c, compile_date, current=current, dates=dates):
                if c in columns:  # a call inside this call's dates, counted already
                    return current[columns[c]]
                dates.extend(compile_date(a) for a in c.args)
                return ibis.null("int64")

            expr.compile_expr(call, resolver_for(current), workdays=capture)
            a, b = (d if not d.type().is_null() else ibis.null("date") for d in dates)
            names = {side: {c: f"__wd{k}{side}{c}" for c in ("d", "i", "s")} for side in "ab"}
            t = t.mutate(**{f"__wd{k}a": a, f"__wd{k}b": b})
            for side in "ab":
                n = names[side]
                one = cal.rename({n["d"]: "__d", n["i"]: "__i", n["s"]: "__s"})
                t = t.left_join(one, t[f"__wd{k}{side}"] == one[n["d"]])
            ia, ib = t[names["a"]["i"]], t[names["b"]["i"]]
            same_run = t[names["a"]["s"]] == t[names["b"]["s"]]
            # a span across a day the calendar does not know has no count (null)
            count = ibis.ifelse(same_run, ib - ia, ibis.null("int64"))
            helpers = [f"__wd{k}a", f"__wd{k}b", *names["a"].values(), *names["b"].values()]
            t = t.mutate(**{f"__wd{k}": count}).drop(*helpers)
            columns[call] = f"__wd{k}"

        def hook(c, compile_date):
            return t[columns[c]]

        return t, hook


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
