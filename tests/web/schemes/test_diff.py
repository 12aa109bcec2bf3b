"""The difference between two versions: a summary in words and the YAML line by line."""

from pingji.templates import builtin_text
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish, resolve_version

TEXT = builtin_text("customer-composite")
# sales_volume 0.30 → 0.25, collection_rate 0.20 → 0.25: still adds up to 1
CHANGED = TEXT.replace(
    "      weight: 0.30\n      value: sales", "      weight: 0.25\n      value: sales"
).replace("      weight: 0.20\n", "      weight: 0.25\n")


class DiffTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        publish(add_version(TEXT, cls.analyst), cls.analyst)
        add_version(CHANGED, cls.analyst, note="调整权重")
        cls.url = "/schemes/customer-composite/diff/"

    def test_it_shows_a_changed_weight_in_words_and_lines(self):
        self.login(self.viewer)
        r = self.client.get(self.url, {"a": 1, "b": 2})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(
            r.context["changes"],
            [
                "销售量（sales_volume）：权重 0.3 → 0.25；满分 30 → 25",
                "回款率（collection_rate）：权重 0.2 → 0.25；满分 20 → 25",
            ],
        )
        self.assertEqual((r.context["removed"], r.context["added"]), (2, 2))
        self.assertContains(r, '<td class="sign">−</td><td class="code">      weight: 0.30</td>')
        self.assertContains(r, '<td class="sign">+</td><td class="code">      weight: 0.25</td>')
        self.assertContains(r, '<tr class="del">')
        self.assertContains(r, '<tr class="add">')
        self.assertContains(r, "删除 2 行，新增 2 行")

    def test_it_compares_the_newest_with_the_one_before_by_default(self):
        self.login(self.analyst)
        r = self.client.get(self.url)
        self.assertEqual((r.context["a"].number, r.context["b"].number), (1, 2))

    def test_it_shows_only_context_around_changes_unless_asked_for_all(self):
        self.login(self.analyst)
        short = self.client.get(self.url, {"a": 1, "b": 2}).context["rows"]
        full = self.client.get(self.url, {"a": 1, "b": 2, "full": "1"}).context["rows"]
        n = len(TEXT.splitlines())
        self.assertEqual(len([r for r in full if r.kind != "gap"]), n + 2)  # 2 lines replaced
        self.assertLess(len(short), 30)
        self.assertEqual(short[0].kind, "gap")

    def test_it_says_when_nothing_changed(self):
        self.login(self.analyst)
        r = self.client.get(self.url, {"a": 2, "b": 2})
        self.assertEqual(r.context["changes"], [])
        self.assertContains(r, "两个版本的 YAML 完全相同")

    def test_it_says_there_is_nothing_to_compare_with_one_version(self):
        add_version(TEXT.replace("id: customer-composite", "id: single"), self.analyst)
        self.login(self.analyst)
        r = self.client.get("/schemes/single/diff/")
        self.assertContains(r, "此方案只有一个版本")

    def test_it_answers_404_for_unknown_versions(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get(self.url, {"a": 1, "b": 9}).status_code, 404)
        self.assertEqual(self.client.get(self.url, {"a": "x"}).status_code, 404)
        self.assertEqual(self.client.get("/schemes/nope/diff/").status_code, 404)

    def test_it_is_readable_by_every_role_and_hidden_from_no_role(self):
        for user in (self.admin, self.analyst, self.rater, self.viewer):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 200, user.username)
        self.login(self.nobody)
        self.assertEqual(self.client.get(self.url).status_code, 404)

    def test_it_refuses_post(self):
        self.login(self.analyst)
        self.assertEqual(self.client.post(self.url).status_code, 405)


class StructuralChangesTest(WebTestCase):
    """The summary names added and removed indicators, rule changes, metrics and grades."""

    def test_it_names_added_removed_and_changed_parts(self):
        from pingji.web.schemes import outline

        a = add_version(TEXT, self.analyst)
        b_text = (
            TEXT.replace(
                "linear: {zero_at: 0.90, full_at: 1.00}", "linear: {zero_at: 0.85, full_at: 1.00}"
            )
            .replace(
                '{grade: AA, label: 优秀客户, color: "#66bd63", min: 80}',
                '{grade: AA, label: 优秀客户, color: "#66bd63", min: 85}',
            )
            .replace(
                "  returns:\n    label: 退货额\n    sum: returns.amount\n",
                "  returns:\n    label: 退货额\n    sum: returns.amount\n    window: previous\n",
            )
        )
        b = add_version(b_text, self.analyst)
        changes = outline.structural_changes(resolve_version(a), resolve_version(b))
        self.assertIn(
            "回款率（collection_rate）：计分规则改为：线性计分：0.85 得 0 分，1 得满分 20 分，之间按比例，超出取端点（越高越好）",
            changes,
        )
        self.assertIn("指标值 returns 改为：退货表 returns 的 amount 求和，上期", changes)
        self.assertIn(
            "等级划分改为：AAA 得分 ≥ 90；AA 85 ≤ 得分 < 90；A 70 ≤ 得分 < 85；B 60 ≤ 得分 < 70；C 得分 < 60",
            changes,
        )
