"""Price resolution: a pure function of the tables and the quantity (CONTRACT §3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SOURCE_DEALER = "dealer"
SOURCE_TIER = "tier"
SOURCE_LIST = "list"


@dataclass(frozen=True, slots=True)
class PriceBreak:
    min_qty: int
    price: int  # fen


@dataclass(frozen=True, slots=True)
class PriceTable:
    """The table that applies to one dealer and one product, and where it came from."""

    breaks: tuple[PriceBreak, ...]
    source: str

    def unit_price(self, qty: int) -> int:
        """Price of the row with the greatest min_qty not above qty (qty ≥ 1)."""
        return unit_price(self.breaks, qty)

    def next_break(self, qty: int) -> PriceBreak | None:
        """The first break above qty that lowers the price, if any."""
        return next_break(self.breaks, qty)


def resolve_table(
    dealer_rows: Iterable[PriceBreak],
    tier_rows: Iterable[PriceBreak],
    list_price: int,
) -> PriceTable:
    """Dealer table if any, else tier table if any, else one row at list price."""
    dealer = sorted(dealer_rows, key=lambda b: b.min_qty)
    if dealer:
        return PriceTable(tuple(dealer), SOURCE_DEALER)
    tier = sorted(tier_rows, key=lambda b: b.min_qty)
    if tier:
        return PriceTable(tuple(tier), SOURCE_TIER)
    return PriceTable((PriceBreak(1, list_price),), SOURCE_LIST)


def unit_price(breaks: Sequence[PriceBreak], qty: int) -> int:
    """Unit price in fen for qty; breaks are ascending and start at min_qty 1."""
    if qty < 1:
        raise ValueError("quantity must be at least 1")
    price = breaks[0].price
    for row in breaks:
        if row.min_qty > qty:
            break
        price = row.price
    return price


def next_break(breaks: Sequence[PriceBreak], qty: int) -> PriceBreak | None:
    """The nearest break above qty whose price is lower than the price at qty."""
    current = unit_price(breaks, qty)
    for row in breaks:
        if row.min_qty > qty and row.price < current:
            return row
    return None


def line_amount(price: int, qty: int) -> int:
    """Line amount in fen; integer fen times an integer quantity needs no rounding."""
    return price * qty


def table_errors(rows: Sequence[tuple[int, int]]) -> list[str]:
    """Why a table of (min_qty, price_fen) rows is unusable; empty when it is fine."""
    if not rows:
        return ["A price table needs at least one row."]
    errors = []
    quantities = [q for q, _ in rows]
    if min(quantities) != 1:
        errors.append("A price table must start at min_qty 1.")
    if len(set(quantities)) != len(quantities):
        errors.append("Each min_qty may appear only once.")
    if any(q < 1 for q in quantities):
        errors.append("min_qty must be at least 1.")
    if any(p < 0 for _, p in rows):
        errors.append("Prices must not be negative.")
    return errors
