"""常购清单 (the usual list): a dealer's pinned products, then the products it orders most.

"Ordered" means a line of one of the dealer's own orders placed in the last HISTORY_DAYS days
that was not cancelled or rejected (a refused or withdrawn order is not a purchase). Pins
belong to the dealer, not to one login (see models.usual). Every row is the product as the
catalog shows it to the dealer now (the catalog's services: the same price, stock and
visibility), and "按上次数量加入" goes through the cart's own checks, so the list never adds
what the cart would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import Conflict, Forbidden
from app.extensions import db
from app.models import Dealer, Order, OrderLine, PinnedProduct, Product, User
from app.models.orders import CANCELLED, REJECTED
from app.models.types import utcnow
from app.services import cart, catalog

LIST_SIZE = 30  # rows on the page: the pins, then the most ordered up to this many
MAX_PINS = LIST_SIZE
HISTORY_DAYS = 365
NOT_PURCHASES = (CANCELLED, REJECTED)


@dataclass(frozen=True, slots=True)
class UsualItem:
    """A row of the list: the product as the catalog shows it, and the dealer's history of it
    (`times` orders; None and 0 when it is pinned but not ordered in the window)."""

    item: catalog.CatalogItem
    pinned: bool
    times: int = 0
    last_qty: int | None = None
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AddedLast:
    """What 按上次数量加入 put in the cart: `added` of the `last_qty` ordered last time
    (`reason` "pack_rules" or "reduced_to_stock" when they differ), the line now `in_cart`."""

    sku: str
    name: str
    unit: str
    last_qty: int
    added: int
    in_cart: int
    reason: str


def _require_dealer(user: User | None) -> None:
    if user is None or not user.is_dealer:
        raise Forbidden("The usual list is for dealer users.", code="dealer_only")


def _since() -> datetime:
    return utcnow() - timedelta(days=HISTORY_DAYS)


def _purchases(dealer_id: int):
    """The conditions that make an order line a purchase of this dealer's (in the window)."""
    return (
        Order.id == OrderLine.order_id,
        Order.dealer_id == dealer_id,
        Order.created_at >= _since(),
        Order.status.not_in(NOT_PURCHASES),
    )


def history_statement(dealer, limit: int):
    """One statement: per visible product, how many orders held it and its latest line (an
    order has one line per product, so lines count orders); pinned products first, so their
    history is always among the `limit` rows, then the most ordered, the latest first. It
    reads the dealer's orders of the window by orders(dealer_id, created_at) and their lines
    by order_lines(order_id): the work grows with the dealer's orders, not everyone's."""
    ranked = (
        select(
            OrderLine.product_id,
            OrderLine.qty,
            Order.created_at,
            func.count().over(partition_by=OrderLine.product_id).label("times"),
            func.row_number()
            .over(
                partition_by=OrderLine.product_id,
                order_by=(Order.created_at.desc(), Order.id.desc()),
            )
            .label("recency"),
        )
        .select_from(OrderLine)
        .join(Order, and_(*_purchases(dealer.id)))
        .subquery()
    )
    pinned = PinnedProduct.product_id.is_not(None)
    return (
        select(
            Product.sku, ranked.c.times, ranked.c.qty, ranked.c.created_at, pinned.label("pinned")
        )
        .join(Product, Product.id == ranked.c.product_id)
        .outerjoin(
            PinnedProduct,
            and_(
                PinnedProduct.dealer_id == dealer.id,
                PinnedProduct.product_id == ranked.c.product_id,
            ),
        )
        .where(ranked.c.recency == 1, catalog.visible_to(dealer))
        .order_by(pinned.desc(), ranked.c.times.desc(), ranked.c.created_at.desc(), Product.sku)
        .limit(limit)
    )


def _pins(dealer) -> list[str]:
    """The SKUs the dealer pinned that it can still see, in the order they were pinned."""
    stmt = (
        select(Product.sku)
        .join(PinnedProduct, PinnedProduct.product_id == Product.id)
        .where(PinnedProduct.dealer_id == dealer.id, catalog.visible_to(dealer))
        .order_by(PinnedProduct.created_at, Product.sku)
        .limit(MAX_PINS)
    )
    return list(db.session.scalars(stmt))


def usual_list(user: User) -> list[UsualItem]:
    """The pins (in the order pinned), then the products ordered most often (the latest
    first among equals), LIST_SIZE rows at most; only products the dealer can see now, each
    with the catalog's price and stock. Raises Forbidden for a user who is not a dealer's."""
    _require_dealer(user)
    dealer = user.dealer
    pins = _pins(dealer)
    found = db.session.execute(history_statement(dealer, LIST_SIZE))
    history = {row.sku: row for row in found}
    frequent = [sku for sku, row in history.items() if not row.pinned]
    skus = pins + frequent[: max(LIST_SIZE - len(pins), 0)]
    if not skus:
        return []
    items = {i.product.sku: i for i in cart._items_for(user, sorted(skus))}
    pinned = set(pins)
    rows = []
    for sku in skus:
        if sku not in items:  # hidden between the two reads
            continue
        row = history.get(sku)
        past = (row.times, row.qty, row.created_at) if row else (0, None, None)
        rows.append(UsualItem(items[sku], sku in pinned, *past))
    return rows


def _last_qty(dealer, product_id: int) -> int | None:
    """The quantity of the dealer's latest purchase of the product (None: none in the window)."""
    stmt = (
        select(OrderLine.qty)
        .join(Order, and_(*_purchases(dealer.id)))
        .where(OrderLine.product_id == product_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def add_last(user: User, sku: str) -> AddedLast:
    """Add the quantity ordered last time to the cart, fitted as the cart fits a reorder:
    rounded up to the pack rules, reduced to the stock left beside the cart's own line.

    Raises Forbidden (not a dealer's user), NotFound for a product the dealer cannot see,
    Conflict "never_ordered" when it has no purchase of it in the window, and the cart's
    Invalid "quantity_over_stock" when not even one pack fits.
    """
    _require_dealer(user)
    item = catalog.item(user.dealer, sku)
    product = item.product
    last = _last_qty(user.dealer, product.id)
    if last is None:
        raise Conflict(
            f"No recent order of {product.sku!r} to repeat.",
            code="never_ordered",
            subject=("product", product.sku),
        )
    before = cart.held(user, product.id)
    qty, reason = cart._fit(item, last, before)
    if not qty:
        wanted = cart.snap_qty(product, last)
        raise cart._qty_error(product, wanted, item.available, "quantity_over_stock", before)
    total = cart.add(user, product.sku, qty)
    return AddedLast(product.sku, product.name, product.unit, last, qty, total, reason)


def pin(user: User, sku: str) -> tuple[str, bool]:
    """Pin a product the dealer can see to its usual list; returns (its name, whether it was
    newly pinned: pinning twice is one pin). Raises Forbidden, NotFound, Conflict
    "too_many_pins" beyond MAX_PINS."""
    _require_dealer(user)
    dealer = user.dealer
    product = catalog.item(dealer, sku).product
    if db.session.get(PinnedProduct, (dealer.id, product.id)) is not None:
        return product.name, False
    # Colleagues pinning at once take turns on the dealer's row, so the count below is the
    # count the insert lands on (SQLite has one writer at a time anyway).
    db.session.execute(select(Dealer.id).where(Dealer.id == dealer.id).with_for_update())
    if len(_pins(dealer)) >= MAX_PINS:
        raise Conflict(f"At most {MAX_PINS} pinned products.", code="too_many_pins")
    # A colleague pinning it at the same moment: the key keeps one pin, and this is a no-op.
    created = db.session.scalar(_insert_pin(dealer.id, product.id, user.id)) is not None
    db.session.commit()
    return product.name, created


def _insert_pin(dealer_id: int, product_id: int, user_id: int):
    values = {
        "dealer_id": dealer_id,
        "product_id": product_id,
        "pinned_by_id": user_id,
        "created_at": utcnow(),
    }
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(PinnedProduct).values(**values).on_conflict_do_nothing()
    return insert.returning(PinnedProduct.product_id)


def unpin(user: User, sku: str) -> tuple[str, bool]:
    """Take a product off the dealer's pins; returns (its name, whether it was pinned).
    A pin of a product the dealer can no longer see can still go; for any other product
    the dealer cannot see, NotFound as the cart says it. Raises Forbidden."""
    _require_dealer(user)
    dealer = user.dealer
    pinned = db.session.scalar(
        select(Product)
        .join(PinnedProduct, PinnedProduct.product_id == Product.id)
        .where(PinnedProduct.dealer_id == dealer.id, Product.sku == sku)
    )
    if pinned is None:
        return catalog.item(dealer, sku).product.name, False  # NotFound when not visible
    mine = (PinnedProduct.dealer_id == dealer.id, PinnedProduct.product_id == pinned.id)
    removed = db.session.execute(delete(PinnedProduct).where(*mine)).rowcount == 1
    db.session.commit()
    return pinned.name, removed


def is_pinned(user: User, product_id: int) -> bool:
    """Whether the user's dealer has pinned the product (False for other users)."""
    if user is None or not user.is_dealer:
        return False
    return db.session.get(PinnedProduct, (user.dealer_id, product_id)) is not None
