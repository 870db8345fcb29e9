"""Placing orders and moving them along their status arrows (CONTRACT §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import selectinload

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import (
    CartItem,
    Dealer,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    StockLevel,
    User,
)
from app.models.orders import APPROVED, CANCELLED, REJECTED, SUBMITTED
from app.models.wallet import FUNDS, REBATE
from app.money import apply_rate, format_fen
from app.services import permissions, wallet
from app.services.catalog import _escape_like, price_tables_for, visible_to
from app.services.rebates import current_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_LINE_QTY = 1_000_000
MAX_ORDER_FEN = 2**62  # far beyond any real order; keeps sums inside BIGINT


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    qty: int


def _line_errors(product: Product | None, qty: int) -> dict[str, list[str]]:
    if product is None:
        return {"sku": ["Unknown or unavailable SKU."]}
    if qty > MAX_LINE_QTY:
        return {"qty": [f"At most {MAX_LINE_QTY} per line."]}
    if qty < product.min_order_qty:
        return {"qty": [f"The minimum order is {product.min_order_qty} {product.unit}."]}
    if qty % product.order_multiple:
        return {"qty": [f"Order in multiples of {product.order_multiple} {product.unit}."]}
    return {}


def check_lines(dealer: Dealer, lines: list[LineRequest]) -> dict[str, Product]:
    """Products for the lines, or Invalid with per-line errors ("lines.1.qty")."""
    if not lines:
        raise Invalid(
            "An order needs at least one line.", errors={"lines": ["Add at least one line."]}
        )
    skus = {line.sku for line in lines}
    products = {
        p.sku: p
        for p in db.session.scalars(
            select(Product).where(visible_to(dealer), Product.sku.in_(skus))
        )
    }
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.sku in seen:
            errors[f"lines.{i}.sku"] = ["This SKU is already on another line."]
            continue
        seen.add(line.sku)
        for field, messages in _line_errors(products.get(line.sku), line.qty).items():
            errors[f"lines.{i}.{field}"] = messages
    if errors:
        raise Invalid("Some order lines are invalid.", errors=errors)
    return products


_stock = StockLevel.__table__
# The guard that makes overselling impossible: the row changes only if enough is left.
_RESERVE = (
    update(_stock)
    .where(_stock.c.product_id == bindparam("pid"))
    .where(_stock.c.on_hand - _stock.c.reserved >= bindparam("qty"))
    .values(reserved=_stock.c.reserved + bindparam("qty"))
)


def _reserve(lines: list[LineRequest], products: dict[str, Product]) -> list[dict]:
    """Reserve every line in product-id order (no deadlocks); returns the short lines."""
    short = []
    connection = db.session.connection()
    for line in sorted(lines, key=lambda line: products[line.sku].id):
        product = products[line.sku]
        reserved = connection.execute(_RESERVE, {"pid": product.id, "qty": line.qty}).rowcount
        if reserved != 1:
            short.append({"sku": line.sku, "requested": line.qty, "product_id": product.id})
    return short


def _shortage(short: list[dict], products: dict[str, Product]) -> Conflict:
    names_by_sku = {row["sku"]: products[row["sku"]].name for row in short}
    units_by_sku = {row["sku"]: products[row["sku"]].unit for row in short}
    db.session.rollback()
    ids = [row.pop("product_id") for row in short]
    available = dict(
        db.session.execute(
            select(StockLevel.product_id, StockLevel.on_hand - StockLevel.reserved).where(
                StockLevel.product_id.in_(ids)
            )
        ).all()
    )
    for row, pid in zip(short, ids, strict=True):
        row["available"] = max(0, available.get(pid, 0))
    names = ", ".join(f"{r['sku']} ({r['available']} available)" for r in short)
    err = Conflict(f"Not enough stock for {names}.", code="insufficient_stock", lines=short)
    err.names = names_by_sku  # for pages; the API's lines stay exactly {sku, requested, available}
    err.units = units_by_sku
    return err


def _number(order: Order) -> str:
    day = order.created_at.astimezone(SHANGHAI).strftime("%y%m%d")
    return f"SO{day}{order.id:08d}"


def _event(order: Order, status: str, by: User | None, reason: str = "") -> None:
    order.events.append(
        OrderEvent(
            status=status,
            by_user_id=by.id if by else None,
            by_name=(by.name or by.username) if by else "",
            reason=reason,
        )
    )


def place_order(
    user: User,
    lines: list[LineRequest],
    *,
    use_rebate: int = 0,
    note: str = "",
    idempotency_key_id: int | None = None,
    clear_cart: bool = False,
    before_commit: Callable[[Order], None] | None = None,
) -> Order:
    """Validate, reserve stock, debit funds and rebate, and create the order — or nothing.

    Raises Invalid (lines, rebate), Conflict insufficient_stock / insufficient_funds.
    """
    dealer = user.dealer
    products = check_lines(dealer, lines)
    tables = price_tables_for(dealer, list(products.values()))
    priced = [
        (line, products[line.sku], tables[products[line.sku].id].unit_price(line.qty))
        for line in lines
    ]
    goods = sum(price * line.qty for line, _, price in priced)
    if goods >= MAX_ORDER_FEN:
        raise Invalid("This order is too large.", errors={"lines": ["The total is too large."]})
    policy = current_policy()
    _check_rebate_cap(use_rebate, policy.max_use(goods))
    short = _reserve(lines, products)
    if short:
        raise _shortage(short, products)
    rate = policy.rate_for(dealer.tier.code)
    order = Order(
        dealer=dealer,
        user_id=user.id,
        status=SUBMITTED,
        goods_amount=goods,
        rebate_amount=use_rebate,
        payable_amount=goods - use_rebate,
        rebate_rate=str(rate),
        rebate_earnable=apply_rate(goods - use_rebate, rate),
        note=note,
        created_at=datetime.now(UTC),
    )
    for position, (line, product, price) in enumerate(priced):
        order.lines.append(
            OrderLine(
                position=position,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                unit=product.unit,
                qty=line.qty,
                unit_price=price,
                amount=price * line.qty,
            )
        )
    _event(order, SUBMITTED, user)
    db.session.add(order)
    db.session.flush()
    order.number = _number(order)
    _pay(order, dealer, user)
    if idempotency_key_id is not None:
        # Usually already in this session (claimed in this transaction): no query.
        db.session.get(IdempotencyKey, idempotency_key_id).order_id = order.id
    if clear_cart:
        db.session.execute(delete(CartItem).where(CartItem.user_id == user.id))
    if before_commit is not None:
        before_commit(order)  # e.g. keep the answer with the idempotency key, atomically
    _commit_keeping(order)
    return order


def _commit_keeping(order: Order) -> None:
    """Commit without expiring the order just written: the caller shows it at once, and
    reloading the order, its lines and events would cost three more round trips."""
    session = db.session()  # the real session: the scoped proxy would keep the attribute
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _check_rebate_cap(use_rebate: int, cap: int) -> None:
    if use_rebate < 0:
        raise Invalid(errors={"use_rebate": ["Must not be negative."]})
    if use_rebate > cap:
        raise Invalid(
            f"At most {format_fen(cap)} of rebate may be used on this order.",
            code="rebate_over_cap",
            errors={"use_rebate": [f"At most {format_fen(cap)} may be used on this order."]},
        )


def _pay(order: Order, dealer: Dealer, user: User) -> None:
    if order.rebate_amount:
        try:
            wallet.post(
                dealer.id,
                REBATE,
                wallet.REBATE_USE,
                -order.rebate_amount,
                f"order:{order.number}:rebate",
                floor=0,
                order_id=order.id,
                by=user,
            )
        except wallet.InsufficientBalance as err:
            db.session.rollback()
            balance = wallet.balances(dealer.id)[REBATE]
            raise Invalid(
                f"The rebate balance is only {format_fen(balance)}.",
                code="insufficient_rebate",
                errors={"use_rebate": [f"The rebate balance is only {format_fen(balance)}."]},
            ) from err
    if order.payable_amount:
        try:
            wallet.post(
                dealer.id,
                FUNDS,
                wallet.ORDER_DEBIT,
                -order.payable_amount,
                f"order:{order.number}:debit",
                floor=-dealer.credit_limit,
                order_id=order.id,
                by=user,
            )
        except wallet.InsufficientBalance as err:
            db.session.rollback()
            available = wallet.balances(dealer.id)[FUNDS] + dealer.credit_limit
            raise Conflict(
                f"Funds available are {format_fen(available)}; "
                f"this order needs {format_fen(order.payable_amount)}.",
                code="insufficient_funds",
                available=format_fen(available),
                required=format_fen(order.payable_amount),
            ) from err


def _move(order: Order, allowed: tuple[str, ...], to: str) -> None:
    """Guarded status change: two racing admins cannot both move the same order."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_(allowed))
        .values(status=to, updated_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        current = db.session.scalar(select(Order.status).where(Order.id == order.id))
        raise Conflict(
            f"The order is {current}; it cannot become {to}.",
            code="invalid_status",
            status_now=current,
        )
    db.session.refresh(order, ["status"])


def _release_and_refund(order: Order, by: User) -> None:
    for line in sorted(order.lines, key=lambda line: line.product_id):
        remaining = line.qty - line.shipped_qty
        if remaining:
            db.session.execute(
                update(StockLevel)
                .where(StockLevel.product_id == line.product_id)
                .values(reserved=StockLevel.reserved - remaining)
            )
    if order.payable_amount:
        wallet.post(
            order.dealer_id,
            FUNDS,
            wallet.ORDER_REFUND,
            order.payable_amount,
            f"order:{order.number}:refund",
            order_id=order.id,
            by=by,
        )
    if order.rebate_amount:
        wallet.post(
            order.dealer_id,
            REBATE,
            wallet.REBATE_REFUND,
            order.rebate_amount,
            f"order:{order.number}:rebate-refund",
            order_id=order.id,
            by=by,
        )


def cancel_order(user: User, number: str) -> Order:
    """The dealer cancels while still submitted; stock and money go back. Raises Conflict."""
    order = order_for_dealer(user.dealer, number)
    _move(order, (SUBMITTED,), CANCELLED)
    _release_and_refund(order, user)
    _event(order, CANCELLED, user)
    _commit_keeping(order)
    return order


def approve_order(admin: User, number: str) -> Order:
    """HQ approves a submitted order. Raises Forbidden, NotFound, Conflict."""
    permissions.require(admin, permissions.ORDER_DESK)
    order = order_for_admin(number)
    _move(order, (SUBMITTED,), APPROVED)
    _event(order, APPROVED, admin)
    _commit_keeping(order)
    return order


def reject_order(admin: User, number: str, reason: str) -> Order:
    """HQ rejects with a reason; stock and money go back. Raises Invalid, NotFound, Conflict."""
    permissions.require(admin, permissions.ORDER_DESK)
    if not reason.strip():
        raise Invalid(errors={"reason": ["Say why the order is rejected."]})
    order = order_for_admin(number)
    _move(order, (SUBMITTED, APPROVED), REJECTED)
    _release_and_refund(order, admin)
    _event(order, REJECTED, admin, reason.strip())
    _commit_keeping(order)
    return order


def _with_details():
    return (selectinload(Order.lines), selectinload(Order.events))


def order_for_dealer(dealer: Dealer, number: str) -> Order:
    """The dealer's own order; another dealer's is NotFound, never Forbidden."""
    order = db.session.scalar(
        select(Order)
        .options(*_with_details())
        .where(Order.number == number, Order.dealer_id == dealer.id)
    )
    if order is None:
        raise NotFound(f"No order {number!r}.", subject=("order", number))
    return order


def order_for_admin(number: str) -> Order:
    """Any order, for HQ. Raises NotFound."""
    order = db.session.scalar(select(Order).options(*_with_details()).where(Order.number == number))
    if order is None:
        raise NotFound(f"No order {number!r}.", subject=("order", number))
    return order


def _order_matches(q: str):
    """Order number, or any line's product name or SKU, contains q (case-insensitive)."""
    pattern = "%" + _escape_like(q) + "%"
    on_a_line = (
        select(OrderLine.id)
        .where(OrderLine.order_id == Order.id)
        .where(
            or_(
                OrderLine.name.ilike(pattern, escape="\\"),
                OrderLine.sku.ilike(pattern, escape="\\"),
            )
        )
        .exists()
    )
    return or_(Order.number.ilike(pattern, escape="\\"), on_a_line)


def dealer_orders(
    dealer: Dealer,
    statuses: tuple[str, ...] = (),
    page: int = 1,
    per_page: int = 20,
    *,
    q: str = "",
):
    """The dealer's orders, newest first, with lines; returns (orders, total).

    `q` narrows them to orders whose number or a line's product name or SKU contains it.
    """
    conditions = [Order.dealer_id == dealer.id]
    if statuses:
        conditions.append(Order.status.in_(statuses))
    if q.strip():
        conditions.append(_order_matches(q.strip()))
    orders = db.session.scalars(
        select(Order)
        .options(selectinload(Order.lines))
        .where(*conditions)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(select(func.count(Order.id)).where(*conditions))
    return orders, total


def review_queue(limit: int = 100) -> list[Order]:
    """Submitted orders, oldest first: the order desk's work."""
    return list(
        db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines), selectinload(Order.dealer))
            .where(Order.status == SUBMITTED)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
        )
    )


def order_by_id(dealer: Dealer, order_id: int | None) -> Order:
    """The dealer's order by id (for idempotent replays); raises NotFound."""
    order = db.session.get(Order, order_id) if order_id else None
    if order is None or order.dealer_id != dealer.id:
        raise NotFound("No such order.", subject=("order", None))
    return order
