"""Tokenizer, precedence-climbing parser and canonical printer for expressions.

Nothing here hands text to Python's own compiler: the grammar is tiny, and every
construct outside it is refused with the position and a message saying what is allowed.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .nodes import (
    Binary,
    Bool,
    Call,
    Compare,
    ExprError,
    In,
    Logical,
    Name,
    Node,
    Not,
    Null,
    Number,
    String,
    Unary,
    depth,
)

MAX_LENGTH = 10_000
MAX_DEPTH = 100

# Keywords of the language, matched case-insensitively.
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})

# Python keywords and code-running builtins are refused as names so a scheme author who
# tries Python gets a clear "not here" instead of an odd "unknown name".
_SPECIFIC_REFUSALS = {
    "lambda": "'lambda' is not allowed: expressions cannot define functions",
    "import": "'import' is not allowed: expressions cannot import modules",
    "from": "'from' is not allowed: expressions cannot import modules",
    "def": "'def' is not allowed: expressions cannot define functions",
    "class": "'class' is not allowed: expressions cannot define classes",
    "exec": "'exec' is not allowed: expressions cannot run code",
    "eval": "'eval' is not allowed: expressions cannot run code",
    "is": "'is' is not allowed: use '=' or '!=' to compare, isnull(x) / notnull(x) for null",
    "none": "'None' is not allowed: write null",
    "else": "'else' is not allowed: write if(condition, value_if_true, value_if_false)",
    "elif": "'elif' is not allowed: write if(condition, value_if_true, value_if_false)",
}
_REFUSED_WORDS = frozenset(w.lower() for w in keyword.kwlist) - KEYWORDS - {
    "if",
    "true",
    "false",
} | set(_SPECIFIC_REFUSALS)

_COMPARE_OPS = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_TWO_CHAR = ("==", "!=", "<>", "<=", ">=", "**", ":=", "//", "&&", "||", "->", "<<", ">>")
_FORBIDDEN_OPS = {
    "**": "'**' is not allowed: there is no power operator; multiply instead (x * x)",
    ":=": "':=' is not allowed: expressions cannot assign",
    "//": "'//' is not allowed: use floor(a / b) for whole-number division",
    "&&": "'&&' is not allowed: write and",
    "||": "'||' is not allowed: write or",
    "->": "'->' is not allowed in expressions",
    "<<": "'<<' is not allowed: there are no bit operators",
    ">>": "'>>' is not allowed: there are no bit operators",
    ";": "';' is not allowed: an expression is a single formula",
    "{": "'{' is not allowed: there are no sets or dictionaries; use x in (a, b) for lists",
    "}": "'}' is not allowed: there are no sets or dictionaries",
    "[": "'[' is not allowed: there is no indexing; use x in (a, b) for lists",
    "]": "']' is not allowed: there is no indexing",
    ".": "'.' is not allowed: there is no attribute access; write a plain name",
    ":": "':' is not allowed in expressions",
    "%": "'%' is not allowed: there is no modulo operator",
    "!": "'!' is not allowed: write not",
    "&": "'&' is not allowed: write and",
    "|": "'|' is not allowed: write or",
    "=>": "'=>' is not allowed: did you mean '>='?",
    "=<": "'=<' is not allowed: did you mean '<='?",
}
_SINGLE = set("+-*/<>=(),")

# Binding powers for infix operators (higher binds tighter).
_PREC_OR, _PREC_AND, _PREC_NOT, _PREC_CMP, _PREC_ADD, _PREC_MUL, _PREC_UNARY, _PREC_ATOM = range(
    1, 9
)
_INFIX = {
    "or": _PREC_OR,
    "and": _PREC_AND,
    "+": _PREC_ADD,
    "-": _PREC_ADD,
    "*": _PREC_MUL,
    "/": _PREC_MUL,
}


@dataclass(frozen=True)
class Token:
    """One lexical token; kind is num, str, name, kw, op or eof."""

    kind: str
    text: str
    start: int
    end: int
    value: object = None


def _is_name_start(ch: str) -> bool:
    return ch.isidentifier()


def tokenize(text: str) -> list[Token]:
    """Split expression text into tokens, refusing anything outside the language."""
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"expression is too long ({len(text)} characters, at most {MAX_LENGTH} allowed);"
            " split it into several metrics",
            MAX_LENGTH,
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() and ch.isascii():
            tokens.append(_number(text, i))
            i = tokens[-1].end
        elif ch in "'\"":
            tokens.append(_string(text, i))
            i = tokens[-1].end
        elif _is_name_start(ch):
            j = i + 1
            while j < n and (text[i : j + 1]).isidentifier():
                j += 1
            word = text[i:j]
            low = word.lower()
            if low in KEYWORDS:
                tokens.append(Token("kw", low, i, j))
            else:
                if low in _REFUSED_WORDS:
                    msg = _SPECIFIC_REFUSALS.get(
                        low,
                        f"'{word}' is a Python keyword and is not allowed in expressions;"
                        " rename the field",
                    )
                    raise ExprError(msg, i, j - i)
                if word.startswith("__"):
                    raise ExprError(
                        f"dunder names are not allowed: '{word}'; names must not start with '__'",
                        i,
                        j - i,
                    )
                tokens.append(Token("name", word, i, j))
            i = j
        else:
            two = text[i : i + 2]
            if two in _FORBIDDEN_OPS:
                raise ExprError(_FORBIDDEN_OPS[two], i, 2)
            if two in _TWO_CHAR:
                tokens.append(Token("op", two, i, i + 2))
                i += 2
            elif ch == "." and i + 1 < n and text[i + 1].isdigit():
                raise ExprError(f"a number must start with a digit: write 0{text[i : i + 2]}", i, 1)
            elif ch in _FORBIDDEN_OPS:
                raise ExprError(_FORBIDDEN_OPS[ch], i, 1)
            elif ch in _SINGLE:
                tokens.append(Token("op", ch, i, i + 1))
                i += 1
            else:
                raise ExprError(
                    f"unexpected character {ch!r}; allowed are names, numbers, 'strings',"
                    " parentheses, commas and the operators + - * / = != < <= > >=",
                    i,
                    1,
                )
    tokens.append(Token("eof", "", n, n))
    return tokens


def _number(text: str, i: int) -> Token:
    n, j = len(text), i
    while j < n and text[j].isascii() and text[j].isdigit():
        j += 1
    if j < n and text[j] == ".":
        k = j + 1
        while k < n and text[k].isascii() and text[k].isdigit():
            k += 1
        if k == j + 1:
            raise ExprError("a number needs digits after the decimal point, e.g. 1.0", i, k - i)
        j = k
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        m = k
        while m < n and text[m].isascii() and text[m].isdigit():
            m += 1
        if m > k:
            j = m
    if j < n and (text[j].isidentifier() or text[j].isdigit()):
        end = j
        while end < n and (text[end].isalnum() or text[end] == "_"):
            end += 1
        raise ExprError(
            f"malformed number {text[i:end]!r}; names must not start with a digit", i, end - i
        )
    try:
        value = Decimal(text[i:j])
    except InvalidOperation:  # pragma: no cover - the scan above only admits valid literals
        raise ExprError(f"malformed number {text[i:j]!r}", i, j - i) from None
    if abs(value.adjusted()) > 100:
        raise ExprError(f"number {text[i:j]!r} is out of range", i, j - i)
    return Token("num", text[i:j], i, j, value)


def _string(text: str, i: int) -> Token:
    quote, n = text[i], len(text)
    out: list[str] = []
    j = i + 1
    while j < n:
        ch = text[j]
        if ch == "\\":
            if j + 1 >= n:
                break
            nxt = text[j + 1]
            if nxt not in ("\\", "'", '"'):
                raise ExprError(
                    f"unknown escape '\\{nxt}' in string; only \\\\, \\' and \\\" are allowed",
                    j,
                    2,
                )
            out.append(nxt)
            j += 2
        elif ch == quote:
            return Token("str", text[i : j + 1], i, j + 1, "".join(out))
        else:
            out.append(ch)
            j += 1
    raise ExprError(f"unterminated string: add the closing {quote}", i, n - i)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.nesting = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (text is None or tok.text == text)

    def describe(self, tok: Token) -> str:
        return {
            "eof": "end of expression",
            "num": f"number {tok.text}",
            "str": f"string {tok.text}",
            "name": f"name '{tok.text}'",
        }.get(tok.kind, f"'{tok.text}'")

    def fail(self, message: str, tok: Token | None = None) -> ExprError:
        tok = tok or self.tok
        return ExprError(message, tok.start, max(1, tok.end - tok.start))

    def enter(self) -> None:
        # Bounded recursion: deep nesting is an ExprError, never a RecursionError.
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.fail(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels);"
                " split it into several metrics"
            )

    def parse(self) -> Node:
        if self.at("eof"):
            raise ExprError("expression is empty; write a formula such as sales / 12", 0, 1)
        node = self.expr(_PREC_OR)
        tok = self.tok
        if tok.kind != "eof":
            if tok.kind == "op" and tok.text == ")":
                raise self.fail("unbalanced parentheses: this ')' has no matching '('")
            if tok.kind == "op" and tok.text == "(":
                raise self.fail("only a function name can be called: write name(arguments)")
            raise self.fail(
                f"unexpected {self.describe(tok)} after a complete expression;"
                " is an operator or a comma missing?"
            )
        if depth(node) > MAX_DEPTH:
            raise ExprError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels);"
                " split it into several metrics",
                node.start,
                node.end - node.start,
            )
        return node

    def expr(self, min_prec: int) -> Node:
        self.enter()
        left = self.prefix(min_prec)
        while True:
            tok = self.tok
            infix = tok.kind == "kw" and tok.text in ("and", "or")
            infix = infix or (tok.kind == "op" and tok.text in ("+", "-", "*", "/"))
            if infix:
                prec = _INFIX[tok.text]
                if prec < min_prec:
                    break
                self.advance()
                right = self.expr(prec + 1)
                cls = Logical if tok.text in ("and", "or") else Binary
                left = cls(tok.text, left, right, start=left.start, end=right.end)
            elif self.at_comparison():
                if min_prec > _PREC_CMP:
                    break
                left = self.comparison(left)
                if self.at_comparison():
                    raise self.fail(
                        "comparisons cannot be chained; write between(x, lo, hi)"
                        " or join two comparisons with and"
                    )
            else:
                break
        self.nesting -= 1
        return left

    def at_comparison(self) -> bool:
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE_OPS:
            return True
        if tok.kind == "kw" and tok.text == "in":
            return True
        return (
            tok.kind == "kw"
            and tok.text == "not"
            and self.tokens[self.pos + 1].kind == "kw"
            and self.tokens[self.pos + 1].text == "in"
        )

    def comparison(self, left: Node) -> Node:
        tok = self.advance()
        if tok.kind == "op":
            right = self.expr(_PREC_CMP + 1)
            return Compare(_COMPARE_OPS[tok.text], left, right, start=left.start, end=right.end)
        negated = tok.text == "not"
        if negated:
            self.advance()
        if not self.at("op", "("):
            raise self.fail("'in' needs a list in parentheses, e.g. x in ('a', 'b')")
        self.advance()
        if self.at("op", ")"):
            raise self.fail("the list after 'in' is empty; give at least one value")
        items = self.arguments()
        end = self.advance().end  # the closing parenthesis, checked by arguments()
        return In(left, tuple(items), negated, start=left.start, end=end)

    def arguments(self) -> list[Node]:
        """Parse `a, b, …` up to (not including) a ')'; the '(' is already consumed."""
        open_tok = self.tokens[self.pos - 1]
        items = [self.expr(_PREC_OR)]
        while self.at("op", ","):
            self.advance()
            items.append(self.expr(_PREC_OR))
        if not self.at("op", ")"):
            if self.at("eof"):
                raise self.fail("unbalanced parentheses: this '(' is never closed", open_tok)
            raise self.fail(f"expected ',' or ')' but found {self.describe(self.tok)}")
        return items

    def prefix(self, min_prec: int) -> Node:
        tok = self.tok
        if tok.kind == "kw" and tok.text == "not":
            if min_prec > _PREC_NOT:
                raise self.fail("put 'not …' in parentheses here, e.g. x = (not y)")
            self.advance()
            operand = self.expr(_PREC_NOT)
            return Not(operand, start=tok.start, end=operand.end)
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.advance()
            operand = self.expr(_PREC_UNARY)
            return Unary(tok.text, operand, start=tok.start, end=operand.end)
        return self.atom()

    def atom(self) -> Node:
        tok = self.advance()
        node: Node
        if tok.kind == "num":
            node = Number(tok.value, start=tok.start, end=tok.end)
        elif tok.kind == "str":
            node = String(tok.value, start=tok.start, end=tok.end)
        elif tok.kind == "kw" and tok.text in ("true", "false"):
            node = Bool(tok.text == "true", start=tok.start, end=tok.end)
        elif tok.kind == "kw" and tok.text == "null":
            node = Null(start=tok.start, end=tok.end)
        elif tok.kind == "name":
            if self.at("op", "("):
                self.advance()
                args: list[Node] = [] if self.at("op", ")") else self.arguments()
                if not self.at("op", ")"):  # pragma: no cover - arguments() guarantees it
                    raise self.fail("expected ')'")
                end = self.advance().end
                node = Call(tok.text, tuple(args), start=tok.start, end=end)
            else:
                if tok.text == "if":
                    raise self.fail("'if' is a function: write if(condition, then, else)", tok)
                node = Name(tok.text, start=tok.start, end=tok.end)
        elif tok.kind == "op" and tok.text == "(":
            if self.at("op", ")"):
                raise self.fail("empty parentheses: put an expression inside")
            inner = self.expr(_PREC_OR)
            if not self.at("op", ")"):
                if self.at("eof"):
                    raise self.fail("unbalanced parentheses: this '(' is never closed", tok)
                raise self.fail(f"expected ')' but found {self.describe(self.tok)}")
            self.advance()
            node = inner  # parentheses only group; positions stay those of the inner node
        elif tok.kind == "eof":
            raise self.fail("expression ends too early: a value is missing", tok)
        elif tok.kind == "op" and tok.text == ")":
            raise self.fail("unbalanced parentheses: this ')' has no matching '('", tok)
        else:
            raise self.fail(f"expected a value but found {self.describe(tok)}", tok)
        if self.at("op", "("):
            raise self.fail("only a function name can be called: write name(arguments)")
        return node


def parse(text: str) -> Node:
    """Parse expression text into an AST, raising ExprError with the position of any problem."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, got {type(text).__name__}", 0, 1)
    return _Parser(text).parse()


# ---------------------------------------------------------------- printing


def _prec(node: Node) -> int:
    match node:
        case Logical(op="or"):
            return _PREC_OR
        case Logical(op="and"):
            return _PREC_AND
        case Not():
            return _PREC_NOT
        case Compare() | In():
            return _PREC_CMP
        case Binary(op=op):
            return _INFIX[op]
        case Unary():
            return _PREC_UNARY
        case Number(value=v) if v < 0:
            return _PREC_UNARY
    return _PREC_ATOM


def _wrap(node: Node, min_prec: int) -> str:
    text = unparse(node)
    return f"({text})" if _prec(node) < min_prec else text


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unparse(node: Node) -> str:
    """Return the canonical text of an expression; parsing it gives back an equal AST."""
    match node:
        case Number(value=v):
            return f"{v:f}"
        case String(value=v):
            return _quote(v)
        case Bool(value=v):
            return "true" if v else "false"
        case Null():
            return "null"
        case Name(name=name):
            return name
        case Unary(op=op, operand=o):
            # `-(-x)` rather than `--x`, which reads like a typo.
            inner = _wrap(o, _PREC_UNARY + 1 if isinstance(o, Unary) else _PREC_UNARY)
            return f"{op}{inner}"
        case Binary(op=op, left=a, right=b) | Logical(op=op, left=a, right=b):
            prec = _INFIX[op]
            return f"{_wrap(a, prec)} {op} {_wrap(b, prec + 1)}"
        case Compare(op=op, left=a, right=b):
            return f"{_wrap(a, _PREC_CMP + 1)} {op} {_wrap(b, _PREC_CMP + 1)}"
        case Not(operand=o):
            return f"not {_wrap(o, _PREC_NOT)}"
        case In(operand=o, items=items, negated=negated):
            word = "not in" if negated else "in"
            return f"{_wrap(o, _PREC_CMP + 1)} {word} ({', '.join(map(unparse, items))})"
        case Call(name=name, args=args):
            return f"{name}({', '.join(map(unparse, args))})"
    raise TypeError(f"unparse: not an expression node: {node!r}")
