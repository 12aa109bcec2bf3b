"""Request and response shapes of the REST API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class Message(Schema):
    """An error: `detail` says what went wrong, in Chinese and English."""

    detail: str


class VersionOut(Schema):
    number: int
    status: str = Field(description="draft | published")
    published_at: datetime | None = None
    note: str = ""


class SchemeOut(Schema):
    code: str
    name: str
    entity: str = Field(description="the contract table of what it rates: customers, suppliers, …")
    builtin: bool
    versions: list[VersionOut] = Field(description="newest first")


class PublishedVersionOut(VersionOut):
    yaml: str


class SchemeDetailOut(SchemeOut):
    published: PublishedVersionOut | None = Field(
        None, description="the latest published version with its YAML (none: only drafts)"
    )


class RunIn(Schema):
    scheme: str = Field(description="scheme code, e.g. customer-composite")
    version: int | None = Field(None, description="version number; default the latest published")
    period: str = Field(description="period of the scheme's kind, e.g. 2025, 2025-Q3, 2025-10")
    params: dict[str, Any] = Field(default_factory=dict, description="scheme parameters")


class RunCreatedOut(Schema):
    id: int
    status: str


class BatchRef(Schema):
    id: int
    table: str
    file_name: str
    rows: int
    status: str


class RunOut(Schema):
    id: int
    status: str = Field(description="queued | running | done | failed")
    status_label: str
    finished: bool
    progress: int = Field(description="0–100")
    stage: str
    scheme: str
    scheme_name: str
    version: int
    period: str
    params: dict[str, Any]
    entities: int | None
    ratings_used: int
    summary: dict[str, Any] = Field(
        description="grade distribution, score histogram, class, status and action counts"
    )
    batches: list[BatchRef] = Field(description="exactly the import batches the run read")
    voided: bool = Field(False, description="voided runs no longer count as the latest")
    voided_at: datetime | None = None
    void_reason: str = ""
    error: str
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunBriefOut(Schema):
    id: int
    status: str
    progress: int
    scheme: str
    version: int
    period: str
    entities: int | None
    created_at: datetime
    finished_at: datetime | None
    voided: bool = Field(False, description="voided runs no longer count as the latest")
    voided_at: datetime | None = None
    void_reason: str = ""


class ResultsPageOut(Schema):
    total: int = Field(description="rows matching the filters")
    page: int
    size: int
    pages: int
    columns: list[str]
    rows: list[dict[str, Any]]


class BatchOut(Schema):
    id: int
    table: str
    table_label: str
    file_name: str
    rows: int
    status: str = Field(description="active | withdrawn")
    checksum: str
    min_date: date | None
    max_date: date | None
    uploaded_by: str | None
    uploaded_at: datetime
    withdrawn_at: datetime | None


class DataErrorOut(Schema):
    """A file that does not fit the data contract; nothing was stored."""

    error: str = Field(description="the whole message")
    file: str
    row: int | None = Field(None, description="line in the file (header = 1) or spreadsheet row")
    column: str | None = None
    value: str | None = None
    expected: str | None = None


class DuplicateOut(Schema):
    detail: str
    batch: int = Field(description="the active batch that already holds this file")
