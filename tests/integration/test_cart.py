"""The server-side cart: pack rules on entry, re-priced on every read, one-tap reorder."""

from types import SimpleNamespace

import pytest

from app.errors import Conflict, Invalid, NotFound
from app.services import cart, orders, products
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.dealer("BJ001", "GOLD", credit_limit=10_000_000)
    f.product(
        "JUICE-6", name="果汁", list_price=1000, min_order_qty=6, order_multiple=6, on_hand=100
    )
    f.prices("JUICE-6", tiers={"GOLD": [(1, 1000), (12, 900), (24, 850)]})
    f.product("TEA-1", name="绿茶", list_price=500, on_hand=100)
    return SimpleNamespace(
        buyer=f.dealer_user("SH001", "buyer"),
        colleague=f.dealer_user("SH001", "colleague"),
        rival=f.dealer_user("BJ001", "rival"),
    )


def lines_of(user):
    view, _ = cart.view(user)
    return {line.product.sku: line.qty for line in view.lines}


# --- adding and changing quantities -----------------------------------------------------


@pytest.mark.parametrize("qty", [3, 8, 0, -6], ids=["below-moq", "not-a-multiple", "zero", "neg"])
def test_adding_a_quantity_that_breaks_the_pack_rules_is_refused(shop, qty):
    with pytest.raises(Invalid):
        cart.add(shop.buyer, "JUICE-6", qty)

    assert cart.count(shop.buyer) == 0


def test_adding_the_same_product_again_accumulates(shop):
    assert cart.add(shop.buyer, "JUICE-6", 6) == 6
    assert cart.add(shop.buyer, "JUICE-6", 6) == 12
    cart.add(shop.buyer, "TEA-1", 1)

    assert lines_of(shop.buyer) == {"JUICE-6": 12, "TEA-1": 1}
    assert cart.count(shop.buyer) == 2


def test_adding_more_that_would_leave_a_broken_pack_is_refused_and_keeps_the_line(shop):
    cart.add(shop.buyer, "JUICE-6", 6)

    with pytest.raises(Invalid):
        cart.add(shop.buyer, "JUICE-6", 3)

    assert lines_of(shop.buyer) == {"JUICE-6": 6}


def test_adding_a_product_the_dealer_cannot_see_is_not_found(shop):
    f.product("OFF-1", active=False, on_hand=10)
    f.product("SILVER-ONLY", visible_tiers=["SILVER"], on_hand=10)

    for sku in ("OFF-1", "SILVER-ONLY", "NO-SUCH-SKU"):
        with pytest.raises(NotFound):
            cart.add(shop.buyer, sku, 1)

    assert cart.count(shop.buyer) == 0


def test_setting_a_quantity_replaces_it_and_zero_removes_the_line(shop):
    cart.add(shop.buyer, "JUICE-6", 6)
    cart.add(shop.buyer, "TEA-1", 2)

    cart.set_qty(shop.buyer, "JUICE-6", 18)
    assert lines_of(shop.buyer) == {"JUICE-6": 18, "TEA-1": 2}

    cart.set_qty(shop.buyer, "JUICE-6", 0)
    assert lines_of(shop.buyer) == {"TEA-1": 2}
    assert cart.count(shop.buyer) == 1


@pytest.mark.parametrize("qty", [5, 7, -6])
def test_setting_a_quantity_that_breaks_the_pack_rules_is_refused(shop, qty):
    cart.add(shop.buyer, "JUICE-6", 6)

    with pytest.raises(Invalid):
        cart.set_qty(shop.buyer, "JUICE-6", qty)

    assert lines_of(shop.buyer) == {"JUICE-6": 6}


def test_each_user_has_an_own_cart(shop):
    cart.add(shop.buyer, "JUICE-6", 6)

    assert lines_of(shop.colleague) == {}
    assert lines_of(shop.rival) == {}
    assert cart.count(shop.colleague) == 0


# --- reading the cart -------------------------------------------------------------------


def test_the_cart_is_re_priced_as_a_quantity_crosses_a_break(shop):
    cart.add(shop.buyer, "JUICE-6", 6)
    view, _ = cart.view(shop.buyer)
    (line,) = view.lines
    assert (line.unit_price, line.amount, line.more_for_next_break) == (1000, 6000, 6)

    cart.set_qty(shop.buyer, "JUICE-6", 12)
    view, _ = cart.view(shop.buyer)
    (line,) = view.lines
    assert (line.unit_price, line.amount, line.more_for_next_break) == (900, 10800, 12)

    cart.set_qty(shop.buyer, "JUICE-6", 24)
    view, _ = cart.view(shop.buyer)
    (line,) = view.lines
    assert (line.unit_price, line.amount, line.more_for_next_break) == (850, 20400, 0)
    assert line.next_break is None


def test_the_cart_shows_todays_price_not_the_price_when_added(shop):
    cart.add(shop.buyer, "JUICE-6", 6)
    cart.add(shop.buyer, "TEA-1", 2)

    f.prices("JUICE-6", tiers={"GOLD": [(1, 1100)]})

    view, _ = cart.view(shop.buyer)
    assert {line.product.sku: line.unit_price for line in view.lines} == {
        "JUICE-6": 1100,
        "TEA-1": 500,
    }
    assert view.goods_amount == 6 * 1100 + 2 * 500


@pytest.mark.parametrize(
    "change", [{"active": False}, {"visible_tiers": ["SILVER"]}], ids=["inactive", "other-tier"]
)
def test_a_product_withdrawn_after_it_was_added_leaves_the_cart_and_is_named(shop, change):
    cart.add(shop.buyer, "JUICE-6", 6)
    cart.add(shop.buyer, "TEA-1", 2)

    products.update_product("TEA-1", change)
    view, gone = cart.view(shop.buyer)

    assert [line.product.sku for line in view.lines] == ["JUICE-6"]
    assert gone == ["绿茶"]
    assert view.goods_amount == 6000
    assert cart.count(shop.buyer) == 1


# --- reorder ----------------------------------------------------------------------------


@pytest.fixture
def past_order(shop):
    """A cancelled order of five lines; then stock, activity and pack rules change."""
    f.product("PLENTY", name="常备", min_order_qty=6, order_multiple=6, on_hand=100)
    f.product("FEW", name="少量", min_order_qty=6, order_multiple=6, on_hand=100)
    f.product("GONE", name="售罄", min_order_qty=6, order_multiple=6, on_hand=100)
    f.product("RETIRED", name="下架", on_hand=100)
    f.product("REPACKED", name="改箱规", on_hand=100)
    order = orders.place_order(
        shop.buyer,
        [
            LineRequest("PLENTY", 12),
            LineRequest("FEW", 12),
            LineRequest("GONE", 12),
            LineRequest("RETIRED", 12),
            LineRequest("REPACKED", 5),
        ],
    )
    number = order.number
    orders.cancel_order(shop.buyer, number)
    products.set_on_hand("FEW", 8)  # room for one pack of 6
    products.set_on_hand("GONE", 3)  # less than one minimum order
    products.update_product("RETIRED", {"active": False})
    products.update_product("REPACKED", {"order_multiple": 6})
    return number


def test_reorder_fills_the_cart_fitted_to_todays_stock_and_rules_and_says_why(shop, past_order):
    changes = cart.reorder(shop.buyer, past_order)

    assert lines_of(shop.buyer) == {"PLENTY": 12, "FEW": 6, "REPACKED": 6}
    reported = {c.sku: (c.wanted, c.added, c.reason) for c in changes}
    assert reported == {
        "FEW": (12, 6, "reduced_to_stock"),
        "GONE": (12, 0, "out_of_stock"),
        "RETIRED": (12, 0, "unavailable"),
        "REPACKED": (5, 6, "pack_rules"),
    }
    assert {c.sku: c.name for c in changes}["RETIRED"] == "下架"


def test_reorder_of_an_order_that_still_fits_changes_nothing(shop):
    order = orders.place_order(shop.buyer, [LineRequest("JUICE-6", 12), LineRequest("TEA-1", 3)])

    changes = cart.reorder(shop.buyer, order.number)

    assert changes == []
    assert lines_of(shop.buyer) == {"JUICE-6": 12, "TEA-1": 3}


def test_reorder_of_another_dealers_order_is_not_found(shop):
    theirs = orders.place_order(shop.rival, [LineRequest("TEA-1", 1)])

    with pytest.raises(NotFound):
        cart.reorder(shop.buyer, theirs.number)

    assert cart.count(shop.buyer) == 0


# --- checking out -----------------------------------------------------------------------


def test_placing_the_cart_with_clear_cart_empties_it(shop):
    cart.add(shop.buyer, "JUICE-6", 12)
    cart.add(shop.buyer, "TEA-1", 2)
    view, _ = cart.view(shop.buyer)

    order = orders.place_order(shop.buyer, view.requests(), clear_cart=True)

    assert cart.count(shop.buyer) == 0
    assert [(line.sku, line.qty, line.unit_price) for line in order.lines] == [
        ("JUICE-6", 12, 900),
        ("TEA-1", 2, 500),
    ]
    assert order.goods_amount == view.goods_amount


def test_placing_without_clear_cart_keeps_it(shop):
    cart.add(shop.buyer, "TEA-1", 2)

    orders.place_order(shop.buyer, [LineRequest("TEA-1", 2)])

    assert lines_of(shop.buyer) == {"TEA-1": 2}


def test_a_refused_order_keeps_the_cart(shop):
    cart.add(shop.buyer, "TEA-1", 2)
    products.set_on_hand("TEA-1", 1)
    view, _ = cart.view(shop.buyer)

    with pytest.raises(Conflict):
        orders.place_order(shop.buyer, view.requests(), clear_cart=True)

    assert lines_of(shop.buyer) == {"TEA-1": 2}
    assert view.lines[0].short


# --- a typed quantity is fitted, never refused silently ---------------------------------


def test_a_typed_quantity_becomes_the_nearest_whole_pack_and_says_why(shop):
    cart.add(shop.buyer, "JUICE-6", 6)

    change = cart.type_qty(shop.buyer, "JUICE-6", 8)

    assert (change.qty, change.reason) == (6, "pack_rules")  # 8 is nearer 6 than 12
    assert lines_of(shop.buyer) == {"JUICE-6": 6}
    assert cart.type_qty(shop.buyer, "JUICE-6", 9).qty == 12  # a tie goes up


def test_a_typed_quantity_beyond_the_stock_becomes_what_the_stock_allows(shop):
    products.set_on_hand("JUICE-6", 20)

    change = cart.type_qty(shop.buyer, "JUICE-6", 30)

    assert (change.qty, change.reason) == (18, "stock")
    assert lines_of(shop.buyer) == {"JUICE-6": 18}


def test_typing_zero_removes_the_line_and_remembers_what_it_held(shop):
    cart.add(shop.buyer, "JUICE-6", 12)

    change = cart.type_qty(shop.buyer, "JUICE-6", 0)

    assert (change.reason, change.before) == ("removed", 12)
    assert lines_of(shop.buyer) == {}


def test_adding_more_than_the_stock_is_refused_naming_the_most_that_fits(shop):
    products.set_on_hand("JUICE-6", 20)

    with pytest.raises(Invalid) as refused:
        cart.add(shop.buyer, "JUICE-6", 24)

    assert refused.value.code == "quantity_over_stock"
    assert refused.value.extra["max_qty"] == 18
    assert cart.count(shop.buyer) == 0


def test_a_quantity_off_the_packs_names_the_orderable_ones_either_side(shop):
    with pytest.raises(Invalid) as refused:
        cart.add(shop.buyer, "JUICE-6", 8)

    extra = refused.value.extra
    assert refused.value.code == "invalid_quantity"
    assert (extra["below"], extra["above"], extra["min_order_qty"]) == (6, 12, 6)
