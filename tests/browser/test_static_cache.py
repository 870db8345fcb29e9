"""A phone fetches the CSS, the scripts and the icon once: moving between pages asks for none."""

from __future__ import annotations

import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from flask import request, request_started

pytestmark = pytest.mark.browser

ASSETS = ("/static/", "/vendor/")


@contextmanager
def server_requests(app):
    """Every path the live server is asked for while the block runs, in order."""
    paths: list[str] = []

    def record(sender, **extra):
        paths.append(request.path)

    request_started.connect(record, app)
    try:
        yield paths
    finally:
        request_started.disconnect(record, app)


def assets_in(paths: list[str]) -> list[str]:
    return [p for p in paths if p.startswith(ASSETS)]


def settle(page, paths: list[str], until=lambda paths: True) -> None:
    """Wait for the page's own loads, and for the icon Chromium fetches after them."""
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 3
    while not until(paths) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.wait_for_timeout(200)  # a straggler would show up now


def test_moving_between_dealer_pages_asks_the_server_for_no_asset(demo, app, page):
    with server_requests(app) as first_visit:
        page.goto("/login")
        settle(page, first_visit, until=lambda paths: len(assets_in(paths)) >= 4)
    assert {urlsplit(p).path.split(".")[-1] for p in assets_in(first_visit)} >= {"css", "js", "svg"}

    with server_requests(app) as moving:
        page.fill("input[name=username]", "sh001")
        page.fill("input[name=password]", "demo1234")
        with page.expect_navigation():
            page.click("form.login-form [type=submit]")  # a new session cookie from here on
        assert urlsplit(page.url).path == "/catalog"
        settle(page, moving)
        with page.expect_navigation():
            page.locator("#cards > li.product-card a.card-link").first.click()
        assert urlsplit(page.url).path.startswith("/catalog/")
        settle(page, moving)
        with page.expect_navigation():
            page.locator(".tabbar a.tab").first.click()
        settle(page, moving)

    pages = [p for p in moving if not p.startswith(ASSETS)]
    assert "/catalog" in pages and any(p.startswith("/catalog/") for p in pages), moving
    assert assets_in(moving) == [], moving
