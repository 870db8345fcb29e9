"""Carriers, shipments of orders, and the inbox of carrier events (CONTRACT §3, §5)."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.orders import Order, OrderLine
from app.models.types import UTCDateTime, utcnow

# A shipment's status only moves up this ladder; `returned` stands above every step but
# `delivered`, so the final status is the same whatever order the carrier's events arrive in.
CREATED = "created"
PICKED_UP = "picked_up"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
RETURNED = "returned"
SHIPMENT_DELIVERED = "delivered"
EXCEPTION = "exception"  # an event, never a shipment status
SHIPMENT_STATUSES = (CREATED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, RETURNED, SHIPMENT_DELIVERED)
EVENT_STATUSES = (PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, SHIPMENT_DELIVERED, EXCEPTION, RETURNED)
RANK = {status: rank for rank, status in enumerate(SHIPMENT_STATUSES)}

APPLIED, DUPLICATE, UNMATCHED = "applied", "duplicate", "unmatched"
OUTCOMES = (APPLIED, DUPLICATE, UNMATCHED)
REFUSAL_REASONS = ("bad_signature", "stale_timestamp", "unknown_carrier", "bad_body")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Carrier(db.Model):
    """A carrier or 3PL that pushes signed events; its secret signs them (HMAC or 快递100 salt)."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The verifier needs the secret itself (an HMAC cannot be checked against a hash).
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Shipment(db.Model):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier_id", "tracking_no", name="uq_shipments_carrier_tracking"),
        CheckConstraint(_one_of("status", SHIPMENT_STATUSES), name="status_known"),
        Index("ix_shipments_status_last_event", "status", "last_event_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"))
    tracking_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=CREATED)
    has_exception: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(128), default="")
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest carrier event by arrival: "no carrier event for 3 days" reads it.
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship()
    carrier: Mapped[Carrier] = relationship(lazy="joined")
    lines: Mapped[list["ShipmentLine"]] = relationship(
        back_populates="shipment", order_by="ShipmentLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["CarrierEvent"]] = relationship(
        primaryjoin=(
            "and_(CarrierEvent.shipment_id == Shipment.id, CarrierEvent.outcome == 'applied')"
        ),
        order_by="(CarrierEvent.occurred_at, CarrierEvent.id)",
        viewonly=True,
    )


class ShipmentLine(db.Model):
    __tablename__ = "shipment_lines"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    qty: Mapped[int] = mapped_column(Integer)

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship(lazy="joined")


class CarrierEvent(db.Model):
    """The inbox: every event a carrier delivered, recorded under its unique key first.

    `event_key` is the §5 `event_id`, or for a 快递100 point a digest of (tracking number,
    ftime, context). The original delivery holds the key (a partial unique index); a repeat
    is kept as a `duplicate` row for the log and changes nothing.
    """

    __tablename__ = "carrier_events"
    __table_args__ = (
        Index(
            "uq_carrier_events_original",
            "carrier_id",
            "event_key",
            unique=True,
            sqlite_where=text("outcome != 'duplicate'"),
            postgresql_where=text("outcome != 'duplicate'"),
        ),
        Index("ix_carrier_events_carrier_received", "carrier_id", "received_at"),
        Index("ix_carrier_events_unmatched", "carrier_id", "tracking_no", "outcome"),
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome_known"),
        CheckConstraint(_one_of("status", EVENT_STATUSES), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(128))
    tracking_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="SET NULL"), index=True
    )

    carrier: Mapped[Carrier] = relationship()


class WebhookRefusal(db.Model):
    """How many deliveries were refused, per carrier code and reason; bodies are never kept."""

    __tablename__ = "webhook_refusals"
    __table_args__ = (CheckConstraint(_one_of("reason", REFUSAL_REASONS), name="reason_known"),)

    carrier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
