"""Users, roles, departments and API tokens: every change in one place, each recorded in the
audit log once with the values before and after. Views and the create_user command call
these; no HTTP here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from pingji.web.accounts.models import ApiToken, Department
from pingji.web.accounts.signals import PASSWORD_CHANGED, PASSWORD_MASK, quiet
from pingji.web.lib.access import ROLES, role_of
from pingji.web.lib.audit import record

# Names of the usual departments, used when a command names one that does not exist yet.
KNOWN_DEPARTMENTS = {
    "sales": "销售部",
    "quality": "质量部",
    "purchasing": "采购部",
    "finance": "财务部",
    "service": "客服部",
    "credit": "信用管理部",
}


def snapshot(user) -> dict:
    """What the audit log shows of a user."""
    profile = getattr(user, "profile", None)
    department = profile.department if profile else None
    return {
        "username": user.get_username(),
        "name": user.first_name,
        "email": user.email,
        "role": role_of(user) or "",
        "department": department.code if department else "",
        "is_active": user.is_active,
    }


def _set_role(user, role: str | None) -> None:
    if role and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    keep = [g for g in user.groups.all() if g.name not in ROLES]
    groups = keep + ([Group.objects.get(name=role)] if role else [])
    user.groups.set(groups)
    user.__dict__.pop("_pingji_role", None)  # access.role_of's memo of the old role
    user.is_staff = role == "admin"  # administrators may also use Django's admin site


def _set_department(user, department: Department | None) -> None:
    profile = user.profile
    if profile.department_id != (department.pk if department else None):
        profile.department = department
        profile.save(update_fields=["department"])


@transaction.atomic
def create_user(
    actor,
    username: str,
    password: str,
    role: str | None,
    department: Department | None = None,
    *,
    name: str = "",
    email: str = "",
    is_active: bool = True,
):
    """Create a user with a role and department; audited as one "user.create"."""
    with quiet():
        user = get_user_model().objects.create_user(
            username, email, password, first_name=name, is_active=is_active
        )
        _set_role(user, role)
        user.save(update_fields=["is_staff"])
        _set_department(user, department)
    record(actor, "user.create", user, after=snapshot(user))
    return user


@transaction.atomic
def update_user(
    actor,
    user,
    *,
    name: str,
    email: str,
    role: str | None,
    department: Department | None,
    is_active: bool,
) -> bool:
    """Change a user's name, e-mail, role, department and whether they may log in; audited
    as one "user.change" with before and after. Returns whether anything changed."""
    before = snapshot(user)
    with quiet():
        user.first_name, user.email, user.is_active = name, email, is_active
        _set_role(user, role)
        user.save()
        _set_department(user, department)
    user.refresh_from_db()
    after = snapshot(user)
    if after == before:
        return False
    record(actor, "user.change", user, before=before, after=after)
    return True


@transaction.atomic
def set_password(actor, user, password: str, note: str = "") -> None:
    """Set a new password (the hash is never logged, only that it changed)."""
    with quiet():
        user.set_password(password)
        user.save(update_fields=["password"])
    record(
        actor,
        "user.password",
        user,
        before={"password": PASSWORD_MASK},
        after={"password": PASSWORD_CHANGED},
        note=note,
    )


@transaction.atomic
def create_department(actor, code: str, name: str) -> Department:
    department = Department.objects.create(code=code, name=name)
    record(actor, "department.create", department, after={"code": code, "name": name})
    return department


@transaction.atomic
def rename_department(actor, department: Department, name: str) -> None:
    if department.name == name:
        return
    before = {"code": department.code, "name": department.name}
    department.name = name
    department.save(update_fields=["name"])
    record(actor, "department.change", department, before=before, after={**before, "name": name})


def department_for_code(actor, code: str) -> Department:
    """The department `code`, created (audited) with its usual name if it does not exist."""
    found = Department.objects.filter(code=code).first()
    if found is not None:
        return found
    return create_department(actor, code, KNOWN_DEPARTMENTS.get(code, code))


@transaction.atomic
def issue_token(user, name: str) -> tuple[ApiToken, str]:
    """Create an API token for `user`; return it and its key (shown once, never stored)."""
    token, key = ApiToken.issue(user, name)
    record(user, "token.create", token, after={"name": name, "prefix": token.prefix})
    return token, key


@transaction.atomic
def revoke_token(actor, token: ApiToken) -> None:
    """Delete a token: requests with its key are refused from now on."""
    before = {"name": token.name, "prefix": token.prefix, "user": token.user.get_username()}
    record(actor, "token.revoke", token, before=before, after=None)
    token.delete()
