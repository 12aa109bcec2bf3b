"""The HTML of the runs' long lists — the run page's results (header cells and one page of
rows) and batches, and the run list's rows — written in Python instead of per-cell template
tags (a page of 50 rows with a dozen columns cost the template several milliseconds). Every
value is shown as `{{ value }}` would show it: localized, and escaped unless already safe;
the markup is what runs/detail.html and runs/list.html drew cell by cell before
(tests/web/runs/test_tables.py compares the two)."""

from __future__ import annotations

import html

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date, floatformat, truncatechars
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from pingji.web.lib.templatetags import query_with

DASH = "—"


def shown(value) -> str:
    """Return a value as `{{ value }}` shows it in a template (escaped unless safe)."""
    if type(value) is str:  # most values: plain text (django's escape is html.escape)
        return html.escape(value)
    return conditional_escape(localize(template_localtime(value)))


def _or_dash(value) -> str:
    """`{{ value|default_if_none:"—" }}`."""
    return DASH if value is None else shown(value)


def header_cells(request, headers: list[dict]) -> SafeString:
    """Return the <th> cells of the table's header: a sortable column links to the same
    query sorted by it (first page), the sorted one is marked with its arrow."""
    context = {"request": request}
    cells = []
    for h in headers:
        if not h["key"]:
            cells.append(f"<th>{shown(h['label'])}</th>")
            continue
        css = ("num " if h["num"] else "") + ("sorted" if h["arrow"] else "")
        title = f' title="{shown(h["title"])}"' if h["title"] else ""
        link = shown(query_with(context, sort=h["next"], page=""))
        arrow = f" {shown(h['arrow'])}" if h["arrow"] else ""
        cells.append(
            f'<th class="{css}"{title}><a href="{link}#results">{shown(h["label"])}{arrow}</a></th>'
        )
    return mark_safe("\n".join(cells))


def body_rows(rows: list[dict], show: dict, show_names: bool) -> SafeString:
    """Return the <tr> rows of one page of results (views._table_rows' rows)."""
    out = []
    for r in rows:
        cells = [f'<tr><td><a href="{shown(r["url"])}">{shown(r["entity_id"])}</a></td>']
        if show_names:
            cells.append(f"<td>{shown(r['name'])}</td>")
        if show["score"]:
            cells.append(f'<td class="num">{_or_dash(r["score"])}</td>')
        if show["grade"]:
            if r["grade"]:
                cells.append(
                    f'<td><span class="grade" style="background: {shown(r["grade_color"])}" '
                    f'title="{shown(r["grade_label"])}">{shown(r["grade"])}</span></td>'
                )
            else:
                cells.append(f'<td><span class="muted">{DASH}</span></td>')
        if show["class"]:
            cells.append(f"<td>{_or_dash(r['class'])}</td>")
        if show["status"]:
            cells.append(f"<td>{_or_dash(r['status'])}</td>")
        for value in r["groups"]:
            cells.append(f'<td class="num">{_or_dash(value)}</td>')
        if show["actions"]:
            tags = "".join(f'<span class="act">{shown(a)}</span>' for a in r["actions"])
            cells.append(f'<td class="tags">{tags}</td>')
        if show["reasons"]:
            tags = "".join(f"<span>{shown(a)}</span>" for a in r["reasons"])
            cells.append(f'<td class="tags">{tags}</td>')
        cells.append("</tr>")
        out.append("".join(cells))
    return mark_safe("\n".join(out))


def run_rows(runs, detail_url) -> SafeString:
    """Return the <tr> rows of the run list (runs with `duration` set, as views.run_list
    does); `detail_url(pk)` gives a run's page."""
    out = []
    for run in runs:
        url = shown(detail_url(run.pk))
        scheme = run.scheme_version.scheme
        status = f'<span class="status status-{shown(run.status)}">{shown(run.get_status_display())}</span>'
        if run.status == "running" or run.status == "queued":
            status += f' <span class="muted">{shown(run.progress)}%</span>'
        if run.is_voided:
            status += (
                f' <span class="status status-withdrawn status-voided" '
                f'title="{shown(run.void_reason)}">{shown(_("已作废"))}</span>'
                f'<br><small class="muted">{shown(truncatechars(run.void_reason, 40))}</small>'
            )
        who = run.created_by.get_username() if run.created_by is not None else ""
        if run.duration is not None:
            took = f"{shown(floatformat(run.duration, 1))} {shown(_('秒'))}"
        else:
            took = DASH
        entities = intcomma(DASH if run.entities is None else run.entities)
        out.append(
            f'<tr><td class="num"><a href="{url}">{shown(run.pk)}</a></td>'
            f'<td><a href="{url}">{shown(scheme.name)}</a> '
            f'<span class="muted">{shown(scheme.code)}</span></td>'
            f"<td>v{shown(run.scheme_version.number)}</td>"
            f"<td>{shown(run.period)}</td>"
            f"<td>{status}</td>"
            f'<td class="num">{shown(entities)}</td>'
            f"<td>{shown(who or DASH)}</td>"
            f"<td>{shown(date(template_localtime(run.created_at), 'Y-m-d H:i'))}</td>"
            f'<td class="num">{took}</td></tr>'
        )
    return mark_safe("\n".join(out))


def batch_links(batches: list[dict], imports_url: str | None) -> SafeString:
    """Return the links to the batches a run read, comma-separated (a withdrawn one says
    so), or "none": `batches` holds {"batch", "url"} (views.detail)."""
    if not batches:
        return mark_safe(f'<span class="muted">{shown(_("无"))}</span>')
    links = []
    for item in batches:
        b = item["batch"]
        title = f"{shown(b.file_name)} · {shown(intcomma(b.rows))} {shown(_('行'))}"
        link = f'<a href="{shown(item["url"] or imports_url)}" title="{title}">'
        link += f"#{shown(b.pk)} {shown(b.table)}</a>"
        if b.status == "withdrawn":
            link += f' <span class="status status-withdrawn">{shown(_("已撤回"))}</span>'
        links.append(link)
    return mark_safe(", ".join(links))
