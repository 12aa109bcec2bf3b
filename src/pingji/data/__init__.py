"""Data sets: folders of CSV/Parquet/XLSX files or PostgreSQL schemas, typed per the contract."""

from pingji.data.dataset import DataSet, open_dataset
from pingji.data.postgres import load_into_postgres

__all__ = ["DataSet", "load_into_postgres", "open_dataset"]
