"""The "why" page: the fact rows behind one metric of one entity in a run.

Each count and sum is checked against DuckDB reading the batch's Parquet file directly with
the window written out by hand (customer C000001, period 2025; see test_scorecard.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import duckdb
from django.urls import reverse
from tests.web.runs.test_scorecard import ENTITY, ScorecardCase

from pingji.web.ratings.models import Rating
from pingji.web.runs import scorecard


def direct(sql: str, *args):
    return duckdb.connect().execute(sql, list(args)).fetchone()


class WhyTest(ScorecardCase):
    def url(self, run, metric: str, entity: str = ENTITY) -> str:  # type: ignore[override]
        return reverse("runs:why", args=[run.pk, entity, metric])

    def test_it_lists_the_rows_of_the_period_and_recomputes_the_sum(self):
        why = scorecard.why(self.run_2025, ENTITY, "sales")
        count, total = direct(
            "SELECT count(*), sum(amount) FROM read_parquet(?) WHERE customer_id = ? "
            "AND date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'",
            self.batch_file("sales"),
            ENTITY,
        )
        self.assertEqual((why["total"], count), (5, 5))
        self.assertEqual(total, Decimal("2000000.0000"))
        self.assertEqual(why["recomputed"], "2000000.0000")
        self.assertIs(why["matches"], True)
        self.assertEqual(why["window"]["words"], "本期")
        self.assertEqual(why["window"]["span"], "2025-01-01 至 2025-12-31")
        self.assertEqual([c["name"] for c in why["columns"]][:3], ["customer_id", "date", "amount"])
        self.assertEqual(
            [r["cells"][1]["value"] for r in why["rows"]],
            ["2025-02-10", "2025-04-10", "2025-06-10", "2025-08-10", "2025-10-10"],
        )
        (sales_batch,) = [b.pk for b in self.batches if b.table == "sales"]
        self.assertEqual({r["batch"] for r in why["rows"]}, {sales_batch})
        self.assertEqual(why["used_by"], [{"id": "sales_volume", "label": "销售量"}])
        self.assertEqual(
            [u["name"] for u in why["used_in"]], ["sales_growth", "collection_rate", "return_rate"]
        )

    def test_it_uses_the_previous_period_for_a_previous_window(self):
        why = scorecard.why(self.run_2025, ENTITY, "prev_sales")
        count, total = direct(
            "SELECT count(*), sum(amount) FROM read_parquet(?) WHERE customer_id = ? "
            "AND date BETWEEN DATE '2024-01-01' AND DATE '2024-12-31'",
            self.batch_file("sales"),
            ENTITY,
        )
        self.assertEqual(why["total"], count)
        self.assertEqual(why["recomputed"], str(total))
        self.assertEqual(why["recomputed"], "1600000.0000")
        self.assertEqual(why["window"]["span"], "2024-01-01 至 2024-12-31")

    def test_it_applies_the_where_condition_and_a_last_months_window(self):
        why = scorecard.why(self.test_run, ENTITY, "planned_6m")
        count, total = direct(
            "SELECT count(*), sum(count) FROM read_parquet(?) WHERE entity_id = ? "
            "AND type = 'planned_households' "
            "AND date BETWEEN DATE '2025-07-01' AND DATE '2025-12-31'",
            self.batch_file("events"),
            ENTITY,
        )
        self.assertEqual(why["total"], count)
        self.assertEqual(why["recomputed"], total)
        self.assertIs(why["matches"], True)
        self.assertEqual(why["where"], "type = 'planned_households'")
        self.assertEqual(why["window"]["words"], "最近 6 个月")
        self.assertEqual(why["window"]["span"], "2025-07-01 至 2025-12-31")
        self.assertTrue(all(r["cells"][2]["value"] == "planned_households" for r in why["rows"]))

    def test_a_where_condition_may_use_a_parameter(self):
        why = scorecard.why(self.test_run, ENTITY, "big_orders")
        (count,) = direct(
            "SELECT count(*) FROM read_parquet(?) WHERE customer_id = ? AND amount >= 300000 "
            "AND date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'",
            self.batch_file("sales"),
            ENTITY,
        )
        self.assertEqual((why["total"], why["recomputed"]), (count, 5))

    def test_it_shows_the_first_100_rows_and_the_csv_has_them_all(self):
        why = scorecard.why(self.test_run, ENTITY, "all_events")
        (count,) = direct(
            "SELECT count(*) FROM read_parquet(?) WHERE entity_id = ? AND date <= DATE '2025-12-31'",
            self.batch_file("events"),
            ENTITY,
        )
        self.assertGreater(count, 100)
        self.assertEqual((why["total"], why["recomputed"]), (count, count))
        self.assertEqual(len(why["rows"]), 100)
        self.login(self.viewer)
        page = self.client.get(self.url(self.test_run, "all_events"))
        self.assertContains(page, f"共 {count} 行，下面列出前 100 行")
        self.assertContains(page, "?format=csv")
        response = self.client.get(self.url(self.test_run, "all_events") + "?format=csv")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment", response["Content-Disposition"])
        body = b"".join(response.streaming_content).decode("utf-8")
        self.assertTrue(body.startswith("\ufeff"))
        rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
        self.assertEqual(len(rows), count)
        self.assertEqual(
            list(rows[0]), ["entity_id", "date", "type", "count", "import_batch", "batch_row"]
        )
        self.assertEqual({r["entity_id"] for r in rows}, {ENTITY})
        self.assertEqual([r["date"] for r in rows], sorted(r["date"] for r in rows))

    def test_the_csv_of_a_sum_adds_up_to_the_metric(self):
        self.login(self.analyst)
        response = self.client.get(self.url(self.run_2025, "sales") + "?format=csv")
        body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(body)))
        self.assertEqual(sum(Decimal(r["amount"]) for r in rows), Decimal("2000000"))

    def test_a_latest_metric_lists_rows_up_to_the_period_end_latest_first(self):
        why = scorecard.why(self.test_run, ENTITY, "net_profit")
        count, latest = direct(
            "SELECT count(*), arg_max(net_profit, period_end) FROM read_parquet(?) "
            "WHERE customer_id = ? AND period_end <= DATE '2025-12-31'",
            self.batch_file("financials"),
            ENTITY,
        )
        self.assertEqual(why["total"], count)
        names = [c["name"] for c in why["columns"]]
        first = why["rows"][0]["cells"]
        self.assertEqual(first[names.index("net_profit")]["value"], str(latest))
        self.assertEqual(why["metric"]["value"], str(latest))
        dates = [r["cells"][names.index("period_end")]["value"] for r in why["rows"]]
        self.assertEqual(dates, sorted(dates, reverse=True))

    def test_a_first_or_last_date_is_recomputed_as_a_date(self):
        why = scorecard.why(self.test_run, ENTITY, "last_sale")
        self.assertEqual(why["recomputed"], "2025-10-10")
        self.assertIs(why["matches"], True)

    def test_a_rating_lists_each_rating_and_their_mean(self):
        why = scorecard.why(self.run_2025, ENTITY, "manager_rating")
        self.assertEqual(why["total"], 2)
        names = [c["name"] for c in why["columns"]]
        self.assertEqual(
            sorted(r["cells"][names.index("score")]["value"] for r in why["rows"]), [75.0, 85.0]
        )
        self.assertEqual((why["recomputed"], why["matches"]), (80.0, True))
        self.assertIs(why["manual_ratings_used"], False)

    def test_an_approved_rating_in_the_app_is_listed_with_the_imported_ones(self):
        Rating.objects.create(
            scheme=self.composite.scheme,
            indicator="manager_rating",
            entity_id=ENTITY,
            period="2025",
            score=Decimal("50"),
            status=Rating.Status.APPROVED,
            rater=self.rater,
            department=self.sales,
        )
        run = self.finished(self.composite, "2025")
        why = scorecard.why(run, ENTITY, "manager_rating")
        self.assertEqual(why["total"], 3)
        # the mean over raters: the imported 75 and 85 are one rater's (→ 80), the app's 50
        # another's → (80 + 50) / 2
        self.assertEqual((why["recomputed"], why["matches"]), (65.0, True))
        self.assertIs(why["manual_ratings_used"], True)
        self.assertEqual(sum(1 for r in why["rows"] if r["batch"] is None), 1)
        self.login(self.viewer)
        self.assertContains(self.client.get(self.url(run, "manager_rating")), "系统内评分")

    def test_an_attribute_names_its_column_and_batch(self):
        why = scorecard.why(self.test_run, ENTITY, "region")
        self.assertEqual(why["attribute"]["value"], "东北")
        self.assertEqual(why["column"], "region")
        (customers,) = [b.pk for b in self.batches if b.table == "customers"]
        self.assertEqual(why["batches"], [customers])
        self.assertIs(why["csv"], False)

    def test_a_formula_lists_its_inputs(self):
        why = scorecard.why(self.run_2025, ENTITY, "collection_rate")
        self.assertEqual(why["expression"], "payments / sales")
        self.assertEqual(
            [(i["name"], i["value"]) for i in why["inputs"]],
            [("sales", "2000000.0000"), ("payments", "1840000.0000")],
        )
        self.assertEqual(why["metric"]["value"], 0.92)
        self.login(self.viewer)
        page = self.client.get(self.url(self.run_2025, "collection_rate"))
        self.assertContains(page, "payments / sales")
        self.assertContains(page, reverse("runs:why", args=[self.run_2025.pk, ENTITY, "payments"]))
        self.assertEqual(
            self.client.get(self.url(self.run_2025, "collection_rate") + "?format=csv").status_code,
            404,
        )

    def test_a_population_formula_says_it_compares_with_the_whole_run(self):
        from pingji.templates import builtin_text
        from pingji.web.schemes.services import add_version, publish

        abc = publish(add_version(builtin_text("customer-abc"), self.analyst), self.analyst)
        run = self.finished(abc, "2025")
        why = scorecard.why(run, ENTITY, "cumulative_share")
        self.assertEqual(why["expression"], "cum_share(ranked_revenue)")
        self.assertEqual(why["population"], ["cum_share"])
        # C000001 (the seed's example, 2,000,000 in 2025) is among the largest customers
        self.assertGreater(why["metric"]["value"], 0)
        self.login(self.viewer)
        page = self.client.get(self.url(run, "cumulative_share"))
        self.assertContains(page, "公式中的总体函数与本次评价的全部对象比较")
        card = self.client.get(reverse("runs:scorecard", args=[run.pk, ENTITY]))
        self.assertEqual(card.status_code, 200)

    def test_the_page_shows_the_window_the_condition_and_the_rows(self):
        self.login(self.viewer)
        response = self.client.get(self.url(self.test_run, "planned_6m"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "type = &#x27;planned_households&#x27;")
        self.assertContains(response, "最近 6 个月：2025-07-01 至 2025-12-31")
        self.assertContains(response, "与运行结果一致")
        self.assertContains(response, "近6个月计划户数")

    def test_it_is_json_serialisable(self):
        import json

        for name in ("sales", "net_profit", "manager_rating", "region", "collection_rate"):
            run = self.test_run if name in ("net_profit", "region") else self.run_2025
            why = scorecard.why(run, ENTITY, name)
            self.assertEqual(json.loads(json.dumps(why, ensure_ascii=False)), why, name)

    def test_raters_and_users_without_a_role_get_404(self):
        for user in (self.rater, self.rater_q, self.nobody):
            self.login(user)
            self.assertEqual(self.client.get(self.url(self.run_2025, "sales")).status_code, 404)
            csv_url = self.url(self.run_2025, "sales") + "?format=csv"
            self.assertEqual(self.client.get(csv_url).status_code, 404)

    def test_an_unknown_metric_or_entity_is_404(self):
        self.login(self.viewer)
        self.assertEqual(
            self.client.get(self.url(self.run_2025, "no_such_metric")).status_code, 404
        )
        self.assertEqual(
            self.client.get(self.url(self.run_2025, "sales", "C999999")).status_code, 404
        )
        csv_url = self.url(self.run_2025, "sales", "C999999") + "?format=csv"
        self.assertEqual(self.client.get(csv_url).status_code, 404)

    def test_it_only_answers_get(self):
        self.login(self.analyst)
        self.assertEqual(self.client.post(self.url(self.run_2025, "sales")).status_code, 405)
        self.assertEqual(self.client.delete(self.url(self.run_2025, "sales")).status_code, 405)
