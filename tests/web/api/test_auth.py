"""The API knows its caller by a bearer token or the browser session; nobody else gets in.
OpenAPI at /api/openapi.json, docs at /api/docs with Swagger UI served from this server."""

import json
import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from pingji.templates import builtin_text
from pingji.web.accounts.models import ApiToken
from pingji.web.lib.testing import WebTestCase
from pingji.web.schemes.services import add_version

ENDPOINTS = [
    ("get", "/api/schemes"),
    ("get", "/api/schemes/customer-composite"),
    ("get", "/api/runs"),
    ("post", "/api/runs"),
    ("get", "/api/runs/1"),
    ("get", "/api/runs/1/results"),
    ("get", "/api/runs/1/entities/C000001"),
    ("get", "/api/batches"),
    ("post", "/api/batches"),
]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


class ApiAuthTest(WebTestCase):
    def setUp(self):
        add_version(builtin_text("customer-composite"), self.analyst)
        self.token, self.key = ApiToken.issue(self.analyst, "脚本")

    def test_it_answers_401_to_every_endpoint_without_credentials(self):
        for method, url in ENDPOINTS:
            r = getattr(self.client, method)(url)
            self.assertEqual(r.status_code, 401, f"{method} {url}")
            self.assertEqual(r["WWW-Authenticate"], 'Bearer realm="pingji"')
            self.assertIn("需要登录或接口令牌", r.json()["detail"])

    def test_it_answers_401_to_an_unknown_or_malformed_token(self):
        for header in ("Bearer pj_not-a-real-key", "Bearer ", "Basic abc", self.key):
            r = self.client.get("/api/schemes", headers={"Authorization": header})
            self.assertEqual(r.status_code, 401, header)

    def test_it_accepts_a_token_and_records_when_it_was_used(self):
        self.assertIsNone(self.token.last_used_at)
        r = self.client.get("/api/schemes", headers=bearer(self.key))
        self.assertEqual(r.status_code, 200)
        self.token.refresh_from_db()
        self.assertIsNotNone(self.token.last_used_at)

    def test_it_writes_last_used_at_at_most_once_a_minute(self):
        recent = timezone.now() - timedelta(seconds=10)
        ApiToken.objects.filter(pk=self.token.pk).update(last_used_at=recent)
        self.client.get("/api/schemes", headers=bearer(self.key))
        self.token.refresh_from_db()
        self.assertEqual(self.token.last_used_at, recent)

    def test_it_refuses_the_token_of_a_deactivated_user(self):
        self.analyst.is_active = False
        self.analyst.save()
        r = self.client.get("/api/schemes", headers=bearer(self.key))
        self.assertEqual(r.status_code, 401)

    def test_it_refuses_a_revoked_token(self):
        self.token.delete()
        r = self.client.get("/api/schemes", headers=bearer(self.key))
        self.assertEqual(r.status_code, 401)

    def test_it_accepts_the_browser_session(self):
        self.login(self.viewer)
        r = self.client.get("/api/schemes")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()[0]["code"], "customer-composite")

    def test_it_needs_the_csrf_token_for_a_session_post(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.analyst)
        body = {"scheme": "customer-composite", "period": "2025"}
        r = client.post("/api/runs", body, content_type="application/json")
        self.assertEqual(r.status_code, 403)
        self.assertIn("CSRF", r.json()["detail"])
        page = client.get("/accounts/tokens/")
        csrf = page.cookies["csrftoken"].value
        r = client.post(
            "/api/runs", body, content_type="application/json", headers={"X-CSRFToken": csrf}
        )
        # past CSRF: refused only because the scheme has no published version yet
        self.assertEqual(r.status_code, 400)
        self.assertIn("没有已发布的版本", r.json()["detail"])

    def test_it_needs_no_csrf_token_with_a_bearer_token(self):
        client = Client(enforce_csrf_checks=True)
        body = {"scheme": "customer-composite", "period": "2025"}
        r = client.post(
            "/api/runs", body, content_type="application/json", headers=bearer(self.key)
        )
        self.assertEqual(r.status_code, 400)

    def test_it_writes_chinese_as_utf8_not_escapes(self):
        r = self.client.get("/api/schemes", headers=bearer(self.key))
        self.assertEqual(r["Content-Type"], "application/json; charset=utf-8")
        name = r.json()[0]["name"]
        self.assertIn(name.encode("utf-8"), r.content)
        self.assertNotIn(b"\\u", r.content)


class OpenApiTest(WebTestCase):
    def setUp(self):
        self.login(self.viewer)

    def test_it_keeps_the_docs_and_schema_from_anonymous_visitors(self):
        self.client.logout()
        r = self.client.get("/api/openapi.json")
        self.assertEqual(r.status_code, 401)
        self.assertIn("需要登录或接口令牌", r.json()["detail"])
        r = self.client.get("/api/docs", headers={"Accept": "text/html"})
        self.assertRedirects(r, "/login/?next=/api/docs", fetch_redirect_response=False)

    def test_it_gives_the_schema_to_a_bearer_token(self):
        self.client.logout()
        _, key = ApiToken.issue(self.rater, "codegen")
        r = self.client.get("/api/openapi.json", headers=bearer(key))
        self.assertEqual(r.status_code, 200)
        self.assertIn("/api/runs", r.json()["paths"])

    def test_it_publishes_a_valid_openapi_document_with_every_path(self):
        r = self.client.get("/api/openapi.json")
        self.assertEqual(r.status_code, 200)
        doc = json.loads(r.content)
        self.assertTrue(doc["openapi"].startswith("3."))
        paths = doc["paths"]
        self.assertEqual(set(paths["/api/schemes"]), {"get"})
        self.assertEqual(set(paths["/api/schemes/{code}"]), {"get"})
        self.assertEqual(set(paths["/api/runs"]), {"get", "post"})
        self.assertEqual(set(paths["/api/runs/{run_id}"]), {"get"})
        self.assertEqual(set(paths["/api/runs/{run_id}/results"]), {"get"})
        self.assertEqual(set(paths["/api/runs/{run_id}/entities/{entity_id}"]), {"get"})
        self.assertEqual(set(paths["/api/batches"]), {"get", "post"})
        schemes = doc["components"]["securitySchemes"]
        self.assertEqual(schemes["TokenAuth"], {"type": "http", "scheme": "bearer"})
        self.assertEqual(paths["/api/runs"]["post"]["operationId"], "start_run")
        self.assertEqual(paths["/api/runs"]["post"]["summary"], "发起评价运行 (start a run)")
        self.assertIn("201", paths["/api/runs"]["post"]["responses"])
        upload = paths["/api/batches"]["post"]["requestBody"]["content"]
        self.assertIn("multipart/form-data", upload)

    def test_its_openapi_document_resolves_every_reference(self):
        doc = self.client.get("/api/openapi.json").json()
        refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
        self.assertTrue(refs)
        self.assertLessEqual(refs, set(doc["components"]["schemas"]))

    def test_it_serves_the_docs_page_without_any_cdn(self):
        r = self.client.get("/api/docs")
        self.assertEqual(r.status_code, 200)
        html = r.content.decode()
        self.assertIn('id="swagger-ui"', html)
        self.assertIn("/api/openapi.json", html)
        for cdn in ("cdn.", "jsdelivr", "unpkg", "cdnjs", "https://", "http://"):
            self.assertNotIn(cdn, html)
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        self.assertEqual(len(assets), 4)
        for url in assets:
            a = self.client.get(url)
            self.assertEqual(a.status_code, 200, url)
            body = b"".join(a.streaming_content)
            self.assertGreater(len(body), 500, url)
        js = self.client.get("/api/docs/assets/swagger-ui-bundle.js")
        self.assertIn("javascript", js["Content-Type"])

    def test_it_serves_only_swagger_files_from_the_assets_url(self):
        for name in ("redoc.standalone.js", "..%2F__init__.py", "settings.py"):
            self.assertEqual(self.client.get(f"/api/docs/assets/{name}").status_code, 404, name)
