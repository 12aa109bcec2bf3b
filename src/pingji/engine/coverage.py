"""Whether any fact row falls inside the windows a scheme reads for a period.

A period the data does not reach (a typo such as 2052, a month not yet imported) would rate
every entity on no data at all — all of them C — without a word. `coverage` finds out with
one query over the fact tables (rows inside the windows, first and last date), before the
evaluation runs. A period that begins more than one period's length after the last date of
the data (or ends that long before the first) is refused too, even when `window: all` or
`to_date` metrics find older rows."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pingji.errors import BadInput
from pingji.i18n import Message, msg
from pingji.periods import Period

if TYPE_CHECKING:
    from pingji.scheme.resolve import ResolvedScheme


@dataclass(frozen=True)
class Coverage:
    """The fact tables a scheme reads through windows, and what the data holds of them."""

    period: Period
    tables: tuple[str, ...]  # fact tables with a date that metrics read through a window
    rows: int  # their rows inside the windows
    first: date | None  # the data's date range over those tables (None: no rows at all)
    last: date | None

    @property
    def outside(self) -> str | None:
        """Return "after" when the period begins more than one period's length after the
        last date of the data, "before" when it ends that long before the first, else None
        (unknown range: None)."""
        if self.first is None or self.last is None:
            return None
        # a whole period of no data between the two: a month without sales right after the
        # data's last day is a quiet month (its customers may be "lost"); a period further
        # away is a typo or data not loaded yet
        length = timedelta(days=(self.period.end - self.period.start).days + 1)
        if self.period.start > self.last + length:
            return "after"
        if self.period.end < self.first - length:
            return "before"
        return None

    @property
    def empty(self) -> bool:
        """Tell whether the scheme reads windowed facts and none of them has a row there, or
        the period lies wholly after (or before) their data: a period in the future is a
        mistake even when `window: all` or `to_date` metrics would find older rows."""
        return bool(self.tables) and (self.rows == 0 or self.outside is not None)

    def describe(self) -> Message:
        """Return a sentence saying that the period has no data, and where the data is."""
        if self.rows and self.outside is not None:
            return msg(
                "period {period} ({start} to {end}) begins after the last date of {tables}; "
                "the data runs from {first} to {last}"
                if self.outside == "after"
                else "period {period} ({start} to {end}) ends before the first date of "
                "{tables}; the data runs from {first} to {last}",
                period=str(self.period),
                start=str(self.period.start),
                end=str(self.period.end),
                tables=list(self.tables),
                first=str(self.first),
                last=str(self.last),
            )
        if self.first is None:
            where = msg("the tables have no rows at all")
        else:
            where = msg(
                "the data runs from {first} to {last}", first=str(self.first), last=str(self.last)
            )
        return msg(
            "period {period} ({start} to {end}) has no row of {tables} inside the scheme's "
            "windows; {where}",
            period=str(self.period),
            start=str(self.period.start),
            end=str(self.period.end),
            tables=list(self.tables),
            where=where,
        )


def window_bounds(window, period: Period) -> tuple[date | None, date | None]:
    """Return the first and last day a metric window reads for `period` (None: open)."""
    if window == "period":
        return period.start, period.end
    if window == "previous":
        p = period.previous()
        return p.start, p.end
    if window == "to_date":
        return None, period.end
    if window == "all":
        return None, None
    if hasattr(window, "last_months"):
        return period.last_months(window.last_months)
    p = period.shift(-window.periods_back)
    return p.start, p.end


def windows(rs: ResolvedScheme, period: Period) -> dict[str, list[tuple[date | None, date | None]]]:
    """Return, per fact table with a date, the windows the scheme's metrics read for `period`."""
    found: dict[str, list[tuple[date | None, date | None]]] = {}
    for m in rs.scheme.metrics.values():
        if m.aggregation:
            table = getattr(m, m.aggregation).partition(".")[0]
            window = window_bounds(m.window, period)
        elif m.latest:
            table, window = m.latest.partition(".")[0], (None, period.end)
        else:
            continue
        spec = rs.tables.get(table)
        if spec is not None and spec.kind == "fact" and spec.date:
            found.setdefault(table, []).append(window)
    return found


def inside_period(rs: ResolvedScheme, period: Period) -> bool:
    """Tell whether every window the scheme reads lies inside the period itself: then a row
    read by the aggregates is a row of the period, and no query of the data's range is needed."""
    return all(
        start is not None and end is not None and start >= period.start and end <= period.end
        for spans in windows(rs, period).values()
        for start, end in spans
    )


def coverage(rs: ResolvedScheme, dataset: Any, period: Period) -> Coverage:
    """Count the fact rows inside the scheme's windows for `period`, in one query."""
    dataset.use(rs.reads())
    query, tables = coverage_query(rs, dataset, period)
    rows = query.to_pyarrow().to_pylist() if query is not None else []
    return from_rows(period, tables, rows)


def coverage_query(rs: ResolvedScheme, dataset: Any, period: Period):
    """Return the query of rows/first/last per windowed fact table (None: no such table), and
    the tables it reads; `dataset` may be the compiler's view of one (compile.py)."""
    import ibis

    wanted = {t: w for t, w in windows(rs, period).items() if dataset.has(t)}
    parts = []
    for table, spans in sorted(wanted.items()):
        spec = rs.tables[table]
        t = dataset.table(table)
        day = t[spec.date].cast("date")
        conditions = []
        for start, end in dict.fromkeys(spans):
            bounds = [day >= start] if start is not None else []
            bounds += [day <= end] if end is not None else []
            if not bounds:  # `window: all` reads every row
                conditions = []
                break
            conditions.append(functools.reduce(operator.and_, bounds))
        if conditions:
            rows = functools.reduce(operator.or_, conditions).ifelse(1, 0).sum()
        else:
            rows = t.count()
        parts.append(t.aggregate(rows=rows.cast("int64"), first=day.min(), last=day.max()))
    if not parts:
        return None, ()
    return (ibis.union(*parts) if len(parts) > 1 else parts[0]), tuple(sorted(wanted))


def from_rows(period: Period, tables: tuple[str, ...], table: list[dict]) -> Coverage:
    """Return the coverage the rows of `coverage_query` tell."""
    if not tables:
        return Coverage(period, (), 0, None, None)
    firsts = [r["first"] for r in table if r["first"] is not None]
    lasts = [r["last"] for r in table if r["last"] is not None]
    return Coverage(
        period,
        tables,
        sum(r["rows"] or 0 for r in table),
        min(firsts, default=None),
        max(lasts, default=None),
    )


class EmptyPeriod(BadInput):
    """The period has no fact row inside the scheme's windows (exit code 2)."""


def refusal(rs: ResolvedScheme, found: Coverage) -> EmptyPeriod:
    """Return the error refusing an evaluation over a period without data (`found.empty`)."""
    return EmptyPeriod(
        msg(
            "{coverage}: every entity ({entity}) would be rated on no data. Check the period, "
            "or evaluate anyway with --allow-empty"
            if not found.rows
            else "{coverage}: every entity ({entity}) would be rated without any data of the "
            "period. Check the period, or evaluate anyway with --allow-empty",
            coverage=found.describe(),
            entity=rs.scheme.entity,
        )
    )


def warning(found: Coverage) -> Message:
    """Return the warning of an evaluation of a period without data (`--allow-empty`)."""
    if not found.rows:
        return msg("{coverage}: every entity was rated on no data", coverage=found.describe())
    return msg(
        "{coverage}: every entity was rated without any data of the period",
        coverage=found.describe(),
    )
