"""Announcements (政策与信息下发): HQ messages to all dealers or chosen tiers, and who read them."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Tier
from app.models.types import UTCDateTime, utcnow

# The tiers an announcement is addressed to; none at all means every dealer.
announcement_tiers = Table(
    "announcement_tiers",
    db.metadata,
    Column(
        "announcement_id",
        ForeignKey("announcements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tier_id", ForeignKey("tiers.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Announcement(db.Model):
    __tablename__ = "announcements"
    # Dealers' lists and HQ's list both read newest publication first.
    __table_args__ = (Index("ix_announcements_publish_at_id", "publish_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Visible to its dealers from this moment on (compared with the clock in each query).
    publish_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    tiers: Mapped[list[Tier]] = relationship(
        secondary=announcement_tiers, lazy="selectin", order_by=Tier.code
    )


class AnnouncementRead(db.Model):
    """One user has opened one announcement (once: the key makes marking it idempotent)."""

    __tablename__ = "announcement_reads"

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
