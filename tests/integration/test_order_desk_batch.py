"""The order desk's services: batch approval (each order checked and moved on its own, the ones
that changed meanwhile skipped and named, every approval audited) and HQ placing an order for
a dealer (the dealer's prices, stock and funds, once per form key). The races run on
PostgreSQL with real threads."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import AuditEntry, Order, OrderEvent, User
from app.services import accounts, orders, staff, wallet
from app.services.orders import LineRequest
from tests import factories as f
from tests.threads import run_together

PRICE = 1000  # fen per 箱


@pytest.fixture
def shop():
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", name="上海鑫源商贸")
    f.dealer("BJ001", "SILVER", name="北京京联商贸")
    f.dealer_user("SH001", "sh")
    f.dealer_user("BJ001", "bj")
    f.admin("hq")
    staff.create_staff(None, "desk", f.PASSWORD, "order_desk", "张三")
    staff.create_staff(None, "money", f.PASSWORD, "finance", "李四")
    f.product("TEA-1", name="绿茶", list_price=PRICE, on_hand=1000)
    f.product("JUICE-6", name="果汁", list_price=500, min_order_qty=6, order_multiple=6, on_hand=60)
    f.product("GOLD-ONLY", name="金牌专供", list_price=2000, visible_tiers=["GOLD"], on_hand=10)
    f.prices("TEA-1", tiers={"GOLD": [(1, 900), (10, 800)]})
    f.deposit("SH001", 500_000)  # ¥5,000: 1,000 箱 at ¥8 is more than it can pay
    f.deposit("BJ001", 1_000_000)


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def place(username: str = "sh", qty: int = 1) -> str:
    return orders.place_order(user(username), [LineRequest("TEA-1", qty)]).number


def status_of(number: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(Order.status).where(Order.number == number))


def events_of(number: str) -> list[tuple[str, str]]:
    db.session.rollback()
    return [
        (e.status, e.by_name)
        for e in db.session.scalars(
            select(OrderEvent)
            .join(Order, Order.id == OrderEvent.order_id)
            .where(Order.number == number)
            .order_by(OrderEvent.id)
        )
    ]


def audit_of(number: str) -> list[tuple[str, str, dict, dict]]:
    db.session.rollback()
    rows = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "order", AuditEntry.object_key == number)
        .order_by(AuditEntry.id)
    )
    return [(r.action, r.username, json.loads(r.before), json.loads(r.after)) for r in rows]


# --- batch approval ------------------------------------------------------------------------


def test_a_batch_approves_every_submitted_order_each_with_its_event_and_audit_entry(shop):
    numbers = [place() for _ in range(3)]

    result = orders.approve_orders(user("desk"), numbers)

    assert result.approved == numbers and result.skipped == []
    for number in numbers:
        assert status_of(number) == "approved"
        assert events_of(number)[-1] == ("approved", "张三")
        assert audit_of(number) == [
            ("order.approve", "desk", {"status": "submitted"}, {"status": "approved", "batch": 3})
        ]


def test_orders_that_changed_meanwhile_are_skipped_and_named_the_others_approved(shop):
    waiting = [place() for _ in range(3)]
    cancelled, rejected, approved = place(), place(), place()
    orders.cancel_order(user("sh"), cancelled)
    orders.reject_order(user("hq"), rejected, "价格有误")
    orders.approve_order(user("hq"), approved)
    chosen = [waiting[0], cancelled, waiting[1], rejected, approved, "SO-NOPE", waiting[2]]

    result = orders.approve_orders(user("desk"), chosen)

    assert result.approved == waiting
    assert result.skipped == [
        orders.Skipped(cancelled, "cancelled"),
        orders.Skipped(rejected, "rejected"),
        orders.Skipped(approved, "approved"),
        orders.Skipped("SO-NOPE", None),
    ]
    assert [status_of(n) for n in (cancelled, rejected, approved)] == [
        "cancelled",
        "rejected",
        "approved",
    ]
    assert [s for s, _ in events_of(approved)] == ["submitted", "approved"]  # not twice
    assert [a for a, *_ in audit_of(cancelled)] == []  # a skipped order is not touched
    assert [a for a, *_ in audit_of(approved)] == ["order.approve"]  # only the first approval


def test_a_number_given_twice_is_approved_once(shop):
    number = place()

    result = orders.approve_orders(user("desk"), [number, f" {number} ", number])

    assert result.approved == [number] and result.skipped == []
    assert [s for s, _ in events_of(number)] == ["submitted", "approved"]


def test_a_batch_needs_at_least_one_order_and_at_most_the_limit(shop):
    with pytest.raises(Invalid):
        orders.approve_orders(user("desk"), [])
    with pytest.raises(Invalid):
        orders.approve_orders(user("desk"), ["", "  "])
    many = [f"SO{i:014d}" for i in range(orders.MAX_BATCH + 1)]
    with pytest.raises(Invalid):
        orders.approve_orders(user("desk"), many)


def test_finance_and_dealers_cannot_approve_in_batch_and_nothing_changes(shop):
    number = place()
    for who in ("money", "sh"):
        with pytest.raises(Forbidden):
            orders.approve_orders(user(who), [number])
    assert status_of(number) == "submitted"
    assert audit_of(number) == []


def test_single_approve_and_reject_are_audited_in_their_transaction(shop):
    first, second = place(), place()

    orders.approve_order(user("desk"), first)
    orders.reject_order(user("desk"), second, "  缺货  ")

    assert audit_of(first) == [
        ("order.approve", "desk", {"status": "submitted"}, {"status": "approved"})
    ]
    assert audit_of(second) == [
        ("order.reject", "desk", {"status": "submitted"}, {"status": "rejected", "reason": "缺货"})
    ]
    with pytest.raises(Conflict):
        orders.approve_order(user("desk"), second)
    assert len(audit_of(second)) == 1  # a refusal records nothing


# --- HQ places an order for a dealer (代客下单) ----------------------------------------------


def test_hq_places_an_order_at_the_dealers_prices_recorded_as_placed_by_hq(shop):
    before = wallet.balances(user("sh").dealer_id)["funds"]

    order = orders.place_order_for_dealer(
        user("desk"), "SH001", [LineRequest("TEA-1", 10)], key="k-1", note="电话订货"
    )

    assert order.dealer.code == "SH001" and order.status == "submitted"
    assert [(line.sku, line.qty, line.unit_price) for line in order.lines] == [("TEA-1", 10, 800)]
    assert order.user_id == user("desk").id
    assert events_of(order.number) == [("submitted", "张三")]
    assert wallet.balances(user("sh").dealer_id)["funds"] == before - 8000
    assert f.stock_of("TEA-1") == (1000, 10)
    (entry,) = audit_of(order.number)
    assert entry[:2] == ("order.place_for_dealer", "desk")
    assert entry[3]["dealer"] == "SH001" and entry[3]["lines"] == [["TEA-1", 10, "8.00"]]
    assert entry[3]["payable_amount"] == "80.00" and entry[3]["note"] == "电话订货"
    listed, total = orders.dealer_orders(user("sh").dealer)
    assert total == 1 and listed[0].number == order.number


def test_the_same_form_key_places_once(shop):
    lines = [LineRequest("TEA-1", 2)]
    first = orders.place_order_for_dealer(user("desk"), "SH001", lines, key="form-1")
    again = orders.place_order_for_dealer(user("desk"), "SH001", lines, key="form-1")

    assert again.number == first.number
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert f.stock_of("TEA-1") == (1000, 2)


def test_the_dealers_tier_limits_apply(shop):
    with pytest.raises(Invalid) as refused:
        orders.place_order_for_dealer(user("desk"), "BJ001", [LineRequest("GOLD-ONLY", 1)], key="k")
    assert "lines.0.sku" in refused.value.errors
    order = orders.place_order_for_dealer(
        user("desk"), "SH001", [LineRequest("GOLD-ONLY", 1)], key="k"
    )
    assert order.dealer.code == "SH001"


@pytest.mark.parametrize(
    ("lines", "use_rebate", "error", "code"),
    [
        ([LineRequest("JUICE-6", 3)], 0, Invalid, "validation_error"),  # below the MOQ
        ([LineRequest("JUICE-6", 66)], 0, Conflict, "insufficient_stock"),
        ([LineRequest("TEA-1", 1000)], 0, Conflict, "insufficient_funds"),
        ([LineRequest("TEA-1", 1)], 100, Invalid, "rebate_over_cap"),
        ([], 0, Invalid, "validation_error"),
    ],
)
def test_a_refused_order_for_a_dealer_leaves_nothing_and_frees_the_key(
    shop, lines, use_rebate, error, code
):
    before = f.footprint()
    with pytest.raises(error) as refused:
        orders.place_order_for_dealer(
            user("desk"), "SH001", lines, key="form-1", use_rebate=use_rebate
        )
    assert refused.value.code == code
    assert f.footprint() == before
    fixed = orders.place_order_for_dealer(
        user("desk"), "SH001", [LineRequest("TEA-1", 1)], key="form-1"
    )
    assert fixed.number  # the key was not spent on the refusal


def test_only_the_order_desk_places_for_active_dealers(shop):
    lines = [LineRequest("TEA-1", 1)]
    for who in ("money", "sh"):
        with pytest.raises(Forbidden):
            orders.place_order_for_dealer(user(who), "SH001", lines, key="k")
    with pytest.raises(NotFound):
        orders.place_order_for_dealer(user("desk"), "NOPE", lines, key="k")
    f.dealer("OLD01", "GOLD")
    accounts.update_dealer("OLD01", {"active": False})
    with pytest.raises(Conflict) as refused:
        orders.place_order_for_dealer(user("desk"), "OLD01", lines, key="k")
    assert refused.value.code == "dealer_inactive"
    assert db.session.scalar(select(func.count(Order.id))) == 0


# --- races (PostgreSQL) ----------------------------------------------------------------------


def in_context(app, call):
    """Run call() in an app context of its own (its own session), as a request would."""

    def run():
        with app.app_context():
            try:
                return call()
            finally:
                db.session.remove()

    return run


@pytest.mark.postgres
def test_a_batch_racing_dealer_cancels_leaves_each_order_in_exactly_one_state(app, shop):
    numbers = [place(qty=1 + i % 3) for i in range(12)]
    db.session.remove()

    def batch():
        result = orders.approve_orders(user("desk"), numbers)
        return ("batch", result)

    def cancel(number):
        try:
            orders.cancel_order(user("sh"), number)
            return ("cancelled", number)
        except Conflict as err:
            return ("refused", number, err.extra.get("status_now"))

    calls = [in_context(app, batch)] + [
        in_context(app, lambda n=n: cancel(n)) for n in numbers[::2]
    ]
    outcomes = run_together(calls)

    result = outcomes[0][1]
    cancelled = {o[1] for o in outcomes[1:] if o[0] == "cancelled"}
    refused = {o[1] for o in outcomes[1:] if o[0] == "refused"}
    assert all(o[2] == "approved" for o in outcomes[1:] if o[0] == "refused")
    assert set(result.approved) | {s.number for s in result.skipped} == set(numbers)
    assert set(result.approved).isdisjoint(s.number for s in result.skipped)
    assert {s.number for s in result.skipped} == cancelled
    assert all(s.status == "cancelled" for s in result.skipped)
    assert refused <= set(result.approved)
    for number in numbers:
        moves = [s for s, _ in events_of(number)]
        expected = "cancelled" if number in cancelled else "approved"
        assert status_of(number) == expected
        assert moves == ["submitted", expected]
    held = sum(1 + i % 3 for i, n in enumerate(numbers) if n not in cancelled)
    assert f.stock_of("TEA-1") == (1000, held)
    approved_audits = db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "order.approve")
    )
    assert approved_audits == len(result.approved)


@pytest.mark.postgres
def test_two_desks_batching_the_same_orders_approve_each_once(app, shop):
    numbers = [place() for _ in range(10)]
    db.session.remove()

    def batch(username, chosen):
        return orders.approve_orders(user(username), chosen)

    first, second = run_together(
        [
            in_context(app, lambda: batch("desk", numbers)),
            in_context(app, lambda: batch("hq", list(reversed(numbers)))),
        ]
    )

    assert set(first.approved) | set(second.approved) == set(numbers)
    assert set(first.approved).isdisjoint(second.approved)
    assert {s.number for s in first.skipped} == set(second.approved)
    assert all(s.status == "approved" for s in first.skipped + second.skipped)
    counts = Counter(s for n in numbers for s, _ in events_of(n))
    assert counts == {"submitted": 10, "approved": 10}


@pytest.mark.postgres
def test_a_double_submitted_order_for_a_dealer_is_placed_once(app, shop):
    db.session.remove()
    lines = [LineRequest("TEA-1", 3)]

    def submit():
        try:
            return orders.place_order_for_dealer(user("desk"), "SH001", lines, key="tap").number
        except Conflict as err:
            return err.code

    answers = run_together([in_context(app, submit) for _ in range(8)])

    numbers = {a for a in answers if a.startswith("SO")}
    assert len(numbers) == 1
    assert set(answers) - numbers <= {"idempotency_request_in_progress"}
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert f.stock_of("TEA-1") == (1000, 3)
