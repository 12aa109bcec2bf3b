"""Reading results with DuckDB over the run's Parquet file: filters, sorts, pages, names."""

from unittest import mock

import duckdb
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import results
from pingji.web.runs.files import results_file


class ResultsQueryTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)
        cls.done = finished_run(cls.version, "2025", cls.analyst)

    def ids(self, **kwargs) -> list[str]:
        return [r["entity_id"] for r in results.query(self.done, **kwargs).rows]

    def test_it_pages_with_a_total(self):
        page = results.query(self.done, sort="score", page=3, size=3, select=["entity_id", "score"])
        self.assertEqual((page.total, page.pages, page.columns), (8, 3, ["entity_id", "score"]))
        self.assertEqual(
            [(r["entity_id"], r["score"]) for r in page.rows], [("K02", 95.0), ("K01", 100.0)]
        )
        self.assertEqual(results.query(self.done, page=4, size=3).rows, [])  # past the end: empty

    def test_it_filters_on_lists_and_missing_values(self):
        self.assertEqual(self.ids(action="call", sort="entity_id"), ["K06", "K07", "K08"])
        self.assertEqual(
            self.ids(status=results.NO_GRADE, sort="entity_id"), ["K01", "K02", "K03", "K04", "K05"]
        )
        self.assertEqual(self.ids(grade=results.NO_GRADE), [])
        self.assertEqual(
            self.ids(entity_ids=["K03", "K07", "nobody"], sort="entity_id"), ["K03", "K07"]
        )

    def test_it_matches_search_text_literally(self):
        self.assertEqual(self.ids(search="K_1"), [])
        self.assertEqual(self.ids(search="k01"), ["K01"])
        self.assertEqual(self.ids(search="电子"), ["K02"])

    def test_it_sorts_grades_in_the_schemes_order(self):
        self.assertEqual(
            results.order_by("grade", ["grade", "score"], ["A", "B"]).split(" ")[0],
            "nullif(list_position(['A',",
        )
        self.assertEqual(self.ids(sort="grade")[:3], ["K01", "K02", "K03"])
        self.assertEqual(results.order_by("-x; drop", ["entity_id"]), "entity_id ASC")

    def test_it_names_entities_from_the_latest_entity_batch(self):
        folder = self.home / "renamed"
        folder.mkdir(exist_ok=True)
        (folder / "customers.csv").write_text(
            "customer_id,name\nK02,南方电子集团\nK03,Acme (Shanghai) Co.\n", encoding="utf-8"
        )
        commit_batch(folder / "customers.csv", "customers", self.analyst)
        run = finished_run(self.version, "2025", self.analyst)
        names = results.entity_names(run, ["K01", "K02", "nobody"])
        self.assertEqual(names, {"K01": "华东机电有限公司", "K02": "南方电子集团"})
        self.assertEqual([r["entity_id"] for r in results.query(run, search="集团").rows], ["K02"])
        self.assertEqual(results.query(run, search="南方电子股份").rows, [])  # the old name is gone
        # Latin letters: case-blind, punctuation literal
        self.assertEqual(
            [r["entity_id"] for r in results.query(run, search="acme (shang").rows], ["K03"]
        )
        self.assertEqual(results.query(run, search="acme.(").rows, [])
        self.assertEqual(results.entity_names(self.done, ["K02"]), {"K02": "南方电子股份公司"})

    def test_names_kept_in_memory_are_those_the_names_table_gives(self):
        ids = ["K01", "K02", "K08", "nobody", "K01"]
        table = results.names_table(self.done)
        kept = results._names_dicts.get(table)
        self.assertIsNotNone(kept)  # eight entities: kept in a dict
        from_memory = results.entity_names(self.done, ids)
        with mock.patch.dict(results._names_dicts, clear=True):  # as a large table: a query
            self.assertEqual(results.entity_names(self.done, ids), from_memory)
        self.assertEqual(from_memory["K02"], "南方电子股份公司")
        self.assertNotIn("nobody", from_memory)

    def test_the_names_of_a_large_entity_table_are_not_kept_in_memory(self):
        with (
            mock.patch.object(results, "NAMES_IN_MEMORY", 3),
            mock.patch.dict(results._names, clear=True),
            mock.patch.dict(results._names_dicts, clear=True),
        ):
            table = results.names_table(self.done)  # made anew: eight entities, more than 3
            self.assertNotIn(table, results._names_dicts)
            self.assertEqual(results.entity_names(self.done, ["K02"]), {"K02": "南方电子股份公司"})

    def test_the_results_file_is_what_the_page_reads(self):
        n = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{results_file(self.done)}')"
        ).fetchone()[0]
        self.assertEqual(n, results.query(self.done).total)
        self.assertEqual(results.entity_row(self.done, "K04")["grade"], "B")
        self.assertIsNone(results.entity_row(self.done, "K99"))


class DeepPagesTest(WebTestCase):
    """Past LATE_ROWS rows a page sorts the sort keys alone and then reads its full rows."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.done = finished_run(small_scheme(cls.analyst), "2025", cls.analyst)

    def test_a_deep_page_holds_the_same_rows_as_a_shallow_one(self):
        from unittest import mock

        shallow = results.query(self.done, sort="-grade", page=2, size=3)
        with mock.patch.object(results, "LATE_ROWS", 1):
            deep = results.query(self.done, sort="-grade", page=2, size=3)
            last = results.query(self.done, sort="score", page=3, size=3, select=["entity_id"])
            beyond = results.query(self.done, page=9, size=3)
            searched = results.query(self.done, search="有限", sort="score", page=2, size=3)
        self.assertEqual(deep.rows, shallow.rows)
        self.assertEqual([r["entity_id"] for r in deep.rows], ["K04", "K05", "K01"])
        self.assertEqual((deep.total, deep.columns), (8, shallow.columns))
        self.assertEqual(last.rows, [{"entity_id": "K02"}, {"entity_id": "K01"}])
        self.assertEqual((beyond.rows, beyond.total), ([], 8))
        # K02 is a 股份公司: 7 names hold 有限; by score: K07 K06 K08 | K05 K04 K03 | K01
        self.assertEqual([r["entity_id"] for r in searched.rows], ["K05", "K04", "K03"])
        self.assertEqual(searched.total, 7)
        scores = results.query(self.done, search="K0", sort="score", size=3, select=["score"])
        self.assertEqual(scores.rows, [{"score": 10.0}, {"score": 30.0}, {"score": 45.0}])

    def test_a_name_search_with_many_matches_is_joined_in_the_query(self):
        from unittest import mock

        inline = results.query(self.done, search="有限", sort="entity_id")
        with mock.patch.object(results, "NAME_MATCHES_INLINE", 2):
            joined = results.query(self.done, search="有限", sort="entity_id")
        self.assertEqual(joined.rows, inline.rows)
        self.assertEqual(
            [r["entity_id"] for r in joined.rows], ["K01", "K03", "K04", "K05", "K06", "K07", "K08"]
        )
