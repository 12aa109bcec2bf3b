"""The scheme limits hold in the web app as on the command line: 1 MB whether uploaded,
pasted or edited; a YAML alias bomb is refused at its line in well under a second."""

import time

from django.core.files.uploadedfile import SimpleUploadedFile
from tests.scheme.test_hostile_schemes import laughs
from tests.scheme.test_scheme_errors import BASE

from pingji.scheme.loader import MAX_SCHEME_BYTES
from pingji.templates import builtin_text
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.services import add_version

TOO_LARGE = builtin_text("customer-composite") + "# " + "x" * MAX_SCHEME_BYTES + "\n"


class SchemeLimitsTest(WebTestCase):
    def setUp(self):
        self.login(self.analyst)

    def test_it_refuses_pasted_yaml_over_one_megabyte(self):
        r = self.client.post("/schemes/upload/", {"yaml": TOO_LARGE})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "粘贴的 YAML 太大")
        self.assertContains(r, "方案文件不超过 1 MB")
        self.assertFalse(Scheme.objects.exists())

    def test_it_refuses_an_uploaded_file_over_one_megabyte(self):
        upload = SimpleUploadedFile("big.yaml", TOO_LARGE.encode(), "application/x-yaml")
        r = self.client.post("/schemes/upload/", {"file": upload})
        self.assertContains(r, "big.yaml 太大")
        self.assertFalse(Scheme.objects.exists())

    def test_it_refuses_an_edited_draft_over_one_megabyte(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        url = f"/schemes/customer-composite/v{version.number}/edit/"
        r = self.client.post(url, {"yaml": TOO_LARGE, "action": "save"})
        self.assertContains(r, "YAML 太大", status_code=r.status_code)
        self.assertEqual(SchemeVersion.objects.get(pk=version.pk).yaml, version.yaml)

    def test_it_refuses_an_alias_bomb_at_its_line_in_well_under_a_second(self):
        self.client.get("/schemes/upload/")  # the first request loads templates and modules
        start = time.perf_counter()
        r = self.client.post("/schemes/upload/", {"yaml": laughs(9)})
        self.assertLess(time.perf_counter() - start, 1.0)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "YAML 别名（*name）共重复了超过 10,000 个值")  # Chinese first
        self.assertEqual([p.line for p in r.context["problems"]], [BASE.count("\n") + 5])
        self.assertFalse(Scheme.objects.exists())
