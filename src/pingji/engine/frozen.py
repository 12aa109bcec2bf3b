"""The compiled form of an evaluation: SQL text and what the output needs, immutable and cached.

A FrozenPlan is what the compiler (compile.py, which builds it with Ibis) hands the executor
(run.py, which imports no Ibis): the statements to run in order on the data set's connection
and what to read from their result. It depends only on the scheme's text, the period, the
parameters, the entity asked for, the columns and types of the tables read and the SQL
dialect — the cache key — so it is kept in memory and on disk (`PINGJI_CACHE_DIR`), and a
second evaluation of the same scheme skips compiling.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pingji
from pingji.sqltext import ident

# A plan compiled by another version of the compiler is never reused: the key holds the
# package version and the size and time of every source file the plan depends on.
_SOURCES = ("engine", "expr", "scheme", "data", "periods.py", "errors.py")
FORMAT = 3  # of the JSON a plan is stored as (2: a guard's `expected` is a message;
# 3: a guard names its table, not a file: the executor names the file of the data set it runs on)
MEMORY_PLANS = 64  # plans kept in this process
DISK_PLANS = 500  # plans kept on disk; the oldest go first


@dataclass(frozen=True)
class Guard:
    """A data check that needs the scheme: a query returning the first offending row, and
    how the error reads: `message` is a message id formatted with that row's values,
    `expected` a message as `i18n.to_json` stores it (id and parameters, worded when the
    guard fails, in the reader's language). `table` is the table checked: the error names
    the file (or database table) holding it in the data set the plan runs on — a cached plan
    serves every data folder whose tables have the same shapes."""

    sql: str
    table: str
    message: str
    column: str
    value: str
    expected: dict[str, Any]


@dataclass(frozen=True)
class FrozenPlan:
    """One evaluation of one period compiled to SQL in one dialect."""

    key: str | None  # None: not cacheable (it depends on data besides the tables' shapes)
    dialect: str
    scheme: str  # id and version, for messages
    entity_table: str
    period: str
    entity: str | None  # the one entity asked for (explain), else None
    tables: tuple[tuple[str, str], ...]  # (table, relation) read
    coverage: str | None  # rows/first/last of the windowed facts (engine/coverage.py)
    coverage_tables: tuple[str, ...]
    guards: tuple[Guard, ...]
    steps: tuple[tuple[str, str], ...]  # (temporary table, query), in order
    sql: str  # the final query: one row per entity, every plan column
    columns: tuple[str, ...]  # of the final query
    row_counts: tuple[tuple[str, str], ...]  # (fact table, query of n, matched, in_period)
    # (boolean column, message as i18n.to_json stores it): must be false everywhere
    checks: tuple[tuple[str, Any], ...]
    quality: tuple[tuple[str, str | None, float], ...]  # the scheme's checks: id, label, share
    shapes: tuple[tuple[str, str], ...]  # (shape, DuckDB query over SOURCE) of the output
    # every window lies inside the period (coverage.inside_period): the rows the aggregates
    # read tell that the period has data, without a query of the data's range
    coverage_inside: bool = False
    # (kind, table, query of value/n, choices): rows of ratings and overrides that match
    # nothing the scheme reads (engine/guards.py), told in warnings
    notices: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()

    def shape_sql(self, shape: str, source: str) -> str:
        """Return the DuckDB query giving the output in `shape` from the result table."""
        return dict(self.shapes)[shape].replace(SOURCE, source)

    def script(self) -> str:
        """Return the plan as one SQL script: its steps, then the final query."""
        parts = [f"CREATE TEMP TABLE {ident(name)} AS\n{sql};" for name, sql in self.steps]
        return "\n\n".join([*parts, self.sql + ";"])

    def to_json(self) -> str:
        """Return the plan as JSON text."""
        return json.dumps({"format": FORMAT, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> FrozenPlan:
        """Return the plan stored as JSON text by `to_json`."""
        data = json.loads(text)
        if data.pop("format", None) != FORMAT:
            raise ValueError("a plan stored in another format")
        data["guards"] = tuple(Guard(**g) for g in data["guards"])
        for name in ("tables", "steps", "row_counts", "checks", "quality", "shapes"):
            data[name] = tuple(tuple(x) for x in data[name])
        data["columns"] = tuple(data["columns"])
        data["notices"] = tuple((k, t, q, tuple(c)) for k, t, q, c in data.get("notices", ()))
        data["coverage_tables"] = tuple(data["coverage_tables"])
        return cls(**data)


SOURCE = '"pingji__result"'  # stands for the result table in `shapes`


# ------------------------------------------------------------------------------- the key


def _code_stamp() -> str:
    """Return what identifies this compiler: the version and its source files' sizes/times."""
    root = Path(pingji.__file__).parent
    parts = [getattr(pingji, "__version__", "")]
    for name in _SOURCES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            parts.append(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


_stamp: str | None = None


def plan_key(**parts: Any) -> str:
    """Return the cache key of a plan from everything it depends on (JSON-able values)."""
    global _stamp
    if _stamp is None:
        _stamp = _code_stamp()
    text = json.dumps([_stamp, parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- the cache


class PlanCache:
    """Compiled plans by key: the last MEMORY_PLANS in memory, and files in a folder."""

    def __init__(self) -> None:
        self._memory: OrderedDict[str, FrozenPlan] = OrderedDict()
        self._texts: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def folder() -> Path | None:
        """Return the folder plans are stored in, or None when storing is off."""
        setting = os.environ.get("PINGJI_CACHE_DIR")
        if setting is not None:
            return Path(setting) / "plans" if setting.strip() not in ("", "off") else None
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "pingji" / "plans"

    def get(self, key: str) -> FrozenPlan | None:
        """Return the plan stored under `key`, or None."""
        with self._lock:
            plan = self._memory.get(key)
            if plan is not None:
                self._memory.move_to_end(key)
                return plan
        folder = self.folder()
        if folder is None:
            return None
        try:
            plan = FrozenPlan.from_json((folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # absent, unreadable or from another format: compile again
        if plan.key != key:
            return None
        self._remember(plan)
        return plan

    def put(self, plan: FrozenPlan) -> None:
        """Keep `plan` (it must have a key) in memory and, when possible, on disk."""
        assert plan.key is not None
        self._remember(plan)
        folder = self.folder()
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=folder, prefix=".plan-", suffix=".partial")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(plan.to_json())
            os.replace(partial, folder / f"{plan.key}.json")
            self._prune(folder)
        except OSError:
            pass  # a cache that cannot be written costs a compile next time, nothing else

    def get_text(self, kind: str, key: str) -> str | None:
        """Return a text stored under `kind`/`key` (a scheme's digest), or None."""
        with self._lock:
            if (kind, key) in self._texts:
                return self._texts[(kind, key)]
        folder = self.folder()
        if folder is None:
            return None
        try:
            text = (folder / kind / f"{key}.json").read_text(encoding="utf-8")
        except OSError:
            return None
        with self._lock:
            self._texts[(kind, key)] = text
        return text

    def put_text(self, kind: str, key: str, text: str) -> None:
        """Keep a text under `kind`/`key`, in memory and, when possible, on disk."""
        with self._lock:
            self._texts[(kind, key)] = text
        folder = self.folder()
        if folder is None:
            return
        try:
            (folder / kind).mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=folder / kind, prefix=".", suffix=".partial")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(partial, folder / kind / f"{key}.json")
            self._prune(folder / kind)
        except OSError:
            pass

    def clear(self) -> None:
        """Forget the plans kept in memory (the files stay)."""
        with self._lock:
            self._memory.clear()
            self._texts.clear()

    def _remember(self, plan: FrozenPlan) -> None:
        with self._lock:
            self._memory[plan.key] = plan
            self._memory.move_to_end(plan.key)
            while len(self._memory) > MEMORY_PLANS:
                self._memory.popitem(last=False)

    @staticmethod
    def _prune(folder: Path) -> None:
        files = list(folder.glob("*.json"))
        if len(files) <= DISK_PLANS:
            return
        files.sort(key=lambda f: f.stat().st_mtime)
        for f in files[: len(files) - DISK_PLANS]:
            f.unlink(missing_ok=True)


PLANS = PlanCache()
