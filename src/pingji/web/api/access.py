"""Permission checks of the API — the same permission codes as the web pages
(lib/access.ROLE_PERMISSIONS): 404 for what the caller may not see, 403 for what the caller
may see but not change. Every object an endpoint touches is fetched through one helper here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from pingji.web.schemes.models import Scheme


def require(request: HttpRequest, view: str, change: str | None = None) -> None:
    """Raise Http404 unless the caller has `view`, PermissionDenied unless they have `change`."""
    user = request.user
    if not user.has_perm(view):
        raise Http404
    if change is not None and not user.has_perm(change):
        raise PermissionDenied


def get_scheme_for_user(request: HttpRequest, code: str) -> Scheme:
    """The scheme `code`, if the caller may read schemes."""
    require(request, "schemes.view_scheme")
    scheme = Scheme.objects.filter(code=code).first()
    if scheme is None:
        raise Http404
    return scheme
