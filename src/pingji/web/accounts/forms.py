"""Forms of the users, departments and tokens pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from pingji.web.accounts.models import Department
from pingji.web.lib.access import ROLE_LABELS, ROLES


def role_choices():
    return [("", _("（无角色）")), *((r, ROLE_LABELS[r]) for r in ROLES)]


class _UserFields(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=150, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    role = forms.ChoiceField(label=_("角色"), choices=role_choices, required=False)
    department = forms.ModelChoiceField(
        label=_("部门"),
        queryset=Department.objects.order_by("code"),
        required=False,
        empty_label=_("（无部门）"),
    )
    is_active = forms.BooleanField(label=_("允许登录"), required=False, initial=True)

    def clean(self):
        data = super().clean()
        if data.get("role") == "rater" and not data.get("department"):
            self.add_error("department", _("评分员须属于一个部门（按部门分配评分任务）。"))
        return data


class _PasswordFields(forms.Form):
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("再次输入密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    user = None  # set by subclasses that know the user, for the similarity check

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif p1:
            try:
                password_validation.validate_password(p1, self.user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class UserCreateForm(_PasswordFields, _UserFields):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("登录用；字母、数字及 @ . + - _"),
    )
    field_order = [
        "username",
        "name",
        "email",
        "password1",
        "password2",
        "role",
        "department",
        "is_active",
    ]

    def clean(self):
        # the similarity check compares the password with the new user's name and address
        data = self.cleaned_data
        self.user = get_user_model()(
            username=data.get("username", ""),
            first_name=data.get("name", ""),
            email=data.get("email", ""),
        )
        return super().clean()

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("用户名 %(name)s 已存在。"), params={"name": username})
        return username


class UserEditForm(_UserFields):
    def __init__(self, *args, user=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.actor = user, actor

    def clean(self):
        data = super().clean()
        if self.user is not None and self.user == self.actor:
            # An administrator cannot lock themselves out.
            if not data.get("is_active"):
                self.add_error("is_active", _("不能停用自己的账号。"))
            if data.get("role") != "admin" and not self.user.is_superuser:
                self.add_error("role", _("不能取消自己的管理员角色。"))
        return data


class PasswordResetForm(_PasswordFields):
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user


class DepartmentForm(forms.Form):
    code = forms.SlugField(label=_("代码"), max_length=40, help_text=_("英文代码，如 sales"))
    name = forms.CharField(label=_("名称"), max_length=100)

    def clean_code(self):
        code = self.cleaned_data["code"].strip().lower()
        if Department.objects.filter(code=code).exists():
            raise forms.ValidationError(_("部门代码 %(code)s 已存在。"), params={"code": code})
        return code


class DepartmentRenameForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("令牌名称"), max_length=100, help_text=_("用途，例如「ERP 夜间同步」")
    )
