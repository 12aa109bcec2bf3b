"""Folder data sets: CSV, XLSX and Parquet files named after contract tables, on DuckDB."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pingji.data.contract import ROW_COLUMN, TABLES, TableSpec
from pingji.data.dataset import DuckDataSet
from pingji.data.encoding import utf8_file
from pingji.data.validate import (
    ColumnPlan,
    absent_plan,
    check_and_plan,
    check_unique,
    check_width,
    clean_text,
    ident,
    is_native,
    literal,
    native_plan,
    normalised,
    plain_projections,
    select_list,
    text_plan,
)
from pingji.errors import DataError
from pingji.i18n import msg

if TYPE_CHECKING:
    from pingji.data.sources import Source

SUFFIXES = (".csv", ".parquet", ".xlsx")


def find_files(folder: Path, tables: Collection[str] = TABLES) -> dict[str, Path]:
    """Return the file of each table in `folder`; two files for one table is an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = path.stem.lower()
        if path.suffix.lower() not in SUFFIXES or name not in tables or not path.is_file():
            continue
        if name in found:
            raise DataError(
                folder,
                msg(
                    "table '{table}' has two files, {first} and {second}: keep one",
                    table=name,
                    first=found[name].name,
                    second=path.name,
                ),
            )
        found[name] = path
    return found


def read_xlsx_table(spec, path: Path, file: str, sheet: str | None, renames) -> tuple:
    """Return a sheet's column names (resolved against the contract, as for a CSV header) and
    its cells as text (openpyxl; a number in a date column is an Excel serial day), for the
    DuckDB and the Spark loader alike."""
    from pingji.data.xlsx import read_sheet  # openpyxl only for Excel files

    def date_columns(header: list[str | None]) -> list[int]:
        names = resolve_header(spec, header, file, header_row=1, renames=renames)
        return [i for i, n in enumerate(names) if getattr(spec.column(n), "type", "") == "date"]

    header, cells = read_sheet(path, file, sheet, date_columns)
    return resolve_header(spec, header, file, header_row=1, renames=renames), cells


def resolve_header(
    spec: TableSpec,
    header: Sequence[str | None],
    file: str,
    header_row: int | None,
    renames: Mapping[str, str] | None = None,
) -> list[str]:
    """Return the column name for each header cell: contract names (matched ignoring case,
    by their Chinese label, or as `renames` maps the user's names) and unique names for the
    extra columns."""
    check_width(len(header), file, header_row)
    lookup = {c.label: c.name for c in spec.columns if c.label}
    lookup |= {c.name: c.name for c in spec.columns}
    if renames:
        # a mapped contract name is found only under the user's name
        lookup = {k: v for k, v in lookup.items() if v not in renames.values()}
        lookup |= dict(renames)
    names: list[str] = []
    seen: dict[str, int] = {}  # lower-cased: DuckDB identifiers ignore case
    for position, cell in enumerate(header, start=1):
        text = (cell or "").strip()
        name = lookup.get(text.lower()) or lookup.get(text) or text or f"column{position}"
        if name == ROW_COLUMN:
            raise DataError(
                file,
                msg("this column name is reserved: rename the column"),
                row=header_row,
                column=name,
            )
        if name.lower() in seen:
            if spec.column(name):
                raise DataError(
                    file,
                    msg(
                        "the column appears twice (columns {first} and {second})",
                        first=seen[name.lower()],
                        second=position,
                    ),
                    row=header_row,
                    column=name,
                )
            base, n = name, 2
            while f"{base}_{n}".lower() in seen:
                n += 1
            name = f"{base}_{n}"
        seen[name.lower()] = position
        names.append(name)
    missing = [c.name for c in spec.required if c.name not in names]
    if missing:
        shown = {v: k for k, v in (renames or {}).items()}  # the user's names, where mapped
        required = ", ".join(shown.get(c.name, c.name) for c in spec.required)
        found = [(cell or "").strip() for cell in header] if renames else names
        raise DataError(
            file,
            msg(
                "required column is missing; the header has {columns}"
                if header_row
                else "required column is missing; the file has {columns}",
                columns=", ".join(found) or msg("no columns"),
            ),
            row=header_row,
            column=shown.get(missing[0], missing[0]),
            expected=msg("columns {columns}", columns=required),
        )
    return names


def count_lines(path: Path) -> int:
    """Return the number of lines in a file (a last line without a newline counts)."""
    count, last = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (1 if last not in (b"", b"\n") else 0)


def read_csv_header(path: Path, file: str, encoding: str | None = None) -> list[str] | None:
    """Return the cells of a CSV file's header record (None for an empty file); `encoding`
    names one other than UTF-8 (encoding.csv_encoding) for a reader that decodes it itself."""
    if encoding is not None:
        with path.open(encoding=encoding, errors="replace", newline="") as f:
            return next(csv.reader(f), None)
    # Only the header's own bytes are decoded here: an encoding problem further down is
    # DuckDB's to report, with its line number.
    with path.open("rb") as f:
        raw = f.readline()
        while raw.count(b'"') % 2 and (more := f.readline()):  # a quoted line break
            raw += more
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            file, msg("the file is not UTF-8 text: save it as CSV UTF-8"), row=1
        ) from exc
    return next(csv.reader(io.StringIO(text, newline="")), None)


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def csv_read_error(exc: duckdb.Error, file: str) -> DataError:
    """Return a DataError for a CSV file DuckDB could not parse."""
    text = str(exc)
    line = _CSV_LINE.search(text)
    fields = _CSV_FIELDS.search(text)
    if fields:
        message = msg(
            "expected {expected} fields like the header, found {found}",
            expected=fields[1],
            found=fields[2],
        )
    elif "unicode" in text.lower():
        message = msg("the file is not UTF-8 text: save it as CSV UTF-8")
    else:
        detail = text.splitlines()[0].removeprefix("Invalid Input Error: ")
        message = msg("cannot read the CSV: {detail}", detail=detail)
    return DataError(file, message, row=int(line[1]) if line else None)


def parquet_relation(
    db: duckdb.DuckDBPyConnection,
    path: Path,
    spec: TableSpec,
    file: str,
    renames: Mapping[str, str] | None = None,
) -> tuple[str, list[ColumnPlan], list[str]]:
    """Return a relation over a Parquet file with contract names (and the row number), the
    column plans to check and type it, and the column names found (contract names first).

    Columns already stored in the right type family are taken as they are (no content check,
    so 20 M rows stay fast); other columns are read as text and checked like CSV cells."""
    read = f"read_parquet({literal(str(path))}, file_row_number = true)"
    try:
        described = db.execute(f"DESCRIBE SELECT * FROM {read}").fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise DataError(file, msg("cannot read the Parquet file: {detail}", detail=first)) from exc
    stored = [(n, t) for n, t, *_ in described if n != "file_row_number"]
    names = resolve_header(spec, [n for n, _ in stored], file, header_row=None, renames=renames)
    selects, plans_by_name = [], {}
    for (source, type_), name_ in zip(stored, names, strict=True):
        col = spec.column(name_)
        if col is None:
            selects.append(f"{ident(source)} AS {ident(name_)}")
            plans_by_name[name_] = ColumnPlan(name_, ident(name_))
        elif is_native(col, type_):
            selects.append(f"{ident(source)} AS {ident(name_)}")
            plans_by_name[name_] = native_plan(col, type_)
        else:
            selects.append(f"{clean_text(ident(source))} AS {ident(name_)}")
            plans_by_name[name_] = text_plan(col)
    selects.append(f"file_row_number + 1 AS {ident(ROW_COLUMN)}")
    relation = f"(SELECT {', '.join(selects)} FROM {read})"
    plans = [plans_by_name.get(c.name) or absent_plan(c) for c in spec.columns]
    plans += [p for n, p in plans_by_name.items() if spec.column(n) is None]
    return relation, plans, names


SOURCES_FILE = "sources.yaml"  # as data/sources.py names it


class FolderDataSet(DuckDataSet):
    """A folder of files named after contract tables, read into an in-memory DuckDB.

    A sources file (`sources.yaml` in the folder, or `sources`) may map a table onto a file of
    another name, a sheet of a workbook, and the user's own column names."""

    def __init__(self, folder: Path, sources: Path | None = None) -> None:
        if not folder.is_dir():
            if folder.exists():
                raise DataError(folder, msg("the data folder is not a folder"))
            raise DataError(folder, msg("the data folder does not exist"))
        super().__init__(str(folder))
        self.folder = folder
        self.sources_file = sources if sources is not None else folder / SOURCES_FILE
        self.sources: dict[str, Source] = {}
        if sources is not None or self.sources_file.is_file():
            from pingji.data.sources import read_sources  # YAML and pydantic: only when used

            self.sources = read_sources(self.sources_file)
        for name, src in self.sources.items():
            if src.file is None:
                raise DataError(
                    self.sources_file,
                    msg(
                        "{table}: `table` names a database table; a data folder reads files: "
                        "give `file`",
                        table=name,
                    ),
                )
            if Path(src.file).suffix.lower() not in SUFFIXES:
                raise DataError(
                    self.sources_file,
                    msg("{table}: cannot read '{file}'", table=name, file=src.file),
                    expected=msg("a .csv, .xlsx or .parquet file"),
                )
        self.files = self._find()
        # The tables whose CSV file was converted to UTF-8, and from which encoding.
        self.encodings: dict[str, str] = {}

    def _find(self) -> dict[str, Path]:
        found = find_files(self.folder, [n for n in self.contract if n not in self.sources])
        for name, src in self.sources.items():
            path = Path(src.file or "")
            found[name] = path if path.is_absolute() else self.folder / path
        return found

    def _contract_changed(self) -> None:
        self.files = self._find()

    def _forget(self, name: str) -> None:
        # no bound parameters: DuckDB imports pandas to look at them (0.8 s)
        kind = self._db.execute(
            f"SELECT 'VIEW' FROM duckdb_views() WHERE view_name = {literal(name)} AND NOT internal "
            f"UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = {literal(name)}"
        ).fetchone()
        if kind:
            self._db.execute(f"DROP {kind[0]} {ident(name)}")

    def _renames(self, name: str) -> dict[str, str] | None:
        src = self.sources.get(name)
        return src.renames if src else None

    @property
    def _db(self) -> duckdb.DuckDBPyConnection:
        return self.duck

    def has(self, name: str) -> bool:
        """Tell whether the folder holds a file for table `name`."""
        return name in self.files

    def source(self, name: str) -> str:
        """Return the file of table `name`, as error messages name it."""
        path = self.files.get(name)
        if name in self.sources and path is not None:
            return str(path)
        return str(self.folder / path.name) if path else str(self.folder / f"{name}.csv")

    def _wanted(self, name: str) -> str:
        return f"{name}.csv/.parquet/.xlsx"

    def _load(self, name: str, spec: TableSpec) -> str:
        path, file = self.files[name], self.source(name)
        src = self.sources.get(name)
        if src is not None and not path.is_file():
            raise DataError(
                self.sources_file,
                msg(
                    "{table}: the file '{file}' does not exist in {folder}",
                    table=name,
                    file=src.file,
                    folder=str(self.folder),
                ),
            )
        load = {".csv": self._load_csv, ".xlsx": self._load_xlsx, ".parquet": self._load_parquet}
        try:
            with plain_projections(self._db):
                load[path.suffix.lower()](name, spec, path, file)
        except DataError as exc:
            if src is None or exc.column not in src.columns:
                raise
            # the user's own column name, as their file has it
            raise DataError(
                exc.file, exc.message, exc.row, src.shown(exc.column), exc.value, exc.expected
            ) from exc
        return name

    # -- CSV and XLSX: text cells, materialised once as a typed table -----------------------

    def _materialise(
        self,
        name: str,
        spec: TableSpec,
        file: str,
        relation: str,
        names: list[str],
        unit: str,
        ordered: bool,
    ) -> None:
        """Check cleaned text columns and create the typed table `name` from them."""
        plans = [text_plan(c) if c.name in names else absent_plan(c) for c in spec.columns]
        extras = [n for n in names if spec.column(n) is None]
        relation = normalised(relation, plans)
        plans = check_and_plan(self._db, relation, plans, extras, file)
        if spec.unique_key:
            check_unique(self._db, relation, spec, file, unit)
        order = f" ORDER BY {ident(ROW_COLUMN)}" if ordered else ""
        self._db.execute(
            f"CREATE TABLE {ident(name)} AS SELECT {select_list(plans)} FROM {relation}{order}"
        )

    def _load_csv(self, name: str, spec: TableSpec, path: Path, file: str) -> None:
        # GBK/GB18030 (Excel on Chinese Windows) and UTF-16 files are read from a UTF-8 copy.
        text = utf8_file(path, file)
        try:
            if text.converted_from:
                self.encodings[name] = text.converted_from
            self._load_utf8_csv(name, spec, text.path, file)
        finally:
            text.remove()

    def _load_utf8_csv(self, name: str, spec: TableSpec, path: Path, file: str) -> None:
        header = read_csv_header(path, file)
        if not header or not any(cell.strip() for cell in header):
            raise DataError(file, msg("line 1 is empty: a header row is required"), row=1)
        names = resolve_header(spec, header, file, header_row=1, renames=self._renames(name))
        staged, lines = ident(f"__pingji_csv_{name}"), ident(f"__pingji_lines_{name}")
        # The header is read above; DuckDB must not sniff (it may skip rows or pick another
        # header in a ragged file), so the dialect and the columns are given explicitly.
        columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
        read = (
            f"read_csv({literal(str(path))}, auto_detect = false, header = true, delim = ',', "
            f"quote = '\"', escape = '\"', strict_mode = true, columns = {columns})"
        )
        cleaned = ", ".join(f"{clean_text(ident(n))} AS {ident(n)}" for n in names)
        try:
            try:
                self._db.execute(f"CREATE TEMP TABLE {staged} AS SELECT {cleaned} FROM {read}")
            except duckdb.Error as exc:
                raise csv_read_error(exc, file) from exc
            rows = self._db.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]
            relation = f"(SELECT *, rowid + 2 AS {ident(ROW_COLUMN)} FROM {staged})"
            ordered = False
            if count_lines(path) != rows + 1 and self._map_lines(path, lines, rows):
                # Blank lines (skipped by DuckDB) or line breaks inside quoted cells.
                relation = (
                    f"(SELECT s.*, m.line AS {ident(ROW_COLUMN)} FROM {staged} s "
                    f"JOIN {lines} m ON m.rid = s.rowid)"
                )
                ordered = True
            self._materialise(name, spec, file, relation, names, "line", ordered)
        finally:
            self._db.execute(f"DROP TABLE IF EXISTS {staged}")
            self._db.execute(f"DROP TABLE IF EXISTS {lines}")

    def _map_lines(self, path: Path, lines: str, rows: int) -> bool:
        """Map each record to the line it starts on; False when the map does not fit."""
        # A line starts a record unless it is blank or an odd number of quotes came before
        # it (then it continues a quoted cell). Set-based over the lines of the file.
        self._db.execute(
            f"""
            CREATE TEMP TABLE {lines} AS
            WITH text AS (SELECT string_split(content, chr(10)) AS l FROM read_text({literal(str(path))})),
            line AS (SELECT i + 1 AS n, l[i + 1] AS s FROM text, range(len(l)) AS r(i)),
            state AS (
                SELECT n, s, coalesce(sum(length(s) - length(replace(s, '"', ''))) OVER (
                    ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2 AS quoted
                FROM line)
            SELECT n AS line, row_number() OVER (ORDER BY n) - 2 AS rid
            FROM state WHERE quoted = 0 AND rtrim(s, chr(13)) <> ''
            """
        )
        found = self._db.execute(f"SELECT count(*) FROM {lines} WHERE rid >= 0").fetchone()[0]
        return found == rows

    def _load_xlsx(self, name: str, spec: TableSpec, path: Path, file: str) -> None:
        src = self.sources.get(name)
        names, cells = read_xlsx_table(
            spec, path, file, src.sheet if src else None, self._renames(name)
        )
        cells = cells.rename_columns([*names, ROW_COLUMN])
        view, staged = f"__pingji_xlsx_{name}", ident(f"__pingji_xlsx_{name}_t")
        cleaned = ", ".join(f"{clean_text(ident(n))} AS {ident(n)}" for n in names)
        self._db.register(view, cells)
        try:
            self._db.execute(
                f"CREATE TEMP TABLE {staged} AS SELECT {cleaned}, {ident(ROW_COLUMN)} "
                f"FROM {ident(view)}"
            )
            self._materialise(name, spec, file, staged, names, "row", ordered=False)
        finally:
            self._db.unregister(view)
            self._db.execute(f"DROP TABLE IF EXISTS {staged}")

    # -- Parquet: a view over the file, typed in place --------------------------------------

    def _load_parquet(self, name: str, spec: TableSpec, path: Path, file: str) -> None:
        relation, plans, _names = parquet_relation(self._db, path, spec, file, self._renames(name))
        relation = normalised(relation, plans)
        plans = check_and_plan(self._db, relation, plans, [], file)
        if spec.unique_key:
            check_unique(self._db, relation, spec, file, "row")
        self._db.execute(
            f"CREATE VIEW {ident(name)} AS SELECT {select_list(plans)} FROM {relation}"
        )
