"""The project's exceptions: one root, each kind with its exit code and a readable message."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path


def _display_width(text: str) -> int:
    """Return how many terminal columns text takes (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class PingjiError(Exception):
    """Root of every error pingji reports to a user."""

    exit_code = 1

    def render(self) -> str:
        """Return the full text shown to a user."""
        return str(self)


class BadInput(PingjiError):
    """Bad input (scheme, data, arguments): exit code 2, nothing written."""

    exit_code = 2


class EvaluationError(PingjiError):
    """The evaluation itself could not be completed (exit code 1)."""

    exit_code = 1


@dataclass
class Problem:
    """One problem found in a scheme file, with its position."""

    message: str
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

    def render(self) -> str:
        """Return `file:line:col: message` per problem, each with a few numbered lines."""
        lines = self.text.splitlines() if self.text else []
        out: list[str] = []
        for p in self.problems:
            head = f"{p.location(self.file)}: {p.message}"
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
            out.append(f"{len(self.problems)} problems in {self.file}.")
        out.append("Fix the scheme file and run `pingji validate` again.")
        return "\n".join(out)


@dataclass
class DataError(BadInput):
    """A data file does not fit the data contract."""

    file: str | Path
    message: str
    row: int | None = None  # line number in the file (header = line 1) or spreadsheet row
    column: str | None = None
    value: object = None
    expected: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        """Return `file:row: column 'c': message (value …, expected …)`."""
        where = str(self.file)
        if self.row is not None:
            where += f":{self.row}"
        text = f"{where}: "
        if self.column:
            text += f"column '{self.column}': "
        text += self.message
        details = []
        if self.value is not None:
            details.append(f"got {self.value!r}")
        if self.expected:
            details.append(f"expected {self.expected}")
        if details:
            text += " (" + ", ".join(details) + ")"
        return text
