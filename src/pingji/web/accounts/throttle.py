"""Login throttling with django-axes: the backend that refuses a locked login, and the page a
locked-out visitor sees (429, in the user's language)."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check before the password is even looked at, for logins that come with a request.

    A login without a request — `authenticate()` in a management command, the shell or a
    test client — has no address to throttle and no one guessing at a form; axes would refuse
    it outright, so it passes on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """Return the visitor's address: behind our proxy (PINGJI_BEHIND_PROXY) the last entry of
    X-Forwarded-For, the address the proxy itself saw (entries before it are the client's own
    word); else the connection's address."""
    if settings.BEHIND_PROXY:
        last = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Render the lockout page: how many wrong passwords, and how long to wait."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
