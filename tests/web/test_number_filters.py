"""The number filters every template has (web/lib/templatetags.py → pingji.output.numbers)."""

from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template
from django.test import SimpleTestCase


def render(text: str, **values) -> str:
    return Template(text).render(Context(values))


class NumberFiltersTest(SimpleTestCase):
    def test_a_rate_is_a_percentage(self):
        self.assertEqual(render("{{ x|pct }}", x=0.92), "92.0%")
        self.assertEqual(render("{{ x|pct:2 }}", x=0.123456), "12.35%")

    def test_money_is_grouped_with_cents(self):
        self.assertEqual(render("{{ x|money }}", x=12500), "12,500.00")
        self.assertEqual(render("{{ x|money }}", x=Decimal("1234567.8951")), "1,234,567.90")

    def test_a_score_has_the_precision_it_is_given(self):
        self.assertEqual(render("{{ x|score:d }}", x=70, d=1), "70.0")
        self.assertEqual(render("{{ x|score:d }}", x=52.5224, d=2), "52.52")
        self.assertEqual(render("{{ x|score }}", x=49.75), "49.8")  # default: one decimal
        self.assertEqual(render("{{ x|score:d }}", x=49.75, d=None), "49.8")

    def test_a_plain_number_is_grouped_and_trimmed(self):
        self.assertEqual(render("{{ x|number }}", x=1234.5), "1,234.5")
        self.assertEqual(render("{{ x|number:1 }}", x=3), "3.0")

    def test_missing_is_a_dash_never_zero(self):
        for f in ("pct", "money", "score", "number"):
            text = "{{ x|" + f + " }}"
            self.assertEqual(render(text, x=None), "—", f)
            self.assertEqual(render(text, x=float("nan")), "—", f)
