"""Import batches: one checked file of one contract table, stored as one typed Parquet file,
and a data set made of the batches an evaluation reads (what the web application uses).

A batch file is written only after every check of the data layer passed, with the contract's
types, so reading batches needs no further checks: each table is one DuckDB view over its
Parquet files. For entity tables (customers, suppliers, …) a later batch replaces the rows of
the same key in earlier ones, so a master-data file can be imported again when it changes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pingji.data.contract import ROW_COLUMN, TableSpec, unread, with_declared
from pingji.data.dataset import DuckDataSet, contract_table
from pingji.data.folder import FolderDataSet
from pingji.data.labels import labelled
from pingji.errors import DataError
from pingji.i18n import Text, msg
from pingji.sqltext import ident, literal


@dataclass(frozen=True)
class BatchFile:
    """What `import_file` wrote."""

    table: str
    rows: int
    min_date: date | None
    max_date: date | None


UPLOAD_SUFFIXES = (".csv", ".xlsx", ".parquet")


class _UploadDataSet(FolderDataSet):
    """A folder holding one uploaded file, whose errors name the file as the user called it.

    Header cells may name a contract column or give its Chinese label (data.labels), for
    fact tables too (客户编号, 日期, 金额 …)."""

    def __init__(self, folder: Path, shown_as: str) -> None:
        super().__init__(folder)
        self.shown_as = shown_as

    def source(self, name: str) -> str:
        return self.shown_as

    def _load(self, name: str, spec: TableSpec) -> str:
        return super()._load(name, labelled(spec))


def upload_folder(
    path: Path,
    table: str,
    shown_as: str | None = None,
    tables: Mapping[str, TableSpec] | None = None,
) -> Path:
    """Link (or copy) an uploaded file into a private folder under its table's name, so the
    data layer reads it exactly like a file in a data folder; return the folder. `tables`
    are the tables schemes declare, beside the contract's."""
    spec = contract_table(table, str(path), with_declared(tables or {}))
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataError(
            shown_as or path.name,
            msg("expected a .csv, .xlsx or .parquet file"),
            expected=".csv/.xlsx/.parquet",
        )
    folder = Path(tempfile.mkdtemp(prefix="pingji-upload-"))
    target = folder / f"{spec.name}{suffix}"
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)
    return folder


def open_upload(
    path: Path,
    table: str,
    shown_as: str | None = None,
    tables: Mapping[str, TableSpec] | None = None,
) -> _UploadDataSet:
    """Return a one-table data set over an uploaded CSV/XLSX/Parquet file (not yet checked);
    `tables` are the tables schemes declare, beside the contract's."""
    ds = _UploadDataSet(upload_folder(path, table, shown_as, tables), shown_as or path.name)
    ds.use({n: unread(s) for n, s in (tables or {}).items()})
    return ds


def close_upload(ds: _UploadDataSet) -> None:
    """Release an upload data set and its private folder."""
    ds.con.disconnect()
    shutil.rmtree(ds.folder, ignore_errors=True)


def import_file(
    path: Path,
    table: str,
    out: Path,
    shown_as: str | None = None,
    tables: Mapping[str, TableSpec] | None = None,
) -> BatchFile:
    """Check an uploaded file of `table` and write it as typed Parquet to `out`, atomically.

    Raises DataError (naming the file, row, column, value and what was expected) for the
    first problem; then nothing is written. `tables`: as for open_upload."""
    ds = open_upload(path, table, shown_as, tables)
    try:
        spec = ds.contract[table]
        ds.table(table)  # every check of the data layer runs here
        db = ds._db
        columns = [c for c in ds.columns(table)]
        select = ", ".join(ident(c) for c in columns)
        rows = db.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0]
        lo = hi = None
        if spec.date:
            lo, hi = db.execute(
                f"SELECT min({ident(spec.date)})::DATE, max({ident(spec.date)})::DATE "
                f"FROM {ident(table)}"
            ).fetchone()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        try:
            db.execute(
                f"COPY (SELECT {select} FROM {ident(table)}) TO {literal(str(partial))} "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            )
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return BatchFile(table, int(rows), lo, hi)
    finally:
        close_upload(ds)


def batch_rows_sql(
    paths: Sequence[Path | str],
    key: str | None = None,
    *,
    where: str = "",
    line_column: str | None = None,
    batch_column: str | None = None,
    batch_ids: Sequence[object] = (),
) -> str:
    """Return the DuckDB query reading a table's batch files (oldest first) as one relation.

    With `key` (entity tables, the calendar) these are the rows as read: a later batch's
    row replaces an earlier row with the same key. `where` (SQL) filters the rows before
    that choice, so it may only name the key (one entity's row as read); `line_column` names a column of each row's line in its file (1 = the first row),
    `batch_column` one of the id (from `batch_ids`, one per file) of the batch it is in."""
    paths = [str(p) for p in paths]
    several = len(paths) > 1
    # which file a row is in matters for the latest row per key and for the batch ids
    named = several and (key is not None or batch_column is not None)
    flags = ["union_by_name = true"] if several else []
    excluded, added = [], []
    if named:
        flags.append("filename = true")
        excluded.append("filename")
    if batch_column is not None:
        ids = [literal(b) for b in batch_ids]
        if named:
            cases = " ".join(f"WHEN {literal(p)} THEN {b}" for p, b in zip(paths, ids, strict=True))
            added.append(f"CASE filename {cases} END AS {ident(batch_column)}")
        else:
            added.append(f"{ids[0]} AS {ident(batch_column)}")
    if line_column is not None:
        flags.append("file_row_number = true")
        excluded.append("file_row_number")
        added.append(f"file_row_number + 1 AS {ident(line_column)}")
    columns = ", ".join([f"* EXCLUDE ({', '.join(excluded)})" if excluded else "*", *added])
    listed = "[" + ", ".join(literal(p) for p in paths) + "]" if several else literal(paths[0])
    sql = f"SELECT {columns} FROM read_parquet({', '.join([listed, *flags])})"
    if where:
        sql += f" WHERE {where}"
    if key is not None and several:
        order = " ".join(f"WHEN {literal(p)} THEN {i}" for i, p in enumerate(paths))
        sql += (
            f" QUALIFY row_number() OVER (PARTITION BY {ident(key)} "
            f"ORDER BY CASE filename {order} END DESC) = 1"
        )
    return sql


class BatchDataSet(DuckDataSet):
    """The tables of a set of import batches (Parquet files), on an in-memory DuckDB.

    `files` maps a contract table to its batch files, oldest first; for entity tables a later
    file's row replaces an earlier row with the same key. `description` names the data set
    in messages (e.g. "batches 3, 5, 9"). `tables` are tables schemes declare, beside the
    contract's; batches of a table known to neither are read only once a scheme declares it
    (`use`), so a run of an older scheme version still reads its own tables."""

    def __init__(
        self,
        files: Mapping[str, Sequence[Path]],
        description: str = "batches",
        tables: Mapping[str, TableSpec] | None = None,
    ) -> None:
        super().__init__(description)
        self.declared = dict(tables or {})
        self.contract.update(self.declared)
        self.files = {name: [Path(p) for p in paths] for name, paths in files.items() if paths}

    @property
    def _db(self):
        return self.duck

    def has(self, name: str) -> bool:
        return name in self.files

    def source(self, name: str) -> str:
        paths = self.files.get(name, [])
        return f"{name} ({', '.join(p.name for p in paths)})" if paths else name

    def _wanted(self, name: str) -> Text:
        return msg("an import batch of table '{table}'", table=name)

    def _contract_changed(self) -> None:
        pass  # the batches of each table are given, whatever the contract says

    def _forget(self, name: str) -> None:
        self._db.execute(f"DROP VIEW IF EXISTS {ident(name)}")

    def _load(self, name: str, spec: TableSpec) -> str:
        # entity tables and the calendar: a later batch wins per key (entity id, date)
        key = spec.key if spec.kind in ("entity", "reference") else None
        body = batch_rows_sql(self.files[name], key, line_column=ROW_COLUMN)
        self._db.execute(f"CREATE VIEW {ident(name)} AS {body}")
        return name

    def with_table(self, name: str, path: Path) -> BatchDataSet:
        """Return this data set with table `name` read from one more file (e.g. ratings)."""
        files = dict(self.files)
        files[name] = [*files.get(name, []), path]
        return BatchDataSet(files, self.description, self.declared)
