"""How numbers are shown: the one formatter of every web page, CSV and Excel export.

A scheme says how its figures read (docs/scheme-language.md, "Number formats"): a metric or
output may declare `format: percent | money | number | integer` and `decimals:`, and
`display: {decimals: N}` sets the one precision of its scores and points. Undeclared metrics
follow their data: counts are integers, sums and other aggregations of an amount column are
money, everything else a plain number.

Text: a rate 0.92 → "92.0%", money 12500 → "12,500.00", an integer → "1,234", a score with one
decimal → "70.5" (and "70.0": one precision, not "70"), a missing value → "—". Spreadsheets get
the same rules as rounded values and number formats ('0.0%', '#,##0.00'), never text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # parsing schemes needs pydantic: writing CSV or Parquet does not
    from pingji.scheme.resolve import ResolvedNode, ResolvedScheme

MISSING = "—"  # what every page and export shows for a missing value (never 0)
PERCENT, MONEY, NUMBER, INTEGER = "percent", "money", "number", "integer"
KINDS = (PERCENT, MONEY, NUMBER, INTEGER)
_DEFAULT_DECIMALS = {PERCENT: 1, MONEY: 2, INTEGER: 0, NUMBER: 2}
_AMOUNT_KINDS = ("sum", "mean", "min", "max", "first", "last", "latest", "attribute")


def _decimal(value: Any) -> Decimal | None:
    """Return a finite number as a Decimal (exactly as written for floats), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr keeps the shortest text that reads back as the float: 0.925 stays 0.925
        return Decimal(repr(value)) if math.isfinite(value) else None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _quantize(d: Decimal, places: int) -> Decimal:
    # half up, as people and Excel round (92.05% → 92.1%), not banker's rounding
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NumberFormat:
    """How one kind of figure is shown: its kind and digits after the point."""

    kind: str = NUMBER
    decimals: int | None = None  # None: the kind's default (a plain number: up to 2, trimmed)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown number format '{self.kind}' (one of {', '.join(KINDS)})")

    @property
    def places(self) -> int:
        """Return the digits after the point as shown (a percent's of the percentage)."""
        return _DEFAULT_DECIMALS[self.kind] if self.decimals is None else self.decimals

    @property
    def trimmed(self) -> bool:
        """Return whether trailing zeros are dropped (a plain number without `decimals`)."""
        return self.kind == NUMBER and self.decimals is None

    def rounded(self, value: Any) -> float | int | None:
        """Return the value as a spreadsheet cell holds it: rounded as shown (a percent to
        its fraction: 0.92345 with one decimal → 0.923), None when missing or not finite."""
        d = _decimal(value)
        if d is None:
            return None
        if self.kind == INTEGER:
            return int(_quantize(d, 0))
        places = self.places + 2 if self.kind == PERCENT else self.places
        return float(_quantize(d, places))

    def text(self, value: Any, missing: str = MISSING) -> str:
        """Return the value as people read it: '92.0%', '12,500.00', '1,234', '—'."""
        d = _decimal(value)
        if d is None:
            return missing
        if self.kind == PERCENT:
            d = d * 100
        d = _quantize(d, self.places)
        if d == 0:
            d = abs(d)  # no "-0.0"
        out = f"{d:,.{self.places}f}"
        if self.trimmed and "." in out:
            out = out.rstrip("0").rstrip(".")
        return out + "%" if self.kind == PERCENT else out

    def excel(self) -> str:
        """Return the Excel number format of this kind: '0.0%', '#,##0.00', '#,##0'."""
        digits = "." + "0" * self.places if self.places else ""
        if self.kind == PERCENT:
            return f"0{digits}%"
        return f"#,##0{digits}"

    def sql(self, column: str) -> str:
        """Return DuckDB SQL rounding a numeric column as `rounded` does (set-based, for CSV)."""
        if self.kind == INTEGER:  # NaN or infinity has no whole number: missing
            finite = f"isfinite(CAST({column} AS DOUBLE))"
            return f"CASE WHEN {finite} THEN CAST(round({column}) AS BIGINT) END"
        places = self.places + 2 if self.kind == PERCENT else self.places
        return f"round({column}, {places})"

    def sql_text(self, column: str) -> str:
        """Return DuckDB SQL giving a percent column as text '92.0%' (a CSV read by Excel turns
        it into a percentage); other kinds are rounded numbers (sql)."""
        if self.kind != PERCENT:
            return self.sql(column)
        # printf rounds half to even on binary doubles; round() first, to the shown digits
        shown = f"round(CAST({column} AS DOUBLE) * 100, {self.places})"
        return f"CASE WHEN isfinite({shown}) THEN printf('%.{self.places}f%%', {shown}) END"


def exact(value: Any, grouped: bool = True, min_decimals: int = 0) -> str:
    """Return a number with every digit it holds, grouped by thousands and without an
    exponent (an imported cell as it will be stored: 1,234,567.891, 12,500.00 for money)."""
    d = _decimal(value)
    if d is None:
        return MISSING
    d = d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()
    if d == 0:
        d = abs(d)  # no "-0"
    out = format(d, ",f" if grouped else "f")
    if min_decimals:
        whole, _, decimals = out.partition(".")
        out = f"{whole}.{decimals.ljust(min_decimals, '0')}"
    return out


INTEGER_FORMAT = NumberFormat(INTEGER)
PLAIN = NumberFormat(NUMBER)


def text(value: Any, fmt: NumberFormat | str | None = None, decimals: int | None = None) -> str:
    """Return any value as people read it: numbers by `fmt` (a NumberFormat or a kind), others
    as text (是/否, ISO dates); '—' when missing."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "是" if value else "否"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "、".join(text(v, fmt, decimals) for v in value) or MISSING
    if isinstance(fmt, str):
        fmt = NumberFormat(fmt, decimals)
    if isinstance(value, int | float | Decimal):
        return (fmt or PLAIN).text(value)
    return str(value)


# ----------------------------------------------------------------- per scheme


def score_format(rs: ResolvedScheme) -> NumberFormat:
    """Return how the scheme's scores and points are shown (`display: {decimals: N}`)."""
    return NumberFormat(NUMBER, rs.scheme.display.decimals)


def metric_format(rs: ResolvedScheme, name: str) -> NumberFormat:
    """Return how a metric's value is shown: as declared, else by what it measures."""
    m = rs.scheme.metrics.get(name)
    if m is None:
        return PLAIN
    if m.format is not None:
        return NumberFormat(m.format, m.decimals)
    if m.kind in ("count", "count_distinct"):
        return INTEGER_FORMAT
    if m.kind in _AMOUNT_KINDS and _column_type(rs, m.kind, getattr(m, m.kind)) == MONEY:
        return NumberFormat(MONEY, m.decimals)
    return NumberFormat(NUMBER, m.decimals)


def _column_type(rs: ResolvedScheme, kind: str, ref: str) -> str | None:
    if kind == "attribute":  # an entity column: `attribute: credit_limit`
        table, column = rs.scheme.entity, ref
    else:
        table, _, column = ref.partition(".")
    spec = rs.tables.get(table)
    col = spec.column(column) if spec is not None else None
    return col.type if col is not None else None


def value_metric(rs: ResolvedScheme, rn: ResolvedNode) -> str | None:
    """Return the metric an indicator's value simply is (`value: sales`), if it is one."""
    from pingji import expr

    tree = rs.exprs.get((*rn.path, "$value"))
    if isinstance(tree, expr.Name) and tree.name in rs.scheme.metrics:
        return tree.name
    return None


def node_value_format(rs: ResolvedScheme, rn: ResolvedNode) -> NumberFormat:
    """Return how an indicator's value is shown: its metric's format, else a plain number."""
    name = value_metric(rs, rn)
    return metric_format(rs, name) if name else PLAIN


def output_format(rs: ResolvedScheme, output_id: str) -> NumberFormat | None:
    """Return how an output is shown (None for text outputs): as declared, else by its type."""
    out = next((o for o in rs.scheme.outputs if o.id == output_id), None)
    if out is None or out.type == "string":
        return None
    if out.format is not None:
        return NumberFormat(out.format, out.decimals)
    if out.type == INTEGER:
        return INTEGER_FORMAT
    decimals = out.decimals if out.decimals is not None else out.round
    if out.type == MONEY:
        return NumberFormat(MONEY, decimals)
    return NumberFormat(NUMBER, decimals)


def column_formats(rs: ResolvedScheme) -> dict[str, NumberFormat]:
    """Return the number format of each numeric column of the flat output (CSV, Excel):
    scores and points in the scheme's precision, indicator values and outputs as declared."""
    score = score_format(rs)
    out = {name: score for name in ("score", "points", "max_points")}
    out["grade_basis"] = PLAIN  # any expression of the scheme's (grades.on)
    for rn in rs.nodes.values():
        out[f"{rn.id}.value"] = node_value_format(rs, rn)
        out[f"{rn.id}.points"] = score
        out[f"{rn.id}.score"] = score
    for o in rs.scheme.outputs:
        fmt = output_format(rs, o.id)
        if fmt is not None:
            out[o.id] = fmt
    return out


def rounding(rs: ResolvedScheme) -> dict[str, str]:
    """Return, per numeric column of the flat output, the DuckDB SQL rounding it as it is
    shown, with COLUMN standing for the column (kept in a scheme's digest, engine/digest.py,
    and applied by writers.rounded_sql)."""
    return {name: fmt.sql(COLUMN) for name, fmt in column_formats(rs).items()}


COLUMN = "__pingji_column__"


def duplicate_columns(rs: ResolvedScheme) -> set[str]:
    """Return the flat output columns that repeat others: the root node's points and score
    are the result's own `points` and `score` (spreadsheets show them once)."""
    root = next(iter(rs.nodes.values()), None)
    return {f"{root.id}.points", f"{root.id}.score"} if root is not None else set()
