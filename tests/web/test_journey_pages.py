"""Issue 6 on the server side, through plain forms (no JavaScript) and htmx requests: the
cart holds what it shows, the order form names the nearest quantities, search history and
Back keep the dealer's place, and paging never strands page 1."""

import re

import pytest

from app.services import cart
from tests import factories as f

HTMX = {"HX-Request": "true"}


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product(
        "PACK-6",
        name="奶粉",
        unit="罐",
        list_price=10000,
        min_order_qty=6,
        order_multiple=2,
        on_hand=20,
        category="乳品",
    )
    f.prices("PACK-6", tiers={"GOLD": [(1, 9000), (10, 8500), (50, 8000)]})
    f.product("TEA-1", name="绿茶", list_price=500, on_hand=100, category="饮料")
    buyer = f.dealer_user("SH001", "sh")
    f.web_login(client, "sh")
    client.buyer = buyer
    return client


@pytest.fixture
def one_per_page(app, monkeypatch):
    """Catalog pages of one card, so two products make two pages."""
    monkeypatch.setitem(app.config, "CATALOG_PAGE_SIZE", 1)


def held(client) -> dict[str, int]:
    view, _ = cart.view(client.buyer)
    return {line.product.sku: line.qty for line in view.lines}


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', text(client.get("/cart"))).group(1)


def post(client, url, **form):
    return client.post(url, data={"csrf_token": csrf(client), **form})


def sheet_alert(client, url: str = "/cart/add", **form) -> str:
    """The refusal beside the order sheet's stepper, after an htmx post of the sheet's form."""
    body = text(client.post(url, data={"csrf_token": csrf(client), **form}, headers=HTMX))
    return re.search(r'<p class="alert" role="alert" id="qty-error">(.*?)</p>', body).group(1)


# --- the cart ---------------------------------------------------------------------------


def test_a_typed_quantity_off_the_packs_is_snapped_and_the_page_says_so(shop):
    cart.set_qty(shop.buyer, "PACK-6", 6)
    answer = post(shop, "/cart/PACK-6", qty="9")
    assert answer.status_code == 302
    assert held(shop) == {"PACK-6": 10}
    page = text(shop.get("/cart"))
    assert "已改为10罐，以符合起订量和订购倍数。" in page
    assert 'value="10"' in page


def test_htmx_cart_answer_shows_the_held_quantity_beside_the_line(shop):
    cart.set_qty(shop.buyer, "PACK-6", 6)
    token = csrf(shop)
    body = text(shop.post("/cart/PACK-6", data={"csrf_token": token, "qty": "99"}, headers=HTMX))
    assert held(shop) == {"PACK-6": 20}
    assert 'name="qty" type="number" inputmode="numeric" value="20"' in body
    assert "已改为20罐：库存最多只够这么多。" in body


def test_zero_removes_a_line_and_offers_undo_without_javascript(shop):
    cart.set_qty(shop.buyer, "PACK-6", 8)
    answer = post(shop, "/cart/PACK-6", qty="0")
    assert held(shop) == {}
    page = text(shop.get(answer.headers["Location"]))
    assert "已从购物车删除奶粉。" in page and 'name="qty" value="8"' in page
    post(shop, "/cart/PACK-6", qty="8")  # the 撤销 form
    assert held(shop) == {"PACK-6": 8}


def test_the_steppers_are_plain_submit_buttons_without_javascript(shop):
    cart.set_qty(shop.buyer, "PACK-6", 8)
    page = text(shop.get("/cart"))
    assert re.search(r'type="submit" class="step" name="set" value="6"', page)
    assert re.search(r'type="submit" class="step" name="set" value="10"', page)
    post(shop, "/cart/PACK-6", set="10", qty="8")
    assert held(shop) == {"PACK-6": 10}


def test_the_toast_names_the_product_and_its_units_while_the_badge_counts_lines(shop):
    token = csrf(shop)
    answer = shop.post(
        "/cart/add", data={"csrf_token": token, "sku": "PACK-6", "qty": "8"}, headers=HTMX
    )
    toast = answer.headers["HX-Trigger"].encode().decode("unicode_escape")
    assert "奶粉 共8罐" in toast and "购物车共1种商品" in toast


# --- the order form --------------------------------------------------------------------


def test_a_refused_quantity_names_the_orderable_ones_beside_it(shop):
    alert = sheet_alert(shop, sku="PACK-6", qty="7")
    assert "6" in alert and "8" in alert
    assert held(shop) == {}


def test_more_than_the_stock_is_refused_saying_how_much_can_be_ordered(shop):
    alert = sheet_alert(shop, sku="PACK-6", qty="30")
    assert "20" in alert
    assert held(shop) == {}


def test_the_break_table_starts_at_the_minimum_and_marks_breaks_beyond_the_stock(shop):
    page = text(shop.get("/catalog/PACK-6"))
    rows = re.findall(r"<td>≥ (\d+)罐(.*?)</td>", page)
    assert [int(n) for n, _ in rows] == [6, 10, 50]
    assert "库存不足" in rows[-1][1] and "库存不足" not in rows[0][1]
    assert page.count('class="break-hint"') == 1  # the hint is said once


def test_the_card_hint_never_advertises_a_break_beyond_the_stock(shop):
    f.prices("PACK-6", tiers={"GOLD": [(1, 9000), (50, 8000)]})
    page = text(shop.get("/catalog?q=PACK-6"))
    assert "≥50罐" not in page


# --- history and Back ---------------------------------------------------------------------


def test_a_search_as_you_type_pushes_one_entry_then_replaces_it(shop):
    first = shop.get(
        "/catalog?q=奶", headers={**HTMX, "HX-Target": "cards", "HX-Current-URL": "/catalog"}
    )
    assert first.headers["HX-Push-Url"] == "/catalog?q=%E5%A5%B6"
    assert "HX-Replace-Url" not in first.headers
    refined = shop.get(
        "/catalog?q=奶粉",
        headers={**HTMX, "HX-Target": "cards", "HX-Current-URL": "http://x/catalog?q=%E5%A5%B6"},
    )
    assert refined.headers["HX-Replace-Url"] == "/catalog?q=%E5%A5%B6%E7%B2%89"
    assert "HX-Push-Url" not in refined.headers
    assert "HX-Request" in refined.headers["Vary"]
    body = text(refined)
    assert 'id="category-chips" aria-label="分类" hx-swap-oob="true"' in body
    assert "q=%E5%A5%B6%E7%B2%89" in body.split('id="category-chips"')[1]  # chips keep it


def test_a_history_restore_gets_the_whole_page_not_a_fragment(shop):
    page = text(shop.get("/catalog?q=奶", headers={**HTMX, "HX-History-Restore-Request": "true"}))
    assert "<html" in page and 'id="q"' in page


def test_the_product_page_back_link_returns_to_the_search_and_category(shop):
    category = re.search(r'category=(\d+)[^"]*">乳品', text(shop.get("/catalog"))).group(1)
    page = text(shop.get(f"/catalog?q=奶&category={category}"))
    link = re.search(r'href="(/catalog/PACK-6\?[^"#]*)"', page).group(1)
    product = text(shop.get(link.replace("&amp;", "&")))
    back = re.search(r'<a class="back" href="([^"]+)"', product).group(1).replace("&amp;", "&")
    assert back.startswith("/catalog?") and "q=%E5%A5%B6" in back
    assert f"category={category}" in back
    assert back.endswith("#p-PACK-6")


def test_a_later_catalog_page_without_javascript_links_back_to_the_one_before(shop, one_per_page):
    page = text(shop.get("/catalog?page=2"))
    assert 'rel="prev" href="/catalog"' in page and "第2页" in page


def test_pages_one_to_n_come_at_once_for_back_and_scroll_sets_that_address(shop, one_per_page):
    f.product("TEA-2", name="红茶", list_price=500, on_hand=100, category="饮料")
    page = text(shop.get("/catalog?upto=2"))
    scrolled = shop.get("/catalog?page=2", headers=HTMX)
    assert page.count('class="card product-card"') == 2 and 'rel="prev"' not in page
    assert "/catalog?page=3" in page  # the list goes on after page 2
    assert scrolled.headers["HX-Replace-Url"] == "/catalog?upto=2"


def test_the_sheet_counts_what_the_cart_already_holds(shop):
    cart.set_qty(shop.buyer, "PACK-6", 16)
    sheet = text(shop.get("/catalog/PACK-6/sheet", headers=HTMX))
    assert "购物车中已有16罐。" in sheet
    alert = sheet_alert(shop, sku="PACK-6", qty="6")
    assert "库存仅够订4罐" not in alert  # 20 in stock, 16 held: only 4 more, under the MOQ
    assert "库存不足" in alert and "购物车中已有16罐。" in alert
    assert held(shop) == {"PACK-6": 16}


def test_order_now_with_a_quantity_off_the_packs_names_the_choices_and_keeps_the_key(shop):
    form = {"sku": "PACK-6", "qty": "7", "key": "k-buy-now-1"}
    assert "可选6罐或8罐" in sheet_alert(shop, "/buy-now", **form)
    answer = post(shop, "/buy-now", **{**form, "qty": "8"})
    assert answer.headers["Location"].startswith("/orders/SO")  # the same key, now placed


def test_back_from_a_product_on_a_later_page_returns_to_that_page(shop, one_per_page):
    page = text(shop.get("/catalog?page=2"))
    link = re.search(r'class="card-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "page=2" in link
    product = text(shop.get(link))
    back = re.search(r'<a class="back" href="([^"]+)"', product).group(1).replace("&amp;", "&")
    assert back.startswith("/catalog?page=2#p-")
