"""The scheme page: the tree, metrics, grades, classes and consequences in words, the YAML
with line numbers, and the versions."""

from pingji.errors import SchemeError
from pingji.templates import builtin_text
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs.models import Run
from pingji.web.schemes.outline import safe_color
from pingji.web.schemes.services import add_version, publish


class SchemeDetailTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.v1 = publish(add_version(builtin_text("customer-composite"), cls.analyst), cls.admin)
        cls.v2 = add_version(builtin_text("customer-composite") + "# 草稿\n", cls.analyst, "试改")

    def test_it_shows_the_tree_with_groups_labels_and_rules_in_words(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["version"], self.v1)  # the published one, not the draft
        for label in ("综合得分", "销售量", "销售增长率", "回款率", "退货率", "客户经理评分"):
            self.assertContains(r, label)
        # sales_volume: weight 0.30 of 100 → max 30; linear 100,000 → 0, 2,100,000 → 30
        self.assertContains(r, "线性计分：100,000 得 0 分，2,100,000 得满分 30 分")
        self.assertContains(r, "人工评分，按评分量表折算为 0–10 分")
        self.assertContains(
            r, "加权（销售量 0.3，销售增长率 0.3，回款率 0.2，退货率 0.1，客户经理评分 0.1）"
        )
        nodes = {n.id: n for n in r.context["nodes"]}
        self.assertEqual((nodes["sales_volume"].weight, nodes["sales_volume"].max), ("0.3", "30"))
        self.assertEqual(nodes["return_rate"].share, "10%")
        self.assertEqual(nodes["composite"].depth, 0)
        self.assertEqual(nodes["return_rate"].depth, 1)
        self.assertEqual(nodes["sales_volume"].missing, "记 0 分")
        # the metrics each indicator reads, in words
        self.assertEqual([m.name for m in nodes["sales_volume"].metrics], ["sales"])
        self.assertEqual(
            nodes["sales_volume"].metrics[0].words, "发货表 sales 的 amount 求和，本期"
        )
        self.assertEqual([m.name for m in nodes["collection_rate"].metrics], ["collection_rate"])
        self.assertContains(r, "发货表 sales 的 amount 求和，上期")
        self.assertContains(r, "公式：payments / sales")
        self.assertContains(r, "人工评分 manager_rating，量表 0–100，多人评分取平均")

    def test_it_shows_grade_bands_with_their_colours(self):
        self.login(self.rater)
        r = self.client.get("/schemes/customer-composite/")
        ranges = [(lv.grade, lv.range, lv.color) for lv in r.context["levels"]]
        self.assertEqual(
            ranges,
            [
                ("AAA", "得分 ≥ 90", "#1a9850"),
                ("AA", "80 ≤ 得分 < 90", "#66bd63"),
                ("A", "70 ≤ 得分 < 80", "#a6d96a"),
                ("B", "60 ≤ 得分 < 70", "#fdae61"),
                ("C", "得分 < 60", "#d73027"),
            ],
        )
        self.assertContains(r, 'style="background: #1a9850"')
        self.assertContains(r, "特优客户")

    def test_it_shows_the_yaml_with_line_numbers(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/")
        self.assertContains(
            r, '<tr id="L1"><td class="ln">1</td><td class="code">id: customer-composite</td>'
        )
        lines = builtin_text("customer-composite").splitlines()
        self.assertEqual(len(r.context["lines"]), len(lines))
        # a tree row links to its line in the YAML
        line = lines.index("    - id: sales_volume") + 1
        self.assertContains(r, f'href="#L{line}"')

    def test_it_lists_versions_with_status_who_and_note(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/")
        self.assertEqual([v.number for v in r.context["versions"]], [2, 1])
        self.assertContains(r, "试改")
        self.assertContains(r, 'href="/schemes/customer-composite/diff/?a=1&amp;b=2"')
        self.assertContains(r, "已发布")
        self.assertContains(r, "草稿")

    def test_it_shows_a_chosen_version(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/v2/")
        self.assertEqual(r.context["version"], self.v2)
        self.assertContains(r, "第 2 版是草稿")

    def test_it_offers_changes_only_to_who_may_change(self):
        self.login(self.analyst)
        r = self.client.get("/schemes/customer-composite/v2/")
        self.assertContains(r, 'action="/schemes/customer-composite/v2/publish/"')
        self.assertContains(r, 'href="/schemes/customer-composite/v2/edit/"')
        r = self.client.get("/schemes/customer-composite/v1/")
        self.assertNotContains(r, "/schemes/customer-composite/v1/edit/")
        self.assertContains(r, "基于此版本新建草稿")
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/v2/")
        self.assertNotContains(r, "/publish/")
        self.assertNotContains(r, "/edit/")
        self.assertNotContains(r, "基于此版本新建草稿")

    def test_it_links_runs_for_who_may_see_them_and_a_new_run_for_who_may_start_one(self):
        run = Run.objects.create(scheme_version=self.v1, period="2025", status="done", entities=40)
        self.login(self.analyst)
        r = self.client.get("/schemes/customer-composite/v1/")
        self.assertContains(r, f'href="/runs/new/?version={self.v1.pk}"')
        self.assertContains(r, f'href="/runs/{run.pk}/"')
        self.assertContains(r, 'href="/runs/?scheme=customer-composite"')
        self.assertNotContains(self.client.get("/schemes/customer-composite/v2/"), "/runs/new/")
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/v1/")
        self.assertNotContains(r, "/runs/new/")
        self.assertContains(r, f'href="/runs/{run.pk}/"')
        self.login(self.rater)  # raters do not see runs
        r = self.client.get("/schemes/customer-composite/v1/")
        self.assertNotContains(r, "/runs/")

    def test_it_draws_the_tree_as_a_sunburst_of_max_points(self):
        self.login(self.viewer)
        fig = self.client.get("/schemes/customer-composite/").context["figure"]
        trace = fig["data"][0]
        self.assertEqual(trace["type"], "sunburst")
        values = dict(zip(trace["ids"], trace["values"], strict=True))
        self.assertEqual((values["composite"], values["sales_volume"]), (100, 30))
        self.assertEqual(trace["branchvalues"], "total")

    def test_it_downloads_the_yaml(self):
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-composite/v1/yaml/")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content.decode(), builtin_text("customer-composite"))
        self.assertIn('filename="customer-composite-v1.yaml"', r["Content-Disposition"])

    def test_it_is_readable_by_every_role_and_hidden_from_no_role(self):
        for user in (self.admin, self.analyst, self.rater, self.viewer):
            self.login(user)
            for url in (
                "/schemes/customer-composite/",
                "/schemes/customer-composite/v1/",
                "/schemes/customer-composite/v1/yaml/",
            ):
                self.assertEqual(self.client.get(url).status_code, 200, (user.username, url))
        self.login(self.nobody)
        for url in (
            "/schemes/customer-composite/",
            "/schemes/customer-composite/v1/",
            "/schemes/customer-composite/v1/yaml/",
        ):
            self.assertEqual(self.client.get(url).status_code, 404, url)

    def test_it_answers_404_for_unknown_schemes_and_versions(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get("/schemes/no-such/").status_code, 404)
        self.assertEqual(self.client.get("/schemes/customer-composite/v9/").status_code, 404)

    def test_it_refuses_post(self):
        self.login(self.admin)
        for url in (
            "/schemes/customer-composite/",
            "/schemes/customer-composite/v1/",
            "/schemes/customer-composite/v1/yaml/",
        ):
            self.assertEqual(self.client.post(url).status_code, 405, url)


class EveryBuiltinPageTest(WebTestCase):
    """The sections beyond the tree: weights by category, caps, params, outputs, classes,
    grade rules, demotions, consequences and checks."""

    def page(self, name):
        add_version(builtin_text(name), self.analyst)
        self.login(self.viewer)
        r = self.client.get(f"/schemes/{name}/")
        self.assertEqual(r.status_code, 200)
        return r

    def test_it_shows_weights_by_category_and_consequences(self):
        r = self.page("supplier-rating")
        nodes = {n.id: n for n in r.context["nodes"]}
        self.assertEqual(
            nodes["delivery"].weight,
            "按 category：ic 2 · bulk 2 · pcb 4 · auxiliary 1 · mro 1 · office 1",
        )
        self.assertEqual(nodes["delivery"].share, "")  # depends on the supplier's category
        self.assertEqual(nodes["attitude"].weight, "按分值")
        self.assertIsNone(r.context["figure"])
        self.assertContains(r, "扣分制：从 100 分起扣；延期交货：每次（late_deliveries）扣 25 分")
        self.assertContains(r, "取消供应商资格")
        self.assertContains(r, "grade_streak(&#x27;C&#x27;, 3)")
        self.assertContains(r, "提交纠正预防措施报告")
        self.assertEqual([p["name"] for p in r.context["params"]], ["defect_limit"])
        self.assertEqual(nodes["process_defect"].params, ["defect_limit"])
        self.assertEqual(nodes["batch_pass"].missing, "不计入，按其余项折算")

    def test_it_shows_caps_params_and_outputs(self):
        r = self.page("credit-rating")
        self.assertContains(r, "近12个月有超过90天的逾期，最高B级")
        self.assertContains(r, "授信额度（元）")
        params = {p["name"]: p for p in r.context["params"]}
        self.assertEqual(params["net_assets_full"]["default"], "10,000,000")
        self.assertEqual(params["mult_aa"]["type"], "金额")
        nodes = {n.id: n for n in r.context["nodes"]}
        self.assertEqual(nodes["character"].max, "35")
        self.assertEqual(nodes["character"].share, "35%")
        self.assertEqual(nodes["cooperation_years"].depth, 2)
        self.assertContains(r, "分段计分：≥ 5 → 5 分；[3, 5) → 4 分")

    def test_it_shows_classes_in_precedence_order(self):
        r = self.page("customer-classification")
        ranks = [(c["rank"], c["rule"].id) for c in r.context["class_rows"]]
        self.assertEqual(ranks[:3], [(1, "stagnant"), (2, "pending"), (3, "deteriorating")])
        self.assertEqual(len(ranks), 9)
        self.assertEqual(ranks[-1][1], "new")  # not in precedence: after the listed ones
        self.assertContains(r, "一般客户")  # the fallback
        self.assertEqual(r.context["nodes"], [])

    def test_it_shows_grade_rules_and_demotions(self):
        r = self.page("customer-tiering")
        self.assertContains(r, "流失客户不评级")
        self.assertContains(r, "半年未光顾降一级")
        self.assertContains(r, "享受所有商品 8 折金钻卡待遇")
        self.assertEqual({lv.range for lv in r.context["levels"]}, {"按评级规则"})

    def test_it_shows_checks_in_words(self):
        r = self.page("satisfaction-survey")
        words = [c["words"] for c in r.context["checks"]]
        self.assertIn("满足 active 的对象中，responded 成立的比例至少 80%", words)

    def test_it_refuses_a_grade_colour_that_is_not_a_colour(self):
        text = builtin_text("customer-composite").replace('"#1a9850"', '"red;position:fixed"')
        with self.assertRaisesMessage(SchemeError, "`color` 'red;position:fixed' is not a colour"):
            add_version(text, self.analyst)
        # and a page never puts anything but a colour in a style attribute
        self.assertEqual(safe_color("red;position:fixed"), "")
        self.assertEqual(safe_color("#1a9850"), "#1a9850")


class EnglishPageTest(WebTestCase):
    def test_it_speaks_english_when_chosen(self):
        add_version(builtin_text("customer-composite"), self.analyst)
        self.login(self.viewer)
        self.client.post("/language/", {"language": "en", "next": "/"})
        r = self.client.get("/schemes/customer-composite/")
        self.assertContains(r, "Scoring tree")
        self.assertContains(r, "Version 1 is a draft")
        r = self.client.get("/schemes/")
        self.assertContains(r, "Latest published")


class MetricInputsTest(WebTestCase):
    def test_it_links_a_formulas_metrics_and_parameters(self):
        add_version(builtin_text("customer-tiering"), self.analyst)
        self.login(self.viewer)
        r = self.client.get("/schemes/customer-tiering/")
        metrics = {m.name: m for m in r.context["metrics"]}
        self.assertEqual(
            metrics["loyalty_points"].inputs,
            [("spend_to_date", "m-spend_to_date"), ("yuan_per_point", "p-yuan_per_point")],
        )
        self.assertContains(r, 'href="#p-yuan_per_point"')
        self.assertContains(r, 'id="p-yuan_per_point"')
        self.assertNotContains(r, "评分指标")  # no tree, no indicator count
