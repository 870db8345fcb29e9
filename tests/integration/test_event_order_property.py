"""Property: for any order of arrival of the same carrier events — shuffled, repeated, some
before their shipment exists — the final shipment statuses, order status and rebate are those
of the canonical arrival (shipments first, then each event once in `occurred_at` order)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models import LedgerEntry, OrderEvent
from app.models.logistics import EVENT_STATUSES, RANK
from app.models.wallet import REBATE
from app.services import logistics, orders, rebates, wallet
from app.services.logistics import EventIn, ShipLine
from app.services.orders import LineRequest
from tests import factories as f
from tests.conftest import _truncate_all

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
# Shipment 0 carries the tea, shipment 1 the juice: together they ship the whole order.
LINES = ([ShipLine("TEA-1", 10)], [ShipLine("JUICE-6", 12)])


@dataclass(frozen=True)
class Scenario:
    events: list[tuple[int, str, int]]  # (shipment 0|1, status, minutes after T0)
    arrivals: list[int]  # indexes into events: a permutation, with repeats mixed in
    created_before: tuple[int, int]  # each shipment is created before this arrival step
    joined: list[bool]  # whether an arrival rides in the same delivery as the one before


@st.composite
def scenarios(draw) -> Scenario:
    events = draw(
        st.lists(
            st.tuples(
                st.integers(0, 1), st.sampled_from(EVENT_STATUSES), st.integers(0, 7 * 24 * 60)
            ),
            max_size=8,
        )
    )
    for shipment in (0, 1):  # deliveries often enough that the order closes in many examples
        if draw(st.booleans()):
            events.append((shipment, "delivered", draw(st.integers(0, 7 * 24 * 60))))
    arrivals = list(draw(st.permutations(range(len(events)))))
    if events:
        for repeat in draw(st.lists(st.integers(0, len(events) - 1), max_size=len(events))):
            arrivals.insert(draw(st.integers(0, len(arrivals))), repeat)
    steps = st.integers(0, len(arrivals))
    created_before = (draw(steps), draw(steps))
    joined = draw(st.lists(st.booleans(), min_size=len(arrivals), max_size=len(arrivals)))
    return Scenario(events, arrivals, created_before, joined)


def set_up() -> dict:
    """Two dealers with one approved order each (the canonical run and the shuffled one)."""
    f.tier("GOLD", "金牌")
    f.product("TEA-1", list_price=1000, on_hand=100)
    f.product("JUICE-6", list_price=500, on_hand=100)
    rebates.set_policy({"GOLD": "0.03"}, "0.10")
    logistics.create_carrier("sf", "顺丰速运")
    admin = f.admin("boss")
    runs = {}
    for run in ("canonical", "shuffled"):
        f.dealer(run.upper(), "GOLD", credit_limit=10_000_000)
        buyer = f.dealer_user(run.upper(), f"buyer-{run}")
        order = orders.place_order(buyer, [LineRequest("TEA-1", 10), LineRequest("JUICE-6", 12)])
        orders.approve_order(admin, order.number)
        runs[run] = (order.number, buyer.dealer_id)
    return {"admin": admin, "runs": runs}


def tracking(run: str, shipment: int) -> str:
    return f"{run[0].upper()}-{shipment}"


def as_event(run: str, index: int, event: tuple[int, str, int]) -> EventIn:
    shipment, status, minutes = event
    at = T0 + timedelta(minutes=minutes)
    return EventIn(f"{run}-{index}", tracking(run, shipment), status, at, "上海", status)


def create(world: dict, run: str, shipment: int) -> None:
    number = world["runs"][run][0]
    logistics.create_shipment(
        world["admin"], number, "sf", tracking(run, shipment), LINES[shipment]
    )


def canonical_run(world: dict, scenario: Scenario) -> None:
    create(world, "canonical", 0)
    create(world, "canonical", 1)
    carrier = logistics.carrier_by_code("sf")
    ordered = sorted(enumerate(scenario.events), key=lambda item: (item[1][2], item[0]))
    for index, event in ordered:
        logistics.record_events(carrier, [as_event("canonical", index, event)])


def shuffled_run(world: dict, scenario: Scenario) -> None:
    """Arrivals in the drawn order, in deliveries of one or more events; each shipment is
    created at its drawn step, so events before it wait as unmatched."""
    carrier = logistics.carrier_by_code("sf")
    batch: list[EventIn] = []

    def flush():
        if batch:
            logistics.record_events(carrier, list(batch))
            batch.clear()

    for step, index in enumerate(scenario.arrivals):
        creating = [s for s in (0, 1) if scenario.created_before[s] == step]
        if creating or not scenario.joined[step]:
            flush()
        for shipment in creating:
            create(world, "shuffled", shipment)
        batch.append(as_event("shuffled", index, scenario.events[index]))
    flush()
    for shipment in (0, 1):
        if scenario.created_before[shipment] == len(scenario.arrivals):
            create(world, "shuffled", shipment)


def outcome(world: dict, run: str) -> dict:
    """What the run left: shipments (status, exception, timeline), order status, rebate."""
    db.session.rollback()
    number, dealer_id = world["runs"][run]
    order = orders.order_for_admin(number)
    shipments = {}
    for shipment in logistics.shipments_of(order.id):
        timeline = Counter((e.status, e.occurred_at) for e in shipment.events)
        shipments[int(shipment.tracking_no[-1])] = (
            shipment.status,
            shipment.has_exception,
            timeline,
        )
    delivered_events = db.session.scalar(
        select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id == order.id, OrderEvent.status == "delivered"
        )
    )
    earned = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.dealer_id == dealer_id, LedgerEntry.type == "rebate_earned"
        )
    )
    return {
        "shipments": shipments,
        "order": order.status,
        "delivered_events": delivered_events,
        "rebate": wallet.balances(dealer_id)[REBATE],
        "rebate_entries": earned,
        "earnable": order.rebate_earnable,
    }


def expected_statuses(scenario: Scenario) -> dict[int, tuple[str, bool]]:
    """The oracle: the highest rung each shipment's events reach, and whether any was an
    exception."""
    result = {}
    for shipment in (0, 1):
        statuses = [s for i, s, _ in scenario.events if i == shipment]
        ranked = [s for s in statuses if s != "exception"]
        top = max(ranked, key=RANK.__getitem__, default="created")
        result[shipment] = (top, "exception" in statuses)
    return result


def clean_slate() -> None:
    db.session.rollback()
    db.session.remove()
    _truncate_all()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenarios())
def test_any_arrival_order_ends_like_the_canonical_one(scenario):
    clean_slate()
    try:
        world = set_up()
        canonical_run(world, scenario)
        shuffled_run(world, scenario)

        canonical, shuffled = outcome(world, "canonical"), outcome(world, "shuffled")
        assert shuffled == canonical
        oracle = expected_statuses(scenario)
        assert {k: v[:2] for k, v in shuffled["shipments"].items()} == oracle
        both_delivered = all(status == "delivered" for status, _ in oracle.values())
        assert shuffled["order"] == ("delivered" if both_delivered else "shipped")
        assert shuffled["delivered_events"] == shuffled["rebate_entries"] == int(both_delivered)
        assert shuffled["rebate"] == (shuffled["earnable"] if both_delivered else 0)
        timeline = sum((v[2] for v in shuffled["shipments"].values()), Counter())
        assert sum(timeline.values()) == len(scenario.events)  # every event applied, once
    finally:
        clean_slate()
