"""The built-in schemes (模板): YAML files shipped with pingji, loaded like any user scheme."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pingji.errors import BadInput
from pingji.i18n import msg
from pingji.scheme import ResolvedScheme, load_scheme

_PACKAGE = "pingji.templates"


def _files():
    return resources.files(_PACKAGE).joinpath("schemes")


def builtin_names() -> list[str]:
    """Return the names of the built-in schemes, in their documented order."""
    files = sorted(p.name for p in _files().iterdir() if p.name.endswith(".yaml"))
    # file names carry a two-digit prefix that fixes the order: 01-customer-composite.yaml
    return [name.split("-", 1)[1].removesuffix(".yaml") for name in files]


def builtin_path(name: str) -> Path:
    """Return the file of a built-in scheme, or raise BadInput naming the known ones."""
    for p in _files().iterdir():
        if p.name.endswith(".yaml") and p.name.split("-", 1)[1].removesuffix(".yaml") == name:
            return Path(str(p))
    raise BadInput(
        msg(
            "'{name}' is neither a scheme file nor a built-in scheme (built-ins: {names})",
            name=name,
            names=builtin_names(),
        )
    )


def builtin_text(name: str) -> str:
    """Return the YAML text of a built-in scheme."""
    return builtin_path(name).read_text(encoding="utf-8")


def resolve_scheme(name_or_path: str | Path) -> ResolvedScheme:
    """Load a scheme given as a YAML path or a built-in name."""
    p = Path(name_or_path)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        return load_scheme(p)
    return load_scheme(builtin_path(str(name_or_path)))
