"""POST /api/batches uploads a file of a contract table as one batch (all rows or none);
GET /api/batches lists them."""

import shutil
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from pingji.web.accounts.models import ApiToken
from pingji.web.audit.models import AuditEvent
from pingji.web.imports.models import ImportBatch
from pingji.web.lib.testing import WebTestCase

GOOD = (
    b"customer_id,date,amount,batch_id\n"
    b"C000001,2025-01-05,1200.50,B1\n"
    b"C000002,2025-02-10,300.00,B2\n"
    b"C000001,2025-03-15,99.99,B3\n"
)
BAD = (
    "customer_id,date,amount,batch_id\n"
    "C000001,2025-01-05,1200.50,B1\n"
    "C000002,2025-02-10,三百元,B2\n"
).encode()


class ApiBatchesTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.keys = {
            u.username: ApiToken.issue(u, "t")[1]
            for u in (cls.admin, cls.analyst, cls.rater, cls.viewer, cls.nobody)
        }

    def setUp(self):
        # Batch files outlive each test's database rollback; start every test without any.
        shutil.rmtree(self.home / "batches", ignore_errors=True)

    def upload(self, content: bytes, name="销售.csv", table="sales", user=None):
        user = user or self.analyst
        return self.client.post(
            "/api/batches",
            {"table": table, "file": SimpleUploadedFile(name, content, "text/csv")},
            headers={"Authorization": f"Bearer {self.keys[user.username]}"},
        )

    def batch_files(self):
        folder = self.home / "batches"
        return sorted(folder.rglob("*.parquet")) if folder.exists() else []

    def test_it_stores_a_good_file_as_one_batch(self):
        r = self.upload(GOOD)
        self.assertEqual(r.status_code, 201, r.content)
        body = r.json()
        batch = ImportBatch.objects.get()
        self.assertEqual(body["id"], batch.pk)
        self.assertEqual(
            (body["table"], body["table_label"], body["rows"], body["file_name"]),
            ("sales", "发货", 3, "销售.csv"),
        )
        self.assertEqual((body["min_date"], body["max_date"]), ("2025-01-05", "2025-03-15"))
        self.assertEqual(body["uploaded_by"], "analyst")
        self.assertEqual(body["status"], "active")
        self.assertTrue(Path(self.home / batch.path).is_file())
        event = AuditEvent.objects.get(action="import.commit")
        self.assertEqual((event.username, event.after["rows"]), ("analyst", 3))
        self.assertEqual(list((self.home / "tmp").iterdir()), [])  # the upload's copy is gone

    def test_it_refuses_the_same_file_twice_with_409(self):
        first = self.upload(GOOD).json()["id"]
        r = self.upload(GOOD, name="again.csv")
        self.assertEqual(r.status_code, 409)
        self.assertEqual(r.json()["batch"], first)
        self.assertIn(f"#{first}", r.json()["detail"])
        self.assertEqual(ImportBatch.objects.count(), 1)

    def test_it_accepts_the_same_file_again_once_the_first_is_withdrawn(self):
        self.upload(GOOD)
        ImportBatch.objects.update(status=ImportBatch.Status.WITHDRAWN)
        self.assertEqual(self.upload(GOOD).status_code, 201)

    def test_it_refuses_a_bad_file_naming_row_column_value_and_expectation(self):
        r = self.upload(BAD)
        self.assertEqual(r.status_code, 400)
        body = r.json()
        self.assertEqual(
            (body["file"], body["row"], body["column"], body["value"]),
            ("销售.csv", 3, "amount", "三百元"),
        )
        self.assertIn("1234.56", body["expected"])
        self.assertIn("销售.csv:3", body["error"])
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertEqual(self.batch_files(), [])
        self.assertFalse(AuditEvent.objects.filter(action="import.commit").exists())

    def test_it_refuses_an_unknown_table_and_a_wrong_file_type(self):
        r = self.upload(GOOD, table="orders")
        self.assertEqual(r.status_code, 400)
        self.assertIn("orders", r.json()["error"])
        self.assertIn("sales", r.json()["expected"])
        r = self.upload(GOOD, name="sales.txt")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["value"], ".txt")
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_it_needs_both_the_table_and_the_file(self):
        headers = {"Authorization": f"Bearer {self.keys['analyst']}"}
        r = self.client.post("/api/batches", {"table": "sales"}, headers=headers)
        self.assertEqual(r.status_code, 422)

    @override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=10)
    def test_it_reads_a_large_upload_from_djangos_temporary_file(self):
        r = self.upload(GOOD)
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(r.json()["rows"], 3)

    def test_it_forbids_viewers_and_hides_imports_from_raters(self):
        self.assertEqual(self.upload(GOOD, user=self.viewer).status_code, 403)
        self.assertEqual(self.upload(GOOD, user=self.rater).status_code, 404)
        self.assertEqual(self.upload(GOOD, user=self.nobody).status_code, 404)
        self.assertEqual(ImportBatch.objects.count(), 0)

    def test_it_refuses_uploads_without_credentials(self):
        r = self.client.post(
            "/api/batches", {"table": "sales", "file": SimpleUploadedFile("s.csv", GOOD)}
        )
        self.assertEqual(r.status_code, 401)

    def test_it_lists_batches_newest_first_for_readers(self):
        a = self.upload(GOOD).json()["id"]
        b = self.upload(GOOD.replace(b"B3", b"B4")).json()["id"]
        c = self.upload(
            b"customer_id,date,amount\nC000001,2025-04-01,10.00\n", table="payments"
        ).json()["id"]
        for user in (self.viewer, self.analyst, self.admin):
            r = self.client.get(
                "/api/batches", headers={"Authorization": f"Bearer {self.keys[user.username]}"}
            )
            self.assertEqual(r.status_code, 200)
            self.assertEqual([x["id"] for x in r.json()], [c, b, a])
        r = self.client.get(
            "/api/batches?table=sales", headers={"Authorization": f"Bearer {self.keys['viewer']}"}
        )
        self.assertEqual([x["id"] for x in r.json()], [b, a])

    def test_it_hides_the_batch_list_from_raters(self):
        r = self.client.get(
            "/api/batches", headers={"Authorization": f"Bearer {self.keys['rater']}"}
        )
        self.assertEqual(r.status_code, 404)

    def test_it_answers_405_to_a_wrong_method(self):
        r = self.client.delete(
            "/api/batches", headers={"Authorization": f"Bearer {self.keys['admin']}"}
        )
        self.assertEqual(r.status_code, 405)
