"""Which quantities of a product can be ordered: a pure function of its pack rules and stock.

A quantity is orderable when it is at least the minimum order and a whole number of packs
(CONTRACT §4). The stepper, the cart, the price-break table and the order sheet's messages
all ask this module, so the page never offers a number the server would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.pricing import PriceBreak, unit_price

MAX_LINE_QTY = 1_000_000


@dataclass(frozen=True, slots=True)
class PackRules:
    min_order_qty: int
    order_multiple: int

    @property
    def first(self) -> int:
        """The smallest orderable quantity: the minimum order rounded up to whole packs."""
        step = max(self.order_multiple, 1)
        return -(-max(self.min_order_qty, 1) // step) * step

    def valid(self, qty: int) -> bool:
        """At least the minimum order, in whole packs."""
        return qty >= self.min_order_qty and qty % max(self.order_multiple, 1) == 0

    def up_to(self, limit: int) -> int | None:
        """The largest orderable quantity not above limit (None when even the first is above)."""
        step = max(self.order_multiple, 1)
        best = min(limit, MAX_LINE_QTY) // step * step
        return best if best >= self.first else None

    def above(self, qty: int) -> int:
        """The smallest orderable quantity strictly above qty."""
        step = max(self.order_multiple, 1)
        return max(self.first, (qty // step + 1) * step)

    def below(self, qty: int) -> int | None:
        """The largest orderable quantity strictly below qty, if any."""
        return self.up_to(qty - 1)

    def nearest(self, qty: int) -> int:
        """The orderable quantity closest to qty; a tie goes up (a pack short is a pack more)."""
        if self.valid(qty):
            return qty
        low, high = self.below(qty), self.above(qty)
        if low is None or high - qty <= qty - low:
            return high
        return low


@dataclass(frozen=True, slots=True)
class Fit:
    """What a typed quantity became, and why ("" when it was fine as typed)."""

    qty: int
    reason: str  # "", "pack_rules", "stock", "out_of_stock"


def fit(rules: PackRules, typed: int, available: int | None = None) -> Fit:
    """The orderable quantity for a typed one: snapped to whole packs, then held to stock."""
    qty = rules.nearest(max(typed, 1))
    reason = "" if qty == typed else "pack_rules"
    if available is not None and qty > available:
        most = rules.up_to(available)
        if most is None:
            return Fit(qty, "out_of_stock")
        return Fit(most, "stock")
    return Fit(qty, reason)


@dataclass(frozen=True, slots=True)
class BreakRow:
    """A row of the price-break table as a dealer can use it."""

    from_qty: int  # the first orderable quantity that gets this price
    price: int
    reachable: bool  # False when today's stock cannot reach it


def break_rows(
    breaks: Sequence[PriceBreak], rules: PackRules, available: int | None = None
) -> list[BreakRow]:
    """The table read from what can be ordered: it starts at the first orderable quantity,
    each row names the first orderable quantity its price applies to, and a row that
    changes nothing (same price as the row before) is left out."""
    rows: list[BreakRow] = []
    most = rules.up_to(available) if available is not None else None
    for row in breaks:
        start = max(rules.first, row.min_qty)
        if not rules.valid(start):
            start = rules.above(start)
        price = unit_price(breaks, start)
        if rows and (rows[-1].price == price or rows[-1].from_qty == start):
            continue
        reachable = available is None or (most is not None and start <= most)
        rows.append(BreakRow(start, price, reachable))
    return rows
