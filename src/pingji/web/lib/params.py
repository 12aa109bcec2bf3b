"""Numbers read from a request — page numbers and record ids — checked before they reach a
database: `ids=²`, a 30-digit id or `page=10**30` answer 400 with a message, never 500."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import BadRequest
from django.utils.translation import gettext as _

# A million pages of results is 50 million entities a page at a time; no page lies beyond.
MAX_PAGE = 1_000_000
MAX_ID = 2**63 - 1  # the largest primary key either database stores


class BadParameter(BadRequest):
    """A value in the address or a form that a page cannot use; answers 400 with the message."""


def page_number(text: str | None) -> int:
    """Return the page asked for: 1 when absent or not a number, 400 above MAX_PAGE."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text) > len(str(MAX_PAGE)) or int(text) > MAX_PAGE:
        raise BadParameter(
            _("页码 %(page)s 超出范围：页码从 1 到 %(max)s。")
            % {"page": text[:20] + ("…" if len(text) > 20 else ""), "max": f"{MAX_PAGE:,}"}
        )
    return max(1, int(text))


def record_id(text: str | None) -> int:
    """Return a record id (1 … 2⁶³−1) given as digits; anything else answers 400."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_ID:
        raise BadParameter(
            _("“%(value)s”不是有效的编号：编号是正整数。")
            % {"value": text[:20] + ("…" if len(text) > 20 else "")}
        )
    return int(text)


def record_ids(values: Iterable[str]) -> list[int]:
    """Return record ids given as digits (see record_id); anything else answers 400."""
    return [record_id(v) for v in values]
