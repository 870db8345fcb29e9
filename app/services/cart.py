"""The dealer user's server-side cart, re-priced on every read, and one-tap reorder."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select

from app.errors import Invalid
from app.extensions import db
from app.models import CartItem, Product, StockLevel, User
from app.services import catalog
from app.services.orders import LineRequest, order_for_dealer
from app.services.pricing import PriceBreak, PriceTable
from app.services.quantities import MAX_LINE_QTY, PackRules, fit


@dataclass(slots=True)
class CartLine:
    product: Product
    qty: int
    table: PriceTable
    available: int

    @property
    def unit_price(self) -> int:
        return self.table.unit_price(self.qty)

    @property
    def amount(self) -> int:
        return self.unit_price * self.qty

    @property
    def next_break(self) -> PriceBreak | None:
        return self.table.next_break(self.qty)

    @property
    def next_break_qty(self) -> int | None:
        """The first orderable quantity that gets the next break's price."""
        nb = self.next_break
        return rules_of(self.product).above(nb.min_qty - 1) if nb else None

    @property
    def more_for_next_break(self) -> int:
        target = self.next_break_qty
        return target - self.qty if target else 0

    @property
    def short(self) -> bool:
        return self.qty > self.available


@dataclass(slots=True)
class Cart:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def goods_amount(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def count(self) -> int:
        return len(self.lines)

    def requests(self) -> list[LineRequest]:
        return [LineRequest(line.product.sku, line.qty) for line in self.lines]


def rules_of(product) -> PackRules:
    """The product's pack rules (minimum order, pack multiple)."""
    return PackRules(product.min_order_qty, product.order_multiple)


def valid_qty(product, qty: int) -> bool:
    """At least the minimum order, in whole pack multiples."""
    return rules_of(product).valid(qty)


def snap_qty(product, qty: int) -> int:
    """The nearest valid quantity at or above qty (the minimum order at least)."""
    rules = rules_of(product)
    return qty if rules.valid(qty) and qty >= rules.first else rules.above(qty - 1)


def _qty_error(
    product, qty: int, available: int | None, code: str = "invalid_quantity", in_cart: int = 0
):
    """A refused quantity that names the orderable ones either side of it, within what the
    stock can still fill once the cart's line (`in_cart`) is counted."""
    rules = rules_of(product)
    room = None if available is None else available - in_cart
    max_qty = rules.up_to(room) if room is not None else None
    below = rules.below(qty) if qty > rules.first else None
    above = rules.above(qty) if code == "invalid_quantity" else None
    return Invalid(
        f"Order {product.name} from {rules.first} {product.unit}, "
        f"in steps of {product.order_multiple}.",
        code=code,
        errors={"qty": [f"From {rules.first}, in steps of {product.order_multiple}."]},
        name=product.name,
        unit=product.unit,
        min_order_qty=rules.first,
        order_multiple=product.order_multiple,
        below=below if max_qty is None or below is None else min(below, max_qty),
        above=above,
        max_qty=max_qty,
        in_cart=in_cart,
    )


def check_qty(item: catalog.CatalogItem, qty: int, in_cart: int = 0) -> None:
    """Refuse, naming the nearest choices, a quantity the pack rules or the stock forbid.

    `qty` is judged by the product's own rules (what the order sheet's stepper offers); the
    stock must fill it on top of what the cart already holds. Raises Invalid with code
    "invalid_quantity" or "quantity_over_stock".
    """
    product = item.product
    if not valid_qty(product, qty) and not (in_cart and valid_qty(product, in_cart + qty)):
        raise _qty_error(product, qty, item.available, in_cart=in_cart)
    if in_cart + qty > item.available:
        raise _qty_error(product, qty, item.available, "quantity_over_stock", in_cart)


def held(user: User, product_id: int) -> int:
    """How much of the product the user's cart holds (0: none)."""
    line = db.session.get(CartItem, (user.id, product_id))
    return line.qty if line else 0


def held_all(user: User) -> dict[int, int]:
    """What the user's cart holds, by product id: one read for many lines (quick order)."""
    rows = db.session.execute(
        select(CartItem.product_id, CartItem.qty).where(CartItem.user_id == user.id)
    )
    return {product_id: qty for product_id, qty in rows}


def add(user: User, sku: str, qty: int) -> int:
    """Add qty to the line for sku (creating it); returns the line's new quantity.

    Raises NotFound for a product the dealer cannot see, Invalid for a quantity that breaks
    the pack rules ("invalid_quantity") or that today's stock cannot fill on top of the
    line ("quantity_over_stock"); both name the orderable quantities nearest to it.
    """
    item = catalog.item(user.dealer, sku)
    product = item.product
    line = db.session.get(CartItem, (user.id, product.id))
    before = line.qty if line else 0
    if qty < 1:
        raise _qty_error(product, qty, item.available, in_cart=before)
    check_qty(item, qty, before)
    if line:
        line.qty = before + qty
    else:
        db.session.add(CartItem(user_id=user.id, product_id=product.id, qty=qty))
    db.session.commit()
    return before + qty


def set_qty(user: User, sku: str, qty: int) -> None:
    """Set a line's quantity; 0 removes it. Raises NotFound or Invalid."""
    item = catalog.item(user.dealer, sku)
    if qty == 0:
        remove(user, sku)
        return
    if not valid_qty(item.product, qty):
        raise _qty_error(item.product, qty, item.available)
    _store(user, item.product.id, qty)
    db.session.commit()


def _store(user: User, product_id: int, qty: int) -> None:
    line = db.session.get(CartItem, (user.id, product_id))
    if line:
        line.qty = qty
    else:
        db.session.add(CartItem(user_id=user.id, product_id=product_id, qty=qty))


@dataclass(frozen=True, slots=True)
class TypedQty:
    """What the cart holds after a dealer typed a quantity, and why it differs."""

    sku: str
    name: str
    unit: str
    typed: int
    qty: int  # 0: the line was removed
    reason: str  # "", "pack_rules", "stock", "out_of_stock", "removed"
    before: int = 0  # what the line held before (for 撤销 after a removal)


def type_qty(user: User, sku: str, typed: int) -> TypedQty:
    """Set a line to a typed quantity, fitted to the pack rules and today's stock.

    0 removes the line. A quantity off the pack rules becomes the nearest orderable one, and
    more than the stock can fill becomes the most it can; the answer says which happened, so
    the page never shows a number the cart does not hold. Raises NotFound.
    """
    item = catalog.item(user.dealer, sku)
    product = item.product
    if typed <= 0:
        held = remove(user, sku)
        return TypedQty(sku, product.name, product.unit, typed, 0, "removed", held)
    result = fit(rules_of(product), min(typed, MAX_LINE_QTY), item.available)
    _store(user, product.id, result.qty)
    db.session.commit()
    return TypedQty(sku, product.name, product.unit, typed, result.qty, result.reason)


def remove(user: User, sku: str) -> int:
    """Drop a line from the cart; returns the quantity it held (0 when it was not there)."""
    product_id = select(Product.id).where(Product.sku == sku).scalar_subquery()
    mine = (CartItem.user_id == user.id, CartItem.product_id == product_id)
    held = db.session.scalar(select(CartItem.qty).where(*mine)) or 0
    db.session.execute(delete(CartItem).where(*mine))
    db.session.commit()
    return held


def clear(user: User) -> None:
    """Empty the cart (flushes only: part of the order's transaction)."""
    db.session.execute(delete(CartItem).where(CartItem.user_id == user.id))


def count_query(user: User):
    return select(func.count()).where(CartItem.user_id == user.id)


@functools.cache
def count_statement():
    """count_query built once, for the bound parameter `user_id`."""
    return select(func.count()).where(CartItem.user_id == bindparam("user_id"))


def count(user: User) -> int:
    """How many lines are in the cart (for the tab badge)."""
    return db.session.scalar(count_query(user)) or 0


def view(user: User) -> tuple[Cart, list[str]]:
    """The cart re-priced now; lines no longer orderable are dropped and named."""
    dealer = user.dealer
    rows = db.session.execute(
        select(CartItem, func.coalesce(StockLevel.on_hand - StockLevel.reserved, 0))
        .join(Product, Product.id == CartItem.product_id)
        .outerjoin(StockLevel, StockLevel.product_id == CartItem.product_id)
        .where(CartItem.user_id == user.id)
        .order_by(CartItem.added_at, CartItem.product_id)
    ).all()
    visible = set(
        db.session.scalars(
            select(Product.id).where(
                catalog.visible_to(dealer), Product.id.in_([item.product_id for item, _ in rows])
            )
        )
    )
    gone = [item.product.name for item, _ in rows if item.product_id not in visible]
    if gone:
        db.session.execute(
            delete(CartItem).where(
                CartItem.user_id == user.id, CartItem.product_id.not_in(visible or {-1})
            )
        )
        db.session.commit()
    kept = [(item, available) for item, available in rows if item.product_id in visible]
    tables = catalog.price_tables_for(dealer, [item.product for item, _ in kept])
    lines = [CartLine(i.product, i.qty, tables[i.product_id], available) for i, available in kept]
    return Cart(lines), gone


@dataclass(frozen=True, slots=True)
class ReorderChange:
    sku: str
    name: str
    wanted: int
    added: int
    reason: str  # "unavailable", "out_of_stock", "reduced_to_stock", "pack_rules"


def reorder(user: User, number: str) -> list[ReorderChange]:
    """Put a past order's lines in the cart, fitted to today's stock and pack rules.

    Returns what was changed and why; raises NotFound for another dealer's order.
    """
    order = order_for_dealer(user.dealer, number)
    skus = [line.sku for line in order.lines]
    items = {i.product.sku: i for i in _items_for(user, skus)}
    changes = []
    for line in order.lines:
        item = items.get(line.sku)
        if item is None:
            changes.append(ReorderChange(line.sku, line.name, line.qty, 0, "unavailable"))
            continue
        qty, reason = _fit(item, line.qty)
        if qty:
            existing = db.session.get(CartItem, (user.id, item.product.id))
            if existing:
                existing.qty = max(existing.qty, qty)
            else:
                db.session.add(CartItem(user_id=user.id, product_id=item.product.id, qty=qty))
        if reason:
            changes.append(ReorderChange(line.sku, line.name, line.qty, qty, reason))
    db.session.commit()
    return changes


def _items_for(user: User, skus: list[str]) -> list[catalog.CatalogItem]:
    page = catalog.browse(user.dealer, skus=skus, per_page=max(len(skus), 1), with_total=False)
    return page.items


def _fit(item: catalog.CatalogItem, wanted: int, in_cart: int = 0) -> tuple[int, str]:
    """What of `wanted` can go in beside the cart's `in_cart`: rounded to the pack rules,
    reduced to the stock left (0 and "out_of_stock" when not even one step fits)."""
    product = item.product
    qty = snap_qty(product, wanted)
    reason = "pack_rules" if qty != wanted else ""
    room = item.available - in_cart
    if qty > room:
        step = product.order_multiple
        qty = max(room, 0) // step * step
        if qty < (step if in_cart else product.min_order_qty):
            return 0, "out_of_stock"
        reason = "reduced_to_stock"
    return qty, reason
