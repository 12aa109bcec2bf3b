"""Login throttling (django-axes): wrong passwords lock out the account and the address for a
while; the lockout page speaks the user's language; a right password before then resets."""

from django.test import override_settings

from pingji.web.lib.testing import PASSWORD, WebTestCase

LIMIT = 5  # settings.AXES_FAILURE_LIMIT (PINGJI_LOGIN_FAILURES)


class LoginThrottleTest(WebTestCase):
    def post_login(self, username: str, password: str, address: str = "10.0.0.1"):
        return self.client.post(
            "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
        )

    def test_it_locks_an_account_out_after_repeated_wrong_passwords(self):
        for _ in range(LIMIT - 1):
            self.assertEqual(self.post_login("viewer", "wrong").status_code, 200)
        r = self.post_login("viewer", "wrong")
        self.assertEqual(r.status_code, 429)
        # the right password no longer works while locked out, from another address too
        r = self.post_login("viewer", PASSWORD, address="10.0.0.2")
        self.assertEqual(r.status_code, 429)
        self.assertContains(r, "登录已暂停", status_code=429)
        self.assertContains(r, "15 分钟后再试", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_locks_an_address_out_that_tries_many_accounts(self):
        for i in range(LIMIT):
            self.post_login(f"guess{i}", "wrong", address="10.0.0.9")
        r = self.post_login("analyst", PASSWORD, address="10.0.0.9")
        self.assertEqual(r.status_code, 429)
        # the same account from elsewhere still logs in
        r = self.post_login("analyst", PASSWORD, address="10.0.0.10")
        self.assertEqual(r.status_code, 302)

    def test_a_right_password_before_the_limit_resets_the_count(self):
        for _ in range(LIMIT - 1):
            self.post_login("viewer", "wrong")
        self.assertEqual(self.post_login("viewer", PASSWORD).status_code, 302)
        self.client.logout()
        for _ in range(LIMIT - 1):
            self.post_login("viewer", "wrong")
        self.assertEqual(self.post_login("viewer", PASSWORD).status_code, 302)

    def test_the_lockout_page_is_in_english_when_chosen(self):
        self.client.cookies["django_language"] = "en"
        for _ in range(LIMIT):
            r = self.post_login("viewer", "wrong")
        self.assertContains(r, "Login paused", status_code=429)
        self.assertContains(r, "Try again in 15 minutes", status_code=429)

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_the_limit_is_a_setting(self):
        self.post_login("viewer", "wrong")
        self.assertEqual(self.post_login("viewer", "wrong").status_code, 429)

    @override_settings(BEHIND_PROXY=True)
    def test_behind_a_proxy_it_counts_the_address_the_proxy_saw(self):
        for i in range(LIMIT):
            self.client.post(
                "/login/",
                {"username": f"guess{i}", "password": "wrong"},
                REMOTE_ADDR="127.0.0.1",
                HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 198.51.100.7",  # forged first part varies
            )
        r = self.client.post(
            "/login/",
            {"username": "analyst", "password": PASSWORD},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
        self.assertEqual(r.status_code, 429)
        # another visitor through the same proxy is not paused
        r = self.client.post(
            "/login/",
            {"username": "analyst", "password": PASSWORD},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.8",
        )
        self.assertEqual(r.status_code, 302)
