"""Evaluation periods: `2025`, `2025-Q3`, `2025-07` — parsing and calendar arithmetic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pingji.errors import BadInput
from pingji.i18n import msg

PeriodKind = Literal["year", "quarter", "month"]
_MONTHS = {"year": 12, "quarter": 3, "month": 1}
_PATTERNS = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE), "quarter"),
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "month"),
)


# Years a period may fall in. Windows reach up to 100 years back (`last_months: 1200`) and the
# calendar ends at 9999, so 0001 or 9999 cannot be computed with; no business data is older.
MIN_YEAR, MAX_YEAR = 1900, 2999


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar year, quarter or month, identified by its first month."""

    kind: PeriodKind
    first_month: int  # year * 12 + month - 1

    @classmethod
    def parse(cls, text: str, expected: PeriodKind | None = None) -> Period:
        """Parse `2025`, `2025-Q3` or `2025-07`; check the kind when one is expected."""
        raw = str(text).strip()
        for pattern, kind in _PATTERNS:
            m = pattern.match(raw)
            if not m:
                continue
            year = int(m.group(1))
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise BadInput(
                    msg(
                        "period '{period}' is out of range: the year must be from {low} to {high}",
                        period=raw,
                        low=MIN_YEAR,
                        high=MAX_YEAR,
                    )
                )
            if kind == "year":
                month0 = 0
            elif kind == "quarter":
                month0 = (int(m.group(2)) - 1) * 3
            else:
                month0 = int(m.group(2)) - 1
            period = cls(kind, year * 12 + month0)  # type: ignore[arg-type]
            if expected and kind != expected:
                raise BadInput(
                    msg(
                        "period '{period}' is a {kind}, but this scheme is evaluated per "
                        "{expected} (e.g. {example})",
                        period=raw,
                        kind=msg(kind),
                        expected=msg(expected),
                        example=period.example(expected),
                    )
                )
            return period
        raise BadInput(
            msg(
                "'{period}' is not a period: write a year (2025), a quarter (2025-Q3) "
                "or a month (2025-07)",
                period=raw,
            )
        )

    @staticmethod
    def example(kind: PeriodKind) -> str:
        """Return an example period text of a kind."""
        return {"year": "2025", "quarter": "2025-Q3", "month": "2025-07"}[kind]

    @property
    def months(self) -> int:
        """Return the length in months."""
        return _MONTHS[self.kind]

    @property
    def start(self) -> date:
        """Return the first day."""
        return _month_start(self.first_month)

    @property
    def end(self) -> date:
        """Return the last day (inclusive)."""
        return _month_start(self.first_month + self.months) - timedelta(days=1)

    def shift(self, n: int) -> Period:
        """Return the period n periods later (negative: earlier)."""
        return Period(self.kind, self.first_month + n * self.months)

    def previous(self) -> Period:
        """Return the period of the same length just before."""
        return self.shift(-1)

    def last_months(self, n: int) -> tuple[date, date]:
        """Return the first and last day of the n calendar months ending with this period's last."""
        last = self.first_month + self.months - 1
        return _month_start(last - n + 1), self.end

    def __str__(self) -> str:
        year, month0 = divmod(self.first_month, 12)
        if self.kind == "year":
            return f"{year}"
        if self.kind == "quarter":
            return f"{year}-Q{month0 // 3 + 1}"
        return f"{year}-{month0 + 1:02d}"
