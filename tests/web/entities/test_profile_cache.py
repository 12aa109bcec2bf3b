"""What an entity profile keeps in memory between views: every entity's fact summary per set
of fact files, and the rows of entity and results files (lib/keyed_rows.py). Kept things give
what the per-entity query gives, are reused for unchanged files and read anew for changed."""

from __future__ import annotations

import os

import duckdb
import pytest

from pingji.web.entities import data
from pingji.web.lib import keyed_rows


@pytest.fixture(autouse=True)
def _nothing_kept():
    data._summaries.clear()
    keyed_rows.clear()
    yield
    data._summaries.clear()
    keyed_rows.clear()


def _parquet(path, select: str, stamp_ns: int = 10**18):
    duckdb.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    os.utime(path, ns=(stamp_ns, stamp_ns))
    return path


SALES = (
    "SELECT * FROM (VALUES ('C1', DATE '2024-06-01', 40.00::DECIMAL(18, 4)),"
    " ('C1', DATE '2025-03-20', 250.25::DECIMAL(18, 4)), ('C2', DATE '2025-02-10', NULL),"
    " (NULL, DATE '2025-01-01', 1::DECIMAL(18, 4))) t(customer_id, date, amount)"
)
COMPLAINTS = (
    "SELECT * FROM (VALUES ('C1', DATE '2025-02-01', 'major')) t(entity_id, opened_at, severity)"
)


def _per_entity(facts, entity_id, monkeypatch):
    """The summaries as the one query per view gives them (nothing kept)."""
    with monkeypatch.context() as m:
        m.setattr(data, "SUMMARISED_ROWS", -1)
        data._summaries.clear()
        found = data.fact_summaries(facts, entity_id)
    data._summaries.clear()
    return found


def test_kept_summaries_are_what_the_per_entity_query_gives(tmp_path, monkeypatch):
    facts = {
        "sales": [_parquet(tmp_path / "sales.parquet", SALES)],
        "complaints": [_parquet(tmp_path / "complaints.parquet", COMPLAINTS)],
    }
    for entity in ("C1", "C2", "nobody", ""):
        kept = data.fact_summaries(facts, entity)
        assert repr(kept) == repr(_per_entity(facts, entity, monkeypatch)), entity
    c1 = data.fact_summaries(facts, "C1")
    assert (c1["sales"]["rows"], str(c1["sales"]["max_date"])) == (2, "2025-03-20")
    assert [str(v) for _, v in c1["sales"]["sums"]] == ["290.2500"]
    assert data.fact_summaries(facts, "nobody")["sales"]["sums"] == [("amount", None)]


def test_summaries_are_worked_out_once_per_set_of_files(tmp_path):
    paths = [_parquet(tmp_path / "sales.parquet", SALES)]
    kept = data._summarised("sales", paths)
    assert data._summarised("sales", paths) is kept
    more = [*paths, _parquet(tmp_path / "sales-2.parquet", SALES)]
    assert data.fact_summaries({"sales": more}, "C1")["sales"]["rows"] == 4  # a new set


def test_a_fact_file_written_anew_is_summarised_anew(tmp_path):
    path = _parquet(tmp_path / "sales.parquet", SALES)
    assert data.fact_summaries({"sales": [path]}, "C2")["sales"]["rows"] == 1
    _parquet(path, SALES.replace("'C1', DATE '2024", "'C2', DATE '2024"), 10**18 + 1)
    assert data.fact_summaries({"sales": [path]}, "C2")["sales"]["rows"] == 2


def test_kept_entity_and_results_rows_are_what_duckdb_gives(tmp_path, monkeypatch):
    customers = _parquet(
        tmp_path / "customers.parquet",
        "SELECT * FROM (VALUES ('C1', '甲公司'), ('C2', NULL)) t(customer_id, name)",
    )
    one = _parquet(
        tmp_path / "r1.parquet",
        "SELECT * FROM (VALUES ('C1', 70.5, 'A', 'big')) t(entity_id, score, grade, class)",
    )
    two = _parquet(  # an older run without classes
        tmp_path / "r2.parquet",
        "SELECT * FROM (VALUES ('C1', 40.0, 'C')) t(entity_id, score, grade)",
    )
    columns = ["score", "grade", "class", "status"]

    def both(entity):
        kept = (
            data.entity_record("customers", [customers], entity),
            data.result_rows([one, two], entity, columns),
        )
        with monkeypatch.context() as m:
            m.setattr(keyed_rows, "FILE_CELLS", 0)
            keyed_rows.clear()
            asked = (
                data.entity_record("customers", [customers], entity),
                data.result_rows([one, two], entity, columns),
            )
        keyed_rows.clear()
        return kept, asked

    for entity in ("C1", "C2", "nobody"):
        kept, asked = both(entity)
        assert repr(kept) == repr(asked), entity
    kept, _ = both("C1")
    assert kept[0] == {"customer_id": "C1", "name": "甲公司"}
    assert kept[1][str(two)] == {"score": 40.0, "grade": "C", "class": None}
