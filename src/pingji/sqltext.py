"""Quote names and values into SQL text, the one place that does.

DuckDB and PostgreSQL quote identifiers in double quotes and double a quote inside text;
Spark SQL quotes identifiers in backticks and escapes text with backslashes. Only the
standard library is imported here: the engine's executor (engine/run.py) runs without Ibis.
"""

from __future__ import annotations

from decimal import Decimal

SPARK_DIALECTS = ("pyspark", "spark")  # Ibis' name and ours


def ident(name: str, dialect: str = "duckdb") -> str:
    """Return `name` quoted as an SQL identifier of `dialect`."""
    if dialect in SPARK_DIALECTS:
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def literal(value: object, dialect: str = "duckdb") -> str:
    """Return `value` as an SQL literal of `dialect`: NULL, TRUE/FALSE, a number, or text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if dialect in SPARK_DIALECTS:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + str(value).replace("'", "''") + "'"
