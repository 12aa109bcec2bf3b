"""Where a data set's tables really are: `sources.yaml` maps the contract's table and column
names onto the user's own files, sheets, database tables and columns.

```yaml
sales:
  file: 销售明细.xlsx        # a CSV, XLSX or Parquet file (relative to the data folder)
  sheet: 明细                # XLSX only; default: the first sheet
  columns: {customer_id: 客户编码, date: 日期, amount: 金额}
payments:
  table: erp.ar_receipts     # PostgreSQL: [schema.]table
  columns: {customer_id: cust_no, date: receipt_date, amount: amt}
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pingji.errors import DataError
from pingji.i18n import msg, os_reason, pydantic_message

SOURCES_FILE = "sources.yaml"


class Source(BaseModel):
    """Where one table is: a file (and sheet) or a database table, and its columns' names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str | None = None
    sheet: str | None = None
    table: str | None = None
    columns: dict[str, str] = {}  # contract column → the user's column

    @model_validator(mode="after")
    def _one_place(self) -> Source:
        if (self.file is None) == (self.table is None):
            raise ValueError("give exactly one of `file` (a data folder) or `table` (PostgreSQL)")
        if self.sheet is not None and not str(self.file or "").lower().endswith(".xlsx"):
            raise ValueError("`sheet` belongs to an .xlsx file")
        users = list(self.columns.values())
        twice = sorted({u for u in users if users.count(u) > 1})
        if twice:
            raise ValueError(f"column '{twice[0]}' is mapped twice: map each column once")
        return self

    @property
    def renames(self) -> dict[str, str]:
        """Return {the user's column: contract column}."""
        return {user: name for name, user in self.columns.items()}

    def shown(self, column: str | None) -> str | None:
        """Return what the user calls a contract column (its own name when not mapped)."""
        return self.columns.get(column, column) if column else column


def read_sources(path: str | os.PathLike) -> dict[str, Source]:
    """Read and check a sources file; raise DataError at the line of the first problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(
            file, msg("cannot read the sources file: {detail}", detail=os_reason(exc))
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(file, msg("the sources file is not UTF-8 text")) from exc
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataError(file, msg("not valid YAML: {detail}", detail=problem), row=line) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(file, msg("expected a mapping of table names to sources"), row=1)
    sources: dict[str, Source] = {}
    for name, value in data.items():
        try:
            sources[str(name)] = Source.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [str(name), *(str(p) for p in first["loc"])]
            message = pydantic_message(first)
            if first["type"] == "extra_forbidden":
                allowed = ", ".join(Source.model_fields)
                message = msg(
                    "unknown key '{key}' (allowed here: {allowed})", key=loc[-1], allowed=allowed
                )
            elif first["type"] == "model_type":
                message = msg("expected a mapping such as {{file: …, columns: {{…}}}}")
            raise DataError(
                file,
                msg("{path}: {message}", path=".".join(loc), message=message),
                row=_line(data, loc),
            ) from None
    return sources


def _line(data: Any, loc: list[str]) -> int | None:
    """Return the 1-based line of the deepest key of `loc` found in the YAML mapping."""
    line = None
    for part in loc:
        if not isinstance(data, dict) or part not in data:
            break
        position = data.lc.key(part) if hasattr(data, "lc") else None
        if position is not None:
            line = position[0] + 1
        data = data[part]
    return line
