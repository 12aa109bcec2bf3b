"""The audit log page: administrators only (404 for others), newest first, 50 a page,
filters, and each event's before/after as a key-by-key diff with changed keys marked."""

from datetime import datetime
from zoneinfo import ZoneInfo

from pingji.web.audit.models import AuditEvent
from pingji.web.audit.views import diff
from pingji.web.lib.audit import record
from pingji.web.lib.testing import WebTestCase

SHANGHAI = ZoneInfo("Asia/Shanghai")


class AuditPageTest(WebTestCase):
    def setUp(self):
        AuditEvent.objects.all().delete()  # drop the fixture users' creation events

    def event(self, action, user=None, at=None, **kwargs):
        e = record(user or self.analyst, action, **kwargs)
        if at is not None:
            AuditEvent.objects.filter(pk=e.pk).update(at=at)
        return e

    def ids(self, response):
        return [r["event"].pk for r in response.context["rows"]]

    def test_it_shows_the_log_to_the_admin_only(self):
        self.event("scheme.version.publish", object_type="schemes.schemeversion", object_id="1")
        self.login(self.admin)
        r = self.client.get("/audit/")
        self.assertContains(r, "审计日志")
        self.assertContains(r, "发布方案版本")
        for user in (self.analyst, self.rater, self.viewer, self.nobody):
            self.login(user)
            self.assertEqual(self.client.get("/audit/").status_code, 404, user.username)
            self.assertEqual(self.client.get("/audit/?format=csv").status_code, 404)

    def test_it_answers_405_to_a_post(self):
        self.login(self.admin)
        self.assertEqual(self.client.post("/audit/").status_code, 405)

    def test_it_lists_newest_first_fifty_a_page(self):
        first = [
            self.event("run.create", object_type="runs.run", object_id=str(i)) for i in range(120)
        ]
        self.login(self.admin)
        page1 = self.client.get("/audit/")
        self.assertEqual(self.ids(page1), [e.pk for e in reversed(first)][:50])
        page3 = self.client.get("/audit/?page=3")
        self.assertEqual(self.ids(page3), [e.pk for e in reversed(first)][100:])
        self.assertContains(page1, "第 1 / 3 页，共 120 条")

    def test_it_filters_by_user_action_prefix_type_object_and_dates(self):
        a = self.event(
            "scheme.version.create",
            self.analyst,
            datetime(2025, 3, 1, 9, tzinfo=SHANGHAI),
            object_type="schemes.schemeversion",
            object_id="7",
        )
        b = self.event(
            "scheme.version.publish",
            self.admin,
            datetime(2025, 3, 2, 23, 59, tzinfo=SHANGHAI),
            object_type="schemes.schemeversion",
            object_id="7",
        )
        c = self.event(
            "run.create",
            self.analyst,
            datetime(2025, 3, 3, 0, 1, tzinfo=SHANGHAI),
            object_type="runs.run",
            object_id="3",
        )
        self.login(self.admin)
        get = lambda q: self.ids(self.client.get("/audit/" + q))  # noqa: E731
        self.assertEqual(get(""), [c.pk, b.pk, a.pk])
        self.assertEqual(get("?user=analyst"), [c.pk, a.pk])
        self.assertEqual(get("?action=scheme"), [b.pk, a.pk])
        self.assertEqual(get("?action=scheme.version.publish"), [b.pk])
        self.assertEqual(get("?object_type=runs.run"), [c.pk])
        self.assertEqual(get("?object_type=schemes.schemeversion&object_id=7"), [b.pk, a.pk])
        self.assertEqual(get("?start=2025-03-02"), [c.pk, b.pk])
        self.assertEqual(get("?end=2025-03-02"), [b.pk, a.pk])  # the whole end day
        self.assertEqual(get("?start=2025-03-02&end=2025-03-02"), [b.pk])

    def test_it_says_when_a_date_is_not_understood(self):
        self.event("run.create")
        self.login(self.admin)
        r = self.client.get("/audit/?start=3/2/2025")
        self.assertContains(r, "日期 3/2/2025 无法识别")
        self.assertEqual(len(self.ids(r)), 1)  # the filter is ignored, not guessed

    def test_it_marks_the_changed_keys_of_an_event(self):
        self.event(
            "user.change",
            object_type="auth.user",
            object_id=str(self.viewer.pk),
            before={"role": "viewer", "department": "", "is_active": True},
            after={"role": "rater", "department": "sales", "is_active": True},
        )
        self.login(self.admin)
        r = self.client.get("/audit/")
        [row] = r.context["rows"]
        self.assertEqual(row["changed"], ["role", "department"])
        html = r.content.decode()
        self.assertIn("2 项变更", html)
        self.assertEqual(html.count('<tr class="changed">'), 2)
        self.assertIn(f'href="/accounts/{self.viewer.pk}/"', html)  # the user's page

    def test_it_exports_the_filtered_events_as_csv(self):
        self.event("run.create", object_type="runs.run", object_id="1", after={"period": "2025年"})
        self.event("import.commit", object_type="imports.importbatch", object_id="2")
        self.login(self.admin)
        r = self.client.get("/audit/?action=run&format=csv")
        self.assertEqual(r.status_code, 200)
        self.assertIn("attachment", r["Content-Disposition"])
        text = b"".join(r.streaming_content).decode("utf-8")
        lines = text.strip().splitlines()
        self.assertTrue(lines[0].startswith("\ufeff时间,用户,操作"))
        self.assertEqual(len(lines), 2)
        self.assertIn("run.create", lines[1])
        self.assertIn('{""period"": ""2025年""}', lines[1])


class DiffTest(WebTestCase):
    def test_it_lists_keys_before_then_new_ones_with_what_changed(self):
        rows = diff({"a": 1, "b": 2, "gone": "x"}, {"a": 1, "b": 3, "c": [1, 2]})
        self.assertEqual(
            [(d["key"], d["before"], d["after"], d["changed"]) for d in rows],
            [
                ("a", "1", "1", False),
                ("b", "2", "3", True),
                ("gone", "x", "", True),
                ("c", "", "[\n 1,\n 2\n]", True),
            ],
        )

    def test_it_shows_only_after_for_a_creation_and_words_for_booleans(self):
        rows = diff(None, {"is_active": True})
        self.assertEqual(
            [(d["key"], d["in_before"], d["after"]) for d in rows], [("is_active", False, "是")]
        )
