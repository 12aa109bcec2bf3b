"""Set-based checks and typing of loaded columns against the data contract, as DuckDB SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

import duckdb

from pingji.data.contract import EXPECTED, ROW_COLUMN, Column, TableSpec
from pingji.errors import DataError

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "money": "DECIMAL(18, 4)",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "bool": "BOOLEAN",
}

BOOL_TRUE = ("true", "1", "yes", "y", "是")
BOOL_FALSE = ("false", "0", "no", "n", "否")

# Spreadsheet exports pad cells with tabs, no-break and ideographic (full-width) spaces,
# which would make "C001\u3000" a different customer from "C001".
_BLANKS = " \t\r\n\u00a0\u3000"

_MONEY = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
_MONEY_TOO_PRECISE = r"[+-]?[0-9]*\.[0-9]{4}0*[1-9][0-9]*"  # trailing zeros are harmless
_INTEGER = r"[+-]?[0-9]+(\.0*)?"  # 3.0 is a whole number
_WHOLE = r"[+-]?[0-9]+"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
# "00123" is an identifier, not the number 123: such a column stays text.
_LEADING_ZERO = r"[+-]?0[0-9]+(\..*)?"


def ident(name: str) -> str:
    """Return `name` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """Return `value` as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def clean_text(expr: str) -> str:
    """Return SQL turning a text cell into its trimmed value, NULL when empty."""
    return f"nullif(trim(CAST({expr} AS VARCHAR), {literal(_BLANKS)}), '')"


@dataclass(frozen=True)
class Check:
    """A predicate that holds on a bad row, with what the error says about it."""

    column: str
    message: str
    predicate: str
    expected: str | None
    # Run on its own as a WHERE filter, so Parquet row-group statistics can skip the scan.
    pruned: bool = False


@dataclass
class ColumnPlan:
    """How one output column is computed from the cleaned relation, and what to check first."""

    name: str
    select: str
    checks: list[Check] = field(default_factory=list)


def _with_default(expr: str, col: Column) -> str:
    if col.default is None:
        return expr
    return f"COALESCE({expr}, CAST({literal(col.default)} AS {SQL_TYPES[col.type]}))"


def absent_plan(col: Column) -> ColumnPlan:
    """Plan an optional contract column the file does not have: its default, or NULL."""
    return ColumnPlan(col.name, f"CAST({literal(col.default)} AS {SQL_TYPES[col.type]})")


def text_plan(col: Column) -> ColumnPlan:
    """Plan a contract column held as cleaned text (NULL = empty): checks, then conversion."""
    v = ident(col.name)
    expected = EXPECTED[col.type]
    checks: list[Check] = []
    if col.not_null:
        checks.append(Check(col.name, "value is missing", f"{v} IS NULL", expected))
    if col.type == "money":
        checks += [
            Check(col.name, "not an amount", f"NOT regexp_full_match({v}, '{_MONEY}')", expected),
            Check(
                col.name,
                "more than 4 decimals",
                f"regexp_full_match({v}, '{_MONEY_TOO_PRECISE}')",
                expected,
            ),
            Check(
                col.name,
                "amount out of range",
                f"TRY_CAST({v} AS DECIMAL(18, 4)) IS NULL",
                "at most 14 digits before the point",
            ),
        ]
        # VARCHAR → DECIMAL parses the digits exactly; it never passes through a float.
        select = f"CAST({v} AS DECIMAL(18, 4))"
    elif col.type == "number":
        checks.append(
            Check(
                col.name,
                "not a number",
                f"NOT coalesce(isfinite(TRY_CAST({v} AS DOUBLE)), FALSE)",
                expected,
            )
        )
        select = f"CAST({v} AS DOUBLE)"
    elif col.type == "integer":
        checks.append(
            Check(
                col.name,
                "not a whole number",
                f"NOT regexp_full_match({v}, '{_INTEGER}') OR TRY_CAST({v} AS BIGINT) IS NULL",
                expected,
            )
        )
        select = f"CAST({v} AS BIGINT)"
    elif col.type == "date":
        # DuckDB alone would accept 2025-1-5; the contract says YYYY-MM-DD, strictly.
        checks.append(
            Check(
                col.name,
                "not a valid date",
                f"NOT regexp_full_match({v}, '{_DATE}') OR TRY_CAST({v} AS DATE) IS NULL",
                expected,
            )
        )
        select = f"CAST({v} AS DATE)"
    elif col.type == "bool":
        checks.append(
            Check(
                col.name,
                "not a true/false value",
                f"lower({v}) NOT IN {_in(BOOL_TRUE + BOOL_FALSE)}",
                expected,
            )
        )
        select = (
            f"CASE WHEN lower({v}) IN {_in(BOOL_TRUE)} THEN TRUE "
            f"WHEN lower({v}) IN {_in(BOOL_FALSE)} THEN FALSE END"
        )
    elif col.choices:
        checks.append(
            Check(
                col.name,
                "not an allowed value",
                f"lower({v}) NOT IN {_in(col.choices)}",
                "one of " + ", ".join(col.choices),
            )
        )
        select = f"lower({v})"
    else:
        select = v
    # Content checks apply to values only: an empty cell is the required check's business.
    checks = [
        c
        if c.message == "value is missing"
        else replace(c, predicate=f"{v} IS NOT NULL AND ({c.predicate})")
        for c in checks
    ]
    return ColumnPlan(col.name, _with_default(select, col), checks)


def native_plan(col: Column, source_type: str) -> ColumnPlan:
    """Plan a contract column whose stored type already is the right family (Parquet)."""
    v = ident(col.name)
    checks: list[Check] = []
    if col.not_null:
        expected = EXPECTED[col.type]
        checks.append(Check(col.name, "value is missing", f"{v} IS NULL", expected, True))
        if source_type == "VARCHAR":
            # `<= ' '` lets min/max statistics rule out blank strings without a scan;
            # blanks that start with a wider space (U+3000) go unnoticed here.
            blank = f"{v} <= ' ' AND trim({v}, {literal(_BLANKS)}) = ''"
            checks.append(Check(col.name, "value is missing", blank, expected, True))
    target = SQL_TYPES[col.type]
    if col.type in ("money", "number") and source_type in ("FLOAT", "DOUBLE"):
        # NaN and ±inf are floats, not amounts or numbers: refused here, not when typed
        message = "not an amount" if col.type == "money" else "not a number"
        finite = f"{v} IS NOT NULL AND NOT isfinite({v})"
        checks.append(Check(col.name, message, finite, EXPECTED[col.type]))
    if col.type == "money" and source_type != target:
        range_ = f"{v} IS NOT NULL AND TRY_CAST({v} AS {target}) IS NULL"
        checks.append(
            Check(col.name, "amount out of range", range_, "at most 14 digits before the point")
        )
    select = v if source_type == target else f"CAST({v} AS {target})"
    return ColumnPlan(col.name, _with_default(select, col), checks)


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_NUMERIC += ("UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def is_native(col: Column, source_type: str) -> bool:
    """Tell whether a stored column type already is the family the contract column needs."""
    base = source_type.split("(")[0].strip()
    return {
        "string": base == "VARCHAR",
        "money": base in _NUMERIC,
        "number": base in _NUMERIC,
        "integer": base in _INTEGERS,
        "date": base == "DATE" or base.startswith("TIMESTAMP"),
        "bool": base == "BOOLEAN",
    }[col.type] and not (col.type == "string" and col.choices)


def _probes(name: str) -> list[str]:
    v = ident(name)
    ok = f"{v} IS NULL OR "
    return [
        f"count({v})",
        f"bool_and({ok}(regexp_full_match({v}, '{_WHOLE}') "
        f"AND NOT regexp_full_match({v}, '{_LEADING_ZERO}') AND TRY_CAST({v} AS BIGINT) IS NOT NULL))",
        f"bool_and({ok}(regexp_full_match({v}, '{_PLAIN_NUMBER}') "
        f"AND NOT regexp_full_match({v}, '{_LEADING_ZERO}')))",
        f"bool_and({ok}(regexp_full_match({v}, '{_DATE}') AND TRY_CAST({v} AS DATE) IS NOT NULL))",
        f"bool_and({ok}lower({v}) IN ('true', 'false'))",
    ]


def _extra_plan(name: str, probe: Sequence[object]) -> ColumnPlan:
    count, *fits = probe
    v = ident(name)
    if count:
        for ok, sql_type in zip(fits, ("BIGINT", "DOUBLE", "DATE", "BOOLEAN"), strict=True):
            if ok:
                if sql_type == "BOOLEAN":
                    return ColumnPlan(name, f"lower({v}) = 'true'")
                return ColumnPlan(name, f"CAST({v} AS {sql_type})")
    return ColumnPlan(name, v)


# DuckDB's planning time grows with the square of the expressions in one SELECT when they
# hold conjunctions or FILTER clauses (2,000 columns' checks took a minute for one row), so
# the aggregates of a wide file are computed a chunk at a time: a scan reads only its chunk's
# columns, and the work stays linear in the number of columns.
AGGREGATES_PER_QUERY = 100


@contextmanager
def plain_projections(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Switch DuckDB's common-subexpression optimizer off meanwhile: checking and typing
    select one expression per column, none shared, and the optimizer compares them pairwise
    (a 1,000-column file's projections took seconds to plan)."""
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    off = ",".join(filter(None, [before, "common_subexpressions"]))
    con.execute(f"SET disabled_optimizers = {literal(off)}")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = {literal(before)}")


def aggregate(con: duckdb.DuckDBPyConnection, relation: str, aggregates: Sequence[str]) -> tuple:
    """Return the values of `aggregates` over `relation`, in order (a chunk per query)."""
    found: list = []
    for start in range(0, len(aggregates), AGGREGATES_PER_QUERY):
        chunk = aggregates[start : start + AGGREGATES_PER_QUERY]
        found += con.execute(f"SELECT {', '.join(chunk)} FROM {relation}").fetchone()
    return tuple(found)


def extra_plans(
    con: duckdb.DuckDBPyConnection, relation: str, names: Sequence[str]
) -> list[ColumnPlan]:
    """Return a plan typing each extra text column as DuckDB would sniff it, in one scan.

    The columns are unpivoted into (name, value) rows and probed by name: the same five
    probes whatever the width of the file, where one probe per column made a wide file's
    query quadratic to plan (only non-empty cells are unpivoted: a column of none stays text)."""
    if not names:
        return []
    columns = ", ".join(ident(n) for n in names)
    found = con.execute(
        f"SELECT __name, {', '.join(_probes('__value'))} FROM (UNPIVOT (SELECT {columns} FROM "
        f"{relation}) ON {columns} INTO NAME __name VALUE __value) GROUP BY __name"
    ).fetchall()
    probes = {name: probe for name, *probe in found}
    return [_extra_plan(n, probes.get(n, (0, None, None, None, None))) for n in names]


def check_and_plan(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    plans: list[ColumnPlan],
    text_extras: Sequence[str],
    file: str,
) -> list[ColumnPlan]:
    """Run every check in one scan; raise DataError for the earliest bad row, else return
    `plans` followed by typed plans for the extra text columns (typed as DuckDB would sniff).
    """
    row = ident(ROW_COLUMN)
    checks = [c for p in plans for c in p.checks if not c.pruned]
    aggregates = [f"min({row}) FILTER (WHERE {c.predicate})" for c in checks]
    found = aggregate(con, relation, aggregates)
    bad = [(r, i) for i, r in enumerate(found[: len(checks)]) if r is not None]
    for check in (c for p in plans for c in p.checks if c.pruned):
        query = f"SELECT min({row}) FROM {relation} WHERE {check.predicate}"
        if (first := con.execute(query).fetchone()[0]) is not None:
            bad.append((first, len(checks)))
            checks.append(check)
    if bad:
        first, i = min(bad)
        check = checks[i]
        value = con.execute(
            f"SELECT {ident(check.column)} FROM {relation} WHERE {row} = ? LIMIT 1", [first]
        ).fetchone()
        raise DataError(
            file,
            check.message,
            row=first,
            column=check.column,
            value=value[0] if value else None,
            expected=check.expected,
        )
    return plans + extra_plans(con, relation, text_extras)


def check_unique(
    con: duckdb.DuckDBPyConnection, relation: str, spec: TableSpec, file: str, unit: str
) -> None:
    """Raise DataError at the second row holding a key already seen (entity tables)."""
    key, row = ident(spec.key), ident(ROW_COLUMN)
    found = con.execute(
        f"SELECT {row}, k, first FROM (SELECT {row}, {key} AS k, "
        f"min({row}) OVER (PARTITION BY {key}) AS first FROM {relation} WHERE {key} IS NOT NULL) "
        f"WHERE {row} > first ORDER BY {row} LIMIT 1"
    ).fetchone()
    if found:
        raise DataError(
            file,
            f"duplicate key, first on {unit} {found[2]}",
            row=found[0],
            column=spec.key,
            value=found[1],
            expected=f"each {spec.key} once",
        )


def select_list(plans: Sequence[ColumnPlan]) -> str:
    """Return the SELECT list computing every planned column and the row number."""
    parts = [f"{p.select} AS {ident(p.name)}" for p in plans]
    return ", ".join([*parts, ident(ROW_COLUMN)])
