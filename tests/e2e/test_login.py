"""Logging in, the home page of each role, switching the language — in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# What each role's navigation bar offers (label → shown?).
NAV = {
    "admin": {
        "数据导入": True,
        "评价方案": True,
        "评价运行": True,
        "人工评分": True,
        "审计日志": True,
    },
    "analyst": {"数据导入": True, "评价方案": True, "评价运行": True, "审计日志": False},
    "rater": {"数据导入": False, "评价运行": False, "人工评分": True, "审计日志": False},
    "viewer": {"数据导入": True, "评价方案": True, "评价运行": True, "审计日志": False},
}
ROLE_LABELS = {"admin": "管理员", "analyst": "分析师", "rater": "评分员", "viewer": "查看者"}


def test_it_has_a_chinese_font_for_the_browser():
    """Screenshots must show Chinese glyphs, not boxes: fontconfig must know a CJK font."""
    if shutil.which("fc-list") is None:
        pytest.skip("fc-list (fontconfig) is not installed: cannot check the fonts")
    fonts = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout.strip()
    reason = "no Chinese font for Chromium (Debian: apt-get install fonts-noto-cjk)"
    if not fonts and os.environ.get("CI", "").lower() != "true":
        pytest.skip(reason)
    assert fonts, f"CI=true but {reason}"


class TestLogin:
    def test_it_shows_the_login_page_in_chinese(self, anonymous_page, shot):
        page = anonymous_page
        page.goto("/login/")
        expect(page.locator("h1")).to_have_text("登录评级系统")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.get_by_label("用户名")).to_be_visible()
        expect(page.get_by_label("密码")).to_be_visible()
        assert "登录" in page.title()
        shot(page, "login")

    def test_it_sends_a_visitor_to_the_login_page(self, anonymous_page):
        page = anonymous_page
        page.goto("/runs/")
        expect(page).to_have_url(re.compile(r"/login/\?next=/runs/$"))

    def test_it_refuses_a_wrong_password(self, anonymous_page):
        page = anonymous_page
        page.goto("/login/")
        page.get_by_label("用户名").fill("analyst")
        page.get_by_label("密码").fill("not the password")
        page.get_by_role("button", name="登录").click()
        expect(page.locator("p.error")).to_have_text("用户名或密码不正确。")
        expect(page).to_have_url(re.compile(r"/login/$"))

    def test_it_returns_to_the_page_asked_for_after_logging_in(self, anonymous_page):
        page = anonymous_page
        page.goto("/schemes/")
        page.get_by_label("用户名").fill("analyst")
        page.get_by_label("密码").fill("e2e-pass-4711")
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(re.compile(r"/schemes/$"))

    def test_it_logs_out(self, page_as):
        page = page_as("viewer")
        page.get_by_role("button", name="退出").click()
        expect(page).to_have_url(re.compile(r"/login/$"))
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


class TestHome:
    @pytest.mark.parametrize("role", ["admin", "analyst", "rater", "viewer"])
    def test_it_shows_each_role_its_home_page_and_menu(self, page_as, shot, role):
        page = page_as(role)
        expect(page.locator("h1")).to_have_text("工作台")
        expect(page.locator(".user-box .role")).to_have_text(ROLE_LABELS[role])
        nav = page.locator("nav.main-nav")
        for label, shown in NAV[role].items():
            link = nav.get_by_role("link", name=label, exact=True)
            if shown:
                expect(link).to_be_visible()
            else:
                expect(link).to_have_count(0)
        shot(page, f"home-{role}")

    def test_it_shows_the_administrator_the_users_and_the_audit_log(self, page_as, shot):
        page = page_as("admin")
        page.get_by_role("link", name="用户", exact=True).click()
        expect(page.locator("h1")).to_have_text("用户与角色")
        for username in ("admin", "analyst", "rater", "rater_q", "viewer"):
            expect(page.locator("main")).to_contain_text(username)
        shot(page, "users")
        page.get_by_role("link", name="审计日志", exact=True).click()
        expect(page.locator("h1")).to_have_text("审计日志")
        # the users made by the create_user command were recorded
        expect(page.locator("main")).to_contain_text("新建用户")
        shot(page, "audit")

    def test_it_switches_to_english_and_back(self, page_as):
        page = page_as("analyst")
        page.select_option("select[name=language]", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.select_option("select[name=language]", "zh-hans")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("h1")).to_have_text("工作台")

    def test_it_serves_plotly_and_the_styles_itself(self, page_as, server):
        page = page_as("viewer")
        page.goto("/")
        # static files come from the server (WhiteNoise), never from a CDN
        for selector in ("link[rel=stylesheet]", "script[src]"):
            for src in page.locator(selector).evaluate_all("els => els.map(e => e.href || e.src)"):
                assert src.startswith(server.url), src
        assert page.evaluate("typeof Plotly") == "object"

    def test_it_lets_a_user_log_in_again_after_logging_out(self, page_as, login):
        page = page_as("rater")
        page.get_by_role("button", name="退出").click()
        login(page, "rater_q")
        expect(page.locator(".user-box")).to_contain_text("rater_q")
