"""Scheme versions: load and check YAML, create versions, edit drafts, publish, delete drafts,
load the built-ins. No HTTP here; every change is audited."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pingji.data.contract import TABLES, TableSpec
from pingji.errors import Problem, SchemeError
from pingji.scheme.resolve import ResolvedScheme, load_scheme
from pingji.web.lib.audit import record
from pingji.web.schemes.formedit import with_version_number
from pingji.web.schemes.models import Scheme, SchemeVersion

# Scheme ids that would shadow a page of the schemes app (/schemes/upload/).
RESERVED_CODES = frozenset({"upload"})


@functools.lru_cache(maxsize=64)
def _resolve(file: str, text: str) -> ResolvedScheme:
    return load_scheme(file, text=text)


def resolve_version(version: SchemeVersion) -> ResolvedScheme:
    """Return the resolved scheme of a version (raises SchemeError if its YAML is invalid).

    Remembered by the YAML text (resolving a large scheme takes tens of milliseconds and
    every results page, scorecard and rating form needs it); an edited draft has new text,
    so it is resolved anew. Callers must not change the returned object."""
    return _resolve(f"{version.scheme.code}-v{version.number}.yaml", version.yaml)


def declared_tables() -> dict[str, TableSpec]:
    """Return the tables the published schemes declare (`tables:` of each scheme's newest
    published version); when two schemes declare one name, the later publication wins."""
    versions = (
        SchemeVersion.objects.filter(status=SchemeVersion.Status.PUBLISHED)
        .select_related("scheme")
        .order_by("scheme_id", "-number")
    )
    newest: dict[int, SchemeVersion] = {}
    for version in versions:
        newest.setdefault(version.scheme_id, version)
    tables: dict[str, TableSpec] = {}
    for version in sorted(newest.values(), key=lambda v: (v.published_at is None, v.published_at)):
        if "tables:" not in version.yaml:
            continue  # most schemes declare none: no need to resolve them
        try:
            rs = resolve_version(version)
        except SchemeError:
            continue  # a published version that no longer validates declares nothing usable
        tables.update({name: rs.tables[name] for name in rs.scheme.tables})
    return tables


def check_yaml(text: str, file: str = "scheme.yaml") -> ResolvedScheme:
    """Validate YAML text; raises pingji.errors.SchemeError with every problem and its line."""
    return load_scheme(file, text=text)


def _user(user):
    return user if user is not None and user.is_authenticated else None


def _refuse(rs: ResolvedScheme, path: tuple, message: str) -> SchemeError:
    """Return a SchemeError at the line of `path` (a problem the engine cannot see alone)."""
    line, col = rs.positions.of(path) or (None, None)
    return SchemeError(rs.file, [Problem(message, line, col, ".".join(map(str, path)))], rs.text)


def _entity_name(table: str) -> str:
    spec = TABLES.get(table)
    return f"{spec.label}（{table}）" if spec else table


def check_fits(
    rs: ResolvedScheme, scheme: Scheme | None, editing: SchemeVersion | None = None
) -> None:
    """Refuse a version that cannot belong to `scheme` (or to a new scheme, if None); when
    `editing` a draft, its own old text does not count."""
    s = rs.scheme
    if scheme is None:
        if s.id in RESERVED_CODES:
            raise _refuse(rs, ("id",), f"方案代码 '{s.id}' 为系统保留，请换一个 id")
        return
    if s.id != scheme.code:
        raise _refuse(
            rs,
            ("id",),
            f"这是方案 '{scheme.code}' 的版本，id 不能改为 '{s.id}'；"
            "另建方案请上传一个新的 YAML 文件",
        )
    others = scheme.versions.exclude(pk=editing.pk) if editing is not None else scheme.versions
    if scheme.entity and s.entity != scheme.entity and others.exists():
        raise _refuse(
            rs,
            ("entity",),
            f"方案 '{scheme.code}' 评价的是 {_entity_name(scheme.entity)}，"
            f"新版本不能改为 {_entity_name(s.entity)}；评价别的对象请换一个 id",
        )


def _sync_scheme(scheme: Scheme, rs: ResolvedScheme) -> None:
    """Let the scheme's name, entity and period follow its newest version."""
    s = rs.scheme
    fields = {"name": s.label or s.id, "entity": s.entity, "period": s.period}
    if any(getattr(scheme, k) != v for k, v in fields.items()):
        for k, v in fields.items():
            setattr(scheme, k, v)
        scheme.save(update_fields=list(fields))


@transaction.atomic
def add_version(text: str, user, note: str = "", builtin: bool = False) -> SchemeVersion:
    """Check `text` and store it as a new draft version of its scheme (created if new)."""
    rs = check_yaml(text)
    s = rs.scheme
    scheme = Scheme.objects.select_for_update().filter(code=s.id).first()
    check_fits(rs, scheme)
    if scheme is None:
        scheme = Scheme.objects.create(
            code=s.id,
            name=s.label or s.id,
            entity=s.entity,
            period=s.period,
            builtin=builtin,
            created_by=_user(user),
        )
    else:
        _sync_scheme(scheme, rs)
    last = scheme.versions.order_by("-number").first()
    version = SchemeVersion.objects.create(
        scheme=scheme,
        number=(last.number + 1) if last else 1,
        yaml=text,
        note=note,
        created_by=_user(user),
    )
    record(
        user,
        "scheme.version.create",
        version,
        after={"scheme": scheme.code, "number": version.number, "note": note, "yaml": text},
    )
    return version


@transaction.atomic
def update_draft(version: SchemeVersion, text: str, user, note: str | None = None):
    """Replace a draft's YAML (and note) after checking it; a published version refuses."""
    version = SchemeVersion.objects.select_for_update().select_related("scheme").get(pk=version.pk)
    if version.is_published:
        raise ValidationError("已发布的版本不可修改；请基于此版本新建草稿。")
    rs = check_yaml(text, f"{version.scheme.code}-v{version.number}.yaml")
    check_fits(rs, version.scheme, editing=version)
    before = {"yaml": version.yaml, "note": version.note}
    version.yaml = text
    if note is not None:
        version.note = note
    version.save()
    if not version.scheme.versions.filter(number__gt=version.number).exists():
        _sync_scheme(version.scheme, rs)
    record(
        user,
        "scheme.version.edit",
        version,
        before=before,
        after={"yaml": version.yaml, "note": version.note},
    )
    return version


@transaction.atomic
def copy_version(version: SchemeVersion, user) -> SchemeVersion:
    """Start a new draft with the YAML of `version` (the way to change a published one); the
    YAML's own `version:` becomes the new draft's number, so the file says which it is."""
    scheme = Scheme.objects.select_for_update().get(pk=version.scheme_id)
    last = scheme.versions.order_by("-number").first()
    text = with_version_number(version.yaml, last.number + 1)
    return add_version(text, user, note=f"基于第 {version.number} 版")


@transaction.atomic
def delete_draft(version: SchemeVersion, user) -> bool:
    """Delete a draft (audited); return whether its scheme went too (no versions left and
    nothing else refers to it). A published version refuses."""
    if version.is_published:
        raise ValidationError("已发布的版本不可删除。")
    scheme = version.scheme
    record(
        user,
        "scheme.version.delete",
        version,
        before={
            "scheme": scheme.code,
            "number": version.number,
            "note": version.note,
            "yaml": version.yaml,
        },
    )
    version.delete()
    if scheme.versions.exists() or scheme.builtin or _referenced(scheme):
        return False
    record(user, "scheme.delete", scheme, before={"code": scheme.code, "name": scheme.name})
    scheme.delete()
    return True


def _referenced(scheme: Scheme) -> bool:
    """Return whether ratings or assignments name the scheme (deleting it would erase them)."""
    for label in ("ratings.Rating", "ratings.Assignment"):
        model = apps.get_model(label)
        if model.objects.filter(scheme=scheme).exists():
            return True
    return False


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


@dataclass(frozen=True)
class BuiltinLoaded:
    """What load_builtins did with one built-in scheme."""

    code: str
    version: int | None
    added: bool
    published: bool

    def describe(self) -> str:
        """Return one line for the command's output."""
        what = "已添加" if self.added else "已存在"
        if self.published:
            what += "，已发布"
        return f"{self.code}: {what}" + (f"（第 {self.version} 版）" if self.version else "")


def load_builtins(publish_them: bool = False, user=None) -> list[BuiltinLoaded]:
    """Add every built-in scheme that is absent as version 1; with `publish_them`, publish
    the built-in's draft where the scheme has no published version yet. Idempotent."""
    from pingji.templates import builtin_names, builtin_text

    done = []
    for name in builtin_names():
        text = builtin_text(name)
        code = check_yaml(text, f"{name}.yaml").scheme.id
        with transaction.atomic():
            scheme = Scheme.objects.filter(code=code).first()
            added = published = False
            if scheme is None:
                version = add_version(text, user, note="内置方案", builtin=True)
                added = True
            else:
                version = scheme.versions.filter(yaml=text).order_by("-number").first()
            if (
                publish_them
                and version is not None
                and not version.is_published
                and not version.scheme.versions.filter(status=SchemeVersion.Status.PUBLISHED)
                .exclude(pk=version.pk)
                .exists()
            ):
                publish(version, user)
                published = True
        done.append(BuiltinLoaded(code, version.number if version else None, added, published))
    return done
