"""常购清单 (the usual list): the dealer's pins first, then what it orders most, from its own
orders that were not cancelled or rejected; each row is the catalog's product, and adding the
last quantity goes through the cart's own rules."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import text, update

from app.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import Order, User
from app.models.types import utcnow
from app.services import cart, catalog, orders, products, usual
from app.services.orders import LineRequest
from tests import factories as f
from tests.statements import count_statements
from tests.threads import run_together


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    for code in ("SH001", "GZ001"):
        f.dealer(code, "GOLD", credit_limit=10_000_000)
    f.product("JUICE-6", name="果汁", list_price=1000, min_order_qty=6, order_multiple=6)
    f.product("TEA-1", name="绿茶", list_price=500)
    f.product("TEA-2", name="红茶", list_price=600)
    f.product("MILK-1", name="牛奶", list_price=700)
    f.product("VIP-1", name="限定", list_price=100, visible_tiers=["SILVER"])
    for sku in ("JUICE-6", "TEA-1", "TEA-2", "MILK-1", "VIP-1"):
        products.set_on_hand(sku, 1000)
    return SimpleNamespace(
        buyer=f.dealer_user("SH001", "buyer"),
        colleague=f.dealer_user("SH001", "colleague"),
        other=f.dealer_user("GZ001", "other"),
        admin=f.admin("hq"),
    )


def order(user, *lines: tuple[str, int], days_ago: int = 0) -> Order:
    placed = orders.place_order(user, [LineRequest(sku, qty) for sku, qty in lines])
    if days_ago:
        when = utcnow() - timedelta(days=days_ago)
        db.session.execute(update(Order).where(Order.id == placed.id).values(created_at=when))
        db.session.commit()
    return placed


def listed(user) -> list[tuple]:
    return [
        (row.item.product.sku, row.pinned, row.times, row.last_qty)
        for row in usual.usual_list(user)
    ]


def in_cart(user) -> dict[str, int]:
    return {line.product.sku: line.qty for line in cart.view(user)[0].lines}


# --- the list ------------------------------------------------------------------------------


def test_the_most_ordered_come_first_each_with_the_last_quantity_and_its_date(shop):
    order(shop.buyer, ("TEA-1", 5), ("MILK-1", 2), days_ago=20)
    order(shop.buyer, ("TEA-1", 3), ("TEA-2", 4), days_ago=10)
    latest = order(shop.buyer, ("TEA-1", 7), days_ago=2)

    # TEA-2 and MILK-1 were each ordered once: the more recent one first.
    assert listed(shop.buyer) == [
        ("TEA-1", False, 3, 7),
        ("TEA-2", False, 1, 4),
        ("MILK-1", False, 1, 2),
    ]
    tea = usual.usual_list(shop.buyer)[0]
    db.session.refresh(latest)
    assert tea.last_at == latest.created_at


def test_pins_come_first_in_the_order_pinned_ordered_or_not_and_once(shop):
    order(shop.buyer, ("TEA-1", 5))
    order(shop.buyer, ("TEA-1", 5), ("TEA-2", 1))
    usual.pin(shop.buyer, "MILK-1")  # never ordered
    usual.pin(shop.buyer, "TEA-2")

    assert listed(shop.buyer) == [
        ("MILK-1", True, 0, None),
        ("TEA-2", True, 1, 1),
        ("TEA-1", False, 2, 5),
    ]


def test_cancelled_and_rejected_orders_do_not_count(shop):
    order(shop.buyer, ("TEA-1", 2))
    cancelled = order(shop.buyer, ("TEA-1", 9), ("TEA-2", 4))
    orders.cancel_order(shop.buyer, cancelled.number)
    rejected = order(shop.buyer, ("MILK-1", 3))
    orders.reject_order(shop.admin, rejected.number, "缺货")

    assert listed(shop.buyer) == [("TEA-1", False, 1, 2)]


def test_orders_still_under_way_or_delivered_count(shop):
    order(shop.buyer, ("TEA-1", 2))
    approved = order(shop.buyer, ("TEA-1", 4))
    orders.approve_order(shop.admin, approved.number)
    assert listed(shop.buyer) == [("TEA-1", False, 2, 4)]


def test_orders_older_than_the_window_do_not_count(shop):
    order(shop.buyer, ("TEA-1", 2), days_ago=usual.HISTORY_DAYS + 5)
    order(shop.buyer, ("TEA-2", 1), days_ago=usual.HISTORY_DAYS - 5)
    assert listed(shop.buyer) == [("TEA-2", False, 1, 1)]


def test_another_dealers_orders_and_pins_never_show(shop):
    order(shop.other, ("TEA-2", 8))
    usual.pin(shop.other, "MILK-1")
    order(shop.buyer, ("TEA-1", 5))

    assert listed(shop.buyer) == [("TEA-1", False, 1, 5)]
    assert listed(shop.other) == [("MILK-1", True, 0, None), ("TEA-2", False, 1, 8)]


def test_the_dealers_logins_share_one_list(shop):
    order(shop.colleague, ("TEA-1", 5))
    usual.pin(shop.buyer, "MILK-1")
    assert (
        listed(shop.colleague)
        == listed(shop.buyer)
        == [
            ("MILK-1", True, 0, None),
            ("TEA-1", False, 1, 5),
        ]
    )


def test_products_the_dealer_cannot_see_now_are_left_out_even_pinned(shop):
    order(shop.buyer, ("TEA-1", 5), ("TEA-2", 1))
    usual.pin(shop.buyer, "TEA-2")
    products.set_active("TEA-2", False)
    products.update_product("TEA-1", {"visible_tiers": ["SILVER"]})
    assert listed(shop.buyer) == []

    products.set_active("TEA-2", True)  # back on sale: the pin is still there
    assert listed(shop.buyer) == [("TEA-2", True, 1, 1)]


def test_each_row_is_the_product_as_the_catalog_shows_it(shop):
    f.prices("TEA-1", tiers={"GOLD": [(1, 480)]}, dealers={"SH001": [(1, 450), (10, 420)]})
    order(shop.buyer, ("TEA-1", 5), ("MILK-1", 2))
    shown = {i.product.sku: i for i in catalog.browse(shop.buyer.dealer, per_page=50).items}
    for row in usual.usual_list(shop.buyer):
        item = shown[row.item.product.sku]
        assert (row.item.price, row.item.available, row.item.status) == (
            item.price,
            item.available,
            item.status,
        )
        assert row.item.table == item.table
    prices = {row.item.product.sku: row.item.price for row in usual.usual_list(shop.buyer)}
    assert prices == {"TEA-1": 450, "MILK-1": 700}


def test_the_list_holds_at_most_list_size_products(shop, monkeypatch):
    monkeypatch.setattr(usual, "LIST_SIZE", 3)
    order(shop.buyer, ("TEA-1", 1), ("TEA-2", 1), ("MILK-1", 1))
    order(shop.buyer, ("TEA-1", 1), ("TEA-2", 1))
    order(shop.buyer, ("TEA-1", 1), ("JUICE-6", 6))
    usual.pin(shop.buyer, "MILK-1")
    assert [sku for sku, *_ in listed(shop.buyer)] == ["MILK-1", "TEA-1", "TEA-2"]


def test_a_dealer_with_no_orders_and_no_pins_has_an_empty_list(shop):
    assert usual.usual_list(shop.buyer) == []


# --- 按上次数量加入 ----------------------------------------------------------------------------


def test_adding_the_last_quantity_puts_it_in_the_cart(shop):
    order(shop.buyer, ("TEA-1", 5))
    order(shop.buyer, ("TEA-1", 7))
    added = usual.add_last(shop.buyer, "TEA-1")
    assert (added.last_qty, added.added, added.in_cart, added.reason) == (7, 7, 7, "")
    assert in_cart(shop.buyer) == {"TEA-1": 7}
    # Again: on top of the cart's line, as the cart's own add does.
    assert usual.add_last(shop.buyer, "TEA-1").in_cart == 14


def test_the_last_quantity_is_fitted_to_todays_pack_rules(shop):
    order(shop.buyer, ("JUICE-6", 12))
    products.update_product("JUICE-6", {"min_order_qty": 10, "order_multiple": 10})
    added = usual.add_last(shop.buyer, "JUICE-6")
    assert (added.added, added.reason) == (20, "pack_rules")
    assert in_cart(shop.buyer) == {"JUICE-6": 20}


def test_the_last_quantity_is_reduced_to_the_stock_left_beside_the_cart(shop):
    order(shop.buyer, ("TEA-1", 7))  # reserves 7 of 1000
    products.set_on_hand("TEA-1", 7 + 5)  # 5 available
    cart.add(shop.buyer, "TEA-1", 3)
    added = usual.add_last(shop.buyer, "TEA-1")
    assert (added.added, added.in_cart, added.reason) == (2, 5, "reduced_to_stock")


def test_what_the_cart_would_refuse_is_refused_and_nothing_is_added(shop):
    order(shop.buyer, ("JUICE-6", 12), ("TEA-1", 2))
    products.set_on_hand("JUICE-6", 12 + 4)  # 4 left: under one pack of 6
    products.set_on_hand("TEA-1", 2)  # none left
    for sku in ("JUICE-6", "TEA-1"):
        with pytest.raises(Invalid) as refused:
            usual.add_last(shop.buyer, sku)
        assert refused.value.code == "quantity_over_stock"
        with pytest.raises(Invalid) as by_the_cart:
            cart.add(shop.buyer, sku, refused.value.extra["min_order_qty"])
        assert by_the_cart.value.code == refused.value.code
    assert in_cart(shop.buyer) == {}


def test_whatever_is_added_is_a_line_the_cart_accepts(shop):
    order(shop.buyer, ("JUICE-6", 18), ("TEA-1", 9), ("TEA-2", 3))
    products.update_product("JUICE-6", {"order_multiple": 12, "min_order_qty": 12})
    products.set_on_hand("TEA-1", 9 + 4)  # 4 available
    cart.add(shop.buyer, "TEA-2", 995)  # 997 available: room for 2 more
    for row in usual.usual_list(shop.buyer):
        try:
            usual.add_last(shop.buyer, row.item.product.sku)
        except DomainError as err:
            assert err.code == "quantity_over_stock"
    view, gone = cart.view(shop.buyer)
    assert not gone
    for line in view.lines:
        assert cart.valid_qty(line.product, line.qty) and not line.short
    assert in_cart(shop.buyer) == {"JUICE-6": 24, "TEA-1": 4, "TEA-2": 997}


def test_a_product_not_ordered_recently_cannot_be_added_by_last_quantity(shop):
    usual.pin(shop.buyer, "MILK-1")
    order(shop.buyer, ("TEA-1", 2), days_ago=usual.HISTORY_DAYS + 1)
    for sku in ("MILK-1", "TEA-1"):
        with pytest.raises(Conflict) as refused:
            usual.add_last(shop.buyer, sku)
        assert refused.value.code == "never_ordered"
    assert in_cart(shop.buyer) == {}


def test_another_dealers_order_is_not_a_last_quantity(shop):
    order(shop.other, ("TEA-1", 5))
    with pytest.raises(Conflict):
        usual.add_last(shop.buyer, "TEA-1")


# --- pins and who may use the list ---------------------------------------------------------


def _cart_refusal(user, sku: str) -> DomainError:
    with pytest.raises(DomainError) as refused:
        cart.add(user, sku, 1)
    return refused.value


@pytest.mark.parametrize("sku", ["VIP-1", "NOPE"])
def test_a_product_the_dealer_cannot_see_is_refused_as_the_cart_refuses_it(shop, sku):
    expected = _cart_refusal(shop.buyer, sku)
    assert isinstance(expected, NotFound)
    for call in (usual.pin, usual.unpin, usual.add_last):
        with pytest.raises(NotFound) as refused:
            call(shop.buyer, sku)
        assert (refused.value.code, refused.value.subject) == (expected.code, expected.subject)
    assert listed(shop.buyer) == []


def test_only_a_dealers_users_may_use_the_list(shop):
    for call in (usual.pin, usual.unpin, usual.add_last):
        with pytest.raises(Forbidden):
            call(shop.admin, "TEA-1")
    with pytest.raises(Forbidden):
        usual.usual_list(shop.admin)
    with pytest.raises(Forbidden):
        usual.pin(None, "TEA-1")


def test_pinning_twice_is_one_pin_and_unpinning_takes_it_off(shop):
    assert usual.pin(shop.buyer, "TEA-1") == ("绿茶", True)
    assert usual.pin(shop.colleague, "TEA-1") == ("绿茶", False)
    assert listed(shop.buyer) == [("TEA-1", True, 0, None)]
    assert usual.unpin(shop.colleague, "TEA-1") == ("绿茶", True)
    assert usual.unpin(shop.buyer, "TEA-1") == ("绿茶", False)
    assert listed(shop.buyer) == []


def test_a_pin_held_by_the_database_already_is_not_made_twice(shop):
    usual.pin(shop.buyer, "TEA-1")
    # A colleague's pin that landed between the check and the insert: the key keeps one.
    stmt = usual._insert_pin(
        shop.buyer.dealer_id, catalog.item(shop.buyer.dealer, "TEA-1").product.id, shop.buyer.id
    )
    assert db.session.scalar(stmt) is None
    db.session.rollback()
    count = "SELECT count(*) FROM pinned_products"
    assert db.session.execute(text(count)).scalar() == 1


def test_pins_are_capped(shop, monkeypatch):
    monkeypatch.setattr(usual, "MAX_PINS", 2)
    usual.pin(shop.buyer, "TEA-1")
    usual.pin(shop.buyer, "TEA-2")
    with pytest.raises(Conflict) as refused:
        usual.pin(shop.buyer, "MILK-1")
    assert refused.value.code == "too_many_pins"
    assert usual.pin(shop.buyer, "TEA-1") == ("绿茶", False)  # already pinned: still fine
    # A pin the dealer can no longer see does not hold a place.
    products.set_active("TEA-2", False)
    assert usual.pin(shop.buyer, "MILK-1") == ("牛奶", True)


def test_a_pin_of_a_product_now_hidden_can_still_be_taken_off(shop):
    usual.pin(shop.buyer, "TEA-2")
    products.set_active("TEA-2", False)
    assert usual.unpin(shop.buyer, "TEA-2") == ("红茶", True)
    products.set_active("TEA-2", True)
    assert listed(shop.buyer) == []
    with pytest.raises(NotFound):  # not pinned and not visible: as the cart says it
        usual.unpin(shop.buyer, "VIP-1")


@pytest.mark.postgres
def test_colleagues_pinning_at_once_stay_within_the_cap(app, shop, monkeypatch):
    monkeypatch.setattr(usual, "MAX_PINS", 3)
    skus = [f"PIN-{i}" for i in range(12)]
    for sku in skus:
        f.product(sku, list_price=100)
    ids = [f.dealer_user("SH001", f"pinner{i}").id for i in range(len(skus))]
    db.session.commit()
    db.session.remove()

    def pin(user_id, sku):
        with app.app_context():
            try:
                return usual.pin(db.session.get(User, user_id), sku)[1]
            except Conflict as err:
                return err.code
            finally:
                db.session.remove()

    outcomes = run_together([lambda u=u, s=s: pin(u, s) for u, s in zip(ids, skus, strict=True)])
    assert sorted(map(str, outcomes)) == ["True"] * 3 + ["too_many_pins"] * 9
    count = "SELECT count(*) FROM pinned_products"
    assert db.session.execute(text(count)).scalar() == 3


def test_is_pinned_answers_for_the_dealer_only(shop):
    usual.pin(shop.buyer, "TEA-1")
    product_id = catalog.item(shop.buyer.dealer, "TEA-1").product.id
    assert usual.is_pinned(shop.colleague, product_id)
    assert not usual.is_pinned(shop.other, product_id)
    assert not usual.is_pinned(shop.admin, product_id)


# --- the history is one statement, through indexes -----------------------------------------


def test_the_list_reads_the_history_in_one_statement_whatever_its_length(shop):
    order(shop.buyer, ("TEA-1", 1))
    usual.usual_list(shop.buyer)  # warm the per-process caches
    with count_statements() as few:
        usual.usual_list(shop.buyer)
    order(shop.buyer, ("TEA-1", 2), ("TEA-2", 1), ("MILK-1", 1), ("JUICE-6", 6))
    order(shop.buyer, ("TEA-2", 2), ("MILK-1", 1))
    usual.pin(shop.buyer, "MILK-1")
    usual.usual_list(shop.buyer)
    with count_statements() as many:
        usual.usual_list(shop.buyer)
    assert many["n"] == few["n"]


@pytest.mark.postgres
def test_the_history_statement_reads_the_dealers_orders_by_index_on_postgres(shop):
    order(shop.buyer, ("TEA-1", 1))
    stmt = usual.history_statement(shop.buyer.dealer, usual.LIST_SIZE)
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    with db.engine.connect() as conn:
        # Planners prefer a scan on a tiny table; forbidding it shows whether an index serves.
        conn.execute(text("SET enable_seqscan = off"))
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars()
        plan = "\n".join(rows)
    assert "ix_orders_dealer_created" in plan
    assert "Seq Scan on orders" not in plan and "Seq Scan on order_lines" not in plan


def test_the_demo_gives_its_first_dealers_a_usual_list_once(monkeypatch):
    from app import demo

    monkeypatch.setattr(demo, "hash_password", lambda password: "not-a-real-hash")
    demo.load_demo_data()
    assert demo.load_demo_history() == 7
    assert demo.load_demo_history() == 0
    rows = usual.usual_list(f.user_named("sh001"))
    assert (rows[0].item.product.sku, rows[0].times, rows[0].last_qty) == ("DRK-001", 3, 12)
    assert "ALC-004" not in {row.item.product.sku for row in rows}  # only in a cancelled order
