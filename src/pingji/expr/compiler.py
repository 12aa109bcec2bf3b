"""Compilation of expression ASTs to portable Ibis values (see the package docstring for rules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.common.exceptions import IbisError

from .checker import BUILTINS, date_literal
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

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Decimal wide enough for any sane float, with exactly the 9 decimals comparisons use.
_FLOAT_AS_DECIMAL = dt.Decimal(38, 9)


def uses_nodes(fn: Callable) -> Callable:
    """Mark a context function to receive (call_node, compile) instead of compiled arguments."""
    fn.__pingji_uses_nodes__ = True
    return fn


def literal_value(value: ir.Value) -> Any:
    """Return the Python value of a compiled literal argument, or raise ValueError."""
    op = value.op()
    if not isinstance(op, ibis.expr.operations.Literal):
        raise ValueError("not a literal")
    return op.value


def _err(node: Node, message: str) -> ExprError:
    return ExprError(message, node.start, max(1, node.end - node.start))


def _is_null(v: ir.Value) -> bool:
    return v.type().is_null()


def _is_float(v: ir.Value) -> bool:
    return v.type().is_floating()


def _round9(v: ir.Value) -> ir.Value:
    """Round floats to 9 decimals so binary noise (0.97*100 = 96.99999999999999) disappears."""
    return v.round(9) if _is_float(v) else v


def _harmonise(values: list[ir.Value]) -> list[ir.Value]:
    """Give mixed values one type: a float makes decimals float; null literals take the type."""
    if any(_is_float(v) for v in values):
        # Ibis would otherwise type decimal-with-float as decimal and round the float.
        values = [v.cast("float64") if v.type().is_decimal() else v for v in values]
    typed = [v for v in values if not _is_null(v)]
    if not typed:
        return values
    target = typed[0].type()
    for v in typed[1:]:
        t = v.type()
        if t.is_numeric() and target.is_numeric() and t != target:
            target = dt.higher_precedence(target, t)
    return [ibis.null(target) if _is_null(v) else v for v in values]


def _false() -> ir.BooleanValue:
    return ibis.literal(False)


class _Compiler:
    def __init__(self, resolve, functions, population=None, workdays=None) -> None:
        self.resolve = resolve
        self.population = population
        self.workdays = workdays
        self.functions = dict(functions or {})
        for name in self.functions:
            if name in BUILTINS:
                raise ValueError(f"context function {name!r} would shadow a built-in function")

    def compile(self, node: Node) -> ir.Value:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise TypeError(f"no compile rule for node kind {type(node).__name__}")
        try:
            return method(node)
        except ExprError:
            raise
        except (IbisError, TypeError, ValueError, AttributeError) as exc:
            # Ibis refuses ill-typed operations (a string plus a number, …); report where.
            raise _err(node, f"cannot compute this expression: {exc}") from exc

    # -- helpers ---------------------------------------------------------------

    def boolean(self, node: Node) -> ir.BooleanValue:
        """Compile a condition; NULL counts as false."""
        v = self.compile(node)
        if _is_null(v):
            return _false()
        if not v.type().is_boolean():
            raise _err(node, f"a true/false value is needed here, but this is {v.type()}")
        return v.fill_null(False)

    def numeric(self, node: Node, what: str) -> ir.Value:
        v = self.compile(node)
        if not (_is_null(v) or v.type().is_numeric()):
            raise _err(node, f"{what} needs a number, but this is {v.type()}")
        return v

    def compare(self, op: str, a: ir.Value, b: ir.Value) -> ir.BooleanValue:
        if _is_null(a) or _is_null(b):
            return _false()
        if a.type().is_date() and b.type().is_string():
            b = b.cast("date")
        elif b.type().is_date() and a.type().is_string():
            a = a.cast("date")
        elif a.type().is_numeric() and b.type().is_numeric():
            a, b = _harmonise([a, b])
        a, b = _round9(a), _round9(b)
        result = {
            "=": lambda: a == b,
            "!=": lambda: a != b,
            "<": lambda: a < b,
            "<=": lambda: a <= b,
            ">": lambda: a > b,
            ">=": lambda: a >= b,
        }[op]()
        return result.fill_null(False)

    # -- node kinds ------------------------------------------------------------

    def visit_Number(self, node: Number) -> ir.Value:
        if node.is_integer and _INT64_MIN <= node.value <= _INT64_MAX:
            return ibis.literal(int(node.value), type="int64")
        return ibis.literal(float(node.value), type="float64")

    def visit_String(self, node: String) -> ir.Value:
        return ibis.literal(node.value, type="string")

    def visit_Bool(self, node: Bool) -> ir.Value:
        return ibis.literal(node.value, type="boolean")

    def visit_Null(self, node: Null) -> ir.Value:
        return ibis.null()

    def visit_Name(self, node: Name) -> ir.Value:
        try:
            value = self.resolve(node.name)
        except (KeyError, AttributeError, IbisError):
            # Tables raise their own error kinds for a missing column; report it in place.
            raise _err(node, f"unknown name '{node.name}'") from None
        if not isinstance(value, ir.Value):
            value = ibis.literal(value)
        return value

    def visit_Unary(self, node: Unary) -> ir.Value:
        v = self.numeric(node.operand, f"unary '{node.op}'")
        if _is_null(v) or node.op == "+":
            return v
        return -v

    def visit_Binary(self, node: Binary) -> ir.Value:
        a = self.numeric(node.left, f"'{node.op}'")
        b = self.numeric(node.right, f"'{node.op}'")
        if node.op == "/":
            if _is_null(a) or _is_null(b):
                return ibis.null("float64")
            # Division is always float, and x / 0 is NULL on every backend
            # (PostgreSQL would raise, DuckDB would give inf or NULL).
            return a.cast("float64") / b.cast("float64").nullif(0)
        a, b = _harmonise([a, b])
        if _is_null(a) or _is_null(b):
            return ibis.null(a.type() if not _is_null(a) else b.type())
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        return a * b

    def visit_Compare(self, node: Compare) -> ir.Value:
        return self.compare(node.op, self.compile(node.left), self.compile(node.right))

    def visit_Logical(self, node: Logical) -> ir.Value:
        a, b = self.boolean(node.left), self.boolean(node.right)
        return a & b if node.op == "and" else a | b

    def visit_Not(self, node: Not) -> ir.Value:
        return ~self.boolean(node.operand)

    def visit_In(self, node: In) -> ir.Value:
        x = self.compile(node.operand)
        items = [self.compile(i) for i in node.items]
        if _is_null(x):
            return _false()
        values = _harmonise([x, *items])
        x, items = _round9(values[0]), [_round9(v) for v in values[1:]]
        result = x.notin(items) if node.negated else x.isin(items)
        return result.fill_null(False)

    def visit_Call(self, node: Call) -> ir.Value:
        if node.name in self.functions:
            fn = self.functions[node.name]
            if getattr(fn, "__pingji_uses_nodes__", False):
                return fn(node, self.compile)
            return fn(*(self.compile(a) for a in node.args))
        if node.name not in BUILTINS:
            raise ExprError(f"unknown function '{node.name}'", node.start, len(node.name))
        lo, hi = BUILTINS[node.name]
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            raise ExprError(
                f"{node.name}() got {len(node.args)} arguments", node.start, len(node.name)
            )
        return getattr(self, f"call_{node.name}")(node, node.args)

    # -- built-in functions ----------------------------------------------------

    def call_if(self, node: Call, args) -> ir.Value:
        cond = self.boolean(args[0])
        a, b = _harmonise([self.compile(args[1]), self.compile(args[2])])
        if _is_null(a) and _is_null(b):
            return a
        return ibis.ifelse(cond, a, b)

    def call_coalesce(self, node: Call, args) -> ir.Value:
        values = [v for v in _harmonise([self.compile(a) for a in args]) if not _is_null(v)]
        if not values:
            return ibis.null()
        return values[0] if len(values) == 1 else ibis.coalesce(*values)

    def _extreme(self, args, pick) -> ir.Value:
        values = [v for v in _harmonise([self.compile(a) for a in args]) if not _is_null(v)]
        if not values:
            return ibis.null()
        if len(values) == 1:
            return values[0]
        # least/greatest skip NULLs on DuckDB and PostgreSQL but return NULL on other
        # engines; filling each NULL from the others makes "ignore NULLs" explicit.
        filled = [ibis.coalesce(v, *(w for w in values if w is not v)) for v in values]
        return pick(*filled)

    def call_min(self, node: Call, args) -> ir.Value:
        return self._extreme(args, ibis.least)

    def call_max(self, node: Call, args) -> ir.Value:
        return self._extreme(args, ibis.greatest)

    def call_abs(self, node: Call, args) -> ir.Value:
        v = self.numeric(args[0], "abs()")
        return v if _is_null(v) else v.abs()

    def call_floor(self, node: Call, args) -> ir.Value:
        v = self.numeric(args[0], "floor()")
        return v if _is_null(v) else _round9(v).floor()

    def call_ceil(self, node: Call, args) -> ir.Value:
        v = self.numeric(args[0], "ceil()")
        return v if _is_null(v) else _round9(v).ceil()

    def call_round(self, node: Call, args) -> ir.Value:
        v = self.numeric(args[0], "round()")
        digits = 0
        if len(args) == 2:
            d = args[1]
            if not (isinstance(d, Number) and d.is_integer and 0 <= d.value <= 9):
                raise _err(d, "the digits of round() must be a whole number from 0 to 9")
            digits = int(d.value)
        t = v.type()
        if _is_null(v) or t.is_integer():
            return v
        if t.is_decimal():
            return v.round(digits)
        # Through a decimal: rounds half away from zero on every backend (PostgreSQL's
        # round(double) would round half to even) and 2.675 -> 2.68 as a person expects.
        return v.cast(_FLOAT_AS_DECIMAL).round(digits).cast("float64")

    def call_clamp(self, node: Call, args) -> ir.Value:
        for a in args:
            self.numeric(a, "clamp()")
        x, lo, hi = _harmonise([self.compile(a) for a in args])
        if _is_null(x):
            return x
        # A CASE rather than greatest(lo, least(x, hi)): those skip NULLs, and clamp(NULL)
        # must stay NULL.
        branches = []
        if not _is_null(lo):
            branches.append((self.compare("<", x, lo), lo))
        if not _is_null(hi):
            branches.append((self.compare(">", x, hi), hi))
        if not branches:
            return x
        return ibis.cases(*branches, else_=x)

    def call_between(self, node: Call, args) -> ir.Value:
        x, lo, hi = (self.compile(a) for a in args)
        return self.compare(">=", x, lo) & self.compare("<=", x, hi)

    def call_case(self, node: Call, args) -> ir.Value:
        subject = self.compile(args[0])
        rest = args[1:]
        pairs = [(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]
        default = rest[-1] if len(rest) % 2 == 1 else None
        results = _harmonise(
            [self.compile(v) for _, v in pairs]
            + ([self.compile(default)] if default is not None else [])
        )
        conditions = [self.compare("=", subject, self.compile(k)) for k, _ in pairs]
        else_ = results[len(pairs)] if default is not None else None
        typed = next((r.type() for r in results if not _is_null(r)), None)
        if typed is None:
            return ibis.null()
        if else_ is None:
            else_ = ibis.null(typed)
        return ibis.cases(*zip(conditions, results[: len(pairs)], strict=True), else_=else_)

    def date(self, node: Node, what: str) -> ir.Value:
        v = self.compile(node)
        t = v.type()
        if t.is_timestamp() or t.is_string():
            return v.cast("date")
        if not (_is_null(v) or t.is_date()):
            raise _err(node, f"{what} needs a date, but this is {t}")
        return v

    def call_days_between(self, node: Call, args) -> ir.Value:
        d1, d2 = self.date(args[0], "days_between()"), self.date(args[1], "days_between()")
        if _is_null(d1) or _is_null(d2):
            return ibis.null("int64")
        return d2.delta(d1, unit="day")

    def call_date(self, node: Call, args) -> ir.Value:
        return ibis.literal(date_literal(args[0]), type="date")

    def whole(self, node: Node, what: str) -> ir.Value:
        """Compile a count of days or months: a fraction is cut off toward zero."""
        v = self.numeric(node, what)
        if _is_null(v) or v.type().is_integer():
            return v
        v = _round9(v.cast("float64"))
        return ibis.ifelse(v >= 0, v.floor(), v.ceil()).cast("int64")

    def _shift(self, node: Call, args, unit: str) -> ir.Value:
        d = self.date(args[0], f"{node.name}()")
        n = self.whole(args[1], f"{node.name}()")
        if _is_null(d) or _is_null(n):
            return ibis.null("date")
        # DuckDB and PostgreSQL both keep the day of the month and clamp it to the target
        # month's last day (2025-01-31 + 1 month = 2025-02-28). Both give a timestamp for
        # date + interval while Ibis types it a date, so Value.cast would be skipped: the
        # cast is built as an operation.
        shifted = d + n.cast("int64").as_interval(unit)
        return ops.Cast(shifted, to=dt.date).to_expr()

    def call_add_days(self, node: Call, args) -> ir.Value:
        return self._shift(node, args, "D")

    def call_add_months(self, node: Call, args) -> ir.Value:
        return self._shift(node, args, "M")

    def call_workdays_between(self, node: Call, args) -> ir.Value:
        if self.workdays is None:
            raise _err(
                node,
                "workdays_between() counts with the data set's working-day calendar: "
                "use it in a metric's `where` or `expr`",
            )
        return self.workdays(node, self.compile_date)

    def compile_date(self, node: Node) -> ir.Value:
        """Compile a value that must be a date (a timestamp or 'YYYY-MM-DD' text is cast)."""
        return self.date(node, "workdays_between()")

    def call_year(self, node: Call, args) -> ir.Value:
        d = self.date(args[0], "year()")
        return ibis.null("int64") if _is_null(d) else d.year().cast("int64")

    def call_month(self, node: Call, args) -> ir.Value:
        d = self.date(args[0], "month()")
        return ibis.null("int64") if _is_null(d) else d.month().cast("int64")

    def call_isnull(self, node: Call, args) -> ir.Value:
        v = self.compile(args[0])
        return ibis.literal(True) if _is_null(v) else v.isnull()

    def call_notnull(self, node: Call, args) -> ir.Value:
        v = self.compile(args[0])
        return _false() if _is_null(v) else v.notnull()

    def text(self, node: Node) -> ir.Value:
        """Compile a value as text: numbers without trailing zeros, dates as YYYY-MM-DD."""
        v = self.compile(node)
        t = v.type()
        if _is_null(v):
            return ibis.null("string")
        if t.is_string():
            return v
        if t.is_integer() or t.is_boolean() or t.is_date():
            return v.cast("string")
        if t.is_numeric():
            # Through decimal(38, 9): the same digits on every backend (PostgreSQL prints
            # 2.0::float8 as '2', DuckDB as '2.0'), then the zeros after the point go.
            digits = v.cast(_FLOAT_AS_DECIMAL).cast("string")
            trimmed = digits.re_replace(r"0+$", "").re_replace(r"\.$", "")
            return ibis.ifelse(digits.contains("."), trimmed, digits)
        return v.cast("string")

    def call_text(self, node: Call, args) -> ir.Value:
        return self.text(args[0])

    def call_concat(self, node: Call, args) -> ir.Value:
        parts = [self.text(a) for a in args]
        if any(_is_null(p) for p in parts):
            return ibis.null("string")
        # `||` semantics on every backend: one missing part makes the whole text missing
        # (DuckDB's concat() would skip it and PostgreSQL's too).
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out

    def _population(self, node: Call, args) -> ir.Value:
        if self.population is None:
            raise _err(
                node,
                f"{node.name}() compares an entity with the other entities and cannot be used here",
            )
        return self.population(node, self.compile)

    call_rank = call_pct_rank = call_ntile = call_quantile = call_cum_share = call_total = (
        _population
    )


def compile_expr(
    node: Node,
    resolve: Callable[[str], ir.Value],
    functions: Mapping[str, Callable[..., ir.Value]] | None = None,
    population: Callable[[Call, Callable[[Node], ir.Value]], ir.Value] | None = None,
    workdays: Callable[[Call, Callable[[Node], ir.Value]], ir.Value] | None = None,
) -> ir.Value:
    """Compile an expression to an Ibis value, resolving names through `resolve`.

    `population(call, compile)` gives the value of a population function call (rank() …);
    without it they are refused. `workdays(call, compile)` likewise gives the value of a
    workdays_between() call, which needs the data set's working-day calendar."""
    return _Compiler(resolve, functions, population, workdays).compile(node)
