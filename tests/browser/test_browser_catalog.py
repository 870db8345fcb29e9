"""The catalog as a phone uses it: without JavaScript, infinite scroll, live stock badges."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import catalog as catalog_svc
from app.services import products as products_svc

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

CARDS = "#cards > li.product-card"
PRICE = re.compile(r"^¥\d{1,3}(,\d{3})*\.\d{2}$")


def visible_skus(app, username: str) -> list[str]:
    """Every SKU this dealer may see, in the catalog's own order."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return [i.product.sku for i in catalog_svc.browse(user.dealer, per_page=1000).items]


def skus_on(page) -> list[str]:
    return page.locator(CARDS).evaluate_all("els => els.map(e => e.dataset.sku)")


def test_catalog_is_readable_and_pageable_without_javascript(demo, app, new_context, login):
    page = new_context(java_script_enabled=False).new_page()
    login(page, "sh001", "demo1234")  # the plain form post works without scripts
    assert urlsplit(page.url).path == "/catalog"

    cards = page.locator(CARDS)
    expect(cards).to_have_count(20)
    prices = cards.locator(".price").all_inner_texts()
    assert len(prices) == 20 and all(PRICE.match(p) for p in prices), prices
    names = cards.locator(".name").all_inner_texts()
    assert all(n.strip() for n in names)
    first_page = skus_on(page)

    more = page.locator("li.more a")
    expect(more).to_be_visible()
    with page.expect_navigation():
        more.click()
    assert parse_qs(urlsplit(page.url).query).get("page") == ["2"]
    expect(cards.first).to_be_visible()
    second_page = skus_on(page)
    assert second_page and not set(second_page) & set(first_page)
    assert all(PRICE.match(p) for p in cards.locator(".price").all_inner_texts())
    expect(page.locator(".tabbar .tab")).to_have_count(4)  # a whole page, not a fragment


def test_scrolling_to_the_bottom_loads_the_whole_catalog(demo, app, page, sign_in):
    sign_in(page, "sh001", "demo1234")
    cards = page.locator(CARDS)
    expect(cards).to_have_count(20)
    expected = visible_skus(app, "sh001")
    total = len(expected)
    assert total > 20

    fetched = []
    page.on(
        "request",
        lambda r: fetched.append(r.url) if r.headers.get("hx-request") == "true" else None,
    )
    start_url = page.url
    page.evaluate("window.__sameDocument = true")  # lost if the page navigated
    for _ in range(10):  # a page per swipe; 89 demo products make 5 pages
        count = cards.count()
        if count >= total:
            break
        page.mouse.wheel(0, 100_000)
        # (not wait_for_function: its polling evaluates a string, which the CSP refuses)
        expect(cards.nth(count)).to_be_attached(timeout=5_000)
    expect(cards).to_have_count(total)
    expect(page.locator("li.more")).to_have_count(0)  # the end: no sentinel left
    assert skus_on(page) == expected  # every product once, in order: no page loaded twice
    # htmx swapped fragments in with no navigation; the address names the pages seen, so
    # Back from a product can bring them all back.
    assert page.evaluate("window.__sameDocument === true")
    pages_seen = math.ceil(total / 20)
    assert page.url == f"{start_url}?upto={pages_seen}"
    pages = [parse_qs(urlsplit(u).query).get("page", [""])[0] for u in fetched]
    assert pages == [str(n) for n in range(2, math.ceil(total / 20) + 1)]  # one request a page


def test_stock_badges_refresh_in_one_request_and_304_when_unchanged(demo, app, page, sign_in):
    sign_in(page, "sh001", "demo1234")
    in_stock = page.locator(f"{CARDS}:has(.badge-in_stock)").first
    sku = in_stock.get_attribute("data-sku")
    badge = page.locator(f'{CARDS}[data-sku="{sku}"] [data-stock-badge]')
    expect(badge).not_to_contain_text("缺货")
    on_screen = skus_on(page)

    requests, responses = [], []
    page.on("request", lambda r: requests.append(r))
    page.on("response", lambda r: responses.append(r))

    with app.app_context():
        products_svc.set_on_hand(sku, 0)

    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(badge).to_contain_text("缺货")
    expect(badge).to_have_class(re.compile(r"\bbadge-out_of_stock\b"))
    page.wait_for_timeout(300)  # let any straggling per-item requests show up

    assert [urlsplit(r.url).path for r in requests] == ["/stock-badges"], [r.url for r in requests]
    asked = parse_qs(urlsplit(requests[0].url).query)["skus"][0].split(",")
    assert sorted(asked) == sorted(on_screen)  # every card on screen, in one request
    first = [r for r in responses if urlsplit(r.url).path == "/stock-badges"]
    assert len(first) == 1 and first[0].status == 200
    assert first[0].header_value("etag")

    requests.clear()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/stock-badges") as second:
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert second.value.status == 304
    assert second.value.request.header_value("if-none-match") == first[0].header_value("etag")
    assert len(requests) == 1
    expect(badge).to_contain_text("缺货")  # a 304 leaves the badges as they are
