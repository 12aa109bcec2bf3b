"""Users and departments (administrators only; others get 404) and each user's own API
tokens. Every change goes through services.py, which records it in the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pingji.web.accounts import services
from pingji.web.accounts.forms import (
    DepartmentForm,
    DepartmentRenameForm,
    PasswordResetForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
)
from pingji.web.accounts.models import ApiToken, Department
from pingji.web.lib.access import ROLE_LABELS, ROLES, role_of

PAGE_SIZE = 50


def _require_user_admin(request: HttpRequest, write: bool = False) -> None:
    """Only administrators see users and departments (404 for everyone else)."""
    if not request.user.has_perm("auth.view_user"):
        raise Http404
    if write and not request.user.has_perm("auth.change_user"):
        raise PermissionDenied


def _get_user_for_user(request: HttpRequest, user_id: int, write: bool = False):
    _require_user_admin(request, write)
    user = get_user_model().objects.select_related("profile__department").filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


def _get_department_for_user(request: HttpRequest, department_id: int, write: bool = False):
    _require_user_admin(request, write)
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Http404
    return department


def _get_token_for_user(request: HttpRequest, token_id: int) -> ApiToken:
    """A token of the logged-in user (anyone else's: 404)."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id, user=request.user).first()
    if token is None:
        raise Http404
    return token


@require_http_methods(["GET"])
def users(request: HttpRequest) -> HttpResponse:
    """Every user with role, department and state; filter by text, role, department."""
    _require_user_admin(request)
    qs = (
        get_user_model()
        .objects.select_related("profile__department")
        .prefetch_related("groups")
        .annotate(tokens=Count("api_tokens"))
        .order_by("username")
    )
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q) | Q(first_name__icontains=q) | Q(email__icontains=q)
        )
    role = request.GET.get("role", "")
    if role == "none":
        qs = qs.filter(is_superuser=False).exclude(groups__name__in=ROLES)
    elif role == "admin":
        qs = qs.filter(Q(groups__name="admin") | Q(is_superuser=True))
    elif role in ROLES:
        qs = qs.filter(groups__name=role).exclude(is_superuser=True)
    department = request.GET.get("department", "")
    if department == "none":
        qs = qs.filter(profile__department__isnull=True)
    elif department:
        qs = qs.filter(profile__department__code=department)
    active = request.GET.get("active", "")
    if active in ("1", "0"):
        qs = qs.filter(is_active=active == "1")
    page = Paginator(qs.distinct(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(u, role_of(u)) for u in page]
    context = {
        "page": page,
        "rows": rows,
        "role_labels": ROLE_LABELS,
        "roles": [(r, ROLE_LABELS[r]) for r in ROLES],
        "departments": Department.objects.order_by("code"),
        "filters": {"q": q, "role": role, "department": department, "active": active},
    }
    return render(request, "accounts/users.html", context)


@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    """Create a user: user name, name, password, role, department."""
    _require_user_admin(request, write=True)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        user = services.create_user(
            request.user,
            d["username"],
            d["password1"],
            d["role"] or None,
            d["department"],
            name=d["name"],
            email=d["email"],
            is_active=d["is_active"],
        )
        messages.success(request, _("已创建用户 %(name)s。") % {"name": user.username})
        return redirect("accounts:users")
    return render(request, "accounts/user_new.html", {"form": form})


@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """Change a user's role, department, name, e-mail and whether they may log in."""
    user = _get_user_for_user(request, user_id, write=request.method == "POST")
    department = user.profile.department if hasattr(user, "profile") else None
    initial = {
        "name": user.first_name,
        "email": user.email,
        "role": role_of(user) or "",
        "department": department,
        "is_active": user.is_active,
    }
    form = UserEditForm(request.POST or None, initial=initial, user=user, actor=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        changed = services.update_user(
            request.user,
            user,
            name=d["name"],
            email=d["email"],
            role=d["role"] or None,
            department=d["department"],
            is_active=d["is_active"],
        )
        if changed:
            messages.success(request, _("已保存用户 %(name)s。") % {"name": user.username})
        else:
            messages.info(request, _("没有改动。"))
        return redirect("accounts:users")
    return _edit_page(request, user, form, PasswordResetForm(user=user))


def _edit_page(request, user, form, password_form, status: int = 200) -> HttpResponse:
    from pingji.web.audit.models import AuditEvent
    from pingji.web.audit.views import ACTION_LABELS, diff

    history = []
    for e in AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk))[:10]:
        changes = [d for d in diff(e.before, e.after) if d["changed"] or e.before is None]
        history.append(
            {"event": e, "label": ACTION_LABELS.get(e.action, e.action), "changes": changes}
        )
    context = {
        "subject": user,
        "form": form,
        "password_form": password_form,
        "tokens": user.api_tokens.all(),
        "history": history,
    }
    return render(request, "accounts/user_edit.html", context, status=status)


@require_POST
def user_password(request: HttpRequest, user_id: int) -> HttpResponse:
    """Reset a user's password (the administrator tells them the new one)."""
    user = _get_user_for_user(request, user_id, write=True)
    form = PasswordResetForm(request.POST, user=user)
    if not form.is_valid():
        edit = UserEditForm(
            initial={
                "name": user.first_name,
                "email": user.email,
                "role": role_of(user) or "",
                "department": user.profile.department,
                "is_active": user.is_active,
            },
            user=user,
            actor=request.user,
        )
        return _edit_page(request, user, edit, form, status=400)
    services.set_password(request.user, user, form.cleaned_data["password1"], note="管理员重置")
    messages.success(request, _("已重置 %(name)s 的密码。") % {"name": user.username})
    return redirect("accounts:user_edit", user_id=user.pk)


@require_http_methods(["GET", "POST"])
def departments(request: HttpRequest) -> HttpResponse:
    """Departments with their members; create one."""
    _require_user_admin(request, write=request.method == "POST")
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = services.create_department(
            request.user, form.cleaned_data["code"], form.cleaned_data["name"]
        )
        messages.success(request, _("已创建部门 %(name)s。") % {"name": d.name})
        return redirect("accounts:departments")
    rows = Department.objects.annotate(
        n_users=Count("members", distinct=True),
        n_assignments=Count("assignments", distinct=True),
    ).order_by("code")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/departments.html", {"form": form, "rows": rows}, status=status)


@require_POST
def department_rename(request: HttpRequest, department_id: int) -> HttpResponse:
    department = _get_department_for_user(request, department_id, write=True)
    form = DepartmentRenameForm(request.POST)
    if form.is_valid():
        services.rename_department(request.user, department, form.cleaned_data["name"])
        messages.success(request, _("已保存部门 %(name)s。") % {"name": department.name})
    else:
        messages.error(request, _("部门名称不能为空。"))
    return redirect("accounts:departments")


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: create one (its key is shown once), list, revoke."""
    form = TokenForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _token, new_key = services.issue_token(request.user, form.cleaned_data["name"])
            form = TokenForm()
        else:
            status = 400
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        "api_base": request.build_absolute_uri("/api/"),
    }
    response = render(request, "accounts/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new key must not stay in any cache
    return response


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _get_token_for_user(request, token_id)
    services.revoke_token(request.user, token)
    messages.success(request, _("已吊销令牌 %(name)s。") % {"name": token.name})
    return redirect("accounts:tokens")
