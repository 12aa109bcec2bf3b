"""sqltext: the one quoting of names and values into SQL text, per dialect."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from pingji.sqltext import ident, literal


def test_names_are_quoted_per_dialect():
    assert ident('a"b') == '"a""b"'
    assert ident('a"b', "postgres") == '"a""b"'
    assert ident("a`b", "pyspark") == "`a``b`"
    assert ident("a`b", "spark") == "`a``b`"


def test_values_are_written_per_dialect():
    assert [literal(v) for v in (None, True, False, 3, 2.5, Decimal("1.50"))] == [
        "NULL",
        "TRUE",
        "FALSE",
        "3",
        "2.5",
        "1.50",
    ]
    assert literal("it's") == "'it''s'"
    assert literal("it's a \\", "spark") == "'it\\'s a \\\\'"


def test_duckdb_reads_back_what_was_quoted():
    name, text = 'odd "name"', "O'Brien; DROP TABLE x --"
    row = duckdb.sql(f"SELECT {literal(text)} AS {ident(name)}")
    assert (row.columns, row.fetchall()) == ([name], [(text,)])
