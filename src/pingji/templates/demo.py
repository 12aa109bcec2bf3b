"""What the two demos share — `make demo` (pingji.cli.demo) and the web app's `setup_demo`
command: the sample data sets, generated once per scheme and reused, and the demo users with
their password. Below the CLI and the web app, so neither imports the other for it."""

from __future__ import annotations

import json
from pathlib import Path

STAMP = ".pingji-sample.json"  # written after the sample data is complete: what made it
DEMO_PASSWORD = "pingji-demo"

# (username, role, department code, shown as)
DEMO_USERS: tuple[tuple[str, str, str | None, str], ...] = (
    ("admin", "admin", None, "管理员"),
    ("demo", "analyst", None, "分析师"),
    ("rater", "rater", "sales", "评分员（销售部）"),
    ("rater_f", "rater", "finance", "评分员（财务部）"),
    ("viewer", "viewer", None, "查看者"),
)


def prepare_data(scheme: str, folder: Path, entities: int, seed: int) -> bool:
    """Generate sample data into folder unless the same data is already there; return True if new."""
    from pingji.templates.sample import generate

    wanted = {"scheme": scheme, "entities": entities, "seed": seed}
    stamp = folder / STAMP
    if stamp.exists():
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == wanted:
                return False
        except (OSError, ValueError):
            pass  # an unreadable stamp: generate again
    stamp.unlink(missing_ok=True)
    generate(scheme, folder, entities=entities, seed=seed)
    stamp.write_text(json.dumps(wanted), encoding="utf-8")
    return True
