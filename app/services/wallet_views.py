"""Read-only views of the wallet ledger for the dealer's pages (one query per page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import Dealer, LedgerEntry, Order
from app.models.wallet import ACCOUNTS

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    id: int
    account: str
    type: str
    amount: int
    balance_after: int
    reference: str
    memo: str
    created_at: datetime
    order_number: str | None


@dataclass(frozen=True, slots=True)
class LedgerPage:
    rows: list[LedgerRow]
    has_more: bool


def this_month(now: datetime | None = None) -> date:
    """The first day of the current Shanghai month."""
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    return today.replace(day=1)


def shift_month(month: date, by: int) -> date:
    """The first day of the month `by` months after `month` (negative: before)."""
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a Shanghai calendar month, as UTC instants."""
    start = datetime(month.year, month.month, 1, tzinfo=SHANGHAI)
    following = shift_month(month, 1)
    end = datetime(following.year, following.month, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def _conditions(dealer: Dealer, account: str | None) -> list:
    conditions = [LedgerEntry.dealer_id == dealer.id]
    if account in ACCOUNTS:
        conditions.append(LedgerEntry.account == account)
    return conditions


def ledger_page(
    dealer: Dealer, account: str | None, month: date, page: int = 1, per_page: int = 30
) -> LedgerPage:
    """One page of the dealer's own entries in a Shanghai month, newest first, each with
    the number of the order it belongs to (joined, not loaded per row)."""
    start, end = month_bounds(month)
    rows = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.account,
            LedgerEntry.type,
            LedgerEntry.amount,
            LedgerEntry.balance_after,
            LedgerEntry.reference,
            LedgerEntry.memo,
            LedgerEntry.created_at,
            Order.number.label("order_number"),
        )
        .outerjoin(Order, (Order.id == LedgerEntry.order_id) & (Order.dealer_id == dealer.id))
        .where(*_conditions(dealer, account))
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    items = [LedgerRow(**row._mapping) for row in rows[:per_page]]
    return LedgerPage(items, has_more=len(rows) > per_page)


def latest_month_before(dealer: Dealer, account: str | None, month: date) -> date | None:
    """The Shanghai month of the dealer's latest entry before `month`, if any."""
    start, _ = month_bounds(month)
    latest = db.session.scalar(
        select(func.max(LedgerEntry.created_at)).where(
            *_conditions(dealer, account), LedgerEntry.created_at < start
        )
    )
    if latest is None:
        return None
    if latest.tzinfo is None:  # an aggregate skips the column type on SQLite
        latest = datetime.fromisoformat(str(latest)).replace(tzinfo=UTC)
    return this_month(latest)
