"""Spark (local mode): every built-in gives DuckDB's results; files are checked and typed with
the folder data set's rules and messages; Parquet files and Spark tables read alike.

One Spark session serves the whole module (starting one costs tens of seconds); `make test`
runs this module once, in its own step, outside the xdist workers.
"""

from __future__ import annotations

import csv
import os
import shutil
import textwrap
import uuid
from pathlib import Path

import duckdb
import pytest
from tests.conftest import ON_CI, write_tables
from tests.engine.test_backends_agree import _same

from pingji import extras
from pingji.data import open_dataset
from pingji.engine import evaluate
from pingji.errors import BadInput, DataError
from pingji.templates import builtin_names, resolve_scheme
from pingji.templates.sample import SAMPLE_PERIODS, generate

MASTER = "local[2]"  # the machine's two cores; the session is shared by every test here


@pytest.fixture(scope="module")
def spark():
    """This process's Spark session (skips visibly without pyspark or Java; fails on CI)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # each worker would start a JVM of its own; `make test` runs them in a step of their own
        pytest.skip(
            "Spark tests run in one process, not in xdist workers: pytest -m spark -p no:xdist"
        )
    problem = None
    if extras.missing_modules("spark"):
        problem = "Spark tests need the spark extra: pip install -e '.[spark]'"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        problem = "Spark tests need Java 17 (apt-get install openjdk-17-jre-headless)"
    if problem:
        if ON_CI:
            pytest.fail(f"CI=true but {problem}: Spark tests must run on CI")
        pytest.skip(problem)
    from pingji.data.spark import spark_session

    return spark_session(MASTER)


def on_spark(spec, **kw):
    return open_dataset(spec, engine="spark", spark_master=MASTER, **kw)


def rows(ev) -> list[dict]:
    return ev.table.to_pylist()


def assert_same(on_duckdb: list[dict], on_spark: list[dict]) -> None:
    assert len(on_duckdb) == len(on_spark) > 0
    for d, s in zip(on_duckdb, on_spark, strict=True):
        assert d["entity_id"] == s["entity_id"]
        diff = {k: (d[k], s[k]) for k in d if not _same(d[k], s[k])}
        assert not diff, f"{d['entity_id']}: {diff}"


@pytest.mark.spark
@pytest.mark.parametrize("name", builtin_names())
def test_duckdb_and_spark_agree_on_the_sample_data(name, tmp_path, spark):
    folder = tmp_path / name
    generate(name, folder, entities=40, seed=11)
    rs = resolve_scheme(name)
    period = SAMPLE_PERIODS[name]
    on_duckdb = evaluate(rs, open_dataset(folder), period)
    on_spark_ = evaluate(rs, on_spark(folder), period)
    assert_same(rows(on_duckdb), rows(on_spark_))
    assert on_spark_.warnings == on_duckdb.warnings
    assert [c.ok for c in on_spark_.checks] == [c.ok for c in on_duckdb.checks]


def _as_parquet(folder: Path, out: Path) -> Path:
    """Copy a folder's CSV files as Parquet files with typed columns (DuckDB's sniffing)."""
    out.mkdir()
    db = duckdb.connect()
    for csv_file in folder.glob("*.csv"):
        db.execute(
            f"COPY (SELECT * FROM read_csv('{csv_file}')) TO '{out / csv_file.stem}.parquet'"
        )
    return out


@pytest.mark.spark
def test_parquet_files_and_spark_tables_give_the_csv_results(tmp_path, spark):
    name = "customer-composite"
    folder = tmp_path / "csv"
    generate(name, folder, entities=40, seed=3)
    rs = resolve_scheme(name)
    period = SAMPLE_PERIODS[name]
    expected = rows(evaluate(rs, open_dataset(folder), period))
    parquet = _as_parquet(folder, tmp_path / "parquet")
    assert_same(expected, rows(evaluate(rs, on_spark(parquet), period)))
    # the same files as tables of a database in the session's catalog (its warehouse)
    database = f"pingji_test_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database}")
    try:
        for path in parquet.glob("*.parquet"):
            spark.read.parquet(str(path)).write.saveAsTable(f"{database}.{path.stem}")
        assert_same(expected, rows(evaluate(rs, on_spark(f"spark:{database}"), period)))
    finally:
        spark.sql(f"DROP DATABASE {database} CASCADE")


@pytest.mark.spark
def test_the_command_line_evaluates_on_spark(tmp_path, spark, capsys):
    from tests.cli.test_cli import run

    name = "customer-tiering"
    folder = tmp_path / "data"
    generate(name, folder, entities=30, seed=5)
    period = SAMPLE_PERIODS[name]
    args = ["evaluate", name, "--data", str(folder), "--period", period, "-f", "csv"]
    code, on_duckdb, err = run(capsys, *args)
    assert code == 0, err
    code, out, err = run(capsys, *args, "--engine", "spark", "--spark-master", MASTER)
    assert code == 0, err
    assert out == on_duckdb
    code, out, err = run(
        capsys, "explain", *args[1:6], "--engine", "spark", "--spark-master", MASTER
    )
    assert code == 0, err
    assert "SQL (pyspark):" in out
    # another master than the running session's is refused, not silently ignored
    code, out, err = run(capsys, *args, "--engine", "spark", "--spark-master", "local[1]")
    assert code == 2
    assert "a Spark session on local[2] is already running in this process" in err


CUSTOMERS = """\
    customer_id,name,created_on,vip_designated,opening_balance,region,score
    C001,甲,2024-01-05,是,100.5,east,7
    C002,乙,2024-02-05,no,,west,12
"""
SALES = """\
    customer_id,date,amount
    C001,2025-01-05,100
    C002,2025-02-05,250.25
"""


def _error(open_, tables: dict[str, str], table: str) -> str:
    folder = write_tables(open_.folder / uuid.uuid4().hex[:8], tables)
    with pytest.raises(DataError) as caught:
        open_(folder).table(table)
    return str(caught.value).replace(str(folder), "<folder>")


# Each bad file, and the table whose loading finds it.
BAD_FILES = {
    "amount is not a number": ({"sales": SALES.replace("250.25", "12,5x")}, "sales"),
    "amount has five decimals": ({"sales": SALES.replace("250.25", "1.23456")}, "sales"),
    "amount too large": ({"sales": SALES.replace("250.25", "123456789012345")}, "sales"),
    "date is not a date": ({"sales": SALES.replace("2025-02-05", "2025-2-30")}, "sales"),
    "key is empty": ({"sales": SALES.replace("C002,2025", " \u3000,2025")}, "sales"),
    "duplicate key": ({"customers": CUSTOMERS.replace("C002", "C001")}, "customers"),
    "bool is not true/false": ({"customers": CUSTOMERS.replace(",no,", ",maybe,")}, "customers"),
    "a field too many": ({"sales": SALES.replace("250.25", "250.25,9")}, "sales"),
    "a field too few": ({"sales": SALES.replace(",250.25", "")}, "sales"),
    "key column missing": ({"sales": SALES.replace("customer_id,", "cust,")}, "sales"),
    "line after a blank line": (
        {"sales": SALES.replace("C002,", "\n\nC002,").replace("250.25", "x")},
        "sales",
    ),
    "line after a quoted line break": (
        {"customers": CUSTOMERS.replace(",甲,", ',"甲\n乙",').replace(",no,", ",maybe,")},
        "customers",
    ),
    "choice not allowed": (
        {"complaints": "entity_id,opened_at,severity\nC001,2025-01-01,MAJOR\nC2,2025-01-02,big\n"},
        "complaints",
    ),
    "count is not whole": (
        {"events": "entity_id,date,type,count\nC1,2025-01-01,a,3.0\nC2,2025-01-01,a,3.5\n"},
        "events",
    ),
    "score is not finite": (
        {"ratings": "entity_id,period,indicator,score\nC1,2025,a,1e3\nC1,2025,b,inf\n"},
        "ratings",
    ),
}


@pytest.mark.spark
@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_gets_the_folder_data_sets_error(case, tmp_path, spark):
    tables, table = BAD_FILES[case]
    tables = {n: textwrap.dedent(t) for n, t in tables.items()}

    def duck(folder):
        return open_dataset(folder)

    def spark_(folder):
        return on_spark(folder)

    duck.folder = spark_.folder = tmp_path
    expected = _error(duck, tables, table)
    assert _error(spark_, tables, table) == expected


def _as_xlsx(folder: Path) -> None:
    """Replace each CSV file of a folder by a workbook holding the same cells."""
    from openpyxl import Workbook

    for path in folder.glob("*.csv"):
        book = Workbook()
        with path.open(encoding="utf-8", newline="") as f:
            for record in csv.reader(f):
                book.active.append(record)
        book.save(path.with_suffix(".xlsx"))
        path.unlink()


@pytest.mark.spark
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_files_are_typed_as_on_duckdb(kind, tmp_path, spark):
    folder = write_tables(tmp_path / "data", {"customers": CUSTOMERS, "sales": SALES})
    if kind == "xlsx":
        _as_xlsx(folder)
    duck, spark_ = open_dataset(folder), on_spark(folder)
    for table in ("customers", "sales"):
        on_duckdb = duck.table(table).order_by("_row").to_pyarrow()
        on_spark_ = spark_.table(table).order_by("_row").to_pyarrow()
        assert on_spark_.column_names == on_duckdb.column_names
        assert on_spark_.schema.types == on_duckdb.schema.types, table
        assert on_spark_.to_pylist() == on_duckdb.to_pylist()


@pytest.mark.spark
def test_an_integer_overflow_is_bad_input_on_spark(tmp_path, spark):
    from tests.cli.test_cli import CUSTOMERS as TABLES
    from tests.cli.test_hostile_input import scheme

    folder = write_tables(tmp_path / "data", TABLES)
    rs = resolve_scheme(str(scheme(tmp_path, "orders * 10000000000 * 10000000000")))
    with pytest.raises(BadInput, match="beyond the range of whole numbers"):
        evaluate(rs, on_spark(folder), "2025")


def test_without_pyspark_the_spark_engine_names_the_extra(tmp_path, monkeypatch):
    folder = write_tables(tmp_path / "data", {"sales": SALES})
    monkeypatch.setattr(extras, "missing_modules", lambda extra: ["pyspark"])
    with pytest.raises(extras.MissingExtra) as caught:
        open_dataset(folder, engine="spark")
    assert str(caught.value) == (
        "--engine spark needs the Spark engine, which is the optional extra 'spark' "
        "(missing: pyspark): pip install 'pingji[spark]'"
    )
    with pytest.raises(extras.MissingExtra):
        open_dataset("hive:warehouse")


@pytest.mark.spark
def test_nan_and_infinity_in_parquet_and_tables_are_refused_as_on_duckdb(tmp_path, spark):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "parquet"
    folder.mkdir()
    days = [dt.date(2025, 1, d) for d in (5, 6, 7)]
    sales = {"customer_id": ["C1", "C2", "C3"], "date": days, "amount": [1.5, float("nan"), 2.0]}
    pq.write_table(pa.table(sales), folder / "sales.parquet")
    ratings = {"entity_id": ["C1", "C2"], "period": ["2025"] * 2, "indicator": ["a", "b"]}
    ratings["score"] = [80.0, float("-inf")]
    pq.write_table(pa.table(ratings), folder / "ratings.parquet")
    amount = "expected an amount such as 1234.56 (at most 4 decimals)"
    expected = {
        "sales": f"{folder}/sales.parquet:2: column 'amount': not an amount (got nan, {amount})",
        "ratings": f"{folder}/ratings.parquet:2: column 'score': not a number "
        "(got -inf, expected a number)",
    }
    for table, message in expected.items():
        for ds in (open_dataset(folder), on_spark(folder)):
            with pytest.raises(DataError) as caught:
                ds.table(table)
            assert str(caught.value) == message, ds
    # a table of the catalog has no row numbers: the record is named by its key
    database = f"pingji_test_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE DATABASE {database}")
    try:
        spark.read.parquet(str(folder / "sales.parquet")).write.saveAsTable(f"{database}.sales")
        with pytest.raises(DataError) as caught:
            on_spark(f"spark:{database}").table("sales")
        assert str(caught.value) == (
            f"spark:{database} table {database}.sales (customer_id = 'C2'): column 'amount': "
            f"not an amount (got nan, {amount})"
        )
    finally:
        spark.sql(f"DROP DATABASE {database} CASCADE")


@pytest.mark.spark
@pytest.mark.parametrize("name", ["customer-composite", "customer-rfm", "supplier-rating"])
def test_a_compiled_script_runs_in_spark_sql_with_duckdbs_results(name, tmp_path, spark):
    """`pingji compile --dialect spark` in Spark SQL over raw tables (every column text, as a
    CSV reader leaves it) gives what `pingji evaluate` gives on DuckDB."""
    from tests.engine.test_compile_export import statements

    from pingji.engine.export import OPTIONAL, export_script
    from pingji.periods import Period

    folder = tmp_path / "data"
    generate(name, folder, entities=30, seed=9)
    rs = resolve_scheme(name)
    period = Period.parse(SAMPLE_PERIODS[name], rs.scheme.period)
    want = evaluate(rs, open_dataset(folder), period).shaped("text").to_pylist()
    present = [n for n in OPTIONAL if (folder / f"{n}.csv").exists()]
    for path in folder.glob("*.csv"):
        raw = spark.read.option("header", True).option("inferSchema", False).csv(str(path))
        raw.createOrReplaceTempView(path.stem)
    *setup, last = statements(export_script(rs, period, "spark", present=present))
    for sql in setup:
        spark.sql(sql)
    got = [r.asDict() for r in spark.sql(last).collect()]
    assert [r["entity_id"] for r in got] == [r["entity_id"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for col in w:
            a, b = g[col], w[col]
            if isinstance(b, float) and a is not None:
                assert abs(float(a) - b) < 1e-9, (g["entity_id"], col, a, b)
            else:
                assert a == b, (g["entity_id"], col, a, b)


def _result_folders(base: Path) -> list[Path]:
    return sorted(base.glob("pingji-spark-result-*"))


@pytest.mark.spark
def test_the_result_is_written_as_parquet_and_removed_after_a_run_even_a_failing_one(
    tmp_path, spark, monkeypatch
):
    import gc

    from pingji.engine import run as engine_run

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setenv("PINGJI_TEMP_DIR", str(spill))
    name = "customer-tiering"
    folder = tmp_path / "data"
    generate(name, folder, entities=20, seed=7)
    rs = resolve_scheme(name)
    period = SAMPLE_PERIODS[name]
    ds = on_spark(folder)
    ev = evaluate(rs, ds, period)
    # the result is read from Parquet files under the temporary folder in force
    (written,) = _result_folders(spill)
    assert list((written / "rows").glob("*.parquet"))
    assert ev.rows == 20
    assert_same(rows(evaluate(rs, open_dataset(folder), period)), rows(ev))
    del ev
    gc.collect()
    assert _result_folders(spill) == []

    def fails(*args):
        raise RuntimeError("boom after the final query")

    monkeypatch.setattr(engine_run, "notices", fails)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(rs, ds, period)
    assert _result_folders(spill) == []  # at once, not when the traceback goes

    # a query that fails while Spark writes it
    con = duckdb.connect()
    with pytest.raises(Exception, match="no result here"):
        ds.result_into(
            con, "SELECT id, IF(id = 2, raise_error('no result here'), 'x') AS x FROM range(3)"
        )
    assert _result_folders(spill) == []


@pytest.mark.spark
def test_a_result_read_from_parquet_is_the_result_fetched_as_arrow(tmp_path, spark, monkeypatch):
    from pingji.data.dataset import DataSet, discard

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setenv("PINGJI_TEMP_DIR", str(spill))
    ds = on_spark(tmp_path / "spill")
    sql = """
        SELECT CAST(id AS STRING) AS entity_id,
               CAST(id * 1.25 AS DECIMAL(18, 4)) AS `money, (x) = {y};`,
               date_add(DATE'2026-01-30', CAST(id AS INT)) AS `on day`,
               TIMESTAMP'2026-01-02 03:04:05.123456' AS t,
               IF(id = 1, NULL, id / 3.0D) AS ratio,
               CAST(NULL AS DECIMAL(18, 4)) AS none,
               NULL AS void,
               id % 2 = 0 AS even
        FROM range(3)
    """
    via_parquet, via_arrow = duckdb.connect(), duckdb.connect()
    got = via_parquet.execute(f"SELECT * FROM {ds.result_into(via_parquet, sql)}")
    want = via_arrow.execute(f"SELECT * FROM {DataSet.result_into(ds, via_arrow, sql)}")
    got, want = got.to_arrow_table(), want.to_arrow_table()
    assert got.schema.names == want.schema.names
    assert got.schema.types == want.schema.types
    assert got.sort_by("entity_id").to_pylist() == want.sort_by("entity_id").to_pylist()
    assert got.column("none").null_count == 3 and got.column("ratio").null_count == 1
    assert str(got.schema.field("money, (x) = {y};").type) == "decimal128(18, 4)"
    assert len(_result_folders(spill)) == 1
    discard(via_parquet)
    assert _result_folders(spill) == []
