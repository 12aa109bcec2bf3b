"""Upload a scheme (file or pasted text): checked first, errors shown at their lines, nothing
stored when invalid; a known id becomes a new version."""

from django.core.files.uploadedfile import SimpleUploadedFile

from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.models import Scheme, SchemeVersion

SMALL = """\
id: small-test
label: 小测试方案
entity: customers
period: year
metrics:
  sales:
    label: 销售额
    sum: sales.amount
  payments: {label: 回款额, sum: payments.amount}
  collection: {label: 回款率, expr: payments / sales}
tree:
  id: total
  label: 综合得分
  children:
    - id: sales
      label: 销售规模
      weight: 0.6
      rule: {linear: {zero_at: 0, full_at: 1000000}}
    - id: collection
      label: 回款
      weight: 0.4
      rule: {linear: {zero_at: 0.9, full_at: 1}}
grades:
  levels:
    - {grade: A, label: 优秀, color: "#1a9850", min: 80}
    - {grade: B, label: 良好, min: 60}
    - {grade: C, label: 较差}
"""
# line 10 reads `sale`, a name that does not exist
BROKEN = SMALL.replace("expr: payments / sales}", "expr: payments / sale}")


class UploadTest(WebTestCase):
    def test_it_creates_a_scheme_from_pasted_yaml(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": SMALL, "note": "初稿"})
        self.assertRedirects(r, "/schemes/small-test/v1/", fetch_redirect_response=False)
        scheme = Scheme.objects.get(code="small-test")
        self.assertEqual(
            (scheme.name, scheme.entity, scheme.period, scheme.builtin),
            ("小测试方案", "customers", "year", False),
        )
        v = scheme.versions.get()
        self.assertEqual((v.number, v.status, v.note, v.yaml), (1, "draft", "初稿", SMALL))
        self.assertEqual(v.created_by, self.analyst)
        event = AuditEvent.objects.get(action="scheme.version.create")
        self.assertEqual(event.username, "analyst")
        self.assertEqual(event.after["yaml"], SMALL)
        r = self.client.get("/schemes/small-test/v1/")
        self.assertContains(r, "已新建方案 小测试方案（small-test）")

    def test_it_creates_a_scheme_from_an_uploaded_file(self):
        self.login(self.admin)
        upload = SimpleUploadedFile("small.yaml", SMALL.replace("\n", "\r\n").encode("utf-8-sig"))
        r = self.client.post("/schemes/upload/", {"file": upload})
        self.assertRedirects(r, "/schemes/small-test/v1/", fetch_redirect_response=False)
        self.assertEqual(SchemeVersion.objects.get().yaml, SMALL)  # BOM and CRLF gone

    def test_it_reads_a_gbk_encoded_file(self):
        self.login(self.analyst)
        upload = SimpleUploadedFile("small.yaml", SMALL.encode("gbk"))
        self.client.post("/schemes/upload/", {"file": upload})
        self.assertEqual(Scheme.objects.get().name, "小测试方案")

    def test_it_shows_an_error_at_its_line_and_stores_nothing(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": BROKEN})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(Scheme.objects.count(), 0)
        self.assertFalse(AuditEvent.objects.filter(action__startswith="scheme").exists())
        self.assertContains(r, "方案有 1 处问题，未保存")
        [problem] = r.context["problems"]
        self.assertEqual((problem.line, problem.path), (10, "metrics.collection.expr"))
        self.assertIn("unknown name 'sale'", problem.message)
        # line 10 is highlighted, the message stands under it, the column is marked
        self.assertContains(r, '<tr id="L10" class="line-error"><td class="ln">10</td>')
        self.assertContains(r, "是否应为“sales”？", count=2)  # list + under line, in Chinese
        self.assertContains(r, '<tr id="L9"><td class="ln">9</td>')  # others are not flagged
        self.assertContains(r, "/ <mark>s</mark>ale}")
        self.assertContains(r, '<a href="#L10">第 10 行第')

    def test_it_puts_a_broken_files_text_in_the_text_area_to_fix(self):
        self.login(self.analyst)
        upload = SimpleUploadedFile("broken.yaml", BROKEN.encode())
        r = self.client.post("/schemes/upload/", {"file": upload})
        self.assertEqual(r.context["form"].initial["yaml"], BROKEN)
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_reports_malformed_yaml_at_its_line(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": "id: x\nentity: [customers\n"})
        [problem] = r.context["problems"]
        self.assertIn("malformed YAML", problem.message)
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_asks_for_a_file_or_text(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": "  \n"})
        self.assertContains(r, "请选择一个 YAML 文件，或在文本框中粘贴方案内容")

    def test_it_refuses_a_binary_file(self):
        self.login(self.analyst)
        upload = SimpleUploadedFile("x.xlsx", b"PK\x03\x04\xff\xfe\x00\x81\xff")
        r = self.client.post("/schemes/upload/", {"file": upload})
        self.assertContains(r, "文件 x.xlsx 不是文本文件")
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_stores_a_known_id_as_a_new_version(self):
        self.login(self.analyst)
        self.client.post("/schemes/upload/", {"yaml": SMALL})
        changed = SMALL.replace("weight: 0.6", "weight: 0.5").replace("weight: 0.4", "weight: 0.5")
        r = self.client.post("/schemes/upload/", {"yaml": changed, "note": "权重各半"})
        self.assertRedirects(r, "/schemes/small-test/v2/", fetch_redirect_response=False)
        self.assertEqual(Scheme.objects.count(), 1)
        self.assertEqual(
            list(SchemeVersion.objects.values_list("number", "status", "note")),
            [(2, "draft", "权重各半"), (1, "draft", "")],
        )

    def test_it_refuses_a_copy_of_an_existing_version(self):
        self.login(self.analyst)
        self.client.post("/schemes/upload/", {"yaml": SMALL})
        r = self.client.post("/schemes/upload/", {"yaml": SMALL})
        self.assertContains(r, "与方案 small-test 的第 1 版内容完全相同，未保存新版本")
        self.assertEqual(SchemeVersion.objects.count(), 1)

    def test_it_refuses_a_new_version_for_another_entity(self):
        self.login(self.analyst)
        self.client.post("/schemes/upload/", {"yaml": SMALL})
        other = SMALL.replace("entity: customers", "entity: suppliers")
        other = other.replace("sales.amount", "quotes.premium").replace(
            "payments.amount", "quotes.premium"
        )
        r = self.client.post("/schemes/upload/", {"yaml": other})
        [problem] = r.context["problems"]
        self.assertEqual((problem.line, problem.path), (3, "entity"))
        self.assertIn(
            "评价的是 客户（customers），新版本不能改为 供应商（suppliers）", problem.message
        )
        self.assertEqual(SchemeVersion.objects.count(), 1)

    def test_it_refuses_a_reserved_id(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": SMALL.replace("small-test", "upload")})
        [problem] = r.context["problems"]
        self.assertEqual(problem.line, 1)
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_checks_without_storing(self):
        self.login(self.analyst)
        r = self.client.post("/schemes/upload/", {"yaml": SMALL, "action": "check"})
        self.assertContains(r, "检查通过：方案 小测试方案（small-test），2 个评分指标。尚未保存。")
        self.assertContains(r, "保存后将新建方案")
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_shows_the_form(self):
        self.login(self.analyst)
        r = self.client.get("/schemes/upload/")
        self.assertContains(r, "上传方案")
        self.assertContains(r, 'enctype="multipart/form-data"')

    def test_it_forbids_upload_to_readers(self):
        for user in (self.viewer, self.rater, self.rater_q):
            self.login(user)
            self.assertEqual(self.client.get("/schemes/upload/").status_code, 403)
            self.assertEqual(self.client.post("/schemes/upload/", {"yaml": SMALL}).status_code, 403)
        self.assertEqual(Scheme.objects.count(), 0)

    def test_it_hides_upload_from_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get("/schemes/upload/").status_code, 404)
        self.assertEqual(self.client.post("/schemes/upload/", {"yaml": SMALL}).status_code, 404)

    def test_it_refuses_other_methods(self):
        self.login(self.analyst)
        self.assertEqual(self.client.put("/schemes/upload/").status_code, 405)
        self.assertEqual(self.client.delete("/schemes/upload/").status_code, 405)
