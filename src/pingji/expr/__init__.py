"""The expression language of scheme files: parsed by hand, checked, compiled to Ibis.

Expressions such as ``payments / sales`` or ``if(prev = 0, null, (cur - prev) / prev)``
are tokenized and parsed by a small precedence-climbing parser into immutable nodes;
Python's ``eval``/``exec``/``compile`` are never involved.

Grammar, loosest binding first: ``or`` < ``and`` < ``not`` < comparisons (``= == != <> < <=
> >=``, ``[not] in (…)``; not chainable) < ``+ -`` < ``* /`` < unary ``- +``. Literals:
integers, decimals (``1e6`` allowed), '…' or "…" strings (backslash escapes ``\\``, ``\'``,
``\"``), ``true``/``false``/``null`` (keywords are case-insensitive). Names are identifiers,
Unicode letters included; names starting with ``__`` and Python keywords are refused.
Input is capped at 10,000 characters and 100 levels of nesting.

Compilation rules (the project's semantics, identical on DuckDB and PostgreSQL):

- An integer literal is an int64 literal; a literal with a fraction is float64.
- ``+ - *`` keep Ibis' types, so decimal money stays exact (decimal ± decimal, decimal ×
  int). When a float64 meets a decimal the decimal is cast to float64 first (Ibis would
  otherwise type the result as the decimal and silently round the float).
- ``/`` casts both sides to float64; division by zero or by NULL gives NULL.
- Comparisons round float64 operands to 9 decimals first (``0.97 * 100 = 97`` is true), and
  a comparison involving NULL is false, so ``not (x > 1)`` is true when x is NULL while
  ``x <= 1`` is false. ``x != 1`` and ``x not in (…)`` are false for NULL x too. A date may
  be compared with a ``'YYYY-MM-DD'`` string.
- ``and``/``or``/``not`` and the condition of ``if`` treat NULL as false.
- ``min``/``max`` ignore NULL arguments (NULL only when all are NULL), made explicit with
  coalesce rather than relying on a backend's least/greatest.
- ``clamp(null, …)`` is NULL; a NULL bound is ignored. ``between(x, lo, hi)`` is inclusive
  and false when anything is NULL; ``x in (…)`` is false when x is NULL.
- ``floor``/``ceil`` round floats to 9 decimals first (``ceil(0.1 * 3 * 10) = 3``).
- ``round(x[, digits])`` rounds half away from zero (digits 0–9, default 0); integers are
  unchanged, decimals stay decimal, floats go through decimal(38, 9).
- ``case(x, k1, v1, …[, default])`` gives the value of the first key equal to x (by the
  comparison rules above), else the default or NULL.
- ``days_between(d1, d2)`` is d2 − d1 in whole days; ``year``/``month`` give int64.
- ``date('YYYY-MM-DD')`` takes a constant only (a bad date is refused by :func:`check`);
  ``add_days``/``add_months`` move a date (a fraction cut toward zero; the day of the month
  clamped to the month's end) and stay dates in SQL; ``workdays_between`` needs the
  engine's working-day calendar (the ``workdays`` hook of :func:`compile_expr`).
- ``isnull(x)`` / ``notnull(x)`` test for NULL; comparing with ``= null`` is refused by
  :func:`check` because it is never true.
- ``text(x)`` is x as text: numbers rounded to 9 decimals without trailing zeros (``2.0`` →
  ``'2'``), dates ``YYYY-MM-DD``; ``concat(a, b, …)`` joins the texts of its arguments and
  is NULL when any of them is (write ``coalesce(x, '')`` to treat a missing part as empty).
- ``rank``, ``pct_rank``, ``ntile``, ``quantile`` and ``cum_share`` compare an entity with
  the whole population (:data:`POPULATION_FUNCTIONS`): the caller compiles them, through
  the ``population`` callback of :func:`compile_expr` (the engine computes them as window
  columns first); without one they are refused.

Context functions passed to :func:`compile_expr` receive compiled Ibis arguments (use
:func:`literal_value` to read a literal), or, when decorated with :func:`uses_nodes`, the
Call node and a compile callback.
"""

from .checker import BUILTINS, POPULATION_FUNCTIONS, TYPES, check, type_of
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
    calls,
    names,
    walk,
)
from .parser import MAX_DEPTH, MAX_LENGTH, parse, unparse

__all__ = [
    "BUILTINS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "POPULATION_FUNCTIONS",
    "TYPES",
    "Binary",
    "Bool",
    "Call",
    "Compare",
    "ExprError",
    "In",
    "Logical",
    "Name",
    "Node",
    "Not",
    "Null",
    "Number",
    "String",
    "Unary",
    "calls",
    "check",
    "compile_expr",
    "literal_value",
    "names",
    "parse",
    "type_of",
    "unparse",
    "uses_nodes",
    "walk",
]


def __getattr__(name: str):
    # The compiler needs Ibis, which takes a third of a second to import: parsing and
    # checking schemes (and running compiled plans) never load it.
    if name in ("compile_expr", "literal_value", "uses_nodes"):
        from . import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
