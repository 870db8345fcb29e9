"""HQ manages carriers through the API (CONTRACT §3 carrier rows): the secret is shown once,
rotation keeps the previous secret for a grace period, deactivation, the event log and the
counts of refused deliveries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.services import logistics, orders
from app.services.logistics import EventIn, ShipLine
from app.services.orders import LineRequest
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

CARRIERS = "/api/v1/admin/carriers"
WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EVENT_KEYS = {"event_id", "tracking_no", "status", "occurred_at", "received_at", "outcome"}
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def hq(client):
    admin = f.admin("hq")
    return SimpleNamespace(client=client, admin=admin, headers=f.api_headers(admin))


def create(hq, code="sf", name="顺丰速运"):
    response = hq.client.post(CARRIERS, json={"code": code, "name": name}, headers=hq.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rotate(hq, code="sf", **kwargs):
    return hq.client.post(f"{CARRIERS}/{code}/secret", headers=hq.headers, **kwargs)


def near(when: str, expected: datetime, slack: timedelta = timedelta(seconds=30)) -> bool:
    assert WITH_OFFSET.match(when), when
    return abs(datetime.fromisoformat(when) - expected) <= slack


# --- creating ------------------------------------------------------------------------------


def test_creating_a_carrier_is_201_and_shows_its_secret(hq):
    carrier = create(hq)

    assert carrier.keys() == {"code", "name", "secret", "active"}
    assert carrier["code"] == "sf" and carrier["name"] == "顺丰速运" and carrier["active"] is True
    assert isinstance(carrier["secret"], str) and len(carrier["secret"]) >= 32
    assert logistics.carrier_by_code("sf").secret == carrier["secret"]  # the one that signs


def test_the_secret_is_never_shown_again(hq):
    secret = create(hq)["secret"]
    answers = [
        hq.client.get(CARRIERS, headers=hq.headers),
        hq.client.get(f"{CARRIERS}/sf", headers=hq.headers),
        hq.client.patch(f"{CARRIERS}/sf", json={"name": "顺丰"}, headers=hq.headers),
        hq.client.get(f"{CARRIERS}/sf/events", headers=hq.headers),
    ]
    for response in answers:
        assert response.status_code == 200, response.get_json()
        text = response.get_data(as_text=True)
        assert secret not in text
        assert '"secret"' not in text


def test_two_carriers_have_different_secrets(hq):
    assert create(hq, "sf")["secret"] != create(hq, "yto", "圆通")["secret"]


def test_a_duplicate_carrier_code_is_409_and_changes_nothing(hq):
    create(hq)
    before = db_state()
    response = hq.client.post(CARRIERS, json={"code": "sf", "name": "别的"}, headers=hq.headers)
    assert_problem(response, 409, "duplicate_carrier")
    assert db_state() == before


INVALID_CARRIERS = {
    "code-missing": ({"name": "顺丰"}, "code"),
    "name-missing": ({"code": "sf"}, "name"),
    "code-upper-case": ({"code": "SF", "name": "顺丰"}, "code"),
    "code-with-space": ({"code": "s f", "name": "顺丰"}, "code"),
    "code-too-long": ({"code": "s" * 33, "name": "顺丰"}, "code"),
    "name-blank": ({"code": "sf", "name": "  "}, "name"),
    "name-too-long": ({"code": "sf", "name": "顺" * 129}, "name"),
    "name-number": ({"code": "sf", "name": 7}, "name"),
    "secret-given": ({"code": "sf", "name": "顺丰", "secret": "mine"}, "secret"),
}


@pytest.mark.parametrize(("body", "field"), INVALID_CARRIERS.values(), ids=INVALID_CARRIERS.keys())
def test_an_invalid_carrier_is_422_and_creates_nothing(hq, body, field):
    before = db_state()
    assert_problem(hq.client.post(CARRIERS, json=body, headers=hq.headers), 422, fields=[field])
    assert db_state() == before


# --- rotating the secret ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"json": {"grace_hours": 24}}, {"json": {}}, {}, {"data": ""}],
    ids=["explicit", "empty-object", "no-body", "empty-body"],
)
def test_rotating_keeps_the_previous_secret_for_24_hours_by_default(hq, body):
    old = create(hq)["secret"]

    response = rotate(hq, **body)

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer.keys() == {"secret", "previous_valid_until"}
    assert answer["secret"] != old
    assert near(answer["previous_valid_until"], datetime.now(UTC) + timedelta(hours=24))
    carrier = logistics.carrier_by_code("sf")
    assert logistics.valid_secrets(carrier) == [answer["secret"], old]
    later = datetime.now(UTC) + timedelta(hours=25)
    assert logistics.valid_secrets(carrier, later) == [answer["secret"]]


def test_rotating_with_another_grace_period(hq):
    create(hq)
    answer = rotate(hq, json={"grace_hours": 48}).get_json()
    assert near(answer["previous_valid_until"], datetime.now(UTC) + timedelta(hours=48))


def test_rotating_with_no_grace_drops_the_previous_secret_at_once(hq):
    old = create(hq)["secret"]
    asked = datetime.now(UTC)

    response = rotate(hq, json={"grace_hours": 0})

    assert response.status_code == 201
    answer = response.get_json()
    until = datetime.fromisoformat(answer["previous_valid_until"])
    assert asked - timedelta(seconds=1) <= until <= datetime.now(UTC)
    assert logistics.valid_secrets(logistics.carrier_by_code("sf")) == [answer["secret"]]
    assert old not in logistics.valid_secrets(logistics.carrier_by_code("sf"))


def test_a_second_rotation_forgets_the_first_secret(hq):
    first = create(hq)["secret"]
    second = rotate(hq).get_json()["secret"]
    third = rotate(hq).get_json()["secret"]
    assert logistics.valid_secrets(logistics.carrier_by_code("sf")) == [third, second]
    assert first not in (second, third)


@pytest.mark.parametrize("grace", [-1, 24 * 30 + 1, "24", 1.5, True, None, [24]])
def test_a_bad_grace_period_is_422_and_changes_nothing(hq, grace):
    create(hq)
    before = db_state()
    assert_problem(rotate(hq, json={"grace_hours": grace}), 422, fields=["grace_hours"])
    assert db_state() == before


def test_the_longest_grace_period_is_accepted(hq):
    create(hq)
    answer = rotate(hq, json={"grace_hours": 24 * 30}).get_json()
    assert near(answer["previous_valid_until"], datetime.now(UTC) + timedelta(days=30))


def test_rotating_an_unknown_carrier_is_404(hq):
    assert_problem(rotate(hq, code="nope"), 404)


def test_a_rotation_body_that_is_not_json_is_400(hq):
    create(hq)
    before = db_state()
    assert_problem(rotate(hq, data="{grace", content_type="application/json"), 400)
    assert db_state() == before


# --- changing ------------------------------------------------------------------------------


def test_deactivating_a_carrier_answers_it_without_its_secret(hq):
    create(hq)

    response = hq.client.patch(f"{CARRIERS}/sf", json={"active": False}, headers=hq.headers)

    assert response.status_code == 200
    assert response.get_json() == {"code": "sf", "name": "顺丰速运", "active": False}
    assert logistics.carrier_by_code("sf").active is False
    again = hq.client.patch(f"{CARRIERS}/sf", json={"active": True}, headers=hq.headers)
    assert again.get_json()["active"] is True


def test_renaming_a_carrier(hq):
    create(hq)
    response = hq.client.patch(f"{CARRIERS}/sf", json={"name": " 顺丰快递 "}, headers=hq.headers)
    assert response.get_json() == {"code": "sf", "name": "顺丰快递", "active": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"active": "no"}, "active"),
        ({"active": None}, "active"),
        ({"name": ""}, "name"),
        ({"name": "顺" * 129}, "name"),
        ({"code": "ems"}, "code"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_an_invalid_change_is_422_and_changes_nothing(hq, body, field):
    create(hq)
    before = db_state()
    response = hq.client.patch(f"{CARRIERS}/sf", json=body, headers=hq.headers)
    assert_problem(response, 422, fields=[field])
    assert db_state() == before


def test_changing_an_unknown_carrier_is_404(hq):
    response = hq.client.patch(f"{CARRIERS}/nope", json={"active": False}, headers=hq.headers)
    assert_problem(response, 404)


# --- reading (extensions) --------------------------------------------------------------------


def test_the_carrier_list_is_sorted_by_code_without_secrets(hq):
    create(hq, "yto", "圆通")
    create(hq, "sf")
    response = hq.client.get(CARRIERS, headers=hq.headers)
    assert response.get_json() == {
        "items": [
            {"code": "sf", "name": "顺丰速运", "active": True},
            {"code": "yto", "name": "圆通", "active": True},
        ]
    }


def test_a_carrier_shows_its_refused_deliveries_by_reason(hq):
    create(hq)
    create(hq, "yto", "圆通")
    logistics.count_refusal("sf", "bad_signature")
    logistics.count_refusal("sf", "bad_signature")
    logistics.count_refusal("sf", "stale_timestamp")
    logistics.count_refusal("yto", "bad_body")  # another carrier's

    response = hq.client.get(f"{CARRIERS}/sf", headers=hq.headers)

    assert response.status_code == 200
    carrier = response.get_json()
    assert carrier["refused"] == {"bad_signature": 2, "stale_timestamp": 1}
    assert carrier["code"] == "sf" and carrier["active"] is True
    assert carrier["previous_valid_until"] is None
    assert "secret" not in carrier


def test_a_fresh_carrier_has_no_refusals_and_a_rotated_one_says_until_when(hq):
    create(hq)
    assert hq.client.get(f"{CARRIERS}/sf", headers=hq.headers).get_json()["refused"] == {}
    until = rotate(hq).get_json()["previous_valid_until"]
    carrier = hq.client.get(f"{CARRIERS}/sf", headers=hq.headers).get_json()
    assert carrier["previous_valid_until"] == until
    assert WITH_OFFSET.match(carrier["rotated_at"])


def test_an_unknown_carrier_is_404(hq):
    assert_problem(hq.client.get(f"{CARRIERS}/nope", headers=hq.headers), 404)


# --- the event log -------------------------------------------------------------------------


@pytest.fixture
def log(hq):
    """Carrier sf with a shipment SF1; its log holds, oldest first: e1 applied, e1 again
    (duplicate), u1 unmatched (no shipment SF9). Carrier yto has one event of its own."""
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product("TEA-1", list_price=1000, on_hand=10)
    buyer = f.dealer_user("SH001", "buyer")
    create(hq)
    create(hq, "yto", "圆通")
    order = orders.place_order(buyer, [LineRequest("TEA-1", 2)])
    orders.approve_order(hq.admin, order.number)
    logistics.create_shipment(hq.admin, order.number, "sf", "SF1", [ShipLine("TEA-1", 1)])
    sf, yto = logistics.carrier_by_code("sf"), logistics.carrier_by_code("yto")
    assert logistics.record_events(sf, [event("e1", "SF1", "picked_up", 5)]) == ["applied"]
    assert logistics.record_events(sf, [event("e1", "SF1", "picked_up", 5)]) == ["duplicate"]
    assert logistics.record_events(sf, [event("u1", "SF9", "in_transit", 1)]) == ["unmatched"]
    assert logistics.record_events(yto, [event("y1", "YT1", "in_transit", 2)]) == ["unmatched"]
    return hq


def event(key: str, tracking: str, status: str, minutes: int) -> EventIn:
    return EventIn(key, tracking, status, T0 + timedelta(minutes=minutes), "上海", status)


def events(hq, query: str = "", code: str = "sf"):
    return hq.client.get(f"{CARRIERS}/{code}/events{query}", headers=hq.headers)


def test_the_event_log_lists_every_delivery_newest_first(log):
    response = events(log)

    assert response.status_code == 200
    page = response.get_json()
    assert page.keys() >= {"items", "page", "per_page", "total"}
    assert page["total"] == 3 and page["page"] == 1
    assert [(e["event_id"], e["outcome"]) for e in page["items"]] == [
        ("u1", "unmatched"),
        ("e1", "duplicate"),
        ("e1", "applied"),
    ]
    for item in page["items"]:
        assert item.keys() == EVENT_KEYS
        assert WITH_OFFSET.match(item["occurred_at"]) and WITH_OFFSET.match(item["received_at"])
    applied = page["items"][2]
    assert applied["tracking_no"] == "SF1" and applied["status"] == "picked_up"
    assert datetime.fromisoformat(applied["occurred_at"]) == T0 + timedelta(minutes=5)
    received = [datetime.fromisoformat(e["received_at"]) for e in page["items"]]
    assert received == sorted(received, reverse=True)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [("applied", ["e1"]), ("duplicate", ["e1"]), ("unmatched", ["u1"])],
)
def test_the_event_log_filters_by_outcome(log, outcome, expected):
    page = events(log, f"?outcome={outcome}").get_json()
    assert [e["event_id"] for e in page["items"]] == expected
    assert {e["outcome"] for e in page["items"]} == {outcome}
    assert page["total"] == 1


def test_the_event_log_is_paged(log):
    page = events(log, "?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert [(e["event_id"], e["outcome"]) for e in page["items"]] == [("e1", "applied")]


def test_a_carriers_log_holds_only_its_own_events(log):
    page = events(log, code="yto").get_json()
    assert [e["event_id"] for e in page["items"]] == ["y1"]


@pytest.mark.parametrize("query", ["?outcome=refused", "?page=0", "?per_page=201", "?page=x"])
def test_a_bad_event_log_query_is_422(log, query):
    assert_problem(events(log, query), 422)


def test_the_event_log_of_an_unknown_carrier_is_404(hq):
    assert_problem(events(hq, code="nope"), 404)


# --- roles ---------------------------------------------------------------------------------

DEALER_CALLS = [
    ("POST", CARRIERS, {"code": "ems", "name": "EMS"}),
    ("GET", CARRIERS, None),
    ("GET", f"{CARRIERS}/sf", None),
    ("PATCH", f"{CARRIERS}/sf", {"active": False}),
    ("POST", f"{CARRIERS}/sf/secret", {"grace_hours": 0}),
    ("GET", f"{CARRIERS}/sf/events", None),
]


@pytest.mark.parametrize(("method", "url", "body"), DEALER_CALLS)
def test_a_dealer_token_on_the_carrier_endpoints_is_403_and_changes_nothing(hq, method, url, body):
    create(hq)
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    dealer = f.api_headers(f.dealer_user("SH001", "buyer"))
    before = db_state()

    response = hq.client.open(url, method=method, json=body, headers=dealer)

    assert_problem(response, 403)
    assert secret_free(response)
    assert db_state() == before


def secret_free(response) -> bool:
    return logistics.carrier_by_code("sf").secret not in response.get_data(as_text=True)


def test_carrier_calls_need_a_token(client):
    assert_problem(client.get(CARRIERS), 401)
    assert_problem(client.post(CARRIERS, json={"code": "sf", "name": "顺丰"}), 401)
