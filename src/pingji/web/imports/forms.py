"""Forms of the import pages: upload a file of a contract table; withdraw a batch."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from pingji.data.batches import UPLOAD_SUFFIXES
from pingji.data.contract import TABLES
from pingji.web.imports.tables import declared, spec_of


def table_label(name: str) -> str:
    """A table as users see it: 客户 (customers)."""
    spec = spec_of(name)
    return f"{spec.label}（{name}）" if spec and spec.label else name


def table_choices() -> list:
    """The contract tables, entity tables first, grouped; then the tables that published
    schemes declare."""
    entities = [(n, table_label(n)) for n, s in TABLES.items() if s.kind == "entity"]
    # facts, and the reference table `calendar` (working days)
    facts = [(n, table_label(n)) for n, s in TABLES.items() if s.kind != "entity"]
    choices = [("", "—"), (_("评价对象"), entities), (_("业务数据"), facts)]
    own = [(n, table_label(n)) for n in declared()]
    return [*choices, (_("方案自定义的数据表"), own)] if own else choices


class UploadForm(forms.Form):
    table = forms.ChoiceField(label=_("数据表"), choices=table_choices)
    file = forms.FileField(
        label=_("文件"),
        help_text=_("CSV（UTF-8）、Excel（.xlsx，读取第一个工作表）或 Parquet；第一行为表头。"),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if Path(file.name or "").suffix.lower() not in UPLOAD_SUFFIXES:
            raise forms.ValidationError(
                _("只接受 CSV、XLSX 或 Parquet 文件（收到的是 %(name)s）。"),
                params={"name": file.name},
            )
        return file


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回原因"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 50}),
        error_messages={"required": _("请填写撤回原因。")},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写撤回原因。"))
        return reason
