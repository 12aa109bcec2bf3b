"""How the REST API knows who is calling: a bearer token (scripts, other systems) or the
browser's session (the app's own pages, the docs page). Nothing else; no caller → 401."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from pingji.web.accounts.models import ApiToken, hash_token

# last_used_at is written at most this often per token (no write on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pj_…` — an ApiToken of an active user (looked up by its hash)."""

    def authenticate(self, request: HttpRequest, token: str):
        token = token.strip()
        if not token:
            return None
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(token), user__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user  # views and permission checks read request.user
        request.api_token = found
        return found.user


class SessionAuth(APIKeyCookie):
    """The browser's login session. CSRF applies to changes (POST), as on every page.

    Unlike ninja's own `django_auth`, a request without a logged-in session is simply not
    authenticated here (→ 401), not refused for a missing CSRF token (→ 403)."""

    param_name = "sessionid"

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, "CSRF 校验失败：请刷新页面后重试 (CSRF check failed)")
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
