"""常购清单: the products a dealer has pinned to its usual list by hand."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class PinnedProduct(db.Model):
    """One product pinned by a dealer. Pins belong to the dealer, not to one login: the list
    is built from the dealer's orders, and the colleagues ordering for one shop share what
    it usually buys. The key makes pinning twice one pin."""

    __tablename__ = "pinned_products"

    dealer_id: Mapped[int] = mapped_column(
        ForeignKey("dealers.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Who pinned it (kept for the record; the pin stays when that login goes).
    pinned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
