"""404 and 403 pages use the app's layout, in Chinese first, with a way back; 500 is plain."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client):
    user = get_user_model().objects.create_superuser("boss", password="a-long-passphrase-9")
    client.force_login(user)
    return client


def test_a_missing_page_is_chinese_with_the_menu_and_a_way_back(client_in):
    response = client_in.get("/no-such-page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert "找不到页面" in text
    assert 'id="main-nav"' in text
    assert 'href="/"' in text


def test_a_missing_page_in_english_is_english(client_in):
    client_in.cookies["django_language"] = "en"
    response = client_in.get("/no-such-page/")
    assert "Page not found" in response.content.decode()


def test_the_server_error_page_needs_no_context():
    text = render_to_string("500.html")
    assert "出错了" in text and "没有保存任何改动" in text
