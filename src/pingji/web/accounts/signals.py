"""Every user has a profile; changes to users and their roles go to the audit log with the
values before and after — whichever way they are made (these pages, Django's admin site, the
shell). The pages of this app record one event per change themselves (services.py) and keep
these handlers quiet meanwhile, so nothing is recorded twice."""

from __future__ import annotations

import contextlib
import contextvars

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save

# Fields of a user the audit log follows (never the password hash: only that it changed).
TRACKED = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")
PASSWORD_MASK = "******"
PASSWORD_CHANGED = "******（已更改）"

_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pingji_accounts_quiet", default=False
)


@contextlib.contextmanager
def quiet():
    """Within this block user saves and role changes are not audited by the signals (the
    caller records one complete event itself)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def _only_last_login(kwargs) -> bool:
    fields = kwargs.get("update_fields")
    return bool(fields) and set(fields) <= {"last_login"}


def _user_saving(sender, instance, **kwargs) -> None:
    if instance.pk is None or kwargs.get("raw") or _quiet.get() or _only_last_login(kwargs):
        return
    instance._pingji_before = (
        sender.objects.filter(pk=instance.pk).values(*TRACKED, "password").first()
    )


def _user_saved(sender, instance, created, **kwargs) -> None:
    from pingji.web.accounts.models import Profile

    Profile.objects.get_or_create(user=instance)
    if kwargs.get("raw") or _quiet.get() or _only_last_login(kwargs):
        return
    from pingji.web.lib.audit import record

    after = {f: getattr(instance, f) for f in TRACKED}
    if created:
        record(None, "user.create", instance, after=after)
        return
    stored = getattr(instance, "_pingji_before", None)
    instance._pingji_before = None
    if stored is None:
        record(None, "user.change", instance, after=after)
        return
    before = {f: stored[f] for f in TRACKED}
    if stored["password"] != instance.password:
        before["password"], after["password"] = PASSWORD_MASK, PASSWORD_CHANGED
    if before == after:
        return
    changed = {k for k in after if before.get(k) != after[k]}
    action = "user.password" if changed == {"password"} else "user.change"
    record(None, action, instance, before=before, after=after)


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if reverse or _quiet.get():
        return
    if action in ("pre_add", "pre_remove", "pre_clear"):
        instance._pingji_roles_before = sorted(instance.groups.values_list("name", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from pingji.web.lib.audit import record

    before = getattr(instance, "_pingji_roles_before", None)
    after = sorted(instance.groups.values_list("name", flat=True))
    if before == after:
        return
    record(
        None,
        "user.roles",
        instance,
        before=None if before is None else {"roles": before},
        after={"roles": after},
    )


def connect() -> None:
    User = get_user_model()
    pre_save.connect(_user_saving, sender=User, dispatch_uid="pingji-user-saving")
    post_save.connect(_user_saved, sender=User, dispatch_uid="pingji-user-saved")
    m2m_changed.connect(
        _groups_changed, sender=User.groups.through, dispatch_uid="pingji-user-groups"
    )
