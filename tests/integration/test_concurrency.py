"""Real threads against PostgreSQL: placement never oversells, double-spends or deadlocks.

Every worker has its own test client (each request runs in its own app context and
database session, as under a threaded server) and starts at the same barrier.
"""

from __future__ import annotations

import random
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import LedgerEntry, Order, OrderEvent
from app.money import parse_fen
from app.services import wallet
from tests import factories as f
from tests.threads import run_together

pytestmark = pytest.mark.postgres

HOT = ("HOT-A", "HOT-B", "HOT-C")
ON_HAND = 40


def send(client, method, url, headers, body=None):
    """(status, json); an exception escaping the app counts as a 500."""
    try:
        response = getattr(client, method)(url, json=body, headers=headers)
    except Exception as err:  # noqa: BLE001 - any escape is what the test is looking for
        return 500, {"exception": repr(err)}
    return response.status_code, response.get_json()


def orders_in_db() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Order.id)))


def funds_of(dealer) -> int:
    db.session.rollback()
    return wallet.balances(dealer.id)["funds"]


# --- many buyers, a few hot SKUs --------------------------------------------------------


def test_sixty_buyers_on_three_scarce_skus_reserve_exactly_what_there_was(app):
    f.tier("GOLD", "金牌")
    for sku, price in zip(HOT, (1000, 1250, 999), strict=True):
        f.product(sku, list_price=price, on_hand=ON_HAND)
    f.prices("HOT-A", tiers={"GOLD": [(1, 1000), (3, 900)]})  # a break inside the range
    dealers, buyers = [], []
    for d in range(20):
        dealer = f.dealer(f"HOT{d:02d}", "GOLD", credit_limit=1000)
        f.deposit(dealer.code, 10_000_000)
        dealers.append(dealer)
        for _ in range(3):
            buyers.append(SimpleNamespace(headers=f.api_headers(f.dealer_user(dealer.code))))
    assert len(buyers) >= 50

    def buyer_session(i, buyer):
        rng = random.Random(1000 + i)
        client = app.test_client()
        results = []
        for _ in range(3):
            skus = rng.sample(HOT, rng.randint(1, 3))
            lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in skus]
            status, body = send(client, "post", "/api/v1/orders", buyer.headers, {"lines": lines})
            results.append((status, body, lines))
        return results

    sessions = run_together([lambda i=i, b=b: buyer_session(i, b) for i, b in enumerate(buyers)])
    results = [r for session in sessions for r in session]

    unexpected = [
        (status, body)
        for status, body, _ in results
        if not (status == 201 or (status == 409 and body.get("code") == "insufficient_stock"))
    ]
    assert unexpected == [], unexpected[:5]
    placed = [body for status, body, _ in results if status == 201]
    refused = [body for status, body, _ in results if status == 409]
    assert placed, "no order got through"
    assert refused, "stock was never short: the test did not create contention"
    for body in refused:
        assert all(row["requested"] > row["available"] >= 0 for row in body["lines"]), body

    ordered = Counter()
    for order in placed:
        for ln in order["lines"]:
            ordered[ln["sku"]] += ln["qty"]
    for sku in HOT:
        on_hand, reserved = f.stock_of(sku)
        assert on_hand == ON_HAND
        assert reserved == ordered[sku], sku
        assert reserved <= on_hand and on_hand - reserved >= 0

    numbers = [order["number"] for order in placed]
    assert len(set(numbers)) == len(numbers) == orders_in_db()
    debited = sum(10_000_000 - funds_of(dealer) for dealer in dealers)
    assert debited == sum(parse_fen(order["payable_amount"]) for order in placed)


# --- one checkout sent fifty times at once ----------------------------------------------


def test_fifty_identical_requests_with_one_key_make_exactly_one_order(app):
    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    f.deposit("SH001", 1_000_000)
    f.product("HOT-A", list_price=1000, on_hand=ON_HAND)
    f.product("HOT-B", list_price=2000, on_hand=ON_HAND)
    headers = {**f.api_headers(buyer), "Idempotency-Key": "double-tap-1"}
    body = {"lines": [{"sku": "HOT-A", "qty": 3}, {"sku": "HOT-B", "qty": 2}]}

    results = run_together(
        [
            lambda: send(app.test_client(), "post", "/api/v1/orders", headers, body)
            for _ in range(50)
        ]
    )

    unexpected = [
        (status, answer)
        for status, answer in results
        if not (
            status == 201
            or (status == 409 and answer.get("code") == "idempotency_request_in_progress")
        )
    ]
    assert unexpected == [], unexpected[:5]
    numbers = {answer["number"] for status, answer in results if status == 201}
    assert len(numbers) == 1
    assert orders_in_db() == 1
    assert f.stock_of("HOT-A") == (ON_HAND, 3)
    assert f.stock_of("HOT-B") == (ON_HAND, 2)
    assert funds_of(dealer) == 1_000_000 - 7000
    replay = send(app.test_client(), "post", "/api/v1/orders", headers, body)
    assert replay == (201, next(a for s, a in results if s == 201))


# --- one wallet, twenty buyers ----------------------------------------------------------


def test_twenty_buyers_on_one_wallet_get_exactly_the_orders_it_can_afford(app):
    f.tier("GOLD", "金牌")
    dealer = f.dealer("TIGHT", "GOLD", credit_limit=25_000)  # 250.00 of credit
    f.deposit("TIGHT", 45_000)  # 450.00: 700.00 available, seven orders of 100.00
    f.product("UNIT", list_price=10_000, on_hand=100)
    headers = [f.api_headers(f.dealer_user("TIGHT")) for _ in range(20)]
    body = {"lines": [{"sku": "UNIT", "qty": 1}]}

    results = run_together(
        [lambda h=h: send(app.test_client(), "post", "/api/v1/orders", h, body) for h in headers]
    )

    statuses = Counter(
        (status, answer.get("code") if status != 201 else None) for status, answer in results
    )
    assert statuses == {(201, None): 7, (409, "insufficient_funds"): 13}, statuses
    assert funds_of(dealer) == -25_000
    assert f.stock_of("UNIT") == (100, 7)
    assert orders_in_db() == 7
    lowest = db.session.scalar(
        select(func.min(LedgerEntry.balance_after)).where(
            LedgerEntry.dealer_id == dealer.id, LedgerEntry.account == "funds"
        )
    )
    assert lowest >= -25_000


# --- HQ approves while the dealer cancels -----------------------------------------------


def test_approve_and_cancel_racing_on_one_order_have_exactly_one_winner(app, client):
    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD")
    buyer_headers = f.api_headers(f.dealer_user("SH001", "buyer"))
    admin_headers = f.api_headers(f.admin("hq"))
    f.deposit("SH001", 1_000_000)
    f.product("HOT-A", list_price=1000, on_hand=ON_HAND)
    numbers = []
    for _ in range(12):
        response = client.post(
            "/api/v1/orders",
            json={"lines": [{"sku": "HOT-A", "qty": 2}]},
            headers=buyer_headers,
        )
        assert response.status_code == 201, response.get_json()
        numbers.append(response.get_json()["number"])

    calls = []
    for number in numbers:
        calls.append(
            lambda n=number: (
                n,
                "approved",
                send(app.test_client(), "post", f"/api/v1/admin/orders/{n}/approve", admin_headers),
            )
        )
        calls.append(
            lambda n=number: (
                n,
                "cancelled",
                send(app.test_client(), "post", f"/api/v1/orders/{n}/cancel", buyer_headers),
            )
        )
    results = run_together(calls)

    winners = {}
    for number, outcome, (status, answer) in results:
        assert status in (200, 409), (status, answer)
        if status == 200:
            assert number not in winners, f"{number} both approved and cancelled"
            winners[number] = outcome
    assert set(winners) == set(numbers), "an order where both lost"
    for number in numbers:
        detail = client.get(f"/api/v1/orders/{number}", headers=buyer_headers).get_json()
        assert detail["status"] == winners[number]
        assert [e["status"] for e in detail["events"]] == ["submitted", winners[number]]
    approved = sum(1 for outcome in winners.values() if outcome == "approved")
    assert f.stock_of("HOT-A") == (ON_HAND, 2 * approved)
    assert funds_of(dealer) == 1_000_000 - 2000 * approved


# --- HQ finance records one bank transfer from several desks at once --------------------


def test_one_bank_reference_recorded_concurrently_is_credited_once(app):
    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD")
    admin_headers = f.api_headers(f.admin("hq"))
    url = "/api/v1/admin/dealers/SH001/wallet/deposits"
    body = {"amount": "1280.00", "reference": "ICBC-20240101-0001"}

    results = run_together(
        [lambda: send(app.test_client(), "post", url, admin_headers, body) for _ in range(20)]
    )

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: 19}, results[:3]
    assert len({answer["id"] for _, answer in results}) == 1
    assert funds_of(dealer) == 128_000


def test_one_period_settled_concurrently_is_credited_once(app, client):
    from app.services import logistics
    from tests.api.test_settlements import body, delivered

    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD")
    f.deposit("SH001", 10_000_000)
    shop = SimpleNamespace(
        client=client,
        admin=f.api_headers(f.admin("hq")),
        buyer=f.api_headers(f.dealer_user("SH001", "buyer")),
    )
    f.product("TEA-1", list_price=10_000, on_hand=1_000)
    logistics.create_carrier("sf", "顺丰速运")
    delivered(shop, shop.buyer, 60)  # ¥6,000.00 → 2.5 % → ¥150.00
    url = "/api/v1/admin/rebate-settlements"

    results = run_together(
        [lambda: send(app.test_client(), "post", url, shop.admin, body()) for _ in range(12)]
    )

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: 11}, results[:3]
    assert all(answer == results[0][1] for _, answer in results)
    db.session.rollback()
    assert wallet.balances(dealer.id)["rebate"] == 15_000
    entries = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.type == "settlement")
    )
    assert entries == 1


def test_twenty_identical_approvals_with_one_key_approve_once_and_agree(app, client):
    """An HQ client retrying an approval on one Idempotency-Key, all at once: one approval
    (one event), and every answer is that approval (the first, or replayed)."""
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    buyer = f.api_headers(f.dealer_user("SH001", "buyer"))
    admin = {**f.api_headers(f.admin("hq")), "Idempotency-Key": "approve-once"}
    f.product("TEA-1", list_price=1_000, on_hand=10)
    f.deposit("SH001", 100_000)
    db.session.commit()
    body = {"lines": [{"sku": "TEA-1", "qty": 1}]}
    number = client.post("/api/v1/orders", json=body, headers=buyer).get_json()["number"]
    url = f"/api/v1/admin/orders/{number}/approve"

    results = run_together([lambda: send(app.test_client(), "post", url, admin) for _ in range(20)])

    # The claim commits only with its answer: a duplicate waits on the key, then replays.
    assert Counter(status for status, _ in results) == {200: 20}, results[:3]
    answered = [answer for _, answer in results]
    assert all(answer == answered[0] for answer in answered)
    db.session.rollback()
    events = db.session.scalars(
        select(OrderEvent.status).join(Order).where(Order.number == number)
    ).all()
    assert sorted(events) == ["approved", "submitted"]
    replay = client.post(url, headers=admin)
    assert replay.status_code == 200 and replay.get_json() == answered[0]
