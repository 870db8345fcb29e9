"""The dealer's catalog pages: prices, search, chips, scroll, stock badges."""

import pytest

from app.services import products, settings
from tests import factories as f
from tests.statements import count_statements


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    gold = f.dealer("SH001", "GOLD")
    silver = f.dealer("BJ001", "SILVER")
    f.dealer_user(gold.code, "sh")
    f.dealer_user(silver.code, "bj")
    f.product("DRK-001", name="冰爽柠檬茶", list_price=4500, on_hand=100, category="饮料")
    f.product(
        "DAI-001",
        name="纯牛奶",
        list_price=6500,
        on_hand=5,
        category="乳品",
        low_stock_threshold=10,
    )
    f.product(
        "ALC-009",
        name="酱香白酒",
        list_price=59800,
        on_hand=0,
        category="酒水",
        visible_tiers=["GOLD"],
    )
    products.replace_prices(
        "DRK-001",
        tiers={"GOLD": [{"min_qty": 1, "price": 4000}, {"min_qty": 10, "price": 3800}]},
        dealers={"BJ001": [{"min_qty": 1, "price": 4100}]},
    )
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_each_dealer_sees_their_own_price_and_next_break(shop):
    f.web_login(shop, "sh")
    html = page(shop, "/catalog?q=DRK-001")
    assert "¥40.00" in html and "≥10箱 ¥38.00" in html and "¥45.00" in html  # list struck through
    other = shop.application.test_client()
    f.web_login(other, "bj")
    html = page(other, "/catalog?q=DRK-001")
    assert "¥41.00" in html and "¥40.00" not in html


def test_stock_badges_in_chinese(shop):
    f.web_login(shop, "sh")
    html = page(shop, "/catalog")
    assert "有货" in html and "库存紧张" in html and "缺货" in html


def test_search_by_name_or_sku_prefix(shop):
    f.web_login(shop, "sh")
    assert "纯牛奶" in page(shop, "/catalog?q=牛奶")
    html = page(shop, "/catalog?q=drk")
    assert "冰爽柠檬茶" in html and "纯牛奶" not in html


def test_category_chip_filters(shop):
    f.web_login(shop, "sh")
    category_id = products.product_by_sku("DAI-001").category_id
    html = page(shop, f"/catalog?category={category_id}")
    assert "纯牛奶" in html and "冰爽柠檬茶" not in html


def test_tier_limited_product_is_invisible_to_other_tiers(shop):
    f.web_login(shop, "bj")
    assert "酱香白酒" not in page(shop, "/catalog")
    assert shop.get("/catalog/ALC-009").status_code == 404
    assert shop.get("/stock-badges?skus=ALC-009").get_json() == {"items": []}


def test_product_page_shows_the_whole_break_table_and_why(shop):
    f.web_login(shop, "sh")
    html = page(shop, "/catalog/DRK-001")
    assert "¥40.00" in html and "¥38.00" in html and "金牌经销商价" in html


def test_htmx_scroll_gets_only_the_cards(shop):
    f.web_login(shop, "sh")
    response = shop.get("/catalog?page=1", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'data-sku="DRK-001"' in html


def test_more_link_when_there_is_another_page(shop, app):
    for i in range(app.config["CATALOG_PAGE_SIZE"]):
        f.product(f"ZZZ-{i:03d}", on_hand=20)
    f.web_login(shop, "sh")
    html = page(shop, "/catalog")
    assert 'class="more"' in html and "page=2" in html
    assert 'class="more"' not in page(shop, "/catalog?page=2")


def test_exact_numbers_hidden_when_hq_shows_badges_only(shop):
    f.web_login(shop, "sh")
    assert "<b>100</b>" in page(shop, "/catalog?q=DRK")
    settings.update_settings({"show_exact_stock": False})
    html = page(shop, "/catalog?q=DRK")
    assert "<b>100</b>" not in html and "有货" in html


def test_catalog_page_statement_count_does_not_grow_with_page_size(shop, app):
    for i in range(45):
        f.product(f"BULK-{i:03d}", on_hand=i)
        if i % 3 == 0:
            products.replace_prices(
                f"BULK-{i:03d}",
                tiers={"GOLD": [{"min_qty": 1, "price": 100}]},
                dealers={"SH001": [{"min_qty": 1, "price": 90}]},
            )
    f.web_login(shop, "sh")
    page(shop, "/catalog")  # warm the per-process caches (settings) once, as a server would
    counts = {}
    for size in (5, 40):
        app.config["CATALOG_PAGE_SIZE"] = size
        try:
            with count_statements() as counter:
                page(shop, "/catalog")
        finally:
            app.config["CATALOG_PAGE_SIZE"] = 20
        counts[size] = counter["n"]
    assert counts[5] == counts[40]
    assert counts[40] <= 7  # user, cart badge, announcements strip, settings, page, count, stock


def test_catalog_api_statement_count_does_not_grow_with_page_size(shop):
    for i in range(45):
        f.product(f"BULK-{i:03d}", on_hand=i)
    headers = f.token_for(shop, "sh")
    shop.get("/api/v1/catalog", headers=headers)  # warm the per-process caches once
    counts = []
    for size in (5, 45):
        with count_statements() as counter:
            assert shop.get(f"/api/v1/catalog?per_page={size}", headers=headers).status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1] <= 6


def test_stock_refresh_is_one_conditional_request(shop):
    f.web_login(shop, "sh")
    url = "/stock-badges?skus=DRK-001,DAI-001"
    first = shop.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert {row["sku"]: row["status"] for row in first.get_json()["items"]} == {
        "DRK-001": "in_stock",
        "DAI-001": "low",
    }
    unchanged = shop.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    products.set_on_hand("DAI-001", 0)
    changed = shop.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    row = next(r for r in changed.get_json()["items"] if r["sku"] == "DAI-001")
    assert row == {"sku": "DAI-001", "status": "out_of_stock", "available": 0, "label": "缺货"}


def test_stock_refresh_needs_a_dealer_session(shop):
    assert shop.get("/stock-badges?skus=DRK-001").status_code == 302


def test_a_card_drops_a_break_its_stock_can_no_longer_reach(shop):
    """Cards are kept rendered with their page: what stock decides on a card — here the next
    price break, with exact stock hidden and the badge unchanged — must still follow stock."""
    f.product("TEA-9", name="乌龙茶", list_price=4500, on_hand=100, low_stock_threshold=2)
    tiers = {"GOLD": [{"min_qty": 1, "price": 4000}, {"min_qty": 10, "price": 3800}]}
    products.replace_prices("TEA-9", tiers=tiers, dealers={})
    settings.update_settings({"show_exact_stock": False})
    f.web_login(shop, "sh")
    assert "≥10箱 ¥38.00" in page(shop, "/catalog?q=TEA-9")
    products.set_on_hand("TEA-9", 9)  # still "in stock", but 10 is out of reach
    html = page(shop, "/catalog?q=TEA-9")
    assert "badge-in_stock" in html and "≥10箱 ¥38.00" not in html
    products.set_on_hand("TEA-9", 100)
    assert "≥10箱 ¥38.00" in page(shop, "/catalog?q=TEA-9")
