"""The scheme form editor and the what-if preview in a real browser, on a phone (390 px), on
the demo workspace: copy a published built-in, watch the weight sum follow the typing (a
static script: the Content-Security-Policy allows no inline one), have a wrong sum refused by
the server anyway, save a right one, and preview the draft against the latest run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.e2e.test_phone import PHONE, layout_problems, open_as

pytestmark = pytest.mark.e2e

SCHEME = "customer-composite"  # weights 0.30 0.30 0.20 0.10 0.10 (fractions)


def test_an_analyst_changes_weights_on_a_phone_and_previews_the_draft(browser, demo_server, shot):
    page = open_as(browser, demo_server, "demo", PHONE)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/schemes/{SCHEME}/")
    with page.expect_navigation():
        page.get_by_role("button", name="基于此版本新建草稿").click()
    match = re.search(rf"/schemes/{SCHEME}/v(\d+)/edit/$", page.url)
    assert match, page.url
    number = int(match.group(1))
    expect(page.locator("textarea[name=yaml]")).to_contain_text(f"version: {number}")

    page.goto(f"/schemes/{SCHEME}/v{number}/form/")
    total = page.locator("[data-weight-group] [data-weight-sum]")
    expect(total).to_have_text("1")
    first = page.locator('input[name="tree.children.0.weight"]')
    first.fill("0.35")  # typed, not posted: the script adds up 0.35 + 0.30 + 0.20 + 0.10 + 0.10
    expect(total).to_have_text("1.05")
    expect(page.locator("[data-weight-note]")).to_have_text("应为 1")
    assert layout_problems(page) == [], layout_problems(page)
    shot(page, "phone-demo-scheme-form")

    # the server refuses the sum on its own, whatever the script showed
    with page.expect_navigation():
        page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".weight-sum .field-error")).to_contain_text("权重合计为 1.05，应为 1")
    page.locator('input[name="tree.children.1.weight"]').fill("0.25")
    expect(total).to_have_text("1")
    expect(page.locator("[data-weight-note]")).to_have_text("合计为 1，正确")
    with page.expect_navigation():
        page.get_by_role("button", name="保存草稿").click()
    expect(page).to_have_url(re.compile(rf"/schemes/{SCHEME}/v{number}/$"))
    expect(page.locator(".messages")).to_contain_text("草稿已保存")

    page.goto(f"/schemes/{SCHEME}/v{number}/whatif/")
    expect(page.locator("h1")).to_contain_text("发布前预览")
    expect(page.locator("table.matrix")).to_be_visible()
    assert layout_problems(page) == [], layout_problems(page)
    shot(page, "phone-demo-scheme-whatif")
    assert not errors, errors
