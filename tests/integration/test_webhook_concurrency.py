"""Real threads against PostgreSQL: the same carrier event delivered many times at once acts
once, and two last deliveries racing on one order close it once.

Every delivery goes through its own test client (its own app context and database session,
as under a threaded server); all start at one barrier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CarrierEvent, LedgerEntry, OrderEvent
from app.models.wallet import REBATE
from app.services import logistics, orders, rebates, wallet
from app.services.logistics import ShipLine
from app.services.orders import LineRequest
from tests import factories as f
from tests.threads import run_together

pytestmark = pytest.mark.postgres

URL = "/webhooks/logistics/sf"


def signed(secret: str, event: dict) -> tuple[bytes, dict]:
    """The body and headers a carrier sends: HMAC-SHA256 over "<t>.<raw body>"."""
    body = json.dumps(event).encode()
    t = int(time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Logistics-Signature": f"t={t},v1={digest}"}


def post(app, body: bytes, headers: dict):
    """(status, json) of one delivery; an exception escaping the app counts as a 500."""
    try:
        response = app.test_client().post(URL, data=body, headers=headers)
    except Exception as err:  # noqa: BLE001 - any escape is what the test is looking for
        return 500, {"exception": repr(err)}
    return response.status_code, response.get_json()


@pytest.fixture
def shipped():
    """A fully shipped order in two shipments, SF1 (TEA-1) and SF2 (the rest)."""
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product("TEA-1", list_price=1000, on_hand=100)
    f.product("JUICE-6", list_price=500, on_hand=60)
    buyer = f.dealer_user("SH001", "buyer")
    admin = f.admin("boss")
    rebates.set_policy({"GOLD": "0.03"}, "0.10")
    secret = logistics.create_carrier("sf", "顺丰速运").secret
    order = orders.place_order(buyer, [LineRequest("TEA-1", 10), LineRequest("JUICE-6", 12)])
    orders.approve_order(admin, order.number)
    logistics.create_shipment(admin, order.number, "sf", "SF1", [ShipLine("TEA-1", 10)])
    logistics.create_shipment(admin, order.number, "sf", "SF2", None)
    return SimpleNamespace(number=order.number, secret=secret, dealer_id=buyer.dealer_id)


def delivered_once(shipped) -> None:
    """The order is delivered, with one status event and one rebate_earned entry."""
    db.session.rollback()
    order = orders.order_for_admin(shipped.number)
    assert order.status == "delivered"
    events = select(func.count(OrderEvent.id)).where(
        OrderEvent.order_id == order.id, OrderEvent.status == "delivered"
    )
    assert db.session.scalar(events) == 1
    earned = select(func.count(LedgerEntry.id)).where(LedgerEntry.type == "rebate_earned")
    assert db.session.scalar(earned) == 1
    assert wallet.balances(shipped.dealer_id)[REBATE] == order.rebate_earnable > 0


def delivered(event_id: str, tracking_no: str, at: str = "2026-12-02T10:00:00+08:00") -> dict:
    return {
        "event_id": event_id,
        "tracking_no": tracking_no,
        "status": "delivered",
        "occurred_at": at,
    }


def test_fifty_identical_deliveries_at_once_apply_exactly_once(app, shipped):
    first = signed(shipped.secret, delivered("a", "SF1", "2026-12-02T09:00:00+08:00"))
    assert post(app, *first)[0] == 200  # one shipment delivered: the order waits for SF2
    body, headers = signed(shipped.secret, delivered("b", "SF2"))

    results = run_together([lambda: post(app, body, headers) for _ in range(50)])

    assert Counter(status for status, _ in results) == {200: 50}, results[:3]
    outcomes = Counter(answer["outcome"] for _, answer in results)
    assert outcomes == {"applied": 1, "duplicate": 49}
    db.session.rollback()
    rows = Counter(
        db.session.scalars(select(CarrierEvent.outcome).where(CarrierEvent.event_key == "b"))
    )
    assert rows == {"applied": 1, "duplicate": 49}
    delivered_once(shipped)


def test_the_two_last_deliveries_racing_close_the_order_once(app, shipped):
    deliveries = [signed(shipped.secret, delivered(f"d-{t}", t)) for t in ("SF1", "SF2")]

    results = run_together([lambda d=deliveries[i % 2]: post(app, *d) for i in range(50)])

    assert Counter(status for status, _ in results) == {200: 50}, results[:3]
    assert Counter(answer["outcome"] for _, answer in results) == {"applied": 2, "duplicate": 48}
    delivered_once(shipped)


def test_a_long_run_of_deliveries_on_one_connection_is_all_recorded(app, shipped):
    """psycopg prepares a statement after 5 runs on a connection; the inbox's insert must
    still find its partial unique index then (a regression: it once failed from the 11th)."""
    db.session.remove()
    db.engine.dispose()  # one request after another now reuses a single connection
    events = [
        {
            "event_id": f"t{i}",
            "tracking_no": "SF1",
            "status": "in_transit",
            "occurred_at": f"2026-12-01T{i % 24:02d}:00:00+08:00",
        }
        for i in range(30)
    ]

    results = [post(app, *signed(shipped.secret, event)) for event in events]
    again = post(app, *signed(shipped.secret, events[0]))

    assert [status for status, _ in results] == [200] * 30, results[-1]
    assert again == (200, {"event_id": "t0", "outcome": "duplicate"})
