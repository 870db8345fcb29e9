"""常购清单 pages: a plain page of plain forms (no JavaScript needed) in Chinese and English,
按上次数量加入 posting through the cart's own checks, pins from the list and the product page."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Order
from app.models.types import utcnow
from app.services import cart, orders, products, usual
from app.services.orders import LineRequest
from tests import factories as f
from tests.statements import count_statements


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", credit_limit=100_000_000)
    f.dealer("GZ001", "GOLD", credit_limit=100_000_000)
    f.product("TEA-1", name="绿茶", list_price=450, on_hand=500)
    f.product("WINE-1", name="白酒礼盒", unit="瓶", list_price=123_450, on_hand=500)
    f.product("JUICE-6", name="果汁", list_price=1000, min_order_qty=6, order_multiple=6)
    products.set_on_hand("JUICE-6", 500)
    f.product("MILK-1", name="牛奶", list_price=700, on_hand=500)
    f.product("VIP-1", name="限定", list_price=100, on_hand=5, visible_tiers=["SILVER"])
    buyer = f.dealer_user("SH001", "buyer")
    other = f.dealer_user("GZ001", "other")
    assert f.web_login(client, "buyer").status_code == 302
    return SimpleNamespace(client=client, buyer=buyer, other=other)


def order(user, *lines: tuple[str, int], days_ago: int = 0) -> Order:
    placed = orders.place_order(user, [LineRequest(sku, qty) for sku, qty in lines])
    if days_ago:
        when = utcnow() - timedelta(days=days_ago)
        db.session.execute(update(Order).where(Order.id == placed.id).values(created_at=when))
        db.session.commit()
    return placed


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def page(shop, url: str = "/usual") -> str:
    response = shop.client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def rows(page_html: str) -> list[str]:
    listed = re.search(r'<ul class="cards usual-list" id="usual-list">(.*?)</ul>', page_html, re.S)
    return re.findall(r'<li class="card usual-row" id="u-[^"]+" data-sku="([^"]+)"', listed[1])


def row_html(page_html: str, sku: str) -> str:
    return re.search(rf'<li [^>]*data-sku="{re.escape(sku)}".*?</li>', page_html, re.S)[0]


def form_for(page_html: str, action: str) -> dict:
    """The fields of the plain form posting to `action` (it must exist)."""
    form = re.search(
        rf'<form method="post" action="{re.escape(action)}".*?</form>', page_html, re.S
    )
    assert form, f"no plain form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))


def in_cart(user) -> dict[str, int]:
    return {line.product.sku: line.qty for line in cart.view(user)[0].lines}


def shanghai_day(when) -> str:
    return when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_pins_then_the_most_ordered_in_chinese(shop):
    order(shop.buyer, ("TEA-1", 5), ("WINE-1", 1), days_ago=9)
    latest = order(shop.buyer, ("TEA-1", 7))
    usual.pin(shop.buyer, "MILK-1")

    shown = page(shop)
    assert "<title>常购清单" in shown and "<h1>常购清单</h1>" in shown
    assert rows(shown) == ["MILK-1", "TEA-1", "WINE-1"]
    tea = text_of(row_html(shown, "TEA-1"))
    db.session.refresh(latest)
    assert "绿茶" in tea and "TEA-1" in tea and "¥4.50 /箱" in tea
    assert f"上次 7 箱 · {shanghai_day(latest.created_at)}" in tea
    assert "共订过 2 次" in tea and "有货 488" in tea and "按上次数量加入" in tea
    wine = text_of(row_html(shown, "WINE-1"))
    assert "¥1,234.50 /瓶" in wine and "上次 1 瓶" in wine
    milk = row_html(shown, "MILK-1")
    assert "已置顶" in milk and "usual-add" not in milk  # never ordered: choose a quantity
    assert 'href="/catalog/MILK-1#order-box"' in milk and "取消置顶" in milk


def test_the_page_in_english(shop):
    order(shop.buyer, ("TEA-1", 7))
    shop.client.get("/lang/en")
    shown = text_of(page(shop))
    assert "Usual list" in shown and "Add last quantity" in shown
    assert "Last time 7 箱 · " in shown and "In stock" in shown and "Pin" in shown
    assert "常购清单" not in shown


def test_a_dealer_with_nothing_ordered_is_pointed_to_the_catalog(shop):
    order(shop.other, ("TEA-1", 5))  # another dealer's orders are not this dealer's list
    shown = page(shop)
    assert 'id="usual-list"' not in shown
    empty = re.search(r'<section class="card empty" id="usual-empty">.*?</section>', shown, re.S)
    assert 'href="/catalog"' in empty[0] and "去看商品" in empty[0]


def test_products_the_dealer_cannot_see_are_not_on_the_page(shop):
    order(shop.buyer, ("TEA-1", 5), ("MILK-1", 1))
    order(shop.other, ("WINE-1", 1))
    products.set_active("MILK-1", False)
    assert rows(page(shop)) == ["TEA-1"]


def test_every_form_is_a_plain_post_with_csrf_and_a_key(shop):
    order(shop.buyer, ("TEA-1", 5), ("MILK-1", 1))
    usual.pin(shop.buyer, "MILK-1")
    shown = page(shop)
    forms = re.findall(r"<form\b[^>]*>.*?</form>", shown, re.S)
    posting = [form for form in forms if 'action="/usual/' in form]
    assert len(posting) == 4  # add and pin or unpin, for each of the two rows
    for form in posting:
        assert re.match(r'<form method="post" action="/usual/[^"]+/(add|pin|unpin)"', form)
        assert 'name="csrf_token" value="' in form
        assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', form)
        assert '<button type="submit"' in form
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', shown)
    assert len(set(keys)) == len(keys)  # every form its own key
    assert 'class="btn btn-primary usual-add"' in row_html(shown, "TEA-1")


def test_the_page_reads_a_fixed_number_of_statements_whatever_its_length(shop):
    order(shop.buyer, ("TEA-1", 1))
    page(shop)
    with count_statements() as few:
        page(shop)
    order(shop.buyer, ("TEA-1", 2), ("MILK-1", 1), ("WINE-1", 1), ("JUICE-6", 6))
    usual.pin(shop.buyer, "MILK-1")
    page(shop)
    with count_statements() as many:
        assert len(rows(page(shop))) == 4
    assert many["n"] == few["n"]


# --- 按上次数量加入 ----------------------------------------------------------------------------


def test_adding_the_last_quantity_posts_through_the_cart_once(shop):
    order(shop.buyer, ("TEA-1", 7))
    fields = form_for(page(shop), "/usual/TEA-1/add")
    assert set(fields) == {"csrf_token", "idempotency_key"}

    added = shop.client.post("/usual/TEA-1/add", data=fields)
    assert added.status_code == 302 and added.headers["Location"].endswith("/usual")
    again = shop.client.post("/usual/TEA-1/add", data=fields)  # a double tap
    assert again.status_code in (302, 303)
    assert in_cart(shop.buyer) == {"TEA-1": 7}
    shown = text_of(page(shop))
    assert "已按上次数量加入购物车：绿茶 7箱。" in shown


def test_an_add_fitted_to_the_pack_rules_or_the_stock_says_so(shop):
    order(shop.buyer, ("JUICE-6", 12), ("TEA-1", 9))
    products.update_product("JUICE-6", {"min_order_qty": 10, "order_multiple": 10})
    products.set_on_hand("TEA-1", 9 + 4)
    shown = page(shop)
    for sku in ("JUICE-6", "TEA-1"):
        shop.client.post(f"/usual/{sku}/add", data=form_for(shown, f"/usual/{sku}/add"))
    shown = text_of(page(shop))
    assert "果汁 20箱（上次 12箱，已按起订量和订购倍数调整）" in shown
    assert "绿茶 4箱（上次 9箱，当前库存只够这么多）" in shown
    assert in_cart(shop.buyer) == {"JUICE-6": 20, "TEA-1": 4}


def test_an_add_the_cart_would_refuse_says_why_and_adds_nothing(shop):
    order(shop.buyer, ("TEA-1", 7))
    fields = form_for(page(shop), "/usual/TEA-1/add")
    products.set_on_hand("TEA-1", 7)  # sold out after the page was shown
    refused = shop.client.post("/usual/TEA-1/add", data=fields)
    assert refused.status_code == 302
    assert in_cart(shop.buyer) == {}
    shown = page(shop)
    assert "绿茶：库存不足起订量。" in text_of(shown)
    assert (
        "disabled"
        in re.search(
            r'<button type="submit" class="btn btn-primary usual-add"[^>]*>',
            row_html(shown, "TEA-1"),
        )[0]
    )


def test_an_add_without_the_csrf_token_is_refused(shop):
    order(shop.buyer, ("TEA-1", 7))
    response = shop.client.post("/usual/TEA-1/add", data={"idempotency_key": "k" * 32})
    assert response.status_code == 400
    assert in_cart(shop.buyer) == {}


def test_with_htmx_an_add_swaps_its_row_and_the_cart_badge(shop):
    order(shop.buyer, ("TEA-1", 7))
    fields = form_for(page(shop), "/usual/TEA-1/add")
    response = shop.client.post("/usual/TEA-1/add", data=fields, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "toast" in response.headers["HX-Trigger"]
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<li class="card usual-row" id="u-TEA-1" data-sku="TEA-1"')
    assert "已按上次数量加入购物车：绿茶 7箱。" in text_of(body)
    assert re.search(r'<b id="cart-badge" class="tab-badge" hx-swap-oob="true">1</b>', body)
    assert in_cart(shop.buyer) == {"TEA-1": 7}


def test_another_dealers_product_cannot_be_added(shop):
    order(shop.buyer, ("TEA-1", 7))
    token = f.csrf_from(page(shop))
    shop.client.post("/usual/VIP-1/add", data={"csrf_token": token})
    assert "找不到该商品（VIP-1）。" in text_of(page(shop))
    assert in_cart(shop.buyer) == {}


# --- pins, links, who may open it ----------------------------------------------------------


def test_pinning_from_the_product_page_returns_to_it(shop):
    product = page(shop, "/catalog/MILK-1")
    fields = form_for(product, "/usual/MILK-1/pin")
    assert fields["next"] == "product" and fields["idempotency_key"]
    pinned = shop.client.post("/usual/MILK-1/pin", data=fields)
    assert pinned.headers["Location"].endswith("/catalog/MILK-1")
    product = page(shop, "/catalog/MILK-1")
    assert "已置顶到常购清单：牛奶。" in text_of(product)
    assert "从常购清单取消置顶" in product and 'href="/usual"' in product
    assert rows(page(shop)) == ["MILK-1"]

    fields = form_for(product, "/usual/MILK-1/unpin")
    assert shop.client.post("/usual/MILK-1/unpin", data=fields).status_code == 302
    assert "置顶到常购清单" in page(shop, "/catalog/MILK-1")
    assert 'id="usual-empty"' in page(shop)


def test_unpinning_from_the_list_returns_to_it(shop):
    usual.pin(shop.buyer, "TEA-1")
    fields = form_for(page(shop), "/usual/TEA-1/unpin")
    response = shop.client.post("/usual/TEA-1/unpin", data=fields)
    assert response.headers["Location"].endswith("/usual")
    assert "已从常购清单取消置顶：绿茶。" in text_of(page(shop))


def test_a_product_the_dealer_cannot_see_cannot_be_pinned(shop):
    token = f.csrf_from(page(shop, "/catalog/TEA-1"))
    shop.client.post("/usual/VIP-1/pin", data={"csrf_token": token})
    assert "找不到该商品（VIP-1）。" in text_of(page(shop))
    assert usual.usual_list(shop.buyer) == []


def test_me_and_the_cart_link_to_the_list(shop):
    assert re.search(r'id="usual-row" href="/usual"', page(shop, "/me"))
    assert re.search(r'href="/usual" id="usual-link"', page(shop, "/cart"))  # empty cart
    cart.add(shop.buyer, "TEA-1", 1)
    full = page(shop, "/cart")
    assert 'id="quick-order-link"' in full and re.search(r'href="/usual" id="usual-link"', full)


def test_hq_cannot_open_it(client):
    f.admin("hq")
    f.web_login(client, "hq")
    assert client.get("/usual").status_code == 403
