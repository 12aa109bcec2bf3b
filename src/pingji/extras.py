"""Optional parts of pingji (pip extras) and the error that names the one to install.

The core (engine, CLI, DuckDB) installs alone; PostgreSQL, the web application and Spark are
extras, so a library user does not pull in a web stack. A command that needs a missing extra
says which one to install instead of failing with an ImportError deep in a traceback.
"""

from __future__ import annotations

import importlib.util

from pingji.errors import BadInput
from pingji.i18n import msg

# extra → (modules that must import, what it is for)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "postgres": (("psycopg",), "the PostgreSQL driver"),
    "web": (
        ("django", "ninja", "django_tasks", "waitress", "whitenoise", "axes", "csp", "plotly"),
        "the web application",
    ),
    "spark": (("pyspark",), "the Spark engine"),
}


class MissingExtra(BadInput):
    """A command needs an optional extra that is not installed."""


def missing_modules(extra: str) -> list[str]:
    """Return the modules of `extra` that cannot be imported here."""
    modules, _ = EXTRAS[extra]
    return [m for m in modules if importlib.util.find_spec(m) is None]


def require(extra: str, needed_by: str) -> None:
    """Raise MissingExtra naming the extra unless all its modules can be imported."""
    missing = missing_modules(extra)
    if missing:
        _, what = EXTRAS[extra]
        raise MissingExtra(
            msg(
                "{needed_by} needs {what}, which is the optional extra '{extra}' "
                "(missing: {missing}): pip install 'pingji[{extra}]'",
                needed_by=needed_by,
                what=msg(what),
                extra=extra,
                missing=", ".join(missing),
            )
        )
