"""The form editor of a draft: weights, thresholds, pass marks, grade bands, colours and labels
written into the same YAML — only the changed values' characters change, comments stay."""

import difflib

from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.formedit import SchemeForm, with_version_number
from pingji.web.schemes.services import add_version, copy_version, publish, resolve_version

SCHEME = """\
# 表单编辑的测试方案:注释必须留下
id: form-test
version: 1
label: 表单测试方案
entity: customers
period: year
metrics:
  sales: {label: 销售额, sum: sales.amount}
  payments: {label: 回款额, sum: payments.amount}
tree:
  id: total
  label: 综合得分
  weighting: fractions
  children:
    # 销售规模按线性计分
    - id: volume
      label: 销售规模
      value: sales
      weight: 0.6   # 六成
      rule:
        linear: {zero_at: 0, full_at: 1000000}
    - id: paid
      label: 回款
      value: payments
      weight: 0.4
      rule:
        bands:
          - {from: 100000, points: 20}
          - {from: 50000, below: 100000, points: 12}
          - {below: 50000, points: 0}
grades:
  levels:
    - {grade: A, label: 优秀, color: "#1a9850", min: 80}  # 八十分以上
    - {grade: B, label: 良好, color: orange, min: 60}
    - {grade: C, label: 较差}
"""

URL = "/schemes/form-test/v1/form/"


def changed_lines(before: str, after: str) -> list[str]:
    """Return the -/+ lines of a diff (the lines that changed, nothing else)."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("---", "+++"))
    ]


class FormEditorTest(WebTestCase):
    def setUp(self):
        self.draft = add_version(SCHEME, self.analyst, note="初稿")
        self.login(self.analyst)

    def fields(self) -> dict[str, str]:
        """The form's fields with their current values, as the page posts them."""
        form = SchemeForm(resolve_version(self.draft))
        return {"digest": form.digest, "note": "初稿", **{f.name: f.value for f in form.fields}}

    def post(self, **changes):
        data = self.fields()
        data.update({k.replace("__", "."): v for k, v in changes.items()})
        return self.client.post(URL, data)

    def saved(self) -> str:
        self.draft.refresh_from_db()
        return self.draft.yaml

    # ------------------------------------------------------------------ the page

    def test_it_shows_the_values_and_the_weight_sum(self):
        r = self.client.get(URL)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "表单编辑：表单测试方案 第 1 版")
        self.assertContains(r, 'name="tree.children.0.weight" value="0.6"', html=False)
        self.assertContains(r, 'name="tree.children.0.rule.linear.full_at" value="1000000"')
        self.assertContains(r, 'name="grades.levels.1.color" value="orange"')
        self.assertContains(r, "<output data-weight-sum>1</output>", html=False)
        self.assertContains(r, 'data-weight-target="1"')
        # the live sum runs from a static file: the Content-Security-Policy allows no inline script
        self.assertContains(r, "/static/pingji/scheme-form.js")
        self.assertNotContains(r, "<script>")
        self.assertNotContains(r, "oninput")

    # ------------------------------------------------------------------ weights

    def test_it_writes_new_weights_and_keeps_every_comment(self):
        r = self.post(tree__children__0__weight="0.7", tree__children__1__weight="0.3")
        self.assertRedirects(r, "/schemes/form-test/v1/", fetch_redirect_response=False)
        text = self.saved()
        self.assertEqual(
            changed_lines(SCHEME, text),
            [
                "-      weight: 0.6   # 六成",
                "+      weight: 0.7   # 六成",
                "-      weight: 0.4",
                "+      weight: 0.3",
            ],
        )
        self.assertIn("# 表单编辑的测试方案:注释必须留下\n", text)
        self.assertIn("    # 销售规模按线性计分\n", text)
        event = AuditEvent.objects.get(action="scheme.version.edit")
        self.assertEqual((event.before["yaml"], event.after["yaml"]), (SCHEME, text))

    def test_weights_that_do_not_add_up_to_one_are_refused(self):
        r = self.post(tree__children__0__weight="0.7")
        self.assertEqual(r.status_code, 200)
        [section] = [s for s in r.context["form"].sections if s.weights]
        self.assertEqual(
            section.weights_error, "权重合计为 1.1，应为 1。此分组按比例（fractions）加权。"
        )
        self.assertEqual(section.weights_sum, "1.1")
        self.assertContains(r, "权重合计为 1.1，应为 1")
        self.assertEqual(self.saved(), SCHEME)
        self.assertFalse(AuditEvent.objects.filter(action="scheme.version.edit").exists())

    def test_a_sum_of_one_in_decimal_is_accepted_where_floats_would_miss(self):
        # 0.1 + 0.2 + … in binary floating point is not exactly 1; in decimals it is
        r = self.post(tree__children__0__weight="0.7", tree__children__1__weight="0.30")
        self.assertEqual(r.status_code, 302)

    def test_a_weight_that_is_not_a_number_is_shown_at_its_field(self):
        r = self.post(tree__children__0__weight="六成")
        form = r.context["form"]
        errors = {f.name: f.error for f in form.fields if f.error}
        self.assertEqual(
            errors,
            {"tree.children.0.weight": "“六成”不是数字；请写如 0.25 或 100000 这样的数。"},
        )
        self.assertContains(r, 'aria-invalid="true"')
        self.assertEqual(self.saved(), SCHEME)

    def test_a_negative_weight_is_refused(self):
        r = self.post(tree__children__0__weight="-0.6", tree__children__1__weight="1.6")
        errors = {f.name: f.error for f in r.context["form"].fields if f.error}
        self.assertEqual(errors, {"tree.children.0.weight": "权重不能为负数。"})

    # ------------------------------------------------------------------ rules

    def test_it_changes_a_linear_threshold_in_a_flow_mapping(self):
        self.post(tree__children__0__rule__linear__full_at="2,000,000")
        self.assertEqual(
            changed_lines(SCHEME, self.saved()),
            [
                "-        linear: {zero_at: 0, full_at: 1000000}",
                "+        linear: {zero_at: 0, full_at: 2000000}",
            ],
        )

    def test_it_changes_band_edges_and_points(self):
        self.post(
            tree__children__1__rule__bands__0__from="120000",
            tree__children__1__rule__bands__1__below="120000",
            tree__children__1__rule__bands__1__points="10",
        )
        self.assertEqual(
            changed_lines(SCHEME, self.saved()),
            [
                "-          - {from: 100000, points: 20}",
                "-          - {from: 50000, below: 100000, points: 12}",
                "+          - {from: 120000, points: 20}",
                "+          - {from: 50000, below: 120000, points: 10}",
            ],
        )

    def test_overlapping_bands_are_refused_by_the_scheme_check_at_the_band(self):
        r = self.post(tree__children__1__rule__bands__1__below="150000")
        self.assertEqual(r.status_code, 200)
        errors = {f.name: f.error for f in r.context["form"].fields if f.error}
        self.assertEqual(list(errors), ["tree.children.1.rule.bands.1.from"])
        # the scheme check's message (Chinese or English by the page's language) names both bands
        message = str(errors["tree.children.1.rule.bands.1.from"])
        self.assertIn("from 50000 below 150000", message)
        self.assertIn("from 100000", message)
        self.assertEqual(self.saved(), SCHEME)

    def test_an_unchanged_number_keeps_its_spelling(self):
        # 0.60 is the 0.6 of the text: nothing to write
        r = self.post(tree__children__0__weight="0.60")
        self.assertEqual(r.status_code, 302)
        self.assertEqual(self.saved(), SCHEME)

    # ------------------------------------------------------------------ pass marks

    def test_it_adds_and_removes_a_pass_mark_in_a_block_mapping(self):
        self.post(tree__children__0__pass="0.6")
        added = self.saved()
        self.assertEqual(changed_lines(SCHEME, added), ["+      pass: 0.6"])
        self.assertIn("    - id: volume\n      pass: 0.6\n      label: 销售规模\n", added)
        self.assertEqual(resolve_version(self.draft).nodes["volume"].pass_points, 0.6 * 60)
        self.post(tree__children__0__pass="")
        self.assertEqual(self.saved(), SCHEME)

    def test_a_pass_mark_above_one_is_refused(self):
        r = self.post(tree__children__0__pass="60")
        errors = {f.name: f.error for f in r.context["form"].fields if f.error}
        self.assertEqual(
            errors,
            {"tree.children.0.pass": "及格线是占满分的比例，应在 0 到 1 之间（如 0.6 表示 60%）。"},
        )

    # ------------------------------------------------------------------ grades

    def test_it_edits_grade_bands_and_labels(self):
        self.post(grades__levels__0__min="85", grades__levels__1__label="良好客户")
        self.assertEqual(
            changed_lines(SCHEME, self.saved()),
            [
                '-    - {grade: A, label: 优秀, color: "#1a9850", min: 80}  # 八十分以上',
                "-    - {grade: B, label: 良好, color: orange, min: 60}",
                '+    - {grade: A, label: 优秀, color: "#1a9850", min: 85}  # 八十分以上',
                "+    - {grade: B, label: 良好客户, color: orange, min: 60}",
            ],
        )
        levels = resolve_version(self.draft).scheme.grades.levels
        self.assertEqual((levels[0].min, levels[1].label), (85, "良好客户"))

    def test_grade_bands_out_of_order_are_refused(self):
        r = self.post(grades__levels__1__min="90")
        self.assertEqual(r.status_code, 200)
        errors = {f.name: f.error for f in r.context["form"].fields if f.error}
        self.assertEqual(list(errors), ["grades.levels.1.min"])
        self.assertIn("min 90", str(errors["grades.levels.1.min"]))
        self.assertIn("min 80", str(errors["grades.levels.1.min"]))
        self.assertEqual(self.saved(), SCHEME)

    def test_a_colour_is_checked_and_quoted_where_yaml_needs_it(self):
        r = self.post(grades__levels__1__color="red;background:url(x)")
        errors = {f.name: f.error for f in r.context["form"].fields if f.error}
        self.assertEqual(
            errors,
            {
                "grades.levels.1.color": "“red;background:url(x)”不是颜色；请写 #rgb、#rrggbb"
                "（如 #1a9850）或 CSS 颜色名（如 green）。"
            },
        )
        self.assertEqual(self.saved(), SCHEME)
        # a level without a colour gets one; a # starts a comment in YAML, so it is quoted
        self.post(grades__levels__2__color="#ccc", grades__levels__1__color="teal")
        self.assertEqual(
            changed_lines(SCHEME, self.saved()),
            [
                "-    - {grade: B, label: 良好, color: orange, min: 60}",
                "-    - {grade: C, label: 较差}",
                "+    - {grade: B, label: 良好, color: teal, min: 60}",
                '+    - {grade: C, color: "#ccc", label: 较差}',
            ],
        )
        levels = resolve_version(self.draft).scheme.grades.levels
        self.assertEqual([lv.color for lv in levels], ["#1a9850", "teal", "#ccc"])

    def test_a_label_that_yaml_would_misread_is_quoted(self):
        self.post(tree__children__0__label='规模: "大", #1', label="yes")
        self.saved()
        rs = resolve_version(self.draft)
        self.assertEqual(rs.nodes["volume"].node.label, '规模: "大", #1')
        self.assertEqual(rs.scheme.label, "yes")  # quoted: YAML 1.1 readers take yes for true
        self.assertEqual(
            changed_lines(SCHEME, self.draft.yaml),
            [
                "-label: 表单测试方案",
                '+label: "yes"',
                "-      label: 销售规模",
                '+      label: "规模: \\"大\\", #1"',
            ],
        )

    # ------------------------------------------------------------------ safety

    def test_a_form_opened_before_another_save_is_refused(self):
        data = self.fields()
        self.client.post(URL, {**data, "tree.children.0.label": "规模"})
        r = self.client.post(URL, {**data, "tree.children.0.weight": "0.5"})
        self.assertEqual(r.status_code, 409)
        self.assertContains(r, "草稿在你打开表单后已被修改", status_code=409)
        self.assertIn("weight: 0.6", self.saved())

    def test_a_published_version_is_not_edited(self):
        publish(self.draft, self.analyst)
        r = self.client.post(URL, self.fields())
        self.assertRedirects(r, "/schemes/form-test/v1/", fetch_redirect_response=False)
        self.assertEqual(self.saved(), SCHEME)

    def test_the_draft_page_links_to_the_form_and_the_preview(self):
        r = self.client.get("/schemes/form-test/v1/")
        self.assertContains(r, 'href="/schemes/form-test/v1/form/"')
        self.assertContains(r, 'href="/schemes/form-test/v1/whatif/"')

    # ------------------------------------------------------------------ roles

    def test_roles(self):
        for user, status in ((self.admin, 200), (self.viewer, 403), (self.rater, 403)):
            self.login(user)
            self.assertEqual(self.client.get(URL).status_code, status, user)
        self.login(self.viewer)
        self.assertEqual(self.client.post(URL, self.fields()).status_code, 403)
        self.assertEqual(self.saved(), SCHEME)
        self.login(self.nobody)
        self.assertEqual(self.client.get(URL).status_code, 404)
        self.assertEqual(self.client.post(URL, self.fields()).status_code, 404)
        self.login(self.analyst)
        self.assertEqual(self.client.put(URL).status_code, 405)
        self.assertEqual(self.client.get("/schemes/form-test/v9/form/").status_code, 404)


class CopyNumberTest(WebTestCase):
    def test_a_copy_gets_the_next_version_number_in_its_yaml(self):
        v1 = publish(add_version(SCHEME, self.analyst), self.analyst)
        v2 = copy_version(v1, self.analyst)
        self.assertEqual(v2.number, 2)
        self.assertEqual(changed_lines(SCHEME, v2.yaml), ["-version: 1", "+version: 2"])
        self.assertEqual(resolve_version(v2).scheme.version, 2)
        v3 = copy_version(v1, self.analyst)  # from v1 again: the number after the newest
        self.assertEqual((v3.number, resolve_version(v3).scheme.version), (3, 3))

    def test_the_copy_button_makes_the_next_version(self):
        publish(add_version(SCHEME, self.analyst), self.analyst)
        self.login(self.analyst)
        r = self.client.post("/schemes/form-test/v1/copy/")
        self.assertRedirects(r, "/schemes/form-test/v2/edit/", fetch_redirect_response=False)
        self.assertContains(self.client.get("/schemes/form-test/v2/edit/"), "version: 2")

    def test_a_version_is_inserted_after_the_id_when_absent_and_a_name_is_kept(self):
        text = SCHEME.replace("version: 1\n", "")
        self.assertEqual(changed_lines(text, with_version_number(text, 4)), ["+version: 4"])
        named = SCHEME.replace("version: 1", "version: 2026-A")
        self.assertEqual(with_version_number(named, 4), named)
