"""Set-based checks and typing of loaded columns against the data contract: the rules (which
forms of a value are accepted, and how they read), written as DuckDB SQL here and as Spark SQL
by spark.py through the same `Dialect` functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import duckdb

from pingji.data.contract import EXPECTED, ROW_COLUMN, Column, TableSpec
from pingji.errors import DataError
from pingji.i18n import Text, msg
from pingji.sqltext import ident, literal  # also imported from here by the data layer

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


# The widest table a file may hold. The contract's widest table has ten columns; a file is
# refused above this before any per-column work, so a hostile file of 10,000 columns costs
# nothing (checking stays linear in the columns, but each one costs a little).
MAX_COLUMNS = 1000


def check_width(count: int, file: str, header_row: int | None = 1) -> None:
    """Raise DataError when a file has more than MAX_COLUMNS columns."""
    if count > MAX_COLUMNS:
        raise DataError(
            file,
            msg(
                "the file has {count:,} columns, more than the limit of {limit:,}: "
                "keep only the columns needed",
                count=count,
                limit=MAX_COLUMNS,
            ),
            row=header_row,
        )


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


@dataclass(frozen=True)
class Dialect:
    """How the rules above are written as SQL of one database. The rules themselves — the
    patterns, the yes/no words, the forms read and the checks — are defined once, here; each
    loader compiles them into its dialect (DuckDB here, Spark SQL in spark.py), so a file
    reads the same on every engine."""

    name: str  # as sqltext names it
    types: Mapping[str, str]  # the contract's types in this dialect
    full_match: Callable[[str, str], str]  # SQL: the whole of text `v` matches `pattern`
    search: Callable[[str, str], str]  # SQL: some part of text `v` matches `pattern`
    group: Callable[[int], str]  # group `i` in a regexp_replace replacement
    finite: Callable[[str], str]  # SQL: a text reads as a finite number (NULL counts as no)
    bigint: Callable[[str, bool], str]  # SQL: a whole number's text as BIGINT (try: NULL)
    add_days: Callable[[str, str], str]  # SQL: date + a number of days

    def literal(self, value: object) -> str:
        """Return `value` as a literal of the dialect."""
        return literal(value, self.name)

    def try_cast(self, v: str, sql_type: str) -> str:
        """SQL: `v` cast to `sql_type`, NULL where it does not cast."""
        return f"TRY_CAST({v} AS {sql_type})"

    def is_in(self, v: str, values: Sequence[str]) -> str:
        """SQL: `v` is one of `values`."""
        return f"{v} IN (" + ", ".join(self.literal(x) for x in values) + ")"


DUCKDB = Dialect(
    name="duckdb",
    types=SQL_TYPES,
    full_match=lambda v, pattern: f"regexp_full_match({v}, {literal(pattern)})",
    search=lambda v, pattern: f"regexp_matches({v}, {literal(pattern)})",
    group=lambda i: f"\\{i}",
    finite=lambda v: f"coalesce(isfinite(TRY_CAST({v} AS DOUBLE)), FALSE)",
    bigint=lambda v, try_: f"{'TRY_CAST' if try_ else 'CAST'}({v} AS BIGINT)",
    add_days=lambda date, days: f"{date} + {days}",
)


def _with_default(expr: str, col: Column, sql: Dialect = DUCKDB) -> str:
    if col.default is None:
        return expr
    return f"COALESCE({expr}, CAST({sql.literal(col.default)} AS {sql.types[col.type]}))"


def absent_plan(col: Column, sql: Dialect = DUCKDB) -> ColumnPlan:
    """Plan an optional contract column the file does not have: its default, or NULL."""
    return ColumnPlan(col.name, f"CAST({sql.literal(col.default)} AS {sql.types[col.type]})")


def _narrow(v: str, sql: Dialect = DUCKDB) -> str:
    """SQL: `v` with full-width digits, signs and separators as ASCII."""
    # translate() over non-ASCII text costs ten times a regular expression's test
    return (
        f"CASE WHEN {sql.search(v, '[' + _WIDE + ']')} "
        f"THEN translate({v}, {sql.literal(_WIDE)}, {sql.literal(_NARROW)}) ELSE {v} END"
    )


def numeric_text(v: str, currency: bool, sql: Dialect = DUCKDB) -> str:
    """SQL: the plain digits of a number or amount cell: full-width forms narrowed, a
    currency sign (when `currency`) and consistently grouped thousands separators removed;
    any other text is returned as it is (for the checks to refuse)."""
    t = _narrow(v, sql)
    if currency:
        signs = sql.literal(sql.group(1) + sql.group(2))
        t = (
            f"regexp_replace(regexp_replace({t}, {sql.literal(_CURRENCY)}, {signs}), "
            f"{sql.literal(_YUAN)}, '')"
        )
    ungrouped = f"replace(replace({t}, ',', ''), ' ', '')"
    slow = f"CASE WHEN {sql.full_match(t, _GROUPED)} THEN {ungrouped} ELSE {t} END"
    return f"CASE WHEN {sql.full_match(v, _PLAIN_AMOUNT)} THEN {v} ELSE {slow} END"


def date_text(v: str, sql: Dialect = DUCKDB) -> str:
    """SQL: a date cell as YYYY-MM-DD text when it is written year first (2026/1/6, 2026.1.6,
    2026-1-6 with or without a time, 2026年1月6日, 20260106) or is an Excel serial day from
    an XLSX number cell; any other text as it is (for the checks to refuse)."""
    h = _narrow(v, sql)
    parts = sql.literal(_PARTS)

    def part(i: int) -> str:
        return f"lpad(regexp_extract({h}, {parts}, {i}), 2, '0')"

    serial = sql.try_cast(f"substr({h}, {len(EXCEL_SERIAL) + 1})", "DOUBLE")
    day = sql.add_days("DATE '1899-12-30'", f"CAST(floor({serial}) AS INTEGER)")
    lo, hi = _SERIAL_RANGE
    slow = (
        f"CASE WHEN {sql.full_match(h, f'({_YMD})({_TIME})?|{_CN_DATE}')} "
        f"THEN regexp_extract({h}, {parts}, 1) || '-' || {part(2)} || '-' || {part(3)} "
        f"WHEN {sql.full_match(h, _COMPACT_DATE)} "
        f"THEN substr({h}, 1, 4) || '-' || substr({h}, 5, 2) || '-' || substr({h}, 7, 2) "
        f"WHEN {sql.full_match(h, _SERIAL)} AND {serial} >= {lo} AND {serial} < {hi} "
        f"THEN CAST({day} AS {sql.types['string']}) "
        f"ELSE {h} END"
    )
    return f"CASE WHEN {sql.full_match(v, _DATE)} THEN {v} ELSE {slow} END"


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


def text_plan(col: Column, sql: Dialect = DUCKDB) -> ColumnPlan:
    """Plan a contract column held as cleaned text (NULL = empty): checks, then conversion.

    Number, amount and date cells are first normalised (`numeric_text`, `date_text`): the
    checks and the typing read the normalised text, and `conversions` say which cells were
    read from another form, so a preview can show them. `sql` is the dialect to write in."""
    v = ident(col.name, sql.name)
    expected = EXPECTED[col.type]
    checks: list[Check] = []
    conversions: list[Conversion] = []
    normal = converted = None
    if col.not_null:
        checks.append(Check(col.name, "value is missing", f"{v} IS NULL", expected))
    if col.type in ("money", "number", "integer"):
        normal = numeric_text(v, col.type == "money", sql)
        n = ident(normal_name(col.name), sql.name)
        checks.append(
            Check(
                col.name,
                "thousands separators in the wrong places",
                f"{sql.full_match(n, _SEPARATED)}",
                "digits in groups of three, such as 12,500.00 or 12 500",
            )
        )
        grouped = sql.search(_narrow(v, sql), "[0-9][, ][0-9]")
        ways = [("grouped", grouped)]
        if col.type == "money":
            currency = sql.search(_narrow(v, sql), "[¥元]")
            ways.insert(0, ("currency", currency))
        conversions = [Conversion(col.name, c, p) for c, p in [*ways, ("fullwidth", "TRUE")]]
    if col.type == "money":
        money = sql.types["money"]
        checks += [
            Check(col.name, "not an amount", f"NOT {sql.full_match(n, _MONEY)}", expected),
            Check(
                col.name, "more than 4 decimals", sql.full_match(n, _MONEY_TOO_PRECISE), expected
            ),
            Check(
                col.name,
                "amount out of range",
                f"{sql.try_cast(n, money)} IS NULL",
                "at most 14 digits before the point",
            ),
        ]
        # text → DECIMAL parses the digits exactly; it never passes through a float.
        select = f"CAST({n} AS {money})"
    elif col.type == "number":
        checks.append(Check(col.name, "not a number", f"NOT {sql.finite(n)}", expected))
        select = f"CAST({n} AS {sql.types['number']})"
    elif col.type == "integer":
        checks.append(
            Check(
                col.name,
                "not a whole number",
                f"NOT {sql.full_match(n, _INTEGER)} OR {sql.bigint(n, True)} IS NULL",
                expected,
            )
        )
        select = sql.bigint(n, False)
    elif col.type == "date":
        normal, n, h = date_text(v, sql), ident(normal_name(col.name), sql.name), _narrow(v, sql)
        checks += [
            Check(
                col.name,
                "ambiguous date: the year must come first",
                sql.full_match(h, _DAY_FIRST),
                "the year first, such as 2026-01-06, 2026/1/6 or 2026年1月6日",
            ),
            Check(
                col.name,
                "a number, not a date",
                sql.full_match(n, _BARE_NUMBER),
                "a date such as 2026-01-06 (a number is read as an Excel date only from a "
                "number cell of an .xlsx file)",
            ),
            # A database alone would accept more forms than the ones described above.
            Check(
                col.name,
                "not a valid date",
                f"NOT {sql.full_match(n, _DATE)} OR {sql.try_cast(n, 'DATE')} IS NULL",
                expected,
            ),
        ]
        select = f"CAST({n} AS DATE)"
        conversions = [
            Conversion(col.name, code, predicate)
            for code, predicate in [
                (
                    "date_serial",
                    f"substr({v}, 1, {len(EXCEL_SERIAL)}) = {sql.literal(EXCEL_SERIAL)}",
                ),
                ("date_time", sql.full_match(h, f"({_YMD}){_TIME}")),
                ("date_chinese", f"instr({h}, '年') > 0"),
                ("date_compact", sql.full_match(h, _COMPACT_DATE)),
                ("date_ymd", f"{sql.full_match(h, _YMD)} AND NOT {sql.full_match(h, _DATE)}"),
                ("fullwidth", "TRUE"),
            ]
        ]
    elif col.type == "bool":
        checks.append(
            Check(
                col.name,
                "not a true/false value",
                f"NOT {sql.is_in(f'lower({v})', BOOL_TRUE + BOOL_FALSE)}",
                expected,
            )
        )
        select = (
            f"CASE WHEN {sql.is_in(f'lower({v})', BOOL_TRUE)} THEN TRUE "
            f"WHEN {sql.is_in(f'lower({v})', BOOL_FALSE)} THEN FALSE END"
        )
        converted = f"{v} IS NOT NULL AND NOT {sql.is_in(f'lower({v})', _BOOL_PLAIN)}"
        conversions = [Conversion(col.name, "bool", "TRUE")]
    elif col.choices:
        checks.append(
            Check(
                col.name,
                "not an allowed value",
                f"NOT {sql.is_in(f'lower({v})', col.choices)}",
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
    return ColumnPlan(
        col.name, _with_default(select, col, sql), checks, conversions, normal, converted
    )


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


def _probes(name: str, sql: Dialect = DUCKDB) -> list[str]:
    """Return the aggregates telling whether every value of an extra text column reads as a
    whole number, a number, a date or true/false (and how many values there are)."""
    v = ident(name, sql.name)
    ok = f"{v} IS NULL OR "
    not_id = f"NOT {sql.full_match(v, _LEADING_ZERO)}"
    return [
        f"count({v})",
        f"bool_and({ok}({sql.full_match(v, _WHOLE)} AND {not_id} "
        f"AND {sql.try_cast(v, 'BIGINT')} IS NOT NULL))",
        f"bool_and({ok}({sql.full_match(v, _PLAIN_NUMBER)} AND {not_id}))",
        f"bool_and({ok}({sql.full_match(v, _DATE)} AND {sql.try_cast(v, 'DATE')} IS NOT NULL))",
        f"bool_and({ok}{sql.is_in(f'lower({v})', ('true', 'false'))})",
    ]


def _extra_plan(name: str, probe: Sequence[object], sql: Dialect = DUCKDB) -> ColumnPlan:
    """Type an extra text column by what its `_probes` found (as DuckDB would sniff it)."""
    count, *fits = probe
    v = ident(name, sql.name)
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
    # the keys held twice first (a hash aggregate), then the window over their rows only:
    # a third of the time of the window over every row when no key repeats
    found = con.execute(
        f"WITH twice AS (SELECT {key} AS k FROM {relation} WHERE {key} IS NOT NULL "
        f"GROUP BY {key} HAVING count(*) > 1) "
        f"SELECT {row}, k, first FROM (SELECT {row}, {key} AS k, "
        f"min({row}) OVER (PARTITION BY {key}) AS first FROM {relation} "
        f"WHERE {key} IN (SELECT k FROM twice)) WHERE {row} > first ORDER BY {row} LIMIT 1"
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
