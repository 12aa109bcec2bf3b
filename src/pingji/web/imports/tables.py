"""The tables a file may be imported into: the data contract's, and those that published
schemes declare (`tables:` in their YAML)."""

from __future__ import annotations

from pingji.data.contract import TABLES, TableSpec, with_declared
from pingji.data.labels import column_label


def declared() -> dict[str, TableSpec]:
    """Return the tables published schemes declare (not the contract's)."""
    from pingji.web.schemes.services import declared_tables  # schemes do not import imports

    return declared_tables()


def importable() -> dict[str, TableSpec]:
    """Return every table a file may be imported into: the contract's, then declared ones."""
    return with_declared(declared())


def spec_of(name: str) -> TableSpec | None:
    """Return the spec of an importable table, or None."""
    return TABLES.get(name) or declared().get(name)


def label_of(table: str, column: str, spec: TableSpec | None = None) -> str:
    """Return a column's Chinese label: the declaration's own, else the contract's."""
    if table not in TABLES:
        spec = spec or spec_of(table)
        col = spec.column(column) if spec else None
        if col is not None and col.label:
            return col.label
    return column_label(table, column)
