"""What HQ keeps beside the catalog: a product's image and the log of its stock changes."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# Why an on-hand figure changed.
MANUAL, IMPORT, SHIPMENT = "manual", "import", "shipment"
MOVEMENT_KINDS = (MANUAL, IMPORT, SHIPMENT)


class ProductImage(db.Model):
    """One image per product, kept in the database so that every app host serves it (they
    share no disk). Stored as resized JPEGs only: the phone-sized image and the thumbnail;
    the upload itself is not kept. `digest` names the pair in its URL, so a new image gets a
    new URL and an old one can be cached for ever."""

    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_digest", "digest"),)

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(32))
    # Deferred: listing products never pulls the pictures themselves.
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumb: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    source_format: Mapped[str] = mapped_column(String(8))  # JPEG, PNG or WEBP, as uploaded
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class StockMovement(db.Model):
    """Append-only: each change of a product's on-hand count, who made it and why."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in MOVEMENT_KINDS) + ")",
            name="kind_known",
        ),
        CheckConstraint("before_on_hand >= 0 AND after_on_hand >= 0", name="on_hand_nonneg"),
        Index("ix_stock_movements_product_id_id", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    before_on_hand: Mapped[int] = mapped_column(Integer)
    after_on_hand: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")  # an order number, a file …
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64), default="")  # kept if the user goes
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def change(self) -> int:
        return self.after_on_hand - self.before_on_hand
