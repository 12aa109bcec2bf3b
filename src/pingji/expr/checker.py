"""Validation of parsed expressions: known names, known functions, arity and simple types."""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Container, Mapping

from pingji.i18n import Text, msg

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
)

# name -> (minimum arguments, maximum arguments or None for "any number").
BUILTINS: dict[str, tuple[int, int | None]] = {
    "if": (3, 3),
    "coalesce": (2, None),
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceil": (1, 1),
    "clamp": (3, 3),
    "between": (3, 3),
    "case": (3, None),
    "days_between": (2, 2),
    "date": (1, 1),
    "add_days": (2, 2),
    "add_months": (2, 2),
    "workdays_between": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "isnull": (1, 1),
    "notnull": (1, 1),
    "rank": (1, 2),
    "pct_rank": (1, 2),
    "ntile": (2, 3),
    "quantile": (2, 3),
    "cum_share": (1, 2),
    "total": (1, 2),
    "concat": (2, None),
    "text": (1, 1),
}

# Functions over the run's whole population of entities (window functions in SQL); they
# cannot be used where expressions run over fact rows (a metric's `where`).
POPULATION_FUNCTIONS = frozenset({"rank", "pct_rank", "ntile", "quantile", "cum_share", "total"})

_USAGE = {
    "if": "if(condition, value_if_true, value_if_false)",
    "coalesce": "coalesce(a, b, …)",
    "min": "min(a, b, …)",
    "max": "max(a, b, …)",
    "abs": "abs(x)",
    "round": "round(x) or round(x, digits)",
    "floor": "floor(x)",
    "ceil": "ceil(x)",
    "clamp": "clamp(x, low, high)",
    "between": "between(x, low, high)",
    "case": "case(x, key1, value1, key2, value2, …, default)",
    "days_between": "days_between(start_date, end_date)",
    "date": "date('2025-01-31')",
    "add_days": "add_days(date, days)",
    "add_months": "add_months(date, months)",
    "workdays_between": "workdays_between(start_date, end_date)",
    "year": "year(date)",
    "month": "month(date)",
    "isnull": "isnull(x)",
    "notnull": "notnull(x)",
    "rank": "rank(x) or rank(x, group)",
    "pct_rank": "pct_rank(x) or pct_rank(x, group)",
    "ntile": "ntile(x, buckets) or ntile(x, buckets, group)",
    "quantile": "quantile(x, q) or quantile(x, q, group)",
    "cum_share": "cum_share(x) or cum_share(x, group)",
    "total": "total(x) or total(x, group)",
    "concat": "concat(a, b, …)",
    "text": "text(x)",
}

TYPES = ("number", "bool", "string", "date", "any")
# Friendly spellings a caller might use for column types.
_TYPE_ALIASES = {
    "boolean": "bool",
    "int": "number",
    "integer": "number",
    "float": "number",
    "decimal": "number",
    "numeric": "number",
    "money": "number",
    "str": "string",
    "text": "string",
    "datetime": "date",
    "timestamp": "date",
}
_NULL = "null"  # the type of the `null` literal: fits anywhere


def _norm_type(t: object) -> str:
    t = str(t).lower()
    t = _TYPE_ALIASES.get(t, t)
    return t if t in TYPES else "any"


def _err(node: Node, message: Text) -> ExprError:
    return ExprError(message, node.start, max(1, node.end - node.start))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_literal(node: Node) -> datetime.date:
    """Return the day a `date('YYYY-MM-DD')` argument names, or raise ExprError at it."""
    if not isinstance(node, String):
        raise _err(node, msg("date() takes a constant date in quotes, e.g. date('2025-01-31')"))
    text = node.value.strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise _err(
            node, f"'{node.value}' is not a date: write date('YYYY-MM-DD'), e.g. date('2025-01-31')"
        ) from None


# a type in words, as a message id ("a number" → 数字)
_KINDS = {t: ("an " if t[0] in "aeiou" else "a ") + t for t in (*TYPES, _NULL)}


def _describe(node: Node, t: str) -> Text:
    kind = msg(_KINDS.get(t, "a " + t))
    if isinstance(node, Name):
        return msg("'{name}' is {kind}", name=node.name, kind=kind)
    return msg("this is {kind}", kind=kind)


def _merge_functions(functions: Mapping[str, tuple[int, int | None]] | None) -> dict:
    table = dict(BUILTINS)
    for name, arity in (functions or {}).items():
        if name in BUILTINS:
            # Built-ins carry the project's null and rounding rules; shadowing them silently
            # would change results without any sign in the scheme.
            raise ValueError(f"context function {name!r} would shadow a built-in function")
        table[name] = tuple(arity)
    return table


class _Checker:
    def __init__(self, known, functions) -> None:
        self.known = known
        self.functions = _merge_functions(functions)
        # Memo by identity: unify() looks at a node's type more than once, and without it
        # nested if()s would be checked an exponential number of times.
        self.memo: dict[int, str] = {}

    def type_of_name(self, node: Name) -> str:
        if node.name not in self.known:
            message = msg("unknown name '{name}'", name=node.name)
            candidates = (
                list(self.known)
                if isinstance(self.known, Mapping | set | frozenset | list | tuple)
                else []
            )
            close = difflib.get_close_matches(node.name, [str(c) for c in candidates], n=1)
            if close:
                message = msg("{message}; did you mean '{name}'?", message=message, name=close[0])
            elif candidates:
                shown = sorted(str(c) for c in candidates)
                more = ", …" if len(shown) > 12 else ""
                message = msg(
                    "{message}; known names: {names}",
                    message=message,
                    names=", ".join(shown[:12]) + more,
                )
            raise _err(node, message)
        if isinstance(self.known, Mapping):
            return _norm_type(self.known[node.name])
        return "any"

    def expect(self, node: Node, wanted: set[str], why: str) -> str:
        t = self.infer(node)
        if t in wanted or t in ("any", _NULL):
            return t
        raise _err(node, msg("{why}, but {described}", why=why, described=_describe(node, t)))

    def unify(self, nodes, why: str) -> str:
        """Return the common type of nodes that must agree (branches, list items)."""
        seen: str | None = None
        first: Node | None = None
        for node in nodes:
            t = self.infer(node)
            if t in ("any", _NULL):
                continue
            if seen is None:
                seen, first = t, node
            elif t != seen:
                raise _err(
                    node,
                    msg(
                        "{why}: {first} but {second}",
                        why=why,
                        first=_describe(first, seen),
                        second=_describe(node, t),
                    ),
                )
        if seen is not None:
            return seen
        return "any" if any(self.infer(n) == "any" for n in nodes) else _NULL

    def comparable(self, left: Node, right: Node, op: str) -> None:
        lt, rt = self.infer(left), self.infer(right)
        if _NULL in (lt, rt):
            null_side = left if lt == _NULL else right
            raise _err(
                null_side,
                msg(
                    "'{op} null' is never true; use isnull(x) or notnull(x) to test for null", op=op
                ),
            )
        if "any" in (lt, rt) or lt == rt:
            if op not in ("=", "!=") and lt == "bool":
                raise _err(left, msg("'{op}' cannot order true/false values; use = or !=", op=op))
            return
        # A date may be compared with a 'YYYY-MM-DD' string literal.
        if {lt, rt} == {"date", "string"} and (
            isinstance(left, String) or isinstance(right, String)
        ):
            return
        raise _err(
            right,
            msg(
                "cannot compare {left} with {right}: {described}",
                left=msg(lt),
                right=msg(rt),
                described=_describe(right, rt),
            ),
        )

    def infer(self, node: Node) -> str:
        key = id(node)
        if key not in self.memo:
            self.memo[key] = self._infer(node)
        return self.memo[key]

    def _infer(self, node: Node) -> str:
        match node:
            case Number():
                return "number"
            case String():
                return "string"
            case Bool():
                return "bool"
            case Null():
                return _NULL
            case Name():
                return self.type_of_name(node)
            case Unary(op=op, operand=o):
                self.expect(o, {"number"}, msg("unary '{op}' needs a number", op=op))
                return "number"
            case Binary(op=op, left=a, right=b):
                hint = msg("; use days_between(d1, d2) for dates") if op == "-" else ""
                why = msg("'{op}' needs numbers{hint}", op=op, hint=hint)
                self.expect(a, {"number"}, why)
                self.expect(b, {"number"}, why)
                return "number"
            case Compare(op=op, left=a, right=b):
                self.comparable(a, b, op)
                return "bool"
            case Logical(op=op, left=a, right=b):
                why = msg(
                    "'{op}' needs true/false values (compare numbers first, e.g. x > 0)", op=op
                )
                self.expect(a, {"bool"}, why)
                self.expect(b, {"bool"}, why)
                return "bool"
            case Not(operand=o):
                self.expect(o, {"bool"}, "'not' needs a true/false value")
                return "bool"
            case In(operand=o, items=items):
                for item in items:
                    if isinstance(item, Null):
                        raise _err(item, msg("null in an 'in' list never matches; use isnull(x)"))
                self.unify((o, *items), msg("the values of 'in' must have one type"))
                return "bool"
            case Call():
                return self.call(node)
        raise TypeError(f"check: not an expression node: {node!r}")

    def call(self, node: Call) -> str:
        name, args = node.name, node.args
        name_err = ExprError("", node.start, len(name))
        if name not in self.functions:
            message = msg("unknown function '{name}'", name=name)
            close = difflib.get_close_matches(name.lower(), list(self.functions), n=1)
            if close:
                message = msg("{message}; did you mean {name}()?", message=message, name=close[0])
            message = msg(
                "{message}; available: {names}",
                message=message,
                names=", ".join(sorted(self.functions)),
            )
            raise ExprError(message, name_err.offset, name_err.length)
        lo, hi = self.functions[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            if hi is None:
                wanted = msg("at least {count}", count=lo)
            elif lo == hi:
                wanted = msg("exactly {count}", count=lo)
            else:
                wanted = msg("{low} to {high}", low=lo, high=hi)
            usage = msg("; write {usage}", usage=_USAGE[name]) if name in _USAGE else ""
            template = (
                "{name}() takes {wanted} argument, got {got}{usage}"
                if hi == 1
                else "{name}() takes {wanted} arguments, got {got}{usage}"
            )
            raise ExprError(
                msg(template, name=name, wanted=wanted, got=len(args), usage=usage),
                name_err.offset,
                name_err.length,
            )
        if name not in BUILTINS:
            for a in args:
                self.infer(a)
            return "any"
        number = {"number"}
        match name:
            case "if":
                self.expect(args[0], {"bool"}, "the condition of if() must be true/false")
                return self.unify(args[1:], msg("both branches of if() must have one type"))
            case "coalesce":
                return self.unify(args, msg("the values of coalesce() must have one type"))
            case "min" | "max":
                t = self.unify(args, msg("the values of {name}() must have one type", name=name))
                if t in ("string", "bool"):
                    raise _err(
                        node,
                        msg(
                            "{name}() needs numbers or dates, not {kind}",
                            name=name,
                            kind=msg(t + "s"),
                        ),
                    )
                return t
            case "abs" | "floor" | "ceil":
                self.expect(args[0], number, msg("{name}() needs a number", name=name))
                return "number"
            case "round":
                self.expect(args[0], number, msg("round() needs a number"))
                if len(args) == 2:
                    d = args[1]
                    if not (isinstance(d, Number) and d.is_integer and 0 <= d.value <= 9):
                        raise _err(
                            d, msg("the digits of round() must be a whole number from 0 to 9")
                        )
                return "number"
            case "clamp":
                for a in args:
                    self.expect(a, number, msg("clamp() needs numbers"))
                return "number"
            case "between":
                self.unify(args, msg("the values of between() must have one type"))
                return "bool"
            case "case":
                subject, rest = args[0], args[1:]
                keys = rest[0::2] if len(rest) % 2 == 0 else rest[0:-1:2]
                values = list(rest[1::2])
                if len(rest) % 2 == 1:
                    values.append(rest[-1])  # the default
                self.unify(
                    (subject, *keys), msg("the keys of case() must have the type of its subject")
                )
                return self.unify(values, msg("the results of case() must have one type"))
            case "days_between":
                for a in args:
                    self.expect(a, {"date"}, "days_between() needs dates")
                return "number"
            case "date":
                date_literal(args[0])
                return "date"
            case "add_days" | "add_months":
                self.expect(args[0], {"date"}, msg("{name}() needs a date", name=name))
                why = (
                    msg("the days of {name}() must be a number", name=name)
                    if name == "add_days"
                    else msg("the months of {name}() must be a number", name=name)
                )
                self.expect(args[1], number, why)
                return "date"
            case "workdays_between":
                for a in args:
                    self.expect(a, {"date"}, "workdays_between() needs dates")
                return "number"
            case "year" | "month":
                self.expect(args[0], {"date"}, msg("{name}() needs a date", name=name))
                return "number"
            case "isnull" | "notnull":
                self.infer(args[0])
                return "bool"
            case "rank" | "pct_rank" | "ntile" | "quantile" | "cum_share" | "total":
                self.population(node)
                return "number"
            case "concat" | "text":
                for a in args:
                    self.infer(a)
                return "string"
        raise AssertionError(name)  # pragma: no cover - every built-in is handled above

    def population(self, node: Call) -> None:
        """Check a population function: a number, a constant where one is needed, a group."""
        name, args = node.name, node.args
        self.expect(args[0], {"number"}, msg("{name}() ranks numbers", name=name))
        rest = list(args[1:])
        if name == "ntile":
            k = rest.pop(0)
            if not (isinstance(k, Number) and k.is_integer and k.value >= 1):
                raise _err(
                    k,
                    msg(
                        "the buckets of ntile() must be a constant whole number of at least 1, "
                        "e.g. ntile(x, 5)"
                    ),
                )
        elif name == "quantile":
            q = rest.pop(0)
            if not (isinstance(q, Number) and 0 <= q.value <= 1):
                raise _err(
                    q,
                    msg(
                        "the q of quantile() must be a constant from 0 to 1, e.g. quantile(x, 0.5)"
                    ),
                )
        for group in rest:  # the optional last argument splits the population into groups
            if self.infer(group) == _NULL:
                raise _err(
                    group,
                    msg("the group of {name}() must be a value such as an attribute", name=name),
                )


def check(
    node: Node,
    known: Mapping[str, str] | Container[str],
    functions: Mapping[str, tuple[int, int | None]] | None = None,
) -> None:
    """Raise ExprError at the first unknown name or function, wrong arity or type clash."""
    _Checker(known, functions).infer(node)


def type_of(
    node: Node,
    known: Mapping[str, str] | Container[str],
    functions: Mapping[str, tuple[int, int | None]] | None = None,
) -> str:
    """Check an expression and return its type: number, bool, string, date, any or null."""
    return _Checker(known, functions).infer(node)
