"""Tables a published scheme declares (`tables:`) are offered on the import page, checked on
upload like the contract's, committed as batches, and read by evaluations."""

from __future__ import annotations

import sys
from pathlib import Path

from django.urls import reverse

from pingji.engine import evaluate
from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import active_batches, commit_batch, open_batches
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version, publish, resolve_version

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import csv_file, upload, upload_id

VISITS_SCHEME = """\
id: visit-time
label: 拜访时长
entity: customers
period: year
tables:
  site_visits:
    kind: fact
    entity: customers
    key: customer_id
    date: visit_date
    label: 拜访记录
    columns:
      customer_id: {type: string, label: 客户编号}
      visit_date: {type: date, label: 拜访日期}
      minutes: {type: number, label: 时长}
      channel: {type: string, choices: [phone, onsite], label: 渠道}
metrics:
  minutes: {sum: site_visits.minutes}
"""

GOOD_VISITS = "客户编号,拜访日期,时长,渠道\nC1,2025-01-05,30,onsite\nC1,2025-02-01,,phone\n"
BAD_VISITS = "customer_id,visit_date,minutes,channel\nC1,2025-01-05,30,email\nC2,2025-13-01,5,\n"


def found(response) -> list[tuple]:
    return [(p["row"], p["column"], p["value"], p["code"]) for p in response.context["problems"]]


class DeclaredTableImportTest(WebTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.version = add_version(VISITS_SCHEME, cls.admin)

    def published(self):
        return publish(self.version, self.admin)

    def test_it_offers_only_tables_of_published_schemes(self):
        self.login(self.analyst)
        r = self.client.get(reverse("imports:upload"))
        self.assertNotContains(r, "site_visits")
        r = upload(self.client, "site_visits", csv_file("v.csv", GOOD_VISITS))
        self.assertEqual(r.status_code, 200)  # not a choice while the scheme is a draft
        self.assertFalse(r.context["form"].is_valid())
        self.published()
        r = self.client.get(reverse("imports:upload"))
        self.assertContains(r, "方案自定义的数据表")
        self.assertContains(r, "拜访记录（site_visits）")
        self.assertContains(r, reverse("imports:template", args=["site_visits"]))

    def test_its_template_has_the_declared_labels(self):
        self.published()
        self.login(self.viewer)
        r = self.client.get(reverse("imports:template", args=["site_visits"]))
        self.assertEqual(r.content.decode("utf-8-sig"), "客户编号,拜访日期,时长,渠道\r\n")

    def test_an_upload_is_checked_against_the_declaration(self):
        self.published()
        self.login(self.analyst)
        r = upload(self.client, "site_visits", csv_file("visits.csv", BAD_VISITS))
        r = self.client.get(reverse("imports:preview", args=[upload_id(r)]))
        self.assertEqual(
            found(r),
            [(2, "channel", "email", "not_choice"), (3, "visit_date", "2025-13-01", "not_date")],
        )
        self.assertEqual(r.context["problems"][0]["expected_text"], "以下之一：phone, onsite")
        self.assertEqual(r.context["problems"][0]["column_label"], "渠道")
        self.assertFalse(r.context["can_commit"])

    def test_a_good_upload_is_committed_and_read_by_an_evaluation(self):
        self.published()
        self.login(self.analyst)
        customers = self.home / "customers.csv"
        customers.write_text("customer_id\nC1\nC2\n", encoding="utf-8")
        commit_batch(customers, "customers", self.analyst)
        r = upload(self.client, "site_visits", csv_file("visits.csv", GOOD_VISITS))
        uid = upload_id(r)
        r = self.client.get(reverse("imports:preview", args=[uid]))
        self.assertEqual(found(r), [])
        self.client.post(reverse("imports:commit", args=[uid]))
        batch = ImportBatch.objects.get(table="site_visits")
        self.assertEqual((batch.rows, batch.status), (2, "active"))
        r = self.client.get(reverse("imports:list"))
        self.assertContains(r, "拜访记录（site_visits）")
        ds = open_batches(list(active_batches()))
        rows = evaluate(resolve_version(self.version), ds, "2025").raw.to_pylist()
        minutes = {row["entity_id"]: row["m__minutes"] for row in rows}
        self.assertEqual(minutes, {"C1": 30.0, "C2": 0.0})

    def test_a_viewer_may_not_upload_and_a_user_without_role_sees_nothing(self):
        self.published()
        self.login(self.viewer)
        r = upload(self.client, "site_visits", csv_file("visits.csv", GOOD_VISITS))
        self.assertEqual(r.status_code, 403)
        self.login(self.nobody)
        r = upload(self.client, "site_visits", csv_file("visits.csv", GOOD_VISITS))
        self.assertEqual(r.status_code, 404)
        self.assertEqual(ImportBatch.objects.count(), 0)
