"""Data sets: named contract tables on one engine connection, loaded and checked on first use."""

from __future__ import annotations

import abc
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pingji.data.contract import ROW_COLUMN, TABLES, TableSpec, unread
from pingji.errors import BadInput, DataError
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
    executor runs compiled plans with. A DuckDB data set (`duck` set) loads, checks and runs
    without importing Ibis; its Ibis connection is made on first use, over the same DuckDB
    connection."""

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
        """Return the Ibis connection (made on first use for a DuckDB data set)."""
        if self._con is None:
            import ibis

            self._con = ibis.duckdb.from_connection(self.duck)
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

    def _relation_of(self, name: str) -> str:
        """Make a relation of the Ibis expression `_load` returned for table `name`."""
        raise NotImplementedError(type(self).__name__)

    def describe(self, name: str) -> tuple[tuple[str, str], ...]:
        """Return the columns of table `name` with their types (what a compiled plan of a
        scheme depends on, besides the scheme)."""
        relation = self.relation(name)
        if self.duck is not None:
            found = self.duck.execute(f"DESCRIBE {_ident(relation)}").fetchall()
            return tuple((row[0], row[1]) for row in found)
        return tuple((c, str(t)) for c, t in self.table(name).schema().items())

    def columns(self, name: str) -> list[str]:
        """Return the columns of table `name` (contract columns first, then extra ones)."""
        return [c for c, _ in self.describe(name) if c != ROW_COLUMN]

    # -- plain SQL on the data set's connection (the executor's side) ----------------------

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""
        self._duck().execute(sql)

    def fetch(self, sql: str) -> list[dict]:
        """Return the rows of a (small) query as dicts."""
        cur = self._duck().execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def fetch_arrow(self, sql: str) -> pa.Table:
        """Return the rows of a query as Arrow."""
        return self._duck().execute(sql).to_arrow_table()

    def create_step(self, name: str, sql: str) -> None:
        """Compute a query once into a temporary table `name` of this session (replaced)."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS {sql}")

    def _duck(self) -> duckdb.DuckDBPyConnection:
        if self.duck is None:
            raise NotImplementedError(type(self).__name__)
        return self.duck

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


def open_dataset(
    spec: str | os.PathLike,
    sources: str | os.PathLike | None = None,
    engine: str | None = None,
    spark_master: str | None = None,
) -> DataSet:
    """Open a folder of CSV/Parquet/XLSX files (DuckDB) or a postgresql:// URL as a data set;
    `sources` is a sources file mapping tables onto the user's own files, tables and columns
    (default for a folder: its sources.yaml, if there is one). With `engine="spark"`, or
    for `spark:DATABASE` / `hive:DATABASE`, the folder or the database's tables are read on
    Spark (master: `spark_master`, else $PINGJI_SPARK_MASTER, else local[*])."""
    # Imported here: both modules build on DataSet above; and psycopg is only imported
    # for a PostgreSQL URL, so a folder run does not pay for it.
    mapping = Path(sources) if sources is not None else None
    if engine not in (None, "duckdb", "spark"):
        raise BadInput(msg("unknown engine '{engine}' (one of duckdb, spark)", engine=engine))
    tables_on_spark = isinstance(spec, str) and spec.lower().startswith(("spark:", "hive:"))
    if engine == "spark" or tables_on_spark:
        from pingji.extras import require

        require("spark", "--engine spark" if engine == "spark" else f"the data {spec}")
        from pingji.data.spark import SparkDataSet

        return SparkDataSet(spec, mapping, spark_master)
    if isinstance(spec, str) and spec.lower().startswith(POSTGRES_SCHEMES):
        from pingji.extras import require

        require("postgres", "a PostgreSQL data set")
        from pingji.data.postgres import PostgresDataSet

        return PostgresDataSet(spec, mapping)
    from pingji.data.folder import FolderDataSet

    return FolderDataSet(Path(spec), mapping)
