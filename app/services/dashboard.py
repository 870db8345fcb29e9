"""The HQ dashboard's figures: the review queue, today, order-handling time, sales by day,
this month's top dealers and products, low stock and dealer health (issue 9, UI.md).

Every figure is computed and grouped by the database; cancelled and rejected orders never
count towards money. Days are Shanghai calendar days; "the last 30 days" are today and the
29 days before it.

The figures over history (sales by day, the month's top lists, dealer health, handling time)
are a fold of the `order_events` log, which only ever grows, over the facts of an order that
never change once it is placed (dealer, goods amount, lines, time placed). Each process
computes them once, for the last 60 days, with three grouped statements in one snapshot;
every later render applies only the events written since: a submitted order adds itself to
its day, a cancellation or rejection takes it away again, an approval or a first shipment
adds a handling time. A render so reads what changed rather than the whole history, and the
dashboard is as quick at a million orders as at ten thousand (bench/dashboard.py). The queue,
stock and each dealer's last order are read live on every render.

Percentiles are taken as PostgreSQL's percentile_cont takes them (linear between neighbours),
over the days' durations kept sorted in memory: one merged list per window of closed days,
plus today's. Exact on PostgreSQL, where each refresh reads one snapshot; SQLite has no
snapshot across statements, which matters only to a process racing its own writes.
"""

from __future__ import annotations

import threading
import time as clock
from array import array
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from heapq import nlargest
from math import floor

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.extensions import db
from app.models import Dealer, Order, OrderEvent, OrderLine, Product, StockLevel
from app.models.orders import (
    APPROVED,
    CANCELLED,
    PARTIALLY_SHIPPED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
)
from app.services.statements import SHANGHAI, day_start

EXCLUDED = (CANCELLED, REJECTED)  # never counted as sales
HANDLED = (APPROVED, PARTIALLY_SHIPPED, SHIPPED)
FEED = (SUBMITTED, *EXCLUDED, *HANDLED)  # the events that move a figure
HISTORY_DAYS = 60  # dealer health compares the last 30 days with the 30 before
CHART_DAYS = 30
WINDOWS = (7, 30)
QUEUE_CARDS = 3
TOP = 5
LISTED = 8  # low-stock products and dealers listed (the counts say how many in all)
# Events get their id when written but are seen only once committed, not always in id
# order: the first computation re-reads the newest OVERLAP_IDS ids, later renders the ids
# of the last OVERLAP_S seconds, skipping those applied already.
OVERLAP_IDS = 500
OVERLAP_S = 120.0
# A process that fell this far behind computes afresh rather than catching up.
REBUILD_AFTER_DAYS = 7
SECONDS = "i"  # handling times are kept as arrays of 32-bit seconds (a million orders: ~5 MB)
FEED_MAX = 5000  # events


@dataclass(frozen=True, slots=True)
class Queue:
    count: int
    oldest: datetime | None
    orders: list[Order]  # the first few, oldest first, with dealer and lines loaded


@dataclass(frozen=True, slots=True)
class Today:
    placed: int  # every order placed today
    excluded: int  # of which cancelled or rejected since
    amount: int  # fen: the goods amount of the others


@dataclass(frozen=True, slots=True)
class Stat:
    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True, slots=True)
class Handling:
    days: int
    approved: Stat  # submitted → approved, over orders approved in these days
    shipped: Stat  # submitted → first shipment, over orders first shipped in these days


@dataclass(frozen=True, slots=True)
class DaySales:
    day: date
    amount: int  # fen
    orders: int  # orders placed that day and still counted


@dataclass(frozen=True, slots=True)
class TopDealer:
    code: str
    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class TopProduct:
    sku: str
    name: str
    unit: str
    amount: int
    qty: int


@dataclass(frozen=True, slots=True)
class LowStock:
    sku: str
    name: str
    unit: str
    available: int
    threshold: int


@dataclass(frozen=True, slots=True)
class Silent:
    code: str
    name: str
    last_order: datetime | None  # None: never ordered


@dataclass(frozen=True, slots=True)
class Falling:
    code: str
    name: str
    last_30: int  # fen, the last 30 days
    before_30: int  # fen, the 30 days before


@dataclass(frozen=True, slots=True)
class Dashboard:
    now: datetime
    today: date
    month_start: date
    queue: Queue
    orders_today: Today
    handling: list[Handling]
    sales: list[DaySales]  # CHART_DAYS days, oldest first, today last
    top_dealers: list[TopDealer]
    top_products: list[TopProduct]
    low_stock: list[LowStock]
    low_stock_count: int
    silent: list[Silent]
    silent_count: int
    falling: list[Falling]
    falling_count: int


def shanghai_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def dashboard(now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard as of `now` (default: this instant); reads only."""
    now = now or datetime.now(UTC)
    today = shanghai_day(now)
    history = _history_for_engine()
    with history.lock:
        history.refresh(today)
        view = history.view(today)
    dealers = _dealers(today)
    low, low_count = _low_stock()
    silent = [d for d in dealers.values() if d.active and d.silent]
    falling = _falling(dealers, view)
    return Dashboard(
        now=now,
        today=today,
        month_start=today.replace(day=1),
        queue=_queue(),
        orders_today=view.today,
        handling=view.handling,
        sales=view.sales,
        top_dealers=[
            TopDealer(dealers[i].code, dealers[i].name, amount)
            for i, amount in view.top_dealers
            if i in dealers
        ],
        top_products=_top_products(view.top_products),
        low_stock=low,
        low_stock_count=low_count,
        silent=[Silent(d.code, d.name, d.last_order) for d in silent[:LISTED]],
        silent_count=len(silent),
        falling=falling[:LISTED],
        falling_count=len(falling),
    )


def forget() -> None:
    """Drop what this process computed (tests that rewrite history call it)."""
    with _registry_lock:
        _registry.clear()


# --- read live -----------------------------------------------------------------------


def _queue() -> Queue:
    count, oldest = db.session.execute(
        select(func.count(), func.min(Order.created_at)).where(Order.status == SUBMITTED)
    ).one()
    first = db.session.scalars(
        select(Order)
        .options(joinedload(Order.dealer), selectinload(Order.lines))
        .where(Order.status == SUBMITTED)
        .order_by(Order.created_at, Order.id)
        .limit(QUEUE_CARDS)
    ).all()
    return Queue(count, oldest, list(first))


def _low_stock() -> tuple[list[LowStock], int]:
    available = (StockLevel.on_hand - StockLevel.reserved).label("available")
    rows = db.session.execute(
        select(
            Product.sku,
            Product.name,
            Product.unit,
            available,
            Product.low_stock_threshold,
            func.count().over().label("total"),
        )
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(Product.active.is_(True), available <= Product.low_stock_threshold)
        .order_by(available, Product.sku)
        .limit(LISTED)
    ).all()
    total = rows[0].total if rows else 0
    return [
        LowStock(r.sku, r.name, r.unit, r.available, r.low_stock_threshold) for r in rows
    ], total


@dataclass(frozen=True, slots=True)
class _Dealer:
    id: int
    code: str
    name: str
    active: bool
    last_order: datetime | None
    silent: bool


def _dealers(today: date) -> dict[int, _Dealer]:
    """Every dealer with the time of their last order (one index probe per dealer)."""
    last = (
        select(func.max(Order.created_at))
        .where(Order.dealer_id == Dealer.id)
        .correlate(Dealer)
        .scalar_subquery()
    )
    since = day_start(today - timedelta(days=CHART_DAYS - 1))
    rows = db.session.execute(
        select(Dealer.id, Dealer.code, Dealer.name, Dealer.active, last.label("last")).order_by(
            Dealer.code
        )
    ).all()
    return {
        r.id: _Dealer(r.id, r.code, r.name, r.active, r.last, r.last is None or r.last < since)
        for r in rows
    }


def _falling(dealers: dict[int, _Dealer], view: _View) -> list[Falling]:
    """Active dealers (not silent) whose last 30 days are at most half the 30 before."""
    out = []
    for dealer_id, (last, before) in view.health.items():
        dealer = dealers.get(dealer_id)
        if dealer and dealer.active and not dealer.silent and before > 0 and 2 * last <= before:
            out.append(Falling(dealer.code, dealer.name, last, before))
    out.sort(key=lambda f: (f.last_30 - f.before_30, f.code))
    return out


def _top_products(ranked: list[tuple[int, int, int]]) -> list[TopProduct]:
    if not ranked:
        return []
    ids = [product_id for product_id, _, _ in ranked]
    found = {
        r.id: r
        for r in db.session.execute(
            select(Product.id, Product.sku, Product.name, Product.unit).where(Product.id.in_(ids))
        )
    }
    return [
        TopProduct(found[i].sku, found[i].name, found[i].unit, amount, qty)
        for i, amount, qty in ranked
        if i in found
    ]


# --- history: computed once per process, then kept up with the event log --------------


@dataclass(slots=True)
class _Day:
    """The orders placed on one day."""

    placed: int = 0
    excluded: int = 0
    amount: int = 0  # fen, cancelled and rejected orders left out
    by_dealer: dict[int, int] = field(default_factory=dict)
    version: int = 0

    def add(self, dealer_id: int, amount: int, sign: int) -> None:
        self.amount += sign * amount
        self.by_dealer[dealer_id] = self.by_dealer.get(dealer_id, 0) + sign * amount
        self.version += 1


@dataclass(slots=True)
class _Handled:
    """The handling times (seconds, sorted) of orders approved / first shipped on one day."""

    approved: array = field(default_factory=lambda: array(SECONDS))
    shipped: array = field(default_factory=lambda: array(SECONDS))
    version: int = 0


@dataclass(frozen=True, slots=True)
class _Facts:
    """What an order brings to the figures; none of it changes after placing."""

    dealer_id: int
    amount: int
    day: date
    lines: list[tuple[int, int, int]]  # (product id, amount, qty)


@dataclass(frozen=True, slots=True)
class _View:
    today: Today
    handling: list[Handling]
    sales: list[DaySales]
    top_dealers: list[tuple[int, int]]  # (dealer id, amount)
    top_products: list[tuple[int, int, int]]  # (product id, amount, qty)
    health: dict[int, tuple[int, int]]  # dealer id -> (last 30 days, the 30 before)


class _History:
    """The history figures of one database, for one process (guard with `lock`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.today: date | None = None
        self.days: dict[date, _Day] = {}
        self.handled: dict[date, _Handled] = {}
        self.products: dict[tuple[int, int], dict[int, list[int]]] = {}  # month -> id -> [fen, qty]
        self.low_water = 0  # every event at or below this id has been applied (or skipped)
        self.applied: set[int] = set()  # ids above low_water already applied
        self.marks: deque[tuple[float, int]] = deque()  # (monotonic time, newest id seen)
        self.newest: tuple[int, datetime] | None = None
        self.cache: dict[tuple, tuple[tuple, object]] = {}  # key -> (versions, value)

    # -- keeping up ----------------------------------------------------------------

    def refresh(self, today: date) -> None:
        with _snapshot() as conn:
            stale = (
                self.today is None
                or today < self.today
                or (today - self.today).days > REBUILD_AFTER_DAYS
                or not self._same_log(conn)
            )
            if not stale and today != self.today:
                self._roll(today)
            if stale or not self._follow(conn):
                self._build(conn, today)

    def _same_log(self, conn: Connection) -> bool:
        """The newest event applied is still there unchanged (a reloaded database is not)."""
        if self.newest is None:
            return True
        event_id, at = self.newest
        found = conn.scalar(select(OrderEvent.at).where(OrderEvent.id == event_id))
        return found == at

    def _build(self, conn: Connection, today: date) -> None:
        self._reset()
        self.today = today
        top = conn.execute(
            select(OrderEvent.id, OrderEvent.at).order_by(OrderEvent.id.desc()).limit(1)
        ).first()
        self.newest = (top.id, top.at) if top else None
        self.low_water = max(0, top.id - OVERLAP_IDS) if top else 0
        self.applied = set(
            conn.scalars(select(OrderEvent.id).where(OrderEvent.id > self.low_water))
        )
        self._load_days(conn, today)
        self._load_products(conn, today)
        self._load_handled(conn, today)
        self.marks.append((clock.monotonic(), top.id if top else 0))

    def _load_days(self, conn: Connection, today: date) -> None:
        day = _day_of(Order.created_at, conn)
        counted = Order.status.not_in(EXCLUDED)
        rows = conn.execute(
            select(
                day.label("day"),
                Order.dealer_id,
                func.count().label("placed"),
                _int(func.sum(case((counted, 0), else_=1))).label("excluded"),
                _int(func.sum(case((counted, Order.goods_amount), else_=0))).label("amount"),
            )
            .where(Order.created_at >= day_start(self.first_day(today)))
            .group_by(day, Order.dealer_id)
        )
        for r in rows:
            bucket = self._day(r.day)
            if bucket is not None:
                bucket.placed += r.placed
                bucket.excluded += r.excluded
                bucket.add(r.dealer_id, r.amount, 1)

    def _load_products(self, conn: Connection, today: date) -> None:
        month = self.products.setdefault((today.year, today.month), {})
        rows = conn.execute(
            select(
                OrderLine.product_id,
                _int(func.sum(OrderLine.amount)),
                _int(func.sum(OrderLine.qty)),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.created_at >= day_start(today.replace(day=1)),
                Order.status.not_in(EXCLUDED),
            )
            .group_by(OrderLine.product_id)
        )
        for product_id, amount, qty in rows:
            month[product_id] = [amount, qty]

    def _load_handled(self, conn: Connection, today: date) -> None:
        event, submitted, partial = OrderEvent, aliased(OrderEvent), aliased(OrderEvent)
        first_shipment = or_(
            event.status != SHIPPED,
            ~exists().where(
                partial.order_id == event.order_id, partial.status == PARTIALLY_SHIPPED
            ),
        )
        rows = conn.execute(
            select(event.status, _day_of(event.at, conn), _seconds(event.at, submitted.at, conn))
            .join(
                submitted,
                and_(submitted.order_id == event.order_id, submitted.status == SUBMITTED),
            )
            .where(
                event.status.in_(HANDLED),
                event.at >= day_start(today - timedelta(days=max(WINDOWS) - 1)),
                first_shipment,
            )
        )
        for status, day, seconds in rows:
            bucket = self._handled(day)
            if bucket is not None:
                (bucket.approved if status == APPROVED else bucket.shipped).append(seconds)
        for bucket in self.handled.values():
            bucket.approved = array(SECONDS, sorted(bucket.approved))
            bucket.shipped = array(SECONDS, sorted(bucket.shipped))

    def _roll(self, today: date) -> None:
        """A new day: forget what left the windows."""
        self.today = today
        first = self.first_day(today)
        self.days = {d: v for d, v in self.days.items() if d >= first}
        first_handled = today - timedelta(days=max(WINDOWS) - 1)
        self.handled = {d: v for d, v in self.handled.items() if d >= first_handled}
        self.products = {m: v for m, v in self.products.items() if m >= (today.year, today.month)}
        self.cache.clear()

    def _follow(self, conn: Connection) -> bool:
        """Apply the events written since the last render, in the order they were written;
        False (nothing applied) when there are more than FEED_MAX to catch up with."""
        most = FEED_MAX + len(self.applied)
        rows = conn.execute(
            select(OrderEvent.id, OrderEvent.order_id, OrderEvent.status, OrderEvent.at)
            .where(OrderEvent.id > self.low_water, OrderEvent.status.in_(FEED))
            .order_by(OrderEvent.id)
            .limit(most + 1)
        ).all()
        if len(rows) > most:
            return False
        fresh = [r for r in rows if r.id not in self.applied]
        if fresh:
            self._apply(conn, fresh)
            newest = fresh[-1]
            if self.newest is None or newest.id > self.newest[0]:
                self.newest = (newest.id, newest.at)
        self._advance(max([r.id for r in rows], default=self.low_water))
        return True

    def _apply(self, conn: Connection, events) -> None:
        placed = {e.order_id for e in events if e.status in (SUBMITTED, *EXCLUDED)}
        handled = {e.order_id for e in events if e.status in HANDLED}
        facts = _facts(conn, placed)
        submitted_at, partly = _handling_facts(conn, handled)
        for e in events:
            self.applied.add(e.id)
            if e.status == SUBMITTED and e.order_id in facts:
                self._count(facts[e.order_id], 1)
            elif e.status in EXCLUDED and e.order_id in facts:
                self._count(facts[e.order_id], -1)
            elif e.status in HANDLED and e.order_id in submitted_at:
                if e.status == SHIPPED and e.order_id in partly:
                    continue  # its first shipment was the partial one
                self._handle(e.status, e.at, submitted_at[e.order_id])

    def _count(self, facts: _Facts, sign: int) -> None:
        """A new order (sign 1), or one cancelled or rejected (sign -1)."""
        bucket = self._day(facts.day)
        if bucket is None:
            return
        if sign > 0:
            bucket.placed += 1
        else:
            bucket.excluded += 1
        bucket.add(facts.dealer_id, facts.amount, sign)
        month = self.products.setdefault((facts.day.year, facts.day.month), {})
        for product_id, amount, qty in facts.lines:
            totals = month.setdefault(product_id, [0, 0])
            totals[0] += sign * amount
            totals[1] += sign * qty

    def _handle(self, status: str, at: datetime, submitted_at: datetime) -> None:
        bucket = self._handled(shanghai_day(at))
        if bucket is not None:
            seconds = round((at - submitted_at).total_seconds())
            insort(bucket.approved if status == APPROVED else bucket.shipped, seconds)
            bucket.version += 1

    def _advance(self, newest_id: int) -> None:
        """Move the low water mark to the newest id seen OVERLAP_S seconds ago."""
        now = clock.monotonic()
        self.marks.append((now, newest_id))
        while self.marks and now - self.marks[0][0] >= OVERLAP_S:
            self.low_water = max(self.low_water, self.marks.popleft()[1])
        self.applied = {i for i in self.applied if i > self.low_water}

    def first_day(self, today: date) -> date:
        return today - timedelta(days=HISTORY_DAYS - 1)

    def _day(self, day: date) -> _Day | None:
        if day < self.first_day(self.today):
            return None
        return self.days.setdefault(day, _Day())

    def _handled(self, day: date) -> _Handled | None:
        if day < self.today - timedelta(days=max(WINDOWS) - 1):
            return None
        return self.handled.setdefault(day, _Handled())

    # -- reading -------------------------------------------------------------------

    def view(self, today: date) -> _View:
        days = [today - timedelta(days=n) for n in range(HISTORY_DAYS - 1, -1, -1)]
        empty = _Day()
        now = self.days.get(today, empty)
        products = self.products.get((today.year, today.month), {})
        best = nlargest(TOP, products.items(), key=lambda item: (item[1][0], -item[0]))
        last = self._by_dealer(days[-CHART_DAYS:], today)
        before = self._by_dealer(days[:-CHART_DAYS], today)
        return _View(
            today=Today(now.placed, now.excluded, now.amount),
            handling=[self._handling(today, n) for n in WINDOWS],
            sales=[
                DaySales(d, b.amount, b.placed - b.excluded)
                for d, b in ((d, self.days.get(d, empty)) for d in days[-CHART_DAYS:])
            ],
            top_dealers=_top(
                self._by_dealer([d for d in days if d >= today.replace(day=1)], today)
            ),
            top_products=[(i, fen, qty) for i, (fen, qty) in best if fen > 0],
            health={i: (last.get(i, 0), before.get(i, 0)) for i in set(last) | set(before)},
        )

    def _by_dealer(self, days: list[date], today: date) -> dict[int, int]:
        """Each dealer's amount over these days: the closed days summed once per change."""
        closed = [d for d in days if d != today]

        def total() -> dict[int, int]:
            sums: dict[int, int] = {}
            for d in closed:
                for dealer_id, fen in self.days[d].by_dealer.items() if d in self.days else ():
                    sums[dealer_id] = sums.get(dealer_id, 0) + fen
            return sums

        sums = dict(self._cached(("dealers", *closed[:1], len(closed)), self.days, closed, total))
        if today in days and today in self.days:
            for dealer_id, fen in self.days[today].by_dealer.items():
                sums[dealer_id] = sums.get(dealer_id, 0) + fen
        return sums

    def _handling(self, today: date, window: int) -> Handling:
        closed = [today - timedelta(days=n) for n in range(window - 1, 0, -1)]
        now = self.handled.get(today, _Handled())
        stats = []
        for kind in ("approved", "shipped"):

            def merged(kind=kind) -> array:
                handled = self.handled
                found = (v for d in closed if d in handled for v in getattr(handled[d], kind))
                return array(SECONDS, sorted(found))

            key = (kind, *closed[:1], len(closed))
            stats.append(
                _stat([self._cached(key, self.handled, closed, merged), getattr(now, kind)])
            )
        return Handling(window, *stats)

    def _cached(self, key: tuple, buckets: dict, days: list[date], compute):
        """compute(), kept until one of these days' buckets changes."""
        versions = tuple(buckets[d].version if d in buckets else -1 for d in days)
        found = self.cache.get(key)
        if found is None or found[0] != versions:
            found = self.cache[key] = (versions, compute())
        return found[1]


def _top(totals: dict[int, int]) -> list[tuple[int, int]]:
    best = nlargest(TOP, totals.items(), key=lambda item: (item[1], -item[0]))
    return [(dealer_id, amount) for dealer_id, amount in best if amount > 0]


def _stat(parts: list[Sequence[int]]) -> Stat:
    count = sum(len(p) for p in parts)
    return Stat(count, _percentile(parts, 0.5), _percentile(parts, 0.9))


def _percentile(parts: list[Sequence[int]], fraction: float) -> float | None:
    """percentile_cont(fraction) of the union of several sorted lists."""
    count = sum(len(p) for p in parts)
    if not count:
        return None
    position = fraction * (count - 1)
    below = floor(position)
    low = _kth(parts, below)
    if position == below:
        return float(low)
    high = _kth(parts, below + 1)
    return low + (high - low) * (position - below)


def _kth(parts: list[Sequence[int]], k: int) -> int:
    """The k-th smallest value (from 0) of several sorted lists of integers."""
    lo = min(p[0] for p in parts if p)
    hi = max(p[-1] for p in parts if p)
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(bisect_right(p, mid) for p in parts) > k:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _facts(conn: Connection, order_ids: set[int]) -> dict[int, _Facts]:
    if not order_ids:
        return {}
    lines: dict[int, list[tuple[int, int, int]]] = {}
    for r in conn.execute(
        select(
            OrderLine.order_id,
            OrderLine.product_id,
            _int(func.sum(OrderLine.amount)),
            _int(func.sum(OrderLine.qty)),
        )
        .where(OrderLine.order_id.in_(order_ids))
        .group_by(OrderLine.order_id, OrderLine.product_id)
    ):
        lines.setdefault(r[0], []).append((r[1], r[2], r[3]))
    rows = conn.execute(
        select(Order.id, Order.dealer_id, Order.goods_amount, Order.created_at).where(
            Order.id.in_(order_ids)
        )
    )
    return {
        r.id: _Facts(r.dealer_id, r.goods_amount, shanghai_day(r.created_at), lines.get(r.id, []))
        for r in rows
    }


def _handling_facts(conn: Connection, order_ids: set[int]) -> tuple[dict[int, datetime], set[int]]:
    """When each order was submitted, and which of them were partly shipped."""
    if not order_ids:
        return {}, set()
    rows = conn.execute(
        select(OrderEvent.order_id, OrderEvent.status, OrderEvent.at).where(
            OrderEvent.order_id.in_(order_ids),
            OrderEvent.status.in_((SUBMITTED, PARTIALLY_SHIPPED)),
        )
    ).all()
    submitted = {r.order_id: r.at for r in rows if r.status == SUBMITTED}
    return submitted, {r.order_id for r in rows if r.status == PARTIALLY_SHIPPED}


def _int(sum_):
    """Sums of integers as Python ints (PostgreSQL's sum of bigint is a numeric)."""
    return cast(sum_, BigInteger)


def _day_of(column, conn: Connection):
    """The Shanghai calendar day of a timestamp, computed by the database."""
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column), type_=Date)
    return func.date(column, "+8 hours", type_=Date)  # SQLite keeps UTC text; no DST in China


def _seconds(later, earlier, conn: Connection):
    if conn.dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier), BigInteger)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One consistent view of the database for a refresh (PostgreSQL: REPEATABLE READ)."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Compiling these plans to machine code costs more than running them.
                conn.exec_driver_sql("SET LOCAL jit = off")
            yield conn


_registry: dict[str, _History] = {}
_registry_lock = threading.Lock()


def _history_for_engine() -> _History:
    key = db.engine.url.render_as_string(hide_password=False)
    with _registry_lock:
        return _registry.setdefault(key, _History())
