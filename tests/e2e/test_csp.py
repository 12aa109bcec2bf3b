"""The Content-Security-Policy in a real browser: every page works with scripts from our static
files only — charts drawn, the language switch, the version choice, printing buttons wired —
and the browser reports no blocked script, style or image."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def watch(page) -> list[str]:
    """Collect what the browser blocked or failed on (CSP reports show in the console)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_pages_work_under_the_policy(page_as, demo_server, shot):
    page = page_as("demo", on=demo_server)
    problems = watch(page)

    page.goto("/runs/?scheme=customer-composite")
    page.locator("table.grid tbody tr td a").first.click()
    expect(page.locator("h1 .status")).to_have_text("已完成")
    expect(page.locator("[data-figure] .main-svg").first).to_be_visible()  # Plotly drew
    shot(page, "csp-run")

    page.locator("table.results tbody tr td a").first.click()
    expect(page).to_have_url(re.compile(r"/entities/[^/]+/$"))
    expect(page.locator("[data-figure] .main-svg").first).to_be_visible()
    expect(page.locator("button[data-print]")).to_be_visible()

    page.goto("/entities/?table=customers")
    page.locator("table.grid tbody tr td a").first.click()
    expect(page).to_have_url(re.compile(r"/entities/customers/[^/]+/$"))

    page.goto("/schemes/customer-composite/")
    expect(page.locator("h1")).to_contain_text("客户综合评价")

    page.goto("/runs/new/")
    page.locator("#id_version").select_option(index=1)  # app.js reloads with ?version=
    expect(page).to_have_url(re.compile(r"\?version=\d+"))

    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info")).to_be_visible()

    page.goto("/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")  # submitted by app.js
    expect(page.locator("h1")).to_have_text("Dashboard")

    assert problems == []
