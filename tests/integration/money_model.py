"""Helpers of the stateful money test (test_money_stateful.py).

`Model` is a plain-Python account of what the database should hold after every step: both
balances of each dealer, stock, orders, shipments, notices, deposits by reference and posted
settlements. `check_database` states the invariants in SQL, independent of the model: they
would hold for any sequence of service calls. `snapshot` is the whole database (but the
carrier-event log), to show that a refused call changed nothing.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Text, cast, func, literal_column, select, text, union_all

from app.extensions import db
from app.models.logistics import RANK

OPEN = ("submitted", "approved", "partially_shipped", "shipped")
CLOSED = ("cancelled", "rejected")
# Entries that bring money into a dealer's accounts, and those that move it to and from orders.
SOURCE_TYPES = ("deposit", "adjustment", "rebate_earned", "settlement")
ORDER_TYPES = ("order_debit", "order_refund", "rebate_use", "rebate_refund", "rebate_earned")
LEDGER_TYPES = tuple(sorted(set(SOURCE_TYPES + ORDER_TYPES)))
NOT_COMPARED = {"carrier_events", "webhook_refusals"}  # a repeated event is logged there


def half_up(fen: int, rate: Decimal | str) -> int:
    """rate × fen to the nearest fen, halves away from zero (amounts here are ≥ 0)."""
    return int((Decimal(fen) * Decimal(rate)).to_integral_value(rounding=ROUND_HALF_UP))


def _sql_list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


_reader = None  # the checks' own connection while `reading()` lasts


@contextlib.contextmanager
def reading():
    """A connection of the checks' own, in autocommit, for the length of a run: it reads what
    is committed, and never rolls back, so psycopg keeps the statements it prepared (it forgets
    them all on ROLLBACK); planning these unions costs PostgreSQL more than running them."""
    global _reader
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        _reader = connection
        try:
            yield
        finally:
            _reader = None


def _run(sql: str):
    """End the app's transaction (as the end of a request would), then read what is committed.
    The dummy bound parameter is there because psycopg prepares only statements with one."""
    db.session.rollback()
    wrapped = f"SELECT * FROM ({sql}) q WHERE CAST(:one AS INTEGER) = 1"
    return _reader.execute(text(wrapped), {"one": 1})


# --- the model ------------------------------------------------------------------------------


@dataclass
class MOrder:
    number: str
    dealer: str
    lines: dict[str, list[int]]  # sku → [qty, shipped]
    goods: int
    rebate: int
    payable: int
    earnable: int
    status: str = "submitted"
    shipments: list[str] = field(default_factory=list)  # tracking numbers
    delivered_day: date | None = None  # Shanghai day of its `delivered` event

    def left(self, sku: str) -> int:
        qty, shipped = self.lines[sku]
        return qty - shipped


@dataclass
class MShipment:
    tracking: str
    order: str
    status: str = "created"


@dataclass
class MNotice:
    id: int
    dealer: str
    amount: int
    reference: str
    status: str = "pending"


@dataclass
class MSettlement:
    body: tuple  # (from_day, to_day, brackets)
    items: dict[str, tuple[int, Decimal, int]]  # dealer code → (basis, rate, amount)


@dataclass
class Model:
    credit_limit: dict[str, int]
    tier: dict[str, str]
    initial_on_hand: dict[str, int]
    funds: dict[str, int] = field(default_factory=dict)
    rebate: dict[str, int] = field(default_factory=dict)
    funds_floor: dict[str, int] = field(default_factory=dict)
    on_hand: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)
    rates: dict[str, str] = field(default_factory=dict)
    max_use_ratio: str = "0"
    deposits: dict[str, tuple[str, int]] = field(default_factory=dict)  # ref → (dealer, amount)
    orders: dict[str, MOrder] = field(default_factory=dict)
    shipments: dict[str, MShipment] = field(default_factory=dict)
    waiting: dict[str, list[str]] = field(default_factory=dict)  # tracking → early statuses
    notices: dict[int, MNotice] = field(default_factory=dict)
    settlements: dict[str, MSettlement] = field(default_factory=dict)

    def __post_init__(self):
        for code, limit in self.credit_limit.items():
            self.funds.setdefault(code, 0)
            self.rebate.setdefault(code, 0)
            self.funds_floor.setdefault(code, -limit)
        self.on_hand = dict(self.initial_on_hand)
        self.reserved = {sku: 0 for sku in self.initial_on_hand}

    # money

    def rate_for(self, dealer: str) -> Decimal:
        return Decimal(self.rates.get(self.tier[dealer], "0"))

    def cap(self, goods: int) -> int:
        return half_up(goods, self.max_use_ratio)

    def adjust_funds(self, dealer: str, amount: int) -> None:
        """HQ may take funds anywhere; the balance after the last adjustment is the new floor
        when it is below the credit limit (orders never go below −credit_limit)."""
        self.funds[dealer] += amount
        self.funds_floor[dealer] = min(-self.credit_limit[dealer], self.funds[dealer])

    def pending(self, dealer: str) -> int:
        return sum(
            o.earnable for o in self.orders.values() if o.dealer == dealer and o.status in OPEN
        )

    def view(self) -> dict[tuple[str, str], str]:
        """What the database should show now, in the shape `observed` reads it."""
        view = {}
        for dealer in self.credit_limit:
            view["funds", dealer] = str(self.funds[dealer])
            view["rebate", dealer] = str(self.rebate[dealer])
            view["pending", dealer] = str(self.pending(dealer))
        for sku, counted in self.initial_on_hand.items():
            # on hand / reserved / on hand + shipped (what was counted at the start)
            view["stock", sku] = f"{self.on_hand[sku]}/{self.reserved[sku]}/{counted}"
        view.update({("order", n): o.status for n, o in self.orders.items()})
        view.update({("shipment", t): s.status for t, s in self.shipments.items()})
        view.update({("notice", str(i)): n.status for i, n in self.notices.items()})
        return view

    # orders and shipments

    def refund(self, order: MOrder) -> None:
        for sku in order.lines:
            self.reserved[sku] -= order.left(sku)
        self.funds[order.dealer] += order.payable
        self.rebate[order.dealer] += order.rebate

    def ship(self, order: MOrder, tracking: str, quantities: dict[str, int]) -> MShipment:
        for sku, qty in quantities.items():
            order.lines[sku][1] += qty
            self.on_hand[sku] -= qty
            self.reserved[sku] -= qty
        done = all(order.left(sku) == 0 for sku in order.lines)
        order.status = "shipped" if done else "partially_shipped"
        shipment = MShipment(tracking, order.number)
        self.shipments[tracking] = shipment
        order.shipments.append(tracking)
        for status in self.waiting.pop(tracking, []):  # events that came first now apply
            self._raise(shipment, status)
        self.deliver_if_done(order)
        return shipment

    def event(self, tracking: str, status: str) -> None:
        """A new carrier event for a tracking number (a shipment's, or one still to come)."""
        shipment = self.shipments.get(tracking)
        if shipment is None:
            self.waiting.setdefault(tracking, []).append(status)
            return
        if self._raise(shipment, status) and status == "delivered":
            self.deliver_if_done(self.orders[shipment.order])

    @staticmethod
    def _raise(shipment: MShipment, status: str) -> bool:
        if status != "exception" and RANK[status] > RANK[shipment.status]:
            shipment.status = status
            return True
        return False

    def deliver_if_done(self, order: MOrder) -> None:
        if order.status == "shipped" and all(
            self.shipments[t].status == "delivered" for t in order.shipments
        ):
            order.status = "delivered"
            self.rebate[order.dealer] += order.earnable

    # settlements

    def settlement_items(
        self, from_day: date, to_day: date, brackets: list[tuple[int, str]]
    ) -> dict[str, tuple[int, Decimal, int]]:
        """Each dealer's basis (payable of orders delivered in the range), the rate of the
        highest bracket it reaches, and the amount; dealers reaching no bracket are left out."""
        items = {}
        for dealer in self.credit_limit:
            basis = sum(
                o.payable
                for o in self.orders.values()
                if o.dealer == dealer
                and o.status == "delivered"
                and from_day <= o.delivered_day <= to_day
            )
            reached = [Decimal(rate) for minimum, rate in brackets if minimum <= basis]
            if reached:
                items[dealer] = (basis, reached[-1], half_up(basis, reached[-1]))
        return items


# --- invariants in SQL ----------------------------------------------------------------------
#
# Each invariant is a query for the rows that break it; all are counted in one round trip
# after every step, and the rows of a broken one are fetched for the message.

_OPEN, _CLOSED = _sql_list(OPEN), _sql_list(CLOSED)

INVARIANTS = {
    "a balance is the sum of its entries": """
        SELECT a.dealer_id, a.account, a.balance, COALESCE(SUM(e.amount), 0) AS entries
        FROM wallet_accounts a
        LEFT JOIN ledger_entries e ON e.dealer_id = a.dealer_id AND e.account = a.account
        GROUP BY a.dealer_id, a.account, a.balance
        HAVING a.balance <> COALESCE(SUM(e.amount), 0)
    """,
    "every entry belongs to an account": """
        SELECT e.id, e.dealer_id, e.account FROM ledger_entries e
        LEFT JOIN wallet_accounts a ON a.dealer_id = e.dealer_id AND a.account = e.account
        WHERE a.dealer_id IS NULL
    """,
    # Append-only: each entry's balance_after is the running sum of its account up to it.
    "balance_after is the running sum": """
        SELECT id, balance_after, running FROM (
            SELECT id, balance_after, SUM(amount) OVER (
                PARTITION BY dealer_id, account ORDER BY id ROWS UNBOUNDED PRECEDING
            ) AS running
            FROM ledger_entries
        ) r WHERE running <> balance_after
    """,
    "entries are of the contract's types": f"""
        SELECT id, type FROM ledger_entries WHERE type NOT IN ({_sql_list(LEDGER_TYPES)})
    """,
    "order entries name their order, of the same dealer": f"""
        SELECT e.id, e.type, e.order_id FROM ledger_entries e
        LEFT JOIN orders o ON o.id = e.order_id
        WHERE (e.type IN ({_sql_list(ORDER_TYPES)}) AND o.id IS NULL)
           OR e.dealer_id <> o.dealer_id
    """,
    # Funds: HQ's adjustments may go anywhere, orders never below −credit_limit; so the
    # balance is not below −credit_limit, or else not below what the last adjustment left.
    "rebate ≥ 0 and funds ≥ −credit limit (or what HQ's last adjustment left)": """
        SELECT * FROM (
            SELECT a.dealer_id, a.account, a.balance, d.credit_limit,
                (SELECT e.balance_after FROM ledger_entries e
                 WHERE e.dealer_id = a.dealer_id AND e.account = 'funds'
                   AND e.type = 'adjustment'
                 ORDER BY e.id DESC LIMIT 1) AS last_adjusted
            FROM wallet_accounts a JOIN dealers d ON d.id = a.dealer_id
        ) f
        WHERE (account = 'rebate' AND balance < 0)
           OR (account = 'funds' AND balance < -credit_limit
               AND (last_adjusted IS NULL OR balance < last_adjusted))
    """,
    "0 ≤ reserved ≤ on_hand, reserved = Σ unshipped qty of open orders' lines": f"""
        SELECT s.product_id, s.on_hand, s.reserved, COALESCE(t.qty, 0) AS unshipped
        FROM stock_levels s
        LEFT JOIN (
            SELECT l.product_id, SUM(l.qty - l.shipped_qty) AS qty
            FROM order_lines l JOIN orders o ON o.id = l.order_id
            WHERE o.status IN ({_OPEN})
            GROUP BY l.product_id
        ) t ON t.product_id = s.product_id
        WHERE s.reserved < 0 OR s.reserved > s.on_hand OR s.reserved <> COALESCE(t.qty, 0)
    """,
    "a line's shipped_qty is what its shipments carry": """
        SELECT l.id, l.shipped_qty, COALESCE(s.qty, 0) AS carried FROM order_lines l
        LEFT JOIN (SELECT order_line_id, SUM(qty) AS qty FROM shipment_lines
                   GROUP BY order_line_id) s ON s.order_line_id = l.id
        WHERE l.shipped_qty <> COALESCE(s.qty, 0)
    """,
    # The money equation of the test's docstring, dealer by dealer.
    "deposits + adjustments + earned + settled = balances + what live orders took": f"""
        SELECT * FROM (
            SELECT d.code,
                (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e
                 WHERE e.dealer_id = d.id AND e.type IN ({_sql_list(SOURCE_TYPES)})) AS came_in,
                (SELECT COALESCE(SUM(a.balance), 0) FROM wallet_accounts a
                 WHERE a.dealer_id = d.id) AS balances,
                (SELECT COALESCE(SUM(o.payable_amount + o.rebate_amount), 0) FROM orders o
                 WHERE o.dealer_id = d.id AND o.status NOT IN ({_CLOSED})) AS taken
            FROM dealers d
        ) m WHERE came_in <> balances + taken
    """,
    # Each order took its payable and rebate once, gave both back once if cancelled or
    # rejected, and earned its rebate once if (and only if) delivered.
    "each order's entries match its amounts and status": f"""
        SELECT * FROM (
            SELECT o.number, o.status, o.payable_amount, o.rebate_amount, o.rebate_earnable,
                COALESCE(SUM(CASE WHEN e.type = 'order_debit' THEN e.amount END), 0) AS debit,
                COALESCE(SUM(CASE WHEN e.type = 'order_refund' THEN e.amount END), 0)
                    AS refund,
                COALESCE(SUM(CASE WHEN e.type = 'rebate_use' THEN e.amount END), 0) AS used,
                COALESCE(SUM(CASE WHEN e.type = 'rebate_refund' THEN e.amount END), 0)
                    AS rebate_back,
                COALESCE(SUM(CASE WHEN e.type = 'rebate_earned' THEN e.amount END), 0)
                    AS earned
            FROM orders o LEFT JOIN ledger_entries e ON e.order_id = o.id
            GROUP BY o.id, o.number, o.status, o.payable_amount, o.rebate_amount,
                     o.rebate_earnable
        ) x
        WHERE debit <> -payable_amount OR used <> -rebate_amount
           OR refund <> CASE WHEN status IN ({_CLOSED}) THEN payable_amount ELSE 0 END
           OR rebate_back <> CASE WHEN status IN ({_CLOSED}) THEN rebate_amount ELSE 0 END
           OR earned <> CASE WHEN status = 'delivered' THEN rebate_earnable ELSE 0 END
    """,
    "an order's status agrees with its lines, shipments and events": """
        SELECT * FROM (
            SELECT o.number, o.status,
                (SELECT SUM(l.shipped_qty) FROM order_lines l WHERE l.order_id = o.id)
                    AS shipped,
                (SELECT COUNT(*) FROM order_lines l
                 WHERE l.order_id = o.id AND l.shipped_qty < l.qty) AS lines_left,
                (SELECT COUNT(*) FROM shipments s WHERE s.order_id = o.id) AS shipments,
                (SELECT COUNT(*) FROM shipments s
                 WHERE s.order_id = o.id AND s.status <> 'delivered') AS undelivered,
                (SELECT COUNT(*) FROM order_events v
                 WHERE v.order_id = o.id AND v.status = 'delivered') AS delivered_events
            FROM orders o
        ) x
        WHERE CASE
            WHEN status IN ('submitted', 'approved', 'cancelled', 'rejected')
                THEN shipped <> 0 OR shipments <> 0
            WHEN status = 'partially_shipped' THEN lines_left = 0 OR shipments = 0
            WHEN status = 'shipped' THEN lines_left <> 0 OR undelivered = 0
            WHEN status = 'delivered' THEN lines_left <> 0 OR undelivered <> 0 OR shipments = 0
            ELSE 1 = 1
        END
        OR delivered_events <> CASE WHEN status = 'delivered' THEN 1 ELSE 0 END
    """,
    "settlement entries are what the posted lines say": """
        SELECT * FROM (
            SELECT d.code,
                (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e
                 WHERE e.dealer_id = d.id AND e.type = 'settlement') AS credited,
                (SELECT COALESCE(SUM(l.amount), 0) FROM rebate_settlement_lines l
                 WHERE l.dealer_id = d.id) AS settled
            FROM dealers d
        ) s WHERE credited <> settled
    """,
    "a dealer is settled at most once a period": """
        SELECT s.period, l.dealer_id, COUNT(*) AS lines FROM rebate_settlement_lines l
        JOIN rebate_settlements s ON s.id = l.settlement_id
        GROUP BY s.period, l.dealer_id HAVING COUNT(*) > 1
    """,
}


@functools.cache
def _all_invariants_query() -> str:
    counts = [
        f"SELECT {i} AS n, (SELECT COUNT(*) FROM ({sql}) v{i}) AS broken"
        for i, sql in enumerate(INVARIANTS.values())
    ]
    return "\nUNION ALL\n".join(counts)


def check_database() -> None:
    """Every invariant the database must satisfy after any step, whatever the sequence."""
    broken = [n for n, count in _run(_all_invariants_query()) if count]
    messages = []
    for n in sorted(broken):
        name, sql = list(INVARIANTS.items())[n]
        rows = _run(sql).all()
        messages.append(f"{name}: {[tuple(row) for row in rows]}")
    assert not messages, "broken invariants:\n" + "\n".join(messages)


# --- what the model compares ---------------------------------------------------------------

OBSERVED = f"""
    SELECT a.account AS kind, d.code AS k, CAST(a.balance AS TEXT) AS v
    FROM wallet_accounts a JOIN dealers d ON d.id = a.dealer_id
    UNION ALL
    SELECT 'pending', d.code, CAST(COALESCE(SUM(o.rebate_earnable), 0) AS TEXT)
    FROM dealers d LEFT JOIN orders o ON o.dealer_id = d.id AND o.status IN ({_sql_list(OPEN)})
    GROUP BY d.code
    UNION ALL
    SELECT 'stock', p.sku,
        CAST(s.on_hand AS TEXT) || '/' || CAST(s.reserved AS TEXT) || '/'
        || CAST(s.on_hand + COALESCE((SELECT SUM(l.shipped_qty) FROM order_lines l
                                      WHERE l.product_id = p.id), 0) AS TEXT)
    FROM products p JOIN stock_levels s ON s.product_id = p.id
    UNION ALL
    SELECT 'order', number, status FROM orders
    UNION ALL
    SELECT 'shipment', tracking_no, status FROM shipments
    UNION ALL
    SELECT 'notice', CAST(id AS TEXT), status FROM deposit_notices
"""


def observed() -> dict[tuple[str, str], str]:
    """Balances, rebate pending, stock, and order, shipment and notice statuses, now."""
    return {(kind, key): value for kind, key, value in _run(OBSERVED)}


# --- nothing changed --------------------------------------------------------------------------


@functools.cache
def _snapshot_sql(dialect_name: str) -> str:
    """One UNION ALL over every compared table: (table name, the row's cells as text)."""
    parts = []
    for table in db.metadata.sorted_tables:
        if table.name in NOT_COMPARED:
            continue
        cells = [func.coalesce(cast(c, Text), literal_column("'-'")) for c in table.columns]
        row = cells[0]
        for cell in cells[1:]:
            row = row.concat(literal_column("'|'")).concat(cell)
        name = literal_column(f"'{table.name}'")
        parts.append(select(name.label("t"), row.label("r")).select_from(table))
    return str(union_all(*parts).compile(dialect=db.engine.dialect))


def snapshot() -> dict[str, list]:
    """Every row of every table (but the carrier-event log), as committed now."""
    state: dict[str, list] = {
        table.name: [] for table in db.metadata.sorted_tables if table.name not in NOT_COMPARED
    }
    for name, row in _run(_snapshot_sql(db.engine.dialect.name)):
        state[name].append(row)
    return {name: sorted(rows) for name, rows in state.items()}


def changed(before: dict[str, list], after: dict[str, list]) -> dict[str, tuple]:
    """The tables whose rows differ, with (rows gone, rows new)."""
    diff = {}
    for name, rows in before.items():
        gone = [row for row in rows if row not in after[name]]
        new = [row for row in after[name] if row not in rows]
        if gone or new:
            diff[name] = (gone, new)
    return diff
