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
