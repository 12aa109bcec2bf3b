"""Results and entity lists filter by the entity's attributes (region, owner, category), as
the run read them. Customers (data/customers-attrs.csv) and their 2025 scores:

    K01 制造 华东 张三 100 A   K02 电子 华南 李四 95 A   K03 制造 华北 张三 80 A
    K04 贸易 西南 王五  65 B   K05 食品 华东 李四 50 B   K06 制造 华中 张三 30 C
    K07 物流 华东 王五  10 C   K08 制造 华南 (none) 45 C
"""

import csv
import io

from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import exports, results
from pingji.web.runs.filters import Filters


class AttributeFilterTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst, customers="customers-attrs.csv")
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def setUp(self):
        self.login(self.viewer)

    def page(self, query: str):
        response = self.client.get(reverse("runs:detail", args=[self.done.pk]) + query)
        self.assertEqual(response.status_code, 200)
        return response

    def ids(self, response) -> list[str]:
        return [r["entity_id"] for r in response.context["rows"]]

    def test_the_run_page_offers_each_attribute_with_its_values_and_counts(self):
        attrs = {a["name"]: a for a in self.page("").context["attributes"]}
        self.assertEqual(list(attrs), ["category", "region", "owner"])
        self.assertEqual(
            (attrs["region"]["label"], attrs["region"]["param"]), ("区域", "attr_region")
        )
        self.assertEqual(
            attrs["region"]["options"],
            [("华东", 3), ("华南", 2), ("华中", 1), ("华北", 1), ("西南", 1)],
        )
        self.assertEqual(attrs["owner"]["options"], [("张三", 3), ("李四", 2), ("王五", 2)])
        self.assertEqual(attrs["category"]["options"][0], ("制造", 4))

    def test_it_filters_the_results_by_one_attribute(self):
        response = self.page("?attr_region=华东")
        self.assertEqual(self.ids(response), ["K01", "K05", "K07"])  # best score first
        self.assertEqual(response.context["page"].total, 3)
        self.assertTrue(response.context["filtered"])
        self.assertContains(response, '<option value="华东" selected>')

    def test_attributes_combine_with_each_other_and_with_the_grade(self):
        self.assertEqual(self.ids(self.page("?attr_region=华东&grade=C")), ["K07"])
        self.assertEqual(
            self.ids(self.page("?attr_owner=张三&attr_category=制造&sort=entity_id")),
            ["K01", "K03", "K06"],
        )
        self.assertEqual(self.ids(self.page("?attr_owner=张三&q=K0&attr_region=华北")), ["K03"])

    def test_an_attribute_the_table_lacks_or_an_odd_value_matches_nothing(self):
        self.assertEqual(self.ids(self.page("?attr_bogus=x")), [])
        self.assertEqual(self.ids(self.page("?attr_region=华'东")), [])
        self.assertEqual(len(self.ids(self.page("?attr_region="))), 8)  # empty: no filter

    def test_the_export_takes_the_attribute_filters(self):
        response = self.client.get(
            reverse("runs:export", args=[self.done.pk, "csv"]) + "?attr_region=华东"
        )
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual([r[0] for r in rows[1:]], ["K01", "K05", "K07"])
        f = Filters(attrs={"region": "华东"})
        self.assertEqual(exports.count(self.done, f), 3)
        self.assertEqual(f.describe(), "region=华东")

    def test_the_results_query_takes_them_directly(self):
        page = results.query(self.done, attrs={"owner": "王五"}, sort="entity_id")
        self.assertEqual([r["entity_id"] for r in page.rows], ["K04", "K07"])


class EntityListAttributeTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst, customers="customers-attrs.csv")

    def setUp(self):
        self.login(self.viewer)

    def test_the_entity_list_filters_by_attributes(self):
        url = reverse("entities:list") + "?table=customers&attr_region=华南"
        response = self.client.get(url)
        self.assertEqual(response.context["page"].total, 2)
        self.assertEqual([r["id"] for r in response.context["rows"]], ["K02", "K08"])
        attrs = {a["name"]: a for a in response.context["attributes"]}
        self.assertEqual(attrs["region"]["value"], "华南")
        self.assertEqual(attrs["owner"]["options"], [("张三", 3), ("李四", 2), ("王五", 2)])
        both = self.client.get(url + "&attr_category=制造")
        self.assertEqual([r["id"] for r in both.context["rows"]], ["K08"])

    def test_the_entity_export_takes_them_too(self):
        response = self.client.get(reverse("entities:export") + "?table=customers&attr_owner=张三")
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual([r[0] for r in rows[1:]], ["K01", "K03", "K06"])
