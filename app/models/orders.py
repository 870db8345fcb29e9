"""Orders, their lines and their status timeline."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Dealer, User
from app.models.catalog import Product
from app.models.types import UTCDateTime, utcnow

SUBMITTED = "submitted"
APPROVED = "approved"
PARTIALLY_SHIPPED = "partially_shipped"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"
REJECTED = "rejected"
STATUSES = (SUBMITTED, APPROVED, PARTIALLY_SHIPPED, SHIPPED, DELIVERED, CANCELLED, REJECTED)
OPEN_STATUSES = (SUBMITTED, APPROVED, PARTIALLY_SHIPPED, SHIPPED)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("goods_amount >= 0", name="goods_amount_nonneg"),
        CheckConstraint("rebate_amount >= 0", name="rebate_amount_nonneg"),
        CheckConstraint("rebate_amount <= goods_amount", name="rebate_within_goods"),
        CheckConstraint("payable_amount = goods_amount - rebate_amount", name="payable_is_net"),
        CheckConstraint("rebate_earnable >= 0", name="rebate_earnable_nonneg"),
        CheckConstraint(
            "status IN ('submitted', 'approved', 'partially_shipped', 'shipped', 'delivered', "
            "'cancelled', 'rejected')",
            name="status_known",
        ),
        Index("ix_orders_dealer_created", "dealer_id", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        # The dashboard: a day's orders read from the index alone (app/services/dashboard.py).
        Index("ix_orders_created_cover", "created_at", "status", "dealer_id", "goods_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=SUBMITTED)
    goods_amount: Mapped[int] = mapped_column(BigInteger)  # fen
    rebate_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    payable_amount: Mapped[int] = mapped_column(BigInteger)  # fen
    # The tier's rebate rate when the order was placed ("0.03"), and what it will earn.
    rebate_rate: Mapped[str] = mapped_column(String(16), default="0")
    rebate_earnable: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    dealer: Mapped[Dealer] = relationship()
    user: Mapped[User] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.position", cascade="all, delete-orphan"
    )
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
        CheckConstraint("amount = unit_price * qty", name="amount_is_price_times_qty"),
        CheckConstraint("shipped_qty >= 0 AND shipped_qty <= qty", name="shipped_within_qty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # Copied at placement: an order line keeps what it was placed at.
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)  # fen
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    shipped_qty: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class OrderEvent(db.Model):
    """One status change: who moved the order, when, and why."""

    __tablename__ = "order_events"
    __table_args__ = (
        # The dashboard: approvals and shipments by time, and an order's submission.
        Index("ix_order_events_status_at", "status", "at"),
        Index("ix_order_events_order_status_at", "order_id", "status", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_name: Mapped[str] = mapped_column(String(128), default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[Order] = relationship(back_populates="events")


class CartItem(db.Model):
    """A dealer user's cart line, kept server-side so it follows them to another phone."""

    __tablename__ = "cart_items"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    qty: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")


class IdempotencyKey(db.Model):
    """A client's Idempotency-Key for one user: the request fingerprint and the answer given."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    # Set in the same transaction as the order, so a replay can always find it.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
