"""The REST API (django-ninja) under /api/: token or session authentication, JSON in UTF-8
(Chinese as is), OpenAPI at /api/openapi.json and interactive docs at /api/docs.

    Authorization: Bearer pj_…      a token from the 接口令牌 page (accounts:tokens)

No caller → 401; a caller without the right to see something → 404, to change it → 403
(the same permission codes as the web pages)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.renderers import JSONRenderer

from pingji.i18n import pydantic_message
from pingji.web.api import batches, docs, runs, schemes
from pingji.web.api.auth import session_auth, token_auth


class Utf8JSONRenderer(JSONRenderer):
    """JSON with Chinese text as is (not \\u escapes); still valid UTF-8 JSON."""

    json_dumps_params = {"ensure_ascii": False}


class PingjiAPI(NinjaAPI):
    def _get_urls(self):
        urls = super()._get_urls()
        urls.append(path("docs/assets/<str:name>", docs.asset, name="docs-asset"))
        return urls

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__


api = PingjiAPI(
    title="pingji 评级 API",
    version="1",
    description=(
        "客户评价体系 pingji 的接口：方案、评价运行、结果、评分卡、数据导入。\n\n"
        "认证：`Authorization: Bearer <令牌>`（在「接口令牌」页面创建），或浏览器登录会话。"
    ),
    urls_namespace="api",
    auth=[token_auth, session_auth],
    renderer=Utf8JSONRenderer(),
    docs=docs.LocalSwagger(),
    docs_decorator=docs.login_or_token_required,
)


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    response = api.create_response(
        request,
        {"detail": "需要登录或接口令牌 (authentication required: Authorization: Bearer <token>)"},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="pingji"'
    return response


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    # pydantic words its errors in English only: each is worded by its type, in the
    # request's language (Chinese unless the caller asks for English)
    detail = [
        {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": str(pydantic_message(e))}
        for e in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": "未找到 (not found)"}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return api.create_response(
        request, {"detail": "无权执行此操作 (permission denied)"}, status=403
    )


api.add_router("", schemes.router)
api.add_router("", runs.router)
api.add_router("", batches.router)
