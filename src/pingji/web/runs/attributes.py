"""Filtering a run's results by the entity's attributes (region, owner, category …), as the
run read them: the entity-table batches it recorded, a later batch winning per key
(data/batches.batch_rows_sql, through entities/data.entity_source)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from pingji.data.contract import TABLES
from pingji.sqltext import ident
from pingji.web.entities import data

# What the entity files say (their columns, the attribute choices) kept per process: a batch
# file is written once and never changed (its inode, size and time are in the key to be
# sure), and reading them again is a DESCRIBE and a GROUP BY over the entity table on every
# run page. Callers must not change what they are given: it is shared.
KEPT = 128
_kept: OrderedDict[tuple, object] = OrderedDict()
_kept_lock = threading.Lock()


def _kept_or(kind: str, table: str, files: Sequence[str], compute: Callable[[], object]):
    """Return what `compute` returned for these files before, else compute and keep it."""
    stats = [(f, os.stat(f)) for f in files]
    stamp = tuple((f, st.st_ino, st.st_size, st.st_mtime_ns) for f, st in stats)
    key = (kind, table, stamp)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    value = compute()
    with _kept_lock:
        _kept[key] = value
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return value


def source(run, files: Sequence[str]) -> str | None:
    """SQL relation of the run's entity rows (None without entity batches)."""
    table = run.scheme_version.scheme.entity
    if not files or table not in TABLES:
        return None
    return data.entity_source(table, [Path(f) for f in files])


def columns(run, files: Sequence[str]) -> list[str]:
    """The attributes the run's results filter by (text columns of its entity table other
    than key and name, present in the files the run read)."""
    relation = source(run, files)
    if relation is None:
        return []
    table = run.scheme_version.scheme.entity
    present = _kept_or("columns", table, files, lambda: data.columns_of(relation))
    return data.attribute_columns(table, present)


def condition(run, files: Sequence[str], attrs: dict[str, str]) -> tuple[str, list]:
    """A condition on a results file's entity_id (and its arguments) selecting the entities
    whose attributes equal `attrs`; ("", []) when nothing applies. An attribute the entity
    table lacks matches nothing rather than being ignored: a filter that cannot be applied
    must not show every row."""
    asked = {k: v for k, v in attrs.items() if v != ""}
    if not asked:
        return "", []
    relation = source(run, files)
    if relation is None:
        return "FALSE", []
    table = run.scheme_version.scheme.entity
    have = columns(run, files)
    if any(name not in have for name in asked):
        return "FALSE", []
    conds, args = data.attribute_condition(have, asked)
    key = ident(TABLES[table].key)
    return (
        f"entity_id IN (SELECT CAST({key} AS VARCHAR) FROM {relation} WHERE {' AND '.join(conds)})",
        args,
    )


def options(run, files: Sequence[str]) -> list[dict]:
    """The attribute filters of the run page: name, label, choices (value, entities) or
    None (too many to list); attributes no entity has a value of are left out."""
    from pingji.data.labels import column_label

    relation = source(run, files)
    if relation is None:
        return []
    table = run.scheme_version.scheme.entity
    names = columns(run, files)
    found = _kept_or("options", table, files, lambda: data.attribute_options(relation, names))
    return [
        {"name": n, "label": column_label(table, n), "options": found.get(n)}
        for n in names
        if found.get(n) != []
    ]
