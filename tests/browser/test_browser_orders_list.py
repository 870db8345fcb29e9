"""The order list on a phone: more orders load as you scroll, in every tab; search by number."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import orders as orders_svc
from app.services import products as products_svc
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")  # GOLD: ¥40,000 credit, no funds
CHEAP, OLDEST_SKU = "DRK-002", "DRK-001"


def place_54(app) -> list[str]:
    """54 orders through the service, oldest first; the oldest alone holds OLDEST_SKU."""
    with app.app_context():
        for sku in (CHEAP, OLDEST_SKU):
            products_svc.set_on_hand(sku, 500)
        user = db.session.scalar(select(User).where(User.username == DEALER[0]))
        skus = [OLDEST_SKU] + [CHEAP] * 53
        numbers = [orders_svc.place_order(user, [LineRequest(sku, 1)]).number for sku in skus]
        db.session.remove()
        return numbers


def scroll_until_visible(page, number: str) -> None:
    """Scroll to the bottom until the order's card has loaded (at most a few pages).

    Each round scrolls the window and waits for the list to grow; the sentinel itself is never
    touched, since htmx may already be swapping it out when its request was sent by the last scroll.
    """
    card = page.locator("li.order-card", has_text=number)
    cards = page.locator("#order-cards > li.order-card")
    for _ in range(10):
        if card.count():
            break
        before = cards.count()
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        expect(cards).not_to_have_count(before)
    expect(card).to_have_count(1)
    card.scroll_into_view_if_needed()


def test_scrolling_loads_every_order_in_all_and_in_a_status_tab(demo, page, sign_in, shots_dir):
    placed = place_54(demo)
    sign_in(page, *DEALER)
    page.goto("/orders")
    cards = page.locator("#order-cards > li.order-card")
    expect(cards).to_have_count(20)
    expect(page.locator(f'a[href="/orders/{placed[-1]}"]')).to_be_visible()  # newest first

    scroll_until_visible(page, placed[0])
    expect(cards).to_have_count(54)
    expect(page.locator("#more-orders")).to_have_count(0)
    assert urlsplit(page.url).path == "/orders" and not urlsplit(page.url).query
    shots = shots_dir / "orders"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "orders-loaded.png"), animations="disabled")
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == 390, found

    chips = page.get_by_role("navigation", name="订单状态")
    chips.get_by_role("link", name="待审核").click()
    page.wait_for_url("**/orders?tab=pending")
    expect(chips.get_by_role("link", name="待审核")).to_have_attribute("aria-current", "page")
    scroll_until_visible(page, placed[0])
    expect(cards).to_have_count(54)

    page.locator("li.order-card", has_text=placed[0]).click()
    page.wait_for_url(f"**/orders/{placed[0]}")
    expect(page.get_by_role("button", name="再来一单")).to_be_visible()


def test_the_search_box_finds_an_order_by_its_number(demo, page, sign_in, shots_dir):
    placed = place_54(demo)
    sign_in(page, *DEALER)
    page.goto("/orders")
    page.goto("/orders?tab=pending")
    history = page.evaluate("history.length")
    wanted = placed[7]

    box = page.get_by_role("searchbox", name="按订单号、商品名称或编码搜索订单")
    box.press_sequentially(wanted.lower()[-8:], delay=30)  # lower case, the end of it
    cards = page.locator("#order-cards > li.order-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(wanted)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"tab": ["pending"], "q": [wanted.lower()[-8:]]}
    assert page.evaluate("history.length") == history  # typing replaced, never stacked
    chips = page.get_by_role("navigation", name="订单状态")
    expect(chips.get_by_role("link", name="全部")).to_have_attribute(
        "href", re.compile(r"q=" + wanted.lower()[-8:])
    )
    shots = shots_dir / "orders"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "orders-search.png"), animations="disabled")

    box.fill("奶粉")
    box.press("Enter")
    expect(page.locator(".empty")).to_contain_text("没有与“奶粉”相符的订单。")
    shots_empty = str(shots / "orders-search-empty.png")
    page.screenshot(path=shots_empty, animations="disabled")
    box.fill("冰爽柠檬茶")
    box.press("Enter")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(placed[0])


def test_without_javascript_the_more_link_pages_back_and_forth(
    demo, new_context, sign_in, shots_dir
):
    placed = place_54(demo)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, *DEALER)
    page.goto("/orders")
    for n in (2, 3):
        page.get_by_role("link", name="加载更多").click()
        page.wait_for_url(f"**/orders?page={n}")
    expect(page.locator(".pager")).to_contain_text("第 3 页，共 3 页")
    expect(page.locator("li.order-card")).to_have_count(14)
    expect(page.locator("li.order-card").last).to_contain_text(placed[0])
    shots = shots_dir / "orders"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "orders-nojs-page3.png"), animations="disabled")
    page.get_by_role("link", name="‹ 上一页").click()
    page.wait_for_url("**/orders?page=2")
    expect(page.locator("li.order-card").first).to_contain_text(placed[33])
