"""Funds and rebate accounts: append-only ledger postings guarded by the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, Invalid
from app.extensions import db
from app.models import Dealer, LedgerEntry, Order, User, WalletAccount
from app.models.orders import OPEN_STATUSES
from app.models.wallet import ACCOUNTS, FUNDS, REBATE
from app.services import audit, permissions, written
from app.services.accounts import dealer_by_code

DEPOSIT = "deposit"
ADJUSTMENT = "adjustment"
ORDER_DEBIT = "order_debit"
ORDER_REFUND = "order_refund"
REBATE_USE = "rebate_use"
REBATE_REFUND = "rebate_refund"
REBATE_EARNED = "rebate_earned"
SETTLEMENT = "settlement"


class InsufficientBalance(Exception):
    """A posting would take the account below its floor (raised before anything is written)."""


def ensure_accounts(dealer_id: int) -> None:
    """Create the dealer's funds and rebate rows if missing; safe when run concurrently."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(WalletAccount)
        .values([{"dealer_id": dealer_id, "account": a, "balance": 0} for a in ACCOUNTS])
        .on_conflict_do_nothing()
    )


def post(
    dealer_id: int,
    account: str,
    entry_type: str,
    amount: int,
    reference: str,
    *,
    floor: int | None = None,
    order_id: int | None = None,
    memo: str = "",
    by: User | None = None,
) -> LedgerEntry:
    """Append one entry and move the balance with it, atomically (flushes only).

    The balance row is changed by one guarded UPDATE, so concurrent postings queue on the
    row and no debit can take the balance below `floor` (credits always land, even on an
    account already below a floor that was lowered since). Raises InsufficientBalance.
    """
    guard = [WalletAccount.dealer_id == dealer_id, WalletAccount.account == account]
    if floor is not None and amount < 0:
        guard.append(WalletAccount.balance + amount >= floor)
    move = (
        update(WalletAccount)
        .where(*guard)
        .values(balance=WalletAccount.balance + amount)
        .returning(WalletAccount.balance)
    )
    balance = db.session.execute(move).scalar()
    if balance is None and _missing(dealer_id, account):
        # Dealers get both rows when created; this covers rows made any other way.
        ensure_accounts(dealer_id)
        balance = db.session.execute(move).scalar()
    if balance is None:
        raise InsufficientBalance(account)
    row = dict(
        dealer_id=dealer_id,
        account=account,
        type=entry_type,
        amount=amount,
        balance_after=balance,
        reference=reference,
        order_id=order_id,
        memo=memo,
        created_by=by.id if by else None,
        created_at=datetime.now(UTC),
    )
    # A plain INSERT (services.written): the balance row stays locked until COMMIT.
    [entry_id] = written.insert_rows(LedgerEntry.__table__, [row])
    entry = LedgerEntry(id=entry_id, **row)
    written.adopt(entry)
    return entry


def _missing(dealer_id: int, account: str) -> bool:
    return not db.session.scalar(
        select(func.count()).where(
            WalletAccount.dealer_id == dealer_id, WalletAccount.account == account
        )
    )


def _existing_deposit(reference: str) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.account == FUNDS, LedgerEntry.reference == f"deposit:{reference}"
        )
    )


def record_deposit(
    dealer_code: str, amount: int, reference: str, by: User
) -> tuple[LedgerEntry, bool]:
    """Credit a bank transfer (回款) once per reference; returns (entry, created).

    Raises Invalid for a non-positive amount, Conflict when the reference was used for
    another amount or dealer, NotFound for an unknown dealer.
    """
    permissions.require(by, permissions.WALLET)
    if amount <= 0:
        raise Invalid(errors={"amount": ["A deposit must be more than zero."]})
    dealer = dealer_by_code(dealer_code)
    entry = _existing_deposit(reference)
    if entry is None:
        ensure_accounts(dealer.id)
        try:
            entry = post(
                dealer.id, FUNDS, DEPOSIT, amount, f"deposit:{reference}", by=by, memo=reference
            )
            audit.record(
                by,
                "wallet.deposit",
                "dealer",
                dealer.code,
                {},
                {"amount": amount, "reference": reference, "entry": entry.id},
            )
            db.session.commit()
            return entry, True
        except IntegrityError:  # the same reference recorded concurrently
            db.session.rollback()
            entry = _existing_deposit(reference)
    if entry.dealer_id != dealer.id or entry.amount != amount:
        raise Conflict(
            f"Reference {reference!r} was already recorded for another amount or dealer.",
            code="deposit_reference_conflict",
        )
    return entry, False


def adjust(dealer_code: str, account: str, amount: int, memo: str, by: User) -> LedgerEntry:
    """A signed correction with a memo. Rebate may not go below zero; funds may go
    anywhere: HQ's correction is authoritative (CONTRACT §3 refuses only the rebate case),
    and the credit limit still holds every order placed afterwards.

    Raises Invalid (zero amount, unknown account), Conflict (rebate below zero), NotFound.
    """
    permissions.require(by, permissions.WALLET)
    if account not in ACCOUNTS:
        raise Invalid(errors={"account": ["Must be funds or rebate."]})
    if amount == 0:
        raise Invalid(errors={"amount": ["An adjustment must not be zero."]})
    dealer = dealer_by_code(dealer_code)
    ensure_accounts(dealer.id)
    try:
        entry = post(
            dealer.id,
            account,
            ADJUSTMENT,
            amount,
            f"adjustment:{uuid.uuid4().hex}",
            floor=0 if account == REBATE else None,
            memo=memo,
            by=by,
        )
    except InsufficientBalance as err:
        raise Conflict(
            "The rebate balance would go below zero.", code="insufficient_rebate"
        ) from err
    audit.record(
        by,
        "wallet.adjust",
        "dealer",
        dealer.code,
        {},
        {"account": account, "amount": amount, "memo": memo, "entry": entry.id},
    )
    db.session.commit()
    return entry


@dataclass(frozen=True, slots=True)
class WalletSummary:
    funds_balance: int
    credit_limit: int
    rebate_balance: int
    rebate_pending: int

    @property
    def available(self) -> int:
        return self.funds_balance + self.credit_limit


def balances(dealer_id: int) -> dict[str, int]:
    """Current balance of each account (0 when never posted)."""
    rows = db.session.execute(
        select(WalletAccount.account, WalletAccount.balance).where(
            WalletAccount.dealer_id == dealer_id
        )
    ).all()
    found = dict(rows)
    return {account: found.get(account, 0) for account in ACCOUNTS}


def summary(dealer: Dealer) -> WalletSummary:
    """Funds, credit, available, rebate balance and rebate still to be earned."""
    current = balances(dealer.id)
    pending = db.session.scalar(
        select(func.coalesce(func.sum(Order.rebate_earnable), 0)).where(
            Order.dealer_id == dealer.id, Order.status.in_(OPEN_STATUSES)
        )
    )
    return WalletSummary(current[FUNDS], dealer.credit_limit, current[REBATE], int(pending))


def entries(dealer: Dealer, account: str | None, page: int = 1, per_page: int = 50):
    """The dealer's ledger, newest first, with the total count."""
    conditions = [LedgerEntry.dealer_id == dealer.id]
    if account:
        conditions.append(LedgerEntry.account == account)
    rows = db.session.scalars(
        select(LedgerEntry)
        .where(*conditions)
        .order_by(LedgerEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(LedgerEntry.id)).where(*conditions))
    return rows, total


def ledger_sum(dealer_id: int, account: str) -> int:
    """The sum of every entry of an account (what the balance must equal)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.dealer_id == dealer_id, LedgerEntry.account == account
            )
        )
    )
