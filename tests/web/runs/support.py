"""Shared set-up for the run page tests: sample data imported once per test class, a
published built-in, and finished runs (the ImmediateBackend runs them inline)."""

from __future__ import annotations

from pathlib import Path

from pingji.templates import builtin_text
from pingji.web.runs.services import create_run
from pingji.web.schemes.services import add_version, publish


def import_sample_once(cls, scheme: str, entities: int, seed: int = 7, user=None) -> list:
    """Like WebTestCase.import_sample, usable in setUpTestData (the class's workspace)."""
    from pingji.templates.sample import generate
    from pingji.web.imports.services import commit_batch

    folder = Path(cls._home) / f"sample-{scheme}-{entities}-{seed}"
    if not folder.exists():
        generate(scheme, folder, entities=entities, seed=seed)
    return [
        commit_batch(path, path.stem, user or cls.analyst)
        for path in sorted(folder.iterdir())
        if path.suffix in (".csv", ".xlsx", ".parquet")
    ]


def published(scheme: str, user):
    """Add a built-in scheme as a version and publish it."""
    version = add_version(builtin_text(scheme), user, builtin=True)
    return publish(version, user)


def finished_run(version, period: str, user, params: dict | None = None):
    run = create_run(version, period, params or {}, user)
    assert run.status == "done", run.error
    return run


DATA = Path(__file__).resolve().parent / "data"


def small_scheme(user):
    """The hand-computed test scheme (data/runs-test.yaml), published."""
    version = add_version((DATA / "runs-test.yaml").read_text(encoding="utf-8"), user)
    return publish(version, user)


def import_small(user, customers: str = "customers.csv") -> dict:
    """Import the small data set: customers (K01–K08) and sales of 2024 and 2025.

    2025 (full_at 100): K01 120→100 A big · K02 95 A big · K03 80 A · K04 65 B · K05 50 B ·
    K06 30 C watch call · K07 10 C watch call · K08 45 C watch call.
    2024: K01 85 A · K02 60 B · K03 40 C · K04 90 A big · K05 50 B · K06 20 C · K07 55 B ·
    K08 45 C. Every entity without the class big is small."""
    from pingji.web.imports.services import commit_batch

    return {
        "customers": commit_batch(DATA / customers, "customers", user),
        "sales": commit_batch(DATA / "sales.csv", "sales", user),
    }
