"""The common data contract (标准数据模型): the tables a data set may hold and their columns."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

ColumnType = Literal["string", "money", "number", "integer", "date", "bool"]

# What a column type is stored as in the engine (ibis dtype strings).
# Money is exact decimal: 18 digits with 4 after the point fits in a 64-bit integer,
# so sums are exact and fast; a sum widens to decimal(38, 4).
ENGINE_TYPES: dict[str, str] = {
    "string": "string",
    "money": "decimal(18, 4)",
    "number": "float64",
    "integer": "int64",
    "date": "date",
    "bool": "boolean",
}

EXPECTED: dict[str, str] = {
    "string": "text",
    "money": "an amount such as 1234.56 (at most 4 decimals)",
    "number": "a number",
    "integer": "a whole number",
    "date": "a date YYYY-MM-DD",
    "bool": "true/false (also 1/0, yes/no, 是/否)",
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: ColumnType
    required: bool = False  # the file must have the column (when a scheme reads it)
    default: object = None  # value used when the column is absent or the cell is empty
    choices: tuple[str, ...] = ()
    label: str = ""
    not_null: bool = False  # every row must hold a value (keys, window dates)


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract."""

    name: str
    kind: Literal["entity", "fact", "reference"]  # reference: about days, not entities
    key: str  # the column that names the entity
    columns: tuple[Column, ...]
    date: str | None = None  # the column windows are applied to
    label: str = ""
    entity: str | None = None  # for facts: the entity table the key refers to (None: any)
    unique_key: bool = False
    extra: dict = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        """Return a column by name, or None."""
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> tuple[Column, ...]:
        """Return the required columns."""
        return tuple(c for c in self.columns if c.required)


def _c(name: str, type: ColumnType = "string", required: bool = False, **kw) -> Column:
    # A required column is a key, a window's date or part of a rating's identity, and holds
    # a value on every row, unless `not_null=False` says it is required only to be there
    # (when a scheme reads it). Any other column may be empty: null is data.
    kw.setdefault("not_null", required)
    return Column(name, type, required, **kw)


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "customers",
            "entity",
            "customer_id",
            (
                _c("customer_id", required=True, label="客户编号"),
                _c("name", label="名称"),
                _c("created_on", "date", label="开发日期"),
                _c("category", label="类别"),
                _c("region", label="区域"),
                _c("owner", label="负责人"),
                _c("vip_designated", "bool", default=False, label="指定VIP"),
                _c("opening_balance", "money", default=0, label="期初应收"),
                _c("net_assets", "money", label="净资产"),
            ),
            label="客户",
            unique_key=True,
        ),
        TableSpec(
            "suppliers",
            "entity",
            "supplier_id",
            (
                _c("supplier_id", required=True, label="供应商编号"),
                _c("name", label="名称"),
                # Categories are the user's own (weights_by profiles name them), no fixed list.
                _c("category", required=True, not_null=False, label="类别"),
            ),
            label="供应商",
            unique_key=True,
        ),
        TableSpec(
            "staff",
            "entity",
            "staff_id",
            (
                _c("staff_id", required=True, label="员工编号"),
                _c("name", label="姓名"),
                _c("department", label="部门"),
            ),
            label="员工",
            unique_key=True,
        ),
        TableSpec(
            "dealers",
            "entity",
            "dealer_id",
            (_c("dealer_id", required=True, label="经销商编号"), _c("name", label="名称")),
            label="经销商",
            unique_key=True,
        ),
        TableSpec(
            "sales",
            "fact",
            "customer_id",
            (
                _c("customer_id", required=True),
                _c("date", "date", required=True),
                _c("amount", "money", required=True, not_null=False),
                _c("batch_id"),
            ),
            date="date",
            label="发货",
            entity="customers",
        ),
        TableSpec(
            "payments",
            "fact",
            "customer_id",
            (
                _c("customer_id", required=True),
                _c("date", "date", required=True),
                _c("amount", "money", required=True, not_null=False),
            ),
            date="date",
            label="回款",
            entity="customers",
        ),
        TableSpec(
            "returns",
            "fact",
            "customer_id",
            (
                _c("customer_id", required=True),
                _c("date", "date", required=True),
                _c("amount", "money", required=True, not_null=False),
            ),
            date="date",
            label="退货",
            entity="customers",
        ),
        TableSpec(
            "visits",
            "fact",
            "customer_id",
            (_c("customer_id", required=True), _c("date", "date", required=True)),
            date="date",
            label="到店/拜访",
            entity="customers",
        ),
        TableSpec(
            "ratings",
            "fact",
            "entity_id",
            (
                _c("entity_id", required=True),
                _c("period", required=True),
                _c("indicator", required=True),
                _c("score", "number", required=True),
                _c("rater"),
                _c("department"),
            ),
            label="人工评分",
        ),
        TableSpec(
            "overrides",
            "fact",
            "entity_id",
            (
                _c("entity_id", required=True),
                _c("period", required=True),
                _c("grade", required=True),
                _c("reason"),
                _c("set_by"),
            ),
            label="人工定级",
        ),
        TableSpec(
            "complaints",
            "fact",
            "entity_id",
            (
                _c("entity_id", required=True),
                _c("opened_at", "date", required=True),
                _c("resolved_at", "date"),
                _c("severity", default="minor", choices=("minor", "major")),
            ),
            date="opened_at",
            label="投诉",
        ),
        TableSpec(
            "events",
            "fact",
            "entity_id",
            (
                _c("entity_id", required=True),
                _c("date", "date", required=True),
                _c("type", required=True, not_null=False),
                _c("count", "integer", default=1),
            ),
            date="date",
            label="事件",
        ),
        TableSpec(
            "inspections",
            "fact",
            "supplier_id",
            (
                _c("supplier_id", required=True),
                _c("date", "date", required=True),
                _c("result", required=True, not_null=False, choices=("pass", "fail", "concession")),
                _c("batch_id"),
            ),
            date="date",
            label="来料检验",
            entity="suppliers",
        ),
        TableSpec(
            "production_defects",
            "fact",
            "supplier_id",
            (
                _c("supplier_id", required=True),
                _c("date", "date", required=True),
                _c("used_qty", "number", required=True, not_null=False),
                _c("defective_qty", "number", required=True, not_null=False),
            ),
            date="date",
            label="制程不良",
            entity="suppliers",
        ),
        TableSpec(
            "deliveries",
            "fact",
            "supplier_id",
            (
                _c("supplier_id", required=True),
                _c("due_date", "date", required=True),
                _c("delivered_date", "date", required=True, not_null=False),
            ),
            date="due_date",
            label="交货",
            entity="suppliers",
        ),
        TableSpec(
            "quotes",
            "fact",
            "supplier_id",
            (
                _c("supplier_id", required=True),
                _c("date", "date", required=True),
                _c("premium", "number", required=True, not_null=False),
            ),
            date="date",
            label="报价",
            entity="suppliers",
        ),
        TableSpec(
            "financials",
            "fact",
            "customer_id",
            (
                _c("customer_id", required=True),
                _c("period_end", "date", required=True),
                _c("total_assets", "money"),
                _c("total_liabilities", "money"),
                _c("current_assets", "money"),
                _c("current_liabilities", "money"),
                _c("inventory", "money"),
                _c("revenue", "money"),
                _c("net_profit", "money"),
                _c("operating_cash_flow", "money"),
            ),
            date="period_end",
            label="财务报表",
            entity="customers",
        ),
        # Working days that differ from China's official calendar (chinese-calendar), or
        # days it does not know yet: read by workdays_between(), one row per date.
        TableSpec(
            "calendar",
            "reference",
            "date",
            (
                _c("date", "date", required=True, label="日期"),
                _c("workday", "bool", required=True, label="工作日"),
            ),
            label="工作日历",
            unique_key=True,
        ),
    )
}

ROW_COLUMN = "_row"  # every loaded table carries the line/row number of each record in its file


def with_declared(declared: Mapping[str, TableSpec]) -> dict[str, TableSpec]:
    """Return the contract's tables followed by a scheme's own (declared) tables."""
    return {**TABLES, **declared}


def as_read(spec: TableSpec, columns: Collection[str]) -> TableSpec:
    """Return `spec` as a scheme reads it: the key, the date and the columns it reads.

    A column read keeps what the contract says of it (required or optional, its default);
    a column not read is left out, so a file's copy of it stays an extra column: neither
    required nor checked."""
    keep = {spec.key, *([spec.date] if spec.date else []), *columns}
    return replace(spec, columns=tuple(c for c in spec.columns if c.name in keep))


def unread(spec: TableSpec) -> TableSpec:
    """Return `spec` as checked without a scheme (an import, a load into PostgreSQL): only the
    columns that hold a value on every row (keys, window dates) must be there; every column
    there is checked against its type."""
    return replace(spec, columns=tuple(replace(c, required=c.not_null) for c in spec.columns))
