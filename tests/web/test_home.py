"""The home page, login and language switching."""

from pingji.web.lib.testing import PASSWORD, WebTestCase


class HomeTest(WebTestCase):
    def test_it_redirects_anonymous_users_to_login(self):
        r = self.client.get("/")
        self.assertRedirects(r, "/login/?next=/", fetch_redirect_response=False)

    def test_it_shows_the_login_page_in_chinese(self):
        r = self.client.get("/login/")
        self.assertContains(r, "登录评级系统")
        self.assertContains(r, 'lang="zh-hans"')

    def test_it_logs_in_with_a_password(self):
        r = self.client.post("/login/", {"username": "analyst", "password": PASSWORD})
        self.assertRedirects(r, "/", fetch_redirect_response=False)

    def test_it_refuses_a_wrong_password(self):
        r = self.client.post("/login/", {"username": "analyst", "password": "nope"})
        self.assertContains(r, "用户名或密码不正确")

    def test_it_shows_each_role_its_home_page(self):
        for user in (self.admin, self.analyst, self.rater, self.viewer, self.nobody):
            self.login(user)
            r = self.client.get("/")
            self.assertContains(r, "工作台", msg_prefix=user.username)

    def test_it_switches_to_english(self):
        self.login(self.viewer)
        self.client.post("/language/", {"language": "en", "next": "/"})
        r = self.client.get("/")
        self.assertContains(r, 'lang="en"')
        self.assertContains(r, "Dashboard")
        self.assertNotContains(r, "工作台")

    def test_it_refuses_post_on_home(self):
        self.login(self.admin)
        self.assertEqual(self.client.post("/").status_code, 405)
