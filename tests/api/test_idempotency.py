"""POST /api/v1/orders honours Idempotency-Key, scoped to the user (CONTRACT §2)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import IdempotencyKey
from app.services import idempotency, orders
from tests import factories as f
from tests.api.helpers import assert_problem

BODY = {"lines": [{"sku": "TEA-1", "qty": 3}, {"sku": "JUICE-6", "qty": 6}], "note": "急"}


@pytest.fixture
def store(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    colleague = f.dealer_user("SH001", "colleague")
    rival = f.dealer_user("BJ001", "rival")
    admin = f.admin("hq")
    f.product("TEA-1", list_price=10000, on_hand=100)
    f.product("JUICE-6", list_price=5000, min_order_qty=6, order_multiple=6, on_hand=60)
    f.deposit("SH001", 1_000_000)
    f.deposit("BJ001", 1_000_000)
    return SimpleNamespace(
        client=client,
        buyer=buyer,
        headers=f.api_headers(buyer),
        colleague=f.api_headers(colleague),
        rival=f.api_headers(rival),
        admin=f.api_headers(admin),
    )


def post(store, key, body=BODY, headers=None):
    headers = {**(headers or store.headers), "Idempotency-Key": key}
    return store.client.post("/api/v1/orders", json=body, headers=headers)


def replayed(response) -> bool:
    return response.headers.get("Idempotent-Replayed") == "true"


def order_count(store, headers=None):
    return store.client.get("/api/v1/orders", headers=headers or store.headers).get_json()["total"]


def test_the_same_key_and_body_return_the_same_order_once(store):
    first = post(store, "checkout-1")
    assert first.status_code == 201, first.get_json()
    assert not replayed(first)
    after_first = f.footprint()

    again = post(store, "checkout-1")

    assert again.status_code == 201
    assert replayed(again)
    assert again.get_json() == first.get_json()
    assert again.get_data() == first.get_data()
    assert f.footprint() == after_first  # no second reservation, no second debit
    assert f.stock_of("TEA-1") == (100, 3)
    assert f.stock_of("JUICE-6") == (60, 6)
    assert order_count(store) == 1
    wallet = store.client.get("/api/v1/wallet", headers=store.headers).get_json()
    assert wallet["funds"]["balance"] == "9400.00"


def test_the_same_body_spelled_with_other_key_order_and_spacing_is_the_same_body(store):
    first = post(store, "checkout-1")
    headers = {**store.headers, "Idempotency-Key": "checkout-1", "Content-Type": "application/json"}
    respelled = (
        '{ "note" : "急",  "lines": [ {"qty": 3, "sku": "TEA-1"}, {"qty": 6, "sku": "JUICE-6"} ] }'
    )

    again = store.client.post("/api/v1/orders", data=respelled.encode(), headers=headers)

    assert again.status_code == 201, again.get_json()
    assert replayed(again)
    assert again.get_json()["number"] == first.get_json()["number"]
    assert order_count(store) == 1


def test_a_key_used_a_day_ago_still_returns_the_same_order(store):
    first = post(store, "checkout-1").get_json()
    db.session.execute(
        update(IdempotencyKey).values(created_at=datetime.now(UTC) - timedelta(hours=25))
    )
    db.session.commit()
    before = f.footprint()

    again = post(store, "checkout-1")

    assert again.status_code == 201
    assert replayed(again)
    assert again.get_json()["number"] == first["number"]
    assert f.footprint() == before


def test_every_retry_keeps_answering_with_the_first_order(store):
    first = post(store, "checkout-1").get_json()

    answers = [post(store, "checkout-1") for _ in range(3)]

    assert all(a.status_code == 201 and replayed(a) for a in answers)
    assert {a.get_json()["number"] for a in answers} == {first["number"]}
    assert order_count(store) == 1


def test_a_replay_returns_the_original_answer_even_after_the_order_moved_on(store):
    first = post(store, "checkout-1").get_json()
    cancel = store.client.post(f"/api/v1/orders/{first['number']}/cancel", headers=store.headers)
    assert cancel.status_code == 200
    after_cancel = f.footprint()

    again = post(store, "checkout-1")

    assert again.status_code == 201
    assert replayed(again)
    assert again.get_json()["number"] == first["number"]
    assert f.footprint() == after_cancel  # nothing reserved or debited again


@pytest.mark.parametrize(
    "other_body",
    [
        {"lines": [{"sku": "TEA-1", "qty": 4}, {"sku": "JUICE-6", "qty": 6}], "note": "急"},
        {"lines": [{"sku": "TEA-1", "qty": 3}], "note": "急"},
        {**BODY, "note": "不急"},
    ],
    ids=["other-qty", "fewer-lines", "other-note"],
)
def test_the_same_key_with_a_different_body_is_422_key_reused(store, other_body):
    first = post(store, "checkout-1").get_json()
    before = f.footprint()

    assert_problem(post(store, "checkout-1", body=other_body), 422, "idempotency_key_reused")

    assert f.footprint() == before
    assert post(store, "checkout-1").get_json()["number"] == first["number"]


def test_a_colleague_of_the_same_dealer_gets_an_own_order_with_the_same_key(store):
    mine = post(store, "checkout-1").get_json()

    theirs = post(store, "checkout-1", headers=store.colleague)

    assert theirs.status_code == 201, theirs.get_json()
    assert not replayed(theirs)
    assert theirs.get_json()["number"] != mine["number"]
    assert order_count(store) == 2
    assert f.stock_of("TEA-1") == (100, 6)


def test_a_user_of_another_dealer_gets_an_own_order_with_the_same_key(store):
    mine = post(store, "checkout-1").get_json()

    theirs = post(store, "checkout-1", headers=store.rival)

    assert theirs.status_code == 201, theirs.get_json()
    assert not replayed(theirs)
    assert theirs.get_json()["number"] != mine["number"]
    assert order_count(store, store.rival) == 1
    assert order_count(store) == 1


def test_a_request_refused_for_stock_does_not_burn_the_key(store):
    f.product("SCARCE", list_price=1000, on_hand=4)
    body = {"lines": [{"sku": "TEA-1", "qty": 1}, {"sku": "SCARCE", "qty": 6}]}
    before = f.footprint()
    assert_problem(post(store, "checkout-1", body=body), 409, "insufficient_stock")
    assert f.footprint() == before
    restock = store.client.post(
        "/api/v1/admin/products/SCARCE/stock", json={"on_hand": 10}, headers=store.admin
    )
    assert restock.status_code == 200, restock.get_json()

    retry = post(store, "checkout-1", body=body)

    assert retry.status_code == 201, retry.get_json()
    assert not replayed(retry)
    assert f.stock_of("SCARCE") == (10, 6)
    assert f.stock_of("TEA-1") == (100, 1)
    assert post(store, "checkout-1", body=body).get_json()["number"] == retry.get_json()["number"]


def test_a_request_refused_for_funds_does_not_burn_the_key(store):
    f.product("BIG", list_price=2_000_000, on_hand=5)  # 20000.00; the dealer has 10000.00
    body = {"lines": [{"sku": "BIG", "qty": 1}]}
    before = f.footprint()
    assert_problem(post(store, "checkout-1", body=body), 409, "insufficient_funds")
    assert f.footprint() == before
    f.deposit("SH001", 1_000_000)

    retry = post(store, "checkout-1", body=body)

    assert retry.status_code == 201, retry.get_json()
    assert not replayed(retry)
    assert f.stock_of("BIG") == (5, 1)


def test_a_request_refused_for_an_invalid_line_does_not_burn_the_key(store):
    bad = {"lines": [{"sku": "JUICE-6", "qty": 7}]}
    assert_problem(post(store, "checkout-1", body=bad), 422)

    retry = post(store, "checkout-1")

    assert retry.status_code == 201, retry.get_json()
    assert not replayed(retry)


def test_a_claim_committed_without_an_answer_is_409_in_progress(store):
    """A claim commits with its order, so a live duplicate waits and replays (see the
    PostgreSQL race tests); a claim left without an answer (its process died mid-way) is
    reported as still in progress until it is old enough to take over."""
    fingerprint = idempotency.fingerprint("POST", "/api/v1/orders", BODY)
    claimed = idempotency.claim(store.buyer.id, "checkout-1", fingerprint)
    assert not isinstance(claimed, idempotency.Replay)
    db.session.commit()
    before = f.footprint()

    response = post(store, "checkout-1")

    assert_problem(response, 409, "idempotency_request_in_progress")
    assert f.footprint() == before
    assert order_count(store) == 0


def test_a_retry_after_the_first_answer_was_lost_returns_the_order_it_made(store):
    fingerprint = idempotency.fingerprint("POST", "/api/v1/orders", BODY)
    claimed = idempotency.claim(store.buyer.id, "checkout-1", fingerprint)
    lines = [orders.LineRequest(line["sku"], line["qty"]) for line in BODY["lines"]]
    made = orders.place_order(store.buyer, lines, note=BODY["note"], idempotency_key_id=claimed.id)
    number = made.number
    before = f.footprint()

    response = post(store, "checkout-1")

    assert response.status_code == 201, response.get_json()
    assert replayed(response)
    assert response.get_json()["number"] == number
    assert f.footprint() == before
