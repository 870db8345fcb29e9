"""Dealer order pages: scoping to the dealer, and fixing a short line in place."""

import re

import pytest

from app.services import cart, orders, products
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def two_dealers(client):
    f.tier("GOLD", "金牌")
    for code, username in (("SH001", "sh"), ("BJ001", "bj")):
        f.dealer(code, "GOLD", credit_limit=10_000_00)
        f.dealer_user(code, username)
    f.product(
        "TEA-1", name="乌龙茶", list_price=1000, on_hand=50, order_multiple=2, min_order_qty=2
    )
    return client


def test_another_dealers_order_is_404_on_every_page_and_action(two_dealers, app):
    buyer = f.user_named("sh")
    number = orders.place_order(buyer, [LineRequest("TEA-1", 2)]).number
    f.web_login(two_dealers, "bj")
    token = f.csrf_from(two_dealers.get("/me").data)
    assert two_dealers.get(f"/orders/{number}").status_code == 404
    for action in ("cancel", "reorder"):
        response = two_dealers.post(f"/orders/{number}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    assert number not in two_dealers.get("/orders").get_data(as_text=True)
    assert orders.order_for_admin(number).status == "submitted"


def test_a_short_line_can_be_fixed_from_the_checkout_page(two_dealers):
    shopper = f.user_named("sh")
    cart.set_qty(shopper, "TEA-1", 10)
    f.web_login(two_dealers, "sh")
    html = two_dealers.get("/checkout").get_data(as_text=True)
    key, token = re.search(r'name="key" value="([^"]+)"', html).group(1), f.csrf_from(html)
    products.set_on_hand("TEA-1", 7)  # someone else bought after the page was drawn

    refused = two_dealers.post("/checkout", data={"key": key, "csrf_token": token})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "乌龙茶：需要10箱，可用7箱" in page and "改为6箱" in page  # 7 rounded down to packs of 2

    fixed = two_dealers.post(
        "/cart/TEA-1", data={"qty": "6", "next": "checkout", "csrf_token": token}
    )
    assert fixed.headers["Location"] == "/checkout"
    assert [line.qty for line in cart.view(shopper)[0].lines] == [6]


def test_a_dealers_error_page_keeps_the_tab_bar(two_dealers):
    f.web_login(two_dealers, "sh")
    for url, status in (("/orders/SO000", 404), ("/catalog/NOPE", 404), ("/admin/", 403)):
        response = two_dealers.get(url)
        assert response.status_code == status
        assert 'class="tabbar"' in response.get_data(as_text=True), url


# --- the order list: paging without JavaScript, load-more with htmx, search ---------------


@pytest.fixture
def busy(two_dealers):
    """sh has 54 orders (the first placed is the oldest): three of them cancelled."""
    products.set_on_hand("TEA-1", 1000)
    f.product("NUT-BOX", name="坚果礼盒", list_price=800, on_hand=100)
    buyer = f.user_named("sh")
    placed = [orders.place_order(buyer, [LineRequest("NUT-BOX", 1)]).number]
    placed += [orders.place_order(buyer, [LineRequest("TEA-1", 2)]).number for _ in range(53)]
    for number in placed[10:13]:
        orders.cancel_order(buyer, number)
    f.web_login(two_dealers, "sh")
    return placed


CARD_NUMBER = re.compile(r'class="order-no">(SO\d+)<')
NEXT_LINK = re.compile(r'<a href="([^"]+)" class="btn btn-ghost btn-block" rel="next">')


def follow_load_more(client, url: str) -> list[tuple[str, list[str]]]:
    """Every page reached from `url` by the plain "load more" links: (html, numbers)."""
    pages = []
    while url and len(pages) < 10:
        html = client.get(url).get_data(as_text=True)
        pages.append((html, CARD_NUMBER.findall(html)))
        more = NEXT_LINK.search(html)
        url = more and more.group(1).replace("&amp;", "&")
    return pages


def test_the_oldest_of_54_orders_is_reachable_without_javascript(two_dealers, busy):
    pages = follow_load_more(two_dealers, "/orders")

    assert [len(found) for _, found in pages] == [20, 20, 14]
    assert [n for _, found in pages for n in found] == busy[::-1]
    last = pages[-1][0]
    assert "第 3 页，共 3 页" in last and 'href="/orders?page=2" rel="prev"' in last
    assert f'href="/orders/{busy[0]}"' in last  # its detail page has 再来一单
    assert "第 1 页" not in pages[0][0] and 'rel="prev"' not in pages[0][0]
    back = two_dealers.get("/orders?page=2").get_data(as_text=True)
    assert CARD_NUMBER.findall(back) == busy[::-1][20:40]
    assert 'href="/orders" rel="prev"' in back


def test_the_oldest_order_is_reachable_in_its_status_tab_too(two_dealers, busy):
    pages = follow_load_more(two_dealers, "/orders?tab=pending")

    pending = [n for n in busy[::-1] if n not in busy[10:13]]
    assert [n for _, found in pages for n in found] == pending
    assert all('aria-current="page" href="/orders?tab=pending"' in html for html, _ in pages)
    assert "第 3 页，共 3 页" in pages[-1][0]
    cancelled = follow_load_more(two_dealers, "/orders?tab=cancelled")
    assert [found for _, found in cancelled] == [busy[12:9:-1]]


def test_htmx_load_more_answers_only_the_next_cards_and_sentinel(two_dealers, busy):
    response = two_dealers.get(
        "/orders?tab=pending&page=2", headers={"HX-Request": "true", "HX-Target": "more-orders"}
    )
    html = response.get_data(as_text=True)

    assert "<html" not in html and 'class="chips"' not in html and 'rel="prev"' not in html
    assert len(CARD_NUMBER.findall(html)) == 20
    assert 'id="more-orders"' in html and 'hx-get="/orders?tab=pending&amp;page=3"' in html
    assert "HX-Request" in response.headers["Vary"]
    full = two_dealers.get("/orders", headers={"HX-Request": "true", "HX-Target": "orders-body"})
    assert 'id="orders-body"' in full.get_data(as_text=True)  # the search swaps from a page


def test_a_page_past_the_end_or_a_bad_page_number_still_shows_orders(two_dealers, busy):
    past = two_dealers.get("/orders?page=9").get_data(as_text=True)
    assert CARD_NUMBER.findall(past)[-1] == busy[0] and "第 3 页，共 3 页" in past
    for bad in ("abc", "0", "-1", "9" * 5000, "²"):
        html = two_dealers.get(f"/orders?page={bad}").get_data(as_text=True)
        assert CARD_NUMBER.findall(html)[0] == busy[-1], bad


def test_search_finds_an_order_by_its_number_or_a_products_name_or_sku(two_dealers, busy):
    by_number = two_dealers.get(f"/orders?q={busy[30].lower()}").get_data(as_text=True)
    assert CARD_NUMBER.findall(by_number) == [busy[30]]
    assert f'name="q" type="search" value="{busy[30].lower()}"' in by_number
    for q in ("坚果", "nut-box", " 坚果礼盒 "):
        html = two_dealers.get("/orders", query_string={"q": q}).get_data(as_text=True)
        assert CARD_NUMBER.findall(html) == [busy[0]], q
    by_tea = follow_load_more(two_dealers, "/orders?q=乌龙茶")
    assert len([n for _, found in by_tea for n in found]) == 53


def test_the_tabs_keep_the_search_and_the_search_keeps_the_tab(two_dealers, busy):
    html = two_dealers.get("/orders?tab=cancelled&q=乌龙").get_data(as_text=True)

    assert CARD_NUMBER.findall(html) == busy[12:9:-1]
    assert '<input type="hidden" name="tab" value="cancelled">' in html
    assert 'href="/orders?tab=pending&amp;q=%E4%B9%8C%E9%BE%99"' in html
    assert 'href="/orders?q=%E4%B9%8C%E9%BE%99"' in html  # 全部 keeps it too
    nothing = two_dealers.get("/orders?tab=cancelled&q=坚果").get_data(as_text=True)
    assert "没有与“坚果”相符的订单。" in nothing
    assert 'href="/orders?tab=cancelled">清除搜索' in nothing
    assert 'href="/orders?q=%E5%9D%9A%E6%9E%9C">在全部订单中搜索' in nothing


def test_a_search_never_shows_another_dealers_orders(two_dealers, busy):
    f.product("RIVAL-1", name="竞品礼盒", list_price=100, on_hand=10)
    theirs = orders.place_order(f.user_named("bj"), [LineRequest("RIVAL-1", 1)]).number

    for q in (theirs, "竞品", "RIVAL"):
        html = two_dealers.get("/orders", query_string={"q": q}).get_data(as_text=True)
        assert CARD_NUMBER.findall(html) == [], q
        assert f"没有与“{q}”相符的订单。" in html and f"/orders/{theirs}" not in html
    both = two_dealers.get("/orders?q=礼盒").get_data(as_text=True)
    assert CARD_NUMBER.findall(both) == [busy[0]]
