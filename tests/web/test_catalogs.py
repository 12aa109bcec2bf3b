"""The English catalogs of the web app: every text the code and the templates mark for
translation has an English entry, no entry is empty or fuzzy (gettext would show the Chinese),
and each compiled .mo says what its .po says (msgfmt was run after the last edit)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

import pingji.web

WEB = Path(pingji.web.__file__).parent
CATALOGS = sorted(WEB.glob("**/locale/en/LC_MESSAGES/django.po"))
GETTEXT_NAMES = {
    "_": 1,
    "gettext": 1,
    "gettext_lazy": 1,
    "gettext_noop": 1,
    "ngettext": 2,
    "ngettext_lazy": 2,
    "pgettext": 2,
    "pgettext_lazy": 2,
    "npgettext": 3,
    "npgettext_lazy": 3,
}


def read_po(path: Path) -> list[dict]:
    """Return the entries of a .po file (header and obsolete `#~` entries left out): each
    with its msgctxt, msgid, msgid_plural, msgstr (a list: one per plural form), flags and
    line."""
    entries: list[dict] = []
    entry: dict = {}
    field = None

    def finish() -> None:
        if "msgid" in entry and entry["msgid"] != "":
            entries.append(entry)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#,"):
            if "msgid" in entry:
                finish()
                entry = {}
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += text
            else:
                entry[field[0]] += text
            continue
        text = ast.literal_eval(rest)
        if keyword in ("msgctxt", "msgid") and (
            "msgid" in entry and (keyword == "msgctxt" or "msgstr" in entry)
        ):
            finish()
            entry = {}
        if keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            entry.setdefault("msgstr", {})[index] = text
            field = ("msgstr", index)
        else:
            entry[keyword] = text
            entry.setdefault("line", number)
            field = (keyword, None)
    finish()
    for e in entries:
        e["msgstr"] = [e["msgstr"][i] for i in sorted(e.get("msgstr", {0: ""}))]
        e.setdefault("flags", set())
    return entries


def source_messages() -> dict[tuple[str | None, str], str]:
    """Return {(context, msgid): where} for every text the web app's Python code and
    templates mark for translation (what `makemessages` would collect)."""
    found: dict[tuple[str | None, str], str] = {}
    for path in sorted(WEB.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in GETTEXT_NAMES:
                continue
            texts = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if len(texts) < GETTEXT_NAMES[name] or not all(
                isinstance(t, str) for t in texts[: GETTEXT_NAMES[name]]
            ):
                continue
            context = texts[0] if name.startswith(("pgettext", "npgettext")) else None
            msgid = texts[1] if context is not None else texts[0]
            found.setdefault((context, msgid), f"{path.relative_to(WEB)}:{node.lineno}")
    # templatize() turns a template into Python-like text in which each marked text is a
    # gettext call with Python literals (what xgettext reads for makemessages)
    call = re.compile(r"\b(npgettext|ngettext|pgettext|gettext|_)\(")
    literal = re.compile(r"""u?r?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
    for path in sorted(WEB.glob("**/templates/**/*.html")):
        out = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for m in call.finditer(out):
            texts, at = [], m.end()
            while found_literal := literal.match(out, at):
                texts.append(ast.literal_eval(found_literal.group().lstrip("u")))
                at = found_literal.end()
                if not out.startswith(", ", at):
                    break
                at += 2
            context = texts.pop(0) if m.group(1).startswith(("p", "np")) and texts else None
            if texts:
                found.setdefault((context, texts[0]), str(path.relative_to(WEB)))
    return found


def english() -> dict[tuple[str | None, str], list[str]]:
    """Return the translations of all English catalogs together (as Django merges them)."""
    merged: dict[tuple[str | None, str], list[str]] = {}
    for path in CATALOGS:
        for e in read_po(path):
            if "fuzzy" not in e["flags"]:
                merged.setdefault((e.get("msgctxt"), e["msgid"]), e["msgstr"])
    return merged


def test_there_are_catalogs_and_messages_to_check():
    assert len(CATALOGS) >= 10
    found = source_messages()
    # one of each kind of marking the extractor must see
    assert (None, "保存并下一个") in found  # {% translate %}
    assert (None, "%(n)s 项待评分") in found  # {% blocktranslate with %}
    assert (None, "%(counter)s 项变更") in found  # {% blocktranslate count %}
    assert (None, "不成立时不予评级") in found  # _("…") as a filter's argument
    assert (None, "【评级】%(n)d 项待评分，截止 %(date)s") in found  # gettext as _ in Python


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(WEB)))
def test_no_english_entry_is_empty_or_fuzzy(path):
    bad = [
        f"line {e['line']}: {e['msgid']!r}"
        for e in read_po(path)
        if "fuzzy" in e["flags"] or not all(e["msgstr"])
    ]
    assert not bad, f"{path.relative_to(WEB)}: untranslated entries: {bad}"


def test_every_marked_text_has_an_english_translation():
    known = english()
    missing = [
        f"{where}: {msgid!r}"
        for (context, msgid), where in sorted(source_messages().items(), key=lambda i: i[1])
        if not all(known.get((context, msgid), [""]))
    ]
    assert not missing, "no English in any locale/en/LC_MESSAGES/django.po for:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(WEB)))
def test_the_compiled_catalog_matches_its_source(path):
    with path.with_suffix(".mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog
    for e in read_po(path):
        key = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            got = [compiled.get((key, i)) for i in range(len(e["msgstr"]))]
        else:
            got = [compiled.get(key)]
        assert got == e["msgstr"], f"{e['msgid']!r}: run msgfmt on {path.relative_to(WEB)}"
