"""The values of a scheme's parameters for one evaluation (light: no Ibis, no pydantic)."""

from __future__ import annotations

import difflib
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pingji.errors import BadInput
from pingji.i18n import msg

if TYPE_CHECKING:
    from pingji.scheme.resolve import ResolvedScheme


# what a parameter of each type expects, as an error message says it
_WHAT = {
    "bool": msg("true or false"),
    "integer": msg("a whole number"),
    "money": msg("an amount"),
    "number": msg("a number"),
}


def param_specs(rs: ResolvedScheme) -> dict[str, tuple[str, Any]]:
    """Return each parameter's type and default."""
    from pingji.scheme.resolve import param_type

    return {n: (p.type or param_type(p.default), p.default) for n, p in rs.scheme.params.items()}


def resolve_params(rs: Any, given: dict[str, str] | None) -> dict[str, Any]:
    """Return parameter values: defaults overridden by `--param name=value` strings.

    `rs` is a resolved scheme or a SchemeDigest (digest.py)."""
    specs = rs.params if hasattr(rs, "params") else param_specs(rs)
    return values_of(rs.id, specs, given)


def values_of(
    scheme_id: str, specs: dict[str, tuple[str, Any]], given: dict[str, str] | None
) -> dict[str, Any]:
    """Return parameter values from their (type, default) and the values given as text."""
    values: dict[str, Any] = {name: default for name, (_, default) in specs.items()}
    for name, raw in (given or {}).items():
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            raise BadInput(
                msg(
                    "unknown parameter '{name}' for scheme {scheme} (parameters: {known}){hint}",
                    name=name,
                    scheme=scheme_id,
                    known=", ".join(specs) if specs else msg("none"),
                    hint=msg(" (did you mean '{word}'?)", word=close[0]) if close else "",
                )
            )
        kind = specs[name][0]
        try:
            if kind == "bool":
                low = str(raw).strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                values[name] = low in ("true", "1", "yes")
            elif kind == "integer":
                values[name] = int(raw)
            elif kind == "money":
                values[name] = Decimal(str(raw))
            elif kind == "number":
                values[name] = int(raw) if str(raw).lstrip("-").isdigit() else float(raw)
            else:
                values[name] = str(raw)
        except (ValueError, ArithmeticError):
            raise BadInput(
                msg(
                    "parameter '{name}' expects {what}, got {raw}",
                    name=name,
                    what=_WHAT.get(kind, msg("a value")),
                    raw=repr(raw),
                )
            ) from None
        number = values[name]
        if isinstance(number, float | Decimal) and not (
            math.isfinite(number) and abs(number) < 10**28  # money is decimal(38, 9)
        ):
            raise BadInput(
                msg(
                    "parameter '{name}' expects a finite number below 10^28, got {raw}",
                    name=name,
                    raw=repr(raw),
                )
            )
    return values
