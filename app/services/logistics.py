"""Shipping orders and following them: carriers, shipments and the carrier-event inbox.

An inbound event is first *recorded* under its unique key, then *applied* in the same
transaction: "already recorded" is the duplicate check. A shipment's status is the highest
rung its events have reached (`models.logistics.RANK`), so the same set of events gives the
same shipment status, order status and rebate whatever order they arrive in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from app import metrics
from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import (
    Carrier,
    CarrierEvent,
    Order,
    OrderEvent,
    Shipment,
    ShipmentLine,
    StockLevel,
    User,
    WebhookRefusal,
)
from app.models.logistics import (
    APPLIED,
    CREATED,
    DUPLICATE,
    EXCEPTION,
    RANK,
    RETURNED,
    SHIPMENT_DELIVERED,
    UNMATCHED,
)
from app.models.orders import APPROVED, DELIVERED, PARTIALLY_SHIPPED, SHIPPED
from app.models.wallet import REBATE
from app.services import audit, permissions, stock_movements, wallet
from app.services.orders import order_for_admin

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# Printable, no spaces or control characters: what a carrier prints on a label.
TRACKING_PATTERN = re.compile(r"^[^\s\x00-\x1f\x7f]{1,64}$")
STALE_AFTER = timedelta(days=3)
MAX_GRACE_HOURS = 24 * 30


@dataclass(frozen=True, slots=True)
class EventIn:
    """One carrier event as the webhook parsed it."""

    event_key: str
    tracking_no: str
    status: str
    occurred_at: datetime
    location: str = ""
    description: str = ""


# --- carriers ---------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def carrier_by_code(code: str) -> Carrier:
    """The carrier with this code; raises NotFound."""
    carrier = db.session.scalar(select(Carrier).where(Carrier.code == code))
    if carrier is None:
        raise NotFound(f"No carrier {code!r}.", subject=("carrier", code))
    return carrier


def find_carrier(code: str) -> Carrier | None:
    """The carrier with this code, or None (the webhooks must not raise before counting)."""
    return db.session.scalar(select(Carrier).where(Carrier.code == code))


def carriers() -> list[Carrier]:
    return list(db.session.scalars(select(Carrier).order_by(Carrier.code)))


def create_carrier(code: str, name: str) -> Carrier:
    """A new active carrier with a fresh secret; raises Invalid, Conflict on a taken code."""
    code, name = code.strip(), name.strip()
    errors = {}
    if not CODE_PATTERN.match(code):
        errors["code"] = ["1–32 lower-case letters, digits, '-' or '_'."]
    if not name or len(name) > 128:
        errors["name"] = ["Give a name of 1–128 characters."]
    if errors:
        raise Invalid("The carrier is invalid.", errors=errors)
    if find_carrier(code):
        raise Conflict(f"Carrier {code!r} already exists.", code="duplicate_carrier")
    carrier = Carrier(code=code, name=name, active=True, secret=new_secret())
    db.session.add(carrier)
    audit.record(None, "carrier.create", "carrier", code, {}, {"name": name, "active": True})
    db.session.commit()
    return carrier


def update_carrier(code: str, *, name: str | None = None, active: bool | None = None) -> Carrier:
    """Rename or (de)activate; an inactive carrier's webhooks are refused at once."""
    carrier = carrier_by_code(code)
    before = {"name": carrier.name, "active": carrier.active}
    if name is not None:
        if not name.strip() or len(name.strip()) > 128:
            raise Invalid(errors={"name": ["Give a name of 1–128 characters."]})
        carrier.name = name.strip()
    if active is not None:
        carrier.active = active
    old, new = audit.changes(before, {"name": carrier.name, "active": carrier.active})
    if new:
        audit.record(None, "carrier.update", "carrier", code, old, new)
    db.session.commit()
    return carrier


def rotate_secret(code: str, grace_hours: int = 24) -> Carrier:
    """A new secret; the previous one stays valid for `grace_hours` (0: not at all)."""
    if not 0 <= grace_hours <= MAX_GRACE_HOURS:
        raise Invalid(errors={"grace_hours": [f"From 0 to {MAX_GRACE_HOURS}."]})
    carrier = carrier_by_code(code)
    now = datetime.now(UTC)
    carrier.previous_secret = carrier.secret if grace_hours else None
    carrier.previous_valid_until = now + timedelta(hours=grace_hours) if grace_hours else now
    carrier.secret = new_secret()
    carrier.rotated_at = now
    # Never the secrets themselves: only that one was rotated and how long the old one lives.
    audit.record(
        None,
        "carrier.rotate_secret",
        "carrier",
        code,
        {},
        {"previous_valid_until": carrier.previous_valid_until},
    )
    db.session.commit()
    return carrier


def valid_secrets(carrier: Carrier, now: datetime | None = None) -> list[str]:
    """The secrets a delivery may be signed with now: the current one, and the previous one
    while its grace period lasts."""
    now = now or datetime.now(UTC)
    keys = [carrier.secret]
    until = carrier.previous_valid_until
    if carrier.previous_secret and until and until > now:
        keys.append(carrier.previous_secret)
    return keys


def signature_matches(secrets_: list[str], timestamp: str, raw: bytes, given: list[str]) -> bool:
    """Whether any `v1` value is HMAC-SHA256(secret, "<t>.<raw body>") of a valid secret;
    every comparison takes constant time."""
    message = timestamp.encode() + b"." + raw
    found = False
    for secret in secrets_:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        for value in given:
            found |= hmac.compare_digest(expected, value.strip().lower())
    return found


def kuaidi100_sign_matches(secrets_: list[str], param: str, sign: str) -> bool:
    """快递100: upper-case hex MD5 of `param` followed by the salt, compared in constant time."""
    found = False
    for secret in secrets_:
        expected = hashlib.md5((param + secret).encode(), usedforsecurity=False).hexdigest()
        found |= hmac.compare_digest(expected.upper(), sign.strip().upper())
    return found


def count_refusal(carrier_code: str, reason: str) -> None:
    """Count a refused delivery (its own small transaction; the body is never kept)."""
    dialect = postgresql if _on_postgres() else sqlite
    now = datetime.now(UTC)
    stmt = dialect.insert(WebhookRefusal).values(
        carrier_code=carrier_code[:64], reason=reason, count=1, last_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["carrier_code", "reason"],
        set_={"count": WebhookRefusal.count + 1, "last_at": now},
    )
    db.session.rollback()
    db.session.execute(stmt)
    db.session.commit()


UNKNOWN_CARRIERS = "(unknown)"


def refusal_key(carrier: Carrier | None) -> str:
    """Whom a refusal is counted for: the carrier, or one shared row for every code that is
    no carrier (so made-up codes in URLs cannot add rows without end)."""
    return carrier.code if carrier is not None else UNKNOWN_CARRIERS


def refusal_counts(carrier_code: str) -> dict[str, int]:
    rows = db.session.execute(
        select(WebhookRefusal.reason, WebhookRefusal.count).where(
            WebhookRefusal.carrier_code == carrier_code
        )
    )
    return dict(rows.all())


def carrier_events(carrier: Carrier, outcome: str | None = None, page: int = 1, per_page: int = 50):
    """The carrier's event log, newest delivery first; returns (events, total)."""
    conditions = [CarrierEvent.carrier_id == carrier.id]
    if outcome:
        conditions.append(CarrierEvent.outcome == outcome)
    events = db.session.scalars(
        select(CarrierEvent)
        .where(*conditions)
        .order_by(CarrierEvent.received_at.desc(), CarrierEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(CarrierEvent.id)).where(*conditions))
    return events, total


# --- recording and applying events ------------------------------------------------------


def _on_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _serialize_tracking(carrier_id: int, tracking_no: str) -> None:
    """Shipment creation and event arrival for one tracking number take turns (PostgreSQL;
    SQLite writes one transaction at a time already), so no event can slip past a shipment
    created at the same moment and stay unmatched."""
    if _on_postgres():
        digest = hashlib.blake2b(f"{carrier_id}:{tracking_no}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _insert_original(carrier: Carrier, event: EventIn, now: datetime) -> int | None:
    """Record the event under its key; None when that key is already recorded."""
    dialect = postgresql if _on_postgres() else sqlite
    stmt = (
        dialect.insert(CarrierEvent)
        .values(
            carrier_id=carrier.id,
            event_key=event.event_key,
            tracking_no=event.tracking_no,
            status=event.status,
            occurred_at=event.occurred_at,
            location=event.location,
            description=event.description,
            received_at=now,
            outcome=UNMATCHED,
        )
        .on_conflict_do_nothing(
            index_elements=["carrier_id", "event_key"],
            # A literal, as in the index: with a bound parameter PostgreSQL cannot match the
            # partial index once psycopg prepares the statement (after 5 runs on a connection).
            index_where=text(f"outcome != '{DUPLICATE}'"),
        )
        .returning(CarrierEvent.id)
    )
    return db.session.execute(stmt).scalar()


def record_events(
    carrier: Carrier, events: list[EventIn], *, log_duplicates: bool = True
) -> list[str]:
    """Record each event once and apply it, all in one transaction; returns each outcome
    (`applied`, `duplicate` or `unmatched`). A repeat changes nothing; with
    `log_duplicates` it is kept as a `duplicate` row for the carrier's log."""
    now = datetime.now(UTC)
    outcomes, repeats = [], []
    for event in events:
        event_id = _insert_original(carrier, event, now)
        if event_id is None:
            if log_duplicates:
                repeats.append(_duplicate_row(carrier, event, now))
            outcomes.append(DUPLICATE)
            continue
        # Only a new event waits for its tracking number: a repeat touches no shipment.
        _serialize_tracking(carrier.id, event.tracking_no)
        shipment = _shipment_for(carrier.id, event.tracking_no)
        if shipment is None:
            outcomes.append(UNMATCHED)
            continue
        _apply(shipment, [(event_id, event.status)], carrier, now)
        outcomes.append(APPLIED)
    if repeats:
        db.session.execute(CarrierEvent.__table__.insert(), repeats)
    db.session.commit()
    metrics.count_webhook_outcomes(outcomes)
    return outcomes


def _duplicate_row(carrier: Carrier, event: EventIn, now: datetime) -> dict:
    return {
        "carrier_id": carrier.id,
        "event_key": event.event_key,
        "tracking_no": event.tracking_no,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "location": event.location,
        "description": event.description,
        "received_at": now,
        "outcome": DUPLICATE,
    }


def _shipment_for(carrier_id: int, tracking_no: str) -> Shipment | None:
    return db.session.scalar(
        select(Shipment).where(
            Shipment.carrier_id == carrier_id, Shipment.tracking_no == tracking_no
        )
    )


def _lock_order(order_id: int, with_lines: bool = False) -> Order:
    """The order row, locked: its shipments and its status change one transaction at a time."""
    stmt = select(Order).where(Order.id == order_id).with_for_update()
    if with_lines:
        stmt = stmt.options(selectinload(Order.lines))
    return db.session.scalars(stmt.execution_options(populate_existing=True)).one()


def _apply(
    shipment: Shipment, events: list[tuple[int, str]], carrier: Carrier, now: datetime
) -> None:
    """Mark the events (id, status) applied, raise the shipment's status to the highest they
    reach, and close the order when this was its last delivery.

    The caller holds the tracking number's lock, so the shipment row read in this
    transaction is current and no other event moves it meanwhile; the order is locked only
    when a delivery may close it (two last deliveries of one order then take turns).
    """
    db.session.execute(
        update(CarrierEvent)
        .where(CarrierEvent.id.in_([event_id for event_id, _ in events]))
        .values(outcome=APPLIED, shipment_id=shipment.id)
        .execution_options(synchronize_session=False)
    )
    status = shipment.status
    for _, event_status in events:
        if event_status == EXCEPTION:
            shipment.has_exception = True
        elif RANK[event_status] > RANK[status]:
            status = event_status
    shipment.last_event_at = now
    delivered_now = status != shipment.status and status == SHIPMENT_DELIVERED
    if status != shipment.status:
        shipment.status, shipment.status_at = status, now
    db.session.flush()
    if delivered_now:
        _deliver_if_done(_lock_order(shipment.order_id), by_name=carrier.name)


def _deliver_if_done(order: Order, by_name: str) -> None:
    """A fully shipped order whose shipments are all delivered becomes `delivered`, once,
    and earns its rebate in the same transaction (a unique ledger reference per order)."""
    if order.status != SHIPPED:
        return
    open_ = db.session.scalar(
        select(func.count(Shipment.id)).where(
            Shipment.order_id == order.id, Shipment.status != SHIPMENT_DELIVERED
        )
    )
    if open_:
        return
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == SHIPPED)
        .values(status=DELIVERED, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        return
    db.session.add(OrderEvent(order_id=order.id, status=DELIVERED, by_name=by_name))
    if order.rebate_earnable:
        wallet.post(
            order.dealer_id,
            REBATE,
            wallet.REBATE_EARNED,
            order.rebate_earnable,
            f"order:{order.number}:rebate-earned",
            order_id=order.id,
            memo=order.number or "",
        )
    db.session.refresh(order, ["status"])


# --- shipping -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipLine:
    sku: str
    qty: int


def create_shipment(
    admin: User, number: str, carrier_code: str, tracking_no: str, lines: list[ShipLine] | None
) -> Shipment:
    """Ship what is left of an approved order (lines None) or the chosen lines, consuming
    their reserved stock; events that came before it for its tracking number are applied.

    Raises NotFound (order), Invalid (carrier, tracking number, lines), Conflict (the order is
    not approved or partly shipped, a line above what is left to ship, the tracking number is
    already used for this carrier).
    """
    permissions.require(admin, permissions.ORDER_DESK)
    tracking_no = tracking_no.strip()
    carrier = _active_carrier(carrier_code)
    if not TRACKING_PATTERN.match(tracking_no):
        raise Invalid(errors={"tracking_no": ["Give the tracking number (1–64 characters)."]})
    order = order_for_admin(number)
    # Locks in the order an arriving event takes them (tracking number, then order): no deadlock.
    _serialize_tracking(carrier.id, tracking_no)
    order = _lock_order(order.id, with_lines=True)
    if order.status not in (APPROVED, PARTIALLY_SHIPPED):
        db.session.rollback()
        raise Conflict(
            f"The order is {order.status}; only approved or partly shipped orders ship.",
            code="invalid_status",
            status_now=order.status,
        )
    quantities = _quantities(order, lines)
    if _shipment_for(carrier.id, tracking_no):
        db.session.rollback()
        raise Conflict(
            f"Tracking number {tracking_no!r} is already used for {carrier.code}.",
            code="duplicate_tracking_no",
        )
    shipment = Shipment(
        order_id=order.id,
        carrier_id=carrier.id,
        tracking_no=tracking_no,
        status=CREATED,
        created_by_id=admin.id,
        created_by_name=admin.name or admin.username,
    )
    for line in sorted(order.lines, key=lambda line: line.product_id):
        qty = quantities.get(line.id, 0)
        if not qty:
            continue
        _consume(line.product_id, qty, admin, order.number)
        line.shipped_qty += qty
        shipment.lines.append(ShipmentLine(order_line_id=line.id, qty=qty))
    db.session.add(shipment)
    status = (
        SHIPPED if all(line.shipped_qty == line.qty for line in order.lines) else PARTIALLY_SHIPPED
    )
    if status != order.status:
        order.status = status
        db.session.add(
            OrderEvent(
                order_id=order.id,
                status=status,
                by_user_id=admin.id,
                by_name=admin.name or admin.username,
            )
        )
    db.session.flush()
    waiting = list(
        db.session.scalars(
            select(CarrierEvent)
            .where(
                CarrierEvent.carrier_id == carrier.id,
                CarrierEvent.tracking_no == tracking_no,
                CarrierEvent.outcome == UNMATCHED,
            )
            .order_by(CarrierEvent.occurred_at, CarrierEvent.id)
        )
    )
    if waiting:
        _apply(shipment, [(e.id, e.status) for e in waiting], carrier, datetime.now(UTC))
    else:
        _deliver_if_done(order, by_name=carrier.name)
    audit.record(
        admin,
        "order.ship",
        "order",
        number,
        {},
        {
            "carrier": carrier.code,
            "tracking_no": tracking_no,
            "lines": {sku: qty for sku, qty in _audit_lines(shipment)},
        },
    )
    db.session.commit()
    return shipment


def _audit_lines(shipment: Shipment) -> list[tuple[str, int]]:
    return [(line.order_line.sku, line.qty) for line in shipment.lines]


def _active_carrier(code: str) -> Carrier:
    carrier = find_carrier(code.strip()) if code else None
    if carrier is None or not carrier.active:
        raise Invalid(errors={"carrier": ["Unknown or inactive carrier."]})
    return carrier


def _quantities(order: Order, lines: list[ShipLine] | None) -> dict[int, int]:
    """Order line id → quantity to ship; raises Invalid for unknown or repeated SKUs and
    Conflict for a quantity above what is left to ship (nothing has changed yet)."""
    by_sku = {line.sku: line for line in order.lines}
    if lines is None:
        left = {line.id: line.qty - line.shipped_qty for line in order.lines}
        return {k: v for k, v in left.items() if v > 0}
    if not lines:
        raise Invalid(errors={"lines": ["Name at least one line, or none to ship all."]})
    errors: dict[str, list[str]] = {}
    over = []
    chosen: dict[int, int] = {}
    for i, ship in enumerate(lines):
        line = by_sku.get(ship.sku)
        if line is None:
            errors[f"lines.{i}.sku"] = ["Not a line of this order."]
        elif line.id in chosen:
            errors[f"lines.{i}.sku"] = ["This SKU is already on another line."]
        elif ship.qty < 1:
            errors[f"lines.{i}.qty"] = ["Ship at least 1."]
        elif ship.qty > line.qty - line.shipped_qty:
            over.append(
                {"sku": ship.sku, "requested": ship.qty, "left": line.qty - line.shipped_qty}
            )
        else:
            chosen[line.id] = ship.qty
    if errors:
        db.session.rollback()
        raise Invalid("Some shipment lines are invalid.", errors=errors)
    if over:
        db.session.rollback()
        raise Conflict("More than is left to ship.", code="over_shipment", lines=over)
    return chosen


def _consume(product_id: int, qty: int, by: User, number: str) -> None:
    """Shipping takes the goods out of the warehouse: on-hand and reserved both drop, and the
    stock movement log names the order they left with."""
    after = db.session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product_id, StockLevel.reserved >= qty)
        .values(on_hand=StockLevel.on_hand - qty, reserved=StockLevel.reserved - qty)
        .returning(StockLevel.on_hand)
    ).scalar_one_or_none()
    if after is None:  # the reservation is gone: never ship goods the order does not hold
        db.session.rollback()
        raise Conflict("The order's reserved stock is not there to ship.", code="stock_mismatch")
    shipped = stock_movements.Movement(
        product_id, after + qty, after, stock_movements.SHIPMENT, reference=number
    )
    stock_movements.record(shipped, by)


# --- reading -----------------------------------------------------------------------------------


def shipments_of(order_id: int) -> list[Shipment]:
    """An order's shipments, oldest first, with their lines and applied events."""
    return list(
        db.session.scalars(
            select(Shipment)
            .options(selectinload(Shipment.lines), selectinload(Shipment.events))
            .where(Shipment.order_id == order_id)
            .order_by(Shipment.created_at, Shipment.id)
        )
    )


def shipment_for_admin(shipment_id: int) -> Shipment:
    """Any shipment, for HQ; raises NotFound (also for ids no database row can have)."""
    shipment = db.session.get(Shipment, shipment_id) if 0 < shipment_id < 2**31 else None
    if shipment is None:
        raise NotFound(f"No shipment {shipment_id}.", subject=("shipment", str(shipment_id)))
    return shipment


def needing_attention(now: datetime | None = None, limit: int = 200) -> list[Shipment]:
    """Returned shipments, those with an exception, and open ones with no carrier event for
    three days — oldest news first."""
    now = now or datetime.now(UTC)
    last = func.coalesce(Shipment.last_event_at, Shipment.created_at)
    quiet = and_(Shipment.status.not_in((SHIPMENT_DELIVERED, RETURNED)), last < now - STALE_AFTER)
    return list(
        db.session.scalars(
            select(Shipment)
            .options(selectinload(Shipment.order))
            .where(
                or_(
                    Shipment.status == RETURNED,
                    and_(Shipment.has_exception.is_(True), Shipment.status != SHIPMENT_DELIVERED),
                    quiet,
                )
            )
            .order_by(last, Shipment.id)
            .limit(limit)
        )
    )
