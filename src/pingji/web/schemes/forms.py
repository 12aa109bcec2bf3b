"""Forms: a scheme's YAML, uploaded as a file or pasted/edited in a text area."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pingji.scheme.loader import MAX_SCHEME_BYTES


def check_size(size: int, name: str) -> None:
    """Refuse a scheme larger than the one limit every way of giving a scheme shares."""
    if size > MAX_SCHEME_BYTES:
        raise forms.ValidationError(
            _("%(name)s 太大（%(size)s 字节）；方案文件不超过 1 MB。"),
            params={"name": name, "size": f"{size:,}"},
        )


def normalise(text: str) -> str:
    """Return YAML text with Unix line endings, no byte-order mark and one final newline."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n" if text.strip() else ""


def decode(data: bytes, name: str) -> str:
    """Decode an uploaded file: UTF-8 (with or without BOM), else GB18030 (Windows Chinese)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise forms.ValidationError(
        _("文件 %(name)s 不是文本文件（应为 UTF-8 或 GBK 编码的 YAML）。"),
        params={"name": name},
    )


class SchemeYamlForm(forms.Form):
    """A new scheme or version: a YAML file, or YAML pasted into the text area."""

    file = forms.FileField(label=_("YAML 文件"), required=False)
    yaml = forms.CharField(
        label=_("或粘贴 YAML"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 28}),
    )
    note = forms.CharField(label=_("版本说明"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            check_size(upload.size, upload.name)
            text = decode(upload.read(), upload.name)
            data["filename"] = upload.name
        else:
            text = data.get("yaml") or ""
            data["filename"] = "scheme.yaml"
            check_size(len(text.encode()), _("粘贴的 YAML"))
        data["text"] = normalise(text)
        if not data["text"]:
            raise forms.ValidationError(_("请选择一个 YAML 文件，或在文本框中粘贴方案内容。"))
        return data


class DraftForm(forms.Form):
    """Edit a draft: its YAML and note."""

    yaml = forms.CharField(
        label="YAML",
        strip=False,
        widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 32}),
    )
    note = forms.CharField(label=_("版本说明"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        data["text"] = normalise(data.get("yaml") or "")
        if not data["text"]:
            raise forms.ValidationError(_("YAML 不能为空。"))
        check_size(len(data["text"].encode()), "YAML")
        data["filename"] = "scheme.yaml"
        return data
