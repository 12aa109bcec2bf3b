"""Data sets: named contract tables on one engine connection, loaded and checked on first use."""

from __future__ import annotations

import abc
import os
from collections.abc import Iterable
from pathlib import Path

import ibis

from pingji.data.contract import ROW_COLUMN, TABLES, TableSpec
from pingji.errors import DataError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def contract_table(name: str, where: str) -> TableSpec:
    """Return the contract of table `name`, or raise DataError naming `where` it was asked for."""
    spec = TABLES.get(name)
    if spec is None:
        raise DataError(
            where, f"unknown table '{name}'", expected="one of " + ", ".join(sorted(TABLES))
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    def names(self) -> list[str]:
        """Return the contract tables present, in contract order."""
        return [name for name in TABLES if self.has(name)]

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
        spec = contract_table(name, self.description)
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
                f"table '{name}' is missing: {needed_by} needs {self._wanted(name)}{with_columns}",
            )
        present = set(self.columns(name))
        missing = [c for c in wanted if c not in present]
        if missing:
            listed = ", ".join(f"'{c}'" for c in missing)
            subject = f"column {listed} is" if len(missing) == 1 else f"columns {listed} are"
            raise DataError(
                self.source(name), f"{subject} missing: {needed_by} needs {name}{with_columns}"
            )


def open_dataset(spec: str | os.PathLike) -> DataSet:
    """Open a folder of CSV/Parquet/XLSX files (DuckDB) or a postgresql:// URL as a data set."""
    # Imported here: both modules build on DataSet above; and psycopg is only imported
    # for a PostgreSQL URL, so a folder run does not pay for it.
    if isinstance(spec, str) and spec.lower().startswith(POSTGRES_SCHEMES):
        from pingji.data.postgres import PostgresDataSet

        return PostgresDataSet(spec)
    from pingji.data.folder import FolderDataSet

    return FolderDataSet(Path(spec))
