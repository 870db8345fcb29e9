"""Shipping and following orders (services + database): partial shipments consume reserved
stock, carrier events raise a shipment's status and never lower it, unmatched events wait
for their shipment, and the last delivery closes the order and earns its rebate once."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.errors import Conflict, Invalid
from app.models.wallet import REBATE
from app.services import logistics, orders, rebates, wallet
from app.services.logistics import EventIn, ShipLine
from app.services.orders import LineRequest
from tests import factories as f

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=100)
    f.product("JUICE-6", name="果汁", list_price=500, min_order_qty=6, order_multiple=6, on_hand=60)
    buyer = f.dealer_user("SH001", "buyer")
    admin = f.admin()
    rebates.set_policy({"GOLD": "0.03"}, "0.10")
    carrier = logistics.create_carrier("sf", "顺丰速运")
    order = orders.place_order(buyer, [LineRequest("TEA-1", 10), LineRequest("JUICE-6", 12)])
    orders.approve_order(admin, order.number)
    return SimpleNamespace(buyer=buyer, admin=admin, carrier=carrier, number=order.number)


def event(key: str, tracking: str, status: str, minutes: int = 0) -> EventIn:
    return EventIn(key, tracking, status, T0 + timedelta(minutes=minutes), "上海", status)


def order_status(number: str) -> str:
    return orders.order_for_admin(number).status


def rebate_balance(dealer_code: str = "SH001") -> int:
    dealer = f.user_named("buyer").dealer
    return wallet.balances(dealer.id)[REBATE]


def test_a_partial_shipment_consumes_its_reserved_stock_and_says_partly_shipped(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 4)])

    assert order_status(shop.number) == "partially_shipped"
    assert f.stock_of("TEA-1") == (96, 6)  # on hand and reserved both drop by 4
    assert f.stock_of("JUICE-6") == (60, 12)

    logistics.create_shipment(shop.admin, shop.number, "sf", "SF2", None)  # all that is left
    assert order_status(shop.number) == "shipped"
    assert f.stock_of("TEA-1") == (90, 0) and f.stock_of("JUICE-6") == (48, 0)


def test_a_line_above_what_is_left_is_refused_and_changes_nothing(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 8)])

    with pytest.raises(Conflict) as refused:
        logistics.create_shipment(shop.admin, shop.number, "sf", "SF2", [ShipLine("TEA-1", 3)])

    assert refused.value.code == "over_shipment"
    assert f.stock_of("TEA-1") == (92, 2)
    assert len(logistics.shipments_of(orders.order_for_admin(shop.number).id)) == 1


def test_a_tracking_number_is_used_once_per_carrier(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 1)])
    with pytest.raises(Conflict):
        logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 1)])
    with pytest.raises(Invalid):
        logistics.create_shipment(shop.admin, shop.number, "nope", "X1", None)


def test_a_submitted_order_cannot_ship(shop):
    other = orders.place_order(shop.buyer, [LineRequest("TEA-1", 1)])
    with pytest.raises(Conflict):
        logistics.create_shipment(shop.admin, other.number, "sf", "SF9", None)
    assert f.stock_of("TEA-1") == (100, 11)


def test_status_never_moves_back_and_the_last_delivery_earns_the_rebate_once(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    carrier = logistics.carrier_by_code("sf")
    outcomes = logistics.record_events(
        carrier,
        [
            event("e1", "SF1", "in_transit", 10),
            event("e2", "SF1", "picked_up", 5),  # late: recorded, status stays in transit
            event("e3", "SF1", "exception", 20),
        ],
    )
    assert outcomes == ["applied", "applied", "applied"]
    [shipment] = logistics.shipments_of(orders.order_for_admin(shop.number).id)
    assert shipment.status == "in_transit" and shipment.has_exception
    assert [e.status for e in shipment.events] == ["picked_up", "in_transit", "exception"]

    before = rebate_balance()
    logistics.record_events(carrier, [event("e4", "SF1", "delivered", 30)])
    assert order_status(shop.number) == "delivered"
    order = orders.order_for_admin(shop.number)
    assert rebate_balance() - before == order.rebate_earnable > 0
    assert logistics.record_events(carrier, [event("e4", "SF1", "delivered", 30)]) == ["duplicate"]
    assert rebate_balance() - before == order.rebate_earnable
    assert [e.status for e in order.events][-1] == "delivered"
    assert wallet.summary(order.dealer).rebate_pending == 0


def test_unmatched_events_wait_for_their_shipment_and_apply_in_time_order(shop):
    carrier = logistics.carrier_by_code("sf")
    outcomes = logistics.record_events(
        carrier, [event("d", "SF7", "delivered", 50), event("p", "SF7", "picked_up", 5)]
    )
    assert outcomes == ["unmatched", "unmatched"]

    shipment = logistics.create_shipment(shop.admin, shop.number, "sf", "SF7", None)

    assert shipment.status == "delivered"
    assert order_status(shop.number) == "delivered"
    events, _ = logistics.carrier_events(carrier, "applied")
    assert {e.event_key for e in events} == {"d", "p"}


def test_a_returned_shipment_does_not_deliver_the_order(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    carrier = logistics.carrier_by_code("sf")
    logistics.record_events(carrier, [event("r", "SF1", "returned", 10)])
    assert order_status(shop.number) == "shipped"
    assert [s.tracking_no for s in logistics.needing_attention()] == ["SF1"]


def test_a_rotated_secret_keeps_the_old_one_for_the_grace_period(shop):
    old = logistics.carrier_by_code("sf").secret
    carrier = logistics.rotate_secret("sf", grace_hours=24)
    assert logistics.valid_secrets(carrier) == [carrier.secret, old]
    later = datetime.now(UTC) + timedelta(hours=25)
    assert logistics.valid_secrets(carrier, later) == [carrier.secret]
    assert logistics.valid_secrets(logistics.rotate_secret("sf", grace_hours=0)) == [
        logistics.carrier_by_code("sf").secret
    ]
