"""The rating sheet in a real browser, on the demo workspace: the sales rater types scores
into the grid with the keyboard (Tab to the right, Enter down the column), a score outside
the scale is shown at its cell with the allowed range and nothing typed is lost, the page is
saved as drafts, then everything is submitted at once. On a 390 px phone the grid scrolls
inside its card with the entity column standing still."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SCHEME = "satisfaction-survey"  # sales rates product_development and price_competitiveness
PERIOD = "2024"  # a period nobody else rates in the demo, so other tests are not disturbed
SHEET = f"/ratings/sheet/?scheme={SCHEME}&period={PERIOD}"
PHONE = {"width": 390, "height": 844}


def focused_name(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.name")


def test_it_rates_with_the_keyboard_saves_drafts_and_submits_all(page_as, demo_server, shot):
    page = page_as("rater", on=demo_server)
    problems: list[str] = []  # blocked scripts (Content-Security-Policy) or script errors
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(SHEET)
    expect(page.locator("h1")).to_contain_text("表格评分")
    header = page.locator("table.sheet thead")
    expect(header).to_contain_text("产品开发能力")
    expect(header).to_contain_text("量表 0–15")  # the scale in the header …
    expect(header.locator(".sheet-rule").first).not_to_be_empty()  # … and the rule in words
    inputs = page.locator("input.sheet-input")
    first = inputs.nth(0)
    first_name = first.get_attribute("name")
    entity = first_name.split("|", 2)[2]
    right = f"v|price_competitiveness|{entity}"
    assert first_name == f"v|product_development|{entity}"

    # Type, Tab to the right, type a score outside the scale, Enter down the column, type.
    first.click()
    page.keyboard.type("12")
    page.keyboard.press("Tab")
    assert focused_name(page) == right
    page.keyboard.type("16")
    expect(page.locator(f"input[name='{right}']")).to_have_class(re.compile("is-invalid"))
    page.keyboard.press("Enter")
    below = focused_name(page)
    assert below.startswith("v|price_competitiveness|") and below != right
    page.keyboard.type("9.5")
    page.keyboard.press("Enter")  # moves on, never submits the form
    expect(page).to_have_url(re.compile(re.escape(SHEET) + "$"))

    # Saving: refused at the cell with the allowed range, every typed value still there.
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("ul.messages")).to_contain_text("本页未保存")
    error = page.locator("td.has-error .sheet-error")
    expect(error).to_have_text("16 超出量表；允许 0 至 15")
    expect(page.locator(f"input[name='{right}']")).to_be_focused()
    expect(first).to_have_value("12")
    expect(page.locator(f"input[name='{below}']")).to_have_value("9.5")
    shot(page, "rating-sheet-error")

    # Mend the value and save: three drafts, shown again after a reload.
    page.locator(f"input[name='{right}']").fill("15")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("ul.messages")).to_contain_text("已保存 3 项评分草稿")
    page.reload()
    expect(page.locator(f"input[name='{right}']")).to_have_value("15")
    expect(page.locator(".sheet-summary")).to_contain_text("已提交 0 / 80 项")
    shot(page, "rating-sheet")

    # Submit all (the confirmation is accepted): the cells become read-only, progress moves.
    page.get_by_role("button", name="全部提交").click()
    expect(page.locator("ul.messages")).to_contain_text("已提交 3 项评分")
    expect(page.locator(f"input[name='{right}']")).to_have_count(0)
    expect(page.locator(".sheet-summary")).to_contain_text("已提交 3 / 80 项，77 项待评分")
    assert problems == []


def test_it_scrolls_the_grid_inside_its_card_on_a_phone(page_as, demo_server, shot):
    # the finance rater: three indicators of credit-rating, wider than a phone
    page = page_as("rater_f", on=demo_server)
    page.set_viewport_size(PHONE)
    page.goto("/ratings/sheet/?scheme=credit-rating&period=2024-Q4")
    expect(page.locator("table.sheet thead th.sheet-head")).to_have_count(3)
    box = page.locator(".sheet-scroll")
    expect(box).to_be_visible()
    sizes = page.evaluate(
        """() => {
          const box = document.querySelector('.sheet-scroll');
          return {page: document.documentElement.scrollWidth, window: window.innerWidth,
                  inner: box.scrollWidth, outer: box.clientWidth};
        }"""
    )
    assert sizes["page"] <= sizes["window"], sizes  # the page itself never scrolls sideways
    assert sizes["inner"] > sizes["outer"], sizes  # the grid does, inside its card
    entity = page.locator("tbody th.sheet-entity").first
    before = entity.bounding_box()["x"]
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_timeout(100)
    assert abs(entity.bounding_box()["x"] - before) < 1  # sticky: it stays where it was
    page.locator("input.sheet-input").first.focus()
    shot(page, "phone-rating-sheet")
