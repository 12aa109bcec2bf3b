"""The filters and sort of a run's results (the results page, its exports and kept export
jobs take the same): a plain value, so the model, the pages and the exports share it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Filters:
    """What the results page shows: filters and sort (exports take the same)."""

    grade: str | None = None
    cls: str | None = None
    status: str | None = None
    action: str | None = None
    search: str | None = None
    sort: str = "-score"
    # the entity's attributes as the run read them ({column: value}, runs/attributes.py)
    attrs: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted((self.attrs or {}).items())]
        for label, value in (
            ("等级", self.grade),
            ("类别", self.cls),
            ("状态", self.status),
            ("措施", self.action),
            ("搜索", self.search),
        ):
            if value:
                parts.append(f"{label}={value}")
        return ",".join(parts) or "全部"
