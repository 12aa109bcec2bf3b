"""What a scorecard keeps in memory between views: the rows of a run's files (lib/keyed_rows.py)
and what it says of a scheme whatever the entity. Kept things are reused for a finished run,
give what DuckDB gives, and are read anew when a file is written anew."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.web.runs.test_scorecard import ENTITY, ScorecardCase

from pingji.web.lib import keyed_rows
from pingji.web.runs import scorecard
from pingji.web.runs.files import raw_file, results_file


@pytest.fixture(autouse=True)
def _nothing_kept():
    keyed_rows.clear()
    yield
    keyed_rows.clear()


def _write(path, rows: dict, stamp_ns: int) -> None:
    pq.write_table(pa.table(rows), path)
    os.utime(path, ns=(stamp_ns, stamp_ns))


def test_a_file_is_read_once_and_its_rows_found_by_key(tmp_path):
    path = tmp_path / "results.parquet"
    _write(path, {"entity_id": ["a", "b", "a"], "score": [1.5, 2.0, 9.0]}, 10**18)
    kept = keyed_rows.keyed(path)
    assert keyed_rows.keyed(path) is kept  # the same file: not read again
    assert kept.row("a") == {"entity_id": "a", "score": 1.5}  # the first row of a key
    assert kept.row("b", ["score", "absent"]) == {"score": 2.0}
    assert kept.row("c") is None


def test_a_file_written_anew_is_read_anew(tmp_path):
    path = tmp_path / "results.parquet"
    _write(path, {"entity_id": ["a"], "score": [1.5]}, 10**18)
    assert keyed_rows.keyed(path).row("a")["score"] == 1.5
    _write(path, {"entity_id": ["a"], "score": [7.25]}, 10**18 + 1)
    assert keyed_rows.keyed(path).row("a")["score"] == 7.25


def test_rows_hold_the_values_duckdb_gives(tmp_path):
    path = tmp_path / "results.parquet"
    duckdb.execute(
        "COPY (SELECT 'a' AS entity_id, 12.5::DECIMAL(18, 4) AS amount, DATE '2025-01-31' AS d,"
        " ['r1', 'r2'] AS reasons, true AS passed, NULL::DOUBLE AS score, 3 AS n)"
        f" TO '{path}' (FORMAT parquet)"
    )
    cur = duckdb.execute(f"SELECT * FROM read_parquet('{path}')")
    expected = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    row = keyed_rows.keyed(path).row("a")
    assert repr(row) == repr(expected)
    assert row["amount"] == Decimal("12.5000") and row["d"] == dt.date(2025, 1, 31)


def test_files_too_large_or_with_zoned_times_are_left_to_duckdb(tmp_path, monkeypatch):
    zoned = tmp_path / "zoned.parquet"
    stamp = pa.array([dt.datetime(2025, 1, 1, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"entity_id": ["a"], "at": stamp}), zoned)
    assert keyed_rows.keyed(zoned) is None
    large = tmp_path / "large.parquet"
    pq.write_table(pa.table({"entity_id": ["a", "b"], "x": [1, 2]}), large)
    monkeypatch.setattr(keyed_rows, "FILE_CELLS", 3)
    assert keyed_rows.keyed(large) is None
    assert keyed_rows.keyed(tmp_path / "missing.parquet") is None


def test_the_least_recently_used_files_go_first(tmp_path, monkeypatch):
    monkeypatch.setattr(keyed_rows, "KEPT_CELLS", 8)  # two files of two rows, two columns
    paths = [tmp_path / f"{i}.parquet" for i in range(3)]
    for p in paths:
        pq.write_table(pa.table({"entity_id": ["a", "b"], "x": [1, 2]}), p)
    first = keyed_rows.keyed(paths[0])
    keyed_rows.keyed(paths[1])
    assert keyed_rows.keyed(paths[0]) is first  # used again: now the most recent
    keyed_rows.keyed(paths[2])  # the third pushes out the least recently used (paths[1])
    assert keyed_rows.keyed(paths[0]) is first
    assert len(keyed_rows._kept) == 2


class ScorecardKeptTest(ScorecardCase):
    def test_a_finished_runs_files_are_kept_and_the_card_is_what_duckdb_gives(self):
        card = scorecard.build(self.test_run, ENTITY)
        kept = keyed_rows.keyed(results_file(self.test_run))
        self.assertIsNotNone(kept)
        self.assertIs(keyed_rows.keyed(results_file(self.test_run)), kept)
        self.assertEqual(scorecard.build(self.test_run, ENTITY), card)  # read from memory
        # the same card when nothing is kept (DuckDB reads the files)
        keyed_rows.clear()
        original = keyed_rows.FILE_CELLS
        keyed_rows.FILE_CELLS = 0
        try:
            self.assertEqual(scorecard.build(self.test_run, ENTITY), card)
            self.assertEqual(scorecard.build(self.test_run, "nobody"), None)
        finally:
            keyed_rows.FILE_CELLS = original
            keyed_rows.clear()

    def test_a_results_file_written_anew_is_not_shown_stale(self):
        self.assertEqual(scorecard.build(self.test_run, ENTITY)["score"], 70.0)
        path = results_file(self.test_run)
        saved = path.read_bytes()
        stat = path.stat()
        try:
            changed = path.with_suffix(".new.parquet")
            duckdb.execute(
                f"COPY (SELECT * REPLACE (CASE WHEN entity_id = '{ENTITY}' THEN 12.5 ELSE score "
                f"END AS score) FROM read_parquet('{path}')) TO '{changed}' (FORMAT parquet)"
            )
            os.replace(changed, path)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
            self.assertEqual(scorecard.build(self.test_run, ENTITY)["score"], 12.5)
        finally:
            path.write_bytes(saved)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        keyed_rows.clear()

    def test_the_raw_file_and_the_entity_batch_are_kept_too(self):
        card = scorecard.build(self.test_run, ENTITY)
        self.assertIsNotNone(keyed_rows.keyed(raw_file(self.test_run)))
        self.assertIsNotNone(keyed_rows.keyed(self.batch_file("customers"), "customer_id"))
        self.assertEqual(card["entity"]["batch"], self.batch_of("customers"))
        self.assertTrue(card["entity"]["attributes"])

    def test_what_is_said_of_a_scheme_is_worked_out_once(self):
        rs = scorecard.resolved(self.test_run)
        self.assertIs(scorecard._static(rs), scorecard._static(rs))
        for rn in rs.nodes.values():
            self.assertEqual(
                scorecard._static(rs)["nodes"][rn.id]["metrics"], scorecard.node_metrics(rs, rn)
            )

    def batch_of(self, table: str) -> int:
        (batch,) = [b for b in self.batches if b.table == table]
        return batch.pk
