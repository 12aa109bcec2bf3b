"""Template tags available in every template (registered as builtins in settings)."""

from __future__ import annotations

import itertools
import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from pingji.output import numbers

register = template.Library()
_ids = itertools.count(1)


@register.simple_tag
def chart(figure: dict, css_class: str = "chart") -> str:
    """Render a figure from lib/charts as a div drawn by plotly.min.js (see static app.js)."""
    n = next(_ids)
    payload = json.dumps(figure, ensure_ascii=False).replace("<", "\\u003c")
    return format_html(
        '<div class="{}" data-figure="fig-{}"></div>'
        '<script type="application/json" id="fig-{}">{}</script>',
        css_class,
        n,
        n,
        mark_safe(payload),
    )


@register.filter
def get_item(mapping, key):
    """`{{ row|get_item:"grade" }}` — look a key up in a dict."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """Return the current query string with some parameters changed (for sort/page links)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + query.urlencode() if query else "?"


# ------------------------------------------------------------------ numbers
# Every page shows numbers through pingji.output.numbers, as the CSV and Excel exports do.


def _places(decimals, default: int | None) -> int | None:
    """Return a filter's decimals argument as an int (templates may pass text or nothing)."""
    if decimals is None or decimals == "":
        return default
    try:
        return max(0, min(6, int(decimals)))
    except (TypeError, ValueError):
        return default


@register.filter
def score(value, decimals=None) -> str:
    """`{{ card.score|score:decimals }}` — a score or points in the scheme's one precision
    (70.5, 70.0); — when missing."""
    return numbers.NumberFormat(numbers.NUMBER, _places(decimals, 1)).text(value)


@register.filter
def pct(value, decimals=None) -> str:
    """`{{ rate|pct }}` — a ratio as a percentage: 0.92 → 92.0%; — when missing."""
    return numbers.NumberFormat(numbers.PERCENT, _places(decimals, 1)).text(value)


@register.filter
def money(value, decimals=None) -> str:
    """`{{ amount|money }}` — an amount with thousands separators: 12,500.00; — when missing."""
    return numbers.NumberFormat(numbers.MONEY, _places(decimals, 2)).text(value)


@register.filter
def number(value, decimals=None) -> str:
    """`{{ x|number }}` — a plain number grouped by thousands (1,234.5); `number:1` fixes the
    decimals (1,234.5 → 1,234.5, 3 → 3.0); — when missing."""
    return numbers.NumberFormat(numbers.NUMBER, _places(decimals, None)).text(value)
