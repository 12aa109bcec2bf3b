"""Whether any fact row falls inside the windows a scheme reads for a period.

A period the data does not reach (a typo such as 2052, a month not yet imported) would rate
every entity on no data at all — all of them C — without a word. `coverage` finds out with
one query over the fact tables (rows inside the windows, first and last date), before the
evaluation runs."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis

from pingji.errors import BadInput
from pingji.periods import Period
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
    def empty(self) -> bool:
        """Tell whether the scheme reads windowed facts and none of them has a row there."""
        return bool(self.tables) and self.rows == 0

    def describe(self) -> str:
        """Return a sentence saying that the period has no data, and where the data is."""
        tables = ", ".join(self.tables)
        if self.first is None:
            where = "the tables have no rows at all"
        else:
            where = f"the data runs from {self.first} to {self.last}"
        return (
            f"period {self.period} ({self.period.start} to {self.period.end}) has no row of "
            f"{tables} inside the scheme's windows; {where}"
        )


def windows(rs: ResolvedScheme, period: Period) -> dict[str, list[tuple[date | None, date | None]]]:
    """Return, per fact table with a date, the windows the scheme's metrics read for `period`."""
    from pingji.engine.plan import Compiler

    bounds = Compiler.window_bounds  # uses nothing of the compiler but its arguments
    found: dict[str, list[tuple[date | None, date | None]]] = {}
    for m in rs.scheme.metrics.values():
        if m.aggregation:
            table = getattr(m, m.aggregation).partition(".")[0]
            window = bounds(None, m.window, period)  # type: ignore[arg-type]
        elif m.latest:
            table, window = m.latest.partition(".")[0], (None, period.end)
        else:
            continue
        spec = rs.tables.get(table)
        if spec is not None and spec.kind == "fact" and spec.date:
            found.setdefault(table, []).append(window)
    return found


def coverage(rs: ResolvedScheme, dataset: Any, period: Period) -> Coverage:
    """Count the fact rows inside the scheme's windows for `period`, in one query."""
    dataset.use(rs.reads())
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
        return Coverage(period, (), 0, None, None)
    found = ibis.union(*parts) if len(parts) > 1 else parts[0]
    table = found.to_pyarrow().to_pylist()
    firsts = [r["first"] for r in table if r["first"] is not None]
    lasts = [r["last"] for r in table if r["last"] is not None]
    return Coverage(
        period,
        tuple(sorted(wanted)),
        sum(r["rows"] or 0 for r in table),
        min(firsts, default=None),
        max(lasts, default=None),
    )


class EmptyPeriod(BadInput):
    """The period has no fact row inside the scheme's windows (exit code 2)."""


def refusal(rs: ResolvedScheme, found: Coverage) -> EmptyPeriod:
    """Return the error refusing an evaluation over a period without data (`found.empty`)."""
    return EmptyPeriod(
        f"{found.describe()}: every entity ({rs.scheme.entity}) would be rated on no data. "
        "Check the period, or evaluate anyway with --allow-empty"
    )
