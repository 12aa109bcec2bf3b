"""Word the engine's, data layer's and scheme checker's messages in the request's language.

Those layers do not import Django: their messages (pingji.i18n.Message) are worded in the
language of a context variable. This middleware sets it from Django's active language
(chosen by LocaleMiddleware, which must come first), so an error shown on a page or in an
API response reads in the viewer's language."""

from __future__ import annotations

import json

from django.utils import translation

from pingji import i18n


class MessageLanguageMiddleware:
    """Set pingji.i18n's language from Django's for the duration of each request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = i18n.set_language(translation.get_language())
        try:
            return self.get_response(request)
        finally:
            i18n.reset_language(token)


def texts_of(value) -> dict[str, str]:
    """Return a message, an error or text worded in every language, to store as JSON and
    show later in the viewer's language (`in_viewer_language`). A pingji error is worded
    whole (positions, snippets); anything else is one text for all languages."""
    from pingji.errors import PingjiError

    if isinstance(value, PingjiError):
        return {lang: value.render(lang) for lang in i18n.LANGUAGES}
    if isinstance(value, BaseException):
        text = f"{type(value).__name__}: {value}"
        return dict.fromkeys(i18n.LANGUAGES, text)
    return i18n.in_all_languages(value)


def list_texts(values) -> dict[str, list[str]]:
    """Return messages worded in every language: {"zh": [...], "en": [...]}."""
    return {lang: [i18n.render(v, lang) for v in values] for lang in i18n.LANGUAGES}


def in_viewer_language(stored, fallback):
    """Return the stored wording (`texts_of`/`list_texts`) in the active language, or
    `fallback` when none was stored (runs from before wordings were stored)."""
    if isinstance(stored, dict):
        found = stored.get(i18n.language())
        if found is not None:
            return found
    return fallback


def stored_text(value) -> str:
    """Return a message or an error as text for a text field (a job's `error`), to be worded
    in the viewer's language later (`viewer_text`): a Message as its id and parameters, an
    error as its wording in every language (`texts_of`), both as JSON."""
    data = i18n.to_json(value) if isinstance(value, i18n.Message) else texts_of(value)
    return json.dumps(data, ensure_ascii=False)


def stored_gettext(value) -> str:
    """Return `value` (worded by Django's gettext when made text: str) as JSON text in every
    language, to be shown in the viewer's later (`viewer_text`)."""
    texts = {}
    for lang in i18n.LANGUAGES:
        with translation.override("zh-hans" if lang == "zh" else lang):
            texts[lang] = str(value)
    return json.dumps(texts, ensure_ascii=False)


def viewer_text(stored: str) -> str:
    """Return what `stored_text` stored, in the active language; any other text (a row from
    before, a text written in both languages) as it is."""
    text = (stored or "").strip()
    if not (text.startswith("{") and text.endswith("}")):
        return stored
    try:
        data = json.loads(text)
    except ValueError:
        return stored
    if isinstance(data, dict) and "msgid" in data:
        return i18n.render(i18n.from_json(data))
    if isinstance(data, dict) and all(isinstance(data.get(k), str) for k in i18n.LANGUAGES):
        return data[i18n.language()]
    return stored
