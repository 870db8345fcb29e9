"""`make bench`, the dashboard: /admin/ rendered at 10,000 and at 1,000,000 orders on PostgreSQL.

A database of its own (BENCH_DASHBOARD_DATABASE_URL, default: the bench database's name plus
"_dashboard"; dropped and re-created) gets the bench catalog and its 200 dealers
(bench/dataset.py), then orders written by SQL (generate_series, never through the API):
90 days of them spread over the 200 dealers (a few busy, most small; ten fell silent a month
ago and ten lost most of their trade), one to four lines each from a catalog where a few
products sell most, and the timeline each order's age allows: submitted, then approved
after hours (a long tail), then shipped and delivered — or cancelled or rejected on the way.
Orders too young to have been approved are still waiting, so the review queue looks real.

At each size the dashboard is rendered RENDERS times (default 30) through the app's own
request handling (the Flask test client, signed in as an HQ admin: no network, no wrk), after
a few warm-up renders, each one after a new order, an approval and a rejection written in SQL
(so every render has events to follow); p50 and p95 are reported with the SQL statements per
render. The first render of a fresh process, which computes the history once
(app/services/dashboard.py), is reported on its own. Target: p50 at 1,000,000 orders within
3× of p50 at 10,000 (the p95 ratio is shown too).

Knobs: BENCH_DASHBOARD_DATABASE_URL, BENCH_DASHBOARD_RENDERS (default 30),
BENCH_DASHBOARD_SIZES (default "10000,1000000").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

from bench import dataset
from bench.dataset import BenchError

SIZES = (10_000, 1_000_000)
RENDERS = 30
WARMUP = 3
TARGET = 3.0  # p50 at the largest size / p50 at the smallest
BATCH = 100_000  # orders per INSERT statement
ADMIN, ADMIN_PASSWORD = "bench-dashboard", "bench-dashboard-password"

# One batch of orders [lo, hi]: the draws are made once (MATERIALIZED) and reused for the
# order, its lines and its events. Minutes are log-normal around a median: approval after
# ~12 h (from minutes to days), shipping ~10 h after approval, delivery 1–3 days later.
ORDERS_SQL = """
WITH drawn AS MATERIALIZED (
  SELECT g AS id,
         1 + floor(200 * power(random(), 1.6))::int AS dealer_id,
         CAST(:now AS timestamptz) - random() * interval '90 days' AS placed,
         random() AS fate,
         random() AS quiet,
         interval '1 minute' * (720 * exp(1.2 * (random() + random() + random() - 1.5)))
           AS to_approve,
         interval '1 minute' * (600 * exp(0.9 * (random() + random() + random() - 1.5)))
           AS to_ship,
         interval '1 hour' * (24 + 48 * random()) AS to_deliver,
         1 + floor(random() * 4)::int AS n_lines
  FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS g
), base AS MATERIALIZED (
  -- dealers 191-200 stopped ordering 30 days ago; 181-190 lost most of their last month
  SELECT d.*,
         CASE WHEN d.placed > CAST(:now AS timestamptz) - interval '30 days'
                   AND (d.dealer_id > 190 OR (d.dealer_id > 180 AND d.quiet < 0.7))
              THEN d.placed - interval '30 days' ELSE d.placed END AS created_at
  FROM drawn d
), lines AS MATERIALIZED (
  SELECT l.order_id, l.position, p.id AS product_id, p.sku, p.name, p.unit, l.qty,
         p.list_price * 85 / 100 AS unit_price
  FROM (SELECT b.id AS order_id, j - 1 AS position,
               1 + floor(5000 * power(random(), 2.5))::int AS product_id,
               1 + floor(random() * 20)::int AS qty
        FROM base b, generate_series(1, b.n_lines) AS j) AS l
  JOIN products p ON p.id = l.product_id
), fate AS MATERIALIZED (
  SELECT b.id, b.dealer_id, b.created_at, t.goods,
         b.created_at + b.to_approve AS approved_at,
         b.created_at + b.to_approve + b.to_ship AS shipped_at,
         b.created_at + b.to_approve + b.to_ship + b.to_deliver AS delivered_at,
         b.created_at + b.to_approve / 2 AS cancelled_at,
         CASE
           WHEN b.fate < 0.04 THEN CASE WHEN b.created_at + b.to_approve / 2 <= :now
                                        THEN 'cancelled' ELSE 'submitted' END
           WHEN b.created_at + b.to_approve > :now THEN 'submitted'
           WHEN b.fate < 0.06 THEN 'rejected'
           WHEN b.created_at + b.to_approve + b.to_ship > :now THEN 'approved'
           WHEN b.fate < 0.08 THEN 'partially_shipped'
           WHEN b.created_at + b.to_approve + b.to_ship + b.to_deliver > :now THEN 'shipped'
           ELSE 'delivered'
         END AS status
  FROM base b
  JOIN (SELECT order_id, sum(unit_price * qty) AS goods FROM lines GROUP BY order_id) t
    ON t.order_id = b.id
), new_orders AS (
  INSERT INTO orders (id, number, dealer_id, user_id, status, goods_amount, rebate_amount,
                      payable_amount, rebate_rate, rebate_earnable, note, created_at, updated_at)
  SELECT id, 'SO' || to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYMMDD')
                  || lpad(id::text, 8, '0'),
         dealer_id, dealer_id, status, goods, 0, goods, '0', 0, '', created_at,
         CASE status WHEN 'submitted' THEN created_at WHEN 'cancelled' THEN cancelled_at
                     WHEN 'rejected' THEN approved_at WHEN 'approved' THEN approved_at
                     WHEN 'delivered' THEN delivered_at ELSE shipped_at END
  FROM fate
  RETURNING id
), new_lines AS (
  INSERT INTO order_lines (order_id, position, product_id, sku, name, unit, qty, unit_price,
                           amount, shipped_qty)
  SELECT order_id, position, product_id, sku, name, unit, qty, unit_price, unit_price * qty, 0
  FROM lines
  RETURNING order_id
)
INSERT INTO order_events (order_id, status, at, by_user_id, by_name, reason)
SELECT id, status, at, NULL, '', '' FROM (
  SELECT id, 'submitted' AS status, created_at AS at, 0 AS step FROM fate
  UNION ALL SELECT id, 'cancelled', cancelled_at, 1 FROM fate WHERE status = 'cancelled'
  UNION ALL SELECT id, 'rejected', approved_at, 1 FROM fate WHERE status = 'rejected'
  UNION ALL SELECT id, 'approved', approved_at, 1 FROM fate
    WHERE status IN ('approved', 'partially_shipped', 'shipped', 'delivered')
  UNION ALL SELECT id, 'partially_shipped', shipped_at, 2 FROM fate
    WHERE status = 'partially_shipped'
  UNION ALL SELECT id, 'shipped', shipped_at, 2 FROM fate WHERE status IN ('shipped', 'delivered')
  UNION ALL SELECT id, 'delivered', delivered_at, 3 FROM fate WHERE status = 'delivered'
) AS e
ORDER BY id, step
"""


def database_url() -> str:
    """BENCH_DASHBOARD_DATABASE_URL, or the bench database's URL with "_dashboard" added."""
    url = os.environ.get("BENCH_DASHBOARD_DATABASE_URL", "")
    if url:
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix) :]
        return url
    base = make_url(dataset.database_url())
    return base.set(database=f"{base.database}_dashboard").render_as_string(hide_password=False)


def grow(engine: Engine, total: int, now: datetime) -> float:
    """Add orders (with their lines and events) until there are `total`; returns seconds."""
    started = time.perf_counter()
    with engine.begin() as conn:
        if conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            # The rows are consistent by construction: skip the per-row foreign-key checks.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        have = conn.scalar(text("SELECT coalesce(max(id), 0) FROM orders"))
        for lo in range(have + 1, total + 1, BATCH):
            hi = min(lo + BATCH - 1, total)
            conn.execute(text(ORDERS_SQL), {"lo": lo, "hi": hi, "now": now})
            print(f"   … {hi:,} orders", end="\r", flush=True)
        for table in ("orders", "order_lines", "order_events"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE orders, order_lines, order_events"))
    return time.perf_counter() - started


# A little of a working day between two measured renders, so each render has events to
# follow: an order arrives, the oldest waiting one is approved, and an approved order placed
# on an earlier day is rejected (its day's amount and its dealer's and products' go down).
CHURN_SQL = [
    """
    WITH p AS MATERIALIZED (
      SELECT id, sku, name, unit, list_price, 1 + floor(random() * 200)::int AS dealer_id
      FROM products ORDER BY id OFFSET floor(random() * 5000)::int LIMIT 1
    ), o AS (
      INSERT INTO orders (number, dealer_id, user_id, status, goods_amount, rebate_amount,
                          payable_amount, rebate_rate, rebate_earnable, note, created_at,
                          updated_at)
      SELECT 'SOB' || to_char(clock_timestamp(), 'YYMMDDHH24MISSUS'), dealer_id, dealer_id,
             'submitted', list_price * 3, 0, list_price * 3, '0', 0, '', now(), now()
      FROM p
      RETURNING id
    ), l AS (
      INSERT INTO order_lines (order_id, position, product_id, sku, name, unit, qty,
                               unit_price, amount, shipped_qty)
      SELECT o.id, 0, p.id, p.sku, p.name, p.unit, 3, p.list_price, p.list_price * 3, 0
      FROM o, p
    )
    INSERT INTO order_events (order_id, status, at, by_name, reason)
    SELECT id, 'submitted', now(), '', '' FROM o
    """,
    """
    WITH moved AS (
      UPDATE orders SET status = 'approved', updated_at = now()
      WHERE id = (SELECT id FROM orders WHERE status = 'submitted'
                  ORDER BY created_at, id LIMIT 1)
      RETURNING id
    )
    INSERT INTO order_events (order_id, status, at, by_name, reason)
    SELECT id, 'approved', now(), 'bench', '' FROM moved
    """,
    """
    WITH moved AS (
      UPDATE orders SET status = 'rejected', updated_at = now()
      WHERE id = (SELECT id FROM orders WHERE status = 'approved'
                    AND created_at < now() - interval '1 day'
                  ORDER BY created_at DESC, id LIMIT 1)
      RETURNING id
    )
    INSERT INTO order_events (order_id, status, at, by_name, reason)
    SELECT id, 'rejected', now(), 'bench', 'bench' FROM moved
    """,
]


def churn(engine: Engine) -> None:
    with engine.begin() as conn:
        for sql in CHURN_SQL:
            conn.execute(text(sql))


def _app():
    from app import create_app

    return create_app()


def _signed_in(app):
    """A test client signed in as an HQ admin through the login form."""
    from app.extensions import db
    from app.services import accounts

    with app.app_context():
        accounts.create_admin(ADMIN, ADMIN_PASSWORD)
        db.session.remove()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login", data={"username": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 302 or "/admin" not in answer.headers.get("Location", ""):
        raise BenchError(f"could not sign in as {ADMIN}: {answer.status_code}")
    return client


class _Statements:
    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def _render(client) -> float:
    started = time.perf_counter()
    answer = client.get("/admin/")
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or b"dash-chart" not in answer.data:
        raise BenchError(f"/admin/ answered {answer.status_code}")
    return elapsed


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(app, client, engine: Engine, renders: int) -> dict:
    """The first render of a fresh process (history computed), then `renders` more."""
    from app.extensions import db
    from app.services import dashboard

    with app.app_context():
        statements = _Statements(db.engine)
    dashboard.forget()
    cold = _render(client)
    for _ in range(WARMUP):
        churn(engine)
        _render(client)
    times = []
    statements.count = 0
    for _ in range(renders):
        churn(engine)
        times.append(_render(client))
    return {
        "cold_ms": round(cold, 1),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "renders": renders,
        "statements_per_render": round(statements.count / renders, 1),
    }


def table(rows: list[dict]) -> str:
    head = (
        f"{'orders':>10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'first ms':>9} "
        f"{'SQL/render':>10} {'p50 ×':>6} {'p95 ×':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['orders']:>10,} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['max_ms']:>8.2f} "
            f"{r['cold_ms']:>9,.0f} {r['statements_per_render']:>10} {r['ratio']:>6.2f} "
            f"{r['p95_ratio']:>6.2f}"
        )
    lines.append(
        "first ms: the first render of a fresh process, which computes the history once; the "
        "others follow the event log\n(each after one new order, one approval and one "
        "rejection written in SQL). p50 ×, p95 × = against the smallest size's."
    )
    return "\n".join(lines)


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_DASHBOARD_SIZES", "")
    return [int(s) for s in raw.split(",")] if raw else list(SIZES)


def run() -> int:
    url = database_url()
    renders = int(os.environ.get("BENCH_DASHBOARD_RENDERS", RENDERS))
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    print(f"== dashboard: fresh database {make_url(url).render_as_string(hide_password=True)}")
    load_before = round(os.getloadavg()[0], 2)
    data = dataset.prepare(url, env)  # migrated, 5,000 products and 200 dealers
    print(f"   migrated in {data['migrate_s']}s, catalog loaded in {data['load_s']}s")
    engine = create_engine(url)
    app = _app()  # os.environ now names the bench database (dataset.prepare)
    client = _signed_in(app)
    now = datetime.now(UTC)
    rows = []
    try:
        for size in _sizes():
            print(f"== {size:,} orders: generating …", flush=True)
            seconds = grow(engine, size, now)
            print(f"   generated in {seconds:.1f}s; rendering /admin/ {renders} times …")
            row = {
                "orders": size,
                "generate_s": round(seconds, 1),
                **measure(app, client, engine, renders),
            }
            first = rows[0] if rows else row
            row["ratio"] = round(row["p50_ms"] / first["p50_ms"], 2)
            row["p95_ratio"] = round(row["p95_ms"] / first["p95_ms"], 2)
            rows.append(row)
            print(f"   p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, first {row['cold_ms']} ms")
    finally:
        engine.dispose()
    ratio = rows[-1]["ratio"]
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print()
    print(table(rows))
    largest, smallest = rows[-1]["orders"], rows[0]["orders"]
    print(
        f"target: p50 at {largest:,} orders within {TARGET:.0f}× of {smallest:,}: "
        f"{verdict} ({ratio:.2f}×)"
    )
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "loadavg_1m_before": load_before,
                "loadavg_1m_after": round(os.getloadavg()[0], 2),
                "target_ratio": TARGET,
                "ratio": ratio,
                "pass": ratio <= TARGET,
                "sizes": rows,
            },
            ensure_ascii=False,
        )
    )
    return 0


def main() -> int:
    try:
        return run()
    except BenchError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
