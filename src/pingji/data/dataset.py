"""Data sets: named contract tables on one engine connection, loaded and checked on first use."""

from __future__ import annotations

import abc
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import ibis

from pingji.data.contract import ROW_COLUMN, TABLES, TableSpec, unread
from pingji.errors import BadInput, DataError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def contract_table(name: str, where: str, tables: Mapping[str, TableSpec] = TABLES) -> TableSpec:
    """Return the contract of table `name`, or raise DataError naming `where` it was asked for."""
    spec = tables.get(name)
    if spec is None:
        raise DataError(
            where, f"unknown table '{name}'", expected="one of " + ", ".join(sorted(tables))
        )
    return spec


class DataSet(abc.ABC):
    """The contract tables of one data set, typed per the contract, on one engine connection."""

    con: ibis.BaseBackend
    backend: str
    description: str

    def __init__(self, con: ibis.BaseBackend, backend: str, description: str) -> None:
        self.con = con
        self.backend = backend
        self.description = description
        self._tables: dict[str, ibis.Table] = {}
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
            if self._tables.pop(name, None) is not None:
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
    def _load(self, name: str, spec: TableSpec) -> ibis.Table:
        """Return table `name` typed per the contract, after checking it."""

    @abc.abstractmethod
    def _wanted(self, name: str) -> str:
        """Return how to provide table `name`, for the message when it is missing."""

    def table(self, name: str) -> ibis.Table:
        """Return table `name` typed per the contract; loaded and checked on the first call."""
        spec = contract_table(name, self.description, self.contract)
        if name not in self._tables:
            if not self.has(name):
                raise DataError(self.description, f"table '{name}' is missing")
            self._tables[name] = self._load(name, spec)
        return self._tables[name]

    def columns(self, name: str) -> list[str]:
        """Return the columns of table `name` (contract columns first, then extra ones)."""
        return [c for c in self.table(name).columns if c != ROW_COLUMN]

    def require(self, name: str, columns: Iterable[str], needed_by: str) -> None:
        """Raise DataError unless table `name` exists with all of `columns`."""
        wanted = list(dict.fromkeys(columns))
        with_columns = f" with columns {', '.join(wanted)}" if wanted else ""
        if not self.has(name):
            raise DataError(
                self.description,
                f"table '{name}' is missing: {needed_by} needs {self._wanted(name)}{with_columns}"
                + self._mapped_elsewhere(name),
            )
        present = set(self.columns(name))
        missing = [c for c in wanted if c not in present]
        if missing:
            listed = ", ".join(f"'{c}'" for c in missing)
            subject = f"column {listed} is" if len(missing) == 1 else f"columns {listed} are"
            raise DataError(
                self.source(name), f"{subject} missing: {needed_by} needs {name}{with_columns}"
            )

    def _mapped_elsewhere(self, name: str) -> str:
        """Return a hint when a sources file maps a name close to a missing table (a typo)."""
        mapped = [n for n in getattr(self, "sources", {}) if n not in self.contract]
        close = difflib.get_close_matches(name, mapped, n=1)
        if not close:
            return ""
        return (
            f" (the sources file maps '{close[0]}', which is no table of the scheme: "
            f"did you mean '{name}'?)"
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
        raise BadInput(f"unknown engine '{engine}' (one of duckdb, spark)")
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
