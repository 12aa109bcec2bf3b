"""The users and departments pages: administrators only (404 for everyone else); every
change is audited once, with before and after."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from pingji.web.accounts.models import Department
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import PASSWORD, WebTestCase

User = get_user_model()
NEW_PASSWORD = "Qingdao-2025-x"


class UsersPageTest(WebTestCase):
    def test_it_lists_users_with_role_and_department_for_the_admin(self):
        self.login(self.admin)
        r = self.client.get("/accounts/")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "用户与角色")
        self.assertContains(r, "rater_q")
        self.assertContains(r, "质量部")
        self.assertContains(r, "评分员")
        self.assertContains(r, "分析师")
        self.assertContains(r, "（无角色）")  # nobody

    def test_it_filters_users_by_role_department_and_text(self):
        self.login(self.admin)
        names = lambda r: [u.username for u, _ in r.context["rows"]]  # noqa: E731
        self.assertEqual(names(self.client.get("/accounts/?role=rater")), ["rater", "rater_q"])
        self.assertEqual(names(self.client.get("/accounts/?department=quality")), ["rater_q"])
        self.assertEqual(names(self.client.get("/accounts/?q=view")), ["viewer"])
        self.assertEqual(names(self.client.get("/accounts/?role=none")), ["nobody"])
        self.assertEqual(names(self.client.get("/accounts/?role=admin")), ["admin"])

    def test_it_hides_every_users_page_from_everyone_but_the_admin(self):
        urls = [
            "/accounts/",
            "/accounts/new/",
            f"/accounts/{self.viewer.pk}/",
            "/accounts/departments/",
        ]
        for user in (self.analyst, self.rater, self.viewer, self.nobody):
            self.login(user)
            for url in urls:
                self.assertEqual(self.client.get(url).status_code, 404, f"{user} {url}")
            r = self.client.post(f"/accounts/{self.viewer.pk}/password/", {})
            self.assertEqual(r.status_code, 404)
            r = self.client.post("/accounts/new/", {"username": "x"})
            self.assertEqual(r.status_code, 404)
            r = self.client.post(f"/accounts/departments/{self.sales.pk}/rename/", {"name": "x"})
            self.assertEqual(r.status_code, 404)
        self.assertFalse(User.objects.filter(username="x").exists())
        self.sales.refresh_from_db()
        self.assertEqual(self.sales.name, "销售部")

    def test_it_answers_405_to_wrong_methods(self):
        self.login(self.admin)
        self.assertEqual(self.client.post("/accounts/").status_code, 405)
        self.assertEqual(self.client.get(f"/accounts/{self.viewer.pk}/password/").status_code, 405)
        self.assertEqual(
            self.client.get(f"/accounts/departments/{self.sales.pk}/rename/").status_code, 405
        )
        self.assertEqual(self.client.delete(f"/accounts/{self.viewer.pk}/").status_code, 405)

    def test_it_answers_404_for_an_unknown_user(self):
        self.login(self.admin)
        self.assertEqual(self.client.get("/accounts/999999/").status_code, 404)

    def test_it_redirects_anonymous_visitors_to_the_login(self):
        r = self.client.get("/accounts/")
        self.assertRedirects(r, "/login/?next=/accounts/", fetch_redirect_response=False)


class CreateUserTest(WebTestCase):
    def form(self, **changes):
        data = {
            "username": "zhangmin",
            "name": "张敏",
            "email": "zm@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "role": "rater",
            "department": self.quality.pk,
            "is_active": "on",
        }
        data.update(changes)
        return data

    def test_it_creates_a_user_with_role_and_department_audited_once(self):
        self.login(self.admin)
        before = AuditEvent.objects.count()
        r = self.client.post("/accounts/new/", self.form())
        self.assertRedirects(r, "/accounts/", fetch_redirect_response=False)
        user = User.objects.get(username="zhangmin")
        self.assertEqual(user.first_name, "张敏")
        self.assertEqual(list(user.groups.values_list("name", flat=True)), ["rater"])
        self.assertEqual(user.profile.department, self.quality)
        self.assertFalse(user.is_staff)
        self.assertTrue(self.client.login(username="zhangmin", password=NEW_PASSWORD))
        events = AuditEvent.objects.order_by("id")[before:]
        self.assertEqual([e.action for e in events], ["user.create"])
        self.assertEqual(events[0].username, "admin")
        self.assertEqual(
            events[0].after,
            {
                "username": "zhangmin",
                "name": "张敏",
                "email": "zm@example.com",
                "role": "rater",
                "department": "quality",
                "is_active": True,
            },
        )

    def test_it_makes_an_admin_staff_for_the_admin_site(self):
        self.login(self.admin)
        self.client.post("/accounts/new/", self.form(role="admin", department=""))
        self.assertTrue(User.objects.get(username="zhangmin").is_staff)

    def test_it_refuses_bad_input_and_creates_nothing(self):
        self.login(self.admin)
        cases = [
            (self.form(username="rater"), "username", "用户名 rater 已存在"),
            (self.form(password2="other-pass-123"), "password2", "两次输入的密码不一致"),
            (self.form(password1="abc", password2="abc"), "password1", "密码"),
            (self.form(department=""), "department", "评分员须属于一个部门"),
            (self.form(username="bad name!"), "username", ""),
            (self.form(role="boss"), "role", "boss"),
        ]
        for data, field, message in cases:
            r = self.client.post("/accounts/new/", data)
            self.assertEqual(r.status_code, 200, field)
            errors = r.context["form"].errors
            self.assertEqual(list(errors), [field], errors)
            self.assertIn(message, " ".join(errors[field]))
            self.assertContains(r, errors[field][0])
        self.assertFalse(User.objects.filter(username__in=["zhangmin", "bad name!"]).exists())

    def test_it_shows_the_form(self):
        self.login(self.admin)
        r = self.client.get("/accounts/new/")
        self.assertContains(r, "新建用户")
        self.assertContains(r, 'name="password2"')


class EditUserTest(WebTestCase):
    def test_it_changes_role_department_and_state_with_before_and_after(self):
        self.login(self.admin)
        before = AuditEvent.objects.count()
        r = self.client.post(
            f"/accounts/{self.viewer.pk}/",
            {"name": "王五", "email": "", "role": "rater", "department": self.sales.pk},
        )
        self.assertRedirects(r, "/accounts/", fetch_redirect_response=False)
        self.viewer.refresh_from_db()
        self.assertFalse(self.viewer.is_active)  # the box was not ticked
        self.assertEqual(list(self.viewer.groups.values_list("name", flat=True)), ["rater"])
        self.assertEqual(self.viewer.profile.department, self.sales)
        [event] = AuditEvent.objects.order_by("id")[before:]
        self.assertEqual(event.action, "user.change")
        self.assertEqual(
            (event.before["role"], event.before["department"], event.before["is_active"]),
            ("viewer", "", True),
        )
        self.assertEqual(
            (event.after["role"], event.after["department"], event.after["is_active"]),
            ("rater", "sales", False),
        )
        self.assertEqual(event.after["name"], "王五")

    def test_it_records_nothing_when_nothing_changed(self):
        self.login(self.admin)
        before = AuditEvent.objects.count()
        self.client.post(
            f"/accounts/{self.rater.pk}/",
            {
                "name": "",
                "email": "rater@example.com",
                "role": "rater",
                "department": self.sales.pk,
                "is_active": "on",
            },
        )
        self.assertEqual(AuditEvent.objects.count(), before)

    def test_it_keeps_the_admin_from_locking_themselves_out(self):
        self.login(self.admin)
        r = self.client.post(f"/accounts/{self.admin.pk}/", {"role": "viewer"})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "不能停用自己的账号")
        self.assertContains(r, "不能取消自己的管理员角色")
        self.admin.refresh_from_db()
        self.assertTrue(self.admin.is_active)
        self.assertTrue(self.admin.groups.filter(name="admin").exists())

    def test_it_shows_the_form_filled_in_with_recent_changes(self):
        self.login(self.admin)
        r = self.client.get(f"/accounts/{self.rater_q.pk}/")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["form"].initial["role"], "rater")
        self.assertEqual(r.context["form"].initial["department"], self.quality)
        self.assertContains(r, "重置密码")
        self.assertContains(r, "user.create")

    def test_it_resets_a_password_without_logging_the_hash(self):
        self.login(self.admin)
        r = self.client.post(
            f"/accounts/{self.viewer.pk}/password/",
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        self.assertRedirects(r, f"/accounts/{self.viewer.pk}/", fetch_redirect_response=False)
        self.viewer.refresh_from_db()
        self.assertTrue(self.viewer.check_password(NEW_PASSWORD))
        self.assertFalse(self.viewer.check_password(PASSWORD))
        event = AuditEvent.objects.filter(action="user.password").latest("id")
        self.assertEqual(event.username, "admin")
        self.assertNotIn(self.viewer.password, str(event.before) + str(event.after))

    def test_it_refuses_mismatched_passwords(self):
        self.login(self.admin)
        r = self.client.post(
            f"/accounts/{self.viewer.pk}/password/",
            {"password1": NEW_PASSWORD, "password2": "something-else-1"},
        )
        self.assertEqual(r.status_code, 400)
        self.assertContains(r, "两次输入的密码不一致", status_code=400)
        self.viewer.refresh_from_db()
        self.assertTrue(self.viewer.check_password(PASSWORD))


class DepartmentsTest(WebTestCase):
    def test_it_lists_departments_with_member_counts(self):
        self.login(self.admin)
        r = self.client.get("/accounts/departments/")
        rows = {d.code: d.n_users for d in r.context["rows"]}
        self.assertEqual(rows, {"quality": 1, "sales": 1})

    def test_it_creates_a_department_audited(self):
        self.login(self.admin)
        r = self.client.post("/accounts/departments/", {"code": "purchasing", "name": "采购部"})
        self.assertRedirects(r, "/accounts/departments/", fetch_redirect_response=False)
        self.assertEqual(Department.objects.get(code="purchasing").name, "采购部")
        event = AuditEvent.objects.get(action="department.create")
        self.assertEqual(event.after, {"code": "purchasing", "name": "采购部"})

    def test_it_refuses_a_duplicate_or_bad_code(self):
        self.login(self.admin)
        r = self.client.post("/accounts/departments/", {"code": "sales", "name": "另一个"})
        self.assertContains(r, "部门代码 sales 已存在", status_code=400)
        r = self.client.post("/accounts/departments/", {"code": "销售", "name": "x"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(Department.objects.count(), 2)

    def test_it_renames_a_department_with_before_and_after(self):
        self.login(self.admin)
        self.client.post(f"/accounts/departments/{self.sales.pk}/rename/", {"name": "销售一部"})
        self.sales.refresh_from_db()
        self.assertEqual(self.sales.name, "销售一部")
        event = AuditEvent.objects.get(action="department.change")
        self.assertEqual((event.before["name"], event.after["name"]), ("销售部", "销售一部"))


class RoleGroupsTest(WebTestCase):
    def test_it_knows_each_role_group(self):
        self.assertEqual(
            sorted(Group.objects.values_list("name", flat=True)),
            ["admin", "analyst", "rater", "viewer"],
        )
