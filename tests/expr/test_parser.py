"""Parser, printer and checker tests: precedence, refusals with positions, round trips."""

from __future__ import annotations

import builtins
from decimal import Decimal

import pytest

from pingji.errors import BadInput
from pingji.expr import (
    Binary,
    Bool,
    Call,
    Compare,
    ExprError,
    In,
    Logical,
    Name,
    Not,
    Null,
    Number,
    String,
    Unary,
    calls,
    check,
    names,
    parse,
    type_of,
    unparse,
)

a, b, c, x = Name("a"), Name("b"), Name("c"), Name("x")


def num(v) -> Number:
    return Number(Decimal(str(v)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * c", Binary("+", a, Binary("*", b, c))),
        ("(a + b) * c", Binary("*", Binary("+", a, b), c)),
        ("a - b - c", Binary("-", Binary("-", a, b), c)),
        ("a / b / c", Binary("/", Binary("/", a, b), c)),
        ("-a * b", Binary("*", Unary("-", a), b)),
        ("a * -b", Binary("*", a, Unary("-", b))),
        ("- -a", Unary("-", Unary("-", a))),
        ("a or b and c", Logical("or", a, Logical("and", b, c))),
        ("not a and b", Logical("and", Not(a), b)),
        ("not a = b", Not(Compare("=", a, b))),
        ("a + 1 > b * 2", Compare(">", Binary("+", a, num(1)), Binary("*", b, num(2)))),
        ("a == b", Compare("=", a, b)),
        ("a <> b", Compare("!=", a, b)),
        ("a != b", Compare("!=", a, b)),
        ("a >= 0.95", Compare(">=", a, num("0.95"))),
        ("x in ('a', \"b\")", In(x, (String("a"), String("b")))),
        ("x NOT IN (1)", In(x, (num(1),), negated=True)),
        ("not x in (1)", Not(In(x, (num(1),)))),
        ("TRUE Or False AND NULL", Logical("or", Bool(True), Logical("and", Bool(False), Null()))),
        ("if(a, b, c)", Call("if", (a, b, c))),
        ("f()", Call("f", ())),
        ("销售额 / 12", Binary("/", Name("销售额"), num(12))),
        ("1e6", Number(Decimal("1000000"))),
        ("'it\\'s'", String("it's")),
        ("'a\\\\b'", String("a\\b")),
    ],
)
def test_it_parses_with_precedence(text, expected):
    assert parse(text) == expected


def test_it_records_positions():
    node = parse("a + f(bb, 'x')")
    assert (node.start, node.end) == (0, 14)
    call = node.right
    assert (call.start, call.end) == (4, 14)
    assert (call.args[1].start, call.args[1].end) == (10, 13)


def test_positions_do_not_affect_equality():
    assert parse("a+b") == parse("  a   +   b")
    assert hash(parse("a+b")) == hash(parse("(a) + (b)"))


@pytest.mark.parametrize(
    ("text", "offset", "length", "message"),
    [
        ("a.b", 1, 1, "'.' is not allowed: there is no attribute access"),
        ("x[0]", 1, 1, "'[' is not allowed: there is no indexing"),
        ("lambda: 1", 0, 6, "'lambda' is not allowed"),
        ("import os", 0, 6, "'import' is not allowed"),
        ("a ** 2", 2, 2, "'**' is not allowed"),
        ("(y := 1)", 3, 2, "':=' is not allowed"),
        ("a; b", 1, 1, "';' is not allowed"),
        ("{'a': 1}", 0, 1, "'{' is not allowed"),
        ("(a)(b)", 3, 1, "only a function name can be called"),
        ("f(1)(2)", 4, 1, "only a function name can be called"),
        ("'s'(1)", 3, 1, "only a function name can be called"),
        ("def f", 0, 3, "'def' is not allowed"),
        ("class", 0, 5, "'class' is not allowed"),
        ("exec('x')", 0, 4, "'exec' is not allowed"),
        ("eval('x')", 0, 4, "'eval' is not allowed"),
        ("a while b", 2, 5, "'while' is a Python keyword"),
        ("a is null", 2, 2, "'is' is not allowed"),
        ("a # b", 2, 1, "unexpected character '#'"),
        ("a $ b", 2, 1, "unexpected character '$'"),
        ("a % b", 2, 1, "'%' is not allowed"),
        ("'abc", 0, 4, "unterminated string"),
        ('x = "ab', 4, 3, "unterminated string"),
        ("'a\\n'", 2, 2, "unknown escape"),
        ("(a + b", 0, 1, "unbalanced parentheses: this '(' is never closed"),
        ("f(a, b", 1, 1, "unbalanced parentheses: this '(' is never closed"),
        ("a + b)", 5, 1, "unbalanced parentheses: this ')' has no matching '('"),
        ("a b", 2, 1, "unexpected name 'b' after a complete expression"),
        ("1 2", 2, 1, "unexpected number 2 after a complete expression"),
        ("", 0, 1, "expression is empty"),
        ("   ", 0, 1, "expression is empty"),
        ("a +", 3, 1, "expression ends too early"),
        ("__class__", 0, 9, "dunder names are not allowed"),
        ("0 < x < 1", 6, 1, "comparisons cannot be chained; write between(x, lo, hi)"),
        ("a = b = c", 6, 1, "comparisons cannot be chained"),
        ("x in y", 5, 1, "'in' needs a list in parentheses"),
        ("x in ()", 6, 1, "the list after 'in' is empty"),
        ("a = not b", 4, 3, "put 'not …' in parentheses"),
        ("if", 0, 2, "'if' is a function"),
        ("1abc", 0, 4, "malformed number '1abc'"),
        (".5", 0, 1, "a number must start with a digit: write 0.5"),
        ("1.", 0, 2, "a number needs digits after the decimal point"),
        ("a && b", 2, 2, "'&&' is not allowed: write and"),
        ("f(a b)", 4, 1, "expected ',' or ')' but found name 'b'"),
        ("()", 1, 1, "empty parentheses"),
        ("a = None", 4, 4, "'None' is not allowed: write null"),
    ],
)
def test_it_refuses_with_position(text, offset, length, message):
    with pytest.raises(ExprError) as info:
        parse(text)
    err = info.value
    assert str(err).startswith(message), str(err)
    assert (err.offset, err.length) == (offset, length)
    assert err.message == str(err)


def test_expr_error_is_bad_input():
    with pytest.raises(BadInput) as info:
        parse("a.b")
    assert info.value.exit_code == 2


def test_error_pointer_marks_the_problem():
    with pytest.raises(ExprError) as info:
        parse("sales ** 2")
    assert info.value.pointer("sales ** 2") == "sales ** 2\n      ^^"


def test_too_long_input_is_refused():
    with pytest.raises(ExprError, match="expression is too long"):
        parse("a + " * 3000 + "a")


@pytest.mark.parametrize(
    "text",
    [
        "(" * 500 + "a" + ")" * 500,
        "-" * 500 + "a",
        "not " * 500 + "a",
        "f(" * 500 + ")" * 500,
        " + ".join(["a"] * 1000),
        "a" + " and a" * 1000,
    ],
)
def test_deep_nesting_is_an_expr_error_not_recursion(text):
    with pytest.raises(ExprError, match="nested too deeply"):
        parse(text)


def test_parsing_never_runs_code(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("code was executed")

    for fn in ("eval", "exec", "compile", "__import__"):
        monkeypatch.setattr(builtins, fn, boom)
    for text in [
        "__import__('os').system('x')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd').read()",
        "exec('import os')",
        "lambda: 0",
    ]:
        with pytest.raises(ExprError):
            parse(text)
    monkeypatch.undo()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a+b*c", "a + b * c"),
        ("(a+b)*c", "(a + b) * c"),
        ("a-(b-c)", "a - (b - c)"),
        ("a-(b+c)", "a - (b + c)"),
        ("(a-b)-c", "a - b - c"),
        ("a/(b*c)", "a / (b * c)"),
        ("-(a+b)", "-(a + b)"),
        ("- - a", "-(-a)"),
        ("a <> b", "a != b"),
        ("a == b", "a = b"),
        ("(a or b) and not c", "(a or b) and not c"),
        ("not (a and b)", "not (a and b)"),
        ("(a < b) = true", "(a < b) = true"),
        ("x NOT IN ( 1 , 2.50 )", "x not in (1, 2.50)"),
        ("IF(a,NULL,'it''s')", None),
        ("case(x, 'a', 1, 2)", "case(x, 'a', 1, 2)"),
        ("1e3 + 0.001", "1000 + 0.001"),
        ("'say \"hi\"'", "'say \"hi\"'"),
    ],
)
def test_unparse_is_canonical_and_round_trips(text, canonical):
    try:
        node = parse(text)
    except ExprError:
        assert canonical is None  # the doubled quote is not an escape in this language
        return
    assert unparse(node) == canonical
    assert parse(unparse(node)) == node


def test_names_and_calls():
    node = parse("if(prev_sales = 0, null, (sales - prev_sales) / prev_sales) + prev(x)")
    assert names(node) == {"prev_sales", "sales", "x"}
    assert calls(node) == {"if", "prev"}


# ---------------------------------------------------------------- check()

KNOWN = {
    "sales": "number",
    "payments": "number",
    "ok": "bool",
    "type": "string",
    "signed": "date",
    "extra": "any",
}


@pytest.mark.parametrize(
    "text",
    [
        "payments / sales",
        "sales > 100000 and ok",
        "if(sales = 0, null, payments / sales)",
        "type in ('service_attitude', 'rude')",
        "clamp(sales, 0, 100)",
        "case(type, 'a', 1, 'b', 2, 0)",
        "days_between(signed, signed) > 30 and year(signed) = 2024",
        "signed >= '2024-01-01'",
        "round(sales / 3, 2) + abs(payments) + floor(sales) + ceil(sales)",
        "coalesce(extra, 0) + min(sales, payments) - max(sales, 0, payments)",
        "between(sales, 0, 10) or isnull(type) or notnull(extra)",
        "prev(sales) > 0",
    ],
)
def test_check_accepts_valid_expressions(text):
    check(parse(text), KNOWN, {"prev": (1, 2)})


@pytest.mark.parametrize(
    ("text", "offset", "length", "message"),
    [
        ("sales + salse", 8, 5, "unknown name 'salse'; did you mean 'sales'?"),
        ("foo(sales)", 0, 3, "unknown function 'foo'"),
        ("IF(ok, 1, 2)", 0, 2, "unknown function 'IF'; did you mean if()?"),
        ("if(ok, 1)", 0, 2, "if() takes exactly 3 arguments, got 2"),
        ("round(sales, 1, 2)", 0, 5, "round() takes 1 to 2 arguments, got 3"),
        ("coalesce(sales)", 0, 8, "coalesce() takes at least 2 arguments, got 1"),
        ("prev()", 0, 4, "prev() takes 1 to 2 arguments, got 0"),
        ("sales and ok", 0, 5, "'and' needs true/false values"),
        ("not sales", 4, 5, "'not' needs a true/false value"),
        ("type + 1", 0, 4, "'+' needs numbers"),
        ("signed - signed", 0, 6, "'-' needs numbers; use days_between(d1, d2) for dates"),
        ("-type", 1, 4, "unary '-' needs a number"),
        ("sales = 'x'", 8, 3, "cannot compare number with string"),
        ("sales = null", 8, 4, "'= null' is never true; use isnull(x)"),
        ("type in ('a', 1)", 14, 1, "the values of 'in' must have one type"),
        ("type in ('a', null)", 14, 4, "null in an 'in' list never matches"),
        ("if(sales, 1, 2)", 3, 5, "the condition of if() must be true/false"),
        ("if(ok, 1, 'x')", 10, 3, "both branches of if() must have one type"),
        ("round(sales, 10)", 13, 2, "the digits of round() must be a whole number"),
        ("round(sales, digits)", 13, 6, "the digits of round() must be a whole number"),
        ("year(sales)", 5, 5, "year() needs a date"),
        ("ok < ok", 0, 2, "'<' cannot order true/false values"),
    ],
)
def test_check_refuses_with_position(text, offset, length, message):
    with pytest.raises(ExprError) as info:
        check(parse(text), KNOWN, {"prev": (1, 2)})
    err = info.value
    assert str(err).startswith(message), str(err)
    assert (err.offset, err.length) == (offset, length)


def test_check_accepts_a_plain_set_of_names():
    check(parse("a / b > 1 and c"), {"a", "b", "c"})
    with pytest.raises(ExprError, match="unknown name 'd'"):
        check(parse("a + d"), {"a", "b"})


def test_context_functions_cannot_shadow_builtins():
    with pytest.raises(ValueError, match="shadow"):
        check(parse("if(a, 1, 2)"), {"a"}, {"if": (3, 3)})


def test_type_of_reports_the_result_type():
    assert type_of(parse("sales > 1"), KNOWN) == "bool"
    assert type_of(parse("if(ok, sales, null)"), KNOWN) == "number"
    assert type_of(parse("extra"), KNOWN) == "any"


def test_check_of_nested_ifs_is_not_exponential():
    node = parse("sales")
    for _ in range(40):
        node = Call("if", (Name("ok"), node, node))  # 2**40 paths, 41 distinct nodes
    assert type_of(node, KNOWN) == "number"
