"""The quick-order preview: pasted lines against the dealer's catalog and cart, through the
cart's own services (prices, pack rules, stock left beside the cart's line); it changes
nothing."""

from types import SimpleNamespace

import pytest

from app.services import accounts, cart, catalog
from app.services import quick_order as q
from tests import factories as f
from tests.api.helpers import db_state


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product(
        "JUICE-6", name="果汁", list_price=1000, min_order_qty=6, order_multiple=6, on_hand=100
    )
    f.prices("JUICE-6", tiers={"GOLD": [(1, 1000), (12, 900), (24, 850)]})
    f.product("TEA-1", name="绿茶", list_price=500, on_hand=10)
    f.product("TEA-2", name="红茶", list_price=600, on_hand=0)
    return SimpleNamespace(buyer=f.dealer_user("SH001", "buyer"))


def preview(shop, text: str) -> dict[str, q.PreviewLine]:
    return {line.wanted.sku: line for line in q.preview(shop.buyer, q.parse(text))}


def test_a_line_that_fits_gets_the_price_the_catalog_shows_for_that_quantity(shop):
    lines = preview(shop, "JUICE-6 12\nTEA-1 2")
    juice = lines["JUICE-6"]
    assert (juice.qty, juice.reason, juice.unit_price, juice.amount) == (12, "", 900, 10_800)
    shown = catalog.item(shop.buyer.dealer, "JUICE-6")
    assert juice.unit_price == shown.table.unit_price(12)
    assert (lines["TEA-1"].qty, lines["TEA-1"].reason) == (2, "")


def test_a_quantity_off_the_pack_rules_is_rounded_up_and_says_so(shop):
    lines = preview(shop, "JUICE-6 4\nJUICE-6 3")  # merged: 7, rounded up to 12
    assert (lines["JUICE-6"].qty, lines["JUICE-6"].reason) == (12, "pack_rules")
    assert lines["JUICE-6"].wanted.rows == (1, 2)


def test_more_than_in_stock_is_reduced_and_none_left_is_nothing(shop):
    lines = preview(shop, "TEA-1 25\nTEA-2 1")
    assert (lines["TEA-1"].qty, lines["TEA-1"].reason) == (10, "reduced_to_stock")
    assert (lines["TEA-2"].qty, lines["TEA-2"].reason) == (0, "out_of_stock")


def test_the_stock_left_beside_the_cart_line_is_what_counts(shop):
    cart.add(shop.buyer, "TEA-1", 8)
    line = preview(shop, "TEA-1 5")["TEA-1"]
    assert (line.in_cart, line.qty, line.reason) == (8, 2, "reduced_to_stock")


def test_an_unknown_sku_offers_close_ones_and_letter_case_does_not_matter(shop):
    lines = preview(shop, "TEA-3 1\njuice-6 6")
    assert lines["TEA-3"].reason == q.UNKNOWN_SKU and lines["TEA-3"].qty == 0
    assert set(lines["TEA-3"].suggestions) <= {"TEA-1", "TEA-2"} and lines["TEA-3"].suggestions
    assert (lines["juice-6"].qty, lines["juice-6"].item.product.sku) == (6, "JUICE-6")


def test_a_product_the_dealer_cannot_see_is_unknown(shop):
    accounts.create_tier("SILVER", "银牌")
    f.product("VIP-1", name="限定", list_price=100, on_hand=5, visible_tiers=["SILVER"])
    assert preview(shop, "VIP-1 1")["VIP-1"].reason == q.UNKNOWN_SKU


def test_a_preview_changes_nothing(shop):
    before = db_state()
    preview(shop, "JUICE-6 12\nTEA-1 50\nNOPE 1")
    assert db_state() == before


def test_every_fitted_line_is_one_the_cart_accepts(shop):
    for line in q.preview(shop.buyer, q.parse("JUICE-6 7\nTEA-1 25\nTEA-2 3")):
        if line.qty:
            cart.add(shop.buyer, line.item.product.sku, line.qty)
    assert {line.product.sku: line.qty for line in cart.view(shop.buyer)[0].lines} == {
        "JUICE-6": 12,
        "TEA-1": 10,
    }
