"""What every page sends for the browser's protection: a Content-Security-Policy that allows
scripts only from our static files (so the pages carry no inline script or event handler),
and cookies marked Secure when PINGJI_HTTPS says the site is served over HTTPS."""

import os
import re
import subprocess
import sys

from pingji.templates import builtin_text
from pingji.web.lib.testing import PASSWORD, WebTestCase
from pingji.web.schemes.services import add_version

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


class ContentSecurityPolicyTest(WebTestCase):
    def test_every_page_carries_the_policy(self):
        for url in ("/login/", "/"):
            with self.subTest(url):
                if url == "/":
                    self.login(self.viewer)
                policy = self.client.get(url)["Content-Security-Policy"]
                directives = dict(part.partition(" ")[::2] for part in policy.split("; "))
                self.assertEqual(directives["script-src"], "'self'")
                self.assertEqual(directives["default-src"], "'self'")
                self.assertEqual(directives["img-src"], "'self' data: blob:")
                self.assertEqual(directives["object-src"], "'none'")
                self.assertEqual(directives["frame-ancestors"], "'none'")

    def test_pages_have_no_inline_script_or_event_handler(self):
        add_version(builtin_text("customer-composite"), self.analyst)
        self.login(self.analyst)
        pages = [
            "/",
            "/schemes/",
            "/schemes/customer-composite/",
            "/schemes/upload/",
            "/schemes/customer-composite/v1/edit/",
            "/runs/",
            "/runs/new/",
            "/ratings/",
            "/ratings/review/",
            "/entities/",
            "/imports/",
            "/accounts/tokens/",
        ]
        for url in pages:
            with self.subTest(url):
                r = self.client.get(url)
                self.assertEqual(r.status_code, 200)
                html = r.content.decode()
                self.assertIsNone(INLINE_SCRIPT.search(html), url)
                self.assertIsNone(INLINE_HANDLER.search(html), url)
                self.assertNotIn("javascript:", html)


class SecureCookiesTest(WebTestCase):
    def settings_with(self, **env) -> str:
        """Return what the settings module makes of these environment variables."""
        code = (
            "import django; from django.conf import settings; django.setup(); "
            "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
            "getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"
        )
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "pingji.web.settings",
            "PINGJI_HOME": str(self.home),
            **env,
        }
        done = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )
        return done.stdout.strip() or done.stderr.strip().splitlines()[-1]

    def test_cookies_are_secure_when_served_over_https(self):
        self.assertEqual(self.settings_with(), "False False None")
        self.assertEqual(self.settings_with(PINGJI_HTTPS="1"), "True True None")
        self.assertEqual(
            self.settings_with(PINGJI_HTTPS="yes", PINGJI_BEHIND_PROXY="on"),
            "True True ('HTTP_X_FORWARDED_PROTO', 'https')",
        )

    def test_a_bad_value_is_an_error_naming_the_variable(self):
        self.assertIn("PINGJI_HTTPS='maybe'", self.settings_with(PINGJI_HTTPS="maybe"))

    def test_the_login_sets_a_secure_session_cookie_over_https(self):
        with self.settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True):
            r = self.client.get("/login/", secure=True)
            self.assertTrue(r.cookies["csrftoken"]["secure"])
            r = self.client.post(
                "/login/", {"username": "viewer", "password": PASSWORD}, secure=True
            )
            self.assertEqual(r.status_code, 302)
            self.assertTrue(r.cookies["sessionid"]["secure"])
