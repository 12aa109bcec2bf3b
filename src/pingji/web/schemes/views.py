"""Scheme pages: the list, a scheme's readable page (tree, metrics, grades, …, YAML, versions),
upload a scheme or a new version, edit a draft, publish, copy, delete a draft, diff versions.

Every scheme and version is fetched through `_get_scheme_for_user` / `_get_version_for_user`:
404 for users who may not see schemes, 403 for users who may not change them."""

from __future__ import annotations

import itertools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pingji.data.contract import TABLES
from pingji.errors import Problem, SchemeError
from pingji.scheme.resolve import ResolvedScheme, param_type
from pingji.web.runs.models import Run
from pingji.web.schemes import formedit, outline
from pingji.web.schemes import whatif as whatif_service
from pingji.web.schemes.forms import DraftForm, SchemeYamlForm
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.services import (
    add_version,
    check_fits,
    check_yaml,
    copy_version,
    delete_draft,
    publish,
    resolve_version,
    update_draft,
)

VIEW = "schemes.view_scheme"
ADD = "schemes.add_schemeversion"
CHANGE = "schemes.change_schemeversion"
PUBLISH = "schemes.publish_schemeversion"


# ------------------------------------------------------------------------- access


def _get_scheme_for_user(request: HttpRequest, code: str, perm: str | None = None) -> Scheme:
    """Return the scheme; 404 if the user may not see schemes, 403 if they lack `perm`."""
    if not request.user.has_perm(VIEW):
        raise Http404
    scheme = get_object_or_404(Scheme, code=code)
    if perm is not None and not request.user.has_perm(perm):
        raise PermissionDenied
    return scheme


def _get_version_for_user(
    request: HttpRequest, code: str, number: int, perm: str | None = None
) -> SchemeVersion:
    """Return one version of a scheme; 404 / 403 as `_get_scheme_for_user`."""
    if not request.user.has_perm(VIEW):
        raise Http404
    version = get_object_or_404(
        SchemeVersion.objects.select_related("scheme", "created_by", "published_by"),
        scheme__code=code,
        number=number,
    )
    if perm is not None and not request.user.has_perm(perm):
        raise PermissionDenied
    return version


def _require_add(request: HttpRequest) -> None:
    """Upload needs no object: 404 for users who may not see schemes, 403 if they may not add."""
    if not request.user.has_perm(VIEW):
        raise Http404
    if not request.user.has_perm(ADD):
        raise PermissionDenied


def _version_url(version: SchemeVersion) -> str:
    return reverse("schemes:version", args=[version.scheme.code, version.number])


def _url(name: str, *args) -> str | None:
    """Reverse a page of another app, or None if it is not there (apps are built in parallel)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --------------------------------------------------------------------------- list


SORTS = {
    "code": "code",
    "name": "name",
    "entity": "entity",
    "runs": "-runs",
    "updated": "-updated",
}


@require_GET
def list(request: HttpRequest) -> HttpResponse:
    """Every scheme with its entity, period kind, latest published version, drafts and runs."""
    if not request.user.has_perm(VIEW):
        raise Http404
    q = request.GET.get("q", "").strip()
    entity = request.GET.get("entity", "")
    sort = request.GET.get("sort", "code")
    schemes = Scheme.objects.annotate(
        published=Max("versions__number", filter=Q(versions__status="published")),
        latest=Max("versions__number"),
        drafts=Count("versions", filter=Q(versions__status="draft"), distinct=True),
        runs=Count("versions__runs", distinct=True),
        updated=Max("versions__created_at"),
    )
    if q:
        schemes = schemes.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if entity:
        schemes = schemes.filter(entity=entity)
    schemes = schemes.order_by(SORTS.get(sort, "code"), "code")
    entities = [(k, t.label) for k, t in TABLES.items() if t.kind == "entity"]
    rows = [
        {
            "scheme": s,
            "entity_label": outline.entity_label(s.entity),
            "period_label": outline.PERIOD_LABELS.get(s.period, s.period),
        }
        for s in schemes
    ]
    return render(
        request,
        "schemes/list.html",
        {
            "rows": rows,
            "q": q,
            "entity": entity,
            "sort": sort,
            "entities": entities,
            "can_add": request.user.has_perm(ADD),
        },
    )


# ------------------------------------------------------------------ scheme page


@require_GET
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """A scheme's page at its current version: the latest published, else the newest draft."""
    scheme = _get_scheme_for_user(request, code)
    version = (
        scheme.versions.filter(status=SchemeVersion.Status.PUBLISHED).order_by("-number").first()
        or scheme.versions.order_by("-number").first()
    )
    return _render_version(request, scheme, version)


@require_GET
def version(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """One version of a scheme, shown readably."""
    v = _get_version_for_user(request, code, number)
    return _render_version(request, v.scheme, v)


def _classes(rs: ResolvedScheme) -> list[dict]:
    """Return the class rules in the order that decides `class` (precedence, then the rest)."""
    c = rs.scheme.classes
    if c is None:
        return []
    order = [*(c.precedence or [])]
    order += [r.id for r in c.rules if r.id not in order]
    by_id = {r.id: r for r in c.rules}
    return [
        {"rank": i, "rule": by_id[rid], "listed": rid in (c.precedence or [])}
        for i, rid in enumerate(order, start=1)
        if rid in by_id
    ]


def _params(rs: ResolvedScheme) -> list[dict]:
    return [
        {
            "name": name,
            "param": p,
            "type": outline.TYPE_LABELS.get(p.type or param_type(p.default), p.type),
            "default": outline.num(p.default)
            if isinstance(p.default, int | float) and not isinstance(p.default, bool)
            else p.default,
        }
        for name, p in rs.scheme.params.items()
    ]


def _checks(rs: ResolvedScheme) -> list[dict]:
    return [
        {
            "check": c,
            "words": (
                f"{'全部对象' if c.among == 'true' else '满足 ' + c.among + ' 的对象'}中，"
                f"{c.share_of} 成立的比例至少 {outline.num(c.at_least * 100)}%"
            ),
        }
        for c in rs.scheme.checks
    ]


def _render_version(
    request: HttpRequest, scheme: Scheme, version: SchemeVersion | None
) -> HttpResponse:
    versions = [
        *scheme.versions.select_related("created_by", "published_by")
        .annotate(run_count=Count("runs"))
        .order_by("-number")
    ]
    for newer, older in itertools.pairwise(versions):
        newer.previous_number = older.number
    context = {
        "scheme": scheme,
        "version": version,
        "versions": versions,
        "run_count": sum(v.run_count for v in versions),
        "entity_label": outline.entity_label(scheme.entity),
        "period_label": outline.PERIOD_LABELS.get(scheme.period, scheme.period),
        "can_add": request.user.has_perm(ADD),
        "can_change": request.user.has_perm(CHANGE),
        "can_publish": request.user.has_perm(PUBLISH),
    }
    user = request.user
    if user.has_perm("runs.view_run") and (runs_url := _url("runs:list")):
        context["runs_url"] = f"{runs_url}?scheme={scheme.code}"
        recent = (
            Run.objects.filter(scheme_version__scheme=scheme)
            .select_related("scheme_version", "created_by")
            .order_by("-created_at", "-id")[:10]
        )
        context["recent_runs"] = [(r, _url("runs:detail", r.pk)) for r in recent]
    if (
        version is not None
        and version.is_published
        and user.has_perm("runs.add_run")
        and (new_url := _url("runs:new"))
    ):
        context["run_url"] = f"{new_url}?version={version.pk}"
    if version is None:
        return render(request, "schemes/detail.html", context)
    previous = next((v for v in versions if v.number < version.number), None)
    context["previous"] = previous
    try:
        rs = resolve_version(version)
    except SchemeError as err:
        context["problems"] = err.problems
        context["lines"] = outline.yaml_lines(version.yaml, err.problems)
        return render(request, "schemes/detail.html", context)
    s = rs.scheme
    colors = outline.level_colors(rs)
    nodes = outline.node_rows(rs)
    context.update(
        {
            "rs": rs,
            "s": s,
            "nodes": nodes,
            "has_pass": any(n.passing for n in nodes),
            "figure": outline.tree_figure(rs),
            "metrics": outline.metric_rows(rs),
            "levels": outline.level_rows(rs),
            "grades": s.grades,
            "grade_colors": colors,
            "class_rows": _classes(rs),
            "params": _params(rs),
            "checks": _checks(rs),
            "lines": outline.yaml_lines(version.yaml),
            "manual": [rn for rn in rs.leaves() if rn.node.rule.kind == "manual"],
        }
    )
    return render(request, "schemes/detail.html", context)


@require_GET
def yaml(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The version's YAML as a file."""
    v = _get_version_for_user(request, code, number)
    response = HttpResponse(v.yaml, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{v.scheme.code}-v{v.number}.yaml"'
    return response


# ------------------------------------------------------------------ upload / edit


def _problems_of(
    text: str, filename: str, scheme_for, editing: SchemeVersion | None = None
) -> tuple[ResolvedScheme | None, list]:
    """Check YAML and that it fits its scheme; return (resolved scheme, []) or (None, problems)."""
    try:
        rs = check_yaml(text, filename)
        check_fits(rs, scheme_for(rs), editing=editing)
    except SchemeError as err:
        return None, err.problems or [Problem(str(err))]
    return rs, []


def _existing(rs: ResolvedScheme) -> Scheme | None:
    return Scheme.objects.filter(code=rs.scheme.id).first()


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Upload or paste a scheme: a new scheme, or a new draft version of the scheme its id names."""
    _require_add(request)
    context: dict = {"mode": "upload"}
    if request.method == "GET":
        form = SchemeYamlForm()
        code = request.GET.get("scheme")
        if code:
            context["target"] = Scheme.objects.filter(code=code).first()
        context["form"] = form
        return render(request, "schemes/form.html", context)

    form = SchemeYamlForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "schemes/form.html", context)
    text, filename = form.cleaned_data["text"], form.cleaned_data["filename"]
    note = form.cleaned_data.get("note") or ""
    rs, problems = _problems_of(text, filename, _existing)
    if form.cleaned_data.get("file") is not None:
        # let the user fix a file's problems right here in the text area
        context["form"] = SchemeYamlForm(initial={"yaml": text, "note": note})
    if problems:
        context.update(
            problems=problems, lines=outline.yaml_lines(text, problems), filename=filename
        )
        return render(request, "schemes/form.html", context)
    scheme = _existing(rs)
    same = scheme.versions.filter(yaml=text).order_by("-number").first() if scheme else None
    if same is not None:
        context["refused"] = _("与方案 %(code)s 的第 %(number)s 版内容完全相同，未保存新版本。") % {
            "code": scheme.code,
            "number": same.number,
        }
        context["same"] = same
        return render(request, "schemes/form.html", context)
    if request.POST.get("action") == "check":
        context.update(checked=rs, scheme=scheme, lines=outline.yaml_lines(text))
        return render(request, "schemes/form.html", context)
    try:
        version = add_version(text, request.user, note=note)
    except SchemeError as err:  # changed meanwhile (e.g. another upload created the scheme)
        context.update(problems=err.problems, lines=outline.yaml_lines(text, err.problems))
        return render(request, "schemes/form.html", context)
    if version.number == 1:
        messages.success(
            request,
            _("已新建方案 %(name)s（%(code)s），第 1 版为草稿。")
            % {"name": version.scheme.name, "code": version.scheme.code},
        )
    else:
        messages.success(
            request,
            _("已保存为方案 %(code)s 的第 %(number)s 版（草稿）。")
            % {"code": version.scheme.code, "number": version.number},
        )
    return redirect(_version_url(version))


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Edit a draft's YAML; a published version cannot be edited (copy it to a new draft)."""
    version = _get_version_for_user(request, code, number, perm=CHANGE)
    if version.is_published:
        messages.error(
            request,
            _("第 %(number)s 版已发布，不可修改；请点击“基于此版本新建草稿”。")
            % {"number": version.number},
        )
        return redirect(_version_url(version))
    context: dict = {"mode": "edit", "version": version, "scheme": version.scheme}
    if request.method == "GET":
        context["form"] = DraftForm(initial={"yaml": version.yaml, "note": version.note})
        return render(request, "schemes/form.html", context)

    form = DraftForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "schemes/form.html", context)
    text, note = form.cleaned_data["text"], form.cleaned_data.get("note") or ""
    rs, problems = _problems_of(
        text, f"{code}-v{number}.yaml", lambda rs: version.scheme, editing=version
    )
    if problems:
        context.update(problems=problems, lines=outline.yaml_lines(text, problems))
        return render(request, "schemes/form.html", context)
    if request.POST.get("action") == "check":
        context.update(checked=rs, lines=outline.yaml_lines(text))
        return render(request, "schemes/form.html", context)
    if text == version.yaml and note == version.note:
        messages.info(request, _("内容没有变化。"))
        return redirect(_version_url(version))
    try:
        update_draft(version, text, request.user, note=note)
    except SchemeError as err:
        context.update(problems=err.problems, lines=outline.yaml_lines(text, err.problems))
        return render(request, "schemes/form.html", context)
    except ValidationError:  # published meanwhile
        messages.error(request, _("此版本已发布，不可修改；请基于此版本新建草稿。"))
        return redirect(_version_url(version))
    messages.success(request, _("草稿已保存。"))
    return redirect(_version_url(version))


# ------------------------------------------------------------ form editor / what-if


def _draft_for_user(
    request: HttpRequest, code: str, number: int, preview: bool = False
) -> SchemeVersion | None:
    """Return a draft the user may change; None (with a message) if it is published."""
    version = _get_version_for_user(request, code, number, perm=CHANGE)
    if version.is_published:
        text = (
            _("发布前预览只用于草稿；已发布的版本请运行后用“对比两次运行”查看。")
            if preview
            else _("第 %(number)s 版已发布，不可修改；请点击“基于此版本新建草稿”。")
            % {"number": version.number}
        )
        messages.error(request, text)
        return None
    return version


@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Edit a draft's weights, thresholds, pass marks, grade bands, colours and labels in a
    form; the same YAML is written (only the changed values' characters change)."""
    version = _draft_for_user(request, code, number)
    if version is None:
        return redirect("schemes:version", code=code, number=number)
    try:
        form = formedit.SchemeForm(resolve_version(version))
    except SchemeError:
        messages.error(request, _("草稿的 YAML 有问题，表单无法打开；请先在 YAML 编辑器中修正。"))
        return redirect("schemes:edit", code=code, number=number)
    context: dict = {"version": version, "scheme": version.scheme, "form": form}
    context["note"] = version.note
    if request.method == "GET":
        return render(request, "schemes/form_editor.html", context)

    note = request.POST.get("note", version.note).strip()[:300]
    context["note"] = note
    if request.POST.get("digest") != form.digest:
        form.errors.append(_("草稿在你打开表单后已被修改；请重新打开表单再改。"))
        return render(request, "schemes/form_editor.html", context, status=409)
    if not form.bind(request.POST):
        return render(request, "schemes/form_editor.html", context)
    try:
        text = form.new_text()
    except formedit.FormProblem as err:
        form.errors.append(str(err))
        return render(request, "schemes/form_editor.html", context)
    if text == version.yaml and note == version.note:
        messages.info(request, _("内容没有变化。"))
        return redirect(_version_url(version))
    _checked, problems = _problems_of(
        text, f"{code}-v{number}.yaml", lambda rs: version.scheme, editing=version
    )
    if problems:
        _place_problems(form, problems)
        return render(request, "schemes/form_editor.html", context)
    try:
        update_draft(version, text, request.user, note=note)
    except SchemeError as err:
        _place_problems(form, err.problems)
        return render(request, "schemes/form_editor.html", context)
    except ValidationError:  # published meanwhile
        messages.error(request, _("此版本已发布，不可修改；请基于此版本新建草稿。"))
        return redirect(_version_url(version))
    messages.success(request, _("草稿已保存。"))
    return redirect(_version_url(version))


def _place_problems(form: formedit.SchemeForm, problems: list) -> None:
    """Show each problem of the whole-scheme check at its field (the field at its path, else
    the first field under it), or above the form when no field is there."""
    for p in problems:
        path = p.path or ""
        field = next((f for f in form.fields if f.name == path), None) or next(
            (f for f in form.fields if path and f.name.startswith(path + ".")), None
        )
        if field is not None and field.error is None:
            field.error = str(p.message)  # worded in the request's language
        else:
            where = _("第 %(line)s 行：") % {"line": p.line} if p.line else ""
            form.errors.append(f"{where}{p.message}")


@require_GET
def whatif(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """What-if preview: the draft evaluated on the data of the scheme's latest run, its
    grade distribution and migration matrix against that run's."""
    version = _draft_for_user(request, code, number, preview=True)
    if version is None:
        return redirect("schemes:version", code=code, number=number)
    context: dict = {"version": version, "scheme": version.scheme}
    try:
        resolve_version(version)
    except SchemeError:
        context["refused"] = _("草稿的 YAML 有问题，无法预览；请先修正。")
        return render(request, "schemes/whatif.html", context)
    try:
        context["preview"] = whatif_service.preview(version)
    except whatif_service.WhatIfRefused as err:
        context["refused"] = str(err)
    context["can_publish"] = request.user.has_perm(PUBLISH)
    return render(request, "schemes/whatif.html", context)


# ------------------------------------------------------------ publish / copy / delete


@require_POST
def publish_version(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Publish a draft: from then on it is immutable and can be run."""
    version = _get_version_for_user(request, code, number, perm=PUBLISH)
    if version.is_published:
        messages.info(request, _("第 %(number)s 版已经发布。") % {"number": version.number})
        return redirect(_version_url(version))
    try:
        publish(version, request.user)
    except SchemeError as err:
        messages.error(
            request,
            _("不能发布：方案有问题。") + " " + "; ".join(str(p.message) for p in err.problems),
        )
        return redirect(_version_url(version))
    messages.success(
        request,
        _("已发布第 %(number)s 版；发布后不可修改，可用于评价运行。") % {"number": version.number},
    )
    return redirect(_version_url(version))


@require_POST
def copy(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Start a new draft from a version (the way to change a published one)."""
    version = _get_version_for_user(request, code, number, perm=ADD)
    try:
        draft = copy_version(version, request.user)
    except SchemeError as err:
        messages.error(
            request, _("不能新建草稿：") + "; ".join(str(p.message) for p in err.problems)
        )
        return redirect(_version_url(version))
    messages.success(
        request,
        _("已基于第 %(old)s 版新建草稿第 %(new)s 版。")
        % {"old": version.number, "new": draft.number},
    )
    return redirect("schemes:edit", code=draft.scheme.code, number=draft.number)


@require_POST
def delete(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Delete a draft (audited); a published version cannot be deleted."""
    version = _get_version_for_user(request, code, number, perm=CHANGE)
    if version.is_published:
        messages.error(request, _("已发布的版本不可删除。"))
        return redirect(_version_url(version))
    scheme_gone = delete_draft(version, request.user)
    messages.success(request, _("已删除草稿第 %(number)s 版。") % {"number": number})
    if scheme_gone:
        return redirect("schemes:list")
    return redirect("schemes:detail", code=code)


# --------------------------------------------------------------------------- diff


def _number(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise Http404 from None


@require_GET
def diff(request: HttpRequest, code: str) -> HttpResponse:
    """The difference between two versions: changes in words, then the YAML line by line."""
    scheme = _get_scheme_for_user(request, code)
    versions = [*scheme.versions.order_by("-number")]
    context: dict = {"scheme": scheme, "versions": versions}
    if len(versions) < 2:
        return render(request, "schemes/diff.html", context)
    b_no = _number(request.GET.get("b")) or versions[0].number
    b = get_object_or_404(scheme.versions, number=b_no)
    a_no = _number(request.GET.get("a"))
    if a_no is None:
        a = next((v for v in versions if v.number < b.number), None) or versions[1]
    else:
        a = get_object_or_404(scheme.versions, number=a_no)
    full = request.GET.get("full") == "1"
    rows, removed, added = outline.diff_rows(a.yaml, b.yaml, context=None if full else 3)
    changes: list[str] | None
    try:
        changes = outline.structural_changes(resolve_version(a), resolve_version(b))
    except SchemeError:
        changes = None  # a version the engine no longer accepts: the line diff still shows
    context.update(
        a=a, b=b, pair=[a, b], rows=rows, removed=removed, added=added, changes=changes, full=full
    )
    return render(request, "schemes/diff.html", context)
