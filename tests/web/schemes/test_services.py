"""The schemes service beneath the pages: versions belong to one scheme and one entity;
published versions never change."""

from django.core.exceptions import ValidationError

from pingji.errors import SchemeError
from pingji.templates import builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.models import SchemeVersion
from pingji.web.schemes.services import add_version, delete_draft, publish, update_draft

TEXT = builtin_text("customer-composite")
TINY = """\
id: tiny
entity: customers
period: year
metrics:
  events: {label: 事件数, count: events}
tree:
  id: total
  children:
    - {id: events, max: 10, rule: {linear: {zero_at: 0, full_at: 10}}}
"""


class SchemeServiceTest(WebTestCase):
    def test_it_numbers_versions_of_one_scheme(self):
        add_version(TEXT, self.analyst)
        v2 = add_version(TEXT + "# 2\n", self.analyst)
        self.assertEqual(
            (v2.number, v2.scheme.code, v2.scheme.period), (2, "customer-composite", "year")
        )

    def test_it_refuses_a_version_for_another_entity_at_the_entity_line(self):
        add_version(TINY, self.analyst)
        with self.assertRaises(SchemeError) as caught:
            add_version(TINY.replace("entity: customers", "entity: staff"), self.analyst)
        [problem] = caught.exception.problems
        self.assertEqual((problem.line, problem.path), (2, "entity"))
        self.assertIn("评价的是 客户（customers），新版本不能改为 员工（staff）", problem.message)
        self.assertEqual(SchemeVersion.objects.count(), 1)

    def test_it_refuses_to_update_a_published_version(self):
        v = publish(add_version(TEXT, self.analyst), self.analyst)
        with self.assertRaises(ValidationError):
            update_draft(v, TEXT + "# x\n", self.analyst)
        with self.assertRaises(ValidationError):
            delete_draft(v, self.analyst)
        v.refresh_from_db()
        self.assertEqual(v.yaml, TEXT)

    def test_it_refuses_an_invalid_update(self):
        v = add_version(TEXT, self.analyst)
        with self.assertRaises(SchemeError):
            update_draft(v, TEXT.replace("min: 90", "min: 'x'"), self.analyst)
        v.refresh_from_db()
        self.assertEqual(v.yaml, TEXT)
        self.assertFalse(AuditEvent.objects.filter(action="scheme.version.edit").exists())

    def test_the_model_refuses_to_change_a_published_version(self):
        v = publish(add_version(TEXT, self.analyst), self.analyst)
        v.yaml = TEXT + "# x\n"
        with self.assertRaises(ValidationError):
            v.save()
