"""A viewer reads everything on the demo workspace — data, schemes, runs, scorecards,
ratings — and can change nothing: no change buttons on any page, 403 for every change tried
anyway (with a valid CSRF token), 404 for the administrator's pages, and nothing recorded."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# Buttons and links that change something; none may show for a viewer.
CHANGE_LABELS = (
    "上传数据",
    "上传方案",
    "发布",
    "编辑草稿",
    "基于此版本新建草稿",
    "删除草稿",
    "开始运行",
    "以相同设置重新运行",
    "修改设置后运行",
    "撤回",
    "导入全部",
    "提交审批",
    "保存草稿",
    "批准",
    "批准所选",
    "退回所选",
)
WRITE_LINKS = "a[href*='/upload/'], a[href$='/new/'], a[href*='/edit/'], a[href*='/add/']"


def change_forms(page) -> list[str]:
    """The actions of the page's POST forms that can be sent (an enabled submit button),
    other than logging out, choosing the language and saving one's own view of a list (a
    viewer's filters, which change no data)."""
    actions = page.locator("form").evaluate_all(
        """fs => fs.filter(f => f.method.toLowerCase() === 'post'
                  && [...f.querySelectorAll('button, input[type=submit]')]
                       .some(b => b.type === 'submit' && !b.disabled))
                 .map(f => f.action)"""
    )
    return [a for a in actions if not re.search(r"/(logout|language|entities/views/save)/$", a)]


def assert_read_only(page, name: str, shot) -> None:
    assert change_forms(page) == [], f"{name}: a form that changes something"
    expect(page.locator(WRITE_LINKS), name).to_have_count(0)
    for label in CHANGE_LABELS:
        expect(
            page.get_by_role("button", name=label, exact=True), f"{name}: {label}"
        ).to_have_count(0)
        expect(page.get_by_role("link", name=label, exact=True), f"{name}: {label}").to_have_count(
            0
        )
    shot(page, f"viewer-{name}")


def open_ok(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def test_it_shows_a_viewer_every_page_without_a_way_to_change_anything(page_as, demo_server, shot):
    page = page_as("viewer", on=demo_server)
    expect(page.locator(".user-box .role")).to_have_text("查看者")
    assert_read_only(page, "home", shot)

    open_ok(page, "/imports/")
    assert_read_only(page, "imports", shot)
    page.locator("a[href^='/imports/'][href$='/']", has_text=re.compile(r"^#?\d+$")).first.click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    assert_read_only(page, "import-batch", shot)

    open_ok(page, "/entities/?table=customers")
    assert_read_only(page, "entities", shot)
    page.locator("table.grid tbody tr td a").first.click()
    expect(page).to_have_url(re.compile(r"/entities/customers/[^/]+/$"))
    assert_read_only(page, "entity-profile", shot)

    open_ok(page, "/schemes/")
    assert_read_only(page, "schemes", shot)
    open_ok(page, "/schemes/customer-composite/")
    expect(page.locator("h1")).to_contain_text("客户综合评价")
    assert_read_only(page, "scheme", shot)

    open_ok(page, "/runs/?scheme=customer-composite")
    assert_read_only(page, "runs", shot)
    page.locator("table.grid tbody tr td a").first.click()
    expect(page.locator("h1 .status")).to_have_text("已完成")
    run_url = page.url
    assert_read_only(page, "run", shot)
    expect(page.get_by_role("link", name="导出 Excel")).to_be_visible()  # reading includes export
    page.locator("table.results tbody tr td a").first.click()
    expect(page).to_have_url(re.compile(r"/entities/[^/]+/$"))
    assert_read_only(page, "scorecard", shot)

    open_ok(page, f"/runs/compare/?a={run_url.rstrip('/').rsplit('/', 1)[1]}")
    assert_read_only(page, "compare", shot)

    open_ok(page, "/ratings/?scheme=customer-composite&period=2025")
    assert_read_only(page, "ratings", shot)
    open_ok(page, "/ratings/review/")
    assert_read_only(page, "ratings-review", shot)


def test_it_refuses_every_change_a_viewer_tries_anyway(page_as, demo_server):
    page = page_as("viewer", on=demo_server)
    open_ok(page, "/runs/?scheme=customer-composite")
    page.locator("table.grid tbody tr td a").first.click()
    run_id = re.search(r"/runs/(\d+)/", page.url).group(1)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")

    def get(url: str) -> int:
        return page.request.get(url, max_redirects=0).status

    def post(url: str, form: dict | None = None) -> int:
        return page.request.post(
            url, form=form or {}, headers={"X-CSRFToken": token}, max_redirects=0
        ).status

    # pages that exist to change something: 403
    for url in ("/imports/upload/", "/schemes/upload/", "/runs/new/"):
        assert get(url) == 403, url
    # changes posted directly: 403, and nothing happens
    assert post("/schemes/customer-composite/v1/publish/") == 403
    assert post("/schemes/customer-composite/v1/copy/") == 403
    assert post("/imports/1/withdraw/", {"reason": "试试"}) == 403
    assert post(f"/runs/{run_id}/rerun/") == 403
    assert post("/runs/new/", {"version": "1", "period": "2025"}) == 403
    assert (
        post(
            "/ratings/customer-composite/2025/C000001/manager_rating/",
            {"score": "50", "submit": "1"},
        )
        == 403
    )
    # the administrator's pages: not there for a viewer
    for url in ("/audit/", "/accounts/"):
        assert get(url) == 404, url
    # the wrong method: 405
    assert post(f"/runs/{run_id}/") == 405

    # nothing the viewer did was recorded as a change
    done = demo_server.manage(
        "shell",
        "-c",
        "from pingji.web.audit.models import AuditEvent;"
        "print(AuditEvent.objects.filter(username='viewer').count())",
    )
    assert done.stdout.strip().splitlines()[-1] == "0"
