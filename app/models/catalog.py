"""Categories and products, with optional tier limits."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.accounts import Tier
from app.models.types import UTCDateTime, utcnow

product_tier_limits = Table(
    "product_tier_limits",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("tier_id", ForeignKey("tiers.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def name_grams(text: str) -> list[str]:
    """Every character and every pair of neighbouring characters, lower-cased.

    Chinese search terms are often two characters (牛奶, 啤酒), too short for trigram
    indexes; a GIN index over these grams serves them, and ASCII words too.
    """
    text = "".join(text.lower().split())
    return sorted(set(text) | {text[i : i + 2] for i in range(len(text) - 1)})


def query_grams(term: str) -> list[str]:
    """The grams every name containing `term` must have."""
    term = "".join(term.lower().split())
    if len(term) < 2:
        return [term] if term else []
    return sorted({term[i : i + 2] for i in range(len(term) - 1)})


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("list_price >= 0", name="list_price_nonneg"),
        CheckConstraint("min_order_qty >= 1", name="min_order_qty_positive"),
        CheckConstraint("order_multiple >= 1", name="order_multiple_positive"),
        CheckConstraint("low_stock_threshold >= 0", name="low_stock_threshold_nonneg"),
        Index("ix_products_active_category", "active", "category_id", "sku"),
        # Search on PostgreSQL: SKU prefix (LIKE 'AB%') and name substring via name grams.
        Index(
            "ix_products_sku_pattern", "sku", postgresql_ops={"sku": "varchar_pattern_ops"}
        ).ddl_if(dialect="postgresql"),
        Index("ix_products_search_grams", "search_grams", postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    spec: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    list_price: Mapped[int] = mapped_column(BigInteger)  # fen
    min_order_qty: Mapped[int] = mapped_column(Integer, default=1)
    order_multiple: Mapped[int] = mapped_column(Integer, default=1)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    search_grams: Mapped[list[str]] = mapped_column(
        ARRAY(Text).with_variant(JSON(), "sqlite"), default=list
    )
    # True when product_tier_limits lists the only tiers that may see it.
    tier_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")
    limited_to: Mapped[list[Tier]] = relationship(secondary=product_tier_limits, lazy="select")

    @property
    def category_name(self) -> str | None:
        return self.category.name if self.category else None

    @validates("name")
    def _keep_grams(self, _key: str, name: str) -> str:
        self.search_grams = name_grams(name)
        return name
