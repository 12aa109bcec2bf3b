"""What the run page keeps between requests (runs/detail.html's cached fragments, results'
entity files, lib/links): a done run's figures and results table are drawn once per run,
language and query — and never shown in another language, to another user's rights, for a
voided run without saying so, or for another run that got the same id."""

from datetime import timedelta

from django.conf import settings
from django.test import SimpleTestCase
from django.urls import reverse
from tests.web.runs.support import finished_run, import_small, small_scheme

from pingji.web.lib.links import links_to
from pingji.web.lib.testing import WebTestCase
from pingji.web.runs import results
from pingji.web.runs.models import Run
from pingji.web.runs.services import void_run


class RunPageCacheTest(WebTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        import_small(cls.analyst)
        cls.version = small_scheme(cls.analyst)

    def setUp(self):
        # a run of its own per test: a voided or changed run does not leak into the next test
        self.run = finished_run(self.version, "2025", self.analyst)

    def page(self, user, query: str = "", lang: str | None = None):
        self.login(user)
        if lang:
            self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        response = self.client.get(reverse("runs:detail", args=[self.run.pk]) + query)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_cached_table_and_figures_follow_the_language(self):
        chinese = self.page(self.viewer)
        self.assertIn(">编号</a>", chinese)  # the results table's first header
        self.assertIn("评价对象</div>", chinese)  # the tile of the run's figures
        english = self.page(self.viewer, lang="en")
        self.assertIn(">ID</a>", english)
        self.assertIn("Entities</div>", english)
        self.assertNotIn(">编号</a>", english)
        again = self.page(self.viewer, lang="zh-hans")
        self.assertIn(">编号</a>", again)
        self.assertNotIn(">ID</a>", again)

    def test_a_viewer_never_sees_what_a_page_drawn_for_an_analyst_offers(self):
        analyst = self.page(self.analyst)
        self.assertIn(reverse("runs:void", args=[self.run.pk]), analyst)
        self.assertIn(reverse("runs:rerun", args=[self.run.pk]), analyst)
        viewer = self.page(self.viewer)  # the same run and query: its fragments are cached
        self.assertNotIn(reverse("runs:void", args=[self.run.pk]), viewer)
        self.assertNotIn(reverse("runs:rerun", args=[self.run.pk]), viewer)
        self.assertIn(">编号</a>", viewer)
        # and each sees their own name and CSRF token, never the other's
        self.assertIn(">viewer<", viewer)
        self.assertNotIn(">analyst<", viewer)

    def test_a_voided_run_says_so_and_leaves_the_run_list_of_counted_runs(self):
        self.page(self.viewer)
        void_run(self.run, self.analyst, "wrong data")
        page = self.page(self.viewer)
        self.assertIn("已作废", page)
        self.assertIn(">编号</a>", page)  # its results stay readable
        self.login(self.viewer)
        listed = self.client.get(reverse("runs:list") + "?voided=no").context["page"]
        self.assertNotIn(self.run.pk, [r.pk for r in listed.object_list])

    def test_each_query_has_its_own_table(self):
        by_id = self.page(self.viewer, "?sort=entity_id")
        by_score = self.page(self.viewer, "?sort=-score")
        self.assertLess(by_id.index(">K01</a>"), by_id.index(">K08</a>"))
        # by score: K01 100 … K08 45 before K06 30 and K07 10
        self.assertLess(by_score.index(">K08</a>"), by_score.index(">K06</a>"))
        self.assertLess(by_score.index(">K06</a>"), by_score.index(">K07</a>"))
        graded = self.page(self.viewer, "?grade=B")
        self.assertIn("符合条件的 2 个（共 8 个）", graded)
        self.assertNotIn(">K01</a>", graded)
        self.assertIn(">K04</a>", graded)

    def test_another_run_under_the_same_id_is_drawn_anew(self):
        # a database restored from a backup can give a new run an id used before
        self.assertIn(">K08</a>", self.page(self.viewer))
        summary = {**self.run.summary, "entities": 3}
        Run.objects.filter(pk=self.run.pk).update(
            summary=summary, created_at=self.run.created_at + timedelta(seconds=1)
        )
        page = self.page(self.viewer, "?grade=B")
        self.assertIn("符合条件的 2 个（共 3 个）", page)
        self.assertIn("<b>3</b>评价对象", page)

    def test_the_rows_link_to_their_scorecards(self):
        page = self.page(self.viewer)
        for entity in ("K01", "K08"):
            url = reverse("runs:scorecard", args=[self.run.pk, entity])
            self.assertIn(f'<a href="{url}">{entity}</a>', page)

    def test_the_entity_files_of_a_run_are_those_it_read(self):
        files = results.entity_files(self.run)
        self.assertEqual(len(files), 1)
        self.assertTrue(files[0].endswith(".parquet"))
        self.assertEqual(results.entity_files(self.run), files)  # kept: asked again
        files.append("changed by a caller")
        self.assertEqual(len(results.entity_files(self.run)), 1)  # a copy each time


class LinksToTest(SimpleTestCase):
    IDS = ("K01", "a b", "中文客户", "x%y", "a/b", "a?b#c", "'\"<>&", "~:@!$&()*+,;=", "-")

    def test_it_gives_what_reverse_gives(self):
        scorecard = links_to("runs:scorecard", 7)
        for entity in self.IDS:
            with self.subTest(entity=entity):
                self.assertEqual(scorecard(entity), reverse("runs:scorecard", args=[7, entity]))
        why = links_to("runs:why", 7, "a/b 中")
        for metric in ("sales", "销售额", "x y", "p%"):
            with self.subTest(metric=metric):
                self.assertEqual(why(metric), reverse("runs:why", args=[7, "a/b 中", metric]))

    def test_a_value_reverse_refuses_is_refused(self):
        from django.urls import NoReverseMatch

        why = links_to("runs:why", 7, "K01")
        with self.assertRaises(NoReverseMatch):
            why("a/b")  # a metric name holds no slash
        with self.assertRaises(NoReverseMatch):
            links_to("runs:scorecard", 7)("")

    def test_a_route_whose_last_part_is_not_last_is_refused(self):
        with self.assertRaises(ValueError):
            links_to("runs:export_download", 7)  # its job id is followed by download/
