"""The one number formatter (pingji.output.numbers) and the scheme keys that drive it:
`format` / `decimals` on metrics and outputs, `display: {decimals: N}` for scores."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from pingji.errors import SchemeError
from pingji.output import numbers
from pingji.output.numbers import NumberFormat
from pingji.scheme import load_scheme

PERCENT = NumberFormat("percent")
MONEY = NumberFormat("money")
SCORE = NumberFormat("number", 1)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        (PERCENT, 0.92, "92.0%"),
        (PERCENT, 1, "100.0%"),
        (PERCENT, 0.9205, "92.1%"),  # half up on the written digits, not on binary 0.92049…
        (PERCENT, -0.0001, "0.0%"),  # never "-0.0%"
        (NumberFormat("percent", 2), 0.123456, "12.35%"),
        (MONEY, 12500, "12,500.00"),
        (MONEY, Decimal("1234567.8951"), "1,234,567.90"),
        (MONEY, -12.5, "-12.50"),
        (NumberFormat("integer"), 1234.5, "1,235"),
        (NumberFormat("number"), 1.50, "1.5"),  # a plain number: up to 2 decimals, trimmed
        (NumberFormat("number"), 1234.567, "1,234.57"),
        (NumberFormat("number"), 37.0, "37"),
        (SCORE, 70, "70.0"),  # one precision per scheme: 70.0, not 70
        (SCORE, 49.75, "49.8"),
        (NumberFormat("number", 0), 49.5, "50"),
    ],
)
def test_it_shows_numbers_as_people_read_them(fmt, value, expected) -> None:
    assert fmt.text(value) == expected


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, Decimal("NaN")])
def test_a_missing_value_is_a_dash_never_zero(missing) -> None:
    for fmt in (PERCENT, MONEY, SCORE, NumberFormat("integer")):
        assert fmt.text(missing) == "—"
        assert fmt.rounded(missing) is None


def test_spreadsheets_get_rounded_values_and_number_formats() -> None:
    assert (PERCENT.rounded(0.923456), PERCENT.excel()) == (0.923, "0.0%")
    assert (NumberFormat("percent", 0).rounded(0.125), NumberFormat("percent", 0).excel()) == (
        0.13,
        "0%",
    )
    assert (MONEY.rounded(12.345), MONEY.excel()) == (12.35, "#,##0.00")
    assert (SCORE.rounded(52.52236), SCORE.excel()) == (52.5, "#,##0.0")
    assert (NumberFormat("integer").rounded(2.5), NumberFormat("integer").excel()) == (3, "#,##0")


def test_exact_shows_every_digit_grouped_without_an_exponent() -> None:
    assert numbers.exact(Decimal("12500"), min_decimals=2) == "12,500.00"
    assert numbers.exact(Decimal("12500.1234")) == "12,500.1234"
    assert numbers.exact(1234567.5) == "1,234,567.5"
    assert numbers.exact(1e20) == "100,000,000,000,000,000,000"
    assert numbers.exact(-0.0) == "0"


def test_text_keeps_other_values_readable() -> None:
    assert numbers.text(True) == "是"
    assert numbers.text(None, "percent") == "—"
    assert numbers.text(0.5, "percent") == "50.0%"
    assert numbers.text("A") == "A"


SCHEME = """\
id: formats
entity: customers
period: year
display: {decimals: 2}
metrics:
  sales: {sum: sales.amount}
  orders: {count: sales}
  payments: {sum: payments.amount}
  collection: {expr: payments / sales, format: percent}
  ratio: {expr: payments / sales, decimals: 3}
  rating: {rating: manager_rating, scale: [0, 100]}
tree:
  id: root
  children:
    - {id: volume, value: sales, weight: 0.5, rule: {linear: {zero_at: 0, full_at: 100}}}
    - {id: rate, value: collection, weight: 0.5, rule: {linear: {zero_at: 0.9, full_at: 1}}}
outputs:
  - {id: credit, type: money, round: 2, expr: "sales * 2"}
  - {id: share, type: number, round: 9, format: percent, decimals: 2, expr: collection}
  - {id: note, type: string, expr: "'x'"}
"""


def _scheme(tmp_path, text: str = SCHEME):
    path = tmp_path / "formats.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scheme(path)


def test_a_metric_shows_as_declared_or_as_what_it_measures(tmp_path) -> None:
    rs = _scheme(tmp_path)
    assert numbers.metric_format(rs, "collection") == NumberFormat("percent")
    assert numbers.metric_format(rs, "ratio") == NumberFormat("number", 3)
    assert numbers.metric_format(rs, "sales") == NumberFormat("money")  # an amount column
    assert numbers.metric_format(rs, "orders") == NumberFormat("integer")
    assert numbers.metric_format(rs, "rating") == NumberFormat("number")
    assert numbers.score_format(rs) == NumberFormat("number", 2)


def test_the_flat_columns_get_their_formats(tmp_path) -> None:
    rs = _scheme(tmp_path)
    formats = numbers.column_formats(rs)
    assert formats["score"] == formats["volume.points"] == formats["rate.score"]
    assert formats["score"] == NumberFormat("number", 2)
    assert formats["rate.value"].text(0.955) == "95.5%"
    assert formats["volume.value"].text(12500) == "12,500.00"
    assert formats["credit"] == NumberFormat("money", 2)
    assert formats["share"].text(0.123456789) == "12.35%"
    assert "note" not in formats
    assert numbers.duplicate_columns(rs) == {"root.points", "root.score"}


def test_without_display_scores_have_one_decimal(tmp_path) -> None:
    rs = _scheme(tmp_path, SCHEME.replace("display: {decimals: 2}\n", ""))
    assert numbers.score_format(rs).text(52.5224) == "52.5"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("format: percent}", "format: percentage}", "format"),
        ("decimals: 3}", "format: integer, decimals: 3}", "`format: integer` shows no decimals"),
        ("display: {decimals: 2}", "display: {decimals: 5}", "decimals"),
        ("display: {decimals: 2}", "display: {precision: 2}", "precision"),
        ("type: string, expr", "type: string, format: percent, expr", "numeric outputs"),
    ],
)
def test_a_wrong_format_is_a_scheme_error(tmp_path, old, new, message) -> None:
    assert old in SCHEME
    with pytest.raises(SchemeError) as err:
        _scheme(tmp_path, SCHEME.replace(old, new, 1))
    assert message in str(err.value)


def test_the_builtin_names_its_rates() -> None:
    from pingji.templates import resolve_scheme

    rs = resolve_scheme("customer-composite")
    for rate in ("collection_rate", "return_rate", "sales_growth"):
        assert numbers.metric_format(rs, rate).text(0.92) == "92.0%", rate
    assert numbers.metric_format(rs, "sales").text(2100000) == "2,100,000.00"
