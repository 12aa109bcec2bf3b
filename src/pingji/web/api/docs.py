"""The interactive API documentation at /api/docs, with Swagger UI's files taken from the
installed django-ninja package and served here — never from a CDN (many users' networks
have no internet access), and independent of collectstatic.

The docs page and /api/openapi.json need a login (session) or a bearer token, like every
other page; Swagger UI's own files (the package's static files) do not."""

from __future__ import annotations

import json
import mimetypes
from functools import wraps
from pathlib import Path

import ninja
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from ninja.openapi.docs import DocsBase

ASSETS = Path(ninja.__file__).parent / "static" / "ninja"
# Only these files are served (no path from the request reaches the file system).
ASSET_NAMES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png")


class LocalSwagger(DocsBase):
    """Swagger UI page whose CSS and JavaScript come from this server."""

    settings = {"layout": "BaseLayout", "deepLinking": True, "persistAuthorization": True}

    def render_page(self, request: HttpRequest, api, **kwargs) -> HttpResponse:
        namespace = api.urls_namespace
        config = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        assets = {
            name.split(".")[0].replace("-", "_"): reverse(f"{namespace}:docs-asset", args=[name])
            for name in ASSET_NAMES
        }
        context = {
            "api": api,
            "swagger_settings": json.dumps(config, indent=1),
            "assets": assets,
        }
        return render(request, "api/swagger.html", context)


def asset(request: HttpRequest, name: str) -> FileResponse:
    """One of Swagger UI's files from the django-ninja package (cached for a day)."""
    if name not in ASSET_NAMES:
        raise Http404
    path = ASSETS / name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


def login_or_token_required(view):
    """Let a logged-in user or a bearer token through; send a browser to the login page and
    answer anything else (e.g. a code generator without a token) with 401."""
    from pingji.web.api.auth import token_auth

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.user.is_authenticated or token_auth(request):
            return view(request, *args, **kwargs)
        if "text/html" in request.headers.get("Accept", ""):
            return redirect_to_login(request.get_full_path())
        response = JsonResponse(
            {
                "detail": "需要登录或接口令牌 (authentication required: Authorization: Bearer <token>)"
            },
            status=401,
            json_dumps_params={"ensure_ascii": False},
        )
        response["WWW-Authenticate"] = 'Bearer realm="pingji"'
        return response

    return wrapped
