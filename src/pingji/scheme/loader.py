"""Read a scheme file: safe YAML with positions → typed models → checked, resolved scheme."""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from pingji.errors import Problem, SchemeError
from pingji.i18n import Message, msg, os_reason, pydantic_message
from pingji.scheme import models
from pingji.scheme.models import Scheme

Path_ = tuple[str | int, ...]


class Positions:
    """Line/column of every key and value in a YAML document, by field path."""

    def __init__(self, text: str = "") -> None:
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.quoted: set[Path_] = set()
        self.styles: dict[Path_, str] = {}  # ', ", | or > for quoted and block string values
        self.strings: dict[Path_, str] = {}  # string values as parsed, to map offsets back
        self.lines = text.splitlines()

    def of(self, path: Path_, key: bool = False) -> tuple[int, int] | None:
        """Return the 1-based (line, col) nearest to a path: its value, else its key, else a parent's."""
        path = tuple(path)
        while True:
            table = (self.keys, self.values) if key else (self.values, self.keys)
            for t in table:
                if path in t:
                    return t[path]
            if not path:
                return None
            path = path[:-1]

    def expr_column(self, path: Path_, offset: int) -> tuple[int, int] | None:
        """Return the position of a character inside an expression string value."""
        path = tuple(path)
        pos = self.values.get(path)
        if pos is None:
            return self.of(path)
        line, col = pos
        naive = line, col + offset + (1 if path in self.quoted else 0)
        value = self.strings.get(path)
        if not value:
            return naive
        past_end = max(0, offset - len(value) + 1)  # e.g. "unexpected end of expression"
        found = _source_position(
            self.lines, value, offset - past_end, line, col, self.styles.get(path)
        )
        return (found[0], found[1] + past_end) if found else naive


# What YAML adds around a string's characters: quotes, escapes, line breaks and indentation.
_LAYOUT = frozenset(" \t\n'\"\\")


def _source_position(
    lines: list[str], value: str, offset: int, line: int, col: int, style: str | None
) -> tuple[int, int] | None:
    """Return where the value's character at `offset` stands in the file, or None if unsure.

    Walks the source from the scalar's start and matches the parsed value character by
    character, skipping only layout (quotes, escapes, folded line breaks, indentation), so
    `''` in single quotes, `\\"` in double quotes and multi-line plain or block scalars all
    point at the right character.
    """
    if style in ("|", ">"):
        row, c = line, 0  # block content starts on the line after the indicator
    else:
        row, c = line - 1, col - 1 + (1 if style in ("'", '"') else 0)
    for i, ch in enumerate(value[: offset + 1]):
        while True:
            if row >= len(lines):
                return None
            src = lines[row][c] if c < len(lines[row]) else "\n"
            if src == ch:
                break
            if src not in _LAYOUT:
                return None
            row, c = (row + 1, 0) if src == "\n" else (row, c + 1)
        if i == offset:
            return row + 1, c + 1
        row, c = (row + 1, 0) if src == "\n" else (row, c + 1)
    return None


_STYLES: dict[type, str] = {
    SingleQuotedScalarString: "'",
    DoubleQuotedScalarString: '"',
    LiteralScalarString: "|",
    FoldedScalarString: ">",
}


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:") else tag


def _record(pos: Positions, path: Path_, value: Any) -> None:
    style = _STYLES.get(type(value))
    if style:
        pos.styles[path] = style
        if style in ("'", '"'):
            pos.quoted.add(path)
    if isinstance(value, str):
        pos.strings[path] = str(value)


# A scheme is a few kB of text; a megabyte is surely not one. The one limit for every way a
# scheme arrives: a file on the command line, an upload or a text pasted into the web form.
MAX_SCHEME_BYTES = 1024 * 1024

# Values an alias (*name) may repeat in all, counted as expanded. A YAML "billion laughs" of a
# few hundred bytes expands to millions of values; a real scheme repeats a few mappings.
MAX_ALIAS_VALUES = 10_000

# Mappings and lists inside each other; a deep tree of indicators is a few dozen levels.
MAX_DEPTH = 100


_OPENING_RUN = re.compile(r"[\[{](?:\s*[\[{]){" + str(MAX_DEPTH) + "}")


def _too_deep(line: int, col: int) -> Problem:
    return Problem(
        msg(
            "mappings and lists are nested more than {depth} deep here: "
            "a scheme is not nested so deep",
            depth=MAX_DEPTH,
        ),
        line,
        col,
    )


def _check_aliases(yaml: YAML, text: str) -> Problem | None:
    """Return a problem if YAML aliases (*name, <<: *name) would repeat too many values
    (or mappings and lists are nested too deep to be a scheme).

    Counts on the parser's events, before anything is built: a "billion laughs" of a few
    hundred bytes, or a chain of merges that grows with the square of its length, is refused
    at the alias that goes over MAX_ALIAS_VALUES in a few milliseconds."""
    run = _OPENING_RUN.search(text)  # ruamel's scanner slows down on [[[[…: look first
    if run:
        start = run.start()
        return _too_deep(text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start))
    sizes: dict[str, int] = {}  # values under each anchor, repeats included
    open_: list[list] = [[0, None]]  # [values so far, anchor] per open mapping or list
    repeated = 0
    for event in yaml.parse(text):
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            open_.append([1, event.anchor])
            if len(open_) > MAX_DEPTH:
                return _too_deep(event.start_mark.line + 1, event.start_mark.column + 1)
            continue
        if isinstance(event, ScalarEvent):
            size = 1
        elif isinstance(event, AliasEvent):
            size = sizes.get(event.anchor, 1)
            repeated += size
            if repeated > MAX_ALIAS_VALUES:
                mark = event.start_mark
                return Problem(
                    msg(
                        "YAML aliases (*name) repeat more than {limit:,} values in all "
                        "(at *{anchor}): write the values out, or repeat fewer of them",
                        limit=MAX_ALIAS_VALUES,
                        anchor=event.anchor,
                    ),
                    mark.line + 1,
                    mark.column + 1,
                )
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            size, anchor = open_.pop()
            if anchor:
                sizes[anchor] = size
        else:
            continue
        if isinstance(event, ScalarEvent) and event.anchor:
            sizes[event.anchor] = 1
        open_[-1][0] += size
    return None


def _plain(node: Any, path: Path_, pos: Positions, problems: list[Problem]) -> Any:
    """Return plain Python data for a ruamel node, recording positions and refusing tags."""
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if isinstance(node, TaggedScalar) or tag_value:
        line_col = pos.of(path)
        name = _tag_name(tag_value) if tag_value else msg("a tagged value")
        problems.append(
            Problem(
                msg(
                    "YAML tags such as {tag} are not allowed in a scheme: "
                    "write plain values (text, numbers, lists, mappings)",
                    tag=name,
                ),
                *(line_col or (None, None)),
                path=_dotted(path),
            )
        )
        return None
    if isinstance(node, CommentedMap):
        out = {}
        for key in node:
            if key in node.lc.data:
                kl, kc = node.lc.key(key)
                vl, vc = node.lc.value(key)
            else:  # merged in by `<<: *name`: it has no line of its own here
                kl, kc = vl, vc = tuple(x - 1 for x in pos.of(path) or (1, 1))
            child = (*path, str(key))
            pos.keys[child] = (kl + 1, kc + 1)
            pos.values[child] = (vl + 1, vc + 1)
            _record(pos, child, node[key])
            out[str(key)] = _plain(node[key], child, pos, problems)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, item in enumerate(node):
            il, ic = node.lc.item(i)
            child = (*path, i)
            pos.values[child] = (il + 1, ic + 1)
            _record(pos, child, item)
            out_list.append(_plain(item, child, pos, problems))
        return out_list
    if isinstance(node, str):
        return str(node)
    return node


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _vocabulary() -> set[str]:
    words: set[str] = set()
    for obj in vars(models).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for name, field in obj.model_fields.items():
                words.add(field.alias or name)
    return words


_VOCABULARY = _vocabulary()


# What a value of each pydantic type error should have been, in words.
_EXPECTED = {
    "int_type": "a number",
    "int_parsing": "a number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}
_PATTERNS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "an id of letters, digits and _ that does not start with a digit",
    r"^[a-z0-9][a-z0-9_-]*$": "a scheme id of lower-case letters, digits, _ and -",
}


def _data_path(loc: tuple, data: Any) -> Path_:
    """Return the part of a pydantic error location that exists in the data (unions add type names)."""
    path: list[str | int] = []
    cursor = data
    for part in loc:
        if (isinstance(cursor, dict) and part in cursor) or (
            isinstance(cursor, list) and isinstance(part, int) and 0 <= part < len(cursor)
        ):
            path.append(part)
            cursor = cursor[part]
    return tuple(path)


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _pydantic_problems(err: ValidationError, data: Any, pos: Positions) -> list[Problem]:
    """Turn pydantic errors into positioned problems: one per field path, the deepest first."""
    problems: list[Problem] = []
    by_path: dict[Path_, list[dict]] = {}
    for e in err.errors():
        key = _data_path(e["loc"], data)
        if e["type"] == "extra_forbidden":
            bad = str(e["loc"][-1])
            # a key valid elsewhere (`else` of bands, written beside `bands:`) is not its own typo
            others = [word for word in _VOCABULARY if word != bad]
            close = difflib.get_close_matches(bad, others, n=1)
            hint = msg(" (did you mean '{word}'?)", word=close[0]) if close else ""
            allowed = _allowed_keys(e["loc"])
            problems.append(
                Problem(
                    msg(
                        "unknown key '{key}'{hint}: a typo is never ignored{allowed}",
                        key=bad,
                        hint=hint,
                        allowed=allowed,
                    ),
                    *(pos.of(key, key=True) or (None, None)),
                    path=_dotted(key),
                )
            )
        else:
            by_path.setdefault(key, []).append(e)
    reported = {p.path for p in problems}
    for key, errors in by_path.items():
        # an error inside a value explains more than "this value does not fit" on the value
        deeper = any(
            other != key and other[: len(key)] == key for other in (*by_path, *_paths(reported))
        )
        if deeper and errors[0]["type"] != "missing":
            continue
        message, at = _message(errors, key, data)
        where = pos.of(at, key=at != key)  # a message about a key of this mapping points at it
        problems.append(Problem(message, *(where or (None, None)), path=_dotted(at)))
    problems.sort(key=lambda p: (p.line or 0, p.col or 0))
    return problems[:20]


def _paths(dotted: set[str]) -> list[Path_]:
    return [tuple(int(x) if x.isdigit() else x for x in d.split(".")) for d in dotted if d]


def _message(errors: list[dict], key: Path_, data: Any) -> tuple[Message, Path_]:
    """Return the message for the errors found at one field path, and the path to point at."""
    first = errors[0]
    kind = first["type"]
    got = msg(" (got {value})", value=_short(first.get("input")))
    if kind == "missing":
        name = first["loc"][-1]
        return msg("required key '{key}' is missing: add `{key}: …`", key=name), key
    if any(e["type"] == "finite_number" for e in errors):
        return (
            msg(
                "expected a finite number{got}: .nan, .inf and numbers beyond ±1.8e308 "
                "(such as 1e400) cannot be computed",
                got=got,
            ),
            key,
        )
    if kind == "value_error":
        message = first["msg"].removeprefix("Value error, ")
        # point at the key the message is about when it names one of this mapping's keys
        here = _at(data, key)
        if isinstance(here, dict):
            for word in message.split("`")[1::2]:
                if word in here:
                    return msg(message), (*key, word)
        return msg(message), key
    expected: list[Message] = []
    for e in errors:
        if e["type"] == "literal_error":
            want = msg("one of {choices}", choices=str(e["ctx"]["expected"]))
        elif e["type"] == "string_pattern_mismatch":
            pattern = e["ctx"]["pattern"]
            want = (
                msg(_PATTERNS[pattern])
                if pattern in _PATTERNS
                else msg("text matching {pattern}", pattern=pattern)
            )
        else:
            want = msg(_EXPECTED[e["type"]]) if e["type"] in _EXPECTED else None
        if want is not None and want not in expected:
            expected.append(want)
    if expected:
        return msg("expected {expected}{got}", expected=_either(expected), got=got), key
    return msg("{detail}{got}", detail=pydantic_message(first), got=got), key


def _either(choices: list[Message]) -> Message:
    """Return "a or b or c" (Chinese: 甲或乙或丙) of the expected values."""
    either = choices[0]
    for choice in choices[1:]:
        either = msg("{first} or {second}", first=either, second=choice)
    return either


def _allowed_keys(loc: tuple) -> Message | str:
    """Return `; allowed here: …` naming the keys of the model an unknown key was found in."""
    current: Any = models.Scheme
    for part in loc[:-1]:
        current = _step(current, part)
        if current is None:
            return ""
    current = next((m for m in _members(current) if _is_model(m)), None)
    if current is None:
        return ""
    allowed = ", ".join(f.alias or n for n, f in current.model_fields.items())
    return msg("; allowed here: {keys}", keys=allowed)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _members(tp: Any) -> list[Any]:
    """Return the alternatives of a type: the members of a union, the type of an Annotated."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _members(a)]
    return [tp]


def _step(tp: Any, part: str | int) -> Any:
    """Return the type found one step down a pydantic error location, or None."""
    for member in _members(tp):
        if _is_model(member):
            if member.__name__ == part:  # pydantic names the union member it tried
                return member
            for name, f in member.model_fields.items():
                if part in (name, f.alias):
                    return f.annotation
        origin = typing.get_origin(member)
        if origin is list and isinstance(part, int):
            return typing.get_args(member)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(member)[1]
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ruamel's common problems, worded: the id is ruamel's own English where it is clear (so the
# English reads as before) and the catalog holds the Chinese; a problem matching none is
# shown as ruamel wrote it, inside a Chinese sentence.
_KEY_WITHOUT_COLON = re.compile(r"could not find expected ':'")
_YAML_PROBLEMS: dict[re.Pattern, str] = {
    re.compile(r"mapping values are not allowed here"): "mapping values are not allowed here",
    _KEY_WITHOUT_COLON: "could not find expected ':'",
    re.compile(r"found character '\\t' that cannot start any token"): (
        "found a tab character: YAML indents and separates with spaces, not tabs"
    ),
    re.compile(r"found character '(?P<char>.+)' that cannot start any token"): (
        "found character '{char}' that cannot start any token"
    ),
    re.compile(
        r'found duplicate key "(?P<key>.*)" with value "(?P<value>.*)" '
        r'\(original value: "(?P<original>.*)"\)'
    ): 'found duplicate key "{key}" with value "{value}" (original value: "{original}")',
    re.compile(r"expected <block end>, but found '(?P<found>.*)'"): (
        "expected <block end>, but found '{found}'"
    ),
    re.compile(r"expected ',' or '\]', but got '(?P<got>.*)'"): (
        "expected ',' or ']', but got '{got}'"
    ),
    re.compile(r"expected ',' or '\}', but got '(?P<got>.*)'"): (
        "expected ',' or '}}', but got '{got}'"
    ),
    re.compile(r"found unexpected end of stream"): "found unexpected end of stream",
    re.compile(r"found undefined alias '(?P<name>.*)'"): "found undefined alias '{name}'",
    re.compile(r"found unknown escape character '(?P<char>.*)'"): (
        "found unknown escape character '{char}'"
    ),
    re.compile(r"but found another document"): (
        "expected a single document in the stream, but found another document"
    ),
}


def _yaml_problem(problem: str) -> Message:
    """Return ruamel's problem as a message: worded when it is a common one, else quoted."""
    for pattern, msgid in _YAML_PROBLEMS.items():
        if found := pattern.search(problem):
            return msg("malformed YAML: {detail}", detail=msg(msgid, **found.groupdict()))
    # the same English as above, but the Chinese keeps ruamel's text in parentheses
    return msg("malformed YAML: {problem}", problem=problem)


def parse_scheme_text(text: str, file: str) -> tuple[Scheme, Positions]:
    """Parse YAML text into a typed scheme (structure only), raising SchemeError."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SCHEME_BYTES:
        raise SchemeError(file, [_too_large(size)])
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        too_many = _check_aliases(yaml, text)
        doc = None if too_many else yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if _KEY_WITHOUT_COLON.fullmatch(str(exc.problem)) and exc.context_mark is not None:
            mark = exc.context_mark  # the key's line, not where the scanner gave up
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = Problem(_yaml_problem(str(exc.problem or exc.context)), line, col)
        raise SchemeError(file, [problem], text) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys)
        raise SchemeError(file, [Problem(_yaml_problem(str(exc)))], text) from None
    if too_many:
        raise SchemeError(file, [too_many], text)
    pos = Positions(text)
    pos.values[()] = _document_start(pos.lines)
    problems: list[Problem] = []
    data = _plain(doc, (), pos, problems)
    if problems:
        raise SchemeError(file, problems, text)
    if not isinstance(data, dict):
        raise SchemeError(
            file,
            [Problem(msg("a scheme file is a YAML mapping (id:, entity:, period:, …)"), 1, 1)],
            text,
        )
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as err:
        raise SchemeError(file, _pydantic_problems(err, data, pos), text) from None
    return scheme, pos


def _document_start(lines: list[str]) -> tuple[int, int]:
    """Return the position of the document's first content line (past comments and `---`)."""
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "---", "%")):
            return n, len(line) - len(line.lstrip()) + 1
    return 1, 1


def _too_large(size: int | None = None) -> Problem:
    got = msg(" ({size:,} bytes)", size=size) if size is not None else ""
    return Problem(
        msg(
            "the scheme is larger than 1 MB{got}: a scheme holds at most {limit:,} bytes",
            got=got,
            limit=MAX_SCHEME_BYTES,
        )
    )


def read_scheme_file(path: str | Path) -> tuple[str, str]:
    """Return (display name, text) of a scheme file, with a clear error when unreadable.

    Reads at most one byte past MAX_SCHEME_BYTES, so a device or pipe (/dev/zero) given as a
    scheme stops there instead of reading without end."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_SCHEME_BYTES + 1)
        if len(data) > MAX_SCHEME_BYTES:
            raise SchemeError(str(p), [_too_large()])
        text = data.decode("utf-8-sig")  # universal newlines, as reading in text mode does
        return str(p), text.replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        raise SchemeError(str(p), [Problem(msg("no such scheme file"))]) from None
    except UnicodeDecodeError as exc:
        problem = Problem(msg("not UTF-8 text ({reason})", reason=exc.reason))
        raise SchemeError(str(p), [problem]) from None
    except OSError as exc:
        problem = Problem(msg("cannot read the file: {detail}", detail=os_reason(exc)))
        raise SchemeError(str(p), [problem]) from None
