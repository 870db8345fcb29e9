"""Deposit notices: a dealer tells HQ about a bank transfer; HQ confirms or rejects it."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Dealer
from app.models.types import UTCDateTime, utcnow

PENDING, CONFIRMED, REJECTED = "pending", "confirmed", "rejected"
NOTICE_STATUSES = (PENDING, CONFIRMED, REJECTED)
RECEIPT_TYPES = ("image/jpeg", "image/png", "application/pdf")

# A reference counts once per dealer while pending or confirmed; a rejected one may be reused.
# The literal text is used by ON CONFLICT too (a bound parameter breaks index matching).
LIVE_REFERENCE = "status != 'rejected'"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DepositNotice(db.Model):
    __tablename__ = "deposit_notices"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("status", NOTICE_STATUSES), name="status_known"),
        Index(
            "uq_deposit_notices_live_reference",
            "dealer_id",
            "reference",
            unique=True,
            sqlite_where=text(LIVE_REFERENCE),
            postgresql_where=text(LIVE_REFERENCE),
        ),
        Index("ix_deposit_notices_status_created", "status", "created_at"),
        Index("ix_deposit_notices_dealer_created", "dealer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    receipt_path: Mapped[str | None] = mapped_column(String(128))  # a random name, never the user's
    receipt_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    dealer: Mapped[Dealer] = relationship()

    @property
    def has_receipt(self) -> bool:
        return self.receipt_path is not None
