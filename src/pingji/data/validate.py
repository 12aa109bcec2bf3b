"""Set-based checks and typing of loaded columns against the data contract, as DuckDB SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

import duckdb

from pingji.data.contract import EXPECTED, ROW_COLUMN, Column, TableSpec
from pingji.errors import DataError
from pingji.i18n import Text, msg

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "money": "DECIMAL(18, 4)",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "bool": "BOOLEAN",
}

# Ticks and crosses, 对/错 and 真/假 are how Chinese spreadsheets write yes and no.
BOOL_TRUE = ("true", "1", "yes", "y", "是", "对", "真", "√")
BOOL_FALSE = ("false", "0", "no", "n", "否", "错", "假", "×")
# What a yes/no cell needs no conversion from (the preview shows 是/否).
_BOOL_PLAIN = ("true", "false", "是", "否")

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

# -- What people's files hold, read when unambiguous (docs/scheme-language.md §15.5) -------
# Full-width forms typed with a Chinese input method (digits, point, comma, signs, slash,
# colon, yen, ideographic space), the minus sign and the spaces that group thousands
# (no-break, thin, narrow no-break) read as their ASCII forms in number, amount and date cells.
_WIDE = "０１２３４５６７８９．，－＋／：￥\u2212\u3000\u00a0\u2009\u202f"
_NARROW = "0123456789.,-+/:¥-    "
# A currency sign before the amount (after its sign, or before it), 元 after it.
_CURRENCY = r"^([+-]?) ?¥ ?([+-]?)"
_YUAN = r" ?元$"
# Thousands grouped by commas or by spaces, one kind per value, three digits a group.
_GROUPED = r"[+-]?[0-9]{1,3}((,[0-9]{3})+|( [0-9]{3})+)(\.[0-9]*)?"
_SEPARATED = r"[+-]?[0-9]+([, ][0-9]+)+(\.[0-9]*)?"  # digits and separators, right or wrong
_PLAIN_AMOUNT = r"[+-]?[0-9]+(\.[0-9]*)?"  # needs no conversion (the common case, fast)
# Dates with the year first: 2026/1/6, 2026.1.6, 2026-1-6 (one separator), optionally with
# a time of day (dropped); 2026年1月6日; 20260106. Day or month first is ambiguous.
_YMD = r"[0-9]{4}(-[0-9]{1,2}-|/[0-9]{1,2}/|\.[0-9]{1,2}\.)[0-9]{1,2}"
_TIME = r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
_CN_DATE = r"[0-9]{4} ?年 ?[0-9]{1,2} ?月 ?[0-9]{1,2} ?日"
_COMPACT_DATE = r"(19|20)[0-9]{6}"
_PARTS = r"^([0-9]{4})(?: ?年 ?|[-/.])([0-9]{1,2})(?: ?月 ?|[-/.])([0-9]{1,2})"
# 1/6/2026, 6.1.26, 26/1/6: day, month or a two-digit year first, which no one can tell apart.
_DAY_FIRST = r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{1,4}(" + _TIME + ")?"
_BARE_NUMBER = r"[0-9]+(\.[0-9]+)?"
# A number cell of an XLSX date column, as xlsx.read_sheet writes it: Excel's serial day.
# Serial 60 is Excel's 29 February 1900, a day that never was, so serials start at 61.
EXCEL_SERIAL = "Excel:"
_SERIAL = r"Excel:[0-9]+(\.[0-9]+)?"
_SERIAL_RANGE = (61, 2958466)  # 1900-03-01 up to 9999-12-31


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


ONE_OF = "one of "  # how a check's `expected` starts when it lists the allowed values


@dataclass(frozen=True)
class Check:
    """A predicate that holds on a bad row, with what the error says about it."""

    column: str
    message: str
    predicate: str
    expected: str | None
    # Run on its own as a WHERE filter, so Parquet row-group statistics can skip the scan.
    pruned: bool = False


@dataclass(frozen=True)
class Conversion:
    """A way a cell was read that is not the contract's own form (2026/1/6 for 2026-01-06).
    Of a column's conversions, the first whose `predicate` holds on a converted cell (see
    ColumnPlan.converted) names how it was read."""

    column: str
    code: str
    predicate: str


# What each conversion code means, for messages (user interfaces word them by code).
CONVERSIONS: dict[str, str] = {
    "date_ymd": "a date written year/month/day",
    "date_chinese": "a date written 年月日",
    "date_compact": "a date written YYYYMMDD",
    "date_time": "a date with a time of day (the time is dropped)",
    "date_serial": "an Excel serial date",
    "currency": "an amount with a currency sign",
    "grouped": "a number with thousands separators",
    "fullwidth": "full-width characters",
    "bool": "a yes/no word",
}


@dataclass
class ColumnPlan:
    """How one output column is computed from the cleaned relation, and what to check first."""

    name: str
    select: str
    checks: list[Check] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    # SQL turning the cleaned text into the normal text the checks and `select` read (as
    # the column `normal_name(name)`; `normalised` adds it to a relation): computed once per
    # cell, where repeating it in every check cost ten times the check itself.
    normal: str | None = None
    # Holds on the cells read from another form than the contract's own (then `conversions`)
    converted: str | None = None


def _with_default(expr: str, col: Column) -> str:
    if col.default is None:
        return expr
    return f"COALESCE({expr}, CAST({literal(col.default)} AS {SQL_TYPES[col.type]}))"


def absent_plan(col: Column) -> ColumnPlan:
    """Plan an optional contract column the file does not have: its default, or NULL."""
    return ColumnPlan(col.name, f"CAST({literal(col.default)} AS {SQL_TYPES[col.type]})")


def _matches(v: str, pattern: str) -> str:
    return f"regexp_full_match({v}, {literal(pattern)})"


def _narrow(v: str) -> str:
    """SQL: `v` with full-width digits, signs and separators as ASCII."""
    # translate() over non-ASCII text costs ten times a regular expression's test
    wide = literal("[" + _WIDE + "]")
    return (
        f"CASE WHEN regexp_matches({v}, {wide}) "
        f"THEN translate({v}, {literal(_WIDE)}, {literal(_NARROW)}) ELSE {v} END"
    )


def numeric_text(v: str, currency: bool) -> str:
    """SQL: the plain digits of a number or amount cell: full-width forms narrowed, a
    currency sign (when `currency`) and consistently grouped thousands separators removed;
    any other text is returned as it is (for the checks to refuse)."""
    t = _narrow(v)
    if currency:
        t = f"regexp_replace(regexp_replace({t}, {literal(_CURRENCY)}, '\\1\\2'), {literal(_YUAN)}, '')"
    ungrouped = f"replace(replace({t}, ',', ''), ' ', '')"
    slow = f"CASE WHEN {_matches(t, _GROUPED)} THEN {ungrouped} ELSE {t} END"
    return f"CASE WHEN {_matches(v, _PLAIN_AMOUNT)} THEN {v} ELSE {slow} END"


def date_text(v: str) -> str:
    """SQL: a date cell as YYYY-MM-DD text when it is written year first (2026/1/6, 2026.1.6,
    2026-1-6 with or without a time, 2026年1月6日, 20260106) or is an Excel serial day from
    an XLSX number cell; any other text as it is (for the checks to refuse)."""
    h = _narrow(v)

    def part(i: int) -> str:
        return f"lpad(regexp_extract({h}, {literal(_PARTS)}, {i}), 2, '0')"

    serial = f"TRY_CAST(substr({h}, {len(EXCEL_SERIAL) + 1}) AS DOUBLE)"
    lo, hi = _SERIAL_RANGE
    slow = (
        f"CASE WHEN {_matches(h, f'({_YMD})({_TIME})?|{_CN_DATE}')} "
        f"THEN regexp_extract({h}, {literal(_PARTS)}, 1) || '-' || {part(2)} || '-' || {part(3)} "
        f"WHEN {_matches(h, _COMPACT_DATE)} "
        f"THEN substr({h}, 1, 4) || '-' || substr({h}, 5, 2) || '-' || substr({h}, 7, 2) "
        f"WHEN {_matches(h, _SERIAL)} AND {serial} >= {lo} AND {serial} < {hi} "
        f"THEN CAST(DATE '1899-12-30' + CAST(floor({serial}) AS INTEGER) AS VARCHAR) "
        f"ELSE {h} END"
    )
    return f"CASE WHEN {_matches(v, _DATE)} THEN {v} ELSE {slow} END"


NORMAL_PREFIX = "__pingji_normal_"


def normal_name(name: str) -> str:
    """Return the name of the column holding column `name`'s normal text."""
    return NORMAL_PREFIX + name


def normalised(relation: str, plans: Sequence[ColumnPlan]) -> str:
    """Return `relation` with the normal text of each planned column that has one (the
    relation `plans` check and type)."""
    normals = [f"{p.normal} AS {ident(normal_name(p.name))}" for p in plans if p.normal]
    if not normals:
        return relation
    return f"(SELECT *, {', '.join(normals)} FROM {relation})"


def text_plan(col: Column) -> ColumnPlan:
    """Plan a contract column held as cleaned text (NULL = empty): checks, then conversion.

    Number, amount and date cells are first normalised (`numeric_text`, `date_text`): the
    checks and the typing read the normalised text, and `conversions` say which cells were
    read from another form, so a preview can show them."""
    v = ident(col.name)
    expected = EXPECTED[col.type]
    checks: list[Check] = []
    conversions: list[Conversion] = []
    normal = converted = None
    if col.not_null:
        checks.append(Check(col.name, "value is missing", f"{v} IS NULL", expected))
    if col.type in ("money", "number", "integer"):
        normal = numeric_text(v, currency=col.type == "money")
        n = ident(normal_name(col.name))
        checks.append(
            Check(
                col.name,
                "thousands separators in the wrong places",
                f"{_matches(n, _SEPARATED)}",
                "digits in groups of three, such as 12,500.00 or 12 500",
            )
        )
        grouped = f"regexp_matches({_narrow(v)}, '[0-9][, ][0-9]')"
        ways = [("grouped", grouped)]
        if col.type == "money":
            currency = f"regexp_matches({_narrow(v)}, '[¥元]')"
            ways.insert(0, ("currency", currency))
        conversions = [Conversion(col.name, c, p) for c, p in [*ways, ("fullwidth", "TRUE")]]
    if col.type == "money":
        checks += [
            Check(col.name, "not an amount", f"NOT {_matches(n, _MONEY)}", expected),
            Check(col.name, "more than 4 decimals", _matches(n, _MONEY_TOO_PRECISE), expected),
            Check(
                col.name,
                "amount out of range",
                f"TRY_CAST({n} AS DECIMAL(18, 4)) IS NULL",
                "at most 14 digits before the point",
            ),
        ]
        # VARCHAR → DECIMAL parses the digits exactly; it never passes through a float.
        select = f"CAST({n} AS DECIMAL(18, 4))"
    elif col.type == "number":
        checks.append(
            Check(
                col.name,
                "not a number",
                f"NOT coalesce(isfinite(TRY_CAST({n} AS DOUBLE)), FALSE)",
                expected,
            )
        )
        select = f"CAST({n} AS DOUBLE)"
    elif col.type == "integer":
        checks.append(
            Check(
                col.name,
                "not a whole number",
                f"NOT {_matches(n, _INTEGER)} OR TRY_CAST({n} AS BIGINT) IS NULL",
                expected,
            )
        )
        select = f"CAST({n} AS BIGINT)"
    elif col.type == "date":
        normal, n, h = date_text(v), ident(normal_name(col.name)), _narrow(v)
        checks += [
            Check(
                col.name,
                "ambiguous date: the year must come first",
                _matches(h, _DAY_FIRST),
                "the year first, such as 2026-01-06, 2026/1/6 or 2026年1月6日",
            ),
            Check(
                col.name,
                "a number, not a date",
                _matches(n, _BARE_NUMBER),
                "a date such as 2026-01-06 (a number is read as an Excel date only from a "
                "number cell of an .xlsx file)",
            ),
            # DuckDB alone would accept more forms than the ones described above.
            Check(
                col.name,
                "not a valid date",
                f"NOT {_matches(n, _DATE)} OR TRY_CAST({n} AS DATE) IS NULL",
                expected,
            ),
        ]
        select = f"CAST({n} AS DATE)"
        conversions = [
            Conversion(col.name, code, predicate)
            for code, predicate in [
                ("date_serial", f"starts_with({v}, {literal(EXCEL_SERIAL)})"),
                ("date_time", _matches(h, f"({_YMD}){_TIME}")),
                ("date_chinese", f"contains({h}, '年')"),
                ("date_compact", _matches(h, _COMPACT_DATE)),
                ("date_ymd", f"{_matches(h, _YMD)} AND NOT {_matches(h, _DATE)}"),
                ("fullwidth", "TRUE"),
            ]
        ]
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
        converted = f"{v} IS NOT NULL AND lower({v}) NOT IN {_in(_BOOL_PLAIN)}"
        conversions = [Conversion(col.name, "bool", "TRUE")]
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
    if normal is not None:
        converted = f"{v} IS NOT NULL AND {n} <> {v}"
    return ColumnPlan(col.name, _with_default(select, col), checks, conversions, normal, converted)


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
    `relation` is `normalised` for `plans`.
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
            msg(check.message),
            row=first,
            column=check.column,
            value=value[0] if value else None,
            expected=expected_message(check.expected),
        )
    return plans + extra_plans(con, relation, text_extras)


def expected_message(expected: str | None) -> Text | None:
    """Return a check's `expected` (English, as Check keeps it for problems.CODES) as a
    message: the fixed texts are message ids, "one of …" lists the choices."""
    if not expected:
        return None
    if expected.startswith(ONE_OF):
        return msg("one of {choices}", choices=expected.removeprefix(ONE_OF))
    return msg(expected)


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
            msg(
                "duplicate key, first on line {first}"
                if unit == "line"
                else "duplicate key, first on row {first}",
                first=found[2],
            ),
            row=found[0],
            column=spec.key,
            value=found[1],
            expected=msg("each {key} once", key=spec.key),
        )


def select_list(plans: Sequence[ColumnPlan]) -> str:
    """Return the SELECT list computing every planned column and the row number."""
    parts = [f"{p.select} AS {ident(p.name)}" for p in plans]
    return ", ".join([*parts, ident(ROW_COLUMN)])
