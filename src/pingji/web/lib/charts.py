"""Plotly figures as plain dicts ({"data": [...], "layout": {...}}), drawn in the browser by
the plotly.min.js that the installed plotly package ships (see settings.STATICFILES_DIRS).
No Python-side Plotly objects: a figure is data, rendered by `{% chart fig %}`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

FONT = {"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif", "size": 13}


def _layout(title: str = "", **extra) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 15}} if title else None,
        "font": FONT,
        "margin": {"l": 50, "r": 20, "t": 40 if title else 15, "b": 45},
        "height": 320,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    layout.update(extra)
    return {k: v for k, v in layout.items() if v is not None}


def bar(
    labels: Sequence[str],
    values: Sequence[float],
    colors: Sequence[str] | None = None,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
) -> dict:
    """A bar chart (e.g. entities per grade, in the grades' colours)."""
    trace = {"type": "bar", "x": list(labels), "y": list(values), "text": list(values)}
    trace["textposition"] = "auto"
    if colors:
        trace["marker"] = {"color": list(colors)}
    return {
        "data": [trace],
        "layout": _layout(
            title,
            xaxis={"title": {"text": x_title}, "type": "category"},
            yaxis={"title": {"text": y_title}},
        ),
    }


def histogram(
    edges: Sequence[float], counts: Sequence[int], title: str = "", x_title: str = ""
) -> dict:
    """A histogram computed on the server (bin left edges and counts), drawn as bars."""
    widths = [b - a for a, b in itertools.pairwise(edges)]
    centers = [a + w / 2 for a, w in zip(edges, widths, strict=False)]
    trace = {"type": "bar", "x": centers, "y": list(counts), "width": widths}
    trace["marker"] = {"color": "#4a78c2", "line": {"color": "#fff", "width": 1}}
    return {"data": [trace], "layout": _layout(title, xaxis={"title": {"text": x_title}})}


def radar(axes: Sequence[str], values: Sequence[float], name: str = "", title: str = "") -> dict:
    """A radar chart (e.g. each group's score as % of its maximum)."""
    closed_axes, closed = [*axes, axes[0]], [*values, values[0]] if values else []
    trace = {"type": "scatterpolar", "r": closed, "theta": closed_axes, "fill": "toself"}
    trace["name"] = name
    return {
        "data": [trace],
        "layout": _layout(
            title,
            polar={"radialaxis": {"visible": True, "range": [0, 100]}},
            showlegend=False,
            height=360,
            # room for the axis labels on both sides: on a phone the chart is only 340 px wide
            margin={"l": 60, "r": 60, "t": 40 if title else 30, "b": 30},
        ),
    }


def line(
    x: Sequence[str],
    y: Sequence[float | None],
    text: Sequence[str] | None = None,
    title: str = "",
    y_title: str = "",
) -> dict:
    """A line over periods (e.g. score history), with optional labels (grades) at points."""
    trace = {"type": "scatter", "mode": "lines+markers+text", "x": list(x), "y": list(y)}
    if text:
        trace["text"] = list(text)
        trace["textposition"] = "top center"
    return {
        "data": [trace],
        "layout": _layout(title, xaxis={"type": "category"}, yaxis={"title": {"text": y_title}}),
    }
