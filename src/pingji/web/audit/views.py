"""The audit log page (administrators only; everyone else gets 404): newest first, 50 a
page, filtered by user, action, object type, object and date range; each event opens to
show its values before and after, changed keys highlighted."""

from __future__ import annotations

import csv
import difflib
import json
from datetime import datetime, time, timedelta

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from pingji.output.cells import neutralise
from pingji.web.audit.models import AuditEvent

PAGE_SIZE = 50

# Object pages to link an event to, by object type (when that page exists).
OBJECT_PAGES = {
    "runs.run": ("runs:detail", "run_id"),
    "auth.user": ("accounts:user_edit", "user_id"),
}


# What the actions recorded across the application mean, in words.
ACTION_LABELS = {
    "user.create": gettext_lazy("新建用户"),
    "user.change": gettext_lazy("修改用户"),
    "user.roles": gettext_lazy("修改角色"),
    "user.password": gettext_lazy("修改密码"),
    "department.create": gettext_lazy("新建部门"),
    "department.change": gettext_lazy("修改部门"),
    "token.create": gettext_lazy("创建接口令牌"),
    "token.revoke": gettext_lazy("吊销接口令牌"),
    "import.commit": gettext_lazy("导入数据批次"),
    "import.withdraw": gettext_lazy("撤回数据批次"),
    "scheme.version.create": gettext_lazy("新建方案版本"),
    "scheme.version.publish": gettext_lazy("发布方案版本"),
    "scheme.version.edit": gettext_lazy("修改方案草稿"),
    "scheme.version.delete": gettext_lazy("删除方案草稿"),
    "scheme.delete": gettext_lazy("删除方案"),
    "run.create": gettext_lazy("发起评价运行"),
    "run.void": gettext_lazy("作废评价运行"),
    "run.restore": gettext_lazy("恢复评价运行"),
    "view.save": gettext_lazy("保存筛选视图"),
    "view.delete": gettext_lazy("删除筛选视图"),
    "rating.save": gettext_lazy("保存人工评分"),
    "rating.submit": gettext_lazy("提交人工评分"),
    "rating.approve": gettext_lazy("批准人工评分"),
    "rating.reject": gettext_lazy("退回人工评分"),
    "rating.delete": gettext_lazy("删除人工评分草稿"),
    "rating.assignment.create": gettext_lazy("新建评分分工"),
    "rating.assignment.change": gettext_lazy("修改评分分工"),
    "rating.assignment.delete": gettext_lazy("删除评分分工"),
    "assignment.create": gettext_lazy("新建评分分工"),
}
PREFIX_LABELS = {
    "user": gettext_lazy("用户"),
    "department": gettext_lazy("部门"),
    "token": gettext_lazy("接口令牌"),
    "import": gettext_lazy("数据导入"),
    "scheme": gettext_lazy("评价方案"),
    "run": gettext_lazy("评价运行"),
    "view": gettext_lazy("筛选视图"),
    "rating": gettext_lazy("人工评分"),
    "assignment": gettext_lazy("评分分工"),
}


def type_label(object_type: str) -> str:
    """A model's name in words ("runs.run" → 评价运行), or the type itself."""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def _require_audit_reader(request: HttpRequest) -> None:
    if not request.user.has_perm("audit.view_auditevent"):
        raise Http404


def _day(text: str):
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def _filtered(request: HttpRequest):
    """The events matching the query string's filters, and the filters as understood."""
    g = request.GET
    f = {k: g.get(k, "").strip() for k in ("user", "action", "object_type", "object_id", "q")}
    f["start"], f["end"] = _day(g.get("start", "")), _day(g.get("end", ""))
    errors = [
        _("日期 %(value)s 无法识别，应为 YYYY-MM-DD。") % {"value": g.get(k)}
        for k in ("start", "end")
        if g.get(k, "").strip() and f[k] is None
    ]
    qs = AuditEvent.objects.all()
    if f["user"]:
        qs = qs.filter(username=f["user"])
    if f["action"]:
        qs = qs.filter(action__startswith=f["action"])
    if f["object_type"]:
        qs = qs.filter(object_type=f["object_type"])
    if f["object_id"]:
        qs = qs.filter(object_id=f["object_id"])
    if f["q"]:
        qs = qs.filter(object_repr__icontains=f["q"])
    tz = timezone.get_current_timezone()
    if f["start"]:
        qs = qs.filter(at__gte=datetime.combine(f["start"], time.min, tzinfo=tz))
    if f["end"]:  # the whole end day is included
        qs = qs.filter(at__lt=datetime.combine(f["end"] + timedelta(days=1), time.min, tzinfo=tz))
    return qs.order_by("-at", "-id"), f, errors


# Words for the keys events record that are not a field of the object's model (the model's
# own fields are named by their verbose_name).
KEY_LABELS = {
    "scheme": gettext_lazy("评价方案"),
    "version": gettext_lazy("版本"),
    "number": gettext_lazy("版本号"),
    "yaml": gettext_lazy("方案 YAML"),
    "note": gettext_lazy("说明"),
    "status": gettext_lazy("状态"),
    "table": gettext_lazy("数据表"),
    "file": gettext_lazy("文件"),
    "rows": gettext_lazy("行数"),
    "checksum": gettext_lazy("校验和"),
    "min_date": gettext_lazy("最早日期"),
    "max_date": gettext_lazy("最晚日期"),
    "reason": gettext_lazy("原因"),
    "period": gettext_lazy("期间"),
    "params": gettext_lazy("参数"),
    "batches": gettext_lazy("数据批次"),
    "roles": gettext_lazy("角色"),
    "role": gettext_lazy("角色"),
    "password": gettext_lazy("密码"),
    "department": gettext_lazy("部门"),
    "indicator": gettext_lazy("指标"),
    "entity_id": gettext_lazy("评价对象"),
    "entity_ids": gettext_lazy("评价对象"),
    "score": gettext_lazy("评分"),
    "comment": gettext_lazy("评语"),
    "review_note": gettext_lazy("审核意见"),
    "deadline": gettext_lazy("截止日期"),
    "blind": gettext_lazy("盲评"),
    "is_active": gettext_lazy("启用"),
}

# A text value of more lines than this, changed, is shown as a unified diff (a scheme's YAML)
DIFF_FROM_LINES = 4


def _field(object_type: str, key: str):
    """Return the model field an event's key names, or None."""
    try:
        return apps.get_model(object_type)._meta.get_field(key)
    except (LookupError, ValueError, FieldDoesNotExist):
        return None


def key_label(object_type: str, key: str) -> str:
    """Return an event key in words: the field's verbose_name, a known key's label, or the key."""
    field = _field(object_type, key) if object_type else None
    name = getattr(field, "verbose_name", None)
    if name and str(name) != key.replace("_", " "):
        return str(name)
    return str(KEY_LABELS.get(key, key))


def _human(object_type: str, key: str, value):
    """Return a stored value in words where the field has choices (status "submitted" → 已提交)."""
    field = _field(object_type, key) if object_type else None
    choices = dict(getattr(field, "flatchoices", None) or ())
    if isinstance(value, str) and value in choices:
        return str(choices[value])
    return value


def _text_diff(before, after) -> list[dict]:
    """Return a unified diff of two long texts as lines with their kind (+, -, @ or space)."""
    lines = difflib.unified_diff(
        str(before).splitlines(), str(after).splitlines(), _("修改前"), _("修改后"), lineterm=""
    )
    return [{"kind": line[:1] if line[:1] in "+-@" else " ", "text": line} for line in lines]


def _long_text(value) -> bool:
    return isinstance(value, str) and value.count("\n") >= DIFF_FROM_LINES


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return str(value)


def diff(before, after, object_type: str = "") -> list[dict]:
    """Key by key: the value before, the value after, and whether it changed. Keys in the
    order they first appear (before, then keys only after has); each with its label (the
    field's name in words) and values in words (choices' labels). A long text changed on
    both sides (a scheme's YAML) gets `lines`, a unified diff, instead of both texts."""
    b = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    a = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    keys = list(b) + [k for k in a if k not in b]
    rows = []
    for k in keys:
        changed = (k in b) != (k in a) or b.get(k) != a.get(k)
        both_long = k in b and k in a and _long_text(b[k]) and _long_text(a[k])
        rows.append(
            {
                "key": k,
                "label": key_label(object_type, k),
                "before": _show(_human(object_type, k, b.get(k))) if k in b else "",
                "after": _show(_human(object_type, k, a.get(k))) if k in a else "",
                "changed": changed,
                "in_before": k in b,
                "in_after": k in a,
                "lines": _text_diff(b[k], a[k]) if changed and both_long else None,
            }
        )
    return rows


def _link(event: AuditEvent) -> str | None:
    target = OBJECT_PAGES.get(event.object_type)
    if not target or not event.object_id.isdigit():
        return None
    try:
        return reverse(target[0], kwargs={target[1]: int(event.object_id)})
    except NoReverseMatch:
        return None


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    """The audit log, filtered and paginated; ?format=csv exports the filtered events."""
    _require_audit_reader(request)
    qs, f, errors = _filtered(request)
    if request.GET.get("format") == "csv":
        return _csv(qs)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for e in page:
        d = diff(e.before, e.after, e.object_type)
        changed = [x["key"] for x in d if x["changed"] and e.before is not None]
        rows.append(
            {
                "event": e,
                "diff": d,
                "changed": changed,
                "changed_labels": [x["label"] for x in d if x["changed"] and e.before is not None],
                "link": _link(e),
                "action_label": ACTION_LABELS.get(e.action, ""),
                "type_label": type_label(e.object_type) if e.object_type else "",
            }
        )
    facets = AuditEvent.objects.order_by()
    context = {
        "page": page,
        "rows": rows,
        "filters": f,
        "errors": errors,
        "usernames": sorted(set(facets.values_list("username", flat=True).distinct())),
        "object_types": [
            (t, type_label(t))
            for t in sorted(set(facets.values_list("object_type", flat=True).distinct()))
            if t
        ],
        "action_prefixes": [
            (p, PREFIX_LABELS.get(p, p))
            for p in sorted(
                {a.split(".")[0] for a in facets.values_list("action", flat=True).distinct()}
            )
        ],
    }
    return render(request, "audit/list.html", context)


class _Echo:
    def write(self, value):
        return value


def _csv(qs) -> StreamingHttpResponse:
    """The filtered events as CSV (UTF-8 with BOM so Excel shows Chinese correctly)."""
    writer = csv.writer(_Echo())
    header = ["时间", "用户", "操作", "对象类型", "对象编号", "对象", "修改前", "修改后", "说明"]
    tz = timezone.get_current_timezone()

    def rows():
        yield "\ufeff" + writer.writerow(header)
        for e in qs.iterator(chunk_size=2000):
            yield writer.writerow(
                neutralise(value)  # names and values people typed: never a formula
                for value in [
                    timezone.localtime(e.at, tz).strftime("%Y-%m-%d %H:%M:%S"),
                    e.username,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_repr,
                    "" if e.before is None else json.dumps(e.before, ensure_ascii=False),
                    "" if e.after is None else json.dumps(e.after, ensure_ascii=False),
                    e.note,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
