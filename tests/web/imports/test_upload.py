"""Upload and preview: the file is stored under uploads/<id>/, checked row by row (set-based)
and previewed with every problem listed — row, column, value, why, what was expected."""

from __future__ import annotations

import sys
from pathlib import Path

from django.urls import reverse

from pingji.web.imports.models import ImportBatch
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase

sys.path.insert(0, str(Path(__file__).parent))
from importfiles import (
    BAD_SALES,
    BAD_SALES_XLSX_ROWS,
    CUSTOMERS,
    CUSTOMERS_DUPLICATE,
    GOOD_SALES,
    csv_file,
    upload,
    upload_id,
    xlsx_file,
)


def found(response) -> list[tuple]:
    return [(p["row"], p["column"], p["value"], p["code"]) for p in response.context["problems"]]


class UploadPageTest(WebTestCase):
    def test_it_shows_the_form_and_every_table_of_the_contract_to_an_analyst(self):
        self.login(self.analyst)
        r = self.client.get(reverse("imports:upload"))
        self.assertContains(r, "上传并检查")
        self.assertContains(r, "客户（customers）")
        self.assertContains(r, "发货（sales）")
        self.assertContains(r, reverse("imports:template", args=["sales"]))

    def test_it_stores_the_upload_and_redirects_to_its_preview(self):
        self.login(self.analyst)
        r = upload(self.client, "sales", csv_file("三月发货.csv", GOOD_SALES))
        self.assertEqual(r.status_code, 302)
        stored = self.home / "uploads" / upload_id(r) / "三月发货.csv"
        self.assertTrue(stored.is_file())
        self.assertEqual(stored.read_bytes()[3:].decode(), GOOD_SALES)
        self.assertEqual(ImportBatch.objects.count(), 0)  # nothing imported before commit

    def test_it_refuses_a_file_that_is_not_csv_xlsx_or_parquet(self):
        self.login(self.analyst)
        r = upload(self.client, "sales", csv_file("sales.txt", GOOD_SALES))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "只接受 CSV、XLSX 或 Parquet 文件")
        self.assertFalse(
            (self.home / "uploads").exists() and any((self.home / "uploads").iterdir())
        )

    def test_it_requires_a_table(self):
        self.login(self.analyst)
        r = self.client.post(reverse("imports:upload"), {"file": csv_file("s.csv", GOOD_SALES)})
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.context["form"].errors["table"])

    def test_the_template_is_a_header_row_in_chinese(self):
        self.login(self.viewer)
        r = self.client.get(reverse("imports:template", args=["sales"]))
        self.assertEqual(r.content.decode("utf-8-sig"), "客户编号,日期,金额,批号\r\n")


class PreviewTest(WebTestCase):
    def write(self, name, text):
        """A file as uploaded (UTF-8 with a BOM, like the uploads below)."""
        path = self.home / "earlier" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        return path

    def preview(self, table, file, user=None):
        self.login(user or self.analyst)
        r = upload(self.client, table, file)
        self.assertEqual(
            r.status_code, 302, getattr(r, "context", None) and r.context["form"].errors
        )
        return self.client.get(r["Location"])

    def test_a_good_file_shows_its_rows_typed_with_chinese_headers_and_can_be_committed(self):
        r = self.preview("sales", csv_file("sales.csv", GOOD_SALES))
        self.assertTrue(r.context["can_commit"])
        self.assertEqual(r.context["report"]["rows"], 3)
        self.assertEqual(r.context["headers"], ["行号", "客户编号", "日期", "金额", "批号"])
        self.assertEqual(
            r.context["report"]["preview"],
            [
                ["2", "C1", "2025-01-05", "100.50", ""],
                ["3", "C2", "2025-02-10", "49.99", ""],
                ["4", "C1", "2025-03-20", "250.00", ""],
            ],
        )
        self.assertEqual(
            (r.context["report"]["min_date"], r.context["report"]["max_date"]),
            ("2025-01-05", "2025-03-20"),
        )
        self.assertContains(r, "导入全部 3 行")
        self.assertEqual(r.context["problems"], [])

    def test_it_lists_exactly_the_problems_of_a_bad_csv(self):
        r = self.preview("sales", csv_file("sales.csv", BAD_SALES))
        self.assertEqual(
            found(r),
            [
                (3, "amount", "十二元", "not_amount"),
                (4, "date", "2025-02-30", "not_date"),
                (5, "customer_id", None, "missing"),
                (6, "date", "3/2/2025", "date_order"),
            ],
        )
        self.assertEqual(r.context["report"]["total"], 4)
        self.assertFalse(r.context["can_commit"])
        self.assertNotContains(r, "导入全部")
        # the words a user reads
        why = [(p["why"], p["expected_text"], p["column_label"]) for p in r.context["problems"]]
        money = "金额，如 1234.56、12,500.00 或 ¥12,500（最多 4 位小数）"
        self.assertEqual(why[0], ("不是金额", money, "金额"))
        self.assertEqual(
            why[1], ("不是有效日期", "日期，年份在前：2026-01-06、2026/1/6 或 2026年1月6日", "日期")
        )
        self.assertEqual(why[2], ("缺少值", "文本", "客户编号"))
        self.assertEqual(why[3][0], "日期顺序不明确：年份应在前")
        self.assertTrue(why[3][1].startswith("年份在前，如 2026-01-06、2026/1/6 或 2026年1月6日"))
        self.assertContains(r, "2025-02-30")
        self.assertContains(r, "文件有问题，不能导入")

    def test_it_speaks_english_when_asked(self):
        from django.conf import settings

        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        r = self.preview("sales", csv_file("sales.csv", BAD_SALES))
        self.assertEqual(r.context["problems"][0]["why"], "not an amount")
        self.assertContains(r, "Import preview")
        self.assertContains(r, "The file has problems and cannot be imported.")

    def test_it_names_sheet_rows_of_a_workbook(self):
        r = self.preview("sales", xlsx_file("sales.xlsx", BAD_SALES_XLSX_ROWS))
        self.assertEqual(
            found(r), [(3, "date", "yesterday", "not_date"), (4, "amount", "n/a", "not_amount")]
        )
        self.assertEqual(r.context["report"]["unit"], "row")

    def test_it_reports_a_missing_required_column(self):
        # an import requires the key and the window's date; other columns may be absent
        r = self.preview("sales", csv_file("sales.csv", "customer_id,amount\nC1,5\n"))
        self.assertEqual(found(r), [(1, "date", None, "missing_column")])
        columns = {c["name"]: c["state"] for c in r.context["columns"]}
        self.assertEqual(
            columns,
            {"customer_id": "found", "date": "missing", "amount": "found", "batch_id": "absent"},
        )
        self.assertContains(r, "缺少必填列")
        self.assertContains(r, "缺少（必填）")

    def test_it_reports_a_repeated_customer_id_and_reads_chinese_headers(self):
        r = self.preview("customers", csv_file("customers.csv", CUSTOMERS_DUPLICATE))
        self.assertEqual(found(r), [(4, "customer_id", "C1", "duplicate")])
        self.assertEqual(r.context["problems"][0]["why"], "编号重复，首次出现在第 2 行")
        columns = {c["name"]: c["state"] for c in r.context["columns"]}
        self.assertEqual(
            [n for n, state in columns.items() if state == "found"],
            ["customer_id", "name", "region"],
        )

    def test_it_keeps_extra_columns_and_says_so(self):
        r = self.preview(
            "sales", csv_file("s.csv", "customer_id,date,amount,备注\nC1,2025-01-01,1,x\n")
        )
        self.assertTrue(r.context["can_commit"])
        self.assertEqual(r.context["extra"], [{"name": "备注"}])
        self.assertContains(r, "额外列，原样保存")

    def test_a_file_that_cannot_be_read_is_one_problem_in_words(self):
        text = "customer_id,date,amount\nC1,2025-01-01,1,extra\n"
        r = self.preview("sales", csv_file("sales.csv", text))
        self.assertEqual([(p["row"], p["code"]) for p in r.context["problems"]], [(2, "file")])
        self.assertEqual(r.context["problems"][0]["why"], "该行有 4 个字段，表头有 3 个")
        self.assertFalse(r.context["can_commit"])

    def test_it_lists_the_first_200_problems_and_counts_them_all(self):
        text = "customer_id,date,amount\n" + "C1,2025-01-01,x\n" * 250
        r = self.preview("sales", csv_file("sales.csv", text))
        self.assertEqual(len(r.context["problems"]), 200)
        self.assertEqual(r.context["report"]["total"], 250)
        self.assertEqual(r.context["more"], 50)
        self.assertContains(r, "另有 50 个问题未列出")

    def test_it_recognises_a_file_already_imported_and_refuses_to_import_it_again(self):
        path = self.write("sales.csv", GOOD_SALES)
        earlier = commit_batch(path, "sales", self.analyst)
        r = self.preview("sales", csv_file("again.csv", GOOD_SALES))
        self.assertEqual(r.context["duplicate"], earlier)
        self.assertFalse(r.context["can_commit"])
        self.assertContains(r, f"导入为批次 #{earlier.pk}")
        self.assertContains(r, reverse("imports:detail", args=[earlier.pk]))
        self.client.post(reverse("imports:commit", args=[r.context["upload"].id]))
        self.assertEqual(ImportBatch.objects.count(), 1)

    def test_the_same_file_for_another_table_is_not_a_duplicate(self):
        path = self.write("payments.csv", GOOD_SALES)
        commit_batch(path, "payments", self.analyst)
        r = self.preview("sales", csv_file("sales.csv", GOOD_SALES))
        self.assertIsNone(r.context["duplicate"])
        self.assertTrue(r.context["can_commit"])

    def test_a_withdrawn_batch_does_not_block_the_same_file(self):
        from pingji.web.imports.services import withdraw_batch

        path = self.write("sales.csv", GOOD_SALES)
        withdraw_batch(commit_batch(path, "sales", self.analyst), self.analyst, "错了")
        r = self.preview("sales", csv_file("sales.csv", GOOD_SALES))
        self.assertTrue(r.context["can_commit"])

    def test_discard_removes_the_upload(self):
        self.login(self.analyst)
        r = upload(self.client, "customers", csv_file("c.csv", CUSTOMERS))
        uid = upload_id(r)
        r = self.client.post(reverse("imports:discard", args=[uid]))
        self.assertRedirects(r, reverse("imports:upload"), fetch_redirect_response=False)
        self.assertFalse((self.home / "uploads" / uid).exists())
        self.assertEqual(self.client.get(reverse("imports:preview", args=[uid])).status_code, 404)

    def test_pending_uploads_are_listed_for_their_uploader(self):
        self.login(self.analyst)
        upload(self.client, "customers", csv_file("待导入客户.csv", CUSTOMERS))
        self.assertContains(self.client.get(reverse("imports:list")), "待导入客户.csv")
        self.login(self.admin)
        self.assertNotContains(self.client.get(reverse("imports:list")), "待导入客户.csv")


class UploadAccessTest(WebTestCase):
    def setUp(self):
        self.login(self.analyst)
        self.uid = upload_id(upload(self.client, "customers", csv_file("c.csv", CUSTOMERS)))
        self.client.logout()

    def status(self, user, method, name, *args, data=None):
        self.login(user)
        url = reverse(name, args=args)
        if method == "get":
            return self.client.get(url).status_code
        return self.client.post(url, data or {}).status_code

    def test_viewers_may_not_upload_preview_commit_or_discard(self):
        self.assertEqual(self.status(self.viewer, "get", "imports:upload"), 403)
        self.assertEqual(
            self.status(self.viewer, "post", "imports:upload", data={"table": "customers"}), 403
        )
        self.assertEqual(self.status(self.viewer, "get", "imports:preview", self.uid), 403)
        self.assertEqual(self.status(self.viewer, "post", "imports:commit", self.uid), 403)
        self.assertEqual(self.status(self.viewer, "post", "imports:discard", self.uid), 403)
        self.assertEqual(ImportBatch.objects.count(), 0)
        self.assertTrue((self.home / "uploads" / self.uid).is_dir())

    def test_raters_and_users_without_a_role_do_not_see_imports(self):
        for user in (self.rater, self.nobody):
            for method, name, args in (
                ("get", "imports:upload", ()),
                ("post", "imports:upload", ()),
                ("get", "imports:template", ("sales",)),
                ("get", "imports:preview", (self.uid,)),
                ("post", "imports:commit", (self.uid,)),
                ("post", "imports:discard", (self.uid,)),
            ):
                self.assertEqual(self.status(user, method, name, *args), 404, (user, name))

    def test_another_analysts_upload_is_not_found_but_an_admin_may_open_it(self):
        other = self.make_user("analyst2", "analyst")
        self.assertEqual(self.status(other, "get", "imports:preview", self.uid), 404)
        self.assertEqual(self.status(other, "post", "imports:commit", self.uid), 404)
        self.assertEqual(self.status(self.admin, "get", "imports:preview", self.uid), 200)

    def test_an_unknown_upload_is_not_found(self):
        self.assertEqual(self.status(self.analyst, "get", "imports:preview", "0" * 32), 404)
        self.assertEqual(self.status(self.analyst, "get", "imports:preview", "not-an-id"), 404)

    def test_wrong_methods_are_refused(self):
        self.login(self.analyst)
        self.assertEqual(self.client.put(reverse("imports:upload")).status_code, 405)
        self.assertEqual(
            self.client.post(reverse("imports:preview", args=[self.uid])).status_code, 405
        )
        self.assertEqual(
            self.client.get(reverse("imports:commit", args=[self.uid])).status_code, 405
        )
        self.assertEqual(
            self.client.get(reverse("imports:discard", args=[self.uid])).status_code, 405
        )
        self.assertEqual(
            self.client.post(reverse("imports:template", args=["sales"])).status_code, 405
        )
