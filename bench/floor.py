"""The database floor: one order placement as plain psycopg 3 statements, no app in between.

What the app sends for POST /api/v1/orders with an Idempotency-Key (logged once with a
before_cursor_execute listener on the bench database, 3-line order answered 201) is 24
statements in 3 transactions (25 while the settings cache is cold):

  1. claim:    SELECT api_tokens ⋈ users ⋈ dealers ⋈ tiers (bearer auth)
               DELETE idempotency_keys WHERE created_at < now - 48h
               INSERT idempotency_keys … RETURNING id                               COMMIT
  2. place:    SELECT idempotency_keys (refresh after commit), SELECT users ⋈ dealers ⋈ tiers
               SELECT products ⋈ categories WHERE visible AND sku IN (…)
               SELECT tier_prices UNION ALL dealer_prices
               (SELECT settings, when not cached)
               INSERT wallet_accounts … ON CONFLICT DO NOTHING (ensure_accounts)
               UPDATE stock_levels … WHERE on_hand - reserved >= qty     × 3, product-id order
               INSERT orders … RETURNING id
               INSERT order_events … RETURNING id
               INSERT order_lines (3 rows, one statement) … RETURNING id
               UPDATE orders SET number
               UPDATE wallet_accounts … balance + amount >= floor RETURNING balance
               INSERT ledger_entries … RETURNING id
               UPDATE idempotency_keys SET order_id                                  COMMIT
  3. answer:   SELECT orders, dealers ⋈ tiers, order_lines, order_events (re-loaded to render)
               SELECT idempotency_keys (refresh)
               UPDATE idempotency_keys SET response_status, response_body           COMMIT

The floor mirrors what any implementation must send, in ONE transaction per order, with the
app's SQL text: the products and prices reads (needed to validate and price the lines), the
idempotency INSERT, the three guarded stock UPDATEs in product-id order, INSERT orders,
INSERT order_events, INSERT order_lines (3 rows), UPDATE orders SET number, the guarded
wallet UPDATE … RETURNING balance, INSERT ledger_entries, and one idempotency UPDATE that
stores order id, status and body — 12 statements and one COMMIT. Left out as app overhead:
the token lookup, the expired-key DELETE, the settings read, ensure_accounts, the
re-loads after each commit, and two of the three commits. A refused order (a guarded
UPDATE matching no row) rolls back and reads what is available, as the app does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg

SHANGHAI = ZoneInfo("Asia/Shanghai")

PRODUCTS = (
    "SELECT products.id, products.sku, products.name, products.unit, products.spec, "
    "products.category_id, products.list_price, products.min_order_qty, "
    "products.order_multiple, products.low_stock_threshold, products.active, "
    "products.search_grams, products.tier_restricted, products.created_at, "
    "products.updated_at, categories_1.id AS id_1, categories_1.name AS name_1, "
    "categories_1.position FROM products LEFT OUTER JOIN categories AS categories_1 "
    "ON categories_1.id = products.category_id WHERE products.active IS true AND "
    "(products.tier_restricted IS false OR (EXISTS (SELECT * FROM product_tier_limits "
    "WHERE product_tier_limits.product_id = products.id AND "
    "product_tier_limits.tier_id = %(tier_id)s::INTEGER))) AND products.sku IN "
    "(%(sku_1)s::VARCHAR, %(sku_2)s::VARCHAR, %(sku_3)s::VARCHAR)"
)
PRICES = (
    "SELECT tier_prices.product_id, 't'::VARCHAR AS anon_1, tier_prices.min_qty, "
    "tier_prices.price FROM tier_prices WHERE tier_prices.product_id IN "
    "(%(p1)s::INTEGER, %(p2)s::INTEGER, %(p3)s::INTEGER) AND "
    "tier_prices.tier_id = %(tier_id)s::INTEGER UNION ALL SELECT dealer_prices.product_id, "
    "'d'::VARCHAR AS anon_2, dealer_prices.min_qty, dealer_prices.price FROM dealer_prices "
    "WHERE dealer_prices.product_id IN (%(p1)s::INTEGER, %(p2)s::INTEGER, %(p3)s::INTEGER) "
    "AND dealer_prices.dealer_id = %(dealer_id)s::INTEGER"
)
CLAIM = (
    "INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, "
    "response_body, order_id, created_at) VALUES (%(user_id)s::INTEGER, %(key)s::VARCHAR, "
    "%(fingerprint)s::VARCHAR, NULL, NULL, NULL, %(now)s::TIMESTAMP WITH TIME ZONE) "
    "RETURNING idempotency_keys.id"
)
RESERVE = (
    "UPDATE stock_levels SET reserved=(stock_levels.reserved + %(qty)s::INTEGER), "
    "updated_at=%(now)s::TIMESTAMP WITH TIME ZONE WHERE stock_levels.product_id = "
    "%(product_id)s::INTEGER AND stock_levels.on_hand - stock_levels.reserved >= "
    "%(qty)s::INTEGER"
)
AVAILABLE = (
    "SELECT stock_levels.product_id, stock_levels.on_hand - stock_levels.reserved AS anon_1 "
    "FROM stock_levels WHERE stock_levels.product_id = ANY(%(ids)s::INTEGER[])"
)
ORDER = (
    "INSERT INTO orders (number, dealer_id, user_id, status, goods_amount, rebate_amount, "
    "payable_amount, rebate_rate, rebate_earnable, note, created_at, updated_at) VALUES "
    "(NULL, %(dealer_id)s::INTEGER, %(user_id)s::INTEGER, 'submitted', %(goods)s::BIGINT, "
    "0, %(goods)s::BIGINT, '0', 0, '', %(now)s::TIMESTAMP WITH TIME ZONE, "
    "%(now)s::TIMESTAMP WITH TIME ZONE) RETURNING orders.id"
)
EVENT = (
    "INSERT INTO order_events (order_id, status, at, by_user_id, by_name, reason) VALUES "
    "(%(order_id)s::INTEGER, 'submitted', %(now)s::TIMESTAMP WITH TIME ZONE, "
    "%(user_id)s::INTEGER, %(by_name)s::VARCHAR, '') RETURNING order_events.id"
)
_LINE = (
    "(%(order_id)s::INTEGER, {i}, %(product_id_{i})s::INTEGER, %(sku_{i})s::VARCHAR, "
    "%(name_{i})s::VARCHAR, %(unit_{i})s::VARCHAR, %(qty_{i})s::INTEGER, "
    "%(price_{i})s::BIGINT, %(amount_{i})s::BIGINT, 0, {i})"
)
LINES = (
    "INSERT INTO order_lines (order_id, position, product_id, sku, name, unit, qty, "
    "unit_price, amount, shipped_qty) SELECT p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 FROM "
    "(VALUES " + ", ".join(_LINE.format(i=i) for i in range(3)) + ") AS imp_sen(p0, p1, p2, "
    "p3, p4, p5, p6, p7, p8, p9, sen_counter) ORDER BY sen_counter RETURNING order_lines.id"
)
NUMBER = (
    "UPDATE orders SET number=%(number)s::VARCHAR, updated_at=%(now)s::TIMESTAMP WITH TIME "
    "ZONE WHERE orders.id = %(order_id)s::INTEGER"
)
DEBIT = (
    "UPDATE wallet_accounts SET balance=(wallet_accounts.balance + %(amount)s::BIGINT) "
    "WHERE wallet_accounts.dealer_id = %(dealer_id)s::INTEGER AND wallet_accounts.account = "
    "'funds' AND wallet_accounts.balance + %(amount)s::BIGINT >= %(floor)s::BIGINT "
    "RETURNING wallet_accounts.balance"
)
LEDGER = (
    "INSERT INTO ledger_entries (dealer_id, account, type, amount, balance_after, reference, "
    "order_id, memo, created_by, created_at) VALUES (%(dealer_id)s::INTEGER, 'funds', "
    "'order_debit', %(amount)s::BIGINT, %(balance)s::BIGINT, %(reference)s::VARCHAR, "
    "%(order_id)s::INTEGER, '', %(user_id)s::INTEGER, %(now)s::TIMESTAMP WITH TIME ZONE) "
    "RETURNING ledger_entries.id"
)
ANSWER = (
    "UPDATE idempotency_keys SET order_id=%(order_id)s::INTEGER, "
    "response_status=201, response_body=%(body)s::VARCHAR WHERE idempotency_keys.id = "
    "%(key_id)s::INTEGER"
)


@dataclass(frozen=True, slots=True)
class Buyer:
    """What the app learns from the bearer token: the user and their dealer."""

    user_id: int
    dealer_id: int
    tier_id: int
    credit_limit: int
    name: str


def _unit_price(breaks: list[tuple[int, int]], qty: int) -> int:
    price = breaks[0][1]
    for min_qty, row_price in breaks:
        if min_qty > qty:
            break
        price = row_price
    return price


def _priced(cur, buyer: Buyer, lines: list[tuple[str, int]]) -> list[dict]:
    """The products and their unit prices (dealer table, else tier table, else list)."""
    skus = {f"sku_{i + 1}": sku for i, (sku, _) in enumerate(lines)}
    cur.execute(PRODUCTS, {"tier_id": buyer.tier_id, **skus})
    products = {row[1]: row for row in cur.fetchall()}
    if len(products) != len(lines):
        raise LookupError(f"unknown or hidden SKU among {sorted(skus.values())}")
    ids = {f"p{i + 1}": products[sku][0] for i, (sku, _) in enumerate(lines)}
    cur.execute(PRICES, {**ids, "tier_id": buyer.tier_id, "dealer_id": buyer.dealer_id})
    tables: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for product_id, kind, min_qty, price in cur.fetchall():
        tables.setdefault((product_id, kind), []).append((min_qty, price))
    out = []
    for sku, qty in lines:
        pid, _, name, unit, _, _, list_price = products[sku][:7]
        breaks = tables.get((pid, "d")) or tables.get((pid, "t")) or [(1, list_price)]
        price = _unit_price(sorted(breaks), qty)
        out.append(
            {"product_id": pid, "sku": sku, "name": name, "unit": unit, "qty": qty, "price": price}
        )
    return out


def _fingerprint(body: bytes) -> str:
    canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(b"POST /api/v1/orders\n" + canonical.encode()).hexdigest()


def _refuse(conn: psycopg.Connection, short: list[int]) -> str:
    """Roll back and read what is available, as the app's 409 does."""
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute(AVAILABLE, {"ids": short})
        cur.fetchall()
    conn.commit()
    return "409 insufficient_stock"


def _reserve(cur, lines: list[dict], now: datetime) -> list[int]:
    short = []
    for line in sorted(lines, key=lambda line: line["product_id"]):
        cur.execute(RESERVE, {"qty": line["qty"], "now": now, "product_id": line["product_id"]})
        if cur.rowcount != 1:
            short.append(line["product_id"])
    return short


def _record(cur, buyer: Buyer, lines: list[dict], key_id: int, now: datetime) -> str | None:
    """Order, event, lines, number, debit, ledger entry, stored answer; None when funds ran out."""
    goods = sum(line["price"] * line["qty"] for line in lines)
    ids = {"dealer_id": buyer.dealer_id, "user_id": buyer.user_id, "now": now}
    cur.execute(ORDER, {**ids, "goods": goods})
    order_id = cur.fetchone()[0]
    cur.execute(EVENT, {**ids, "order_id": order_id, "by_name": buyer.name})
    params: dict[str, object] = {"order_id": order_id}
    for i, line in enumerate(lines):
        params.update({f"{k}_{i}": line[k] for k in ("product_id", "sku", "name", "unit", "qty")})
        params.update({f"price_{i}": line["price"], f"amount_{i}": line["price"] * line["qty"]})
    cur.execute(LINES, params)
    cur.fetchall()
    number = f"SO{now.astimezone(SHANGHAI):%y%m%d}{order_id:08d}"
    cur.execute(NUMBER, {"number": number, "now": now, "order_id": order_id})
    debit = {**ids, "amount": -goods, "floor": -buyer.credit_limit}
    cur.execute(DEBIT, debit)
    row = cur.fetchone()
    if row is None:
        return None
    reference = f"order:{number}:debit"
    cur.execute(LEDGER, {**debit, "balance": row[0], "reference": reference, "order_id": order_id})
    body = json.dumps(
        {"number": number, "status": "submitted", "goods_amount": goods, "lines": lines}
    )
    cur.execute(ANSWER, {"order_id": order_id, "body": body, "key_id": key_id})
    return number


def place(conn: psycopg.Connection, buyer: Buyer, key: str, body: bytes) -> str:
    """One order attempt in one transaction; returns "201" or "409 <code>" like the API."""
    lines = [(line["sku"], line["qty"]) for line in json.loads(body)["lines"]]
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        priced = _priced(cur, buyer, lines)
        claim = {"user_id": buyer.user_id, "key": key, "fingerprint": _fingerprint(body)}
        cur.execute(CLAIM, {**claim, "now": now})
        key_id = cur.fetchone()[0]
        short = _reserve(cur, priced, now)
        if short:
            return _refuse(conn, short)
        if _record(cur, buyer, priced, key_id, now) is None:
            conn.rollback()
            return "409 insufficient_funds"
    conn.commit()
    return "201"
