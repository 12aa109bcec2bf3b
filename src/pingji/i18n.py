"""Messages a user reads, with ids: the engine, data, scheme and CLI layers speak through here.

A message id is the English text with named placeholders (`"table '{table}' has no column
'{column}'"`); the Chinese is in the gettext catalog `pingji/locale/zh_Hans/LC_MESSAGES/pingji.po`
(compiled to the committed `pingji.mo` with `msgfmt`; a test keeps the two equal). A `Message`
keeps its id and parameters and is worded only when it is shown, in the language active then:
an error raised in a worker and shown later on a page reads in the viewer's language.

The active language is a context variable. The CLI sets it from the environment at start
(`PINGJI_LANG`, else the locale: LC_ALL, LC_MESSAGES, LANG starting with "zh" → Chinese);
the web app sets it per request from Django's active language (web/lib/language.py). Code
that sets neither (a library caller, a test) gets English, as before.

No Django import here: the lower layers use this module, the web adapts to it.
"""

from __future__ import annotations

import errno
import gettext
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")  # Chinese first; English is the message ids themselves
DEFAULT = "en"
DOMAIN = "pingji"
LOCALE_DIR = Path(__file__).parent / "locale"

# gettext's locale folder per language (Django's name for the same catalog language)
_FOLDERS = {"zh": "zh_Hans"}

_language: ContextVar[str] = ContextVar("pingji_language", default=DEFAULT)


def normalise(code: str | None) -> str:
    """Return "zh" for any Chinese language code (zh, zh-hans, zh_CN.UTF-8 …), else "en"."""
    return "zh" if code and code.strip().lower().startswith("zh") else "en"


def language() -> str:
    """Return the language messages are worded in now ("zh" or "en")."""
    return _language.get()


def set_language(code: str | None) -> Token:
    """Make `code` the active language (normalised); return the token to reset it with."""
    return _language.set(normalise(code))


def reset_language(token: Token) -> None:
    """Restore the language active before the `set_language` that returned `token`."""
    _language.reset(token)


@contextmanager
def use_language(code: str | None) -> Iterator[str]:
    """Word messages in `code` inside the block."""
    token = set_language(code)
    try:
        yield language()
    finally:
        _language.reset(token)


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Return the language the environment asks for: PINGJI_LANG if set, else the locale.

    The locale is read as gettext reads it: the first non-empty of LC_ALL, LC_MESSAGES and
    LANG (LANGUAGE is not consulted: it is a list of fallbacks, and "C" locales set none)."""
    env = os.environ if environ is None else environ
    explicit = env.get("PINGJI_LANG", "").strip()
    if explicit:
        return normalise(explicit)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value:
            return normalise(value)
    return DEFAULT


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """Return the compiled catalog of `lang` (English: none, the ids are the English)."""
    folder = _FOLDERS.get(lang)
    if folder is None:
        return gettext.NullTranslations()
    path = LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as f:
        return gettext.GNUTranslations(f)


def _list_separator(lang: str) -> str:
    return "、" if lang == "zh" else ", "


def render(value: Any, lang: str | None = None) -> str:
    """Return `value` as text in `lang` (default: the active language): a Message is worded,
    a list or tuple joined with the language's separator, anything else is str()."""
    lang = lang or language()
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, list | tuple):
        return _list_separator(lang).join(render(v, lang) for v in value)
    return str(value)


def in_all_languages(value: Any) -> dict[str, str]:
    """Return `value` rendered in every language, e.g. to store it for later display."""
    return {lang: render(value, lang) for lang in LANGUAGES}


class Message:
    """A user-facing message: an id (English template) and its parameters, worded late.

    Parameters may be plain values (formatted with the template's format spec, e.g.
    `{size:,}`), other Messages (worded in the same language) or lists (joined)."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def render(self, lang: str | None = None) -> str:
        """Return the message worded in `lang` (default: the active language)."""
        lang = lang or language()
        params = {
            k: render(v, lang) if isinstance(v, Message | list | tuple) else v
            for k, v in self.params.items()
        }
        template = catalog(lang).gettext(self.msgid)
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            # a translation naming a placeholder the id does not have: the id still works
            return self.msgid.format(**params)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):  # a message read as the text it shows now
            return str(self) == other
        if not isinstance(other, Message):
            return NotImplemented
        return self.msgid == other.msgid and self.params == other.params

    __hash__ = None  # type: ignore[assignment]  # parameters may be lists

    def startswith(self, prefix: str) -> bool:
        """Tell whether the message, worded now, starts with `prefix` (as str.startswith)."""
        return str(self).startswith(prefix)

    def __contains__(self, text: str) -> bool:
        return text in str(self)

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)


def to_json(value: Any) -> Any:
    """Return a message as JSON-able data to store and word later (`from_json`): a Message
    is {"msgid": id, "params": {…}} (parameters the same way, nested Messages too), a list
    a list; text and numbers stay as they are, anything else becomes its text."""
    if isinstance(value, Message):
        return {"msgid": value.msgid, "params": {k: to_json(v) for k, v in value.params.items()}}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def from_json(data: Any) -> Any:
    """Return what `to_json` stored: Messages again; plain text (a row stored before messages
    were) as it is, so `render(from_json(data))` reads either."""
    if isinstance(data, Mapping) and isinstance(data.get("msgid"), str):
        params = data.get("params") or {}
        return Message(data["msgid"], **{str(k): from_json(v) for k, v in params.items()})
    if isinstance(data, list):
        return [from_json(v) for v in data]
    return data


def msg(msgid: str, /, **params: Any) -> Message:
    """Return the message `msgid` with its parameters (worded when it is shown)."""
    return Message(msgid, **params)


Text = str | Message  # what a layer may hand up as a message


# The operating system's reasons a file cannot be read, worded (its strerror is English);
# a reason not listed here is shown as the system words it.
_OS_REASONS = {
    errno.ENOENT: "no such file or directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a directory, not a file",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the file name is too long",
}


def os_reason(exc: OSError) -> Text:
    """Return why the system refused a file (an OSError's errno) as a message."""
    reason = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    return msg(reason) if reason else str(exc.strerror or exc)


# pydantic's error types, worded (its own `msg` is English only). The type is stable across
# pydantic 2 releases; the context (`ctx`) gives the limits.
_PYDANTIC: dict[str, str] = {
    "missing": "a value is required",
    "extra_forbidden": "unknown key: not allowed here",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "decimal_type": "expected a number",
    "decimal_parsing": "expected a number",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "date_type": "expected a date YYYY-MM-DD",
    "date_parsing": "expected a date YYYY-MM-DD",
    "date_from_datetime_parsing": "expected a date YYYY-MM-DD",
    "datetime_type": "expected a date and time",
    "datetime_parsing": "expected a date and time",
    "json_invalid": "not valid JSON",
    "json_type": "expected JSON",
    "literal_error": "expected one of {expected}",
    "enum": "expected one of {expected}",
    "string_too_short": "expected at least {min_length} character(s)",
    "string_too_long": "expected at most {max_length} character(s)",
    "too_short": "expected at least {min_length} item(s)",
    "too_long": "expected at most {max_length} item(s)",
    "greater_than": "expected a number greater than {gt}",
    "greater_than_equal": "expected a number of at least {ge}",
    "less_than": "expected a number less than {lt}",
    "less_than_equal": "expected a number of at most {le}",
    "string_pattern_mismatch": "expected text matching {pattern}",
    "uuid_parsing": "expected a UUID",
    "url_parsing": "expected a URL",
}


def pydantic_message(error: Mapping[str, Any]) -> Message:
    """Return one pydantic error (an item of `ValidationError.errors()`) as a Message.

    A validator's own message (type value_error/assertion_error) is used as a message id:
    worded when the catalog has it, shown as written otherwise."""
    kind = error.get("type", "")
    if kind in ("value_error", "assertion_error"):
        text = str(error.get("msg", ""))
        return msg(text.removeprefix("Value error, ").removeprefix("Assertion failed, "))
    template = _PYDANTIC.get(kind)
    if template is None:
        return msg("{detail}", detail=str(error.get("msg", kind)))
    ctx = {k: _plain(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return msg("{detail}", detail=str(error.get("msg", kind)))
    return msg(template, **ctx)


def _plain(value: Any) -> Any:
    """Return a pydantic context value as text or number (an exception as its message)."""
    return value if isinstance(value, int | float | str) else str(value)


# Chinese text and the punctuation around it: CJK ideographs, CJK and full-width punctuation,
# and the curly quotes Chinese uses (“”).
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u201c\u201d"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_FULL = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）"}
_INTERVAL = re.compile(r"[-+0-9.,%\s∞]+")
_CODE_SPAN = re.compile(r"`[^`]*`")
_ENTITY = re.compile(r"&#?[A-Za-z0-9]+;")  # code as written (`key: value`) keeps its punctuation


def half_width_in_chinese(text: str) -> list[int]:
    """Return the offsets of ASCII , ; : ( ) that stand next to Chinese text (and of the
    parenthesis matching one that does), which Chinese writes full-width: ，；：（）.

    A comma between digits is a thousands separator and stays ASCII: "100,000 得 0 分，
    2,100,000 得满分" is the point; so do the () of a function, "passed()", and code in
    backticks, "`键: 值`"."""

    def cjk(i: int) -> bool:
        return 0 <= i < len(text) and bool(_CJK_CHAR.match(text[i]))

    def call(i: int) -> bool:  # the () of a function's name, as in "passed()：…"
        return text[i : i + 2] == "()" or text[i - 1 : i + 1] == "()"

    code = {i for m in _CODE_SPAN.finditer(text) for i in range(m.start(), m.end())}
    code.update(m.end() - 1 for m in _ENTITY.finditer(text))  # the ";" of "&lt;" in HTML
    found = {
        i
        for i, ch in enumerate(text)
        if ch in _FULL and (cjk(i - 1) or cjk(i + 1)) and not call(i) and i not in code
    }
    # a pair of parentheses is written one way: "回款率（collection_rate）"; an interval,
    # "(0.9, 1]" or "(0.9, 1)", and a function's arguments, "clamp(x, 0, 1)", stay ASCII
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs[stack.pop()] = i
    for j in stack:  # an interval's "(" closed by "]"
        found.discard(j)
    for j, i in pairs.items():
        inside = text[j + 1 : i]
        arguments = (
            j > 0
            and ((text[j - 1].isascii() and text[j - 1].isalnum()) or text[j - 1] == "_")
            and not _CJK_CHAR.search(inside)
        )
        if arguments or _INTERVAL.fullmatch(inside):
            found.difference_update((i, j))
        elif i in found or j in found:
            found.update((i, j))
    return sorted(found)


def full_width(text: str) -> str:
    """Return `text` with the ASCII punctuation next to Chinese written full-width."""
    while found := half_width_in_chinese(text):
        # a mark made full-width is Chinese context for the next: "率(x):" → "率（x）："
        chars = list(text)
        for i in found:
            chars[i] = _FULL[chars[i]]
        text = "".join(chars)
    return text
