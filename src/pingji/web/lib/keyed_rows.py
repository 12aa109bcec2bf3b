"""Rows of small Parquet files looked up by key in memory, read once per process.

A finished run's results and raw files, and an import batch's file, are written once and
never changed in place. A page that shows one entity (a scorecard, an entity profile) asked
DuckDB for that entity's row on every view, and DuckDB's cost grows with the columns: 3 to
12 ms for a wide file, more than the rest of the page. Here a file is read once into an
Arrow table with an index of its keys; a row is then a slice (well under a millisecond).

Kept per (path, inode, size, mtime), so a file written anew is read anew; bounded by the
cells kept (the least recently used files go first). Files too large to keep, or holding
types whose Python values Arrow and DuckDB give differently (time zones, maps, structs),
are not kept: `keyed` returns None and the caller asks DuckDB as before.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FILE_CELLS = 2_000_000  # rows × columns of the largest file kept
KEPT_CELLS = 6_000_000  # of all files kept


class KeyedFile:
    """One Parquet file in memory: its columns, and the row of each key (the first one)."""

    def __init__(self, table: pa.Table, key: str):
        self.table = table
        self.names: list[str] = table.column_names
        self.cells = table.num_rows * table.num_columns
        index: dict[str, int] = {}
        for i, value in enumerate(table.column(key).to_pylist()):
            if value is not None:
                index.setdefault(str(value), i)
        self.index = index

    def row(self, key: str, columns: Sequence[str] | None = None) -> dict | None:
        """Return the row of a key as {column: value} (a new dict), or None; with `columns`,
        only those the file has."""
        i = self.index.get(key)
        if i is None:
            return None
        if columns is None:
            return self.table.slice(i, 1).to_pylist()[0]
        return {c: self.table.column(c)[i].as_py() for c in columns if c in self.names}


_kept: OrderedDict[tuple, KeyedFile | None] = OrderedDict()
_kept_cells = 0
_lock = threading.Lock()


def _plain_type(t: pa.DataType) -> bool:
    """Whether Arrow gives a column's values as DuckDB's Python client does."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _plain_type(t.value_type)
    if pa.types.is_timestamp(t):
        return t.tz is None  # DuckDB gives aware times in its own zone, Arrow in the file's
    return (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date32(t)
    )


def _read(path: str, key: str) -> KeyedFile | None:
    meta = pq.ParquetFile(path).metadata
    if meta.num_rows * meta.num_columns > FILE_CELLS:
        return None
    schema = meta.schema.to_arrow_schema()
    if key not in schema.names or not all(_plain_type(f.type) for f in schema):
        return None
    key_type = schema.field(key).type
    if not (pa.types.is_string(key_type) or pa.types.is_integer(key_type)):
        return None  # CAST(key AS VARCHAR) of other types is DuckDB's own spelling
    return KeyedFile(pq.read_table(path), key)


def keyed(path: str | Path, key: str = "entity_id") -> KeyedFile | None:
    """Return a Parquet file read into memory and indexed by `key` (its values as text), or
    None when the file is missing, too large to keep or holds types kept out (see above)."""
    global _kept_cells
    path = str(path)
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (path, key, st.st_ino, st.st_size, st.st_mtime_ns)
    with _lock:
        if stamp in _kept:
            _kept.move_to_end(stamp)
            return _kept[stamp]
    found = _read(path, key)
    with _lock:
        if stamp not in _kept:
            _kept[stamp] = found
            _kept_cells += found.cells if found is not None else 0
            while _kept_cells > KEPT_CELLS or len(_kept) > 512:
                old = _kept.popitem(last=False)[1]
                _kept_cells -= old.cells if old is not None else 0
    return found


def clear() -> None:
    """Forget every file kept (tests)."""
    global _kept_cells
    with _lock:
        _kept.clear()
        _kept_cells = 0
