"""PostgreSQL data sets: contract tables in one schema; and loading a folder into one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import ibis
import psycopg
from psycopg import sql

from pingji.data.contract import ENGINE_TYPES, EXPECTED, ROW_COLUMN, TableSpec, unread
from pingji.data.dataset import POSTGRES_SCHEMES, DataSet
from pingji.data.sources import read_sources
from pingji.data.validate import expected_message
from pingji.errors import DataError
from pingji.i18n import Text, msg
from pingji.sqltext import ident, literal


def is_postgres_url(spec: str) -> bool:
    """Tell whether `spec` is a PostgreSQL URL rather than a folder."""
    return spec.lower().startswith(POSTGRES_SCHEMES)


def split_url(url: str) -> tuple[str, str, str]:
    """Return (connection URL without ?schema, schema, description without the password)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "") or "public"
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    conninfo = urlunsplit(parts._replace(query=rest))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    shown = urlunsplit(parts._replace(netloc=netloc, query=urlencode([*query])))
    return conninfo, schema, shown


class PostgresDataSet(DataSet):
    """The contract tables found in one PostgreSQL schema, cast to the contract types.

    A sources file may map a table onto another table (`[schema.]table`) and its columns."""

    def __init__(self, url: str, sources: Path | None = None) -> None:
        conninfo, self.schema, description = split_url(url)
        parts = urlsplit(conninfo)
        try:
            self.pg = psycopg.connect(
                host=parts.hostname,
                port=parts.port or 5432,
                user=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                dbname=parts.path.lstrip("/") or None,
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise DataError(description, f"cannot connect: {exc}".strip()) from exc
        # JIT compiles every expression of a plan: with earlier periods joined (score_at …),
        # temporary tables without statistics look costly enough that compiling the large
        # generated expressions took 40 s for a query over 4 rows. The plans gain little from it.
        self.pg.execute("SET jit = off")
        super().__init__(ibis.postgres.from_connection(self.pg), "postgres", description)
        self.sources = read_sources(sources) if sources is not None else {}
        for name, src in self.sources.items():
            if src.table is None:
                raise DataError(
                    str(sources),
                    f"{name}: `file` names a file; a PostgreSQL data set reads tables: "
                    "give `table` ([schema.]table)",
                )
        self._stored = set(self.con.list_tables(database=self.schema))
        self.present = self._find()

    def _find(self) -> set[str]:
        return {n for n in self.contract if n in self._stored and n not in self.sources} | {
            n for n in self.sources if n in self.contract
        }

    def _contract_changed(self) -> None:
        self.present = self._find()

    def _forget(self, name: str) -> None:
        pass  # a loaded table is an expression over the stored one: nothing was created

    def _located(self, name: str) -> tuple[str, str]:
        """Return (schema, table) holding table `name`."""
        src = self.sources.get(name)
        if src is None or src.table is None:
            return self.schema, name
        schema, _, table = src.table.rpartition(".")
        return schema or self.schema, table

    def has(self, name: str) -> bool:
        """Tell whether the schema holds table `name`."""
        return name in self.present

    def source(self, name: str) -> str:
        """Return `URL table name`, as error messages name it."""
        if name in self.sources:
            schema, table = self._located(name)
            return f"{self.description} table {schema}.{table}"
        return f"{self.description} table {name}"

    def _wanted(self, name: str) -> Text:
        return msg("a table {table} in schema {schema}", table=name, schema=self.schema)

    def _relation_of(self, name: str) -> str:
        """Name the typed expression of table `name` as a temporary view of the session."""
        view = f"pingji_{name}"
        self.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS {self.con.compile(self.table(name))}"
        )
        return view

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""
        self.pg.execute(sql)

    def fetch(self, sql: str) -> list[dict]:
        """Return the rows of a (small) query as dicts."""
        cur = self.pg.execute(sql)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def fetch_arrow(self, sql: str):
        """Return the rows of a query as Arrow, typed by Ibis' mapping of PostgreSQL types."""
        return self.con.sql(sql).to_pyarrow()

    def create_step(self, name: str, sql: str) -> None:
        """Compute a query once into a temporary table `name` of the session (replaced)."""
        self.execute(f"DROP TABLE IF EXISTS {ident(name)}")
        self.execute(f"CREATE TEMP TABLE {ident(name)} AS {sql}")
        self.execute(f"ANALYZE {ident(name)}")

    def _load(self, name: str, spec: TableSpec) -> ibis.Table:
        schema, table = self._located(name)
        src = self.sources.get(name)
        try:
            stored = self.con.table(table, database=schema)
        except Exception as exc:  # ibis raises the driver's or its own "not found" errors
            raise DataError(self.source(name), f"cannot read the table: {exc}".strip()) from exc
        if src is not None:
            stored = stored.rename(
                {n: user for n, user in src.columns.items() if user in stored.columns}
            )
        missing = [c.name for c in spec.required if c.name not in stored.columns]
        if missing:
            shown = src.shown if src is not None else (lambda c: c)
            raise DataError(
                self.source(name),
                "required column is missing",
                column=shown(missing[0]),
                expected="columns " + ", ".join(shown(c.name) for c in spec.required),
            )
        self._refuse_non_finite(name, spec, stored)
        typed = {}
        for col in spec.columns:
            dtype = ibis.dtype(ENGINE_TYPES[col.type])
            default = ibis.literal(col.default, type=dtype) if col.default is not None else None
            if col.name in stored.columns:
                value = stored[col.name].cast(dtype)
                typed[col.name] = value.fill_null(default) if default is not None else value
            else:
                typed[col.name] = default if default is not None else ibis.null(dtype)
        extras = [c for c in stored.columns if spec.column(c) is None]
        return stored.select(**typed, **{c: stored[c] for c in extras})

    def _refuse_non_finite(self, name: str, spec: TableSpec, stored: ibis.Table) -> None:
        """Raise DataError at the first record holding NaN or ±Infinity in a money or number
        column: PostgreSQL's numeric and double precision can hold them, the contract cannot
        (the folder data set refuses them the same way). A table made elsewhere has no line
        numbers: the record is named by its row column when it has one, else by its key."""
        src = self.sources.get(name)
        stored_name = (lambda c: src.columns.get(c, c)) if src is not None else (lambda c: c)
        shown = src.shown if src is not None else (lambda c: c)
        predicates = {}
        for col in spec.columns:
            if col.type not in ("money", "number") or col.name not in stored.columns:
                continue
            v, dtype = ident(stored_name(col.name)), stored[col.name].type()
            if dtype.is_floating() or dtype.is_decimal():
                predicates[col] = f"CAST({v} AS text) IN ('NaN', 'Infinity', '-Infinity')"
            elif dtype.is_string():  # what casting it to the contract type would accept
                spellings = ", ".join(literal(t) for t in _NON_FINITE)
                predicates[col] = f"lower(trim({v})) IN ({spellings})"
        if not predicates:
            return
        at = ROW_COLUMN if ROW_COLUMN in stored.columns else spec.key
        schema, table = self._located(name)
        values = ", ".join(
            f"CAST({ident(stored_name(c.name))} AS text) AS v{i}" for i, c in enumerate(predicates)
        )
        found = self.fetch(
            f"SELECT CAST({ident(stored_name(at))} AS text) AS at, {values} "
            f"FROM {ident(schema)}.{ident(table)} WHERE {' OR '.join(predicates.values())} "
            f"ORDER BY {ident(stored_name(at))} LIMIT 1"
        )
        if not found:
            return
        record, *cells = found[0].values()
        col, value = next(
            (c, cell)
            for c, cell in zip(predicates, cells, strict=True)
            if cell is not None and cell.strip().lower() in _NON_FINITE
        )
        where = self.source(name)
        if at != ROW_COLUMN:
            where = f"{where} ({shown(at)} = {record!r})"
        raise DataError(
            where,
            msg("not an amount" if col.type == "money" else "not a number"),
            row=int(record) if at == ROW_COLUMN else None,
            column=shown(col.name),
            value=value,
            expected=expected_message(EXPECTED[col.type]),
        )


# How PostgreSQL's float and numeric input spell NaN and the infinities (in any case, with
# blanks around): text that casting to the contract type would turn into one of them.
_NON_FINITE = ("nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf")


# What each DuckDB column type becomes in PostgreSQL; anything else travels as text.
_PG_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "bigint",
    "SMALLINT": "bigint",
    "INTEGER": "bigint",
    "BIGINT": "bigint",
    "UTINYINT": "bigint",
    "USMALLINT": "bigint",
    "UINTEGER": "bigint",
    "FLOAT": "double precision",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "VARCHAR": "text",
}


def _pg_type(duck_type: str) -> str | None:
    if duck_type.startswith("DECIMAL"):
        return "numeric" + duck_type.removeprefix("DECIMAL").replace(" ", "")
    return _PG_TYPES.get(duck_type)


def load_into_postgres(
    folder: str | os.PathLike,
    url: str,
    schema: str,
    tables: Mapping[str, TableSpec] | None = None,
) -> None:
    """Validate a folder data set and copy its tables into `schema`, in one transaction.

    `tables` adds tables a scheme declares (its `ResolvedScheme.tables`) to the contract's."""
    from pingji.data.folder import FolderDataSet  # folder imports this package's base too

    data = FolderDataSet(Path(folder))
    if tables:
        data.use({n: unread(s) for n, s in tables.items()})
    names = data.names()
    for name in names:  # every table is checked before anything is written
        data.table(name)
    conninfo, _, description = split_url(url)
    db = data.duck
    with tempfile.TemporaryDirectory(prefix="pingji-pg-") as tmp:
        try:
            with psycopg.connect(conninfo) as pg, pg.cursor() as cur:
                cur.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
                for name in data.contract:
                    # Contract tables absent from the folder go too: the schema then holds
                    # exactly the folder's data set, not a mix with an earlier load.
                    target = sql.Identifier(schema, name)
                    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
                    if name in names:
                        _copy_table(db, cur, name, target, Path(tmp) / f"{name}.csv")
        except psycopg.Error as exc:
            raise DataError(description, f"cannot load schema {schema}: {exc}".strip()) from exc


def _copy_table(db, cur: psycopg.Cursor, name: str, target: sql.Identifier, path: Path) -> None:
    described = db.execute(f"DESCRIBE {ident(name)}").fetchall()
    columns, selects = [], []
    for column, duck_type, *_ in described:
        pg_type = _pg_type(duck_type)
        if pg_type is None:
            pg_type = "text"
            selects.append(f"CAST({ident(column)} AS VARCHAR) AS {ident(column)}")
        else:
            selects.append(ident(column))
        if column == ROW_COLUMN:
            pg_type = "bigint"
        columns.append(sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(pg_type)))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(columns)))
    # DuckDB writes decimals, dates and doubles as exact text (NULL as an empty field,
    # an empty string as ""), which PostgreSQL's CSV COPY reads back unchanged.
    db.execute(
        f"COPY (SELECT {', '.join(selects)} FROM {ident(name)}) TO {literal(str(path))} (FORMAT csv, HEADER false)"
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c, *_ in described)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)
    with cur.copy(statement) as copy, path.open("rb") as f:
        while chunk := f.read(1 << 20):
            copy.write(chunk)
    path.unlink()
