"""An entity's profile: attributes with Chinese labels, a summary of its facts, the latest
grade per scheme (with a link to the scorecard) and the grade history — worked out by hand
from the small files below."""

from __future__ import annotations

from django.urls import reverse

from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.ratings.models import Assignment
from pingji.web.runs.services import create_run
from pingji.web.schemes.services import add_version, publish

# score = min(100, the year's sales / 100 × 100); A ≥ 80, B ≥ 50, else C; big when sales ≥ 90;
# status watch when the score is below 70.
SCHEME = """
id: profile-test
label: 档案测试方案
entity: customers
period: year
metrics:
  sales: {label: 本年销售额, sum: sales.amount}
tree:
  id: total
  label: 综合得分
  children:
    - {id: volume, label: 销售额, value: sales, weight: 1, rule: {linear: {zero_at: 0, full_at: 100}}}
grades:
  levels:
    - {grade: A, label: 优秀, color: "#1a9850", min: 80}
    - {grade: B, label: 良好, color: "#fdae61", min: 50}
    - {grade: C, label: 较差, color: "#d73027"}
classes:
  rules:
    - {id: big, label: 大客户, when: "sales >= 90"}
  fallback: {id: small, label: 普通客户}
consequences:
  statuses:
    - {status: watch, label: 重点关注, when: "score < 70"}
"""

CUSTOMERS = (
    "customer_id,name,region,vip_designated\nC1,甲公司,华东,是\nC2,乙公司,华南,否\nA/9,斜杠公司,,\n"
)
# C1: 2024 → 40.00 (score 40, C); 2025 → 100.50 + 250.00 = 350.50 (score 100, A, big).
# C2: 2025 → 60.00 (score 60, B).
SALES = (
    "customer_id,date,amount\n"
    "C1,2024-06-01,40.00\n"
    "C1,2025-01-05,100.50\n"
    "C2,2025-02-10,60.00\n"
    "C1,2025-03-20,250.00\n"
)
PAYMENTS = "customer_id,date,amount\nC1,2025-04-01,300.00\nC1,2025-05-01,0.25\n"
COMPLAINTS = "entity_id,opened_at,severity\nC1,2025-02-01,major\n"


class ProfileTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for table, text in (
            ("customers", CUSTOMERS),
            ("sales", SALES),
            ("payments", PAYMENTS),
            ("complaints", COMPLAINTS),
        ):
            cls.commit(table, text)
        version = publish(add_version(SCHEME, cls.analyst), cls.analyst)
        cls.scheme = version.scheme
        cls.run_2024 = create_run(version, "2024", {}, cls.analyst)
        create_run(version, "2025", {}, cls.analyst)
        cls.run_2025 = create_run(version, "2025", {}, cls.analyst)  # the latest of 2025
        for run in (cls.run_2024, cls.run_2025):
            assert run.status == "done", run.error
        # a customer imported after the runs: no grade yet
        cls.commit("customers", "customer_id,name\nC3,丙公司\n", "customers-2.csv")

    @classmethod
    def commit(cls, table, text, name=None):
        path = cls._home / "files" / (name or f"{table}.csv")
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return commit_batch(path, table, cls.analyst)

    def get(self, entity_id="C1", user=None, table="customers"):
        self.login(user or self.viewer)
        return self.client.get(reverse("entities:profile", args=[table, entity_id]))

    def test_it_shows_the_attributes_with_chinese_labels(self):
        r = self.get()
        self.assertContains(r, "<h1>甲公司")
        attributes = {a["label"]: a["value"] for a in r.context["attributes"]}
        self.assertEqual(attributes["名称"], "甲公司")
        self.assertEqual(attributes["区域"], "华东")
        self.assertEqual(attributes["指定VIP"], "是")
        self.assertEqual(attributes["期初应收"], "0.00")

    def test_it_sums_the_facts_of_the_customer(self):
        facts = {f["table"]: f for f in self.get().context["facts"]}
        self.assertEqual(list(facts), ["sales", "payments", "complaints"])
        sales = facts["sales"]
        self.assertEqual(
            (sales["label"], sales["rows"], str(sales["min_date"]), str(sales["max_date"])),
            ("发货", 3, "2024-06-01", "2025-03-20"),
        )
        self.assertEqual(sales["sums"], [{"label": "金额", "value": "390.50"}])
        self.assertEqual(facts["payments"]["sums"], [{"label": "金额", "value": "300.25"}])
        self.assertEqual(facts["complaints"]["rows"], 1)

    def test_facts_about_any_entity_are_left_out_when_there_are_none(self):
        facts = {f["table"]: f["rows"] for f in self.get("C2").context["facts"]}
        self.assertEqual(facts, {"sales": 1, "payments": 0})

    def test_it_shows_the_latest_grade_per_scheme_with_a_link_to_the_scorecard(self):
        r = self.get()
        [latest] = r.context["grades"]
        self.assertEqual(latest["scheme"], self.scheme)
        self.assertEqual(latest["run"], self.run_2025)
        self.assertEqual((latest["row"]["grade"], latest["row"]["score"]), ("A", 100.0))
        self.assertEqual((latest["color"], latest["class_label"]), ("#1a9850", "大客户"))
        scorecard = reverse("runs:scorecard", args=[self.run_2025.pk, "C1"])
        self.assertEqual(latest["scorecard"], scorecard)
        self.assertContains(r, f'href="{scorecard}"')
        self.assertContains(r, 'style="background:#1a9850"')

    def test_it_charts_the_score_per_period_with_the_grades(self):
        [history] = self.get().context["histories"]
        [trace] = history["figure"]["data"]
        self.assertEqual(trace["x"], ["2024", "2025"])
        self.assertEqual(trace["y"], [40.0, 100.0])
        self.assertEqual(trace["text"], ["C", "A"])
        self.assertEqual(history["figure"]["layout"]["title"]["text"], "档案测试方案")

    def test_another_customer_has_its_own_grades_and_status(self):
        r = self.get("C2")
        [latest] = r.context["grades"]
        self.assertEqual((latest["row"]["grade"], latest["row"]["score"]), ("B", 60.0))
        self.assertEqual(latest["class_label"], "普通客户")
        self.assertEqual(latest["status_label"], "重点关注")
        self.assertContains(r, "重点关注")

    def test_an_id_with_a_slash_has_a_profile(self):
        r = self.get("A/9")
        self.assertContains(r, "斜杠公司")
        self.assertEqual(r.context["grades"][0]["row"]["grade"], "C")
        self.login(self.viewer)
        listing = self.client.get(reverse("entities:list"))
        self.assertContains(listing, reverse("entities:profile", args=["customers", "A/9"]))

    def test_a_customer_the_runs_did_not_evaluate_says_so(self):
        r = self.get("C3")
        [latest] = r.context["grades"]
        self.assertIsNone(latest["row"])
        self.assertContains(r, f"运行 #{self.run_2025.pk} 未评价此对象")
        self.assertEqual(r.context["histories"], [])

    def test_analysts_and_admins_see_it_too(self):
        for user in (self.analyst, self.admin):
            self.assertEqual(self.get(user=user).status_code, 200)

    def test_a_rater_sees_an_assigned_customer_without_grades(self):
        Assignment.objects.create(
            scheme=self.scheme, indicator="service", department=self.sales, entity_ids=["C1"]
        )
        r = self.get(user=self.rater)
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(r.context["grades"])
        self.assertNotContains(r, "评分卡")
        self.assertEqual(len(r.context["facts"]), 3)
        self.assertEqual(self.get("C2", user=self.rater).status_code, 404)
        self.assertEqual(self.get(user=self.rater_q).status_code, 404)

    def test_who_may_not_see_it_or_what_does_not_exist_is_not_found(self):
        self.assertEqual(self.get(user=self.nobody).status_code, 404)
        self.assertEqual(self.get(user=self.rater).status_code, 404)  # no assignment
        self.assertEqual(self.get("C404").status_code, 404)
        self.assertEqual(self.get("S1", table="suppliers").status_code, 404)
        self.assertEqual(self.get("C1", table="sales").status_code, 404)

    def test_a_wrong_method_is_refused(self):
        self.login(self.viewer)
        url = reverse("entities:profile", args=["customers", "C1"])
        self.assertEqual(self.client.post(url).status_code, 405)
