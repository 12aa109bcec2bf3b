"""Template filters of the ratings pages."""

from __future__ import annotations

from django import template

from pingji.web.ratings.indicators import number_text

register = template.Library()


@register.filter
def num(value) -> str:
    """`{{ rating.score|num }}` — 80, 12.5 (no trailing zeros, no exponent); — for none."""
    if value is None or value == "":
        return "—"
    return number_text(value)
