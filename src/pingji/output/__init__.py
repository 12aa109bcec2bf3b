"""Writing results: JSON lines, CSV, Excel and Parquet."""

from pingji.output.writers import FORMATS, column_labels, write

__all__ = ["FORMATS", "column_labels", "write"]
