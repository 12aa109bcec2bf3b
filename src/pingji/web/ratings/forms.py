"""Forms of the ratings pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pingji.errors import BadInput
from pingji.web.accounts.models import Department
from pingji.web.ratings.indicators import RatedScheme
from pingji.web.ratings.services import parse_entity_ids


class RatingForm(forms.Form):
    """A rater's score and comment for one cell (the scale is checked by the service)."""

    score = forms.DecimalField(
        label=_("分值"),
        max_digits=20,
        decimal_places=4,
        error_messages={"required": _("请填写分值。"), "invalid": _("分值必须是数字。")},
    )
    comment = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, indicator=None, **kwargs):
        super().__init__(*args, **kwargs)
        if indicator is not None:
            attrs = self.fields["score"].widget.attrs
            attrs.update({"min": str(indicator.lo), "max": str(indicator.hi), "step": "any"})
            attrs["autofocus"] = True


class AssignmentForm(forms.Form):
    """Which department rates which manual indicator of which scheme, for which entities."""

    indicator = forms.ChoiceField(label=_("人工指标"))
    department = forms.ModelChoiceField(
        label=_("部门"), queryset=Department.objects.all(), empty_label=None
    )
    entity_ids = forms.CharField(
        label=_("评价对象编号"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _("留空表示全部评价对象；多个编号用逗号、空格或换行分隔"),
            }
        ),
    )

    period = forms.CharField(
        label=_("评分期间"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": _("留空表示当前期间，如 2025、2025-Q4")}),
    )
    deadline = forms.DateField(
        label=_("截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("请填写日期，如 2026-12-15。")},
    )
    blind = forms.BooleanField(label=_("盲评（评分员提交前看不到其他人的分值）"), required=False)

    def __init__(self, *args, schemes: list[RatedScheme] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.schemes = {r.scheme.code: r for r in schemes}
        self.fields["indicator"].choices = [
            (
                f"{r.scheme.name}({r.scheme.code})",
                [
                    (f"{r.scheme.code}:{code}", f"{ind.label}({code})")
                    for code, ind in r.indicators.items()
                ],
            )
            for r in schemes
        ]

    def clean_indicator(self) -> tuple[RatedScheme, str]:
        code, _sep, indicator = self.cleaned_data["indicator"].partition(":")
        rated = self.schemes.get(code)
        if rated is None or indicator not in rated.indicators:
            raise forms.ValidationError(_("请选择一个已发布方案中的人工指标。"))
        return rated, indicator

    def clean_entity_ids(self) -> list[str]:
        return parse_entity_ids(self.cleaned_data["entity_ids"])

    def clean(self):
        cleaned = super().clean()
        chosen, text = cleaned.get("indicator"), (cleaned.get("period") or "").strip()
        if chosen and text:
            try:
                cleaned["period"] = chosen[0].parse_period(text)
            except BadInput as exc:
                self.add_error("period", str(exc))
        return cleaned
