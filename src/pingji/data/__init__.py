"""Data sets: folders of CSV/Parquet/XLSX files or PostgreSQL schemas, typed per the contract."""

from pingji.data.dataset import DataSet, open_dataset


def load_into_postgres(folder, url: str, schema: str, tables=None) -> None:
    """Validate a folder data set and copy it into PostgreSQL tables in `schema` (with the
    tables a scheme declares, given as `tables`: its `ResolvedScheme.tables`)."""
    from pingji.extras import require

    require("postgres", "loading into PostgreSQL")
    from pingji.data.postgres import load_into_postgres as load  # psycopg only when needed

    load(folder, url, schema, tables)


__all__ = ["DataSet", "load_into_postgres", "open_dataset"]
