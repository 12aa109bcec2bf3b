"""How much memory a data set's DuckDB may use, and where it spills what does not fit.

`pingji evaluate --memory-limit 4GB --temp-dir DIR` (or PINGJI_MEMORY_LIMIT and
PINGJI_TEMP_DIR, which also reach the web app's runs) set DuckDB's `memory_limit` and
`temp_directory` on every connection `duck_connection` makes. Without a limit DuckDB takes 80 %
of the machine's memory. Spilled files go to a folder of this process's own under the given
folder (default: the system's temporary folder) — never DuckDB's default `.tmp` in the working
directory, where two processes spilling at once would write the same files — and DuckDB
removes them when the connection closes.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pingji.errors import BadInput
from pingji.i18n import msg
from pingji.sqltext import literal

if TYPE_CHECKING:
    import duckdb

MEMORY_ENV = "PINGJI_MEMORY_LIMIT"
TEMP_ENV = "PINGJI_TEMP_DIR"

# DuckDB's own units: KB, MB, GB, TB are powers of 1000, KiB … TiB powers of 1024
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_LEAST = 16_000_000  # 16MB: below this DuckDB cannot run a query at all


@dataclass(frozen=True)
class Limits:
    """DuckDB's memory limit (as DuckDB reads it, e.g. '4GB') and the folder it spills under."""

    memory_limit: str | None = None
    temp_dir: Path | None = None


_chosen: Limits | None = None  # set by `configured` (the command line); else the environment


def memory_limit(text: str, where: str) -> str:
    """Return a memory size as DuckDB reads it ('4GB', '512MiB'); BadInput naming `where`."""
    found = _SIZE.fullmatch(text.strip())
    if found is None or _bytes(found) < _LEAST:
        raise BadInput(
            msg(
                "{option} expects a memory size of at least 16MB, such as 4GB or 512MB "
                "(units KB, MB, GB, TB or KiB, MiB, GiB, TiB), not {value}",
                option=where,
                value=repr(text),
            )
        )
    number, unit = found.groups()
    return f"{number}{unit.upper().replace('I', 'i')}"


def _bytes(found: re.Match) -> float:
    number, unit = found.groups()
    unit = unit.upper()
    power = "BKMGT".index(unit[0])
    return float(number) * (1024 if "I" in unit else 1000) ** power


def temp_dir(text: str, where: str) -> Path:
    """Return a folder to spill under: it must exist; BadInput naming `where` otherwise."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise BadInput(
            msg(
                "{option} expects an existing folder to write temporary files in, not {value}",
                option=where,
                value=repr(text),
            )
        )
    return path


@contextmanager
def configured(memory: str | None = None, spill: str | None = None) -> Iterator[Limits]:
    """Within the block, give the data sets opened the limits of the command line's options,
    else PINGJI_MEMORY_LIMIT and PINGJI_TEMP_DIR. Raise BadInput on a bad value."""
    global _chosen
    before = _chosen
    _chosen = Limits(
        memory_limit(memory, "--memory-limit") if memory else _env_memory(),
        temp_dir(spill, "--temp-dir") if spill else _env_temp(),
    )
    try:
        yield _chosen
    finally:
        _chosen = before


def _env_memory() -> str | None:
    value = os.environ.get(MEMORY_ENV, "").strip()
    return memory_limit(value, MEMORY_ENV) if value else None


def _env_temp() -> Path | None:
    value = os.environ.get(TEMP_ENV, "").strip()
    return temp_dir(value, TEMP_ENV) if value else None


def current() -> Limits:
    """Return the limits in force: as configured, else from the environment."""
    return _chosen if _chosen is not None else Limits(_env_memory(), _env_temp())


def temp_base() -> Path:
    """Return the folder temporary files go under: the one configured, else the system's."""
    return current().temp_dir or Path(tempfile.gettempdir())


def apply(con: duckdb.DuckDBPyConnection) -> None:
    """Set the memory limit and the spill folder in force on a new DuckDB connection."""
    limits = current()
    if limits.memory_limit:
        con.execute(f"SET memory_limit = '{limits.memory_limit}'")
    # a folder of this connection's own: DuckDB names its spill files alike in every process
    spill = temp_base() / f"pingji-duckdb-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    # a literal, not a bound parameter: DuckDB imports pandas to look at parameters (0.8 s)
    con.execute(f"SET temp_directory = {literal(str(spill))}")
