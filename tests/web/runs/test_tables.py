"""The results table's and the run list's cells written in Python (runs/tables.py) are what
the templates' per-cell tags drew before — markup, dashes, links, numbers and dates — with
every value escaped: hostile entity ids, names, labels, colours and reasons stay text."""

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

from django.template import engines
from django.test import RequestFactory, SimpleTestCase
from django.utils.safestring import mark_safe
from django.utils.translation import override

from pingji.web.runs import tables, views

# runs/detail.html's and runs/list.html's loops as they were before tables.py wrote them
HEADER_TEMPLATE = """{% for h in headers %}
      {% if h.key %}<th class="{% if h.num %}num {% endif %}{% if h.arrow %}sorted{% endif %}"{% if h.title %} title="{{ h.title }}"{% endif %}><a href="{% query_with sort=h.next page='' %}#results">{{ h.label }}{% if h.arrow %} {{ h.arrow }}{% endif %}</a></th>
      {% else %}<th>{{ h.label }}</th>{% endif %}
    {% endfor %}"""
ROWS_TEMPLATE = """{% for r in rows %}
    <tr>
      <td><a href="{{ r.url }}">{{ r.entity_id }}</a></td>
      {% if show_names %}<td>{{ r.name }}</td>{% endif %}
      {% if show.score %}<td class="num">{{ r.score|default_if_none:"—" }}</td>{% endif %}
      {% if show.grade %}<td>{% if r.grade %}<span class="grade" style="background: {{ r.grade_color }}" title="{{ r.grade_label }}">{{ r.grade }}</span>{% else %}<span class="muted">—</span>{% endif %}</td>{% endif %}
      {% if show.class %}<td>{{ r.class|default_if_none:"—" }}</td>{% endif %}
      {% if show.status %}<td>{{ r.status|default_if_none:"—" }}</td>{% endif %}
      {% for v in r.groups %}<td class="num">{{ v|default_if_none:"—" }}</td>{% endfor %}
      {% if show.actions %}<td class="tags">{% for a in r.actions %}<span class="act">{{ a }}</span>{% endfor %}</td>{% endif %}
      {% if show.reasons %}<td class="tags">{% for a in r.reasons %}<span>{{ a }}</span>{% endfor %}</td>{% endif %}
    </tr>
  {% endfor %}"""
RUNS_TEMPLATE = """{% load i18n humanize %}{% for run in runs %}
    <tr>
      <td class="num"><a href="{% url 'runs:detail' run.pk %}">{{ run.pk }}</a></td>
      <td><a href="{% url 'runs:detail' run.pk %}">{{ run.scheme_version.scheme.name }}</a> <span class="muted">{{ run.scheme_version.scheme.code }}</span></td>
      <td>v{{ run.scheme_version.number }}</td>
      <td>{{ run.period }}</td>
      <td><span class="status status-{{ run.status }}">{{ run.get_status_display }}</span>{% if run.status == "running" or run.status == "queued" %} <span class="muted">{{ run.progress }}%</span>{% endif %}{% if run.is_voided %} <span class="status status-withdrawn status-voided" title="{{ run.void_reason }}">{% translate "已作废" %}</span><br><small class="muted">{{ run.void_reason|truncatechars:40 }}</small>{% endif %}</td>
      <td class="num">{{ run.entities|default_if_none:"—"|intcomma }}</td>
      <td>{{ run.created_by.get_username|default:"—" }}</td>
      <td>{{ run.created_at|date:"Y-m-d H:i" }}</td>
      <td class="num">{% if run.duration is not None %}{{ run.duration|floatformat:1 }} {% translate "秒" %}{% else %}—{% endif %}</td>
    </tr>
  {% endfor %}"""

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def _tight(html: str) -> str:
    """The markup without the line breaks between tags (they show nothing)."""
    return re.sub(r">[ \t]*\n\s*<", "><", html).strip()


def _drawn(template: str, context: dict, request=None) -> str:
    return _tight(engines["django"].from_string(template).render(context, request))


def _row(**changes) -> dict:
    row = {
        "entity_id": "K01",
        "url": "/runs/1/entities/K01/",
        "name": "华东一店",
        "score": "85.0",
        "grade": "A",
        "grade_color": "#1a9850",
        "grade_label": "优秀",
        "class": "大客户",
        "status": "正常",
        "status_code": "ok",
        "groups": ["90.0", "—"],
        "actions": ["回访"],
        "reasons": ["销售额", "回款"],
    }
    return {**row, **changes}


ALL = dict.fromkeys(("score", "grade", "class", "status", "actions", "reasons"), True)


class ResultsTableTest(SimpleTestCase):
    def assertSameAsTemplate(self, rows, show=ALL, show_names=True):
        context = {"rows": rows, "show": show, "show_names": show_names}
        drawn = _drawn(ROWS_TEMPLATE, context)
        self.assertEqual(_tight(tables.body_rows(rows, show, show_names)), drawn)

    def test_the_rows_are_what_the_template_drew(self):
        self.assertSameAsTemplate([_row(), _row(entity_id="K02", url="/runs/1/entities/K02/")])

    def test_missing_values_show_a_dash_and_hidden_columns_are_left_out(self):
        rows = [_row(grade=None, grade_label="", name="", **{"class": None, "status": None})]
        self.assertSameAsTemplate(rows)
        self.assertSameAsTemplate([_row(grade="", actions=[], reasons=[])])
        few = {**ALL, "grade": False, "actions": False, "status": False}
        self.assertSameAsTemplate(rows, few, show_names=False)
        self.assertSameAsTemplate([_row(entity_id=12345, groups=[])])  # a number as the id

    def test_hostile_values_are_escaped_as_the_template_escaped_them(self):
        hostile = _row(
            entity_id=HOSTILE,
            url="/runs/1/entities/%3Cscript%3E/",
            name=HOSTILE,
            grade=HOSTILE,
            grade_color='red" onmouseover="alert(1)',
            grade_label=HOSTILE,
            groups=[HOSTILE],
            actions=[HOSTILE],
            reasons=[HOSTILE, mark_safe("<b>safe</b>")],
            **{"class": HOSTILE, "status": HOSTILE},
        )
        self.assertSameAsTemplate([hostile])
        html = tables.body_rows([hostile], ALL, True)
        self.assertNotIn("<script>", html)
        self.assertNotIn('" onmouseover', html)
        self.assertIn(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;", html
        )
        self.assertIn("<b>safe</b>", html)  # what is marked safe stays as it was

    def test_the_headers_link_to_the_same_query_sorted(self):
        request = RequestFactory().get("/runs/1/", {"grade": "A", "page": "3", "q": HOSTILE})
        headers = [
            {"key": "entity_id", "label": "编号", "next": "entity_id", "arrow": "", "num": False, "title": ""},
            {"label": "名称", "key": None},
            {"key": "score", "label": "得分", "next": "score", "arrow": "▼", "num": True, "title": ""},
            {"key": "g.score", "label": HOSTILE, "next": "-g.score", "arrow": "", "num": True, "title": HOSTILE},
            {"label": HOSTILE, "key": None},
        ]  # fmt: skip
        drawn = _drawn(HEADER_TEMPLATE, {"headers": headers, "request": request}, request)
        self.assertEqual(_tight(tables.header_cells(request, headers)), drawn)
        self.assertIn('href="?grade=A&amp;q=%3Cscript%3E', drawn)  # the page is left out
        self.assertNotIn("page=3", drawn)


class RunListRowsTest(SimpleTestCase):
    def run_like(self, pk=7, **changes):
        scheme = SimpleNamespace(name="客户评价", code="customers")
        run = {
            "pk": pk,
            "scheme_version": SimpleNamespace(scheme=scheme, number=2),
            "period": "2025",
            "status": "done",
            "progress": 100,
            "is_voided": False,
            "void_reason": "",
            "entities": 1234567,
            "created_by": SimpleNamespace(get_username=lambda: "analyst"),
            "created_at": datetime(2025, 3, 1, 23, 30, tzinfo=UTC),
            "duration": 12.345,
            "get_status_display": lambda: "已完成",
        }
        run.update(changes)
        return SimpleNamespace(**run)

    def assertSameAsTemplate(self, runs):
        for language in ("zh-hans", "en"):
            with override(language):
                self.assertEqual(
                    _tight(tables.run_rows(runs, views._run_urls())),
                    _drawn(RUNS_TEMPLATE, {"runs": runs}),
                )

    def test_the_rows_are_what_the_template_drew(self):
        self.assertSameAsTemplate([self.run_like(), self.run_like(8, duration=0.0, entities=0)])

    def test_running_voided_and_unknown_values(self):
        self.assertSameAsTemplate(
            [
                self.run_like(status="running", progress=45, duration=None, entities=None),
                self.run_like(status="queued", progress=0, created_by=None),
                self.run_like(is_voided=True, void_reason=HOSTILE * 3),
                self.run_like(created_by=SimpleNamespace(get_username=lambda: "")),
            ]
        )

    def test_hostile_names_and_reasons_are_text(self):
        runs = [
            self.run_like(
                scheme_version=SimpleNamespace(
                    scheme=SimpleNamespace(name=HOSTILE, code=HOSTILE), number=1
                ),
                period=HOSTILE,
                is_voided=True,
                void_reason=HOSTILE,
                created_by=SimpleNamespace(get_username=lambda: HOSTILE),
            )
        ]
        self.assertSameAsTemplate(runs)
        html = tables.run_rows(runs, views._run_urls())
        self.assertNotIn("<script>", html)
        self.assertNotIn('title="<', html)


BATCHES_TEMPLATE = """{% load i18n humanize %}{% for item in batches %}{% with b=item.batch %}<a href="{% if item.url %}{{ item.url }}{% else %}{{ imports_url }}{% endif %}" title="{{ b.file_name }} · {{ b.rows|intcomma }} {% translate '行' %}">#{{ b.pk }} {{ b.table }}</a>{% if b.status == "withdrawn" %} <span class="status status-withdrawn">{% translate "已撤回" %}</span>{% endif %}{% if not forloop.last %}, {% endif %}{% endwith %}{% empty %}<span class="muted">{% translate "无" %}</span>{% endfor %}"""


class BatchLinksTest(SimpleTestCase):
    def test_the_links_are_what_the_template_drew(self):
        batch = SimpleNamespace(
            pk=3, file_name="sales.csv", rows=12345, table="sales", status="active"
        )
        hostile = SimpleNamespace(
            pk=4, file_name=HOSTILE, rows=None, table=HOSTILE, status="withdrawn"
        )
        for batches, imports_url in (
            (
                [{"batch": batch, "url": "/imports/3/"}, {"batch": hostile, "url": None}],
                "/imports/",
            ),
            ([{"batch": hostile, "url": None}], None),
            ([], "/imports/"),
        ):
            for language in ("zh-hans", "en"):
                with self.subTest(language=language, batches=len(batches)), override(language):
                    context = {"batches": batches, "imports_url": imports_url}
                    drawn = _drawn(BATCHES_TEMPLATE, context)
                    self.assertEqual(tables.batch_links(batches, imports_url), drawn)
                    self.assertNotIn("<script>", drawn)


class TablesReadTest(SimpleTestCase):
    def test_the_tables_a_version_reads_are_worked_out_once_per_yaml_text(self):
        version = SimpleNamespace(pk=991, yaml="id: x\n")
        with (
            mock.patch.object(views, "resolve_version", lambda v: v.yaml),
            mock.patch.object(views, "tables_read", side_effect=[["sales"], ["calendar"]]) as read,
        ):
            self.assertEqual(views._tables_read(version), ["sales"])
            self.assertEqual(views._tables_read(version), ["sales"])
            self.assertEqual(read.call_count, 1)
            version.yaml = "id: x\nlabel: edited\n"  # a draft edited: read anew
            self.assertEqual(views._tables_read(version), ["calendar"])
            self.assertEqual(read.call_count, 2)
