"""Numbers people can read, on every page and in every export (pingji.output.numbers):
rates as percentages, scores in the scheme's one precision, money grouped by thousands,
a missing rating shown as missing — and spreadsheets rounded, formatted and filterable.

The scheme below on the small data set (tests/web/runs/support.py), worked out by hand:
  K01: sales 120.00 (2024: 85) → growth 35 / 85 = 0.411764… → 41.2%;
       volume 120 / 300 = 40 → 20 points; trend 41.1764… → 12.3529 points;
       manager: no rating (only K02 has one) → missing, 0 points. Score 32.3529… → 32.4;
       credit 120,000.00.
  K03: sales 80 (2024: 40) → growth 100.0%; volume 26.667 → 13.333; trend 30. Score 43.3.
  K04: sales 65 (2024: 90) → growth −27.8%.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from django.urls import reverse
from openpyxl import load_workbook
from tests.web.runs.support import finished_run, import_small

from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish

SCHEME = """\
id: numbers-test
label: 数字显示测试
entity: customers
period: year
display: {decimals: 1}
metrics:
  sales: {label: 本年销售额, sum: sales.amount}
  prev_sales: {label: 上年销售额, sum: sales.amount, window: previous}
  growth: {label: 销售增长率, expr: "(sales - prev_sales) / prev_sales", format: percent}
  manager: {label: 经理评分, rating: manager, scale: [0, 100]}
tree:
  id: total
  label: 综合得分
  children:
    - {id: volume, label: 销售额, value: sales, weight: 0.5, rule: {linear: {zero_at: 0, full_at: 300}}}
    - {id: trend, label: 增长, value: growth, weight: 0.3, rule: {linear: {zero_at: 0, full_at: 1}}}
    - {id: manager, label: 经理评分, weight: 0.2, rule: manual}
grades:
  levels:
    - {grade: A, min: 40}
    - {grade: B}
outputs:
  - {id: credit, label: 授信额度, type: money, round: 2, expr: "sales * 1000"}
"""


class NumbersTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        from pingji.web.imports.services import commit_batch

        import_small(cls.analyst)
        ratings = cls._home / "ratings.csv"
        ratings.write_text("entity_id,period,indicator,score\nK02,2025,manager,70\n")
        commit_batch(ratings, "ratings", cls.analyst)
        version = publish(add_version(SCHEME, cls.analyst), cls.analyst)
        cls.done = finished_run(version, "2025", cls.analyst)

    def setUp(self):
        self.login(self.viewer)

    def page(self, name: str, *args) -> str:
        response = self.client.get(reverse(name, args=args))
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def node_row(self, html: str, node: str) -> str:
        match = re.search(rf'<tr id="node-{node}".*?</tr>', html, re.S)
        self.assertIsNotNone(match, node)
        return match.group(0)

    def test_the_scorecard_shows_a_rate_as_a_percentage(self):
        html = self.page("runs:scorecard", self.done.pk, "K01")
        self.assertIn('<span class="sc-value">41.2%</span>', self.node_row(html, "trend"))
        self.assertNotIn("0.4117", html)

    def test_the_scorecard_shows_scores_in_the_schemes_precision(self):
        html = self.page("runs:scorecard", self.done.pk, "K01")
        self.assertIn("<b>32.4</b>", html)
        volume = self.node_row(html, "volume")
        self.assertIn("20.0 / 50.0", volume)  # points / max, one decimal each
        self.assertIn("40.0%", volume)  # 得分率

    def test_the_scorecard_shows_money_grouped(self):
        html = self.page("runs:scorecard", self.done.pk, "K01")
        self.assertIn("<b>120,000.00</b>", html)  # the credit output
        self.assertIn('<span class="sc-value">120.00</span>', self.node_row(html, "volume"))

    def test_a_missing_rating_is_shown_as_missing_not_zero(self):
        row = self.node_row(self.page("runs:scorecard", self.done.pk, "K01"), "manager")
        self.assertIn("缺失", row)
        value = re.search(r'<td class="sc-val".*?</td>', row, re.S).group(0)
        self.assertNotRegex(value, r">\s*0(\.0+)?\s*<")

    def test_the_results_table_uses_the_schemes_precision(self):
        html = self.page("runs:detail", self.done.pk)
        cells = re.findall(r'<td class="num">([^<]*)</td>', html)
        self.assertIn("32.4", cells)  # K01's score
        self.assertIn("43.3", cells)  # K03's score
        self.assertIn("41.2", cells)  # K01's trend 得分率 (0–100)

    def test_the_entity_page_uses_the_schemes_precision(self):
        html = self.page("entities:profile", "customers", "K01")
        self.assertIn('<span style="font-size:18px">32.4</span>', html)

    def test_excel_rounds_formats_filters_and_has_no_repeated_columns(self):
        response = self.client.get(reverse("runs:export", args=[self.done.pk, "xlsx"]))
        self.assertEqual(response.status_code, 200)
        ws = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["评价结果"]
        header = [c.value for c in ws[1]]
        self.assertEqual(len(header), len(set(header)))
        self.assertNotIn("综合得分 得分", header)  # the root's points: 得分/总分 already
        self.assertNotIn("综合得分 得分率", header)
        self.assertIn("增长 得分率", header)
        self.assertEqual(ws.auto_filter.ref, f"A1:{ws.cell(1, len(header)).column_letter}9")
        k01 = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "K01")

        def cell(name):
            return k01[header.index(name)]

        self.assertEqual(
            (cell("增长 指标值").value, cell("增长 指标值").number_format), (0.412, "0.0%")
        )
        self.assertEqual((cell("得分").value, cell("得分").number_format), (32.4, "#,##0.0"))
        self.assertEqual(cell("增长 得分率").value, 41.2)
        self.assertEqual(
            (cell("授信额度").value, cell("授信额度").number_format), (120000, "#,##0.00")
        )
        self.assertEqual(cell("销售额 指标值").number_format, "#,##0.00")
        self.assertIsNone(cell("经理评分 指标值").value)  # no rating: empty, not 0

    def test_csv_has_rounded_values_and_rates_as_percent(self):
        response = self.client.get(reverse("runs:export", args=[self.done.pk, "csv"]))
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        self.assertEqual(len(header), len(set(header)))
        k01 = dict(zip(header, next(r for r in rows if r[0] == "K01"), strict=True))
        self.assertEqual(k01["得分"], "32.4")
        self.assertEqual(k01["增长 指标值"], "41.2%")
        self.assertEqual(k01["增长 得分"], "12.4")
        self.assertEqual(k01["授信额度"], "120000.00")
        self.assertEqual(k01["经理评分 指标值"], "")
        # a falling rate is a number, not text behind a ' (the formula guard is for text)
        k04 = dict(zip(header, next(r for r in rows if r[0] == "K04"), strict=True))
        self.assertEqual(k04["增长 指标值"], "-27.8%")  # (65 − 90) / 90 = −0.2777…


class ImportNumbersTest(WebTestCase):
    def test_the_import_preview_groups_amounts_by_thousands(self):
        from tests.web.imports.importfiles import csv_file, upload

        self.login(self.analyst)
        text = "customer_id,date,amount\nC1,2025-01-05,12500\nC2,2025-02-10,1234567.5\n"
        r = upload(self.client, "sales", csv_file("sales.csv", text))
        self.assertEqual(r.status_code, 302)
        page = self.client.get(r["Location"])
        preview = page.context["report"]["preview"]
        self.assertEqual([row[3] for row in preview], ["12,500.00", "1,234,567.50"])
        self.assertContains(page, "12,500.00")

    def test_a_batch_page_groups_amounts_too(self):
        from pingji.web.imports import uploads

        self.assertEqual(uploads.display(Decimal("12500.0000")), "12,500.00")
        self.assertEqual(uploads.display(1234567.5), "1,234,567.5")
