"""Period rebate settlements (返点结算): one row per posted period, one line per dealer paid."""

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Dealer
from app.models.types import UTCDateTime, utcnow


class RebateSettlement(db.Model):
    """A posted period. `period` is the key; `fingerprint` says which body posted it, so the
    same body again is a replay and another body a conflict."""

    __tablename__ = "rebate_settlements"
    __table_args__ = (CheckConstraint("from_day <= to_day", name="days_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(32), unique=True)
    from_day: Mapped[date] = mapped_column(Date)
    to_day: Mapped[date] = mapped_column(Date)
    brackets: Mapped[str] = mapped_column(Text)  # JSON [[min_amount_fen, "rate"], …], ascending
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list["RebateSettlementLine"]] = relationship(
        back_populates="settlement",
        order_by="RebateSettlementLine.id",
        cascade="all, delete-orphan",
    )


class RebateSettlementLine(db.Model):
    """What one dealer earned in a period: basis, the bracket's rate, the amount credited."""

    __tablename__ = "rebate_settlement_lines"
    __table_args__ = (
        CheckConstraint("basis >= 0", name="basis_nonneg"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(
        ForeignKey("rebate_settlements.id", ondelete="CASCADE"), index=True
    )
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    basis: Mapped[int] = mapped_column(BigInteger)  # fen
    rate: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    settlement: Mapped[RebateSettlement] = relationship(back_populates="lines")
    dealer: Mapped[Dealer] = relationship()
