"""What the data holds of the windows a run reads (its period): measured by the engine
when a run is executed (kept in the run's summary) or before one is started (the new-run
page's warning), and told in one sentence."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.utils.translation import gettext

from pingji.errors import PingjiError
from pingji.periods import Period

if TYPE_CHECKING:
    from pingji.web.runs.models import Run

log = logging.getLogger(__name__)


# Data that stops this many days (or this share of the window, if more) short of either end
# of the windows a run reads counts as partial: no business books a row on every last day
# (weekends, holidays), and a warning on every run would be one nobody reads.
PARTIAL_SLACK_DAYS = 7
PARTIAL_SLACK_SHARE = 0.05


@dataclass(frozen=True)
class PeriodCoverage:
    """What the data holds of the windows a run reads: the engine's coverage (fact tables
    read through windows, their rows inside, the data's first and last day) and the span of
    those windows (start None: open, `to_date`/`all`)."""

    period: str
    tables: tuple[str, ...]
    rows: int
    first: date | None
    last: date | None
    start: date | None
    end: date | None
    # "after" when the period begins after the data's last day, "before" when it ends
    # before its first (the engine's rule: a period in the future is a mistake even when
    # `window: all` or `to_date` metrics would find older rows)
    outside: str | None = None

    @property
    def empty(self) -> bool:
        """Tell whether the scheme reads windowed facts and none of them has a row there,
        or the period lies wholly after (or before) their data."""
        return bool(self.tables) and (self.rows == 0 or self.outside is not None)

    def _slack(self) -> int:
        if self.start is None or self.end is None:
            return PARTIAL_SLACK_DAYS
        span = (self.end - self.start).days + 1
        return max(PARTIAL_SLACK_DAYS, math.floor(span * PARTIAL_SLACK_SHARE))

    @property
    def missing_start(self) -> bool:
        """Tell whether the data starts well after the windows do."""
        return (
            self.start is not None
            and self.first is not None
            and (self.first - self.start).days > self._slack()
        )

    @property
    def missing_end(self) -> bool:
        """Tell whether the data stops well before the windows end."""
        return (
            self.end is not None
            and self.last is not None
            and (self.end - self.last).days > self._slack()
        )

    @property
    def partial(self) -> bool:
        """Tell whether there is data, but it covers only part of the windows."""
        return bool(self.tables) and not self.empty and (self.missing_start or self.missing_end)

    def describe(self) -> str:
        """Return one sentence (Chinese first, translated) on what the data covers."""
        values = {
            "tables": "、".join(self.tables),
            "span": _span(self.start, self.end),
            "data": _span(self.first, self.last) if self.first else gettext("没有任何数据行"),
            "period": self.period,
        }
        if self.empty and self.outside is not None and self.rows:
            return (
                gettext("期间 %(period)s 在数据的最后一天之后开始（数据的日期范围：%(data)s）。")
                if self.outside == "after"
                else gettext("期间 %(period)s 在数据的第一天之前结束（数据的日期范围：%(data)s）。")
            ) % values
        if self.empty:
            return (
                gettext(
                    "期间 %(period)s 读取 %(tables)s 在 %(span)s 的数据，但其中没有任何数据行"
                    "（数据的日期范围：%(data)s）。"
                )
                % values
            )
        return (
            gettext(
                "期间 %(period)s 读取 %(tables)s 在 %(span)s 的数据，但数据只覆盖其中一部分"
                "（数据的日期范围：%(data)s）。"
            )
            % values
        )

    def as_json(self) -> dict:
        """The facts as JSON for the run's summary (dates as ISO text)."""
        out = dataclasses.asdict(self)
        for key in ("first", "last", "start", "end"):
            out[key] = out[key].isoformat() if out[key] else None
        out["tables"] = list(self.tables)
        return out

    @classmethod
    def from_json(cls, data: dict) -> PeriodCoverage | None:
        """The coverage kept in a run's summary, or None when it holds none (older runs)."""
        try:
            return cls(
                period=str(data["period"]),
                tables=tuple(data["tables"]),
                rows=int(data["rows"]),
                outside=data.get("outside") if data.get("outside") in ("after", "before") else None,
                **{
                    k: date.fromisoformat(data[k]) if data.get(k) else None
                    for k in ("first", "last", "start", "end")
                },
            )
        except (KeyError, TypeError, ValueError):
            return None


def _span(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return gettext("全部日期")
    if start is None:
        return gettext("截至 %(end)s") % {"end": end.isoformat()}
    return f"{start.isoformat()} ~ {end.isoformat() if end else '…'}"


def measure_coverage(rs, ds, period: str) -> PeriodCoverage | None:
    """Ask the engine what the data set holds of the windows `rs` reads for `period`, or
    None when it cannot tell (the run itself will say what is wrong with the data)."""
    from pingji.engine.coverage import coverage, windows

    try:
        parsed = Period.parse(period, rs.scheme.period)
        found = coverage(rs, ds, parsed)
        spans = [w for t, ws in windows(rs, parsed).items() if t in found.tables for w in ws]
    except PingjiError:
        return None
    except Exception:  # a warning's facts must never stop a run: say so in the log
        log.exception("coverage of period %s could not be measured", period)
        return None
    starts = [s for s, _e in spans]
    ends = [e for _s, e in spans]
    return PeriodCoverage(
        period=str(parsed),
        tables=tuple(found.tables),
        rows=int(found.rows),
        first=found.first,
        last=found.last,
        start=None if not starts or None in starts else min(starts),
        end=None if not ends or None in ends else max(ends),
        outside=found.outside,
    )


def run_coverage(run: Run) -> PeriodCoverage | None:
    """The coverage recorded when the run was executed (None for runs before it was)."""
    data = (run.summary or {}).get("coverage")
    return PeriodCoverage.from_json(data) if isinstance(data, dict) else None
