"""`load_builtins`: every built-in scheme as version 1, optionally published; idempotent."""

from io import StringIO

from django.core.management import call_command

from pingji.templates import builtin_names, builtin_text
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.models import Scheme, SchemeVersion


def run(*args) -> str:
    out = StringIO()
    call_command("load_builtins", *args, stdout=out)
    return out.getvalue()


class LoadBuiltinsTest(WebTestCase):
    def test_it_loads_all_fourteen_as_built_in_drafts(self):
        out = run()
        self.assertEqual(len(builtin_names()), 14)
        self.assertEqual(Scheme.objects.count(), 14)
        self.assertEqual(set(Scheme.objects.values_list("builtin", flat=True)), {True})
        self.assertEqual(set(SchemeVersion.objects.values_list("number", "status")), {(1, "draft")})
        for name in builtin_names():
            v = SchemeVersion.objects.get(scheme__code=name)
            self.assertEqual(v.yaml, builtin_text(name))
        self.assertIn("customer-composite: 已添加（第 1 版）", out)
        self.assertIn("新增 added 14，发布 published 0", out)
        self.assertEqual(AuditEvent.objects.filter(action="scheme.version.create").count(), 14)

    def test_it_publishes_with_the_option(self):
        out = run("--publish")
        self.assertEqual(SchemeVersion.objects.filter(status="published").count(), 14)
        self.assertIn("credit-rating: 已添加，已发布（第 1 版）", out)
        c = Scheme.objects.get(code="credit-rating")
        self.assertEqual((c.name, c.entity, c.period), ("客户信用等级评定", "customers", "quarter"))

    def test_it_is_idempotent(self):
        run("--publish")
        out = run("--publish")
        self.assertEqual(SchemeVersion.objects.count(), 14)
        self.assertIn("新增 added 0，发布 published 0", out)
        self.assertIn("customer-composite: 已存在（第 1 版）", out)

    def test_it_publishes_drafts_loaded_before(self):
        run()
        out = run("--publish")
        self.assertEqual(SchemeVersion.objects.filter(status="published").count(), 14)
        self.assertIn("新增 added 0，发布 published 14", out)

    def test_it_leaves_a_scheme_alone_that_has_a_published_version(self):
        from pingji.web.schemes.services import add_version, publish

        text = builtin_text("customer-composite")
        publish(add_version(text + "# 本地修改\n", self.analyst), self.analyst)
        run("--publish")
        versions = SchemeVersion.objects.filter(scheme__code="customer-composite")
        self.assertEqual(list(versions.values_list("number", "status")), [(1, "published")])
        self.assertFalse(Scheme.objects.get(code="customer-composite").builtin)
