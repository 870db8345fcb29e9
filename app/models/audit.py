"""The audit log: every HQ write, who did it, when, to what, and what changed."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """Append-only. `before`/`after` are JSON objects of the fields that changed (or the
    object as created); `object_type` + `object_key` name what was touched (product SKU,
    dealer code, order number, …) so the log can be searched by object."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_key", "id"),
        Index("ix_audit_entries_user_id_id", "user_id", "id"),
        Index("ix_audit_entries_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64), default="")  # kept if the user goes
    action: Mapped[str] = mapped_column(String(64))  # "product.update", "order.approve", …
    object_type: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(128))
    before: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    after: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    via: Mapped[str] = mapped_column(String(16), default="")  # "api", "page", "cli", …
