"""Data sets: named contract tables on one engine connection, loaded and checked on first use."""

from __future__ import annotations

import abc
import difflib
import os
import shutil
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pingji.data import limits
from pingji.data.contract import ROW_COLUMN, TABLES, TableSpec, unread
from pingji.errors import DataError
from pingji.i18n import Text, msg

if TYPE_CHECKING:
    import duckdb
    import ibis
    import pyarrow as pa

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contract_table(name: str, where: str, tables: Mapping[str, TableSpec] = TABLES) -> TableSpec:
    """Return the contract of table `name`, or raise DataError naming `where` it was asked for."""
    spec = tables.get(name)
    if spec is None:
        raise DataError(
            where,
            msg("unknown table '{table}'", table=name),
            expected=msg("one of {choices}", choices=", ".join(sorted(tables))),
        )
    return spec


class DataSet(abc.ABC):
    """The contract tables of one data set, typed per the contract, on one engine connection.

    Two views of the same tables: Ibis tables (`table`), which the compiler builds plans on,
    and relations by name with plain SQL (`relation`, `execute`, `fetch` …), which the
    executor runs compiled plans with. A DuckDB data set (`DuckDataSet`, `duck` set) loads,
    checks and runs without importing Ibis; its Ibis connection is made on first use, over
    the same DuckDB connection."""

    backend: str
    description: str
    duck: duckdb.DuckDBPyConnection | None = None  # the connection of a DuckDB data set

    def __init__(self, con: ibis.BaseBackend | None, backend: str, description: str) -> None:
        self._con = con
        self.backend = backend
        self.description = description
        self._tables: dict[str, ibis.Table] = {}
        # what `_load` made of each table: a relation name, or (PostgreSQL) an Ibis expression
        self._loaded: dict[str, str | ibis.Table] = {}
        self._relations: dict[str, str] = {}
        # what each table is checked and typed against: the contract, or (after `use`) the
        # tables as a scheme reads them, its own declared tables included
        self.contract: dict[str, TableSpec] = {n: unread(s) for n, s in TABLES.items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    def names(self) -> list[str]:
        """Return the contract tables present, in contract order."""
        return [name for name in self.contract if self.has(name)]

    def use(self, specs: Mapping[str, TableSpec]) -> None:
        """Check and type tables per `specs` from now on (a scheme's reads, its own tables).

        A table already loaded under another spec is loaded again under the new one."""
        changed = [n for n, spec in specs.items() if self.contract.get(n) != spec]
        self.contract.update(specs)
        for name in changed:
            self._tables.pop(name, None)
            self._relations.pop(name, None)
            if self._loaded.pop(name, None) is not None:
                self._forget(name)
        if changed:
            self._contract_changed()

    @abc.abstractmethod
    def _forget(self, name: str) -> None:
        """Drop what loading table `name` left on the connection (before loading it again)."""

    @abc.abstractmethod
    def _contract_changed(self) -> None:
        """Look again for the tables of the contract (a scheme may have declared new ones)."""

    @abc.abstractmethod
    def has(self, name: str) -> bool:
        """Tell whether the data set holds table `name`."""

    @abc.abstractmethod
    def source(self, name: str) -> str:
        """Return what error messages call table `name` (a file, or a database table)."""

    @abc.abstractmethod
    def _load(self, name: str, spec: TableSpec) -> str | ibis.Table:
        """Check table `name` and type it per the contract; return the name of the relation
        holding it (or an Ibis expression over the stored table, see `_relation_of`)."""

    @abc.abstractmethod
    def _wanted(self, name: str) -> Text:
        """Return how to provide table `name`, for the message when it is missing."""

    @property
    def con(self) -> ibis.BaseBackend:
        """Return the Ibis connection."""
        return self._con

    def _load_once(self, name: str) -> str | ibis.Table:
        spec = contract_table(name, self.description, self.contract)
        if name not in self._loaded:
            if not self.has(name):
                raise DataError(self.description, msg("table '{table}' is missing", table=name))
            self._loaded[name] = self._load(name, spec)
        return self._loaded[name]

    def table(self, name: str) -> ibis.Table:
        """Return table `name` typed per the contract; loaded and checked on the first call."""
        if name not in self._tables:
            found = self._load_once(name)
            self._tables[name] = self.con.table(found) if isinstance(found, str) else found
        return self._tables[name]

    def relation(self, name: str) -> str:
        """Return the name SQL on this data set's connection reads table `name` by (the table
        typed per the contract; loaded and checked on the first call)."""
        if name not in self._relations:
            found = self._load_once(name)
            self._relations[name] = found if isinstance(found, str) else self._relation_of(name)
        return self._relations[name]

    @abc.abstractmethod
    def _relation_of(self, name: str) -> str:
        """Name the Ibis expression `_load` returned for table `name` as a relation of the
        connection (a temporary view) and return that name."""

    def describe(self, name: str) -> tuple[tuple[str, str], ...]:
        """Return the columns of table `name` with their types (what a compiled plan of a
        scheme depends on, besides the scheme)."""
        return tuple((c, str(t)) for c, t in self.table(name).schema().items())

    def columns(self, name: str) -> list[str]:
        """Return the columns of table `name` (contract columns first, then extra ones)."""
        return [c for c, _ in self.describe(name) if c != ROW_COLUMN]

    # -- plain SQL on the data set's connection (the executor's side) ----------------------

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""

    @abc.abstractmethod
    def fetch(self, sql: str) -> list[dict]:
        """Return the rows of a (small) query as dicts."""

    @abc.abstractmethod
    def fetch_arrow(self, sql: str) -> pa.Table:
        """Return the rows of a query as Arrow."""

    def result_into(self, duck: duckdb.DuckDBPyConnection, sql: str) -> str:
        """Make the rows of a query a relation of another DuckDB connection, `duck` (where
        the output is assembled), and return its name. Here: fetched as Arrow and registered.

        Whatever the relation reads lives as long as `duck` (see `remove_with`)."""
        duck.register("raw", self.fetch_arrow(sql))
        return "raw"

    @abc.abstractmethod
    def create_step(self, name: str, sql: str) -> None:
        """Compute a query once into a temporary table or view `name` of this session."""

    def require(self, name: str, columns: Iterable[str], needed_by: str) -> None:
        """Raise DataError unless table `name` exists with all of `columns`."""
        wanted = list(dict.fromkeys(columns))
        with_columns = msg(" with columns {columns}", columns=", ".join(wanted)) if wanted else ""
        if not self.has(name):
            raise DataError(
                self.description,
                msg(
                    "table '{table}' is missing: {needed_by} needs {wanted}{with_columns}{hint}",
                    table=name,
                    needed_by=needed_by,
                    wanted=self._wanted(name),
                    with_columns=with_columns,
                    hint=self._mapped_elsewhere(name),
                ),
            )
        present = set(self.columns(name))
        missing = [c for c in wanted if c not in present]
        if missing:
            listed = ", ".join(f"'{c}'" for c in missing)
            template = (
                "column {columns} is missing: {needed_by} needs {table}{with_columns}"
                if len(missing) == 1
                else "columns {columns} are missing: {needed_by} needs {table}{with_columns}"
            )
            raise DataError(
                self.source(name),
                msg(
                    template,
                    columns=listed,
                    needed_by=needed_by,
                    table=name,
                    with_columns=with_columns,
                ),
            )

    def _mapped_elsewhere(self, name: str) -> Text:
        """Return a hint when a sources file maps a name close to a missing table (a typo)."""
        mapped = [n for n in getattr(self, "sources", {}) if n not in self.contract]
        close = difflib.get_close_matches(name, mapped, n=1)
        if not close:
            return ""
        return msg(
            " (the sources file maps '{mapped}', which is no table of the scheme: "
            "did you mean '{table}'?)",
            mapped=close[0],
            table=name,
        )


def remove_with(duck: duckdb.DuckDBPyConnection, folder: Path) -> weakref.finalize:
    """Remove `folder` when the DuckDB connection `duck` is garbage, `discard(duck)` is
    called, or the interpreter exits (whichever comes first); return the remover, which also
    removes it when called."""
    remover = weakref.finalize(duck, shutil.rmtree, str(folder), True)
    if id(duck) not in _removers:  # forgotten with the connection (its id is then free)
        weakref.finalize(duck, _removers.pop, id(duck), None)
    _removers.setdefault(id(duck), []).append(remover)
    return remover


def discard(duck: duckdb.DuckDBPyConnection) -> None:
    """Close a DuckDB connection and remove now the folders its relations read
    (`remove_with`): for a result that will not be read."""
    duck.close()
    for remover in _removers.pop(id(duck), []):
        remover()


_removers: dict[int, list[weakref.finalize]] = {}  # by id of the DuckDB connection


def duck_connection() -> duckdb.DuckDBPyConnection:
    """Return a new in-memory DuckDB connection for a data set, using every core."""
    import duckdb

    # DuckDB's own progress bar would write into the CLI's and the web app's output.
    con = duckdb.connect(config={"threads": os.cpu_count() or 1})
    con.execute("SET enable_progress_bar = false")
    limits.apply(con)  # --memory-limit / --temp-dir (data/limits.py)
    return con


class DuckDataSet(DataSet):
    """A data set whose tables are relations on its own in-memory DuckDB connection
    (`duck`, from `duck_connection`): plain SQL runs there directly, and the Ibis connection
    is made over it on first use."""

    duck: duckdb.DuckDBPyConnection

    def __init__(self, description: str) -> None:
        super().__init__(None, "duckdb", description)
        self.duck = duck_connection()

    @property
    def con(self) -> ibis.BaseBackend:
        """Return the Ibis connection over the data set's DuckDB connection."""
        if self._con is None:
            import ibis

            self._con = ibis.duckdb.from_connection(self.duck)
        return self._con

    def _relation_of(self, name: str) -> str:
        """Name the Ibis expression of table `name` as a temporary view of the connection."""
        view = f"pingji_{name}"
        self.execute(
            f"CREATE OR REPLACE TEMP VIEW {_ident(view)} AS {self.con.compile(self.table(name))}"
        )
        return view

    def describe(self, name: str) -> tuple[tuple[str, str], ...]:
        """Return the columns of table `name` with their DuckDB types."""
        found = self.duck.execute(f"DESCRIBE {_ident(self.relation(name))}").fetchall()
        return tuple((row[0], row[1]) for row in found)

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""
        self.duck.execute(sql)

    def fetch(self, sql: str) -> list[dict]:
        """Return the rows of a (small) query as dicts."""
        cur = self.duck.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def fetch_arrow(self, sql: str) -> pa.Table:
        """Return the rows of a query as Arrow."""
        return self.duck.execute(sql).to_arrow_table()

    def create_step(self, name: str, sql: str) -> None:
        """Compute a query once into a temporary table `name` of this session (replaced)."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS {sql}")
