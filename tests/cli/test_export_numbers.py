"""`pingji evaluate --format xlsx/csv`: values rounded as shown, number formats (a rate as a
percentage), an autofilter, and the root node's columns, which repeat score and points, once.

Hand-computed (customer-composite, 2025):
  C1: sales 1,100,000 (2024: 1,000,000), payments 1,045,123, returns 22,000, rating 80.
      volume (1.1M − 0.1M) / 2M = 50 → 15 points; growth 0.1 / 0.25 = 40 → 12;
      collection 0.950111818… → 50.111818… → 10.022363…; returns 0.02 → 75 → 7.5;
      manager 80 → 8. Score 52.522363… → 52.5.
  C2: sales 300,000 (none in 2024), payments 300,000, no returns, rating 90.
      volume 10 → 3; growth missing → 0; collection 1 → 20; returns 0 → 10; manager 9.
      Score 42.0.
"""

from __future__ import annotations

import csv
import io
import textwrap

import pytest

from pingji.cli.main import main

TABLES = {
    "customers": "customer_id,name\nC1,甲公司\nC2,乙公司\n",
    "sales": "customer_id,date,amount\nC1,2024-03-01,1000000\nC1,2025-03-01,1100000\n"
    "C2,2025-05-01,300000\n",
    "payments": "customer_id,date,amount\nC1,2025-04-01,1045123\nC2,2025-06-01,300000\n",
    "returns": "customer_id,date,amount\nC1,2025-04-01,22000\n",
    "ratings": "entity_id,period,indicator,score\nC1,2025,manager_rating,80\n"
    "C2,2025,manager_rating,90\n",
}


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name, text in TABLES.items():
        (folder / f"{name}.csv").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def _evaluate(capsys, *args: str) -> str:
    try:
        code = main(["evaluate", "customer-composite", *args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code in (0, None), err
    return out


def test_excel_rounds_formats_and_filters(data, tmp_path, capsys) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "out.xlsx"
    _evaluate(capsys, "-d", str(data), "-p", "2025", "-f", "xlsx", "-o", str(target))
    ws = load_workbook(target)["结果"]
    labels = [c.value for c in ws[1]]
    ids = [c.value for c in ws[2]]
    assert len(set(labels)) == len(labels) and len(set(ids)) == len(ids)
    # the root's points and score are `points` and `score` again: left out
    assert "composite.points" not in ids and "composite.score" not in ids
    assert "回款率 得分率" in labels and not any("百分制" in str(x) for x in labels)
    assert ws.auto_filter.ref == f"A2:{ws.cell(row=2, column=len(ids)).column_letter}4"

    def cell(entity_row: int, column: str):
        return ws.cell(row=entity_row, column=ids.index(column) + 1)

    c1 = 3  # C1's row (two header rows)
    assert (cell(c1, "score").value, cell(c1, "score").number_format) == (52.5, "#,##0.0")
    rate = cell(c1, "collection_rate.value")
    assert (rate.value, rate.number_format) == (0.95, "0.0%")  # 0.950111… → 95.0%
    growth = cell(c1, "sales_growth.value")
    assert (growth.value, growth.number_format) == (0.1, "0.0%")
    sales = cell(c1, "sales_volume.value")
    assert (sales.value, sales.number_format) == (1100000, "#,##0.00")
    assert cell(c1, "collection_rate.score").value == 50.1
    assert cell(c1, "collection_rate.points").value == 10.0
    assert cell(4, "sales_growth.value").value is None  # C2: missing stays empty, not 0
    assert cell(4, "score").value == 42.0


def test_csv_values_are_rounded_as_shown(data, capsys) -> None:
    out = _evaluate(capsys, "-d", str(data), "-p", "2025", "-f", "csv")
    rows = {r["entity_id"]: r for r in csv.DictReader(io.StringIO(out))}
    c1 = rows["C1"]
    assert c1["score"] == "52.5"
    assert float(c1["collection_rate.value"]) == 0.95
    assert float(c1["collection_rate.score"]) == 50.1
    assert float(c1["return_rate.value"]) == 0.02
    assert rows["C2"]["sales_growth.value"] == ""  # missing, not 0
    # the CSV keeps every documented column (machines read it): nothing is dropped
    assert "composite.points" in c1


def test_jsonl_keeps_full_precision(data, capsys) -> None:
    import json

    out = _evaluate(capsys, "-d", str(data), "-p", "2025")
    c1 = json.loads(out.splitlines()[0])
    assert c1["score"] == pytest.approx(52.5223636, abs=1e-6)
