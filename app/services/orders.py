"""Placing orders and moving them along their status arrows (CONTRACT §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import contains_eager, selectinload

from app import metrics
from app.errors import Conflict, DomainError, Invalid, NotFound
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
from app.models.orders import APPROVED, CANCELLED, PARTIALLY_SHIPPED, REJECTED, STATUSES, SUBMITTED
from app.models.orders import DELIVERED as DELIVERED  # re-exported: HQ pages import services
from app.models.orders import SHIPPED as SHIPPED
from app.models.wallet import FUNDS, REBATE
from app.money import apply_rate, format_fen
from app.services import audit, idempotency, permissions, wallet, written
from app.services.accounts import dealer_by_code
from app.services.catalog import Orderable, _escape_like, kept_price_tables, orderable
from app.services.rebates import current_policy
from app.services.statements import day_end, day_start

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_LINE_QTY = 1_000_000
MAX_ORDER_FEN = 2**62  # far beyond any real order; keeps sums inside BIGINT


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    qty: int


def _line_errors(product: Orderable | None, qty: int) -> dict[str, list[str]]:
    if product is None:
        return {"sku": ["Unknown or unavailable SKU."]}
    if qty > MAX_LINE_QTY:
        return {"qty": [f"At most {MAX_LINE_QTY} per line."]}
    if qty < product.min_order_qty:
        return {"qty": [f"The minimum order is {product.min_order_qty} {product.unit}."]}
    if qty % product.order_multiple:
        return {"qty": [f"Order in multiples of {product.order_multiple} {product.unit}."]}
    return {}


def check_lines(dealer: Dealer, lines: list[LineRequest]) -> dict[str, Orderable]:
    """Products for the lines, or Invalid with per-line errors ("lines.1.qty")."""
    if not lines:
        raise Invalid(
            "An order needs at least one line.", errors={"lines": ["Add at least one line."]}
        )
    products = orderable(dealer, sorted({line.sku for line in lines}))
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


def _reserve(lines: list[LineRequest], products: dict[str, Orderable]) -> list[dict]:
    """Reserve every line in product-id order (no deadlocks); returns the short lines."""
    short = []
    connection = db.session.connection()
    for line in sorted(lines, key=lambda line: products[line.sku].id):
        product = products[line.sku]
        reserved = connection.execute(_RESERVE, {"pid": product.id, "qty": line.qty}).rowcount
        if reserved != 1:
            short.append({"sku": line.sku, "requested": line.qty, "product_id": product.id})
    return short


def _shortage(short: list[dict], products: dict[str, Orderable]) -> Conflict:
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


@metrics.counts_orders
def place_order(
    user: User,
    lines: list[LineRequest],
    *,
    use_rebate: int = 0,
    note: str = "",
    idempotency_key_id: int | None = None,
    clear_cart: bool = False,
    before_commit: Callable[[Order], None] | None = None,
    for_dealer: Dealer | None = None,
) -> Order:
    """Validate, reserve stock, debit funds and rebate, and create the order — or nothing.

    `for_dealer` is HQ placing for a dealer (代客下单, see place_order_for_dealer): the
    dealer's prices, stock, funds and rebate, with `user` as the one who placed it.
    Raises Invalid (lines, rebate), Conflict insufficient_stock / insufficient_funds.
    """
    dealer = for_dealer or user.dealer
    products = check_lines(dealer, lines)
    tables = kept_price_tables(dealer, list(products.values()))
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
    order = _write_order(
        dealer,
        user,
        priced,
        goods_amount=goods,
        rebate_amount=use_rebate,
        payable_amount=goods - use_rebate,
        rebate_rate=str(rate),
        rebate_earnable=apply_rate(goods - use_rebate, rate),
        note=note,
    )
    _pay(order, dealer, user)
    if idempotency_key_id is not None:
        # Usually already in this session (claimed in this transaction): no query.
        db.session.get(IdempotencyKey, idempotency_key_id).order_id = order.id
    if clear_cart:
        db.session.execute(delete(CartItem).where(CartItem.user_id == user.id))
    if for_dealer is not None:
        audit.record(user, "order.place_for_dealer", "order", order.number, {}, _placed(order))
    if before_commit is not None:
        before_commit(order)  # e.g. keep the answer with the idempotency key, atomically
    _commit_keeping(order)
    return order


_orders, _lines, _events = Order.__table__, OrderLine.__table__, OrderEvent.__table__
_SET_NUMBER = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(number=bindparam("number"), updated_at=bindparam("now"))
)


def _write_order(dealer: Dealer, user: User, priced: list, **amounts) -> Order:
    """The order, its lines and its `submitted` event as plain INSERTs (the stock rows are
    locked by now: the fewer CPU milliseconds until COMMIT, the sooner the next order for
    the same products goes), handed back as loaded ORM objects (services.written)."""
    now = datetime.now(UTC)
    head = dict(
        dealer_id=dealer.id, user_id=user.id, status=SUBMITTED, created_at=now, updated_at=now
    )
    order = Order(**head, **amounts)
    [order.id] = written.insert_rows(_orders, [{**head, **amounts, "number": None}])
    order.number = _number(order)
    db.session.connection().execute(
        _SET_NUMBER, {"order_id": order.id, "number": order.number, "now": now}
    )
    lines = [
        dict(
            order_id=order.id,
            position=position,
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            unit=product.unit,
            qty=line.qty,
            unit_price=price,
            amount=price * line.qty,
            shipped_qty=0,
        )
        for position, (line, product, price) in enumerate(priced)
    ]
    ids = written.insert_rows(_lines, lines)
    order.lines = [OrderLine(id=id_, **row) for id_, row in zip(ids, lines, strict=True)]
    by_name = user.name or user.username
    event = dict(
        order_id=order.id, status=SUBMITTED, at=now, by_user_id=user.id, by_name=by_name, reason=""
    )
    [event_id] = written.insert_rows(_events, [event])
    order.events = [OrderEvent(id=event_id, **event)]
    order.dealer = dealer
    written.adopt(*order.lines, *order.events, order)
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
    # A refusal rolls back, and the order's objects leave the session with their rows.
    payable, credit_limit = order.payable_amount, dealer.credit_limit
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
    if payable:
        try:
            wallet.post(
                dealer.id,
                FUNDS,
                wallet.ORDER_DEBIT,
                -payable,
                f"order:{order.number}:debit",
                floor=-credit_limit,
                order_id=order.id,
                by=user,
            )
        except wallet.InsufficientBalance as err:
            db.session.rollback()
            available = wallet.balances(dealer.id)[FUNDS] + credit_limit
            raise Conflict(
                f"Funds available are {format_fen(available)}; "
                f"this order needs {format_fen(payable)}.",
                code="insufficient_funds",
                available=format_fen(available),
                required=format_fen(payable),
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
    _approve(admin, order)
    return order


def _approve(admin: User, order: Order, batch: int = 0) -> None:
    """The guarded move, its event and audit entry, committed together. Raises Conflict."""
    _move(order, (SUBMITTED,), APPROVED)
    _event(order, APPROVED, admin)
    after = {"status": APPROVED, "batch": batch} if batch else {"status": APPROVED}
    audit.record(admin, "order.approve", "order", order.number, {"status": SUBMITTED}, after)
    _commit_keeping(order)


def reject_order(admin: User, number: str, reason: str) -> Order:
    """HQ rejects with a reason; stock and money go back. Raises Invalid, NotFound, Conflict."""
    permissions.require(admin, permissions.ORDER_DESK)
    if not reason.strip():
        raise Invalid(errors={"reason": ["Say why the order is rejected."]})
    order = order_for_admin(number)
    was = order.status
    _move(order, (SUBMITTED, APPROVED), REJECTED)
    _release_and_refund(order, admin)
    _event(order, REJECTED, admin, reason.strip())
    after = {"status": REJECTED, "reason": reason.strip()}
    audit.record(admin, "order.reject", "order", order.number, {"status": was}, after)
    _commit_keeping(order)
    return order


MAX_BATCH = 200


@dataclass(frozen=True, slots=True)
class Skipped:
    """An order a batch left alone: its number and its status now (None: no such order)."""

    number: str
    status: str | None


@dataclass(slots=True)
class BatchResult:
    approved: list[str]
    skipped: list[Skipped]


def approve_orders(admin: User, numbers: list[str]) -> BatchResult:
    """Approve several submitted orders, each on its own: one guarded status update and one
    commit per order, so an order that changed meanwhile (cancelled by the dealer, decided
    by a colleague) is skipped and named while the others still go through.

    Raises Forbidden, Invalid (no order chosen, or more than MAX_BATCH).
    """
    permissions.require(admin, permissions.ORDER_DESK)
    chosen = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
    if not chosen:
        raise Invalid(errors={"numbers": ["Choose at least one order."]})
    if len(chosen) > MAX_BATCH:
        raise Invalid(errors={"numbers": [f"At most {MAX_BATCH} orders at once."]})
    result = BatchResult([], [])
    for number in chosen:
        try:
            _approve(admin, order_for_admin(number), batch=len(chosen))
        except NotFound:
            result.skipped.append(Skipped(number, None))
        except Conflict as err:
            result.skipped.append(Skipped(number, err.extra.get("status_now")))
        else:
            result.approved.append(number)
    return result


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
        .options(selectinload(Order.lines), selectinload(Order.user))  # who placed it
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


# --- HQ order desk: every order, by status, dealer, number and day -------------------------


@dataclass(frozen=True, slots=True)
class DeskFilter:
    """What the order desk narrows the orders to; empty fields do not narrow."""

    dealer: str = ""  # dealer code
    q: str = ""  # order number, dealer name or code contains it
    from_day: date | None = None  # Shanghai days of placement, both inclusive
    to_day: date | None = None


def _desk_conditions(where: DeskFilter) -> list:
    conditions = []
    if where.dealer:
        conditions.append(Dealer.code == where.dealer)
    if where.q.strip():
        pattern = "%" + _escape_like(where.q.strip()) + "%"
        conditions.append(
            or_(
                Order.number.ilike(pattern, escape="\\"),
                Dealer.name.ilike(pattern, escape="\\"),
                Dealer.code.ilike(pattern, escape="\\"),
            )
        )
    if where.from_day:
        conditions.append(Order.created_at >= day_start(where.from_day))
    if where.to_day:
        conditions.append(Order.created_at < day_end(where.to_day))
    return conditions


def desk_orders(
    statuses: tuple[str, ...] = (),
    where: DeskFilter = DeskFilter(),
    page: int = 1,
    per_page: int = 20,
    *,
    oldest_first: bool = False,
    count: bool = True,
) -> tuple[list[Order], int | None]:
    """Orders of every dealer for HQ, newest first (the review queue oldest first), with
    their lines and dealer; returns (orders, total) — total None when not `count`ed."""
    conditions = _desk_conditions(where)
    if statuses:
        conditions.append(Order.status.in_(statuses))
    if oldest_first:
        order_by = (Order.created_at, Order.id)
    else:
        order_by = (Order.created_at.desc(), Order.id.desc())
    found = db.session.scalars(
        select(Order)
        .join(Dealer, Dealer.id == Order.dealer_id)
        .options(selectinload(Order.lines), contains_eager(Order.dealer))
        .where(*conditions)
        .order_by(*order_by)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    if not count:
        return list(found), None
    total = db.session.scalar(
        select(func.count(Order.id)).join(Dealer, Dealer.id == Order.dealer_id).where(*conditions)
    )
    return list(found), total


def desk_counts(where: DeskFilter = DeskFilter()) -> dict[str, int]:
    """How many orders each status holds under the filter (every status present)."""
    counting = select(Order.status, func.count(Order.id))
    if where.dealer or where.q.strip():  # only these look at the dealer
        counting = counting.join(Dealer, Dealer.id == Order.dealer_id)
    rows = db.session.execute(counting.where(*_desk_conditions(where)).group_by(Order.status)).all()
    return {status: 0 for status in STATUSES} | {status: n for status, n in rows}


def dealer_choices() -> list[tuple[str, str, bool]]:
    """(code, name, active) of every dealer, by code: the desk's dealer filter."""
    rows = db.session.execute(select(Dealer.code, Dealer.name, Dealer.active).order_by(Dealer.code))
    return [tuple(row) for row in rows]


def dealers_to_order_for(q: str = "", limit: int = 50) -> list[Dealer]:
    """Active dealers whose code or name contains q, by code (代客下单 picks one)."""
    conditions = [Dealer.active.is_(True)]
    if q.strip():
        pattern = "%" + _escape_like(q.strip()) + "%"
        conditions.append(
            or_(Dealer.code.ilike(pattern, escape="\\"), Dealer.name.ilike(pattern, escape="\\"))
        )
    return list(
        db.session.scalars(select(Dealer).where(*conditions).order_by(Dealer.code).limit(limit))
    )


@dataclass(frozen=True, slots=True)
class LineStock:
    """An order line beside its product's stock now: what HQ checks before deciding."""

    line: OrderLine
    on_hand: int
    reserved: int  # by every open order, this one included
    held: int  # what this order still holds of it (nothing once closed)
    on_sale: bool  # the product is still active

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class DeskFacts:
    """The dealer's money and each line's stock, as they stand now."""

    wallet: wallet.WalletSummary
    lines: list[LineStock]
    dealer_active: bool
    placed_by_hq: str  # the HQ user's name when HQ placed the order for the dealer


def desk_facts(order: Order) -> DeskFacts:
    """What the order page shows HQ before approving or rejecting."""
    ids = [line.product_id for line in order.lines]
    stock = {
        pid: (on_hand, reserved, active)
        for pid, on_hand, reserved, active in db.session.execute(
            select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved, Product.active)
            .join(Product, Product.id == StockLevel.product_id)
            .where(StockLevel.product_id.in_(ids))
        )
    }
    still_open = order.status in (SUBMITTED, APPROVED, PARTIALLY_SHIPPED)
    lines = []
    for line in order.lines:
        on_hand, reserved, active = stock.get(line.product_id, (0, 0, False))
        held = line.qty - line.shipped_qty if still_open else 0
        lines.append(LineStock(line, on_hand, reserved, held, active))
    placer = order.user
    return DeskFacts(
        wallet.summary(order.dealer),
        lines,
        order.dealer.active,
        (placer.name or placer.username) if placer.is_hq else "",
    )


# --- 代客下单: HQ places an order for a dealer ----------------------------------------------


def _placed(order: Order) -> dict:
    """An order as the audit log keeps it when it is created."""
    return {
        "dealer": order.dealer.code,
        "status": order.status,
        "lines": [[line.sku, line.qty, format_fen(line.unit_price)] for line in order.lines],
        "goods_amount": format_fen(order.goods_amount),
        "rebate_amount": format_fen(order.rebate_amount),
        "payable_amount": format_fen(order.payable_amount),
        "note": order.note,
    }


def dealer_to_order_for(code: str) -> Dealer:
    """An active dealer HQ may place an order for. Raises NotFound, Conflict dealer_inactive."""
    dealer = dealer_by_code(code)
    if not dealer.active:
        raise Conflict(f"Dealer {code!r} is deactivated.", code="dealer_inactive")
    return dealer


def place_order_for_dealer(
    staff: User,
    dealer_code: str,
    lines: list[LineRequest],
    *,
    key: str,
    use_rebate: int = 0,
    note: str = "",
) -> Order:
    """HQ places an order for a dealer (代客下单) through place_order itself: the dealer's
    prices, visible products, stock, funds and rebate cap, in the same one transaction. The
    order, its `submitted` event and the audit log name `staff` as who placed it. `key` (the
    form's idempotency key) makes a resubmission return the first order, placed once.

    Raises Forbidden, NotFound, Conflict dealer_inactive / insufficient_stock /
    insufficient_funds, Invalid (lines, rebate, key).
    """
    permissions.require(staff, permissions.ORDER_DESK)
    dealer = dealer_to_order_for(dealer_code)
    print_ = idempotency.fingerprint("POST", f"hq:order-for:{dealer.code}", {})
    claimed = idempotency.claim(staff.id, key, print_)
    if isinstance(claimed, idempotency.Replay):
        return order_by_id(dealer, claimed.order_id)
    try:
        return place_order(
            staff,
            lines,
            for_dealer=dealer,
            use_rebate=use_rebate,
            note=note,
            idempotency_key_id=claimed.id,
        )
    except DomainError:
        db.session.rollback()  # the key's claim goes too: a corrected form may use it
        raise
