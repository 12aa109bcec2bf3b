"""Chinese labels for every column of the data contract.

The contract labels the columns of the entity tables (客户编号, 名称, …); fact tables carry
few labels. Users see Chinese headers and upload files with Chinese headers, so this module
gives every contract column a label: the contract's own where it has one, else the one below.
An upload's header cell may be a column's name or its label (see `labelled`).
"""

from __future__ import annotations

from dataclasses import replace

from pingji.data.contract import TABLES, TableSpec

# Labels of columns the contract leaves unlabelled, by column name (the same name means the
# same thing in every table that has it).
FALLBACK: dict[str, str] = {
    "customer_id": "客户编号",
    "supplier_id": "供应商编号",
    "staff_id": "员工编号",
    "dealer_id": "经销商编号",
    "entity_id": "对象编号",
    "date": "日期",
    "amount": "金额",
    "batch_id": "批号",
    "period": "期间",
    "indicator": "指标",
    "score": "分值",
    "rater": "评分人",
    "department": "部门",
    "grade": "等级",
    "reason": "原因",
    "set_by": "设定人",
    "opened_at": "投诉日期",
    "resolved_at": "解决日期",
    "severity": "严重程度",
    "type": "类型",
    "count": "次数",
    "result": "检验结果",
    "used_qty": "使用数量",
    "defective_qty": "不良数量",
    "due_date": "约定交期",
    "delivered_date": "实际交货日期",
    "premium": "报价溢价",
    "period_end": "报告期末",
    "total_assets": "资产总额",
    "total_liabilities": "负债总额",
    "current_assets": "流动资产",
    "current_liabilities": "流动负债",
    "inventory": "存货",
    "revenue": "营业收入",
    "net_profit": "净利润",
    "operating_cash_flow": "经营活动现金流量净额",
}


def column_label(table: str, column: str) -> str:
    """Return the Chinese label of a column of `table` (its name if it is not a contract one)."""
    spec = TABLES.get(table)
    col = spec.column(column) if spec else None
    if col is not None and col.label:
        return col.label
    return FALLBACK.get(column, column) if col is not None else column


def labels(table: str) -> dict[str, str]:
    """Return {column: label} for every contract column of `table`."""
    return {c.name: column_label(table, c.name) for c in TABLES[table].columns}


def labelled(spec: TableSpec) -> TableSpec:
    """Return `spec` with a label on every column (so headers may be written in Chinese)."""
    return replace(
        spec,
        columns=tuple(
            c if c.label else replace(c, label=FALLBACK.get(c.name, "")) for c in spec.columns
        ),
    )
