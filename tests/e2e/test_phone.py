"""Every page on a phone (390 px wide), a tablet (768 px) and a desktop (1280 px), on the demo
workspace.

Each role's pages are found by following the links from the home page (one page of each kind:
/runs/<id>/ once, not forty times). A page fails when it is wider than the window, when an
element sticks out of the window without being inside a box that scrolls, or when a text is
broken into one or two characters a line (the "vertical text" of squeezed buttons and names).
Screenshots: test-artifacts/screenshots/{phone,tablet,desktop}-<role>-<page>.png.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}  # the menu is folded, the tables scroll
DESKTOP = {"width": 1280, "height": 800}
TAP = 40  # px: the least height of a button, field or cell link a finger taps on a phone
MAX_PAGES = 60  # per role and width: enough for one page of every kind
# Addresses not to follow: leaving, switching language, Django's own admin, files, downloads.
NOT_FOLLOWED = re.compile(
    r"^/(logout|language|admin|static|media)/|/export|\.csv\b|\.xlsx\b|/yaml/$|[?&]format="
)

# Problems of the page in the browser, as sentences (an empty list: the page fits).
LAYOUT_PROBLEMS_JS = r"""
() => {
  const vw = window.innerWidth;
  const problems = [];
  const html = document.documentElement;
  if (html.scrollWidth > vw) problems.push(`the page is ${html.scrollWidth} px wide in a ${vw} px window`);
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim()) {
      s += "." + el.className.trim().split(/\s+/).join(".");
    }
    const text = (el.innerText || el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return text ? `${s} "${text}"` : s;
  };
  // An element may be wider than the window only inside a box that scrolls or clips it
  // (a table's own scroll box); <body> and <html> do not count.
  const clips = (el) => getComputedStyle(el).overflowX !== "visible";
  const reported = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right <= vw + 1 && r.left >= -1) continue;
    if (r.right <= 0) continue;  // parked out of sight on the left (Plotly's text measurer)
    // not shown: hidden, or inside a closed <details> (laid out, but never painted)
    if (!el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
    let up = el.parentElement, inside = false;
    while (up && up !== document.body) {
      if (reported.has(up) || clips(up)) { inside = true; break; }
      up = up.parentElement;
    }
    if (inside) continue;
    reported.add(el);
    problems.push(`${describe(el)} reaches from ${Math.round(r.left)} to ${Math.round(r.right)} px`);
  }
  // Text squeezed into one or two characters a line: 3+ lines, none wider than 2.2 em.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.trim();
    if ([...text].length < 3) continue;
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style, textarea, svg, option, select")) continue;
    if (!parent.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
    const style = getComputedStyle(parent);
    if (/\n/.test(text) && /^pre/.test(style.whiteSpace)) continue;  // lines meant as lines
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = new Map();
    for (const r of range.getClientRects()) {
      if (r.width > 0) lines.set(Math.round(r.top), (lines.get(Math.round(r.top)) || 0) + r.width);
    }
    if (lines.size < 3) continue;
    if (Math.max(...lines.values()) < 2.2 * parseFloat(style.fontSize)) {
      problems.push(`${describe(parent)} is broken into ${lines.size} lines of one or two characters`);
    }
  }
  return problems;
}
"""


def layout_problems(page) -> list[str]:
    """What sticks out of the window or is squeezed on the page shown."""
    return page.evaluate(LAYOUT_PROBLEMS_JS)


def kind_of(path: str) -> str:
    """The kind of page an address shows: numbers and ids become '#', a query keeps only its
    names, and a rating cell or scheme page is one kind whatever scheme it names (but the
    rating sheet, review and assignments, a scheme's versions, diff and upload are kinds
    of their own)."""
    address, _, query = path.partition("?")
    parts = ["#" if re.search(r"\d", part) else part for part in address.split("/")]
    if len(parts) > 3 and parts[1] == "schemes" and parts[2] != "upload":
        parts[2] = "*"  # /schemes/<code>/…
    if len(parts) > 5 and parts[1] == "ratings":  # /ratings/<scheme>/<period>/<entity>/<indicator>/
        parts[2:-1] = ["*"]
    if "why" in parts:  # /runs/#/entities/#/why/<metric>/
        parts[parts.index("why") + 1 : -1] = ["*"]
    names = sorted(item.split("=")[0] for item in query.split("&") if item)
    return "/".join(parts) + ("?" + "&".join(names) if names else "")


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:80] or "home"


def open_as(browser, server, username: str | None, viewport: dict, **options):
    """A new page of its own browser context at the given size, logged in as username."""
    options.setdefault("locale", "zh-CN")
    context = browser.new_context(base_url=server.url, viewport=viewport, **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())  # never confirm a change
    if username is not None:
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", server.users[username])
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "/login/" not in page.url, f"login as {username} was refused"
    return page


def walk(page, start: str, shot, prefix: str, first: tuple[str, ...] = ()) -> dict[str, list]:
    """Visit the first addresses, then one page of every other kind reachable from start by
    links; return each visited address with its layout problems, screenshots on the way."""
    origin = urlsplit(page.url).netloc
    queue, seen_kinds, visited = [*first, start], set(), {}
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        kind = kind_of(path)
        if kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        try:
            response = page.goto(path)
        except PlaywrightError as exc:  # a link to a file starts a download
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or response.status != 200:
            visited[path] = [f"answered {response and response.status}"]
            continue
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        page.wait_for_load_state("load")  # charts are drawn on load
        if path.startswith("/api/docs"):  # Swagger UI draws itself after reading the schema
            page.locator(".swagger-ui .info").wait_for()
        visited[path] = layout_problems(page)
        shot(page, f"{prefix}-{slug(path)}")
        for href in page.locator("a[href]").evaluate_all("links => links.map(a => a.href)"):
            url = urlsplit(href)
            target = url.path + (f"?{url.query}" if url.query else "")
            if url.netloc == origin and not NOT_FOLLOWED.search(target):
                queue.append(target)
    return visited


def report(visited: dict[str, list]) -> str:
    return "\n".join(
        f"{path}:\n  " + "\n  ".join(problems) for path, problems in visited.items() if problems
    )


# The scheme whose pages stand for their kind (visited first): a tree of five indicators, a
# manual rating, the widest scorecard of the demo.
SCHEME = "customer-composite"


def first_pages(page, username: str) -> tuple[str, ...]:
    """The customer-composite scheme, its run, a scorecard and a "why" page of that run, and
    its rating worklist — the pages of each kind that show the most."""
    pages = [f"/ratings/?scheme={SCHEME}&period=2025"]
    if username == "rater":
        return tuple(pages)
    page.goto(f"/runs/?scheme={SCHEME}")
    run = page.locator("table.grid tbody tr td a").first.get_attribute("href")
    pages += [f"/schemes/{SCHEME}/", run, f"{run}entities/C000001/"]
    pages.append(f"{run}entities/C000001/why/sales_growth/")
    if username in ("admin", "demo"):
        pages.append("/ratings/assignments/")
    return tuple(pages)


@pytest.mark.parametrize(
    ("username", "fewest"), [("admin", 30), ("demo", 25), ("rater", 6), ("viewer", 20)]
)
def test_every_page_a_role_reaches_fits_a_phone(browser, demo_server, shot, username, fewest):
    page = open_as(browser, demo_server, username, PHONE)
    visited = walk(page, "/", shot, f"phone-{username}", first_pages(page, username))
    assert len(visited) >= fewest, f"only {len(visited)} pages reached: {sorted(visited)}"
    assert not report(visited), f"at {PHONE['width']} px:\n{report(visited)}"


@pytest.mark.parametrize(
    ("username", "screen", "fewest"),
    [("admin", TABLET, 30), ("admin", DESKTOP, 30), ("rater", DESKTOP, 6)],
    ids=["admin-tablet", "admin-desktop", "rater-desktop"],
)
def test_every_page_fits_a_tablet_and_still_a_desktop(
    browser, demo_server, shot, username, screen, fewest
):
    page = open_as(browser, demo_server, username, screen)
    name = "desktop" if screen is DESKTOP else "tablet"
    visited = walk(page, "/", shot, f"{name}-{username}", first_pages(page, username))
    assert len(visited) >= fewest, f"only {len(visited)} pages reached: {sorted(visited)}"
    assert not report(visited), f"at {screen['width']} px:\n{report(visited)}"
    if screen is DESKTOP:  # the top bar is one row: links, user and language side by side
        page.goto("/")
        expect(page.locator("#main-nav")).to_be_visible()
        expect(page.locator(".nav-toggle")).to_be_hidden()
        assert page.locator(".topbar").bounding_box()["height"] <= 60


def test_the_login_page_fits_a_phone(browser, demo_server, shot):
    page = open_as(browser, demo_server, None, PHONE)
    page.goto("/login/")
    expect(page.locator("input[name=username]")).to_be_visible()
    shot(page, "phone-login")
    assert layout_problems(page) == []


def test_a_page_that_is_not_there_fits_a_phone(browser, demo_server, shot):
    page = open_as(browser, demo_server, "viewer", PHONE)
    for path, status in (("/no-such-page/", 404), ("/audit/", 404), ("/runs/new/", 403)):
        response = page.goto(path)
        assert response is not None and response.status == status, path
        assert layout_problems(page) == [], path
        shot(page, f"phone-viewer-error-{status}")


def test_a_rater_in_english_fits_a_phone(browser, demo_server, shot):
    page = open_as(browser, demo_server, "rater", PHONE, locale="en-US")
    expect(page.locator(".nav-toggle")).to_have_text("Menu")
    page.locator(".nav-toggle").click()
    expect(page.locator("#main-nav").get_by_role("link", name="Manual ratings")).to_be_visible()
    assert layout_problems(page) == []
    shot(page, "phone-rater-english-menu")
    page.goto(f"/ratings/?scheme={SCHEME}&period=2025")
    assert layout_problems(page) == []
    shot(page, "phone-rater-english-worklist")
    page.locator("table.ratings td.cell a").first.click()
    expect(page.get_by_role("button", name="Save draft")).to_be_visible()
    assert layout_problems(page) == []
    shot(page, "phone-rater-english-rating-form")


def test_the_menu_folds_into_a_button_on_a_phone(browser, demo_server, shot):
    page = open_as(browser, demo_server, "admin", PHONE)
    menu, button = page.locator("#main-nav"), page.locator(".nav-toggle")
    expect(menu).to_be_hidden()
    expect(page.locator(".user-box")).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    assert page.locator(".topbar").bounding_box()["height"] <= 60

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".user-box .role")).to_have_text("管理员")
    links = menu.get_by_role("link")
    assert links.count() == 7
    for link in links.all():  # each on one line, the whole width to tap
        box = link.bounding_box()
        assert box["width"] > PHONE["width"] / 2 and box["height"] < 60, link.inner_text()
    assert layout_problems(page) == []
    shot(page, "phone-menu-open")

    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    button.click()
    menu.get_by_role("link", name="人工评分").click()
    expect(page).to_have_url(re.compile(r"/ratings/"))
    expect(menu).to_be_hidden()  # a new page starts folded


def test_the_menu_stays_open_without_javascript(browser, demo_server, shot):
    page = open_as(browser, demo_server, "demo", PHONE, java_script_enabled=False)
    expect(page.locator(".nav-toggle")).to_be_hidden()
    expect(page.locator("#main-nav").get_by_role("link", name="评价运行")).to_be_visible()
    expect(page.locator(".user-box")).to_be_visible()
    assert layout_problems(page) == []
    shot(page, "phone-menu-without-javascript")


def test_a_rater_rates_on_a_phone(browser, demo_server, shot):
    page = open_as(browser, demo_server, "rater", PHONE)
    page.goto("/ratings/?scheme=customer-composite&period=2025")
    cell = page.locator("table.ratings td.cell a").last  # the last customer: no other test uses it
    cell.scroll_into_view_if_needed()
    # a finger hits the cell, the filter and the links between the worklist and the sheet
    for target in (cell, page.locator(".links a").first, page.locator(".toolbar select").first):
        assert target.bounding_box()["height"] >= TAP, target
    cell.click()
    expect(page.locator("h1")).to_contain_text("客户经理评分")
    score = page.locator("input[name=score]")
    save = page.get_by_role("button", name="保存草稿", exact=True)
    submit = page.get_by_role("button", name="提交审批", exact=True)
    for control in (score, save, submit):  # whole, inside the screen's width, big for a finger
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert box["height"] >= TAP, box
    assert save.bounding_box()["height"] < 50  # a button on one line, not vertical text
    assert layout_problems(page) == []
    shot(page, "phone-rating-form")

    score.fill("77")
    save.click()
    expect(page).to_have_url(re.compile(r"/ratings/\?"))
    expect(page.locator(".messages .msg-success")).to_be_visible()
    assert layout_problems(page) == []
    shot(page, "phone-rating-saved")


def test_an_import_preview_and_a_refused_scheme_fit_a_phone(browser, demo_server, shot, tmp_path):
    page = open_as(browser, demo_server, "demo", PHONE)
    sales = tmp_path / "sales-phone.csv"
    sales.write_text(
        "customer_id,date,amount,batch_id\n"
        "C000001,2025-03-01,1200.50,P1\n"
        "C000002,not a date,99.00,P2\n",
        encoding="utf-8",
    )
    page.goto("/imports/upload/")
    page.select_option("select[name=table]", "sales")
    page.set_input_files("input[name=file]", str(sales))
    page.get_by_role("button", name="上传并检查").click()
    expect(page).to_have_url(re.compile(r"/imports/uploads/[^/]+/$"))
    expect(page.locator(".tile", has_text="数据行")).to_be_visible(timeout=120_000)
    expect(page.locator("main")).to_contain_text("not a date")  # the problem, shown
    assert layout_problems(page) == []
    shot(page, "phone-demo-import-preview")
    page.get_by_role("button", name="放弃").click()  # leave the demo data as it was

    broken = tmp_path / "broken-phone.yaml"
    broken.write_text("id: phone-check\nname: 手机检查\nentity: customers\ntree: [\n")
    page.goto("/schemes/upload/")
    page.set_input_files("input[name=file]", str(broken))
    page.get_by_role("button", name="检查并保存").click()
    expect(page.locator(".errorlist, ol.problems, .banner-error").first).to_be_visible()
    assert layout_problems(page) == []
    shot(page, "phone-demo-scheme-refused")
