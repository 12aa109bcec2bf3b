"""Read a scheme file: safe YAML with positions → typed models → checked, resolved scheme."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from pingji.errors import Problem, SchemeError
from pingji.scheme import models
from pingji.scheme.models import Scheme

Path_ = tuple[str | int, ...]


class Positions:
    """Line/column of every key and value in a YAML document, by field path."""

    def __init__(self) -> None:
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.quoted: set[Path_] = set()

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
        pos = self.values.get(tuple(path))
        if pos is None:
            return self.of(path)
        line, col = pos
        return line, col + offset + (1 if tuple(path) in self.quoted else 0)


def _plain(node: Any, path: Path_, pos: Positions, problems: list[Problem]) -> Any:
    """Return plain Python data for a ruamel node, recording positions and refusing tags."""
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if isinstance(node, TaggedScalar) or tag_value:
        line_col = pos.of(path)
        problems.append(
            Problem(
                f"YAML tags ({tag_value or 'tagged value'}) are not allowed in a scheme",
                *(line_col or (None, None)),
                path=_dotted(path),
            )
        )
        return None
    if isinstance(node, CommentedMap):
        out = {}
        for key in node:
            kl, kc = node.lc.key(key)
            vl, vc = node.lc.value(key)
            child = (*path, str(key))
            pos.keys[child] = (kl + 1, kc + 1)
            pos.values[child] = (vl + 1, vc + 1)
            if isinstance(node[key], DoubleQuotedScalarString | SingleQuotedScalarString):
                pos.quoted.add(child)
            out[str(key)] = _plain(node[key], child, pos, problems)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, item in enumerate(node):
            il, ic = node.lc.item(i)
            child = (*path, i)
            pos.values[child] = (il + 1, ic + 1)
            if isinstance(item, DoubleQuotedScalarString | SingleQuotedScalarString):
                pos.quoted.add(child)
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


def _pydantic_problems(err: ValidationError, data: Any, pos: Positions) -> list[Problem]:
    """Turn pydantic errors into positioned problems (one per field path)."""
    problems: list[Problem] = []
    seen: set[Path_] = set()
    for e in err.errors():
        # Keep only loc parts that exist in the data (unions add type names to loc).
        path: list[str | int] = []
        cursor = data
        for part in e["loc"]:
            if (isinstance(cursor, dict) and part in cursor) or (
                isinstance(cursor, list) and isinstance(part, int) and part < len(cursor)
            ):
                path.append(part)
                cursor = cursor[part]
        key = tuple(path)
        kind = e["type"]
        if kind == "extra_forbidden":
            bad = str(e["loc"][-1])
            close = difflib.get_close_matches(bad, _VOCABULARY, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"unknown key '{bad}'{hint}: a typo is never ignored"
            line_col = pos.of(key, key=True)
        else:
            if any(key[: len(s)] == s for s in seen if len(s) >= len(key)):
                continue
            msg = e["msg"].removeprefix("Value error, ")
            message = f"{msg} (got {_short(e.get('input'))})" if kind != "value_error" else msg
            if kind == "missing":
                message = f"required key '{e['loc'][-1]}' is missing"
            line_col = pos.of(key)
        if key in seen and kind != "extra_forbidden":
            continue
        seen.add(key)
        problems.append(Problem(message, *(line_col or (None, None)), path=_dotted(key)))
    return problems[:20]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_scheme_text(text: str, file: str) -> tuple[Scheme, Positions]:
    """Parse YAML text into a typed scheme (structure only), raising SchemeError."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SchemeError(
            file, [Problem(f"malformed YAML: {exc.problem or exc.context}", line, col)], text
        ) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys)
        raise SchemeError(file, [Problem(f"malformed YAML: {exc}")], text) from None
    pos = Positions()
    problems: list[Problem] = []
    data = _plain(doc, (), pos, problems)
    if problems:
        raise SchemeError(file, problems, text)
    if not isinstance(data, dict):
        raise SchemeError(
            file,
            [Problem("a scheme file is a YAML mapping (id:, entity:, period:, …)", 1, 1)],
            text,
        )
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as err:
        raise SchemeError(file, _pydantic_problems(err, data, pos), text) from None
    return scheme, pos


def read_scheme_file(path: str | Path) -> tuple[str, str]:
    """Return (display name, text) of a scheme file, with a clear error when unreadable."""
    p = Path(path)
    try:
        return str(p), p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SchemeError(str(p), [Problem("no such scheme file")]) from None
    except UnicodeDecodeError as exc:
        raise SchemeError(str(p), [Problem(f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise SchemeError(str(p), [Problem(f"cannot read the file: {exc.strerror}")]) from None
