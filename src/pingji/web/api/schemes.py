"""/api/schemes — the schemes, their versions, and the YAML of the latest published one."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Router

from pingji.web.api.access import get_scheme_for_user, require
from pingji.web.api.schemas import Message, SchemeDetailOut, SchemeOut
from pingji.web.schemes.models import Scheme, SchemeVersion

router = Router(tags=["方案 schemes"])


def _versions():
    return Prefetch(
        "versions",
        queryset=SchemeVersion.objects.order_by("-number").only(
            "scheme_id", "number", "status", "published_at", "note"
        ),
    )


def _version(v: SchemeVersion) -> dict:
    return {
        "number": v.number,
        "status": v.status,
        "published_at": v.published_at,
        "note": v.note,
    }


def _scheme(s: Scheme) -> dict:
    return {
        "code": s.code,
        "name": s.name,
        "entity": s.entity,
        "builtin": s.builtin,
        "versions": [_version(v) for v in s.versions.all()],
    }


@router.get(
    "/schemes",
    response={200: list[SchemeOut], 401: Message, 404: Message},
    summary="方案列表 (list schemes)",
)
def list_schemes(request: HttpRequest):
    """Every scheme with its versions (newest first)."""
    require(request, "schemes.view_scheme")
    return [_scheme(s) for s in Scheme.objects.prefetch_related(_versions()).order_by("code")]


@router.get(
    "/schemes/{code}",
    response={200: SchemeDetailOut, 401: Message, 404: Message},
    summary="一个方案及其已发布的 YAML (one scheme)",
)
def get_scheme(request: HttpRequest, code: str):
    """One scheme, its versions, and the latest published version's YAML."""
    scheme = get_scheme_for_user(request, code)
    out = _scheme(scheme)
    published = scheme.latest_published()
    out["published"] = {**_version(published), "yaml": published.yaml} if published else None
    return out
