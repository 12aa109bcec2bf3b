"""Edit a draft: checked, audited with the YAML before and after; a published version refuses."""

from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish

SMALL = """\
id: small-test
label: 小测试方案
entity: customers
period: year
metrics:
  sales: {label: 销售额, sum: sales.amount}
tree:
  id: total
  label: 综合得分
  children:
    - id: sales
      label: 销售规模
      weight: 1
      rule: {linear: {zero_at: 0, full_at: 1000000}}
grades:
  levels:
    - {grade: A, min: 60}
    - {grade: C}
"""


class EditDraftTest(WebTestCase):
    def setUp(self):
        self.draft = add_version(SMALL, self.analyst, note="初稿")
        self.url = "/schemes/small-test/v1/edit/"

    def test_it_shows_the_draft_in_a_text_area(self):
        self.login(self.analyst)
        r = self.client.get(self.url)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["form"].initial, {"yaml": SMALL, "note": "初稿"})
        self.assertContains(r, "编辑草稿：小测试方案 第 1 版")

    def test_it_saves_a_valid_change_and_audits_before_and_after(self):
        self.login(self.analyst)
        changed = SMALL.replace("full_at: 1000000", "full_at: 2000000")
        r = self.client.post(self.url, {"yaml": changed, "note": "满分线 200 万"})
        self.assertRedirects(r, "/schemes/small-test/v1/", fetch_redirect_response=False)
        self.draft.refresh_from_db()
        self.assertEqual((self.draft.yaml, self.draft.note), (changed, "满分线 200 万"))
        event = AuditEvent.objects.get(action="scheme.version.edit")
        self.assertEqual(event.before, {"yaml": SMALL, "note": "初稿"})
        self.assertEqual(event.after, {"yaml": changed, "note": "满分线 200 万"})
        self.assertEqual(event.username, "analyst")
        r = self.client.get("/schemes/small-test/v1/")
        self.assertContains(r, "线性计分：0 得 0 分，2,000,000 得满分 100 分")

    def test_it_follows_a_new_label(self):
        self.login(self.analyst)
        self.client.post(self.url, {"yaml": SMALL.replace("小测试方案", "大方案")})
        self.draft.scheme.refresh_from_db()
        self.assertEqual(self.draft.scheme.name, "大方案")

    def test_it_shows_errors_at_their_lines_and_keeps_the_draft(self):
        self.login(self.analyst)
        broken = SMALL.replace("weight: 1", "weight: -1")  # line 13
        r = self.client.post(self.url, {"yaml": broken})
        self.assertEqual(r.status_code, 200)
        self.assertEqual([p.line for p in r.context["problems"]], [13])
        self.assertContains(r, '<tr id="L13" class="line-error">')
        self.assertContains(r, "`weight` 不能为负数")  # the validator's message, in Chinese
        self.assertEqual(r.context["form"].data["yaml"], broken)  # the user's text stays
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)
        self.assertFalse(AuditEvent.objects.filter(action="scheme.version.edit").exists())

    def test_it_refuses_a_changed_id(self):
        self.login(self.analyst)
        r = self.client.post(self.url, {"yaml": SMALL.replace("small-test", "other")})
        [problem] = r.context["problems"]
        self.assertEqual((problem.line, problem.path), (1, "id"))
        self.assertIn("id 不能改为 'other'", problem.message)
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)

    def test_it_may_change_the_entity_of_a_schemes_only_version(self):
        self.login(self.analyst)
        staff = SMALL.replace("entity: customers", "entity: staff").replace(
            "sum: sales.amount", "count: events"
        )
        r = self.client.post(self.url, {"yaml": staff})
        self.assertEqual(r.status_code, 302)
        self.draft.scheme.refresh_from_db()
        self.assertEqual(self.draft.scheme.entity, "staff")

    def test_it_refuses_another_entity_when_other_versions_exist(self):
        add_version(SMALL + "# 2\n", self.analyst)
        self.login(self.analyst)
        staff = SMALL.replace("entity: customers", "entity: staff").replace(
            "sum: sales.amount", "count: events"
        )
        r = self.client.post(self.url, {"yaml": staff})
        [problem] = r.context["problems"]
        self.assertEqual((problem.line, problem.path), (3, "entity"))
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)

    def test_it_checks_without_saving(self):
        self.login(self.analyst)
        changed = SMALL.replace("min: 60", "min: 70")
        r = self.client.post(self.url, {"yaml": changed, "action": "check"})
        self.assertContains(r, "检查通过")
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)

    def test_it_refuses_to_edit_a_published_version(self):
        publish(self.draft, self.analyst)
        self.login(self.analyst)
        r = self.client.get(self.url)
        self.assertRedirects(r, "/schemes/small-test/v1/", fetch_redirect_response=False)
        changed = SMALL.replace("min: 60", "min: 70")
        r = self.client.post(self.url, {"yaml": changed}, follow=True)
        self.assertContains(r, "第 1 版已发布，不可修改；请点击“基于此版本新建草稿”。")
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)
        self.assertFalse(AuditEvent.objects.filter(action="scheme.version.edit").exists())

    def test_it_forbids_editing_to_readers(self):
        for user in (self.viewer, self.rater):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 403)
            r = self.client.post(self.url, {"yaml": SMALL.replace("min: 60", "min: 70")})
            self.assertEqual(r.status_code, 403)
        self.draft.refresh_from_db()
        self.assertEqual(self.draft.yaml, SMALL)

    def test_it_hides_editing_from_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.assertEqual(self.client.post(self.url, {"yaml": SMALL}).status_code, 404)

    def test_it_answers_404_for_an_unknown_version(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get("/schemes/small-test/v7/edit/").status_code, 404)

    def test_it_refuses_other_methods(self):
        self.login(self.analyst)
        self.assertEqual(self.client.put(self.url).status_code, 405)
