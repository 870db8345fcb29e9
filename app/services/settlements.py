"""Period rebate settlements (返点结算, CONTRACT §4): brackets over what each dealer had
delivered in a period, credited to the rebate account once per period and dealer."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.errors import Conflict, Invalid
from app.extensions import db
from app.models import Dealer, Order, OrderEvent, RebateSettlement, RebateSettlementLine, User
from app.models.orders import DELIVERED
from app.models.wallet import REBATE
from app.money import MoneyError, apply_rate, parse_fen, parse_rate
from app.services import audit, permissions, wallet
from app.services.statements import MAX_DAYS, day_end, day_start

PERIOD = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.\-]{0,31}")
MAX_BRACKETS = 20
CONFLICT = "settlement_conflict"


@dataclass(frozen=True, slots=True)
class SettlementItem:
    dealer_id: int
    dealer_code: str
    dealer_name: str
    basis: int  # fen
    rate: Decimal
    amount: int  # fen


@dataclass(frozen=True, slots=True)
class SettlementResult:
    period: str
    from_day: date
    to_day: date
    posted: bool  # the period is posted (by this call or an earlier one)
    created: bool  # this call posted it
    items: list[SettlementItem]

    @property
    def total(self) -> int:
        return sum(item.amount for item in self.items)


def _clean_brackets(brackets) -> list[tuple[int, Decimal]]:
    """[(min_amount fen, rate)] ascending; raises Invalid with messages per bracket."""
    errors: dict[str, list[str]] = {}
    if not brackets:
        raise Invalid(errors={"brackets": ["Give at least one bracket."]})
    if len(brackets) > MAX_BRACKETS:
        raise Invalid(errors={"brackets": [f"At most {MAX_BRACKETS} brackets."]})
    clean: dict[int, Decimal] = {}
    for index, (min_amount, rate) in enumerate(brackets):
        try:
            fen = min_amount if isinstance(min_amount, int) else parse_fen(min_amount)
            if fen < 0:
                raise MoneyError("Must not be negative.")
        except MoneyError as err:
            errors[f"brackets.{index}.min_amount"] = [str(err)]
            continue
        try:
            value = rate if isinstance(rate, Decimal) else parse_rate(rate)
            if not Decimal(0) <= value <= Decimal(1):
                raise MoneyError("Must be between 0 and 1.")
        except MoneyError as err:
            errors[f"brackets.{index}.rate"] = [str(err)]
            continue
        if fen in clean:
            errors[f"brackets.{index}.min_amount"] = ["Two brackets start at this amount."]
            continue
        clean[fen] = value
    if errors:
        raise Invalid("The settlement is invalid.", errors=errors)
    return sorted(clean.items())


def _check(period: str, from_day: date, to_day: date) -> str:
    period = (period or "").strip()
    if not PERIOD.fullmatch(period):
        raise Invalid(
            errors={"period": ["Use 1–32 letters, digits, '-', '_' or '.', such as 2026Q4."]}
        )
    if from_day > to_day:
        raise Invalid(errors={"to": ["Must be on or after from."]})
    if (to_day - from_day).days + 1 > MAX_DAYS:
        raise Invalid(errors={"to": [f"A period covers at most {MAX_DAYS} days."]})
    return period


def _fingerprint(from_day: date, to_day: date, brackets: list[tuple[int, Decimal]]) -> str:
    body = {
        "from": from_day.isoformat(),
        "to": to_day.isoformat(),
        "brackets": [[fen, rate_text(rate)] for fen, rate in brackets],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def rate_text(rate: Decimal) -> str:
    """ "0.02" for 0.020 and 0.02 alike; "0" for zero."""
    return format(rate.normalize(), "f")


def bases(from_day: date, to_day: date) -> list[tuple[Dealer, int]]:
    """(dealer, Σ payable of its orders delivered in [from_day, to_day]), by dealer code."""
    start, end = day_start(from_day), day_end(to_day)
    delivered_in_range = (
        select(OrderEvent.order_id)
        .where(OrderEvent.status == DELIVERED, OrderEvent.at >= start, OrderEvent.at < end)
        .distinct()
    )
    rows = db.session.execute(
        select(Dealer, func.sum(Order.payable_amount))
        .join(Order, Order.dealer_id == Dealer.id)
        .where(Order.status == DELIVERED, Order.id.in_(delivered_in_range))
        .group_by(Dealer.id)
        .order_by(Dealer.code)
    ).all()
    return [(dealer, int(basis)) for dealer, basis in rows]


def rate_for(basis: int, brackets: list[tuple[int, Decimal]]) -> Decimal | None:
    """The rate of the highest bracket whose min_amount ≤ basis, or None (none reached)."""
    reached = [rate for min_amount, rate in brackets if min_amount <= basis]
    return reached[-1] if reached else None


def compute(from_day: date, to_day: date, brackets: list[tuple[int, Decimal]]):
    """Each dealer that reaches a bracket, with basis, rate and amount (nothing written)."""
    items = []
    for dealer, basis in bases(from_day, to_day):
        rate = rate_for(basis, brackets)
        if rate is not None:
            amount = apply_rate(basis, rate)
            items.append(SettlementItem(dealer.id, dealer.code, dealer.name, basis, rate, amount))
    return items


def _stored(settlement: RebateSettlement, *, created: bool) -> SettlementResult:
    items = [
        SettlementItem(
            line.dealer_id,
            line.dealer.code,
            line.dealer.name,
            line.basis,
            Decimal(line.rate),
            line.amount,
        )
        for line in sorted(settlement.lines, key=lambda line: line.dealer.code)
    ]
    return SettlementResult(
        settlement.period, settlement.from_day, settlement.to_day, True, created, items
    )


def _posted(period: str) -> RebateSettlement | None:
    return db.session.scalar(
        select(RebateSettlement)
        .options(selectinload(RebateSettlement.lines).joinedload(RebateSettlementLine.dealer))
        .where(RebateSettlement.period == period)
    )


def _replay(existing: RebateSettlement, fingerprint: str) -> SettlementResult:
    if existing.fingerprint != fingerprint:
        raise Conflict(
            f"Period {existing.period} was already settled with other dates or brackets.",
            code=CONFLICT,
        )
    return _stored(existing, created=False)


def settle(
    period: str,
    from_day: date,
    to_day: date,
    brackets,
    *,
    dry_run: bool = False,
    by: User | None = None,
) -> SettlementResult:
    """Preview (dry_run) or post a period. Posting writes the period row first — its unique
    key makes a concurrent second post wait and then replay — then one `settlement` entry per
    dealer with an amount, referenced by period and dealer, all in one transaction.

    Raises Invalid (period, dates, brackets) or Conflict (period posted with another body).
    """
    permissions.require(by, permissions.WALLET)
    period = _check(period, from_day, to_day)
    clean = _clean_brackets(brackets)
    fingerprint = _fingerprint(from_day, to_day, clean)
    existing = _posted(period)
    if existing is not None:
        return _replay(existing, fingerprint)
    if dry_run:
        items = compute(from_day, to_day, clean)
        return SettlementResult(period, from_day, to_day, False, False, items)
    settlement = RebateSettlement(
        period=period,
        from_day=from_day,
        to_day=to_day,
        brackets=json.dumps([[fen, rate_text(rate)] for fen, rate in clean]),
        fingerprint=fingerprint,
        created_by=by.id if by else None,
    )
    db.session.add(settlement)
    try:
        db.session.flush()
    except IntegrityError:  # the same period posted concurrently: replay theirs
        db.session.rollback()
        return _replay(_posted(period), fingerprint)
    items = compute(from_day, to_day, clean)
    for item in items:
        entry_id = None
        if item.amount > 0:
            wallet.ensure_accounts(item.dealer_id)
            entry = wallet.post(
                item.dealer_id,
                REBATE,
                wallet.SETTLEMENT,
                item.amount,
                f"settlement:{period}:{item.dealer_id}",
                memo=period,
                by=by,
            )
            entry_id = entry.id
        db.session.add(
            RebateSettlementLine(
                settlement_id=settlement.id,
                dealer_id=item.dealer_id,
                basis=item.basis,
                rate=rate_text(item.rate),
                amount=item.amount,
                entry_id=entry_id,
            )
        )
    audit.record(
        by,
        "settlement.post",
        "settlement",
        period,
        {},
        {
            "from": from_day,
            "to": to_day,
            "brackets": settlement.brackets,
            "dealers": len(items),
            "total": sum(i.amount for i in items),
        },
    )
    db.session.commit()
    return SettlementResult(period, from_day, to_day, True, True, items)


def recent(limit: int = 20) -> list[RebateSettlement]:
    """Posted periods, newest first, with their lines and dealers loaded."""
    return list(
        db.session.scalars(
            select(RebateSettlement)
            .options(selectinload(RebateSettlement.lines).joinedload(RebateSettlementLine.dealer))
            .order_by(RebateSettlement.id.desc())
            .limit(limit)
        )
    )
