"""The form that starts an evaluation run: a published scheme version, a period of the
scheme's kind, and the scheme's parameters (one typed field each, defaults filled in)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from pingji.engine.plan import resolve_params
from pingji.errors import PingjiError
from pingji.periods import Period
from pingji.scheme.resolve import ResolvedScheme, param_type
from pingji.web.schemes.models import SchemeVersion

PERIOD_KINDS = {"year": _("年度"), "quarter": _("季度"), "month": _("月度")}
PARAM_PREFIX = "param_"


def published_versions():
    """The versions a run may use: published ones, by scheme name, newest version first."""
    return (
        SchemeVersion.objects.filter(status=SchemeVersion.Status.PUBLISHED)
        .select_related("scheme")
        .order_by("scheme__name", "scheme__code", "-number")
    )


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SchemeVersion) -> str:
        return f"{obj.scheme.name} · v{obj.number}  ({obj.scheme.code})"


def _text(value) -> str:
    """A parameter value as the text the engine parses (`--param name=value`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


class RunForm(forms.Form):
    """Start a run. Built for one scheme version (`rs` its resolved scheme, or None before a
    version is chosen): the parameter fields are the scheme's own."""

    version = VersionChoiceField(
        label=_("方案版本"),
        queryset=SchemeVersion.objects.none(),
        empty_label=_("— 请选择 —"),
        # app.js reloads the page for the chosen version: its parameters become the fields
        widget=forms.Select(attrs={"data-reload-with": "version"}),
    )
    period = forms.CharField(label=_("期间"), max_length=20)
    # asked for only when the period has no data (the page warns first)
    allow_empty = forms.BooleanField(label=_("仍然运行（期间内没有数据）"), required=False)

    def __init__(self, *args, rs: ResolvedScheme | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rs = rs
        self.fields["version"].queryset = published_versions()
        self.param_names: list[str] = []
        if rs is None:
            return
        kind = rs.scheme.period
        example = Period.example(kind)
        self.fields["period"].help_text = _("本方案按%(kind)s评价，例如 %(example)s") % {
            "kind": PERIOD_KINDS[kind],
            "example": example,
        }
        self.fields["period"].widget.attrs["placeholder"] = example
        for name, p in (rs.scheme.params or {}).items():
            kind = p.type or param_type(p.default)
            label = p.label or name
            help_parts = [p.description] if p.description else []
            help_parts.append(_("默认值：%(value)s") % {"value": _text(p.default)})
            common = {"label": label, "initial": p.default, "help_text": " · ".join(help_parts)}
            if kind == "bool":
                field = forms.BooleanField(required=False, **common)
            elif kind == "integer":
                field = forms.IntegerField(**common)
            elif kind in ("money", "number"):
                field = forms.DecimalField(**common)
                field.widget.attrs["step"] = "any"
            else:
                field = forms.CharField(max_length=200, required=False, **common)
            field.widget.attrs["data-param"] = name
            self.fields[PARAM_PREFIX + name] = field
            self.param_names.append(name)

    def param_fields(self) -> list[tuple[str, forms.BoundField]]:
        """(parameter name, its bound field), in the scheme's order."""
        return [(n, self[PARAM_PREFIX + n]) for n in self.param_names]

    def clean_period(self) -> str:
        text = self.cleaned_data["period"].strip()
        if self.rs is None:
            return text
        kind = self.rs.scheme.period
        try:
            return str(Period.parse(text, kind))
        except PingjiError:
            raise forms.ValidationError(
                _("“%(value)s”不是本方案的期间：本方案按%(kind)s评价，请填写如 %(example)s。"),
                params={"value": text, "kind": PERIOD_KINDS[kind], "example": Period.example(kind)},
                code="period",
            ) from None

    def clean(self):
        data = super().clean()
        if self.rs is None:
            return data
        params = {
            n: _text(data[PARAM_PREFIX + n])
            for n in self.param_names
            if data.get(PARAM_PREFIX + n) is not None
        }
        try:  # the engine's own parsing: what it would refuse, the form refuses
            resolve_params(self.rs, params)
        except PingjiError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["params"] = params
        return data
