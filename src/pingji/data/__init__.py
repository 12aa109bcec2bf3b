"""Data sets: folders of CSV/Parquet/XLSX files or PostgreSQL schemas, typed per the contract."""

from pingji.data.dataset import DataSet, open_dataset


def load_into_postgres(folder, url: str, schema: str) -> None:
    """Validate a folder data set and copy it into PostgreSQL tables in `schema`."""
    from pingji.data.postgres import load_into_postgres as load  # psycopg only when needed

    load(folder, url, schema)


__all__ = ["DataSet", "load_into_postgres", "open_dataset"]
