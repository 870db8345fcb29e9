"""Period rebate settlements (CONTRACT §3 POST /admin/rebate-settlements, §4 *Period
settlement*): basis from orders delivered in the period, the highest bracket reached, half-up
amounts, posted once per period, replayed with the same body, refused with another."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import LedgerEntry, Order, OrderEvent
from app.models.orders import DELIVERED
from app.services import logistics
from app.services.logistics import EventIn
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

URL = "/api/v1/admin/rebate-settlements"
_tracking = itertools.count(1)


@pytest.fixture
def hq(client):
    """Dealers G1, G2 (GOLD) and S1 (SILVER) with funds; TEA-1 at ¥100.00; carrier sf."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    for code, tier_code in (("G1", "GOLD"), ("G2", "GOLD"), ("S1", "SILVER")):
        f.dealer(code, tier_code=tier_code)
        f.deposit(code, 10_000_000)
    shop = SimpleNamespace(
        client=client,
        admin=f.api_headers(f.admin("hq")),
        g1=f.api_headers(f.dealer_user("G1", "g1")),
        g2=f.api_headers(f.dealer_user("G2", "g2")),
        s1=f.api_headers(f.dealer_user("S1", "s1")),
    )
    f.product("TEA-1", list_price=10_000, on_hand=10_000)
    logistics.create_carrier("sf", "顺丰速运")
    return shop


def order(shop, headers, qty: int) -> str:
    """A placed order of TEA-1 × qty (¥100.00 each); its number."""
    body = {"lines": [{"sku": "TEA-1", "qty": qty}]}
    response = shop.client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def deliver(shop, number: str, at: datetime | None = None) -> None:
    """Approve, ship and deliver the order; its `delivered` moment moved to `at` if given."""
    admin = shop.admin
    assert (
        shop.client.post(f"/api/v1/admin/orders/{number}/approve", headers=admin).status_code == 200
    )
    tracking = f"SF{next(_tracking):05d}"
    body = {"carrier": "sf", "tracking_no": tracking}
    response = shop.client.post(
        f"/api/v1/admin/orders/{number}/shipments", json=body, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    now = datetime.now(UTC)
    logistics.record_events(
        logistics.carrier_by_code("sf"),
        [EventIn(f"{tracking}-d", tracking, "delivered", now, "上海", "已签收")],
    )
    order_id = db.session.scalar(select(Order.id).where(Order.number == number))
    assert db.session.get(Order, order_id).status == DELIVERED
    if at is not None:
        db.session.execute(
            update(OrderEvent)
            .where(OrderEvent.order_id == order_id, OrderEvent.status == DELIVERED)
            .values(at=at)
        )
        db.session.commit()


def delivered(shop, headers, qty: int, at: datetime | None = None) -> str:
    number = order(shop, headers, qty)
    deliver(shop, number, at)
    return number


def today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


def body(**changes) -> dict:
    base = {
        "period": "2026Q4",
        "from": "2026-10-01",
        "to": today(),
        "brackets": [
            {"min_amount": "1000.00", "rate": "0.01"},
            {"min_amount": "5000.00", "rate": "0.025"},
        ],
    }
    return {**base, **changes}


def settle(shop, headers=None, **changes):
    return shop.client.post(URL, json=body(**changes), headers=headers or shop.admin)


def rebate(shop, headers) -> str:
    return shop.client.get("/api/v1/wallet", headers=headers).get_json()["rebate"]["balance"]


def settlement_entries():
    db.session.rollback()
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.type == "settlement")).all()


def test_a_dry_run_lists_each_dealer_at_its_bracket_and_posts_nothing(hq):
    delivered(hq, hq.g1, 60)  # ¥6,000.00 → 2.5 %
    delivered(hq, hq.g2, 12)  # ¥1,200.00 → 1 %
    delivered(hq, hq.s1, 5)  # ¥500.00 → no bracket reached: not listed
    before = db_state()

    response = settle(hq, dry_run=True)

    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["period"] == "2026Q4" and answer["posted"] is False
    assert answer["items"] == [
        {
            "dealer": "G1",
            "dealer_name": answer["items"][0]["dealer_name"],
            "basis": "6000.00",
            "rate": "0.025",
            "amount": "150.00",
        },
        {
            "dealer": "G2",
            "dealer_name": answer["items"][1]["dealer_name"],
            "basis": "1200.00",
            "rate": "0.01",
            "amount": "12.00",
        },
    ]
    assert answer["total"] == "162.00"
    assert db_state() == before


def test_posting_credits_each_dealer_once_as_a_settlement_entry_naming_the_period(hq):
    delivered(hq, hq.g1, 60)
    delivered(hq, hq.g2, 12)

    response = settle(hq)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["posted"] is True
    assert rebate(hq, hq.g1) == "150.00" and rebate(hq, hq.g2) == "12.00"
    entries = hq.client.get("/api/v1/wallet/entries?account=rebate", headers=hq.g1).get_json()
    newest = entries["items"][0]
    assert newest["type"] == "settlement" and newest["amount"] == "150.00"
    assert "2026Q4" in newest["memo"] and newest["order_number"] is None
    assert len(settlement_entries()) == 2
    f.assert_ledger_consistent()


def test_posting_the_same_period_again_replays_and_credits_nothing_twice(hq):
    delivered(hq, hq.g1, 60)
    first = settle(hq).get_json()
    delivered(hq, hq.g2, 100)  # delivered since: the posted period does not change
    before = db_state()

    again = settle(hq)
    # The same brackets written in another order and with a trailing zero are the same body.
    shuffled = settle(
        hq,
        brackets=[
            {"min_amount": "5000", "rate": "0.0250"},
            {"min_amount": "1000.00", "rate": "0.01"},
        ],
    )
    dry = settle(hq, dry_run=True)

    for response in (again, shuffled, dry):
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == first
    assert db_state() == before
    assert rebate(hq, hq.g1) == "150.00"


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "2026-10-31"},
        {"from": "2026-09-30"},
        {"brackets": [{"min_amount": "1000.00", "rate": "0.02"}]},
    ],
    ids=["other-to", "other-from", "other-brackets"],
)
def test_the_same_period_with_another_body_is_refused_and_changes_nothing(hq, changes):
    delivered(hq, hq.g1, 60)
    settle(hq)
    before = db_state()

    response = settle(hq, **changes)

    assert_problem(response, 409, "settlement_conflict")
    assert db_state() == before
    # A dry run of the same period with another body is refused as well.
    assert_problem(settle(hq, dry_run=True, **changes), 409, "settlement_conflict")


def test_basis_counts_orders_delivered_in_the_shanghai_days_only(hq):
    # 2026-12-01 00:30 in Shanghai is 2026-11-30 16:30 UTC.
    first_minute = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    just_before = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 2026-11-30 23:59 Shanghai
    last_minute = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # 2026-12-31 23:59 Shanghai
    just_after = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 2027-01-01 00:00 Shanghai
    delivered(hq, hq.g1, 10, at=first_minute)
    delivered(hq, hq.g1, 20, at=last_minute)
    delivered(hq, hq.g1, 40, at=just_before)
    delivered(hq, hq.g1, 80, at=just_after)
    order(hq, hq.g1, 30)  # placed, never delivered
    cancelled = order(hq, hq.g1, 50)
    assert hq.client.post(f"/api/v1/orders/{cancelled}/cancel", headers=hq.g1).status_code == 200

    answer = settle(
        hq,
        period="2026-12",
        dry_run=True,
        brackets=[{"min_amount": "0", "rate": "0.1"}],
        **{"from": "2026-12-01", "to": "2026-12-31"},
    ).get_json()

    assert [(i["dealer"], i["basis"]) for i in answer["items"]] == [("G1", "3000.00")]


def test_basis_is_what_the_dealer_paid_after_rebate_and_amounts_round_half_up(hq):
    hq.client.post(
        "/api/v1/admin/dealers/G1/wallet/adjustments",
        json={"account": "rebate", "amount": "10.00", "memo": "opening"},
        headers=hq.admin,
    )
    hq.client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {}, "max_use_ratio": "0.5"},
        headers=hq.admin,
    )
    body_ = {"lines": [{"sku": "TEA-1", "qty": 1}], "use_rebate": "10.00"}
    placed = hq.client.post("/api/v1/orders", json=body_, headers=hq.g1).get_json()
    assert placed["payable_amount"] == "90.00"
    deliver(hq, placed["number"])

    # 90.00 × 0.0105 = 0.945 → 0.95 (half-up)
    low = settle(hq, dry_run=True, brackets=[{"min_amount": "0", "rate": "0.0105"}]).get_json()
    assert low["items"][0]["basis"] == "90.00" and low["items"][0]["amount"] == "0.95"


def test_a_dealer_whose_basis_rounds_to_nothing_is_listed_but_gets_no_entry(hq):
    delivered(hq, hq.g1, 1)  # ¥100.00 × 0.00001 = ¥0.001 → ¥0.00

    response = settle(hq, brackets=[{"min_amount": "0", "rate": "0.00001"}])

    assert response.status_code == 201
    assert response.get_json()["items"][0]["amount"] == "0.00"
    assert settlement_entries() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period": ""}, "period"),
        ({"period": "2026 Q4"}, "period"),
        ({"period": "Q" * 33}, "period"),
        ({"from": "2026-12-31", "to": "2026-12-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-12-31"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"brackets": []}, "brackets"),
        ({"brackets": [{"min_amount": "0", "rate": "1.5"}]}, "brackets.0.rate"),
        ({"brackets": [{"min_amount": "0", "rate": "-0.1"}]}, "brackets.0.rate"),
        ({"brackets": [{"min_amount": "-1", "rate": "0.1"}]}, "brackets.0.min_amount"),
        ({"brackets": [{"min_amount": "0", "rate": 0.1}]}, "brackets.0.rate"),
        (
            {
                "brackets": [
                    {"min_amount": "1", "rate": "0.1"},
                    {"min_amount": "1.00", "rate": "0.2"},
                ]
            },
            "brackets.1.min_amount",
        ),
        ({"dry_run": "yes"}, "dry_run"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_changes_nothing(hq, changes, field):
    delivered(hq, hq.g1, 60)
    before = db_state()

    response = settle(hq, **changes)

    body_ = assert_problem(response, 422)
    assert any(key == field or key.startswith(field + ".") for key in body_["errors"]), body_
    assert db_state() == before


def test_a_missing_field_or_body_is_refused(hq):
    for missing in ("period", "from", "to", "brackets"):
        partial = {k: v for k, v in body().items() if k != missing}
        assert_problem(hq.client.post(URL, json=partial, headers=hq.admin), 422, fields=[missing])
    assert hq.client.post(URL, headers=hq.admin).status_code in (400, 422)


def test_dealers_cannot_settle(hq):
    before = db_state()
    assert_problem(settle(hq, headers=hq.g1), 403)
    assert_problem(hq.client.post(URL, json=body()), 401)
    assert db_state() == before
