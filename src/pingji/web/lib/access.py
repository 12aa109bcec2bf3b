"""Roles and access. Roles are Django groups with model permissions; views ask permissions
(`user.has_perm`) and fetch objects through one `_get_x_for_user` helper per kind, which
raises 404 for what the user may not see and 403 for what the user may not change.

admin    everything, including users and the audit log
analyst  schemes, imports, runs (start, void), approving ratings, assignments; reads everything
rater    enters ratings for the entities and indicators assigned to their department
viewer   reads schemes, data, runs and scorecards; exports; changes nothing
"""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as _LoginRequired
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

ROLES = ("admin", "analyst", "rater", "viewer")
ROLE_LABELS = {
    "admin": _("管理员"),
    "analyst": _("分析师"),
    "rater": _("评分员"),
    "viewer": _("查看者"),
}

_VIEW = [
    "schemes.view_scheme",
    "schemes.view_schemeversion",
    "runs.view_run",
    "imports.view_importbatch",
    "ratings.view_rating",
    "ratings.view_assignment",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "viewer": _VIEW,
    "rater": [
        "schemes.view_scheme",
        "schemes.view_schemeversion",
        "ratings.view_rating",
        "ratings.add_rating",
        "ratings.change_rating",
    ],
    "analyst": [
        *_VIEW,
        "schemes.add_scheme",
        "schemes.change_scheme",
        "schemes.add_schemeversion",
        "schemes.change_schemeversion",
        "schemes.publish_schemeversion",
        "runs.add_run",
        "runs.void_run",
        "imports.add_importbatch",
        "imports.change_importbatch",
        "ratings.approve_rating",
        "ratings.add_assignment",
        "ratings.change_assignment",
        "ratings.delete_assignment",
    ],
    "admin": [],  # every permission; see ensure_roles
}


def ensure_roles(**_kwargs) -> None:
    """Create the four role groups with their permissions (after every migrate)."""
    for role, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        if role == "admin":
            perms = list(Permission.objects.all())
        else:
            perms = []
            for code in codes:
                app, codename = code.split(".")
                perm = Permission.objects.filter(
                    content_type__app_label=app, codename=codename
                ).first()
                if perm is not None:
                    perms.append(perm)
        group.permissions.set(perms)


def role_of(user) -> str | None:
    """Return the user's role (the strongest group they are in), or None."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return "admin"
    # asked several times per request (context, views, checks): one query per user object,
    # which lives for one request
    if not hasattr(user, "_pingji_role"):
        names = {g.name for g in user.groups.all()}
        user._pingji_role = next((r for r in ROLES if r in names), None)
    return user._pingji_role


def is_admin(user) -> bool:
    return role_of(user) == "admin"


def department_of(user):
    """Return the user's department, or None."""
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    return profile.department if profile else None


def roles(request) -> dict:
    """Template context: the user's role and its label."""
    role = role_of(request.user) if hasattr(request, "user") else None
    return {"role": role, "role_label": ROLE_LABELS.get(role, "")}


class LoginRequiredMiddleware(_LoginRequired):
    """Every page needs a login, except the login page itself and the REST API (which has
    its own token authentication and answers 401, not a redirect)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
