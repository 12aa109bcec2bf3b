"""Scorecard pages: one entity in one run (printable), and the fact rows behind a metric.

Who may see them: whoever may view runs (viewer, analyst, admin); a rater or a user without a
role gets 404, like for every run page. Both pages only read; any other method than GET is
405. The data comes from `runs.scorecard` (no HTTP there)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from pingji.web.lib import charts
from pingji.web.lib.links import links_to
from pingji.web.lib.templatetags import score
from pingji.web.runs import scorecard as sc
from pingji.web.runs.access import get_run_for_user
from pingji.web.runs.models import Run


def _not_done(request, run: Run, entity_id: str):
    """A clear page (status 404: there is no scorecard yet) for a run that is not done."""
    return render(
        request,
        "runs/scorecard_unavailable.html",
        {"run": run, "entity_id": entity_id},
        status=404,
    )


def _ink(color: str) -> str:
    """Return a readable text colour (dark or white) on a grade's background colour."""
    c = (color or "").lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return "#fff"
    return "#1f2933" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#fff"


def _radar(card: dict) -> dict | None:
    top = card["top"]
    if not top:
        return None
    axes = [t["label"] for t in top]
    # a group without a score (all its inputs missing) is a gap in the chart, not a 0
    values = [round(t["percent"], 2) if t["percent"] is not None else None for t in top]
    if len(top) < 3:  # a radar needs three axes to be a shape; bars say the same
        return charts.bar(axes, values, y_title="%")
    fig = charts.radar(axes, values, name=card["entity"]["id"])
    fig["layout"]["margin"] = {**fig["layout"]["margin"], "t": 35, "b": 35}  # room for labels
    return fig


def _trend_chart(card: dict) -> dict | None:
    points = [t for t in card.get("trend", []) if t["found"]]
    if len(points) < 2:
        return None
    return charts.line(
        [t["period"] for t in points],
        [round(t["score"], 2) if t["score"] is not None else None for t in points],
        text=[t["grade"] or "" for t in points],
        y_title=_("得分"),
    )


def _tree(card: dict, why_url) -> list[dict]:
    """Return the rows of the scorecard's node table, their numbers formatted and their
    metrics looked up here: the template only places them (its lookups and filters per row
    were a large part of a wide scheme's page time). Adds each metric's "why" link."""
    decimals = card["decimals"]
    metrics = {m["name"]: m for m in card["metrics"]}
    for m in card["metrics"]:
        m["why"] = why_url(m["name"])  # the route reversed once (lib/links.py)
    rows = []
    for n in card["nodes"]:
        lines = []
        for name in n["metrics"]:
            m = metrics[name]
            lines.append((name != n["value_metric"], m, [metrics[i] for i in m["inputs"]]))
        share, percent = n["share"], n["score"]
        rows.append(
            {
                "node": n,
                "indent": n["depth"] + 1,
                "share": f"{floatformat(share, '-1')}%" if share is not None else "",
                "why": metrics[n["value_metric"]]["why"] if n["value_metric"] else "",
                "metrics": lines,
                "points": score(n["points"], decimals),
                "max": score(n["max"], decimals),
                "lost": score(n["lost"], decimals) if n.get("lost") else "",
                "percent": score(percent, decimals) if percent is not None else "",
                "bar": floatformat(percent, "0") if percent is not None else "",
                "pass_points": score(n["pass_points"], decimals),
            }
        )
    return rows


@require_GET
def scorecard(request, run_id: int, entity_id: str):
    run = get_run_for_user(request, run_id)
    if run.status != Run.Status.DONE:
        return _not_done(request, run, entity_id)
    card = sc.build(run, entity_id)
    if card is None:
        raise Http404("no such entity in this run")
    card["grade_ink"] = _ink(card["grade_color"])
    card["grade_computed_ink"] = _ink(card["grade_computed_color"])
    for item in [*card["trend"], *card["grades"]]:
        item["ink"] = _ink(item.get("grade_color") or item.get("color"))
    return render(
        request,
        "runs/scorecard.html",
        {
            "run": run,
            "card": card,
            "radar": _radar(card),
            "trend_chart": _trend_chart(card),
            "tree": _tree(card, links_to("runs:why", run.pk, entity_id)),
            "has_pass": any(n["pass_points"] is not None for n in card["nodes"]),
        },
    )


@require_GET
def why(request, run_id: int, entity_id: str, metric: str):
    run = get_run_for_user(request, run_id)
    if run.status != Run.Status.DONE:
        return _not_done(request, run, entity_id)
    if request.GET.get("format") == "csv":
        chunks = sc.why_csv(run, entity_id, metric)
        if chunks is None:
            raise Http404("this metric reads no fact rows")
        response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
        name = f"run{run.pk}-{entity_id}-{metric}.csv"
        response["Content-Disposition"] = (
            f"attachment; filename=\"{_ascii(name)}\"; filename*=UTF-8''{quote(name)}"
        )
        return response
    data = sc.why(run, entity_id, metric)
    if data is None:
        raise Http404("no such metric or entity in this run")
    return render(request, "runs/why.html", {"run": run, "why": data, "limit": sc.ROWS_SHOWN})


def _ascii(name: str) -> str:
    """A file name safe in a header (entity ids and metric names are mostly ASCII)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
