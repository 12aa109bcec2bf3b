"""Manual ratings end to end on the demo workspace (what `make demo` prepares): a sales rater
enters a score for a customer nobody has rated yet, a score outside the scale is refused, the
rater submits, the analyst approves, and a new run of the scheme uses the rating."""

from __future__ import annotations

import re

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SCHEME = "customer-composite"
PERIOD = "2025"
INDICATOR = "manager_rating"  # 客户经理评分: scale 0–100, weight 0.10 of 100 points → max 10
SCORE = 88
RUN_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def unrated(demo_server) -> str:
    """A customer of the demo data without any imported manager_rating for 2025."""
    folder = demo_server.home / "samples" / SCHEME
    customers = pacsv.read_csv(folder / "customers.csv")["customer_id"].to_pylist()
    ratings = pacsv.read_csv(folder / "ratings.csv")
    rated = ratings.filter(
        pc.and_(
            pc.equal(ratings["indicator"], INDICATOR),
            pc.equal(pc.cast(ratings["period"], "string"), PERIOD),
        )
    )
    seen = set(rated["entity_id"].to_pylist())
    free = [c for c in customers if c not in seen]
    assert free, "the demo data should leave some customers unrated"
    return free[0]


def manager_rating_row(page):
    return page.locator("tr#node-manager_rating")


def test_it_takes_a_rating_from_entry_to_approval_into_a_new_run(
    page_as, demo_server, unrated, shot
):
    # The run setup_demo made: this customer's manager rating is missing (0 of 10 points).
    analyst = page_as("demo", on=demo_server)
    analyst.goto(f"/runs/?scheme={SCHEME}")
    analyst.locator("table.grid tbody tr td a").first.click()
    expect(analyst.locator("h1 .status")).to_have_text("已完成")
    old_run = analyst.url
    expect(analyst.locator("dt:has-text('采用的人工评分') + dd")).to_contain_text("0 条")
    analyst.goto(f"{old_run}entities/{unrated}/")
    expect(manager_rating_row(analyst)).to_contain_text("缺失")
    old_grade = analyst.locator(".sc-grade").inner_text().strip()
    expect(manager_rating_row(analyst).locator(".sc-points")).to_contain_text(
        re.compile(r"(^|\s)(0|0\.0|—) / 10(\.0)?\b")  # points in the scheme's precision
    )

    # 1. The sales rater finds the customer on the worklist and opens the cell.
    rater = page_as("rater", on=demo_server)
    rater.goto(f"/ratings/?scheme={SCHEME}&period={PERIOD}&q={unrated}")
    expect(rater.locator("table.ratings tbody tr")).to_have_count(1)
    shot(rater, "ratings-worklist")
    rater.locator("table.ratings tbody tr td.cell a").first.click()
    expect(rater).to_have_url(re.compile(rf"/ratings/{SCHEME}/{PERIOD}/{unrated}/{INDICATOR}/"))
    expect(rater.locator("h1")).to_contain_text("客户经理评分")
    expect(rater.get_by_text("0 – 100")).to_be_visible()  # the scale, in words
    shot(rater, "rating-form")

    # 2. A score outside the scale: the browser refuses it, and so does the server.
    score = rater.locator("input[name=score]")
    score.fill("150")
    rater.get_by_role("button", name="提交审批").click()
    assert score.evaluate("el => !el.checkValidity()")
    expect(rater).to_have_url(re.compile(rf"/{INDICATOR}/"))
    rater.locator("form.rating-form").evaluate("f => { f.noValidate = true; }")
    rater.get_by_role("button", name="提交审批").click()
    expect(rater.locator("[role=alert]")).to_contain_text("分值 150 超出量表 0")
    shot(rater, "rating-refused")

    # 3. A draft first, then submitted for approval.
    rater.locator("input[name=score]").fill(str(SCORE))
    rater.locator("textarea[name=comment]").fill("合作稳定,回款及时")
    rater.get_by_role("button", name="保存草稿").click()
    expect(rater.locator("ul.messages")).to_contain_text("评分草稿已保存")
    rater.goto(f"/ratings/{SCHEME}/{PERIOD}/{unrated}/{INDICATOR}/")
    expect(rater.locator("input[name=score]")).to_have_value(str(SCORE))
    rater.get_by_role("button", name="提交审批").click()
    expect(rater.locator("ul.messages")).to_contain_text("评分已提交")
    rater.goto(f"/ratings/{SCHEME}/{PERIOD}/{unrated}/{INDICATOR}/")
    expect(rater.locator(".rating-form")).to_have_count(0)  # no longer editable
    expect(rater.locator("section.card").nth(1)).to_contain_text("已提交")

    # 4. The analyst approves it on the review page.
    analyst.goto(f"/ratings/review/?scheme={SCHEME}&q={unrated}")
    row = analyst.locator("table.grid tbody tr", has_text=unrated)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("已提交")
    shot(analyst, "ratings-review")
    row.get_by_role("button", name="批准").click()
    analyst.goto(f"/ratings/review/?scheme={SCHEME}&q={unrated}&status=approved")
    expect(analyst.locator("table.grid tbody tr", has_text=unrated)).to_contain_text("已批准")

    # 5. A new run with the same settings reads the approved rating: 88 of 100 → 8.8 of 10.
    analyst.goto(old_run)
    analyst.get_by_role("button", name="以相同设置重新运行").click()  # confirms the dialog
    expect(analyst).not_to_have_url(old_run)
    expect(analyst.locator("h1 .status")).to_have_text("已完成", timeout=RUN_TIMEOUT)
    expect(analyst.locator("dt:has-text('采用的人工评分') + dd")).to_contain_text("1 条")
    new_run = analyst.url
    analyst.goto(f"{new_run}entities/{unrated}/")
    row = manager_rating_row(analyst)
    expect(row).not_to_contain_text("缺失")
    expect(row.locator(".sc-value")).to_have_text(str(SCORE))
    expect(row.locator(".sc-points")).to_contain_text(re.compile(r"8\.80? / 10\b"))
    shot(analyst, "scorecard-with-rating")
    new_grade = analyst.locator(".sc-grade").inner_text().strip()

    # 6. The two runs compared: the customer sits in the cell (old grade → new grade) of the
    # grade migration matrix, and the cell's drill-down lists it.
    old_id = re.search(r"/runs/(\d+)/", old_run).group(1)
    new_id = re.search(r"/runs/(\d+)/", new_run).group(1)
    analyst.goto(f"/runs/compare/?a={old_id}&b={new_id}")
    expect(analyst.locator("table.matrix")).to_be_visible()
    shot(analyst, "compare")
    analyst.locator(f"table.matrix a[href*='ga={old_grade}&gb={new_grade}']").click()
    expect(analyst).to_have_url(re.compile(r"/runs/compare/entities/\?"))
    expect(analyst.locator("main")).to_contain_text(unrated)
    shot(analyst, "compare-entities")
