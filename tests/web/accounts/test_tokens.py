"""The tokens page: every logged-in user creates (key shown once), lists and revokes their
own API tokens; audited."""

import re

from pingji.web.accounts.models import ApiToken, hash_token
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase


class TokensPageTest(WebTestCase):
    def create(self, name="ERP 夜间同步"):
        r = self.client.post("/accounts/tokens/", {"name": name})
        match = re.search(r'value="(pj_[^"]+)"', r.content.decode())
        return r, match.group(1) if match else None

    def test_it_shows_the_page_to_every_logged_in_user(self):
        for user in (self.admin, self.analyst, self.rater, self.viewer, self.nobody):
            self.login(user)
            r = self.client.get("/accounts/tokens/")
            self.assertContains(r, "我的接口令牌", msg_prefix=user.username)
            self.assertEqual(r["Cache-Control"], "no-store")

    def test_it_creates_a_token_and_shows_its_key_once(self):
        self.login(self.viewer)
        r, key = self.create()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "离开此页后将无法再次查看")
        token = ApiToken.objects.get(user=self.viewer)
        self.assertEqual(token.name, "ERP 夜间同步")
        self.assertEqual(token.key_hash, hash_token(key))
        self.assertEqual(token.prefix, key[:8])
        again = self.client.get("/accounts/tokens/")
        self.assertNotContains(again, key)
        self.assertContains(again, f"{token.prefix}…")
        event = AuditEvent.objects.get(action="token.create")
        self.assertEqual(event.username, "viewer")
        self.assertEqual(event.after, {"name": "ERP 夜间同步", "prefix": token.prefix})
        self.assertNotIn(key, str(event.after))

    def test_its_new_key_opens_the_api_with_the_users_rights(self):
        self.login(self.viewer)
        _, key = self.create()
        self.client.logout()
        headers = {"Authorization": f"Bearer {key}"}
        self.assertEqual(self.client.get("/api/runs", headers=headers).status_code, 200)
        r = self.client.post(
            "/api/runs",
            {"scheme": "x", "period": "2025"},
            content_type="application/json",
            headers=headers,
        )
        self.assertEqual(r.status_code, 403)  # a viewer's token cannot start runs

    def test_it_refuses_an_empty_name(self):
        self.login(self.viewer)
        r, key = self.create(name="")
        self.assertEqual(r.status_code, 400)
        self.assertIsNone(key)
        self.assertFalse(ApiToken.objects.exists())

    def test_it_lists_only_the_users_own_tokens(self):
        ApiToken.issue(self.analyst, "分析师的令牌")
        self.login(self.viewer)
        self.create(name="我的令牌")
        r = self.client.get("/accounts/tokens/")
        self.assertContains(r, "我的令牌")
        self.assertNotContains(r, "分析师的令牌")

    def test_it_revokes_a_token_which_then_stops_working(self):
        self.login(self.analyst)
        _, key = self.create()
        token = ApiToken.objects.get()
        r = self.client.post(f"/accounts/tokens/{token.pk}/revoke/")
        self.assertRedirects(r, "/accounts/tokens/", fetch_redirect_response=False)
        self.assertFalse(ApiToken.objects.exists())
        event = AuditEvent.objects.get(action="token.revoke")
        self.assertEqual(event.before["prefix"], token.prefix)
        self.client.logout()
        r = self.client.get("/api/schemes", headers={"Authorization": f"Bearer {key}"})
        self.assertEqual(r.status_code, 401)

    def test_it_answers_404_for_someone_elses_token(self):
        token, _ = ApiToken.issue(self.analyst, "x")
        self.login(self.admin)
        self.assertEqual(self.client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code, 404)
        self.assertTrue(ApiToken.objects.filter(pk=token.pk).exists())

    def test_it_answers_405_to_wrong_methods(self):
        token, _ = ApiToken.issue(self.viewer, "x")
        self.login(self.viewer)
        self.assertEqual(self.client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code, 405)
        self.assertEqual(self.client.put("/accounts/tokens/").status_code, 405)

    def test_it_needs_a_login(self):
        r = self.client.get("/accounts/tokens/")
        self.assertEqual(r.status_code, 302)
