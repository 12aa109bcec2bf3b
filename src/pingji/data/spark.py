"""Spark data sets: a folder of files read by Spark itself, or the tables of a Spark/Hive database.

Files are parsed by Spark (never through pandas or Arrow: a float column loaded from pandas
arrives with NaN where the file has no value) and checked and typed per the contract with the
same rules and messages as a folder on DuckDB (`folder.py`, `validate.py`): the rules are
validate.py's, written as Spark SQL through the `SPARK` dialect below; a CSV file's encoding
is found by the same function (`encoding.csv_encoding`) and decoded by Spark's reader.
Tables are then exposed to the engine through Ibis' PySpark backend.
"""

from __future__ import annotations

import atexit
import csv
import io
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from pingji import sqltext
from pingji.data import limits
from pingji.data.contract import EXPECTED, ROW_COLUMN, Column, TableSpec
from pingji.data.dataset import DataSet, remove_with
from pingji.data.encoding import NOT_TEXT, csv_encoding, utf8_file
from pingji.data.folder import (
    SUFFIXES,
    count_lines,
    find_files,
    read_csv_header,
    read_xlsx_table,
    resolve_header,
)
from pingji.data.sources import SOURCES_FILE, Source, read_sources
from pingji.data.validate import (
    _BLANKS,
    _PLAIN_NUMBER,
    Check,
    ColumnPlan,
    Dialect,
    _extra_plan,
    expected_message,
    normal_name,
)
from pingji.data.validate import _probes as _shared_probes
from pingji.data.validate import absent_plan as _shared_absent_plan
from pingji.data.validate import text_plan as _shared_text_plan
from pingji.errors import BadInput, DataError
from pingji.i18n import msg

if TYPE_CHECKING:
    import duckdb

# A data spec naming a database of the Spark session's catalog instead of a folder:
# `spark:sales_dw`; `hive:sales_dw` also turns on Spark's Hive support (a Hive metastore).
TABLE_PREFIXES = ("spark:", "hive:")
MASTER_ENV = "PINGJI_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"

# pyspark 4.x warns on every import that it does not yet "fully support" pandas 3; pingji
# never moves data through pandas on Spark (files are read by Spark, results written as
# Parquet or fetched as Arrow).
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

SPARK_TYPES: dict[str, str] = {
    "string": "STRING",
    "money": "DECIMAL(18, 4)",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "bool": "BOOLEAN",
}

_session: SparkSession | None = None


def is_spark_tables(spec: str | os.PathLike) -> bool:
    """Tell whether a data spec names a database of Spark tables (`spark:db`, `hive:db`)."""
    return isinstance(spec, str) and spec.lower().startswith(TABLE_PREFIXES)


def spark_master(master: str | None = None) -> str:
    """Return the master URL: the one given, else $PINGJI_SPARK_MASTER, else local[*]."""
    return master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def spark_session(master: str | None = None, hive: bool = False) -> SparkSession:
    """Return this process's Spark session, started on first use.

    One session per process: starting one costs seconds (a JVM). It gets its own warehouse
    directory (and, in local mode, its own Hive metastore) under a temporary directory that
    goes when the process ends, so two processes never share tables they did not mean to."""
    global _session
    master = spark_master(master)
    if _session is not None and _session.sparkContext._jsc is not None:
        running = _session.sparkContext.master
        if running != master:
            raise BadInput(
                f"a Spark session on {running} is already running in this process; "
                f"cannot also use {master}"
            )
        if hive and _session.conf.get("spark.sql.catalogImplementation") != "hive":
            raise BadInput(
                "the Spark session of this process was started without Hive support; "
                "read Hive tables (hive:DATABASE) in a process of their own"
            )
        return _session
    home = Path(tempfile.mkdtemp(prefix="pingji-spark-"))
    atexit.register(shutil.rmtree, home, True)
    # Spark's own INFO/WARN lines would interleave with the command's output.
    log4j = home / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
        # PySpark counts as a shell: Spark resets the level to WARN (and says so) unless the
        # logger of its first class that logs has a level of its own
        "logger.spark.name = org.apache.spark\nlogger.spark.level = error\n",
        encoding="utf-8",
    )
    local = master.startswith("local")
    java_options = f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={home}"
    builder = (
        SparkSession.builder.master(master)
        .appName("pingji")
        .config("spark.sql.warehouse.dir", str(home / "warehouse"))
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # Spark 4 reads CSV only in UTF-8/16/32, ASCII and Latin-1 unless Java's charsets are
        # allowed: GBK/GB18030 files (Excel on Chinese Windows) need GB18030
        .config("spark.sql.legacy.javaCharsets", "true")
    )
    if local:
        # One machine: a modest driver, few shuffle partitions (Spark's 200 are for clusters).
        builder = (
            builder.config("spark.driver.memory", os.environ.get("PINGJI_SPARK_MEMORY", "2g"))
            .config("spark.sql.shuffle.partitions", str(max(2, min(8, os.cpu_count() or 2))))
            .config("spark.ui.enabled", "false")
        )
    if hive:
        builder = builder.enableHiveSupport()
        if local:  # an embedded metastore of this process, not ./metastore_db
            builder = builder.config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
            )
    # py4j says at INFO when it closes connections, also while the interpreter exits
    logging.getLogger("py4j").setLevel(logging.WARNING)
    _session = builder.getOrCreate()
    return _session


# -- Spark SQL for the contract's checks (the DuckDB versions are in validate.py) ------------


def ident(name: str) -> str:
    """Return `name` quoted as a Spark SQL identifier."""
    return sqltext.ident(name, "spark")


def literal(value: object) -> str:
    """Return `value` as a Spark SQL literal."""
    return sqltext.literal(value, "spark")


def _matches(v: str, pattern: str) -> str:
    """SQL: the whole of `v` matches `pattern` (DuckDB's regexp_full_match)."""
    anchored = "^(?:" + pattern + r")\z"
    return f"({v} RLIKE {literal(anchored)})"


def _finite(v: str) -> str:
    """SQL: text `v` reads as a finite number. Spark's cast also reads Java's forms (`1d`,
    `0x1p3`), which DuckDB refuses: the text must be a plain number first."""
    x = f"try_cast({v} AS DOUBLE)"
    finite = f"NOT isnan({x}) AND abs({x}) <> CAST('Infinity' AS DOUBLE)"
    return f"coalesce({_matches(v, _PLAIN_NUMBER)} AND {finite}, FALSE)"


def _bigint(v: str, try_: bool) -> str:
    """SQL: a whole number's text as BIGINT; Spark refuses to cast `3.0`, so `.000` goes first."""
    point_zeros = r"\.0*$"
    cast = "try_cast" if try_ else "CAST"
    return f"{cast}(regexp_replace({v}, {literal(point_zeros)}, '') AS BIGINT)"


# The folder data set's rules (validate.py), written as Spark SQL.
SPARK = Dialect(
    name="spark",
    types=SPARK_TYPES,
    full_match=_matches,
    search=lambda v, pattern: f"({v} RLIKE {literal(pattern)})",
    group=lambda i: f"${i}",
    finite=_finite,
    bigint=_bigint,
    add_days=lambda date, days: f"date_add({date}, {days})",
)


def clean_text(expr: str) -> str:
    """Return SQL turning a cell into its trimmed text, NULL when empty."""
    return f"nullif(trim(BOTH {literal(_BLANKS)} FROM CAST({expr} AS STRING)), '')"


def _with_default(expr: str, col: Column) -> str:
    if col.default is None:
        return expr
    return f"coalesce({expr}, CAST({literal(col.default)} AS {SPARK_TYPES[col.type]}))"


def absent_plan(col: Column) -> ColumnPlan:
    """Plan an optional contract column the data does not have: its default, or NULL."""
    return _shared_absent_plan(col, SPARK)


def text_plan(col: Column) -> ColumnPlan:
    """Plan a contract column held as cleaned text (NULL = empty), by the folder data set's
    rules (`validate.text_plan`): the same forms accepted, read the same way."""
    return _shared_text_plan(col, SPARK)


_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType)
_INTEGERS = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


def is_native(col: Column, stored: T.DataType) -> bool:
    """Tell whether a stored column type already is the family the contract column needs."""
    return {
        "string": isinstance(stored, T.StringType),
        "money": isinstance(stored, (*_NUMERIC, T.DecimalType)),
        "number": isinstance(stored, (*_NUMERIC, T.DecimalType)),
        "integer": isinstance(stored, _INTEGERS),
        "date": isinstance(stored, (T.DateType, T.TimestampType, T.TimestampNTZType)),
        "bool": isinstance(stored, T.BooleanType),
    }[col.type] and not (col.type == "string" and col.choices)


def native_plan(col: Column, stored: T.DataType) -> ColumnPlan:
    """Plan a contract column whose stored type already is the right family."""
    v = ident(col.name)
    checks: list[Check] = []
    if col.not_null:
        expected = EXPECTED[col.type]
        checks.append(Check(col.name, "value is missing", f"{v} IS NULL", expected))
        if isinstance(stored, T.StringType):
            blank = f"trim(BOTH {literal(_BLANKS)} FROM {v}) = ''"
            checks.append(Check(col.name, "value is missing", blank, expected))
    if col.type in ("money", "number") and isinstance(stored, (T.FloatType, T.DoubleType)):
        # NaN and ±inf are floats, not amounts or numbers: refused here (validate.native_plan)
        message = "not an amount" if col.type == "money" else "not a number"
        finite = f"{v} IS NOT NULL AND (isnan({v}) OR abs({v}) = CAST('Infinity' AS DOUBLE))"
        checks.append(Check(col.name, message, finite, EXPECTED[col.type]))
    target = SPARK_TYPES[col.type]
    same = stored.simpleString().upper().replace(",", ", ") == target
    select = v if same else f"CAST({v} AS {target})"
    return ColumnPlan(col.name, _with_default(select, col), checks)


def _probes(name: str) -> list[str]:
    return _shared_probes(name, SPARK)


class SparkDataSet(DataSet):
    """The contract tables of a folder (CSV, Parquet, XLSX) or of a Spark/Hive database, on Spark.

    A sources file (`sources.yaml` in the folder, or `sources`) maps tables onto other files,
    sheets or `[database.]table`s and the user's own column names, as for the other data sets.
    """

    def __init__(
        self,
        spec: str | os.PathLike,
        sources: Path | None = None,
        master: str | None = None,
    ) -> None:
        self.folder: Path | None = None
        self.database: str | None = None
        hive = False
        if is_spark_tables(spec):
            prefix, _, database = str(spec).partition(":")
            self.database = database.strip() or "default"
            hive = prefix.lower() == "hive"
            description = f"{prefix.lower()}:{self.database}"
        else:
            folder = Path(spec)
            if not folder.is_dir():
                what = "is not a folder" if folder.exists() else "does not exist"
                raise DataError(folder, f"the data folder {what}")
            self.folder = folder
            description = str(folder)
        self.session = spark_session(master, hive=hive)
        super().__init__(ibis.pyspark.connect(self.session), "pyspark", description)
        # temporary views are per session, which data sets of one process share
        self._prefix = f"pingji_{uuid.uuid4().hex[:10]}_"
        self._frames: dict[str, list[DataFrame]] = {}  # cached per table, released in _forget
        self.sources_file = sources
        if sources is None and self.folder is not None and (self.folder / SOURCES_FILE).is_file():
            self.sources_file = self.folder / SOURCES_FILE
        self.sources: dict[str, Source] = (
            read_sources(self.sources_file) if self.sources_file is not None else {}
        )
        for name, src in self.sources.items():
            if self.folder is not None and src.file is None:
                raise DataError(
                    self.sources_file,
                    f"{name}: `table` names a database table; a data folder reads files: "
                    "give `file`",
                )
            if self.folder is None and src.table is None:
                raise DataError(
                    self.sources_file,
                    f"{name}: `file` names a file; Spark tables are read by name: "
                    "give `table` ([database.]table)",
                )
            if src.file is not None and Path(src.file).suffix.lower() not in SUFFIXES:
                raise DataError(
                    self.sources_file,
                    f"{name}: cannot read '{src.file}'",
                    expected="a .csv, .xlsx or .parquet file",
                )
        self._stored: set[str] = set()
        if self.database is not None:
            try:
                found = self.session.catalog.listTables(self.database)
            except Exception as exc:  # the catalog's "database not found"
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise DataError(self.description, f"cannot list the tables: {first}") from exc
            self._stored = {t.name.lower() for t in found}
        self.files: dict[str, Path] = {}
        # The tables whose CSV file is not UTF-8, and its encoding (as FolderDataSet.encodings)
        self.encodings: dict[str, str] = {}
        self._contract_changed()

    # -- where the tables are ------------------------------------------------------------

    def _contract_changed(self) -> None:
        if self.folder is not None:
            found = find_files(self.folder, [n for n in self.contract if n not in self.sources])
            for name, src in self.sources.items():
                path = Path(src.file or "")
                found[name] = path if path.is_absolute() else self.folder / path
            self.files = found

    def _forget(self, name: str) -> None:
        self.session.catalog.dropTempView(self._prefix + name)
        for frame in self._frames.pop(name, []):
            frame.unpersist()

    def _located(self, name: str) -> str:
        """Return the `database.table` holding table `name` (database data sets)."""
        src = self.sources.get(name)
        table = src.table if src is not None and src.table else name
        return table if "." in table else f"{self.database}.{table}"

    def has(self, name: str) -> bool:
        """Tell whether the data set holds table `name`."""
        if self.folder is not None:
            return name in self.files
        return name in self.sources or name in self._stored

    def source(self, name: str) -> str:
        """Return what error messages call table `name`: its file, or its table."""
        if self.folder is None:
            return f"{self.description} table {self._located(name)}"
        path = self.files.get(name)
        if name in self.sources and path is not None:
            return str(path)
        return str(self.folder / path.name) if path else str(self.folder / f"{name}.csv")

    def _wanted(self, name: str) -> str:
        if self.folder is None:
            return f"a table {name} in database {self.database}"
        return f"{name}.csv/.parquet/.xlsx"

    def _renames(self, name: str) -> dict[str, str] | None:
        src = self.sources.get(name)
        return src.renames if src else None

    # -- loading -------------------------------------------------------------------------
    #
    # Every table is staged as cleaned (or natively typed) columns with contract names and
    # `__rid`, the record's position (what an error reports is derived from it), then checked
    # in one aggregate query and typed by a projection. A file parsed by Spark is cached once,
    # parsed: the plan reads a table several times. Parquet files and tables stay where
    # they are.

    def _load(self, name: str, spec: TableSpec) -> str:
        src = self.sources.get(name)
        try:
            if self.folder is None:
                typed = self._load_table(name, spec)
            else:
                path, file = self.files[name], self.source(name)
                if src is not None and not path.exists():
                    raise DataError(
                        self.sources_file,
                        f"{name}: the file '{src.file}' does not exist in {self.folder}",
                    )
                load = {
                    ".csv": self._load_csv,
                    ".xlsx": self._load_xlsx,
                    ".parquet": self._load_parquet,
                }
                typed = load[path.suffix.lower()](name, spec, path, file)
        except DataError as exc:
            if src is None or exc.column not in src.columns:
                raise
            # the user's own column name, as their data has it
            raise DataError(
                exc.file, exc.message, exc.row, src.shown(exc.column), exc.value, exc.expected
            ) from exc
        view = self._prefix + name
        typed.createOrReplaceTempView(view)
        return view

    def _relation_of(self, name: str) -> str:
        """Name the Ibis expression of table `name` as a temporary view of the session."""
        view = self._prefix + name
        self.session.sql(str(self.con.compile(self.table(name)))).createOrReplaceTempView(view)
        return view

    def _sql(self, query: str) -> list[Any]:
        return self.session.sql(query).collect()

    def execute(self, sql: str) -> None:
        """Run one statement that returns nothing."""
        self.session.sql(sql).collect()

    def fetch(self, sql: str) -> list[dict]:
        """Return the rows of a (small) query as dicts."""
        return [row.asDict() for row in self.session.sql(sql).collect()]

    def fetch_arrow(self, sql: str):
        """Return the rows of a query as Arrow (Spark's own export: no pandas on the way,
        decimals stay decimals, NULL floats stay NULL)."""
        return self.session.sql(sql).toArrow()

    def result_into(self, duck: duckdb.DuckDBPyConnection, sql: str) -> str:
        """Have Spark write the rows of a query as Parquet files into a temporary folder and
        make them a view of `duck`; return the view's name.

        Each task writes its own partition: the result never gathers on the driver (a
        10,000,000-row result collected as Arrow did not fit in a 6 GB driver). The folder is
        made under the folder DuckDB spills under (`--temp-dir`, else the system's temporary
        folder) and goes with `duck` (`remove_with`), or at once when the write fails. The
        view keeps no row order: every reader of a result orders by entity_id. On a cluster
        the executors would write on disks of their own: there the rows still come as Arrow."""
        if not self.session.sparkContext.master.startswith("local"):
            return super().result_into(duck, sql)
        frame = self.session.sql(sql)
        fields = frame.schema.fields
        folder = Path(tempfile.mkdtemp(prefix="pingji-spark-result-", dir=limits.temp_base()))
        remover = remove_with(duck, folder)
        # positional names: Spark's Parquet writer refuses some characters in a name; it cannot
        # write a NULL-typed (void) column either: the view gives it as DuckDB reads Arrow's
        # null type (INTEGER)
        kept = [f"_c{i}" for i, f in enumerate(fields) if not isinstance(f.dataType, T.NullType)]
        frame = frame.toDF(*[f"_c{i}" for i in range(len(fields))]).select(*kept)
        key = "spark.sql.parquet.outputTimestampType"
        before = self.session.conf.get(key, None)
        try:
            # Spark's default (INT96) is a legacy encoding: microseconds as DuckDB reads them
            self.session.conf.set(key, "TIMESTAMP_MICROS")
            frame.write.parquet(str(folder / "rows"))
        except BaseException:
            remover()
            raise
        finally:
            if before is None:
                self.session.conf.unset(key)
            else:
                self.session.conf.set(key, before)
        files = sqltext.literal(str(folder / "rows" / "*.parquet"))
        columns = [
            f"CAST(NULL AS INTEGER) AS {sqltext.ident(f.name)}"
            if isinstance(f.dataType, T.NullType)
            else f"_c{i} AS {sqltext.ident(f.name)}"
            for i, f in enumerate(fields)
        ]
        view = f"pingji_result_{uuid.uuid4().hex[:12]}"
        duck.execute(
            f"CREATE TEMP VIEW {view} AS SELECT {', '.join(columns)} FROM read_parquet({files})"
        )
        return view

    def create_step(self, name: str, sql: str) -> None:
        """Compute a query once (cached) and name it as a temporary view of the session."""
        self.session.sql(sql).cache().createOrReplaceTempView(name)

    def _checked(
        self,
        name: str,
        spec: TableSpec,
        staged: DataFrame,
        stage: Stage,
        plans: list[ColumnPlan],
        text_extras: Sequence[str] = (),
    ) -> DataFrame:
        """Check the staged columns in one scan (and the keys of an entity table in a second);
        raise DataError for the earliest bad record; return them typed per the contract."""
        view = f"{self._prefix}{name}__staged"
        normals = [f"{p.normal} AS {ident(normal_name(p.name))}" for p in plans if p.normal]
        if normals:  # the normal text of number, amount and date cells (validate.normalised)
            staged = staged.selectExpr("*", *normals)
        staged.createOrReplaceTempView(view)
        relation, rid = ident(view), "__rid"
        try:
            checks = [c for p in plans for c in p.checks]
            # keys seen twice, counted in the same scan: the query naming the first repeat
            # runs only when there is one
            twice = f"count({ident(spec.key)}) - count(DISTINCT {ident(spec.key)})"
            aggregates = ["count(*)", twice if spec.unique_key else "0", *stage.aggregates]
            aggregates += [f"min({rid}) FILTER (WHERE {c.predicate})" for c in checks]
            for extra in text_extras:
                aggregates += _probes(extra)
            found = self._sql(f"SELECT {', '.join(aggregates)} FROM {relation}")[0]
            rows, repeated, found = found[0], found[1], found[2:]
            stage.rows = rows
            stage.first_problem(found[: len(stage.aggregates)], relation)
            found = found[len(stage.aggregates) :]
            bad = [(r, i) for i, r in enumerate(found[: len(checks)]) if r is not None]
            if bad:
                first, i = min(bad)
                check = checks[i]
                key = f"CAST({ident(spec.key)} AS STRING)" if spec.key in staged.columns else "NULL"
                value = self._sql(
                    f"SELECT {ident(check.column)}, {key} FROM {relation} WHERE {rid} = {int(first)}"
                )
                where = stage.file
                if stage.row(first) is None and value and value[0][1] is not None:
                    # a table's record has no line number: name it by its key
                    where = f"{where} ({spec.key} = {value[0][1]!r})"
                raise DataError(
                    where,
                    msg(check.message),
                    row=stage.row(first),
                    column=check.column,
                    value=value[0][0] if value else None,
                    expected=expected_message(check.expected),
                )
            probes = found[len(checks) :]
            plans = plans + [
                _extra_plan(n, probes[5 * i : 5 * i + 5], SPARK) for i, n in enumerate(text_extras)
            ]
            if repeated:
                self._check_unique(relation, spec, stage)
            typed = staged.selectExpr(*[f"{p.select} AS {ident(p.name)}" for p in plans], rid)
            return stage.numbered(typed)
        finally:
            self.session.catalog.dropTempView(view)

    def _check_unique(self, relation: str, spec: TableSpec, stage: Stage) -> None:
        """Raise DataError at the second record holding a key already seen (entity tables)."""
        key = ident(spec.key)
        found = self._sql(
            f"SELECT __rid, k, first FROM (SELECT __rid, {key} AS k, "
            f"min(__rid) OVER (PARTITION BY {key}) AS first FROM {relation} "
            f"WHERE {key} IS NOT NULL) WHERE __rid > first ORDER BY __rid LIMIT 1"
        )
        if found:
            rid, key_value, first = found[0]
            at = stage.row(first)
            raise DataError(
                stage.file,
                f"duplicate key, first on {stage.unit} {at}" if at else "duplicate key",
                row=stage.row(rid),
                column=spec.key,
                value=key_value,
                expected=f"each {spec.key} once",
            )

    def _text_plans(self, spec: TableSpec, names: Sequence[str]) -> list[ColumnPlan]:
        return [text_plan(c) if c.name in names else absent_plan(c) for c in spec.columns]

    def _cache(self, name: str, frame: DataFrame) -> DataFrame:
        frame = frame.persist()
        self._frames.setdefault(name, []).append(frame)
        return frame

    # -- CSV: parsed by Spark, one task per file so records keep their order ---------------

    def _load_csv(self, name: str, spec: TableSpec, path: Path, file: str) -> DataFrame:
        # GBK/GB18030 (Excel on Chinese Windows) and UTF-16 files: found as the folder data
        # set finds them, then decoded by Spark's reader itself
        encoding = csv_encoding(path, file)
        if encoding is not None:
            self.encodings[name] = encoding
        header = read_csv_header(path, file, encoding)
        if not header or not any(cell.strip() for cell in header):
            raise DataError(file, "line 1 is empty: a header row is required", row=1)
        names = resolve_header(spec, header, file, header_row=1, renames=self._renames(name))
        fields = [T.StructField(f"_c{i}", T.StringType()) for i in range(len(names))]
        fields.append(T.StructField("__corrupt", T.StringType()))
        # Positional columns (the header was read above); multiLine: quoted line breaks, and
        # the file is one partition in file order, so the row id counts records from 0.
        raw = (
            self.session.read.schema(T.StructType(fields))
            .options(
                header=True,
                multiLine=True,
                sep=",",
                quote='"',
                escape='"',
                encoding=encoding or "UTF-8",
                mode="PERMISSIVE",
                columnNameOfCorruptRecord="__corrupt",
            )
            .csv(str(path))
        )
        cleaned = [f"{clean_text(f'_c{i}')} AS {ident(n)}" for i, n in enumerate(names)]
        parsed = raw.selectExpr(*cleaned, "__corrupt", "monotonically_increasing_id() AS __rid")
        staged = self._cache(name, parsed)
        stage = CsvStage(self, path, file, names, len(header), encoding)
        try:
            plans = self._text_plans(spec, names)
            extras = [n for n in names if spec.column(n) is None]
            return self._checked(name, spec, staged, stage, plans, extras)
        except BaseException:
            self._forget(name)
            raise

    # -- XLSX: the cells as text (openpyxl), checked and typed by Spark ---------------------

    def _load_xlsx(self, name: str, spec: TableSpec, path: Path, file: str) -> DataFrame:
        src = self.sources.get(name)
        names, cells = read_xlsx_table(
            spec, path, file, src.sheet if src else None, self._renames(name)
        )
        # only text and whole row numbers cross into Spark through Arrow: no float, no NaN
        positional = [f"_c{i}" for i in range(len(names))]
        frame = self.session.createDataFrame(cells.rename_columns([*positional, "__rid"]))
        cleaned = [f"{clean_text(c)} AS {ident(n)}" for c, n in zip(positional, names, strict=True)]
        staged = self._cache(name, frame.selectExpr(*cleaned, "__rid"))
        try:
            plans = self._text_plans(spec, names)
            extras = [n for n in names if spec.column(n) is None]
            return self._checked(name, spec, staged, Stage(file, "row", 0), plans, extras)
        except BaseException:
            self._forget(name)
            raise

    # -- Parquet and tables: typed in place ------------------------------------------------

    def _native(
        self, spec: TableSpec, stored: T.StructType, names: Sequence[str]
    ) -> tuple[list[str], list[ColumnPlan]]:
        """Return the selects giving contract names (cleaned text where the stored type is
        not the contract's family) from positional columns, and the plans that check and
        type them."""
        selects, plans_by_name = [], {}
        for i, (field, name) in enumerate(zip(stored.fields, names, strict=True)):
            col, source = spec.column(name), f"_c{i}"
            if col is None:
                selects.append(f"{source} AS {ident(name)}")
                plans_by_name[name] = ColumnPlan(name, ident(name))
            elif is_native(col, field.dataType):
                selects.append(f"{source} AS {ident(name)}")
                plans_by_name[name] = native_plan(col, field.dataType)
            else:
                selects.append(f"{clean_text(source)} AS {ident(name)}")
                plans_by_name[name] = text_plan(col)
        plans = [plans_by_name.get(c.name) or absent_plan(c) for c in spec.columns]
        plans += [p for n, p in plans_by_name.items() if spec.column(n) is None]
        return selects, plans

    def _load_parquet(self, name: str, spec: TableSpec, path: Path, file: str) -> DataFrame:
        try:
            frame = self.session.read.parquet(str(path))
            stored = frame.schema
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(file, f"cannot read the Parquet file: {first}") from exc
        names = resolve_header(
            spec,
            [f.name for f in stored.fields],
            file,
            header_row=None,
            renames=self._renames(name),
        )
        selects, plans = self._native(spec, stored, names)
        # positional names: a stored name may hold dots or backquotes
        positional = frame.selectExpr("*", "_metadata.row_index").toDF(
            *[f"_c{i}" for i in range(len(names))], "row_index"
        )
        staged = positional.selectExpr(*selects, "row_index AS __rid")
        return self._checked(name, spec, staged, Stage(file, "row", 1), plans)

    def _load_table(self, name: str, spec: TableSpec) -> DataFrame:
        table, file = self._located(name), self.source(name)
        try:
            frame = self.session.table(table)
            stored = frame.schema
        except Exception as exc:  # the catalog's "table not found" and its kin
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(file, f"cannot read the table: {first}") from exc
        renames = self._renames(name) or {}
        names = [renames.get(f.name, f.name) for f in stored.fields]
        missing = [c.name for c in spec.required if c.name not in names]
        if missing:
            src = self.sources.get(name)
            shown = src.shown if src is not None else (lambda c: c)
            raise DataError(
                file,
                "required column is missing",
                column=shown(missing[0]),
                expected="columns " + ", ".join(shown(c.name) for c in spec.required),
            )
        selects, plans = self._native(spec, stored, names)
        positional = frame.toDF(*[f"_c{i}" for i in range(len(names))])
        # a table's records have no position to report: __rid only picks the one to show
        staged = positional.selectExpr(*selects, "monotonically_increasing_id() AS __rid")
        return self._checked(name, spec, staged, Stage(file, "row", None), plans)


class Stage:
    """How a staged table's records are numbered: what an error reports for record `__rid`,
    and the typed table's row column."""

    def __init__(self, file: str, unit: str, offset: int | None) -> None:
        self.file, self.unit, self.offset = file, unit, offset
        self.rows = 0
        self.aggregates: list[str] = []  # checks of the file itself, before its values'

    def row(self, rid: int) -> int | None:
        """Return the line or row number that messages give for record `rid` (None: none)."""
        return None if self.offset is None else int(rid) + self.offset

    def first_problem(self, found: Sequence[Any], relation: str) -> None:
        """Raise DataError for what `aggregates` found (nothing here)."""

    def numbered(self, typed: DataFrame) -> DataFrame:
        """Return the typed table with the row column (none for a table)."""
        if self.offset is None:
            return typed.drop("__rid")
        return typed.selectExpr("*", f"__rid + {self.offset} AS {ident(ROW_COLUMN)}").drop("__rid")


class CsvStage(Stage):
    """Records of a CSV file: line numbers (through a map when blank lines or quoted line
    breaks put records on other lines than their position says), and two checks of the file
    itself: the number of fields of each record, and its encoding."""

    def __init__(
        self, ds: SparkDataSet, path: Path, file: str, names, fields: int, encoding: str | None
    ) -> None:
        super().__init__(file, "line", 2)
        self.ds, self.path, self.fields, self.encoding = ds, path, fields, encoding
        self._lines = None
        bad_utf8 = " OR ".join(f"instr({ident(n)}, '\ufffd') > 0" for n in names) or "FALSE"
        self.aggregates = [
            "min(__rid) FILTER (WHERE __corrupt IS NOT NULL)",
            f"min(__rid) FILTER (WHERE {bad_utf8})",
        ]

    def _mapped(self) -> bool:
        if self._lines is None:
            # lines are counted in UTF-8 (a UTF-16 character may hold a newline byte)
            text = utf8_file(self.path, self.file) if self.encoding else None
            path = text.path if text else self.path
            try:
                self._lines = None if count_lines(path) == self.rows + 1 else _line_map(path)
            finally:
                if text:
                    text.remove()
            self._lines = self._lines if self._lines is not None else False
        return self._lines is not False

    def row(self, rid: int) -> int | None:
        if not self._mapped():
            return super().row(rid)
        import pyarrow.compute as pc

        lines = self._lines
        return int(lines.filter(pc.equal(lines["__rid"], int(rid)))["line"][0].as_py())

    def first_problem(self, found: Sequence[Any], relation: str) -> None:
        corrupt, bad_text = found
        if bad_text is not None and (corrupt is None or bad_text < corrupt):
            raise DataError(
                self.file,
                msg(
                    NOT_TEXT
                    if self.encoding
                    else "the file is not UTF-8 text: save it as CSV UTF-8"
                ),
                row=self.row(bad_text),
            )
        if corrupt is not None:
            record = self.ds._sql(f"SELECT __corrupt FROM {relation} WHERE __rid = {corrupt}")
            cells = next(csv.reader(io.StringIO(record[0][0], newline="")), [])
            raise DataError(
                self.file,
                f"expected {self.fields} fields like the header, found {len(cells)}",
                row=self.row(corrupt),
            )

    def numbered(self, typed: DataFrame) -> DataFrame:
        if not self._mapped():
            return super().numbered(typed)
        lines = self.ds.session.createDataFrame(self._lines)  # whole numbers only
        return typed.join(lines, "__rid").withColumnRenamed("line", ROW_COLUMN).drop("__rid")


def _line_map(path: Path):
    """Return (record number from 0, line it starts on) for a CSV file, as Arrow.

    A line starts a record unless it is blank or an odd number of quotes came before it (then
    it continues a quoted cell): set-based over the lines, in an embedded DuckDB; only whole
    numbers cross into Spark. The same rule as the folder data set's."""
    import duckdb

    db = duckdb.connect()
    try:
        return db.execute(
            """
            WITH text AS (SELECT string_split(content, chr(10)) AS l FROM read_text(?)),
            line AS (SELECT i + 1 AS n, l[i + 1] AS s FROM text, range(len(l)) AS r(i)),
            state AS (
                SELECT n, s, coalesce(sum(length(s) - length(replace(s, '"', ''))) OVER (
                    ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2 AS quoted
                FROM line)
            SELECT CAST(row_number() OVER (ORDER BY n) - 2 AS BIGINT) AS __rid,
                   CAST(n AS BIGINT) AS line
            FROM state WHERE quoted = 0 AND rtrim(s, chr(13)) <> ''
            QUALIFY __rid >= 0
            """,
            [str(path)],
        ).to_arrow_table()
    finally:
        db.close()
