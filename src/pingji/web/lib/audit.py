"""Record changes in the audit log: who, when, what, before and after."""

from __future__ import annotations

import contextvars
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

# The user of the request being handled, for changes recorded by signals (user edits in the
# admin, role changes). Set by AuditUserMiddleware.
_current_user: contextvars.ContextVar = contextvars.ContextVar("pingji_user", default=None)


class AuditUserMiddleware:
    """Remember the request's user so signal handlers can name who made a change."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_user.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _current_user.reset(token)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def record(
    user,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: str = "",
    before: Any = None,
    after: Any = None,
    note: str = "",
):
    """Write one audit event. `obj` (a model instance) fills type, id and text."""
    from pingji.web.audit.models import AuditEvent

    if user is None:
        user = _current_user.get()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:200] if obj is not None else "",
        before=_jsonable(before),
        after=_jsonable(after),
        note=note,
    )


def record_many(user, action_changes) -> None:
    """Write many audit events in one bulk insert: `action_changes` holds
    (action, obj, before, after) tuples, as `record` would write them one by one."""
    from pingji.web.audit.models import AuditEvent

    authenticated = user is not None and getattr(user, "is_authenticated", False)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                user=user if authenticated else None,
                username=user.get_username() if authenticated else "system",
                action=action,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                before=_jsonable(before),
                after=_jsonable(after),
            )
            for action, obj, before, after in action_changes
        ],
        batch_size=500,
    )
