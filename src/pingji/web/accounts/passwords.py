"""A password validator beside Django's: no password of blanks or of one repeated character."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class NotBlankValidator:
    """Refuse a password of spaces only, or of one character repeated (`        `, `aaaaaaaa`)."""

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError(_("密码不能只由空格组成。"), code="password_blank")
        if len(set(password)) == 1:
            raise ValidationError(
                _("密码不能只由一个字符重复组成。"), code="password_one_character"
            )

    def get_help_text(self) -> str:
        return _("密码不能只由空格或一个重复的字符组成。")
