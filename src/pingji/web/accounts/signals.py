"""Every user has a profile; changes to users and their roles go to the audit log."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save


def _user_saved(sender, instance, created, **kwargs) -> None:
    from pingji.web.accounts.models import Profile

    Profile.objects.get_or_create(user=instance)
    if kwargs.get("raw"):
        return
    from pingji.web.lib.audit import record

    fields = {
        "username": instance.username,
        "is_active": instance.is_active,
        "is_superuser": instance.is_superuser,
        "email": instance.email,
    }
    record(None, "user.create" if created else "user.change", instance, after=fields)


def _groups_changed(sender, instance, action, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from pingji.web.lib.audit import record

    groups = sorted(instance.groups.values_list("name", flat=True))
    record(None, "user.roles", instance, after={"roles": groups})


def connect() -> None:
    User = get_user_model()
    post_save.connect(_user_saved, sender=User, dispatch_uid="pingji-user-saved")
    m2m_changed.connect(
        _groups_changed, sender=User.groups.through, dispatch_uid="pingji-user-groups"
    )
