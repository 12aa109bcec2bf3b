"""Template tags available in every template (registered as builtins in settings)."""

from __future__ import annotations

import itertools
import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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
