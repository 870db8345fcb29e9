"""Carrier webhooks (CONTRACT §5 and §5a): every row of both tables, signatures and their
rotation, size and rate limits, refusal counts, and events that wait for their shipment."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.extensions import db, limiter
from app.models import CarrierEvent, LedgerEntry, OrderEvent
from app.models.wallet import REBATE
from app.services import logistics, orders, rebates, wallet
from app.services.logistics import ShipLine
from app.services.orders import LineRequest
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

URL = "/webhooks/logistics/{}"
K100_URL = "/webhooks/kuaidi100/{}"


# --- how a carrier signs (the snippet HQ shows on the carriers page does the same) ------------


def sign(secret: str, body: bytes, t: int | str | None = None, *more_secrets: str) -> str:
    """X-Logistics-Signature for this body: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]."""
    t = int(time.time()) if t is None else t
    digests = [
        hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        for key in (secret, *more_secrets)
    ]
    return f"t={t}," + ",".join(f"v1={d}" for d in digests)


def k100_sign(salt: str, param: str) -> str:
    """快递100's sign: upper-case hex MD5 of param followed by the salt."""
    return hashlib.md5((param + salt).encode()).hexdigest().upper()


def event_body(event_id="e1", tracking_no="SF1", status="in_transit", **extra) -> bytes:
    data = {
        "event_id": event_id,
        "tracking_no": tracking_no,
        "status": status,
        "occurred_at": extra.pop("occurred_at", "2026-12-01T16:00:00+08:00"),
        "location": "上海",
        "description": "到达上海转运中心",
    }
    data.update(extra)
    return json.dumps(data, ensure_ascii=False).encode()


def deliver(client, body: bytes, *, code="sf", secret=None, signature=None, **kwargs):
    """POST a §5 delivery, signed with the carrier's current secret unless told otherwise."""
    if signature is None:
        signature = sign(secret or logistics.carrier_by_code(code).secret, body)
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Logistics-Signature"] = signature
    db.session.rollback()
    return client.post(URL.format(code), data=body, headers=headers, **kwargs)


def push(client, last_result: dict, *, code="k100", salt=None, sign_as=None, param=None):
    """POST a 快递100 push: form fields `param` (JSON) and `sign`."""
    if param is None:
        param = json.dumps(
            {"status": "polling", "message": "", "lastResult": last_result}, ensure_ascii=False
        )
    salt = salt or logistics.carrier_by_code(code).secret
    form = {"param": param, "sign": k100_sign(salt, param) if sign_as is None else sign_as}
    db.session.rollback()
    return client.post(
        K100_URL.format(code),
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )


def point(ftime: str, context: str, status: str | None = None, area: str | None = "上海"):
    data = {"context": context, "ftime": ftime, "time": ftime, "areaName": area}
    if status is not None:
        data["status"] = status
    return data


def trajectory(nu="YT1", state="0", points=()):
    return {"message": "ok", "nu": nu, "state": state, "ischeck": "0", "data": list(points)}


def assert_k100(response, status: int, result: bool) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["result"] is result and body["returnCode"] == str(status), body
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- a shop with an approved order -----------------------------------------------------------


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=100)
    f.product("JUICE-6", name="果汁", list_price=500, on_hand=60)
    buyer = f.dealer_user("SH001", "buyer")
    admin = f.admin("boss")
    rebates.set_policy({"GOLD": "0.03"}, "0.10")
    logistics.create_carrier("sf", "顺丰速运")
    logistics.create_carrier("k100", "圆通（快递100）")
    order = orders.place_order(buyer, [LineRequest("TEA-1", 10), LineRequest("JUICE-6", 12)])
    orders.approve_order(admin, order.number)
    return SimpleNamespace(buyer=buyer, admin=admin, number=order.number)


def ship(shop, tracking_no: str, code: str = "sf", lines=None) -> None:
    logistics.create_shipment(shop.admin, shop.number, code, tracking_no, lines)


def shipment_of(shop, tracking_no: str):
    """The order's shipment with this tracking number, read afresh."""
    db.session.rollback()
    order = orders.order_for_admin(shop.number)
    return next(s for s in logistics.shipments_of(order.id) if s.tracking_no == tracking_no)


def order_status(shop) -> str:
    db.session.rollback()
    return orders.order_for_admin(shop.number).status


def rebate_balance() -> int:
    db.session.rollback()
    return wallet.balances(f.user_named("buyer").dealer_id)[REBATE]


def inbox(code: str = "sf", outcome: str | None = None) -> list[CarrierEvent]:
    db.session.rollback()
    events, _ = logistics.carrier_events(logistics.carrier_by_code(code), outcome, per_page=500)
    return events


def refusals(code: str) -> dict[str, int]:
    db.session.rollback()
    return logistics.refusal_counts(code)


def without_inbox(state: dict) -> dict:
    """Everything but the carriers' logs (a duplicate delivery is logged as such)."""
    return {k: v for k, v in state.items() if k not in ("carrier_events", "webhook_refusals")}


# --- §5: the table -------------------------------------------------------------------------------


def test_a_valid_new_event_for_a_known_tracking_number_is_applied(client, shop):
    ship(shop, "SF1")

    response = deliver(client, event_body("e1", "SF1", "in_transit"))

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"event_id": "e1", "outcome": "applied"}
    found = shipment_of(shop, "SF1")
    assert found.status == "in_transit"
    [timeline] = found.events
    assert (timeline.status, timeline.location, timeline.description) == (
        "in_transit",
        "上海",
        "到达上海转运中心",
    )
    assert timeline.occurred_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # +08:00 → UTC


def test_the_same_event_id_again_is_200_and_changes_nothing(client, shop):
    ship(shop, "SF1")
    body = event_body("e1", "SF1", "delivered")
    assert deliver(client, body).status_code == 200
    assert order_status(shop) == "delivered"
    before = db_state()

    again = deliver(client, body)
    other_body_same_id = deliver(client, event_body("e1", "SF1", "returned"))

    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    assert other_body_same_id.get_json()["outcome"] == "duplicate"
    assert without_inbox(db_state()) == without_inbox(before)
    assert [e.outcome for e in inbox()].count("applied") == 1
    assert [e.outcome for e in inbox()].count("duplicate") == 2  # logged for HQ, nothing more


def test_an_unknown_tracking_number_is_202_kept_and_applied_when_its_shipment_appears(client, shop):
    late = deliver(client, event_body("d", "SF7", "delivered", occurred_at="2026-12-02T10:00Z"))
    early = deliver(
        client, event_body("p", "SF7", "picked_up", occurred_at="2026-12-01T09:00:00+08:00")
    )

    assert (late.status_code, early.status_code) == (202, 202)
    assert late.get_json()["outcome"] == "unmatched"
    assert {e.event_key for e in inbox(outcome="unmatched")} == {"d", "p"}

    ship(shop, "SF7")

    found = shipment_of(shop, "SF7")
    assert found.status == "delivered"
    assert [e.status for e in found.events] == ["picked_up", "delivered"]  # occurred_at order
    assert order_status(shop) == "delivered"
    assert inbox(outcome="unmatched") == []


@pytest.mark.parametrize(
    "signature",
    [
        False,  # no header at all
        "",
        "t=,v1=",
        "v1=" + "0" * 64,  # no t
        "t={now}",  # no v1
        "t={now},v1=" + "0" * 64,  # wrong digest
        "t={now},v1=zz",  # not hex
        "t={now},t={now},v1={good}",  # two t values
        "t={now}.5,v1={good}",  # t is not an integer
        "t=abc,v1={good}",
        "t=-{now},v1={good}",
        "t=１２３,v1={good}",  # full-width digits are not an integer here
        "t={now},v1=" + "é" * 64,  # non-ASCII must not reach compare_digest
    ],
)
def test_a_missing_or_wrong_signature_is_401(client, shop, signature):
    ship(shop, "SF1")
    body = event_body()
    now = int(time.time())
    good = sign(logistics.carrier_by_code("sf").secret, body, now).split("v1=")[1]
    if isinstance(signature, str):
        signature = signature.format(now=now, good=good)

    response = deliver(client, body, signature=signature)

    assert_problem(response, 401, "bad_signature")
    assert shipment_of(shop, "SF1").status == "created"
    assert inbox() == []
    assert refusals("sf") == {"bad_signature": 1}


def test_a_signature_of_another_body_is_401(client, shop):
    secret = logistics.carrier_by_code("sf").secret
    signature = sign(secret, event_body(status="in_transit"))

    response = deliver(client, event_body(status="delivered"), signature=signature)

    assert_problem(response, 401, "bad_signature")


def test_the_signature_covers_the_raw_bytes_not_the_parsed_json(client, shop):
    ship(shop, "SF1")
    secret = logistics.carrier_by_code("sf").secret
    body = event_body()
    spaced = body.replace(b", ", b",  ")  # the same JSON, other bytes
    assert spaced != body and json.loads(spaced) == json.loads(body)

    response = deliver(client, spaced, signature=sign(secret, body))

    assert_problem(response, 401, "bad_signature")
    assert deliver(client, spaced, signature=sign(secret, spaced)).status_code == 200


@pytest.mark.parametrize("offset", [-301, 301, -3600, 10**9])
def test_t_more_than_300_seconds_away_past_or_future_is_401(client, shop, offset):
    body = event_body()
    secret = logistics.carrier_by_code("sf").secret

    response = deliver(client, body, signature=sign(secret, body, int(time.time()) + offset))

    assert_problem(response, 401, "stale_timestamp")
    assert inbox() == [] and refusals("sf") == {"stale_timestamp": 1}


@pytest.mark.parametrize("offset", [-290, 290])
def test_t_within_300_seconds_is_accepted(client, shop, offset):
    body = event_body(tracking_no="NOWHERE")
    secret = logistics.carrier_by_code("sf").secret

    response = deliver(client, body, signature=sign(secret, body, int(time.time()) + offset))

    assert response.status_code == 202


def test_an_unknown_carrier_is_401(client, shop):
    body = event_body()

    response = deliver(client, body, code="nobody", signature=sign("whsec_guess", body))

    assert_problem(response, 401, "unknown_carrier")
    # Codes that are no carrier share one row: made-up URLs cannot add rows without end.
    assert refusals("nobody") == {}
    assert refusals(logistics.UNKNOWN_CARRIERS) == {"unknown_carrier": 1}


def test_an_inactive_carrier_is_401(client, shop):
    ship(shop, "SF1")
    secret = logistics.carrier_by_code("sf").secret
    logistics.update_carrier("sf", active=False)

    response = deliver(client, event_body(), secret=secret)

    assert_problem(response, 401, "unknown_carrier")
    assert shipment_of(shop, "SF1").status == "created"
    assert refusals("sf") == {"unknown_carrier": 1}


# --- §5: secret rotation --------------------------------------------------------------------------


def test_during_rotation_either_secret_signs_and_two_v1_values_need_only_one_match(client, shop):
    ship(shop, "SF1")
    old = logistics.carrier_by_code("sf").secret
    new = logistics.rotate_secret("sf", grace_hours=24).secret
    b1, b2, b3 = (event_body(f"e{i}", "SF1", "in_transit") for i in (1, 2, 3))

    assert deliver(client, b1, signature=sign(old, b1)).status_code == 200
    assert deliver(client, b2, signature=sign(new, b2)).status_code == 200
    both = sign(new, b3, None, old)  # t=…,v1=<new>,v1=<old>
    assert both.count("v1=") == 2
    assert deliver(client, b3, signature=both).status_code == 200
    wrong_then_right = sign("whsec_wrong", b3, None, new)
    assert deliver(client, b3, signature=wrong_then_right).get_json()["outcome"] == "duplicate"


def test_a_rotated_out_secret_is_refused_at_once_with_grace_0(client, shop):
    old = logistics.carrier_by_code("sf").secret
    new = logistics.rotate_secret("sf", grace_hours=0).secret
    body = event_body(tracking_no="NOWHERE")

    assert_problem(deliver(client, body, signature=sign(old, body)), 401, "bad_signature")
    assert deliver(client, body, signature=sign(new, body)).status_code == 202


def test_more_v1_values_than_any_rotation_needs_are_refused(client, shop):
    body = event_body()
    secret = logistics.carrier_by_code("sf").secret
    many = sign(secret, body, None, *[f"k{i}" for i in range(8)])  # 9 values, one right

    assert_problem(deliver(client, body, signature=many), 401, "bad_signature")


# --- §5: bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"null", b"[" * 5000],
)
def test_an_unparsable_body_is_400_problem_json(client, shop, raw):
    response = deliver(client, raw)

    assert_problem(response, 400, "invalid_json")
    assert inbox() == []
    assert refusals("sf") == {"bad_body": 1}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": None}, "event_id"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "   "}, "event_id"),
        ({"event_id": 17}, "event_id"),
        ({"event_id": "x" * 129}, "event_id"),
        ({"tracking_no": ""}, "tracking_no"),
        ({"tracking_no": "T" * 65}, "tracking_no"),
        ({"status": "lost"}, "status"),
        ({"status": "created"}, "status"),  # a shipment status, never an event
        ({"occurred_at": "2026-12-01T08:00:00"}, "occurred_at"),  # naive: no offset
        ({"occurred_at": "2026-12-01"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1764576000}, "occurred_at"),
        ({"location": "地" * 201}, "location"),
        ({"location": 5}, "location"),
        ({"description": ["a"]}, "description"),
    ],
)
def test_an_invalid_body_is_400_with_the_field_named(client, shop, change, field):
    data = json.loads(event_body())
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}

    response = deliver(client, json.dumps(data).encode())

    assert_problem(response, 400, "validation_error", fields=[field])
    assert inbox() == [] and refusals("sf") == {"bad_body": 1}


def test_unknown_fields_are_ignored_and_optional_ones_may_be_absent_or_null(client, shop):
    ship(shop, "SF1")
    data = {
        "event_id": "e1",
        "tracking_no": "SF1",
        "status": "picked_up",
        "occurred_at": "2026-12-01T08:00:00Z",
        "courier": {"name": "王师傅", "phone": "138"},
        "location": None,
    }

    response = deliver(client, json.dumps(data).encode())

    assert response.status_code == 200, response.get_json()
    [event] = shipment_of(shop, "SF1").events
    assert (event.location, event.description) == ("", "")


def test_a_body_over_64_kb_is_413_and_one_of_64_kb_is_read(client, shop):
    ship(shop, "SF1")
    small = event_body("e1", "SF1", "in_transit", description="")
    at_limit = event_body("e1", "SF1", "in_transit", description="x" * (65536 - len(small)))
    assert len(at_limit) == 65536
    over = event_body("e2", "SF1", "in_transit", description="x" * 66_000)

    refused = deliver(client, over)
    accepted = deliver(client, at_limit)

    assert_problem(refused, 413)
    assert accepted.status_code == 200
    assert [e.event_key for e in inbox()] == ["e1"]
    assert refusals("sf") == {"bad_body": 1}


def test_a_body_without_content_length_is_read_only_up_to_the_limit(client, shop):
    """A chunked body (no Content-Length) over 64 KB is refused without being read whole."""
    body = event_body(description="x" * 200_000)
    stream = io.BytesIO(body)

    response = client.post(
        URL.format("sf"),
        input_stream=stream,
        headers={"X-Logistics-Signature": sign(logistics.carrier_by_code("sf").secret, body)},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_problem(response, 413)
    assert stream.tell() <= 65537  # one byte past the limit at most


def test_a_chunked_body_within_the_limit_is_accepted(client, shop):
    body = event_body(tracking_no="NOWHERE")

    response = client.post(
        URL.format("sf"),
        input_stream=io.BytesIO(body),
        headers={"X-Logistics-Signature": sign(logistics.carrier_by_code("sf").secret, body)},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 202, response.get_json()


def test_an_app_wide_max_content_length_does_not_change_the_webhook_limit(
    app, client, shop, monkeypatch
):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    body = event_body(tracking_no="NOWHERE", description="x" * 4000)

    assert deliver(client, body).status_code == 202


# --- §5: what events do ------------------------------------------------------------------------


def test_status_never_moves_back_exception_keeps_it_and_returned_marks_it(client, shop):
    ship(shop, "SF1", lines=[ShipLine("TEA-1", 10)])
    ship(shop, "SF2")
    for key, tracking, status, at in [
        ("a", "SF1", "out_for_delivery", "2026-12-02T10:00:00+08:00"),
        ("b", "SF1", "picked_up", "2026-12-01T10:00:00+08:00"),  # late: timeline only
        ("c", "SF1", "exception", "2026-12-02T11:00:00+08:00"),
        ("d", "SF2", "returned", "2026-12-02T11:00:00+08:00"),
    ]:
        assert deliver(client, event_body(key, tracking, status, occurred_at=at)).status_code == 200

    first, second = shipment_of(shop, "SF1"), shipment_of(shop, "SF2")
    assert first.status == "out_for_delivery" and first.has_exception
    assert [e.status for e in first.events] == ["picked_up", "out_for_delivery", "exception"]
    assert second.status == "returned"
    assert order_status(shop) == "shipped"


def test_the_last_delivery_closes_the_order_and_earns_the_rebate_once(client, shop):
    ship(shop, "SF1", lines=[ShipLine("TEA-1", 10)])
    ship(shop, "SF2")
    before = rebate_balance()

    deliver(client, event_body("a", "SF1", "delivered"))
    assert order_status(shop) == "shipped"
    deliver(client, event_body("b", "SF2", "delivered"))
    deliver(client, event_body("b", "SF2", "delivered"))
    deliver(client, event_body("c", "SF2", "delivered", occurred_at="2026-12-03T08:00:00Z"))

    assert order_status(shop) == "delivered"
    order = orders.order_for_admin(shop.number)
    assert rebate_balance() - before == order.rebate_earnable > 0
    earned = select(func.count(LedgerEntry.id)).where(LedgerEntry.type == "rebate_earned")
    assert db.session.scalar(earned) == 1
    delivered = select(func.count(OrderEvent.id)).where(OrderEvent.status == "delivered")
    assert db.session.scalar(delivered) == 1


# --- §5 and §5a: refusals, sessions, rate limits -------------------------------------------


def test_refusals_are_counted_per_reason_and_their_bodies_are_not_kept(client, shop):
    body = event_body(tracking_no="NOWHERE")
    secret = logistics.carrier_by_code("sf").secret
    deliver(client, body, signature=False)
    deliver(client, body, signature=sign("whsec_wrong", body))
    deliver(client, body, signature=sign(secret, body, int(time.time()) - 1000))
    deliver(client, b"{oops")
    deliver(client, b"{oops")
    deliver(client, body, code="ghost", signature=sign(secret, body))
    push(client, trajectory(), sign_as="0" * 32)
    push(client, trajectory(), param="{oops")

    assert refusals("sf") == {"bad_signature": 2, "stale_timestamp": 1, "bad_body": 2}
    assert refusals("ghost") == {}
    assert refusals(logistics.UNKNOWN_CARRIERS) == {"unknown_carrier": 1}
    assert refusals("k100") == {"bad_signature": 1, "bad_body": 1}
    assert inbox("sf") == [] and inbox("k100") == []


def test_webhooks_set_no_session_cookie_and_never_load_the_session_user(
    app, client, shop, monkeypatch
):
    f.web_login(client, "boss")  # an HQ session cookie is now in the client's jar
    loaded = []
    monkeypatch.setattr(app.login_manager, "_user_callback", loaded.append)
    body = event_body(tracking_no="NOWHERE")

    answers = [
        deliver(client, body),
        deliver(client, body, signature=False),
        deliver(client, b"{"),
        push(client, trajectory()),
        push(client, trajectory(), sign_as="0" * 32),
    ]

    assert [r.status_code for r in answers] == [202, 401, 400, 200, 401]
    for response in answers:
        assert "Set-Cookie" not in response.headers, response.headers
    assert loaded == []  # current_user was never touched: the session grants nothing here
    client.get("/admin/")
    assert loaded, "the recorder must see a page that does load the user"


def test_webhooks_need_no_csrf_token_even_with_csrf_on(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "WTF_CSRF_CHECK_DEFAULT", True)

    assert deliver(client, event_body(tracking_no="NOWHERE")).status_code == 202
    assert_k100(push(client, trajectory(points=[point("2026-12-01 08:00:00", "收件")])), 200, True)


def test_deliveries_are_rate_limited_per_carrier_code(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RATE_LIMIT", "3/minute")
    limiter.reset()
    body = event_body(tracking_no="NOWHERE")

    statuses = [deliver(client, body).status_code for _ in range(3)]
    limited = deliver(client, body)
    limited_push = push(client, trajectory(), code="sf")  # both doors share the carrier's budget
    other_carrier = push(client, trajectory(), code="k100")

    assert statuses == [202, 200, 200]
    assert_problem(limited, 429)
    assert_k100(limited_push, 429, False)
    assert_k100(other_carrier, 200, True)


def test_a_generous_default_rate_limit_comes_from_the_environment(monkeypatch):
    from app.config import Config

    assert Config().WEBHOOK_RATE_LIMIT == "6000/minute"
    monkeypatch.setenv("WEBHOOK_RATE_LIMIT", "50/second")
    assert Config().WEBHOOK_RATE_LIMIT == "50/second"


def test_webhook_routes_answer_only_post(client, shop):
    response = client.get(URL.format("sf"))

    assert response.status_code == 405


# --- §5a: 快递100 --------------------------------------------------------------------------


def test_a_k100_push_for_a_known_tracking_number_records_every_point(client, shop):
    ship(shop, "YT1", code="k100")
    points = [
        point("2026-12-02 09:30:00", "已签收，签收人：门卫", "签收", "上海市浦东新区"),
        point("2026-12-02 07:00:00", "快件正在派送中", "派件", "上海市"),
        point("2026-12-01 16:00:00", "快件已揽收", "揽收", "广州市"),
    ]

    response = push(client, trajectory("YT1", "3", points))

    assert_k100(response, 200, True)
    found = shipment_of(shop, "YT1")
    assert found.status == "delivered"
    assert [(e.status, e.location, e.description) for e in found.events] == [
        ("picked_up", "广州市", "快件已揽收"),
        ("out_for_delivery", "上海市", "快件正在派送中"),
        ("delivered", "上海市浦东新区", "已签收，签收人：门卫"),
    ]
    assert found.events[0].occurred_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # China time
    assert order_status(shop) == "delivered"


def test_a_k100_push_for_an_unknown_tracking_number_is_accepted_and_waits(client, shop):
    points = [point("2026-12-02 07:00:00", "派送中", "派件"), point("2026-12-01 16:00:00", "揽收")]

    response = push(client, trajectory("YT9", "5", points))

    assert_k100(response, 200, True)
    assert [e.outcome for e in inbox("k100")] == ["unmatched", "unmatched"]
    ship(shop, "YT9", code="k100")
    assert shipment_of(shop, "YT9").status == "out_for_delivery"


def test_repeated_pushes_change_nothing_for_earlier_points(client, shop):
    ship(shop, "YT1", code="k100")
    a = point("2026-12-01 16:00:00", "快件已揽收", "揽收")
    b = point("2026-12-02 07:00:00", "快件正在派送中", "在途")  # newest in the first push
    c = point("2026-12-02 09:30:00", "已签收", "签收")

    assert_k100(push(client, trajectory("YT1", "5", [b, a])), 200, True)
    first = {e.event_key: (e.status, e.occurred_at, e.outcome) for e in inbox("k100")}
    assert sorted(s for s, _, _ in first.values()) == ["out_for_delivery", "picked_up"]
    assert_k100(push(client, trajectory("YT1", "5", [b, a])), 200, True)
    assert_k100(push(client, trajectory("YT1", "3", [c, b, a])), 200, True)

    after = {e.event_key: (e.status, e.occurred_at, e.outcome) for e in inbox("k100")}
    assert len(after) == 3 and len(inbox("k100")) == 3  # repeats are not even logged
    assert {k: after[k] for k in first} == first  # b stays out_for_delivery (state 5 then)
    assert shipment_of(shop, "YT1").status == "delivered"


def test_a_points_identity_is_tracking_number_ftime_and_context(client, shop):
    same_time = "2026-12-01 16:00:00"
    points = [
        point(same_time, "到达上海"),
        point(same_time, "离开上海"),
        point(same_time, "到达上海"),
    ]

    assert_k100(push(client, trajectory("YT1", "0", points)), 200, True)
    assert_k100(push(client, trajectory("YT2", "0", points[:1])), 200, True)

    keys = {e.event_key for e in inbox("k100")}
    assert len(keys) == 3 and len(inbox("k100")) == 3
    assert all(k.startswith("k100:") and len(k) <= 128 for k in keys)


STATE_TABLE = [
    ("0", "in_transit"),
    ("1", "picked_up"),
    ("2", "exception"),
    ("3", "delivered"),
    ("4", "returned"),
    ("5", "out_for_delivery"),
    ("6", "returned"),
    ("7", "in_transit"),
    ("8", "in_transit"),
    ("14", "exception"),
    (3, "delivered"),  # a number works as well as a string
    (14, "exception"),
]


@pytest.mark.parametrize(("state", "expected"), STATE_TABLE)
def test_the_newest_point_takes_its_status_from_last_result_state(client, shop, state, expected):
    points = [
        point("2026-12-02 07:00:00", "最新", "揽收"),
        point("2026-12-01 07:00:00", "较早", "在途"),
    ]

    assert_k100(push(client, trajectory("YT1", state, points)), 200, True)

    by_context = {e.description: e.status for e in inbox("k100")}
    assert by_context == {"最新": expected, "较早": "in_transit"}


WORD_TABLE = [
    ("揽收", "picked_up"),
    ("在途", "in_transit"),
    ("转投", "in_transit"),
    ("清关", "in_transit"),
    ("派件", "out_for_delivery"),
    ("签收", "delivered"),
    ("疑难", "exception"),
    ("拒签", "exception"),
    ("退回", "returned"),
    ("退签", "returned"),
    ("问题件", "in_transit"),  # anything else → in transit
    ("", "in_transit"),
    (None, "in_transit"),  # no status word at all
]


@pytest.mark.parametrize(("word", "expected"), WORD_TABLE)
def test_older_points_take_their_status_from_their_own_word(client, shop, word, expected):
    points = [
        point("2026-12-02 07:00:00", "最新", "签收"),
        point("2026-12-01 07:00:00", "较早", word),
    ]

    assert_k100(push(client, trajectory("YT1", "1", points)), 200, True)

    by_context = {e.description: e.status for e in inbox("k100")}
    assert by_context == {"最新": "picked_up", "较早": expected}


def test_a_state_code_not_in_the_table_leaves_the_newest_point_its_own_word(client, shop):
    points = [point("2026-12-02 07:00:00", "最新", "派件")]

    assert_k100(push(client, trajectory("YT1", "99", points)), 200, True)

    assert [e.status for e in inbox("k100")] == ["out_for_delivery"]


def test_a_k100_push_with_a_wrong_or_missing_sign_is_401(client, shop):
    good = trajectory("YT1", "0", [point("2026-12-01 08:00:00", "揽收")])

    wrong = push(client, good, sign_as="0" * 32)
    missing = push(client, good, sign_as="")
    other_salt = push(client, good, salt="not-the-salt")
    not_hex = push(client, good, sign_as="签" * 32)

    for response in (wrong, missing, other_salt, not_hex):
        assert_k100(response, 401, False)
    assert inbox("k100") == []
    assert refusals("k100") == {"bad_signature": 4}


def test_a_k100_push_signed_with_the_previous_salt_counts_during_the_grace_period(client, shop):
    old = logistics.carrier_by_code("k100").secret
    logistics.rotate_secret("k100", grace_hours=1)
    good = trajectory("YT1", "0", [point("2026-12-01 08:00:00", "揽收")])

    assert_k100(push(client, good, salt=old), 200, True)
    logistics.rotate_secret("k100", grace_hours=0)
    assert_k100(push(client, good, salt=old), 401, False)


@pytest.mark.parametrize("code_state", ["unknown", "inactive"])
def test_a_k100_push_to_an_unknown_or_inactive_carrier_is_401(client, shop, code_state):
    salt = logistics.carrier_by_code("k100").secret
    code = "nobody" if code_state == "unknown" else "k100"
    if code_state == "inactive":
        logistics.update_carrier("k100", active=False)

    response = push(client, trajectory(), code=code, salt=salt)

    assert_k100(response, 401, False)
    counted_as = logistics.UNKNOWN_CARRIERS if code_state == "unknown" else code
    assert refusals(counted_as) == {"unknown_carrier": 1}


@pytest.mark.parametrize(
    "param",
    [
        "",
        "{oops",
        "[]",
        '{"status": "polling"}',  # no lastResult
        '{"lastResult": {"state": "0", "data": []}}',  # no tracking number
        '{"lastResult": {"nu": "YT1", "data": [{"context": "x"}]}}',  # a point without ftime
        '{"lastResult": {"nu": "YT1", "data": [{"context": "x", "ftime": "2026-12-01T08:00"}]}}',
        '{"lastResult": {"nu": "YT1", "data": [{"context": "x", "ftime": "2026-02-30 08:00:00"}]}}',
        '{"lastResult": {"nu": "YT1", "state": true, "data": []}}',
        '{"lastResult": {"nu": "YT1", "data": "none"}}',
    ],
)
def test_an_unparsable_k100_param_is_400(client, shop, param):
    response = push(client, {}, param=param)

    assert_k100(response, 400, False)
    assert inbox("k100") == [] and refusals("k100") == {"bad_body": 1}


def test_a_k100_push_with_no_points_yet_is_accepted(client, shop):
    assert_k100(push(client, trajectory("YT1", "0", [])), 200, True)
    assert inbox("k100") == []


def test_a_k100_push_over_its_size_limit_is_413(app, client, shop):
    limit = app.config["KUAIDI100_MAX_BYTES"]
    huge = [point("2026-12-01 08:00:00", "轨迹" * 2000 + str(i)) for i in range(30)]

    response = push(client, trajectory("YT1", "0", huge))

    assert len(urlencode({"param": json.dumps(huge, ensure_ascii=False)})) > limit
    assert_k100(response, 413, False)
    assert inbox("k100") == []


def test_unsigned_junk_does_not_use_up_a_real_carriers_rate(client, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RATE_LIMIT", "3/minute")
    limiter.reset()
    try:
        for _ in range(5):
            junk = deliver(client, event_body(), signature="t=1,v1=00")
            assert junk.status_code == 401
        assert deliver(client, event_body()).status_code in (200, 202)  # not 429
    finally:
        limiter.reset()


def test_control_characters_in_a_carrier_event_are_a_bad_body(client, shop):
    response = deliver(client, event_body(tracking_no="SF\u0000X"))
    assert response.status_code == 400
