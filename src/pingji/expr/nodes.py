"""The expression AST: immutable nodes whose equality ignores source positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pingji.errors import BadInput
from pingji.i18n import Text, render


class ExprError(BadInput):
    """An expression is malformed, refers to something unknown, or mixes types."""

    def __init__(self, message: Text, offset: int = 0, length: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.offset = max(0, offset)
        self.length = max(1, length)

    def __str__(self) -> str:
        return render(self.message)

    def pointer(self, text: str) -> str:
        """Return the expression's line and a caret line marking the problem."""
        line_start = text.rfind("\n", 0, self.offset) + 1
        line_end = text.find("\n", self.offset)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        col = self.offset - line_start
        width = max(1, min(self.length, len(line) - col))
        return f"{line}\n{' ' * col}{'^' * width}"


# Positions are kw-only and excluded from equality/hash so that
# parse(unparse(node)) == node compares structure only.
@dataclass(frozen=True)
class Node:
    """Base of every expression node; start/end are 0-based offsets into the source."""

    start: int = field(default=0, compare=False, kw_only=True, repr=False)
    end: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Number(Node):
    """A numeric literal; integral values without a fraction compile to int64, others to float64."""

    value: Decimal

    @property
    def is_integer(self) -> bool:
        """Return True when the literal was written without a fractional part."""
        return self.value.is_finite() and self.value.as_tuple().exponent >= 0


@dataclass(frozen=True)
class String(Node):
    """A string literal."""

    value: str


@dataclass(frozen=True)
class Bool(Node):
    """`true` or `false`."""

    value: bool


@dataclass(frozen=True)
class Null(Node):
    """`null`."""


@dataclass(frozen=True)
class Name(Node):
    """A reference to a metric, column or context value."""

    name: str


@dataclass(frozen=True)
class Unary(Node):
    """Unary `-` or `+`."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic: `+ - * /`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    """A comparison; op is one of `= != < <= > >=` (`==` and `<>` are normalised)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    """`and` / `or`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not(Node):
    """`not x`."""

    operand: Node


@dataclass(frozen=True)
class In(Node):
    """`x [not] in (a, b, …)`."""

    operand: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Call(Node):
    """A call of a built-in or context function by plain name."""

    name: str
    args: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """Return the direct sub-nodes of a node, left to right."""
    match node:
        case Unary(operand=o) | Not(operand=o):
            return (o,)
        case Binary(left=a, right=b) | Compare(left=a, right=b) | Logical(left=a, right=b):
            return (a, b)
        case In(operand=o, items=items):
            return (o, *items)
        case Call(args=args):
            return args
    return ()


def walk(node: Node):
    """Yield every node of the tree, parents before children, left to right."""
    # Iterative so that hand-built deep trees cannot overflow the stack.
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def depth(node: Node) -> int:
    """Return the height of the tree (a leaf has depth 1)."""
    best = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


def names(node: Node) -> set[str]:
    """Return the free variable names an expression uses."""
    return {n.name for n in walk(node) if isinstance(n, Name)}


def calls(node: Node) -> set[str]:
    """Return the names of the functions an expression calls."""
    return {n.name for n in walk(node) if isinstance(n, Call)}
