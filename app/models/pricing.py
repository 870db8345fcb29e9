"""Price tables: one per tier and one per dealer, each a list of quantity breaks."""

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class TierPrice(db.Model):
    __tablename__ = "tier_prices"
    __table_args__ = (
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("price >= 0", name="price_nonneg"),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    tier_id: Mapped[int] = mapped_column(
        ForeignKey("tiers.id", ondelete="CASCADE"), primary_key=True
    )
    min_qty: Mapped[int] = mapped_column(Integer, primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger)  # fen


class DealerPrice(db.Model):
    __tablename__ = "dealer_prices"
    __table_args__ = (
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("price >= 0", name="price_nonneg"),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    dealer_id: Mapped[int] = mapped_column(
        ForeignKey("dealers.id", ondelete="CASCADE"), primary_key=True
    )
    min_qty: Mapped[int] = mapped_column(Integer, primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger)  # fen
