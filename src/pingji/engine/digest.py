"""What running a compiled plan needs of a scheme, kept so that a second run skips parsing it.

Parsing and checking a scheme (YAML with line numbers, pydantic models, expressions) costs a
few tenths of a second — more than evaluating 200 entities. A SchemeDigest holds what the
executor needs (the tables it reads, its parameters, its entity and period kind) and is
kept beside the compiled plans, keyed by the scheme's text: a run whose scheme and plan were
seen before loads neither YAML, pydantic nor Ibis. The full scheme is resolved on demand
(compiling a plan, explaining, Excel's labels)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pingji
from pingji.data.contract import Column, TableSpec
from pingji.engine.frozen import PLANS

MAX_SCHEME_BYTES = 1_000_000  # scheme/loader.py refuses larger files (and says so)


@dataclass(frozen=True)
class _Scheme:
    period: str
    entity: str


@dataclass
class SchemeDigest:
    """A checked scheme as the executor sees it."""

    id: str
    version: str
    file: str
    text: str
    period: str  # year, quarter or month
    entity: str
    tables: dict[str, TableSpec]  # the tables it reads, narrowed to the columns it reads
    params: dict[str, tuple[str, Any]]  # name → (type, default)
    calendar: bool  # whether workdays_between() reads a calendar table
    # per numeric column of the flat output, how CSV rounds it (output/numbers.rounding)
    rounding: dict[str, str] = field(default_factory=dict)
    _resolved: Any = field(default=None, repr=False, compare=False)

    @property
    def scheme(self) -> _Scheme:
        """Return the scheme's period kind and entity table (as ResolvedScheme.scheme has)."""
        return _Scheme(self.period, self.entity)

    def reads(self) -> dict[str, TableSpec]:
        """Return each table the scheme reads (as ResolvedScheme.reads)."""
        return self.tables

    def resolved(self):
        """Return the full scheme, parsed and checked again from its text on first use."""
        if self._resolved is None:
            from pingji.scheme.resolve import load_scheme

            self._resolved = load_scheme(self.file, self.text)
        return self._resolved

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k != "_resolved"}
        data["params"] = {n: [kind, _encode(d)] for n, (kind, d) in self.params.items()}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SchemeDigest:
        data = json.loads(text)
        data["tables"] = {
            n: TableSpec(
                **{
                    **t,
                    "columns": tuple(
                        Column(**{**c, "choices": tuple(c["choices"])}) for c in t["columns"]
                    ),
                }
            )
            for n, t in data["tables"].items()
        }
        data["params"] = {n: (kind, _decode(d)) for n, (kind, d) in data["params"].items()}
        return cls(**data)


def _encode(value: Any) -> Any:
    return {"decimal": str(value)} if isinstance(value, Decimal) else value


def _decode(value: Any) -> Any:
    return Decimal(value["decimal"]) if isinstance(value, dict) else value


def digest_of(rs) -> SchemeDigest:
    """Return the digest of a resolved scheme (keeping the scheme itself)."""
    from pingji import expr
    from pingji.engine.params import param_specs
    from pingji.output.numbers import rounding  # imports nothing of the engine

    calendar = any(
        isinstance(n, expr.Call) and n.name == "workdays_between"
        for tree in rs.exprs.values()
        if tree is not None
        for n in expr.walk(tree)
    )
    s = rs.scheme
    return SchemeDigest(
        id=s.id,
        version=str(s.version),
        file=rs.file,
        text=rs.text,
        period=s.period,
        entity=s.entity,
        tables=dict(rs.reads()),
        params=param_specs(rs),
        calendar=calendar,
        rounding=rounding(rs),
        _resolved=rs,
    )


def _builtin_file(name: str) -> Path | None:
    folder = Path(pingji.__file__).parent / "templates" / "schemes"
    found = [p for p in folder.glob("*.yaml") if p.name.split("-", 1)[-1] == f"{name}.yaml"]
    return found[0] if len(found) == 1 else None


def _read(name_or_path: str | Path) -> tuple[str, str] | None:
    """Return (file, text) of a scheme cheaply, or None to leave it to the full loader (and
    its errors): anything unusual — not a regular file, too large, not UTF-8."""
    p = Path(name_or_path)
    if not (p.suffix.lower() in (".yaml", ".yml") or p.exists()):
        p = _builtin_file(str(name_or_path)) or p
    try:
        if not p.is_file():
            return None
        with p.open("rb") as f:
            data = f.read(MAX_SCHEME_BYTES + 1)
        if len(data) > MAX_SCHEME_BYTES:
            return None
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError):
        return None
    return str(p), text


def load_digest(name_or_path: str | Path) -> SchemeDigest:
    """Return the digest of a scheme given as a YAML path or a built-in name: kept from an
    earlier run of the same text, else from resolving it (which reports any error)."""
    found = _read(name_or_path)
    key = None
    if found is not None:
        key = _key(*found)
        text = PLANS.get_text("schemes", key)
        if text is not None:
            try:
                return SchemeDigest.from_json(text)
            except (ValueError, TypeError, KeyError):
                pass
    from pingji.templates import resolve_scheme

    digest = digest_of(resolve_scheme(name_or_path))
    if key is not None and digest.text == found[1]:
        PLANS.put_text("schemes", key, digest.to_json())
    return digest


def _key(file: str, text: str) -> str:
    from pingji.engine.frozen import plan_key

    return plan_key(kind="scheme", file=file, text=text)


__all__ = ["SchemeDigest", "digest_of", "load_digest"]
