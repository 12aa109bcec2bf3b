"""The scorecard of one entity in one run: numbers, rules in words, radar, trend, access.

Data: the customer-composite sample (40 customers, seed 7), imported as batches. Customer
C000001 in 2025, worked out by hand from its rows:

    sales      5 rows × 400,000.00 = 2,000,000.00     prev_sales (2024) 1,600,000.00
    payments   1,840,000.00   returns 120,000.00      manager ratings 75 and 85 → 80

customer-composite (weights 0.3/0.3/0.2/0.1/0.1 of 100):
    sales_volume     linear 100,000 → 2,100,000:  (2,000,000 − 100,000) / 2,000,000 × 30 = 28.5
    sales_growth     (2.0M − 1.6M) / 1.6M = 0.25  → full 30
    collection_rate  0.92, linear 0.90 → 1.00:     0.2 × 20 = 4
    return_rate      0.06, linear 0.05 → 0.01:     beyond zero_at → 0
    manager_rating   80 / 100 × 10 = 8
    total 70.5 → grade A (70 ≤ 70.5 < 80)

The test scheme SCHEME below (three groups):
    scale    sales_volume 2.0M / 4.0M × 20 = 10; big_orders 5 rows ≥ 300,000 → band ≥ 4 → 20
             → 30 / 40
    payment  collection_rate 0.92: (0.92 − 0.8) / 0.2 × 40 = 24 / 40, pass mark 20 → passed
    service  manager_rating 80 → 16 / 20
    total 70 → grade B; classes key (sales ≥ 1M) and north (东北) → class key;
    status normal (default), no action, credit line 2,000,000 × 0.1 = 200,000.00
"""

from __future__ import annotations

import json
import re

import duckdb
from django.urls import reverse

from pingji.engine.run import evaluate
from pingji.scheme.describe import describe_group, describe_rule
from pingji.templates import builtin_text
from pingji.templates.sample import generate
from pingji.web.imports.services import commit_batch, open_batches
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import scorecard
from pingji.web.runs.files import results_file
from pingji.web.runs.models import Run
from pingji.web.runs.services import create_run
from pingji.web.schemes.services import add_version, publish

ENTITY = "C000001"

SCHEME = """\
id: scorecard-test
version: 1
label: 评分卡测试方案
entity: customers
period: year
params:
  big_order: {label: 大额订单门槛, default: 300000, type: money}
metrics:
  sales: {label: 销售额, sum: sales.amount}
  payments: {label: 回款额, sum: payments.amount}
  collection_rate: {label: 回款率, expr: payments / sales}
  big_orders: {label: 大额发货次数, count: sales, where: "amount >= big_order"}
  planned_6m:
    label: 近6个月计划户数
    sum: events.count
    window: {last_months: 6}
    where: "type = 'planned_households'"
  all_events: {label: 截至期末事件行数, count: events, window: to_date}
  region: {label: 区域, attribute: region}
  last_sale: {label: 最近发货日期, last: sales.date, window: to_date}
  net_profit: {label: 净利润, latest: financials.net_profit}
  manager_rating: {label: 客户经理评分, rating: manager_rating, scale: [0, 100]}
tree:
  id: total
  label: 总分
  max: 100
  weighting: fractions
  children:
    - id: scale
      label: 规模
      weight: 0.4
      weighting: fractions
      children:
        - id: sales_volume
          label: 销售额
          weight: 0.5
          value: sales
          rule: {linear: {zero_at: 0, full_at: 4000000}}
        - id: big_orders
          label: 大额订单
          weight: 0.5
          rule:
            bands:
              - {from: 4, points: 20}
              - {from: 2, below: 4, points: 10}
    - id: payment
      label: 回款
      weight: 0.4
      weighting: fractions
      children:
        - id: collection_rate
          label: 回款率
          weight: 1
          pass: 0.5
          rule: {linear: {zero_at: 0.8, full_at: 1.0}}
    - id: service
      label: 服务
      weight: 0.2
      weighting: fractions
      children:
        - id: manager_rating
          label: 客户经理评分
          weight: 1
          rule: manual
grades:
  levels:
    - {grade: A, label: 优, color: "#1a9850", min: 80}
    - {grade: B, label: 良, color: "#fdae61", min: 50}
    - {grade: C, label: 差, color: "#d73027"}
classes:
  rules:
    - {id: key, label: 重点客户, when: "sales >= 1000000"}
    - {id: north, label: 北方客户, when: "region in ('东北', '华北')"}
  fallback: {id: other, label: 其他客户}
consequences:
  statuses:
    - {status: watch, label: 观察, when: "grade = 'C'"}
  default_status: normal
  actions:
    - {action: review_credit, label: 复核信用额度, when: "not passed('collection_rate')"}
outputs:
  - {id: credit_line, label: 信用额度, expr: "sales * 0.1", type: money, round: 2}
"""


def figures(html: str) -> list[dict]:
    """Return the Plotly figures a page carries ({% chart %} writes them as JSON)."""
    found = re.findall(r'<script type="application/json" id="fig-\d+">(.*?)</script>', html, re.S)
    return [json.loads(f) for f in found]


class ScorecardCase(WebTestCase):
    """Sample data imported once per class; customer-composite run for 2024 and 2025 and the
    test scheme run for 2025 (the ImmediateBackend runs them inline)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        folder = cls._home / "sample"
        if not folder.exists():
            generate("customer-composite", folder, entities=40, seed=7)
        cls.batches = [commit_batch(p, p.stem, cls.analyst) for p in sorted(folder.iterdir())]
        cls.composite = publish(
            add_version(builtin_text("customer-composite"), cls.analyst), cls.analyst
        )
        cls.run_2024 = cls.finished(cls.composite, "2024")
        cls.run_2025 = cls.finished(cls.composite, "2025")
        cls.test_version = publish(add_version(SCHEME, cls.analyst), cls.analyst)
        cls.test_run = cls.finished(cls.test_version, "2025")

    @classmethod
    def finished(cls, version, period: str) -> Run:
        run = create_run(version, period, {}, cls.analyst)
        assert run.status == Run.Status.DONE, run.error
        return run

    def batch_file(self, table: str) -> str:
        (batch,) = [b for b in self.batches if b.table == table]
        return str(self.home / batch.path)

    def url(self, run: Run, entity: str = ENTITY) -> str:
        return reverse("runs:scorecard", args=[run.pk, entity])


class ScorecardBuildTest(ScorecardCase):
    def test_it_scores_one_entity_as_worked_out_by_hand(self):
        card = scorecard.build(self.run_2025, ENTITY)
        nodes = {n["id"]: n for n in card["nodes"]}
        self.assertEqual(
            {k: nodes[k]["points"] for k in nodes},
            {
                "composite": 70.5,
                "sales_volume": 28.5,
                "sales_growth": 30.0,
                "collection_rate": 4.0,
                "return_rate": 0.0,
                "manager_rating": 8.0,
            },
        )
        self.assertEqual((card["score"], card["points"], card["max_points"]), (70.5, 70.5, 100.0))
        self.assertEqual(card["grade"], "A")
        self.assertEqual(card["grade_label"], "良好客户")
        self.assertEqual(card["grade_color"], "#a6d96a")
        self.assertEqual(nodes["sales_volume"]["value"], "2000000.0000")  # exact money
        self.assertEqual(nodes["sales_volume"]["value_text"], "2,000,000.00")
        self.assertEqual(nodes["collection_rate"]["value"], 0.92)
        self.assertEqual(nodes["sales_volume"]["max"], 30.0)
        self.assertEqual(nodes["sales_volume"]["share"], 30.0)
        self.assertEqual(nodes["composite"]["depth"], 0)
        self.assertEqual(nodes["sales_volume"]["parent"], "composite")
        # lost points (weighted to the root) and the three largest as reasons
        self.assertEqual(
            [(r["code"], r["lost"]) for r in card["reasons"]],
            [
                ("low_collection_rate", 16.0),
                ("high_return_rate", 10.0),
                ("low_manager_rating", 2.0),
            ],
        )
        self.assertEqual(card["reasons"][0]["label"], "回款率偏低")
        self.assertEqual(card["entity"]["name"], "大庆中联食品有限公司")
        attrs = {a["name"]: a for a in card["entity"]["attributes"]}
        self.assertEqual(attrs["region"]["label"], "区域")
        self.assertEqual(attrs["region"]["value"], "东北")

    def test_it_agrees_with_the_results_file_and_the_engine(self):
        card = scorecard.build(self.run_2025, ENTITY)
        row = (
            duckdb.connect()
            .execute(
                "SELECT * FROM read_parquet(?) WHERE entity_id = ?",
                [str(results_file(self.run_2025)), ENTITY],
            )
            .fetchone()
        )
        names = [
            r[0]
            for r in duckdb.connect()
            .execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(results_file(self.run_2025))])
            .fetchall()
        ]
        stored = dict(zip(names, row, strict=True))
        # the engine again, for this one entity, over the batches the run recorded
        version = self.run_2025.scheme_version
        rs = scorecard.resolved(self.run_2025)
        ev = evaluate(rs, open_batches(self.run_2025.batches.all()), "2025", entity=ENTITY)
        engine = ev.table.to_pylist()[0]
        for node in card["nodes"]:
            with self.subTest(node=node["id"]):
                self.assertEqual(node["points"], stored[f"{node['id']}.points"])
                self.assertEqual(node["score"], stored[f"{node['id']}.score"])
                self.assertEqual(node["points"], engine["nodes"][node["id"]]["points"])
        self.assertEqual(card["score"], engine["score"])
        self.assertEqual(card["grade"], engine["grade"])
        self.assertEqual(version.number, card["run"]["version"])

    def test_it_says_each_rule_in_words_and_names_the_metrics_read(self):
        card = scorecard.build(self.run_2025, ENTITY)
        rs = scorecard.resolved(self.run_2025)
        nodes = {n["id"]: n for n in card["nodes"]}
        self.assertEqual(nodes["sales_volume"]["rule"], describe_rule(rs.nodes["sales_volume"]))
        self.assertIn(
            "线性计分：100,000 得 0 分，2,100,000 得满分 30 分", nodes["sales_volume"]["rule"]
        )
        self.assertEqual(nodes["composite"]["rule"], describe_group(rs, rs.nodes["composite"]))
        self.assertIn("加权", nodes["composite"]["rule"])
        self.assertIn("人工评分", nodes["manager_rating"]["rule"])
        self.assertEqual(nodes["sales_volume"]["metrics"], ["sales"])
        self.assertEqual(nodes["sales_volume"]["value_metric"], "sales")
        self.assertEqual(nodes["sales_growth"]["metrics"], ["sales_growth"])
        metrics = {m["name"]: m for m in card["metrics"]}
        self.assertEqual(metrics["sales_growth"]["inputs"], ["sales", "prev_sales"])
        self.assertEqual(metrics["prev_sales"]["value"], "1600000.0000")
        self.assertEqual(metrics["manager_rating"]["value"], 80.0)
        self.assertEqual(metrics["sales"]["described"], "本期 sales.amount 合计")

    def test_it_shows_classes_status_actions_pass_marks_and_outputs(self):
        card = scorecard.build(self.test_run, ENTITY)
        nodes = {n["id"]: n for n in card["nodes"]}
        self.assertEqual(
            {k: nodes[k]["points"] for k in ("scale", "sales_volume", "big_orders", "payment")},
            {"scale": 30.0, "sales_volume": 10.0, "big_orders": 20.0, "payment": 24.0},
        )
        self.assertEqual((card["score"], card["grade"], card["grade_label"]), (70.0, "B", "良"))
        self.assertEqual(nodes["collection_rate"]["pass_points"], 20.0)
        self.assertIs(nodes["collection_rate"]["passed"], True)
        self.assertIsNone(nodes["sales_volume"]["passed"])  # no pass mark
        self.assertEqual(nodes["big_orders"]["metrics"], ["big_orders"])
        self.assertEqual(nodes["big_orders"]["value"], 5)
        self.assertEqual((card["class"], card["class_label"]), ("key", "重点客户"))
        self.assertEqual(
            card["classes"],
            [
                {"id": "key", "label": "重点客户", "primary": True},
                {"id": "north", "label": "北方客户", "primary": False},
            ],
        )
        self.assertEqual(card["status"], "normal")
        self.assertEqual(card["actions"], [])
        self.assertEqual(
            card["outputs"],
            [
                {
                    "id": "credit_line",
                    "label": "信用额度",
                    "value": "200000.00",  # round: 2
                    "text": "200,000.00",
                }
            ],
        )
        # a customer that fails the pass mark: grade C → watch, review_credit, fallback class
        failing = scorecard.build(self.test_run, "C000006")
        self.assertEqual(failing["grade"], "C")
        self.assertEqual((failing["status"], failing["status_label"]), ("watch", "观察"))
        self.assertEqual(failing["actions"], [{"action": "review_credit", "label": "复核信用额度"}])
        self.assertEqual((failing["class"], failing["class_label"]), ("other", "其他客户"))
        self.assertIs({n["id"]: n for n in failing["nodes"]}["collection_rate"]["passed"], False)

    def test_the_radar_axes_are_the_top_level_groups(self):
        card = scorecard.build(self.test_run, ENTITY)
        self.assertEqual(
            [(t["id"], t["label"], t["percent"]) for t in card["top"]],
            [("scale", "规模", 75.0), ("payment", "回款", 60.0), ("service", "服务", 80.0)],
        )
        self.login(self.viewer)
        html = self.client.get(self.url(self.test_run)).content.decode()
        radar = next(f for f in figures(html) if f["data"][0]["type"] == "scatterpolar")
        self.assertEqual(radar["data"][0]["theta"], ["规模", "回款", "服务", "规模"])
        self.assertEqual(radar["data"][0]["r"], [75.0, 60.0, 80.0, 75.0])

    def test_the_trend_shows_each_earlier_period_once_up_to_the_runs_period(self):
        later = self.finished(self.composite, "2026")  # a later period: not on the 2025 card
        again = self.finished(self.composite, "2024")  # replaces the first 2024 run
        card = scorecard.build(self.run_2025, ENTITY)
        score_2024 = (
            duckdb.connect()
            .execute(
                "SELECT score, grade FROM read_parquet(?) WHERE entity_id = ?",
                [str(results_file(again)), ENTITY],
            )
            .fetchone()
        )
        self.assertEqual(
            [(t["period"], t["run"], t["score"], t["grade"], t["current"]) for t in card["trend"]],
            [
                ("2024", again.pk, score_2024[0], score_2024[1], False),
                ("2025", self.run_2025.pk, 70.5, "A", True),
            ],
        )
        self.assertEqual(card["trend"][1]["grade_color"], "#a6d96a")
        later_card = scorecard.build(later, ENTITY)
        self.assertEqual([t["period"] for t in later_card["trend"]], ["2024", "2025", "2026"])
        self.login(self.viewer)
        html = self.client.get(self.url(self.run_2025)).content.decode()
        line = next(f for f in figures(html) if f["data"][0]["type"] == "scatter")
        self.assertEqual(line["data"][0]["x"], ["2024", "2025"])
        self.assertEqual(line["data"][0]["y"], [score_2024[0], 70.5])
        self.assertEqual(line["data"][0]["text"], [score_2024[1], "A"])
        self.assertContains(
            self.client.get(self.url(self.run_2025)),
            reverse("runs:scorecard", args=[again.pk, ENTITY]),
        )

    def test_it_shows_a_manual_override_next_to_the_computed_grade(self):
        path = self.home / "overrides-2025.csv"
        path.write_text(
            "entity_id,period,grade,reason,set_by\nC000001,2025,C,经营异常待核实,冯军\n",
            encoding="utf-8",
        )
        commit_batch(path, "overrides", self.analyst)
        run = self.finished(self.composite, "2025")
        card = scorecard.build(run, ENTITY)
        self.assertEqual((card["grade"], card["grade_computed"]), ("C", "A"))
        self.assertIs(card["override"], True)
        self.assertEqual(card["override_reason"], "经营异常待核实")
        self.login(self.viewer)
        self.assertContains(self.client.get(self.url(run)), "经营异常待核实")

    def test_it_names_the_indicators_without_data(self):
        # C000003 sold 100,000.00 in 2025, nothing in 2024 (no growth rate) and has no rating
        card = scorecard.build(self.run_2025, "C000003")
        self.assertEqual(
            card["missing"],
            [
                {"id": "sales_growth", "label": "销售增长率"},
                {"id": "manager_rating", "label": "客户经理评分"},
            ],
        )
        (stored,) = (
            duckdb.connect()
            .execute(
                "SELECT missing FROM read_parquet(?) WHERE entity_id = 'C000003'",
                [str(results_file(self.run_2025))],
            )
            .fetchone()
        )
        self.assertEqual([m["id"] for m in card["missing"]], stored)
        nodes = {n["id"]: n for n in card["nodes"]}
        self.assertEqual(
            [k for k, n in nodes.items() if n["missing"]], ["sales_growth", "manager_rating"]
        )
        self.assertEqual(nodes["sales_growth"]["points"], 0.0)  # missing policy: zero
        self.assertEqual(nodes["sales_growth"]["missing_policy"], "缺数据记 0 分")

    def test_it_shows_the_entity_as_the_run_read_it(self):
        path = self.home / "customers-renamed.csv"
        path.write_text(
            "customer_id,name,region\nC000001,大庆中联食品集团,东北\n", encoding="utf-8"
        )
        batch = commit_batch(path, "customers", self.analyst)
        run = self.finished(self.composite, "2025")
        entity = scorecard.build(run, ENTITY)["entity"]
        self.assertEqual((entity["name"], entity["batch"]), ("大庆中联食品集团", batch.pk))
        # the earlier run read the earlier batch only
        earlier = scorecard.build(self.run_2025, ENTITY)["entity"]
        self.assertEqual(earlier["name"], "大庆中联食品有限公司")

    def test_it_is_json_serialisable(self):
        for run in (self.run_2025, self.test_run):
            card = scorecard.build(run, ENTITY)
            self.assertEqual(json.loads(json.dumps(card, ensure_ascii=False)), card)
        metrics = {m["name"]: m for m in scorecard.build(self.test_run, ENTITY)["metrics"]}
        self.assertEqual(metrics["last_sale"]["value"], "2025-10-10")
        self.assertEqual(metrics["region"]["value"], "东北")

    def test_it_has_no_scorecard_for_an_entity_not_in_the_run(self):
        self.assertIsNone(scorecard.build(self.run_2025, "C999999"))


class ScorecardPageTest(ScorecardCase):
    def test_it_shows_the_scorecard_to_a_viewer(self):
        self.login(self.viewer)
        response = self.client.get(self.url(self.run_2025))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "大庆中联食品有限公司")
        self.assertContains(response, "<b>70.5</b>")  # one decimal: no display.decimals
        self.assertContains(response, "background: #a6d96a")  # the grade in its colour
        self.assertContains(response, "良好客户")
        self.assertContains(response, "线性计分：100,000 得 0 分")
        self.assertContains(response, "28.5 / 30.0")  # points / max in one precision
        self.assertContains(response, '<span class="sc-value">92.0%</span>')  # 回款率 0.92
        self.assertContains(response, "data-print")  # app.js prints (no inline script: CSP)
        self.assertContains(response, reverse("runs:why", args=[self.run_2025.pk, ENTITY, "sales"]))
        self.assertContains(response, "回款率偏低")

    def test_it_marks_passed_and_failed_pass_marks(self):
        self.login(self.analyst)
        self.assertContains(self.client.get(self.url(self.test_run)), "✓")
        failing = self.client.get(self.url(self.test_run, "C000006"))
        self.assertContains(failing, "✗")
        self.assertContains(failing, "复核信用额度")
        self.assertContains(failing, "其他客户")

    def test_analysts_and_admins_see_it(self):
        for user in (self.analyst, self.admin):
            self.login(user)
            self.assertEqual(self.client.get(self.url(self.run_2025)).status_code, 200, user)

    def test_raters_and_users_without_a_role_get_404(self):
        for user in (self.rater, self.rater_q, self.nobody):
            self.login(user)
            self.assertEqual(self.client.get(self.url(self.run_2025)).status_code, 404, user)

    def test_an_unknown_run_or_entity_is_404(self):
        self.login(self.viewer)
        self.assertEqual(self.client.get(self.url(self.run_2025, "C999999")).status_code, 404)
        missing = reverse("runs:scorecard", args=[self.run_2025.pk + 1000, ENTITY])
        self.assertEqual(self.client.get(missing).status_code, 404)

    def test_a_run_not_done_says_so(self):
        queued = Run.objects.create(scheme_version=self.composite, period="2025")
        self.login(self.viewer)
        response = self.client.get(self.url(queued))
        self.assertContains(response, "尚未完成", status_code=404)
        failed = Run.objects.create(scheme_version=self.composite, period="2025", status="failed")
        self.assertContains(self.client.get(self.url(failed)), "失败", status_code=404)

    def test_it_only_answers_get(self):
        for user in (self.viewer, self.analyst):
            self.login(user)
            self.assertEqual(self.client.post(self.url(self.run_2025)).status_code, 405)
            self.assertEqual(self.client.put(self.url(self.run_2025)).status_code, 405)

    def test_it_needs_a_login(self):
        response = self.client.get(self.url(self.run_2025))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])
