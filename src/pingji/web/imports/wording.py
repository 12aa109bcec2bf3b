"""The words a user reads about a data problem, in Chinese first (English via translation).

The data layer speaks English with stable codes (pingji.data.problems.CODES); this module
words each code, and what a column expects, from the contract column's type."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from pingji import i18n
from pingji.data.contract import unread
from pingji.data.validate import EXCEL_SERIAL
from pingji.web.imports.tables import label_of, spec_of

TYPE_NAMES = {
    "string": gettext_lazy("文本"),
    "money": gettext_lazy("金额"),
    "number": gettext_lazy("数字"),
    "integer": gettext_lazy("整数"),
    "date": gettext_lazy("日期"),
    "bool": gettext_lazy("是/否"),
}

_EXPECTED = {
    "string": gettext_lazy("文本"),
    "money": gettext_lazy("金额，如 1234.56、12,500.00 或 ¥12,500（最多 4 位小数）"),
    "number": gettext_lazy("数字"),
    "integer": gettext_lazy("整数"),
    "date": gettext_lazy("日期，年份在前：2026-01-06、2026/1/6 或 2026年1月6日"),
    "bool": gettext_lazy("是/否（也可写 true/false、1/0、Y/N、对/错、√/×）"),
}

_MESSAGES = {
    "missing": gettext_lazy("缺少值"),
    "not_amount": gettext_lazy("不是金额"),
    "too_precise": gettext_lazy("小数超过 4 位"),
    "amount_range": gettext_lazy("金额超出范围"),
    "not_number": gettext_lazy("不是数字"),
    "not_integer": gettext_lazy("不是整数"),
    "not_date": gettext_lazy("不是有效日期"),
    "not_bool": gettext_lazy("不是“是/否”值"),
    "not_choice": gettext_lazy("不是允许的取值"),
    "bad_grouping": gettext_lazy("千位分隔符的位置不对"),
    "date_order": gettext_lazy("日期顺序不明确：年份应在前"),
    "number_date": gettext_lazy("是数字，不是日期"),
    "missing_column": gettext_lazy("缺少必填列"),
    "empty": gettext_lazy("文件没有数据行"),
}

# File-level messages of the data layer (pingji.data.folder, xlsx, batches) and their words.
_FILE_MESSAGES: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"the file is not UTF-8 or GBK/GB18030 text"),
        gettext_noop("文件既不是 UTF-8 也不是 GBK/GB18030 编码：请另存为“CSV UTF-8（逗号分隔）”"),
    ),
    (
        re.compile(r"the file mixes UTF-8 with another encoding"),
        gettext_noop(
            "文件从这一行起不再是 UTF-8 编码（混用了两种编码）：请另存为“CSV UTF-8（逗号分隔）”"
        ),
    ),
    (
        re.compile(r"the file is not UTF-8 text"),
        gettext_noop("文件不是 UTF-8 编码：请另存为“CSV UTF-8（逗号分隔）”"),
    ),
    (
        re.compile(r"expected (?P<expected>\d+) fields like the header, found (?P<found>\d+)"),
        gettext_noop("该行有 %(found)s 个字段，表头有 %(expected)s 个"),
    ),
    (
        re.compile(r"(line|row) 1 is empty: a header row is required"),
        gettext_noop("第 1 行为空：需要表头行"),
    ),
    (
        re.compile(r"the column appears twice \(columns (?P<a>\d+) and (?P<b>\d+)\)"),
        gettext_noop("该列在表头中出现两次（第 %(a)s 列和第 %(b)s 列）"),
    ),
    (
        re.compile(r"expected a \.csv, \.xlsx or \.parquet file"),
        gettext_noop("只接受 CSV、XLSX 或 Parquet 文件"),
    ),
    (
        re.compile(r"cannot read the workbook: (?P<detail>.*)"),
        gettext_noop("无法读取 Excel 工作簿：%(detail)s"),
    ),
    (
        re.compile(r"cannot read the Parquet file: (?P<detail>.*)"),
        gettext_noop("无法读取 Parquet 文件：%(detail)s"),
    ),
    (
        re.compile(r"cannot read the CSV: (?P<detail>.*)"),
        gettext_noop("无法读取 CSV 文件：%(detail)s"),
    ),
    (re.compile(r"this column name is reserved"), gettext_noop("该列名为保留名称，请改名")),
]


def expected(table: str, column: str | None, code: str, spec=None) -> str:
    """What the cell or the file should hold instead."""
    spec = spec or spec_of(table)
    if code == "duplicate":
        return _("每个编号只出现一次")
    if code == "missing_column" and spec is not None:
        # what an import requires: keys and window dates (unread)
        names = "、".join(
            f"{label_of(table, c.name, spec)}（{c.name}）" for c in unread(spec).required
        )
        return _("必填列：%(columns)s") % {"columns": names}
    if code == "amount_range":
        return _("小数点前最多 14 位")
    if code == "bad_grouping":
        return _("每三位一组，如 12,500.00 或 12 500；小数点用“.”")
    if code == "date_order":
        return _(
            "年份在前，如 2026-01-06、2026/1/6 或 2026年1月6日（1/6/2026 既可能是 1 月 6 日，也可能是 6 月 1 日）"
        )
    if code == "number_date":
        return _("日期，如 2026-01-06（只有 .xlsx 文件中数字格式的单元格按 Excel 日期序号读取）")
    col = spec.column(column) if spec is not None and column else None
    if col is None:
        return ""
    if col.choices:
        return _("以下之一：%(choices)s") % {"choices": ", ".join(col.choices)}
    return str(_EXPECTED[col.type])


def message(problem: dict) -> str:
    """The problem in words."""
    code = problem.get("code")
    if code == "duplicate":
        return _("编号重复，首次出现在第 %(first)s 行") % {"first": problem.get("first")}
    if code in _MESSAGES:
        return str(_MESSAGES[code])
    stored = i18n.from_json(problem.get("message") or "")
    text = i18n.render(stored, "en")
    for pattern, words in _FILE_MESSAGES:
        if m := pattern.search(text):
            return _(words) % m.groupdict() if m.groupdict() else _(words)
    return i18n.render(stored)  # the data layer's message in the viewer's language


def _stored(value) -> str:
    """A stored message (ids, or the English text of a report from before), worded now."""
    return i18n.render(i18n.from_json(value)) if value else ""


# How a cell was read from another form (pingji.data.validate.CONVERSIONS), in words.
CONVERSION_NAMES = {
    "date_ymd": gettext_lazy("日期写作 年/月/日"),
    "date_chinese": gettext_lazy("中文日期 年月日"),
    "date_compact": gettext_lazy("8 位数字日期"),
    "date_time": gettext_lazy("日期带时间（时间已舍去）"),
    "date_serial": gettext_lazy("Excel 日期序号"),
    "currency": gettext_lazy("去掉货币符号和千位分隔符"),
    "grouped": gettext_lazy("去掉千位分隔符"),
    "fullwidth": gettext_lazy("全角字符转为半角"),
    "bool": gettext_lazy("是/否的其他写法"),
}


def conversions(table: str, found: list[dict]) -> list[dict]:
    """Return the conversions of a report with `label` (how) and `column_label` added; an
    Excel serial's example shows the number as the cell held it."""
    spec = spec_of(table)
    return [
        {
            **c,
            "label": str(CONVERSION_NAMES.get(c["code"], c["code"])),
            "column_label": label_of(table, c["column"], spec),
            "example": c["example"].removeprefix(EXCEL_SERIAL),
        }
        for c in found
    ]


def worded(table: str, problems: list[dict]) -> list[dict]:
    """Return the problems with `why`, `expected_text` and `column_label` added, in the
    viewer's language (`message`: the data layer's English text)."""
    spec = spec_of(table)
    return [
        {
            **p,
            "why": message(p),
            "expected_text": expected(table, p.get("column"), p.get("code", ""), spec)
            or _stored(p.get("expected")),
            "message": i18n.render(i18n.from_json(p.get("message") or ""), "en"),
            "column_label": label_of(table, p["column"], spec) if p.get("column") else "",
        }
        for p in problems
    ]
