"""Scheme versions: load and check YAML, create versions, publish. No HTTP here."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pingji.scheme.resolve import ResolvedScheme, load_scheme
from pingji.web.lib.audit import record
from pingji.web.schemes.models import Scheme, SchemeVersion


def resolve_version(version: SchemeVersion) -> ResolvedScheme:
    """Return the resolved scheme of a version (raises SchemeError if its YAML is invalid)."""
    return load_scheme(f"{version.scheme.code}-v{version.number}.yaml", text=version.yaml)


def check_yaml(text: str, file: str = "scheme.yaml") -> ResolvedScheme:
    """Validate YAML text; raises pingji.errors.SchemeError with every problem and its line."""
    return load_scheme(file, text=text)


@transaction.atomic
def add_version(text: str, user, note: str = "", builtin: bool = False) -> SchemeVersion:
    """Check `text` and store it as a new draft version of its scheme (created if new)."""
    rs = check_yaml(text)
    s = rs.scheme
    scheme, created = Scheme.objects.get_or_create(
        code=s.id,
        defaults={
            "name": s.label or s.id,
            "entity": s.entity,
            "builtin": builtin,
            "created_by": user if user is not None and user.is_authenticated else None,
        },
    )
    if not created and (scheme.name, scheme.entity) != (s.label or s.id, s.entity):
        scheme.name, scheme.entity = s.label or s.id, s.entity
        scheme.save()
    last = scheme.versions.order_by("-number").first()
    version = SchemeVersion.objects.create(
        scheme=scheme,
        number=(last.number + 1) if last else 1,
        yaml=text,
        note=note,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    record(user, "scheme.version.create", version, after={"number": version.number, "note": note})
    return version


@transaction.atomic
def publish(version: SchemeVersion, user) -> SchemeVersion:
    """Publish a draft (after checking it again); from then on it is immutable."""
    check_yaml(version.yaml)
    if version.is_published:
        return version
    version.status = SchemeVersion.Status.PUBLISHED
    version.published_by = user if user is not None and user.is_authenticated else None
    version.published_at = timezone.now()
    version.save()
    record(
        user,
        "scheme.version.publish",
        version,
        before={"status": "draft"},
        after={"status": "published"},
    )
    return version
