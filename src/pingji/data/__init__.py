"""Data sets: folders of CSV/Parquet/XLSX files or PostgreSQL schemas, typed per the contract.

The package's facade: `open_dataset` picks the kind of data set (folder, PostgreSQL, Spark),
which all build on dataset.DataSet."""

from __future__ import annotations

import os
from pathlib import Path

from pingji.data.dataset import POSTGRES_SCHEMES, DataSet
from pingji.errors import BadInput
from pingji.i18n import msg


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
    # Imported here: psycopg and pyspark only for their data, so a folder run does not pay
    # for them (and each kind of data set builds on dataset.DataSet).
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


def load_into_postgres(folder, url: str, schema: str, tables=None) -> None:
    """Validate a folder data set and copy it into PostgreSQL tables in `schema` (with the
    tables a scheme declares, given as `tables`: its `ResolvedScheme.tables`)."""
    from pingji.extras import require

    require("postgres", "loading into PostgreSQL")
    from pingji.data.postgres import load_into_postgres as load  # psycopg only when needed

    load(folder, url, schema, tables)


__all__ = ["DataSet", "load_into_postgres", "open_dataset"]
