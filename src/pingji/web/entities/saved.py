"""Saved views: named filter sets of the entity list (per entity table) and of a scheme's run
results (per scheme), kept per user and optionally shared; listed beside the filters.

A view is only a query string the page itself accepts: opening one is following a link, so
it shows nothing its user could not see by typing the filters. Saving, renaming and deleting
are audited like every other change."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from pingji.web.entities.models import SavedView
from pingji.web.lib.audit import record

ATTR_PREFIX = "attr_"  # attribute filters: attr_region=华东
# The filter parameters each page accepts (besides attr_<column>); the rest is dropped.
PAGE_PARAMS = {
    SavedView.Page.ENTITIES: ("table", "q", "sort"),
    SavedView.Page.RESULTS: ("q", "grade", "class", "status", "action", "sort"),
}
NAME_MAX = 60
VALUE_MAX = 200
PER_USER = 100  # views one user may keep per page and scope


class ViewRefused(ValueError):
    """A view cannot be saved as asked; nothing changed."""


def attrs_of(params) -> dict[str, str]:
    """The attribute filters of a request's parameters: {column: value}, empty ones left out."""
    return {
        key[len(ATTR_PREFIX) :]: str(value).strip()[:VALUE_MAX]
        for key, value in params.items()
        if key.startswith(ATTR_PREFIX) and str(value).strip()
    }


def clean_query(page: str, text: str) -> dict[str, str]:
    """The filters of a query string that `page` accepts, as {name: value} (one value each)."""
    params = QueryDict(text or "")
    allowed = PAGE_PARAMS[page]
    out = {k: params.get(k, "").strip()[:VALUE_MAX] for k in allowed if params.get(k, "").strip()}
    out.update({ATTR_PREFIX + k: v for k, v in attrs_of(params).items()})
    return out


def visible(user, page: str, scope: str):
    """The views a user sees beside a list: their own, then those others share."""
    mine = SavedView.objects.filter(user=user, page=page, scope=scope)
    shared = SavedView.objects.filter(page=page, scope=scope, shared=True).exclude(user=user)
    return list(mine.order_by("name")) + list(shared.select_related("user").order_by("name"))


def links(request: HttpRequest, page: str, scope: str, anchor: str = "") -> list[dict]:
    """The views beside a list, each with its link (on the current page), whether it is the
    one shown now, and whether the user may delete it."""
    current = clean_query(page, request.GET.urlencode())
    out = []
    for view in visible(request.user, page, scope):
        out.append(
            {
                "view": view,
                "url": "?" + urlencode(view.query) + anchor,
                "active": view.query == current,
                "own": view.user_id == request.user.pk,
            }
        )
    return out


@transaction.atomic
def save_view(user, page: str, scope: str, name: str, query: str, shared: bool) -> SavedView:
    """Save (or replace, by name) one of the user's views of a list; audited."""
    name = (name or "").strip()
    if not name:
        raise ViewRefused(_("请为视图起一个名称。"))
    if len(name) > NAME_MAX:
        raise ViewRefused(_("视图名称最多 %(n)s 个字。") % {"n": NAME_MAX})
    filters = clean_query(page, query)
    existing = SavedView.objects.filter(user=user, page=page, scope=scope, name=name).first()
    if existing is None and (
        SavedView.objects.filter(user=user, page=page, scope=scope).count() >= PER_USER
    ):
        raise ViewRefused(_("每个列表最多保存 %(n)s 个视图。") % {"n": PER_USER})
    before = None
    if existing is not None:
        before = {"query": existing.query, "shared": existing.shared}
        existing.query, existing.shared = filters, shared
        existing.save(update_fields=["query", "shared"])
        view = existing
    else:
        try:
            with transaction.atomic():
                view = SavedView.objects.create(
                    user=user, page=page, scope=scope, name=name, query=filters, shared=shared
                )
        except IntegrityError:  # saved twice at once: the first one stands
            raise ViewRefused(_("同名视图已存在。")) from None
    record(
        user,
        "view.save",
        view,
        before=before,
        after={"page": page, "scope": scope, "name": name, "query": filters, "shared": shared},
    )
    return view


def get_view_for_user(request: HttpRequest, view_id: int, write: bool = False) -> SavedView:
    """Return a view the user sees (their own or a shared one; 404 otherwise); with `write`,
    only one they may change: their own, or any shared one for an administrator (403)."""
    view = SavedView.objects.filter(pk=view_id).first()
    if view is None or (view.user_id != request.user.pk and not view.shared):
        raise Http404
    if write and view.user_id != request.user.pk and not request.user.is_superuser:
        from pingji.web.lib.access import is_admin

        if not is_admin(request.user):
            raise PermissionDenied
    return view


@transaction.atomic
def delete_view(user, view: SavedView) -> None:
    """Delete a view; audited."""
    record(
        user,
        "view.delete",
        view,
        before={"page": view.page, "scope": view.scope, "name": view.name, "query": view.query},
    )
    view.delete()
