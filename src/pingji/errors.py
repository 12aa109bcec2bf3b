"""The project's exceptions: one root, each kind with its exit code and a readable message."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pingji.i18n import Text, language, msg, render


def _display_width(text: str) -> int:
    """Return how many terminal columns text takes (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class PingjiError(Exception):
    """Root of every error pingji reports to a user.

    Its message may be an i18n Message: it is worded when shown (str, render), in the
    language active then, so one raised in a worker reads in the viewer's language."""

    exit_code = 1

    def render(self, lang: str | None = None) -> str:
        """Return the full text shown to a user, in `lang` (default: the active language)."""
        if not self.args:
            return ""
        if len(self.args) == 1:
            return render(self.args[0], lang)
        return Exception.__str__(self)

    def __str__(self) -> str:
        return self.render()


class BadInput(PingjiError):
    """Bad input (scheme, data, arguments): exit code 2, nothing written."""

    exit_code = 2


class EvaluationError(PingjiError):
    """The evaluation itself could not be completed (exit code 1)."""

    exit_code = 1


@dataclass
class Problem:
    """One problem found in a scheme file, with its position."""

    message: Text  # a Message, worded when shown (plain text is shown as it is)
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    path: str = ""  # dotted field path, e.g. tree.children.0.rule

    def location(self, file: str) -> str:
        """Return `file:line:col` as far as it is known."""
        where = file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return where


@dataclass
class SchemeError(BadInput):
    """A scheme file is malformed or inconsistent; carries every problem found."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    text: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        """Return `file:line:col: message` per problem, each with a few numbered lines."""
        lines = self.text.splitlines() if self.text else []
        out: list[str] = []
        for p in self.problems:
            head = f"{p.location(self.file)}: {render(p.message, lang)}"
            if p.path:
                head += f"  [{p.path}]"
            out.append(head)
            if p.line and lines:
                lo, hi = max(1, p.line - 2), min(len(lines), p.line + 2)
                width = len(str(hi))
                for n in range(lo, hi + 1):
                    mark = ">" if n == p.line else " "
                    out.append(f"  {mark} {n:>{width}} | {lines[n - 1]}")
                    if n == p.line and p.col:
                        pad = _display_width(lines[n - 1][: p.col - 1])
                        out.append(f"    {' ' * width} | {' ' * pad}^")
        if len(self.problems) > 1:
            out.append(
                render(
                    msg("{count} problems in {file}.", count=len(self.problems), file=self.file),
                    lang,
                )
            )
        out.append(render(msg("Fix the scheme file and run `pingji validate` again."), lang))
        return "\n".join(out)


@dataclass
class DataError(BadInput):
    """A data file does not fit the data contract."""

    file: str | Path
    message: Text
    row: int | None = None  # line number in the file (header = line 1) or spreadsheet row
    column: str | None = None
    value: object = None
    expected: Text | None = None

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        """Return `file:row: column 'c': message (got …, expected …)`, worded in `lang`."""
        parts = {
            "file": str(self.file),
            "row": self.row,
            "column": self.column,
            "message": render(self.message, lang),
        }
        if self.row is not None and self.column:
            text = msg("{file}:{row}: column '{column}': {message}", **parts)
        elif self.row is not None:
            text = msg("{file}:{row}: {message}", **parts)
        elif self.column:
            text = msg("{file}: column '{column}': {message}", **parts)
        else:
            text = msg("{file}: {message}", **parts)
        details = []
        if self.value is not None:
            details.append(render(msg("got {value}", value=repr(self.value)), lang))
        if self.expected:
            details.append(render(msg("expected {expected}", expected=self.expected), lang))
        out = render(text, lang)
        if details:
            separator = "，" if (lang or language()) == "zh" else ", "
            out += render(msg(" ({details})", details=separator.join(details)), lang)
        return out
