"""HQ ships orders through the API and dealers read the shipments (CONTRACT §3 shipments row,
§4 ORDER detail and SHIPMENT): partial and full shipments consume reserved stock, refusals
change nothing, the order timeline records each move, carrier events read in time order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services import logistics
from app.services.logistics import EventIn
from tests import factories as f
from tests.api.helpers import assert_problem, db_state, stock_row

SHIPMENT_KEYS = {"id", "carrier", "tracking_no", "status", "lines", "events"}
EVENT_KEYS = {"status", "occurred_at", "location", "description"}
WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def desk(client):
    """SH001 (buyer) has an approved order of TEA-1 ×10 and JUICE-6 ×12; BJ001 is a rival."""
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    rival = f.dealer_user("BJ001", "rival")
    admin = f.admin("hq")
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=100)
    f.product("JUICE-6", name="果汁", list_price=500, min_order_qty=6, order_multiple=6, on_hand=60)
    f.deposit("SH001", 1_000_000)
    f.deposit("BJ001", 1_000_000)
    logistics.create_carrier("sf", "顺丰速运")
    logistics.create_carrier("yto", "圆通速递")
    shop = SimpleNamespace(
        client=client,
        buyer=f.api_headers(buyer),
        rival=f.api_headers(rival),
        admin=f.api_headers(admin),
    )
    shop.number = place(shop, [("TEA-1", 10), ("JUICE-6", 12)])
    approve(shop, shop.number)
    return shop


def place(shop, lines, headers=None) -> str:
    body = {"lines": [{"sku": sku, "qty": qty} for sku, qty in lines]}
    response = shop.client.post("/api/v1/orders", json=body, headers=headers or shop.buyer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def approve(shop, number):
    response = shop.client.post(f"/api/v1/admin/orders/{number}/approve", headers=shop.admin)
    assert response.status_code == 200, response.get_json()


def ship(shop, number=None, headers=None, **body):
    body = {"carrier": "sf", "tracking_no": "SF100", **body}
    return shop.client.post(
        f"/api/v1/admin/orders/{number or shop.number}/shipments",
        json=body,
        headers=headers or shop.admin,
    )


def shipped(shop, **body) -> dict:
    response = ship(shop, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def detail(shop, number=None, headers=None) -> dict:
    response = shop.client.get(f"/api/v1/orders/{number or shop.number}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def dealer_detail(shop, number=None) -> dict:
    return detail(shop, number, headers=shop.buyer)


def shipped_qty(shop) -> dict[str, int]:
    """SKU → quantity shipped so far, summed from the order's shipments as the dealer sees."""
    totals: dict[str, int] = {}
    for shipment in dealer_detail(shop)["shipments"]:
        for line in shipment["lines"]:
            totals[line["sku"]] = totals.get(line["sku"], 0) + line["qty"]
    return totals


def record(*events: tuple[str, str, str, int], carrier: str = "sf") -> list[str]:
    """Carrier events (key, tracking number, status, minutes after T0) as the webhook would."""
    return logistics.record_events(
        logistics.carrier_by_code(carrier),
        [
            EventIn(key, tracking, status, T0 + timedelta(minutes=m), f"上海{m}", f"{status} {m}")
            for key, tracking, status, m in events
        ],
    )


# --- creating shipments -------------------------------------------------------------------


@pytest.mark.parametrize("lines", ["omitted", None, []], ids=["omitted", "null", "empty"])
def test_shipping_without_lines_ships_all_that_is_left_as_the_contract_shapes_it(desk, lines):
    body = {} if lines == "omitted" else {"lines": lines}
    response = ship(desk, **body)

    assert response.status_code == 201, response.get_json()
    shipment = response.get_json()
    assert shipment.keys() == SHIPMENT_KEYS
    assert isinstance(shipment["id"], int)
    assert shipment["carrier"] == "sf"
    assert shipment["tracking_no"] == "SF100"
    assert shipment["status"] == "created"
    assert sorted(shipment["lines"], key=lambda line: line["sku"]) == [
        {"sku": "JUICE-6", "qty": 12},
        {"sku": "TEA-1", "qty": 10},
    ]
    assert shipment["events"] == []
    assert dealer_detail(desk)["status"] == "shipped"
    assert stock_row("TEA-1") == (90, 0)  # on hand and reserved both drop
    assert stock_row("JUICE-6") == (48, 0)


def test_a_partial_shipment_says_partly_shipped_and_the_rest_ships_later(desk):
    first = shipped(desk, lines=[{"sku": "TEA-1", "qty": 4}])

    assert first["lines"] == [{"sku": "TEA-1", "qty": 4}]
    assert dealer_detail(desk)["status"] == "partially_shipped"
    assert stock_row("TEA-1") == (96, 6)
    assert stock_row("JUICE-6") == (60, 12)

    second = shipped(desk, tracking_no="SF200")  # all that is left
    assert sorted(second["lines"], key=lambda line: line["sku"]) == [
        {"sku": "JUICE-6", "qty": 12},
        {"sku": "TEA-1", "qty": 6},
    ]
    assert dealer_detail(desk)["status"] == "shipped"
    assert stock_row("TEA-1") == (90, 0)
    assert stock_row("JUICE-6") == (48, 0)


def test_shipping_line_by_line_reaches_shipped_exactly_when_nothing_is_left(desk):
    shipped(desk, tracking_no="A1", lines=[{"sku": "TEA-1", "qty": 10}])
    assert dealer_detail(desk)["status"] == "partially_shipped"
    shipped(desk, tracking_no="A2", lines=[{"sku": "JUICE-6", "qty": 6}])
    assert dealer_detail(desk)["status"] == "partially_shipped"
    shipped(desk, tracking_no="A3", lines=[{"sku": "JUICE-6", "qty": 6}])

    order = dealer_detail(desk)
    assert order["status"] == "shipped"
    assert [s["tracking_no"] for s in order["shipments"]] == ["A1", "A2", "A3"]
    assert shipped_qty(desk) == {"TEA-1": 10, "JUICE-6": 12}


def test_the_order_timeline_shows_each_shipping_move_and_who_made_it(desk):
    shipped(desk, lines=[{"sku": "TEA-1", "qty": 4}])
    shipped(desk, tracking_no="SF200")

    events = dealer_detail(desk)["events"]

    assert [e["status"] for e in events] == [
        "submitted",
        "approved",
        "partially_shipped",
        "shipped",
    ]
    assert [e.get("by") for e in events[1:]] == ["hq", "hq", "hq"]
    assert all(WITH_OFFSET.match(e["at"]) for e in events)
    times = [e["at"] for e in events]
    assert times == sorted(times)


def test_a_second_partial_shipment_does_not_repeat_partly_shipped_in_the_timeline(desk):
    shipped(desk, tracking_no="A1", lines=[{"sku": "TEA-1", "qty": 1}])
    shipped(desk, tracking_no="A2", lines=[{"sku": "TEA-1", "qty": 1}])

    statuses = [e["status"] for e in dealer_detail(desk)["events"]]
    assert statuses == ["submitted", "approved", "partially_shipped"]


# --- refusals ------------------------------------------------------------------------------


def test_a_line_above_what_is_left_is_409_and_changes_nothing(desk):
    shipped(desk, lines=[{"sku": "TEA-1", "qty": 8}])
    before = db_state()

    response = ship(
        desk, tracking_no="SF200", lines=[{"sku": "JUICE-6", "qty": 6}, {"sku": "TEA-1", "qty": 3}]
    )

    body = assert_problem(response, 409, "over_shipment")
    assert body["lines"] == [{"sku": "TEA-1", "requested": 3, "left": 2}]
    assert db_state() == before  # stock, shipped quantities, shipments, events: all as they were
    assert stock_row("TEA-1") == (92, 2)
    assert stock_row("JUICE-6") == (60, 12)
    assert shipped_qty(desk) == {"TEA-1": 8}
    assert dealer_detail(desk)["status"] == "partially_shipped"


def test_more_than_the_order_holds_is_409_on_a_fresh_order(desk):
    before = db_state()
    response = ship(desk, lines=[{"sku": "TEA-1", "qty": 11}])
    assert_problem(response, 409, "over_shipment")
    assert db_state() == before


def test_a_submitted_order_cannot_ship_409_and_changes_nothing(desk):
    number = place(desk, [("TEA-1", 1)])
    before = db_state()

    assert_problem(ship(desk, number=number), 409, "invalid_status")
    assert db_state() == before
    assert dealer_detail(desk, number)["shipments"] == []


def test_a_fully_shipped_order_cannot_ship_again(desk):
    shipped(desk)
    before = db_state()
    assert_problem(ship(desk, tracking_no="SF200"), 409, "invalid_status")
    assert db_state() == before


def test_a_rejected_order_cannot_ship(desk):
    number = place(desk, [("TEA-1", 1)])
    response = desk.client.post(
        f"/api/v1/admin/orders/{number}/reject", json={"reason": "缺货"}, headers=desk.admin
    )
    assert response.status_code == 200, response.get_json()
    before = db_state()
    assert_problem(ship(desk, number=number), 409, "invalid_status")
    assert db_state() == before


def test_a_tracking_number_already_used_for_the_carrier_is_409(desk):
    shipped(desk, lines=[{"sku": "TEA-1", "qty": 1}])
    before = db_state()

    response = ship(desk, lines=[{"sku": "TEA-1", "qty": 1}])  # the same SF100 again

    assert_problem(response, 409, "duplicate_tracking_no")
    assert db_state() == before
    # Another carrier may use the same number.
    assert shipped(desk, carrier="yto", lines=[{"sku": "TEA-1", "qty": 1}])["carrier"] == "yto"


def test_an_unknown_order_is_404(desk):
    assert_problem(ship(desk, number="SO000000000000"), 404)


INVALID_SHIPMENTS = {
    "unknown-carrier": ({"carrier": "ems"}, "carrier"),
    "carrier-upper-case": ({"carrier": "SF"}, "carrier"),
    "carrier-missing": ({"carrier": None}, "carrier"),
    "tracking-missing": ({"tracking_no": None}, "tracking_no"),
    "tracking-blank": ({"tracking_no": "   "}, "tracking_no"),
    "tracking-too-long": ({"tracking_no": "9" * 65}, "tracking_no"),
    "tracking-number": ({"tracking_no": 12345}, "tracking_no"),
    "qty-zero": ({"lines": [{"sku": "TEA-1", "qty": 0}]}, "lines.0.qty"),
    "qty-string": ({"lines": [{"sku": "TEA-1", "qty": "2"}]}, "lines.0.qty"),
    "qty-missing": ({"lines": [{"sku": "TEA-1"}]}, "lines.0.qty"),
    "sku-not-on-order": ({"lines": [{"sku": "COLA-1", "qty": 1}]}, "lines.0.sku"),
    "sku-twice": (
        {"lines": [{"sku": "TEA-1", "qty": 1}, {"sku": "TEA-1", "qty": 1}]},
        "lines.1.sku",
    ),
    "lines-object": ({"lines": {"sku": "TEA-1", "qty": 1}}, "lines"),
    "unknown-field": ({"note": "x"}, "note"),
}


@pytest.mark.parametrize(
    ("change", "field"), INVALID_SHIPMENTS.values(), ids=INVALID_SHIPMENTS.keys()
)
def test_invalid_shipments_are_422_naming_the_field_and_change_nothing(desk, change, field):
    body = {"carrier": "sf", "tracking_no": "SF100", **change}
    body = {k: v for k, v in body.items() if v is not None}
    before = db_state()

    response = desk.client.post(
        f"/api/v1/admin/orders/{desk.number}/shipments", json=body, headers=desk.admin
    )

    assert_problem(response, 422, fields=[field])
    assert db_state() == before


def test_an_inactive_carrier_cannot_ship_422(desk):
    response = desk.client.patch(
        "/api/v1/admin/carriers/sf", json={"active": False}, headers=desk.admin
    )
    assert response.status_code == 200
    before = db_state()
    assert_problem(ship(desk), 422, fields=["carrier"])
    assert db_state() == before


def test_an_unparsable_body_is_400(desk):
    response = desk.client.post(
        f"/api/v1/admin/orders/{desk.number}/shipments",
        data="{not json",
        content_type="application/json",
        headers=desk.admin,
    )
    assert_problem(response, 400)


# --- carrier events on the shipment ---------------------------------------------------------


def test_carrier_events_read_in_occurred_at_order_whatever_order_they_arrived_in(desk):
    shipped(desk)
    assert record(
        ("e1", "SF100", "in_transit", 30),
        ("e2", "SF100", "picked_up", 10),  # late: recorded, the status stays in transit
        ("e3", "SF100", "exception", 45),
        ("e1", "SF100", "in_transit", 30),  # a repeat: not a second timeline entry
        ("x1", "SF999", "picked_up", 5),  # another tracking number: not this shipment's
    ) == ["applied", "applied", "applied", "duplicate", "unmatched"]

    [shipment] = dealer_detail(desk)["shipments"]

    assert shipment["status"] == "in_transit"
    assert [e["status"] for e in shipment["events"]] == ["picked_up", "in_transit", "exception"]
    assert all(e.keys() == EVENT_KEYS for e in shipment["events"])
    first = shipment["events"][0]
    assert first["location"] == "上海10" and first["description"] == "picked_up 10"
    assert WITH_OFFSET.match(first["occurred_at"])
    assert datetime.fromisoformat(first["occurred_at"]) == T0 + timedelta(minutes=10)
    times = [datetime.fromisoformat(e["occurred_at"]) for e in shipment["events"]]
    assert times == sorted(times)


def test_events_that_came_before_the_shipment_show_on_it_once_it_exists(desk):
    assert record(("p", "SF100", "picked_up", 5), ("t", "SF100", "in_transit", 9)) == [
        "unmatched",
        "unmatched",
    ]

    shipment = shipped(desk)

    assert shipment["status"] == "in_transit"
    assert [e["status"] for e in shipment["events"]] == ["picked_up", "in_transit"]


def test_delivering_every_shipment_delivers_the_order_and_the_timeline_names_the_carrier(desk):
    shipped(desk, lines=[{"sku": "TEA-1", "qty": 10}])
    shipped(desk, tracking_no="SF200")
    record(("d1", "SF100", "delivered", 60))
    assert dealer_detail(desk)["status"] == "shipped"  # one of two delivered

    record(("d2", "SF200", "delivered", 90))

    order = dealer_detail(desk)
    assert order["status"] == "delivered"
    assert [s["status"] for s in order["shipments"]] == ["delivered", "delivered"]
    assert order["events"][-1]["status"] == "delivered"
    assert order["events"][-1]["by"] == "顺丰速运"
    assert [e["status"] for e in order["events"]].count("delivered") == 1


def test_the_order_detail_loads_shipments_in_a_fixed_number_of_queries(desk, app):
    """Shipments, their lines and their events come in batches, not one query per shipment."""

    def queries_for_detail() -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            detail(desk, headers=desk.buyer)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    shipped(desk, tracking_no="A1", lines=[{"sku": "TEA-1", "qty": 1}])
    record(("a", "A1", "picked_up", 1))
    one = queries_for_detail()
    for i in range(2, 6):
        shipped(desk, tracking_no=f"A{i}", lines=[{"sku": "TEA-1", "qty": 1}])
        record((f"e{i}", f"A{i}", "picked_up", i), (f"f{i}", f"A{i}", "in_transit", i + 1))

    assert len(dealer_detail(desk)["shipments"]) == 5
    assert queries_for_detail() == one


# --- who sees what -------------------------------------------------------------------------


def test_the_dealer_and_hq_see_the_same_shipments_on_the_order(desk):
    made = shipped(desk, lines=[{"sku": "TEA-1", "qty": 4}])
    record(("e1", "SF100", "picked_up", 5))

    mine = dealer_detail(desk)
    admin_view = desk.client.get(f"/api/v1/admin/orders/{desk.number}", headers=desk.admin)

    assert admin_view.status_code == 200
    assert mine["shipments"] == admin_view.get_json()["shipments"]
    [shipment] = mine["shipments"]
    assert shipment.keys() == SHIPMENT_KEYS
    assert shipment["id"] == made["id"]
    assert shipment["tracking_no"] == "SF100"
    assert [e["status"] for e in shipment["events"]] == ["picked_up"]


def test_another_dealer_gets_404_for_the_order_and_never_its_tracking_number(desk):
    shipped(desk, tracking_no="SF-SECRET-42")

    response = desk.client.get(f"/api/v1/orders/{desk.number}", headers=desk.rival)

    assert_problem(response, 404)
    assert "SF-SECRET-42" not in response.get_data(as_text=True)
    listing = desk.client.get("/api/v1/orders", headers=desk.rival)
    assert listing.status_code == 200
    assert "SF-SECRET-42" not in listing.get_data(as_text=True)
    assert desk.number not in listing.get_data(as_text=True)


def test_a_dealers_own_order_without_shipments_shows_an_empty_list(desk):
    number = place(desk, [("TEA-1", 1)], headers=desk.rival)
    order = detail(desk, number, headers=desk.rival)
    assert order["shipments"] == []


NEW_ADMIN_CALLS = [
    ("POST", "/api/v1/admin/orders/{number}/shipments", {"carrier": "sf", "tracking_no": "Z1"}),
    ("GET", "/api/v1/admin/shipments?attention=true", None),
    ("GET", "/api/v1/admin/orders/{number}", None),
]


@pytest.mark.parametrize(("method", "url", "body"), NEW_ADMIN_CALLS)
def test_a_dealer_token_on_the_shipping_endpoints_is_403_and_changes_nothing(
    desk, method, url, body
):
    before = db_state()
    response = desk.client.open(
        url.format(number=desk.number), method=method, json=body, headers=desk.buyer
    )
    assert_problem(response, 403)
    assert db_state() == before


# --- needing attention (extension) -----------------------------------------------------------


def attention(shop) -> list[dict]:
    response = shop.client.get("/api/v1/admin/shipments?attention=true", headers=shop.admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_returned_and_exception_shipments_need_attention_delivered_ones_do_not(desk):
    for tracking in ("R1", "X1", "D1"):
        shipped(desk, tracking_no=tracking, lines=[{"sku": "TEA-1", "qty": 1}])
    record(
        ("r", "R1", "returned", 1),
        ("x", "X1", "exception", 2),
        ("d", "D1", "picked_up", 3),
        ("dd", "D1", "delivered", 4),
    )

    items = attention(desk)

    assert {item["tracking_no"] for item in items} == {"R1", "X1"}
    by_number = {item["tracking_no"]: item for item in items}
    assert by_number["R1"]["status"] == "returned"
    assert by_number["X1"]["has_exception"] is True
    assert by_number["X1"]["order"] == desk.number
    assert by_number["X1"]["carrier"] == "sf"


def test_attention_must_be_asked_for(desk):
    assert_problem(desk.client.get("/api/v1/admin/shipments", headers=desk.admin), 422)
    response = desk.client.get("/api/v1/admin/shipments?attention=false", headers=desk.admin)
    assert_problem(response, 422, fields=["attention"])


# --- the dealer's address for the delivery note ------------------------------------------------

CONTACT = {
    "address": "上海市浦东新区张江路 88 号",
    "contact_name": "王经理",
    "contact_phone": "13800138000",
}


def test_hq_gives_a_dealer_an_address_and_contact_for_delivery_notes(client, admin_h):
    f.tier("GOLD", "金牌")
    body = {"code": "HZ001", "name": "杭州", "tier": "GOLD", **CONTACT}

    created = client.post("/api/v1/admin/dealers", json=body, headers=admin_h)

    assert created.status_code == 201, created.get_json()
    assert {k: created.get_json()[k] for k in CONTACT} == CONTACT
    changed = client.patch(
        "/api/v1/admin/dealers/HZ001", json={"contact_phone": " 021-5555 "}, headers=admin_h
    )
    assert changed.status_code == 200
    assert changed.get_json()["contact_phone"] == "021-5555"
    assert changed.get_json()["address"] == CONTACT["address"]
    cleared = client.patch("/api/v1/admin/dealers/HZ001", json={"address": ""}, headers=admin_h)
    assert cleared.get_json()["address"] == ""


def test_a_dealer_without_an_address_shows_empty_strings(client, admin_h):
    f.tier("GOLD", "金牌")
    body = {"code": "HZ001", "name": "杭州", "tier": "GOLD"}
    created = client.post("/api/v1/admin/dealers", json=body, headers=admin_h).get_json()
    assert {k: created[k] for k in CONTACT} == {k: "" for k in CONTACT}


@pytest.mark.parametrize(
    ("field", "value"),
    [("address", "路" * 256), ("contact_name", "王" * 65), ("contact_phone", "1" * 33)]
    + [("address", 5), ("contact_phone", 13800138000), ("contact_name", None)],
)
def test_a_bad_address_or_contact_is_422_and_changes_nothing(client, admin_h, field, value):
    f.tier("GOLD", "金牌")
    f.dealer("HZ001", "GOLD")
    before = db_state()
    created = client.post(
        "/api/v1/admin/dealers",
        json={"code": "HZ002", "name": "杭州", "tier": "GOLD", field: value},
        headers=admin_h,
    )
    changed = client.patch("/api/v1/admin/dealers/HZ001", json={field: value}, headers=admin_h)
    assert_problem(created, 422, fields=[field])
    assert_problem(changed, 422, fields=[field])
    assert db_state() == before
