"""Statements (对账单): an account's entries over Shanghai calendar days, between two balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.errors import Invalid
from app.extensions import db
from app.models import Dealer, LedgerEntry
from app.models.wallet import ACCOUNTS, FUNDS

__all__ = ["ACCOUNTS", "FUNDS", "MAX_DAYS", "Statement", "statement", "this_month"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366
RANGE_REVERSED = "statement_range_reversed"
RANGE_TOO_LONG = "statement_range_too_long"
UNKNOWN_ACCOUNT = "statement_account_unknown"


@dataclass(frozen=True, slots=True)
class Statement:
    """One account over [from_day, to_day]; opening + Σ entry amounts == closing."""

    dealer_code: str
    account: str
    from_day: date
    to_day: date
    opening_balance: int  # fen
    entries: list[LedgerEntry]  # oldest first
    closing_balance: int  # fen


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def day_start(day: date) -> datetime:
    """The first instant (UTC) of a Shanghai calendar day (0001-01-01: the earliest one)."""
    try:
        return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)
    except OverflowError:  # before year 1 in UTC
        return EARLIEST


def day_end(day: date) -> datetime:
    """The first instant (UTC) after a Shanghai calendar day (9999-12-31: the last one)."""
    if day == date.max:
        return LATEST
    return day_start(day + timedelta(days=1))


def this_month(now: datetime | None = None) -> tuple[date, date]:
    """The first and last day of the current Shanghai month."""
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI).date()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - timedelta(days=1)


def check_range(account: str, from_day: date, to_day: date) -> None:
    """Raises Invalid for an unknown account, from after to, or more than MAX_DAYS days."""
    if account not in ACCOUNTS:
        raise Invalid(
            "The account must be funds or rebate.",
            code=UNKNOWN_ACCOUNT,
            errors={"account": ["Must be funds or rebate."]},
        )
    if from_day > to_day:
        raise Invalid(
            "The start date is after the end date.",
            code=RANGE_REVERSED,
            errors={"to": ["Must be on or after from."]},
        )
    if (to_day - from_day).days + 1 > MAX_DAYS:
        raise Invalid(
            f"A statement covers at most {MAX_DAYS} days.",
            code=RANGE_TOO_LONG,
            errors={"to": [f"Must be at most {MAX_DAYS} days after from, both inclusive."]},
        )


def statement(dealer: Dealer, account: str, from_day: date, to_day: date) -> Statement:
    """The dealer's account from the first instant of from_day to the last of to_day
    (Shanghai days, both inclusive): the balance before, every entry oldest first, the
    balance after. Two queries: one SUM for the opening, one for the entries.

    Raises Invalid (unknown account, from after to, more than MAX_DAYS days).
    """
    check_range(account, from_day, to_day)
    start, end = day_start(from_day), day_end(to_day)
    mine = (LedgerEntry.dealer_id == dealer.id, LedgerEntry.account == account)
    opening = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            *mine, LedgerEntry.created_at < start
        )
    )
    rows = db.session.scalars(
        select(LedgerEntry)
        .options(joinedload(LedgerEntry.order))
        .where(*mine, LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    opening = int(opening)
    closing = opening + sum(entry.amount for entry in rows)
    return Statement(dealer.code, account, from_day, to_day, opening, list(rows), closing)
