"""The wallet: an append-only ledger per dealer and account, plus a cached balance row."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

FUNDS = "funds"
REBATE = "rebate"
ACCOUNTS = (FUNDS, REBATE)


class WalletAccount(db.Model):
    """The running balance of one account; always equal to the sum of its entries."""

    __tablename__ = "wallet_accounts"
    __table_args__ = (
        CheckConstraint("account IN ('funds', 'rebate')", name="account_known"),
        CheckConstraint("account = 'funds' OR balance >= 0", name="rebate_nonneg"),
    )

    dealer_id: Mapped[int] = mapped_column(
        ForeignKey("dealers.id", ondelete="CASCADE"), primary_key=True
    )
    account: Mapped[str] = mapped_column(String(16), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # fen


class LedgerEntry(db.Model):
    """One posting. Never updated, never deleted; `reference` makes postings idempotent."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("account IN ('funds', 'rebate')", name="account_known"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        UniqueConstraint("account", "reference", name="uq_ledger_entries_account_reference"),
        Index("ix_ledger_entries_dealer_account_id", "dealer_id", "account", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    account: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed fen
    balance_after: Mapped[int] = mapped_column(BigInteger)  # fen
    reference: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order = relationship("Order")
