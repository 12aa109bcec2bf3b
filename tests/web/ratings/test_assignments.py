"""Assignments: analysts decide which department rates which manual indicator, for all
entities or a list; viewers read them; raters and users without a role cannot."""

from pingji.web.accounts.models import Department
from pingji.web.audit.models import AuditEvent
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.testing import QUALITY_ENTITIES, RatingsTestCase

LIST = "/ratings/assignments/"
ADD = "/ratings/assignments/add/"


class AssignmentsTest(RatingsTestCase):
    def setUp(self):
        self.purchasing = Department.objects.create(code="purchasing", name="采购部")

    def add(self, department, entity_ids=""):
        return self.client.post(
            ADD,
            {
                "indicator": "customer-composite:manager_rating",
                "department": department.pk,
                "entity_ids": entity_ids,
            },
        )

    def test_it_lists_the_assignments_with_their_entities(self):
        self.login(self.analyst)
        r = self.client.get(LIST)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "客户经理评分")
        self.assertContains(r, "销售部")
        self.assertContains(r, "全部")
        self.assertContains(r, "2 个")
        self.assertContains(r, ", ".join(QUALITY_ENTITIES))
        self.assertContains(r, "保存分工")

    def test_it_adds_an_assignment_for_a_list_of_entities(self):
        self.login(self.analyst)
        r = self.add(self.purchasing, "C000003,C000004\nC000005 C000003")
        self.assertRedirects(r, LIST, fetch_redirect_response=False)
        a = Assignment.objects.get(department=self.purchasing)
        self.assertEqual(a.entity_ids, ["C000003", "C000004", "C000005"])
        self.assertEqual(a.created_by, self.analyst)
        event = AuditEvent.objects.get(action="rating.assignment.create")
        self.assertEqual(event.after["entity_ids"], ["C000003", "C000004", "C000005"])

    def test_it_replaces_the_entity_list_of_an_existing_assignment(self):
        self.login(self.analyst)
        self.add(self.quality, "")  # every customer now
        self.quality_assignment.refresh_from_db()
        self.assertEqual(self.quality_assignment.entity_ids, [])
        self.assertEqual(Assignment.objects.filter(department=self.quality).count(), 1)
        event = AuditEvent.objects.get(action="rating.assignment.change")
        self.assertEqual(event.before["entity_ids"], QUALITY_ENTITIES)
        self.assertEqual(event.after["entity_ids"], [])
        self.login(self.rater_q)
        self.assertEqual(len(self.client.get("/ratings/?period=2025").context["rows"]), 40)

    def test_it_refuses_entity_ids_not_in_the_imported_data(self):
        self.login(self.analyst)
        r = self.add(self.purchasing, "C000003, X1, X2")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "2 个编号不在已导入的客户数据中：X1, X2")
        self.assertFalse(Assignment.objects.filter(department=self.purchasing).exists())

    def test_it_refuses_an_indicator_that_is_not_manual(self):
        self.login(self.analyst)
        r = self.client.post(
            ADD, {"indicator": "customer-composite:sales", "department": self.purchasing.pk}
        )
        self.assertEqual(r.status_code, 200)
        self.assertIn("customer-composite:sales", r.context["form"].errors["indicator"][0])
        self.assertFalse(Assignment.objects.filter(department=self.purchasing).exists())

    def test_it_removes_an_assignment_and_keeps_the_ratings(self):
        rating = self.rating(self.rater_q, 50, status="approved")
        self.login(self.analyst)
        r = self.client.post(f"{LIST}{self.quality_assignment.pk}/delete/")
        self.assertRedirects(r, LIST, fetch_redirect_response=False)
        self.assertFalse(Assignment.objects.filter(pk=self.quality_assignment.pk).exists())
        self.assertTrue(type(rating).objects.filter(pk=rating.pk).exists())
        event = AuditEvent.objects.get(action="rating.assignment.delete")
        self.assertEqual(event.before["department"], "quality")

    def test_it_lets_viewers_read_but_not_change(self):
        self.login(self.viewer)
        r = self.client.get(LIST)
        self.assertEqual(r.status_code, 200)
        self.assertNotContains(r, "保存分工")
        self.assertEqual(self.add(self.purchasing).status_code, 403)
        delete = f"{LIST}{self.sales_assignment.pk}/delete/"
        self.assertEqual(self.client.post(delete).status_code, 403)
        self.assertEqual(Assignment.objects.count(), 2)

    def test_it_hides_the_page_from_raters_and_refuses_their_changes(self):
        self.login(self.rater)
        self.assertEqual(self.client.get(LIST).status_code, 404)
        self.assertEqual(self.add(self.purchasing).status_code, 403)
        delete = f"{LIST}{self.sales_assignment.pk}/delete/"
        self.assertEqual(self.client.post(delete).status_code, 403)
        self.assertEqual(Assignment.objects.count(), 2)

    def test_it_gives_404_to_users_without_a_role(self):
        self.login(self.nobody)
        self.assertEqual(self.client.get(LIST).status_code, 404)
        self.assertEqual(self.add(self.purchasing).status_code, 404)
        self.assertEqual(
            self.client.post(f"{LIST}{self.sales_assignment.pk}/delete/").status_code, 404
        )

    def test_it_refuses_wrong_methods_and_unknown_assignments(self):
        self.login(self.analyst)
        self.assertEqual(self.client.get(ADD).status_code, 405)
        self.assertEqual(self.client.post(LIST).status_code, 405)
        self.assertEqual(
            self.client.get(f"{LIST}{self.sales_assignment.pk}/delete/").status_code, 405
        )
        self.assertEqual(self.client.post(f"{LIST}999999/delete/").status_code, 404)
