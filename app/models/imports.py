"""Spreadsheet uploads waiting between their preview and "Apply all" (CONTRACT §3b pages).

The app runs as several processes on several hosts, so the uploaded file is kept here, in the
shared database, never in a process's memory or on one host's disk. Rows are short-lived:
applied or not, they are swept a day after upload.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

IMPORT_KINDS = ("products", "prices", "stock")


class ImportUpload(db.Model):
    __tablename__ = "import_uploads"
    __table_args__ = (
        CheckConstraint("kind IN ('products', 'prices', 'stock')", name="kind_known"),
        Index("ix_import_uploads_created_at", "created_at"),
        Index("ix_import_uploads_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    preview: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the last check's outcome
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
