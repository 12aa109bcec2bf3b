"""The entity list: a tab per entity table with active data, search by id or name, sort by a
column, 50 per page — over the batches' Parquet files; raters see only what is assigned."""

from __future__ import annotations

from django.urls import reverse

from pingji.templates import builtin_text
from pingji.web.imports.services import commit_batch, withdraw_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.ratings.models import Assignment
from pingji.web.schemes.services import add_version

REGIONS = ("华东", "华南", "华北")


def customers_csv(numbers) -> str:
    """Customers C001 … with names 客户001 …, region by number % 3."""
    return "customer_id,name,region\n" + "".join(
        f"C{n:03d},客户{n:03d},{REGIONS[n % 3]}\n" for n in numbers
    )


class EntityListTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.first = cls.commit("customers", customers_csv(range(1, 61)), "a.csv")
        # a later batch renames C002 (and moves it to 华南) and adds C061
        cls.commit(
            "customers",
            "customer_id,name,region\nC002,乙公司（更名）,华南\nC061,新客户,华东\n",
            "b.csv",
        )
        cls.commit("suppliers", "supplier_id,name,category\nS1,芯片厂,ic\nS2,板厂,pcb\n", "s.csv")

    @classmethod
    def commit(cls, table, text, name):
        path = cls._home / "files" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return commit_batch(path, table, cls.analyst)

    def get(self, user=None, **params):
        self.login(user or self.viewer)
        return self.client.get(reverse("entities:list"), params)

    def ids(self, response) -> list[str]:
        return [row["id"] for row in response.context["rows"]]

    def test_it_shows_a_tab_per_entity_table_with_data_and_the_first_page_sorted_by_id(self):
        r = self.get()
        self.assertEqual([t for t, _label in r.context["tabs"]], ["customers", "suppliers"])
        self.assertEqual(r.context["table"], "customers")
        self.assertEqual(r.context["page"].total, 61)
        self.assertEqual(len(r.context["rows"]), 50)
        self.assertEqual(self.ids(r)[:3], ["C001", "C002", "C003"])
        self.assertEqual(self.ids(r)[-1], "C050")
        self.assertContains(r, "客户编号")  # Chinese headers
        self.assertContains(r, reverse("entities:profile", args=["customers", "C001"]))

    def test_a_later_batch_replaces_the_row_of_the_same_customer(self):
        r = self.get(q="C002")
        names = [h["name"] for h in r.context["headers"]]
        [row] = [
            dict(zip(names, (c["text"] for c in row["cells"]), strict=True))
            for row in r.context["rows"]
        ]
        self.assertEqual(
            (row["customer_id"], row["name"], row["region"]), ("C002", "乙公司（更名）", "华南")
        )

    def test_the_second_page_holds_the_rest(self):
        r = self.get(page=2)
        self.assertEqual(self.ids(r), [f"C{n:03d}" for n in range(51, 62)])
        self.assertContains(r, "第 2 / 2 页")

    def test_a_page_past_the_end_shows_the_last_page(self):
        r = self.get(page=99)
        self.assertEqual(r.context["page"].page, 2)

    def test_it_searches_part_of_the_id_or_the_name(self):
        self.assertEqual(self.ids(self.get(q="c05")), [f"C05{n}" for n in range(10)])
        self.assertEqual(self.ids(self.get(q="客户05")), [f"C05{n}" for n in range(10)])
        self.assertEqual(self.ids(self.get(q="新")), ["C061"])
        r = self.get(q="没有这个")
        self.assertEqual(self.ids(r), [])
        self.assertContains(r, "没有与“没有这个”匹配的对象")

    def test_it_sorts_by_a_column_either_way(self):
        r = self.get(sort="-customer_id")
        self.assertEqual(self.ids(r)[:2], ["C061", "C060"])
        # C001 … C009 by region (code point order: 华东 < 华北 < 华南), then by id; C002 moved
        # to 华南 in the second batch.
        r = self.get(sort="region", q="C00")
        self.assertEqual(
            self.ids(r), ["C003", "C006", "C009", "C005", "C008", "C001", "C002", "C004", "C007"]
        )
        r = self.get(sort="no_such_column")
        self.assertEqual(self.ids(r)[0], "C001")

    def test_the_supplier_tab(self):
        r = self.get(table="suppliers")
        self.assertEqual(self.ids(r), ["S1", "S2"])
        self.assertContains(r, "供应商编号")

    def test_a_table_without_data_or_unknown_is_not_found(self):
        self.assertEqual(self.get(table="staff").status_code, 404)
        self.assertEqual(self.get(table="sales").status_code, 404)

    def test_withdrawn_batches_are_not_read(self):
        withdraw_batch(self.first, self.analyst, "错误")
        r = self.get()
        self.assertEqual(self.ids(r), ["C002", "C061"])

    def test_every_role_that_reads_data_sees_every_customer(self):
        for user in (self.viewer, self.analyst, self.admin):
            self.assertEqual(self.get(user).context["page"].total, 61, user)

    def test_a_rater_sees_only_the_customers_assigned_to_the_department(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        Assignment.objects.create(
            scheme=version.scheme,
            indicator="manager_rating",
            department=self.sales,
            entity_ids=["C003", "C001", "C999"],
        )
        r = self.get(self.rater)
        self.assertEqual([t for t, _label in r.context["tabs"]], ["customers"])
        self.assertEqual(self.ids(r), ["C001", "C003"])
        self.assertEqual(self.get(self.rater, table="suppliers").status_code, 404)
        # quality has no assignment: nothing to see
        r = self.get(self.rater_q)
        self.assertEqual(r.context["tabs"], [])
        self.assertContains(r, "没有分配给您所在部门的评价对象")

    def test_an_assignment_without_a_list_covers_every_customer(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        Assignment.objects.create(
            scheme=version.scheme, indicator="manager_rating", department=self.sales
        )
        self.assertEqual(self.get(self.rater).context["page"].total, 61)

    def test_a_user_without_a_role_sees_no_entities(self):
        r = self.get(self.nobody)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["tabs"], [])
        self.assertEqual(self.get(self.nobody, table="customers").status_code, 404)

    def test_a_wrong_method_is_refused(self):
        self.login(self.analyst)
        self.assertEqual(self.client.post(reverse("entities:list")).status_code, 405)

    def export(self, user=None, **params):
        self.login(user or self.viewer)
        r = self.client.get(reverse("entities:export"), params)
        if r.status_code != 200:
            return r.status_code, ""
        return 200, b"".join(r.streaming_content).decode("utf-8")

    def test_it_exports_the_filtered_sorted_list_as_csv_with_chinese_headers(self):
        status, text = self.export(q="C05", sort="-customer_id")
        self.assertEqual(status, 200)
        self.assertTrue(text.startswith("\ufeff"))
        lines = text[1:].splitlines()
        self.assertEqual(
            lines[0],
            "客户编号,名称,开发日期,类别,区域,负责人,指定VIP,期初应收,净资产",
        )
        self.assertEqual(
            [line.split(",")[0] for line in lines[1:]], [f"C05{n}" for n in range(9, -1, -1)]
        )
        self.assertEqual(lines[1].split(",")[:3], ["C059", "客户059", ""])

    def test_the_export_holds_every_row_not_one_page(self):
        _status, text = self.export()
        self.assertEqual(len(text.splitlines()), 1 + 61)

    def test_a_rater_exports_only_assigned_customers(self):
        version = add_version(builtin_text("customer-composite"), self.analyst)
        Assignment.objects.create(
            scheme=version.scheme,
            indicator="manager_rating",
            department=self.sales,
            entity_ids=["C010"],
        )
        _status, text = self.export(self.rater)
        self.assertEqual([line.split(",")[0] for line in text[1:].splitlines()[1:]], ["C010"])
        self.assertEqual(self.export(self.rater_q)[0], 404)
        self.assertEqual(self.export(self.nobody)[0], 404)

    def test_export_refuses_a_wrong_method(self):
        self.login(self.viewer)
        self.assertEqual(self.client.post(reverse("entities:export")).status_code, 405)


class EmptyEntityListTest(WebTestCase):
    def test_without_data_it_says_what_to_do(self):
        self.login(self.analyst)
        r = self.client.get(reverse("entities:list"))
        self.assertContains(r, "还没有导入客户、供应商、员工或经销商数据")
        self.assertContains(r, reverse("imports:upload"))
