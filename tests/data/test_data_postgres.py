"""PostgreSQL data sets: a folder loaded into a schema reads back exactly as from the folder."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from pingji.data import load_into_postgres, open_dataset
from pingji.data.contract import ROW_COLUMN
from pingji.data.postgres import split_url
from pingji.errors import DataError

pytestmark = pytest.mark.postgres


def test_split_url_keeps_the_password_out_of_messages():
    assert split_url("postgresql://me:secret@db.example:5433/erp?schema=s1&sslmode=require") == (
        "postgresql://me:secret@db.example:5433/erp?sslmode=require",
        "s1",
        "postgresql://me@db.example:5433/erp?schema=s1&sslmode=require",
    )
    assert split_url("postgresql://db/erp")[1] == "public"


@pytest.fixture
def sample(folder, write_csv, write_xlsx, write_parquet):
    """Return a folder with one table of each file kind, extra columns included."""
    write_csv(
        "customers.csv",
        "customer_id,name,vip_designated,opening_balance,credit_days,since\n"
        '00123,"甲, 公司",是,,30,2020-01-01\nC2,,0,12.3456,,\n',
    )
    write_parquet(
        "sales.parquet",
        pa.table(
            {
                "customer_id": ["00123", "00123", "C2"],
                "date": [dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 2, 1)],
                "amount": pa.array(
                    [Decimal("0.1"), Decimal("0.2"), Decimal("99.9999")], pa.decimal128(18, 4)
                ),
                "batch_id": ["B1", None, ""],
                "weight": [1.5, None, 2.25],
            }
        ),
    )
    write_xlsx(
        "ratings.xlsx",
        [
            ["entity_id", "period", "indicator", "score", "rater"],
            ["00123", "2025", "manager_rating", 80, "王"],
            ["C2", "2025", "manager_rating", 92.5, None],
        ],
    )
    return folder


def contents(ds, name: str) -> list[dict]:
    return ds.table(name).order_by(ROW_COLUMN).to_pyarrow().to_pylist()


def test_a_folder_round_trips_through_postgres(sample, pg_schema):
    server, schema = pg_schema
    load_into_postgres(sample, server, schema)
    folder_ds = open_dataset(sample)
    pg = open_dataset(f"{server}?schema={schema}")
    assert pg.backend == "postgres"
    assert pg.names() == folder_ds.names() == ["customers", "sales", "ratings"]
    assert pg.source("sales") == f"{server}?schema={schema} table sales"
    for name in folder_ds.names():
        assert pg.table(name).schema() == folder_ds.table(name).schema(), name
        assert contents(pg, name) == contents(folder_ds, name), name
    assert pg.table("sales").amount.sum().to_pyarrow().as_py() == Decimal("100.2999")
    assert contents(pg, "customers")[0]["customer_id"] == "00123"
    assert contents(pg, "sales")[2]["batch_id"] == ""  # empty text stays empty, not NULL


def test_a_reload_replaces_the_tables(sample, pg_schema):
    server, schema = pg_schema
    load_into_postgres(sample, server, schema)
    (sample / "ratings.xlsx").unlink()
    (sample / "customers.csv").write_text("customer_id\nC9\n")
    load_into_postgres(sample, server, schema)
    pg = open_dataset(f"{server}?schema={schema}")
    assert pg.names() == ["customers", "sales"]
    assert [r["customer_id"] for r in contents(pg, "customers")] == ["C9"]


def test_bad_data_writes_nothing(folder, write_csv, pg_schema):
    server, schema = pg_schema
    write_csv("staff.csv", "staff_id\nS1\n")
    write_csv("sales.csv", "customer_id,date,amount\nC1,2025-13-01,1\n")
    with pytest.raises(DataError, match=r"sales\.csv:2: column 'date': not a valid date"):
        load_into_postgres(folder, server, schema)
    with psycopg.connect(server) as con:
        found = con.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [schema]
        ).fetchone()
    assert found == (0,)


def test_tables_created_elsewhere_are_cast_to_the_contract(pg_schema):
    server, schema = pg_schema
    with psycopg.connect(server) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
        con.execute(
            f'CREATE TABLE "{schema}".customers (customer_id integer, opening_balance numeric, '
            "net_assets double precision, region text)"
        )
        con.execute(f"INSERT INTO \"{schema}\".customers VALUES (1, NULL, 2.5, 'east')")
        con.execute(f'CREATE TABLE "{schema}".payments (customer_id text, amount numeric)')
    pg = open_dataset(f"{server}?schema={schema}")
    (customer,) = pg.table("customers").to_pyarrow().to_pylist()
    assert customer["customer_id"] == "1"
    assert customer["opening_balance"] == Decimal(0)
    assert customer["net_assets"] == Decimal("2.5")
    assert customer["vip_designated"] is False
    assert str(pg.table("customers").schema()["opening_balance"]) == "decimal(18, 4)"
    with pytest.raises(DataError) as err:
        pg.table("payments")
    assert str(err.value).startswith(
        f"{server}?schema={schema} table payments: column 'date': required column is missing"
    )
    with pytest.raises(DataError) as err:
        pg.require("sales", ["customer_id"], "scheme customer-composite")
    assert str(err.value) == (
        f"{server}?schema={schema}: table 'sales' is missing: scheme customer-composite "
        f"needs a table sales in schema {schema} with columns customer_id"
    )


AMOUNT = "expected an amount such as 1234.56 (at most 4 decimals)"


def _tables(server: str, schema: str, *statements: str) -> None:
    with psycopg.connect(server) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
        for statement in statements:
            con.execute(statement.replace("{s}", f'"{schema}"'))


def test_nan_and_infinity_in_a_money_column_are_refused_naming_the_key(pg_schema):
    server, schema = pg_schema
    _tables(
        server,
        schema,
        "CREATE TABLE {s}.payments (customer_id text, date date, amount numeric)",
        "INSERT INTO {s}.payments VALUES ('C1', '2025-01-05', 10), ('C3', '2025-01-06', 'NaN'),"
        " ('C2', '2025-01-07', '-Infinity'), ('C2', '2025-01-08', 5.5)",
    )
    pg = open_dataset(f"{server}?schema={schema}")
    with pytest.raises(DataError) as err:
        pg.table("payments")
    # the smallest key holding one: C2's -Infinity comes before C3's NaN
    assert str(err.value) == (
        f"{server}?schema={schema} table payments (customer_id = 'C2'): column 'amount': "
        f"not an amount (got '-Infinity', {AMOUNT})"
    )


def test_nan_in_a_number_column_and_infinity_as_text_are_refused(pg_schema):
    server, schema = pg_schema
    _tables(
        server,
        schema,
        "CREATE TABLE {s}.ratings (entity_id text, period text, indicator text,"
        " score double precision)",
        "INSERT INTO {s}.ratings VALUES ('C1', '2025', 'manager_rating', 80),"
        " ('C2', '2025', 'manager_rating', 'NaN')",
        "CREATE TABLE {s}.customers (customer_id integer, opening_balance numeric,"
        " net_assets text)",
        "INSERT INTO {s}.customers VALUES (7, 1, '1200.50'), (8, 2.5, ' inf '), (9, 'NaN', '3')",
    )
    pg = open_dataset(f"{server}?schema={schema}")
    with pytest.raises(DataError) as err:
        pg.table("ratings")
    assert str(err.value) == (
        f"{server}?schema={schema} table ratings (entity_id = 'C2'): column 'score': "
        "not a number (got 'NaN', expected a number)"
    )
    with pytest.raises(DataError) as err:
        pg.table("customers")
    # the first customer with one (8, not 9), and of its columns the one that holds it
    assert str(err.value) == (
        f"{server}?schema={schema} table customers (customer_id = '8'): column 'net_assets': "
        f"not an amount (got ' inf ', {AMOUNT})"
    )


def test_a_loaded_table_names_the_row_and_a_mapped_table_the_users_names(
    folder, write_csv, pg_schema, tmp_path
):
    server, schema = pg_schema
    write_csv("sales.csv", "customer_id,date,amount\nC1,2025-01-01,1\nC2,2025-01-02,2\n")
    load_into_postgres(folder, server, schema)
    with psycopg.connect(server) as con:  # numeric(18, 4) holds NaN (not the infinities)
        con.execute(f"UPDATE \"{schema}\".sales SET amount = 'NaN' WHERE customer_id = 'C2'")
        con.execute(f'CREATE TABLE "{schema}".ar (cust_no text, paid_on date, amt float8)')
        con.execute(f"INSERT INTO \"{schema}\".ar VALUES ('K9', '2025-02-01', 'Infinity')")
    with pytest.raises(DataError) as err:
        open_dataset(f"{server}?schema={schema}").table("sales")
    assert str(err.value) == (
        f"{server}?schema={schema} table sales:3: column 'amount': "
        f"not an amount (got 'NaN', {AMOUNT})"
    )
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"payments:\n  table: {schema}.ar\n"
        "  columns: {customer_id: cust_no, date: paid_on, amount: amt}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        open_dataset(f"{server}?schema={schema}", sources=sources).table("payments")
    assert str(err.value) == (
        f"{server}?schema={schema} table {schema}.ar (cust_no = 'K9'): column 'amt': "
        f"not an amount (got 'Infinity', {AMOUNT})"
    )


def test_finite_values_pass_and_keep_their_value(pg_schema):
    server, schema = pg_schema
    _tables(
        server,
        schema,
        "CREATE TABLE {s}.payments (customer_id text, date date, amount double precision)",
        "INSERT INTO {s}.payments VALUES ('C1', '2025-01-05', 1e10), ('C2', '2025-01-06', -0.5),"
        " ('C3', '2025-01-07', NULL)",
    )
    pg = open_dataset(f"{server}?schema={schema}")
    amounts = pg.table("payments").order_by("customer_id").amount.to_pyarrow().to_pylist()
    assert amounts == [Decimal("10000000000"), Decimal("-0.5"), None]
