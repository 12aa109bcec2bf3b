"""Django's password validators (and ours: no blanks, no one repeated character) apply on the
users page, on a password reset and in the `create_user` command."""

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from pingji.web.lib.testing import WebTestCase

User = get_user_model()

REFUSED = {
    "eight spaces": "        ",
    "one character repeated": "xxxxxxxxxx",
    "the user name": "zhangmin",
    "the user name and a year": "zhangmin2025",
    "too short": "Q7-x",
    "common": "password123",
    "only digits": "20251231987",
}


class UsersPagePasswordTest(WebTestCase):
    def form(self, password: str) -> dict:
        return {
            "username": "zhangmin",
            "name": "张敏",
            "email": "zhangmin@example.com",
            "password1": password,
            "password2": password,
            "role": "viewer",
            "department": "",
            "is_active": "on",
        }

    def test_it_refuses_weak_passwords_for_a_new_user(self):
        self.login(self.admin)
        for why, password in REFUSED.items():
            with self.subTest(why):
                r = self.client.post("/accounts/new/", self.form(password))
                self.assertEqual(r.status_code, 200)
                self.assertTrue(r.context["form"].errors.get("password1"), why)
        self.assertFalse(User.objects.filter(username="zhangmin").exists())

    def test_it_accepts_a_good_password(self):
        self.login(self.admin)
        r = self.client.post("/accounts/new/", self.form("Qingdao-harbour-7"))
        self.assertEqual(r.status_code, 302)
        self.assertTrue(User.objects.get(username="zhangmin").check_password("Qingdao-harbour-7"))

    def test_it_says_why_in_the_users_language(self):
        self.login(self.admin)
        r = self.client.post("/accounts/new/", self.form("        "))
        self.assertContains(r, "密码不能只由空格组成。")
        self.client.cookies["django_language"] = "en"
        r = self.client.post("/accounts/new/", self.form("        "))
        self.assertContains(r, "A password cannot be only spaces.")

    def test_it_refuses_a_reset_to_the_users_own_name(self):
        self.login(self.admin)
        r = self.client.post(
            f"/accounts/{self.viewer.pk}/password/",
            {"password1": "viewer2025", "password2": "viewer2025"},
        )
        self.assertEqual(r.status_code, 400)
        self.assertTrue(r.context["password_form"].errors.get("password1"))
        self.viewer.refresh_from_db()
        self.assertFalse(self.viewer.check_password("viewer2025"))


class CreateUserCommandPasswordTest(WebTestCase):
    def test_it_refuses_weak_passwords(self):
        for why, password in REFUSED.items():
            with self.subTest(why), self.assertRaisesMessage(CommandError, "--password is refused"):
                call_command("create_user", "zhangmin", "--role", "viewer", "--password", password)
        self.assertFalse(User.objects.filter(username="zhangmin").exists())

    def test_it_refuses_a_weak_password_for_an_existing_user(self):
        with self.assertRaisesMessage(CommandError, "--password is refused"):
            call_command("create_user", "viewer", "--role", "viewer", "--password", "        ")
        self.viewer.refresh_from_db()
        self.assertFalse(self.viewer.check_password("        "))
