"""`make bench`, part two: order placement on PostgreSQL, the app against the database floor.

Two mixes of 3-line order attempts from the 200 dealers: "5 hot SKUs" (every order has one
or two of 5 hot SKUs, three of which run out, so 409 insufficient_stock refusals happen too;
its other lines come from a pool of 300) and "50 SKUs" (all three lines from the same 50
SKUs, stock enough for all). For each mix and N concurrent clients (N = 8, 32) the same list
of attempts is placed twice from the same starting stock:

  app    N client processes POST /api/v1/orders (bearer token of the order's dealer, a
         unique Idempotency-Key) to the bench's gunicorn, one request at a time each;
  floor  N processes, one psycopg 3 connection each, send the order's statements straight
         to PostgreSQL, one transaction per order (bench/floor.py says which ones).

A run is a fixed list of attempts, not a fixed time, so both sides see the same demand for
the same stock; orders/s = 201s / elapsed. Before each run the orders earlier runs left open
are cancelled (in SQL), nothing is reserved, and the planned stock is put back. After every
run, in SQL: no product has more reserved or ordered than on hand (oversold units), reserved
equals the open orders' lines, every balance equals the sum of its ledger entries, the funds
debited equal the orders' payable amounts, and the 201s equal the orders made.

Clients are processes: Python threads would share one GIL, and the client must not be the
bottleneck (its CPU per request is reported). wrk was not used because it only runs for a
fixed time. Knobs: BENCH_ORDERS (attempts per run, default 800), BENCH_ORDER_CLIENTS (8,32),
BENCH_ORDER_MIXES (hot5,spread50).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import queue
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bench import cpu, floor
from bench.client import USER_AGENT
from bench.dataset import BenchError

CLIENTS = (8, 32)
TARGET = 0.5  # app orders/s as a fraction of the floor's
N_HOT = 5
# Each hot SKU's on_hand as a share of what the attempts ask of it: two run out early,
# one late, two never.
HOT_SHARE = (0.25, 0.5, 0.85, 1.5, 3.0)
N_POOL = 300
N_SPREAD = 50
MIXES = {"hot5": "5 hot SKUs", "spread50": f"{N_SPREAD} SKUs"}
POOL_ON_HAND = 1_000_000
DEPOSIT_FEN = 100_000_000_000  # ¥1,000,000,000 per dealer: funds never run short
WARMUP_PER_CLIENT = 4
OPEN = ("submitted", "approved", "partially_shipped", "shipped")
EXPECTED = ("201", "409 insufficient_stock")  # any other answer fails the bench


@dataclass(frozen=True, slots=True)
class Attempt:
    buyer: floor.Buyer
    token: str
    body: bytes


@dataclass
class Plan:
    attempts: list[Attempt]
    warmup: list[Attempt]  # pool SKUs only; their orders are cancelled before each run
    on_hand: dict[int, int]  # product id -> on_hand at the start of every run
    hot: list[dict]  # id, sku, on_hand, demand (the SKUs that may run out)
    mix: str = "hot5"


@dataclass
class Run:
    kind: str
    clients: int
    attempts: int = 0
    elapsed_s: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None  # gunicorn workers (app runs only)
    db_cpu_s: float | None = None
    samples: list[str] = field(default_factory=list)  # first unexpected answers
    check: dict = field(default_factory=dict)

    @property
    def created(self) -> int:
        return self.outcomes["201"]

    @property
    def refused(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k.startswith("409"))

    @property
    def failures(self) -> dict[str, int]:
        return {k: n for k, n in self.outcomes.items() if k not in EXPECTED}

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def per_s(self, n: int) -> float:
        return n / self.elapsed_s if self.elapsed_s else 0.0

    def ms_per_attempt(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.attempts else seconds / self.attempts * 1000


# --- the plan ---------------------------------------------------------------------------


def _deposit(engine: Engine) -> None:
    """Both accounts for every dealer, and a large deposit with its ledger entry."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO wallet_accounts (dealer_id, account, balance) "
                "SELECT d.id, a.account, 0 FROM dealers d "
                "CROSS JOIN (VALUES ('funds'), ('rebate')) AS a(account) ON CONFLICT DO NOTHING"
            )
        )
        conn.execute(
            text(
                "WITH up AS (UPDATE wallet_accounts SET balance = balance + :amount "
                "WHERE account = 'funds' RETURNING dealer_id, balance) "
                "INSERT INTO ledger_entries (dealer_id, account, type, amount, balance_after, "
                "reference, memo, created_at) SELECT dealer_id, 'funds', 'deposit', :amount, "
                "balance, 'deposit:bench-orders-' || dealer_id || '-' || :tag, 'bench', now() "
                "FROM up"
            ),
            {"amount": DEPOSIT_FEN, "tag": secrets.token_hex(4)},
        )


def _products(engine: Engine, rng: random.Random) -> tuple[list, list, list]:
    """5 hot SKUs sold by the piece (min 1, multiple 1), a pool of other SKUs, and the
    N_SPREAD SKUs (sold by the piece, none of the others) of the 50-SKU mix."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, sku, min_order_qty, order_multiple FROM products "
                "WHERE active AND NOT tier_restricted ORDER BY id"
            )
        ).all()
    singles = [r for r in rows if r.min_order_qty == 1 and r.order_multiple == 1]
    hot = sorted(rng.sample(singles, N_HOT), key=lambda r: r.id)
    hot_ids = {r.id for r in hot}
    pool = rng.sample([r for r in rows if r.id not in hot_ids], N_POOL)
    taken = hot_ids | {r.id for r in pool}
    # its own generator: the 5-hot plan stays the one earlier runs used
    spread = random.Random(N_SPREAD).sample([r for r in singles if r.id not in taken], N_SPREAD)
    return hot, pool, spread


def _buyers(engine: Engine) -> dict[int, tuple[floor.Buyer, str]]:
    """Every active dealer user with a fresh bearer token, minted in the app's context."""
    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services.accounts import issue_token

    app = create_app()
    out = {}
    with app.app_context():
        users = db.session.scalars(
            db.select(User).where(User.role == "dealer", User.active.is_(True))
        ).all()
        for user in users:
            dealer = user.dealer
            if not dealer.active:
                continue
            token, _ = issue_token(user, timedelta(hours=6))
            buyer = floor.Buyer(
                user.id, dealer.id, dealer.tier_id, dealer.credit_limit, user.name or user.username
            )
            out[user.id] = (buyer, token)
        db.session.remove()
        db.engine.dispose()  # no pooled connection may be inherited by the forked clients
    return out


def _body(lines: list[tuple[str, int]]) -> bytes:
    return json.dumps({"lines": [{"sku": s, "qty": q} for s, q in lines]}).encode()


def _attempts(rng, n, buyers, hot, pool, *, with_hot: bool) -> list[Attempt]:
    out = []
    for _ in range(n):
        buyer, token = rng.choice(buyers)
        n_hot = (2 if rng.random() < 0.2 else 1) if with_hot else 0
        lines = [(r.sku, rng.randint(1, 3)) for r in rng.sample(hot, n_hot)]
        lines += [(r.sku, r.min_order_qty * rng.randint(1, 3)) for r in rng.sample(pool, 3 - n_hot)]
        rng.shuffle(lines)
        out.append(Attempt(buyer, token, _body(lines)))
    return out


def _spread_attempts(rng, n, buyers, skus) -> list[Attempt]:
    out = []
    for _ in range(n):
        buyer, token = rng.choice(buyers)
        lines = [(r.sku, rng.randint(1, 3)) for r in rng.sample(skus, 3)]
        out.append(Attempt(buyer, token, _body(lines)))
    return out


def make_plan(
    engine: Engine,
    n_attempts: int,
    max_clients: int,
    seed: int = 20261122,
    mix: str = "hot5",
    buyers: list | None = None,
) -> Plan:
    rng = random.Random(seed)
    _deposit(engine)
    hot, pool, spread = _products(engine, rng)
    buyers = buyers if buyers is not None else list(_buyers(engine).values())
    if not buyers:
        raise BenchError("No active dealer users to place orders with.")
    if mix == "spread50":
        attempts = _spread_attempts(rng, n_attempts, buyers, spread)
    else:
        attempts = _attempts(rng, n_attempts, buyers, hot, pool, with_hot=True)
    warmup = _attempts(rng, WARMUP_PER_CLIENT * max_clients, buyers, hot, pool, with_hot=False)
    if mix == "spread50":
        on_hand = {r.id: POOL_ON_HAND for r in [*pool, *spread]}
        return Plan(attempts, warmup, on_hand, [], mix)
    demand: Counter = Counter()
    for a in attempts:
        for line in json.loads(a.body)["lines"]:
            demand[line["sku"]] += line["qty"]
    hot_rows = []
    for r, share in zip(hot, HOT_SHARE, strict=True):
        on_hand = max(1, round(demand[r.sku] * share))
        hot_rows.append({"id": r.id, "sku": r.sku, "on_hand": on_hand, "demand": demand[r.sku]})
    on_hand = {r.id: POOL_ON_HAND for r in pool} | {h["id"]: h["on_hand"] for h in hot_rows}
    return Plan(attempts, warmup, on_hand, hot_rows, mix)


# --- reset and checks ---------------------------------------------------------------------


def reset(engine: Engine, plan: Plan) -> None:
    """Cancel what earlier runs left open, reserve nothing, and put the planned stock back."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE orders SET status = 'cancelled', updated_at = now() WHERE status = ANY(:o)"
            ),
            {"o": list(OPEN)},
        )
        conn.execute(text("UPDATE stock_levels SET reserved = 0 WHERE reserved <> 0"))
        conn.execute(
            text(
                "UPDATE stock_levels s SET on_hand = v.on_hand, updated_at = now() "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:qty AS integer[])) "
                "AS v(product_id, on_hand) WHERE s.product_id = v.product_id"
            ),
            {"ids": list(plan.on_hand), "qty": list(plan.on_hand.values())},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) stock_levels, wallet_accounts, idempotency_keys"))


CHECK_STOCK = """
WITH ordered AS (
    SELECT l.product_id, SUM(l.qty) AS qty FROM order_lines l
    JOIN orders o ON o.id = l.order_id WHERE o.status = ANY(:o) GROUP BY l.product_id)
SELECT
    COALESCE(SUM(GREATEST(s.reserved, COALESCE(x.qty, 0)) - s.on_hand)
             FILTER (WHERE GREATEST(s.reserved, COALESCE(x.qty, 0)) > s.on_hand), 0),
    COUNT(*) FILTER (WHERE s.reserved <> COALESCE(x.qty, 0)),
    COUNT(*) FILTER (WHERE s.reserved > s.on_hand)
FROM stock_levels s LEFT JOIN ordered x ON x.product_id = s.product_id
"""
CHECK_FUNDS = """
SELECT COUNT(*) FROM wallet_accounts w LEFT JOIN (
    SELECT dealer_id, account, SUM(amount) AS total FROM ledger_entries GROUP BY 1, 2) e
    ON e.dealer_id = w.dealer_id AND e.account = w.account
WHERE w.balance <> COALESCE(e.total, 0)
"""
CHECK_ORDERS = """
SELECT COUNT(*), COALESCE(SUM(o.payable_amount), 0),
    COALESCE((SELECT -SUM(le.amount) FROM ledger_entries le JOIN orders o2 ON o2.id = le.order_id
              WHERE o2.status = ANY(:o) AND le.type = 'order_debit'), 0)
FROM orders o WHERE o.status = ANY(:o)
"""


def check(engine: Engine, plan: Plan) -> dict:
    """The invariants after a run, straight in SQL."""
    with engine.connect() as conn:
        oversold, mismatched, over = conn.execute(text(CHECK_STOCK), {"o": list(OPEN)}).one()
        funds_off = conn.execute(text(CHECK_FUNDS)).scalar_one()
        orders, payable, debited = conn.execute(text(CHECK_ORDERS), {"o": list(OPEN)}).one()
        left = dict(
            conn.execute(
                text(
                    "SELECT product_id, on_hand - reserved FROM stock_levels "
                    "WHERE product_id = ANY(:ids)"
                ),
                {"ids": [h["id"] for h in plan.hot]},
            ).all()
        )
    return {
        "oversold_units": int(oversold),
        "reserved_not_ordered": int(mismatched),  # products whose reserved ≠ open order lines
        "reserved_over_on_hand": int(over),
        "balances_not_ledger_sum": int(funds_off),
        "orders_made": int(orders),
        "payable_minus_debited_fen": int(payable) - int(debited),
        "hot_sold_out": sum(1 for h in plan.hot if left[h["id"]] < 3),
    }


def check_problems(run: Run) -> list[str]:
    c = run.check
    problems = [f"{k} = {c[k]}" for k in CHECKED_ZERO if c[k]]
    if c["orders_made"] != run.created:
        problems.append(f"{run.created} answers 201 but {c['orders_made']} orders were made")
    return problems


CHECKED_ZERO = (
    "oversold_units",
    "reserved_not_ordered",
    "reserved_over_on_hand",
    "balances_not_ledger_sum",
    "payable_minus_debited_fen",
)


# --- clients ------------------------------------------------------------------------------


def _http_sender(base: str):
    """POST /api/v1/orders over one connection (reopened when gunicorn closes it)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def send(attempt: Attempt, key: str) -> tuple[str, str]:
        headers = {
            "Authorization": f"Bearer {attempt.token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        try:
            conn.request("POST", "/api/v1/orders", attempt.body, headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            return f"transport {type(err).__name__}", str(err)
        if resp.will_close:
            conn.close()
        if resp.status == 201:
            return "201", ""
        try:
            code = json.loads(data).get("code", "?")
        except (ValueError, AttributeError):
            code = "?"
        return f"{resp.status} {code}", data[:300].decode(errors="replace")

    return send


def _sql_sender(conninfo: str):
    conn = psycopg.connect(conninfo)

    def send(attempt: Attempt, key: str) -> tuple[str, str]:
        try:
            return floor.place(conn, attempt.buyer, key, attempt.body), ""
        except (psycopg.Error, LookupError) as err:
            conn.rollback()
            return f"db {getattr(err, 'sqlstate', None) or type(err).__name__}", str(err)[:300]

    return send


def _client(kind, target, attempts, warmup, tag, ready, go, done, out) -> None:
    """One client process: warm up, report ready, wait for go, send its share, report."""
    try:
        send = _http_sender(target) if kind == "app" else _sql_sender(target)
        for i, attempt in enumerate(warmup):
            outcome, detail = send(attempt, f"{tag}-warm-{os.getpid()}-{i}")
            if outcome != "201":
                raise BenchError(f"warm-up order answered {outcome}: {detail}")
        ready.put(("ready", os.getpid()))
        go.wait()
        cpu0 = time.process_time()
        outcomes: Counter = Counter()
        latencies, samples = [], []
        for i, attempt in attempts:
            t0 = time.perf_counter()
            outcome, detail = send(attempt, f"{tag}-{i}")
            latencies.append((time.perf_counter() - t0) * 1000)
            outcomes[outcome] += 1
            if outcome not in EXPECTED and len(samples) < 3:
                samples.append(f"{outcome}: {detail}")
        out.put((time.monotonic(), outcomes, latencies, time.process_time() - cpu0, samples))
        done.wait(60)  # keep the connection (and its backend's CPU count) until measured
    except BaseException as err:  # noqa: BLE001 - the parent reports it and fails the run
        ready.put(("error", f"{type(err).__name__}: {err}"))
        out.put(("error", f"{type(err).__name__}: {err}"))


def _wait_ready(ready, procs, n: int) -> None:
    deadline = time.monotonic() + 120
    got = 0
    while got < n:
        try:
            what, detail = ready.get(timeout=1)
        except queue.Empty:
            if time.monotonic() > deadline or not all(p.is_alive() for p in procs):
                raise BenchError("order clients did not get ready (one died or hung)") from None
            continue
        if what == "error":
            raise BenchError(f"an order client failed while warming up: {detail}")
        got += 1


def _collect(out, procs, n: int, run: Run, t0: float) -> None:
    deadline = time.monotonic() + 900
    ends = []
    while len(ends) < n:
        try:
            item = out.get(timeout=1)
        except queue.Empty:
            if time.monotonic() > deadline or not any(p.is_alive() for p in procs):
                raise BenchError("order clients stopped without reporting") from None
            continue
        if item[0] == "error":
            raise BenchError(f"an order client failed: {item[1]}")
        end, outcomes, latencies, cpu_s, samples = item
        ends.append(end)
        run.outcomes.update(outcomes)
        run.latencies_ms += latencies
        run.client_cpu_s += cpu_s
        run.samples += samples
    run.elapsed_s = max(ends) - t0


def drive(kind: str, n: int, target: str, plan: Plan, engine: Engine, url: str, server) -> Run:
    """One run: N client processes warm up, the stock is reset, then all start together."""
    ctx = mp.get_context("fork")
    ready, out, go, done = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    tag = f"{kind}{n}-{secrets.token_hex(4)}"
    numbered = list(enumerate(plan.attempts))
    procs = [
        ctx.Process(
            target=_client,
            args=(
                kind,
                target,
                numbered[w::n],
                plan.warmup[w::n][:WARMUP_PER_CLIENT],
                tag,
                ready,
                go,
                done,
                out,
            ),
            daemon=True,
        )
        for w in range(n)
    ]
    run = Run(kind, n, attempts=len(plan.attempts))
    try:
        for p in procs:
            p.start()
        _wait_ready(ready, procs, n)
        reset(engine, plan)
        workers = cpu.children(server.proc.pid) if kind == "app" else []
        backends = client_backends(engine)
        before = cpu.cpu_seconds(workers), cpu.cpu_seconds(backends)
        t0 = time.monotonic()
        go.set()
        _collect(out, procs, n, run, t0)
        if workers:
            run.server_cpu_s = cpu.cpu_seconds(workers) - before[0]
        if backends:
            run.db_cpu_s = cpu.cpu_seconds(backends) - before[1]
    finally:
        done.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
    run.check = check(engine, plan)
    return run


def client_backends(engine: Engine) -> list[int]:
    """PIDs of the client backends on the bench database (not autovacuum), on this host."""
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


# --- report -------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def row(app: Run, db_floor: Run, mix: str = "hot5") -> dict:
    ratio = app.per_s(app.created) / db_floor.per_s(db_floor.created) if db_floor.created else 0.0
    return {
        "mix": mix,
        "clients": app.clients,
        "attempts": app.attempts,
        "app_orders_per_s": round(app.per_s(app.created), 1),
        "app_requests_per_s": round(app.per_s(app.attempts), 1),
        "app_p50_ms": round(app.pct(0.50), 2),
        "app_p95_ms": round(app.pct(0.95), 2),
        "app_201": app.created,
        "app_409": app.refused,
        "app_failures": app.failures,
        "app_elapsed_s": round(app.elapsed_s, 2),
        "app_check": app.check,
        "floor_orders_per_s": round(db_floor.per_s(db_floor.created), 1),
        "floor_attempts_per_s": round(db_floor.per_s(db_floor.attempts), 1),
        "floor_p50_ms": round(db_floor.pct(0.50), 2),
        "floor_p95_ms": round(db_floor.pct(0.95), 2),
        "floor_201": db_floor.created,
        "floor_409": db_floor.refused,
        "floor_failures": db_floor.failures,
        "floor_elapsed_s": round(db_floor.elapsed_s, 2),
        "floor_check": db_floor.check,
        "ratio": round(ratio, 3),
        "target": TARGET,
        "pass": ratio >= TARGET,
        "oversold_units": app.check["oversold_units"] + db_floor.check["oversold_units"],
        # wallet accounts whose balance is not the sum of their entries, and runs whose
        # debits differ from the orders' payable amounts
        "ledger_mismatches": sum(
            c["balances_not_ledger_sum"] + bool(c["payable_minus_debited_fen"])
            for c in (app.check, db_floor.check)
        ),
        # CPU milliseconds per order attempt
        "app_server_cpu_ms": _r(app.ms_per_attempt(app.server_cpu_s)),
        "app_db_cpu_ms": _r(app.ms_per_attempt(app.db_cpu_s)),
        "app_client_cpu_ms": _r(app.ms_per_attempt(app.client_cpu_s)),
        "floor_db_cpu_ms": _r(db_floor.ms_per_attempt(db_floor.db_cpu_s)),
        "floor_client_cpu_ms": _r(db_floor.ms_per_attempt(db_floor.client_cpu_s)),
        # floor CPU / app CPU per order: the ratio a quiet machine would show if CPU were
        # all that limits (the app's HTTP client left out, the floor's SQL client counted)
        "cpu_ratio": _cpu_ratio(app, db_floor),
    }


def _cpu_ratio(app: Run, db_floor: Run) -> float | None:
    if app.server_cpu_s is None or app.db_cpu_s is None or db_floor.db_cpu_s is None:
        return None
    app_cpu = app.server_cpu_s + app.db_cpu_s
    floor_cpu = db_floor.db_cpu_s + db_floor.client_cpu_s
    return round(floor_cpu / app_cpu, 3) if app_cpu > 0 else None


def _c(value: float | None, width: int = 6) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"


def _describe(plan: Plan) -> str:
    dealers = len({a.buyer.dealer_id for a in plan.attempts})
    what = f"{len(plan.attempts)} 3-line orders per run from {dealers} dealers"
    if not plan.hot:
        return f"{MIXES[plan.mix]}: {what}, every line one of the {N_SPREAD} SKUs"
    hot = ", ".join(f"{h['sku']} {h['on_hand']}/{h['demand']}" for h in plan.hot)
    return f"{MIXES[plan.mix]}: {what}; hot SKUs (on hand/asked): {hot}"


def table(rows: list[dict], plans: list[Plan]) -> str:
    head = (
        f"{'SKUs':<10} {'clients':>7} {'orders/s':>8} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'201':>5} {'409':>5} {'oversold':>8}  {'floor/s':>7} {'fl p50':>6} {'fl p95':>6}  "
        f"{'ratio':>5} {'target':>6}  result"
    )
    lines = ["order placement on PostgreSQL:", *(f"  {_describe(p)}" for p in plans)]
    lines += [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{MIXES[r['mix']]:<10} "
            f"{r['clients']:>7} {r['app_orders_per_s']:>8,.1f} {r['app_requests_per_s']:>6,.1f} "
            f"{r['app_p50_ms']:>7.1f} {r['app_p95_ms']:>7.1f} {r['app_201']:>5} "
            f"{r['app_409']:>5} {r['oversold_units']:>8}  {r['floor_orders_per_s']:>7,.1f} "
            f"{r['floor_p50_ms']:>6.1f} {r['floor_p95_ms']:>6.1f}  {r['ratio']:>5.2f} "
            f"{'≥' + str(TARGET):>6}  {'PASS' if r['pass'] else 'MISS'}"
        )
    cpu_head = (
        f"{'SKUs':<10} {'clients':>7}  {'app workers':>11} {'app db':>7} {'(HTTP client)':>13}  "
        f"{'floor client':>12} {'floor db':>8}  {'CPU ratio':>9}"
    )
    lines += ["", "CPU ms per order attempt:", cpu_head, "-" * len(cpu_head)]
    for r in rows:
        lines.append(
            f"{MIXES[r['mix']]:<10} "
            f"{r['clients']:>7}  {_c(r['app_server_cpu_ms'], 11)} {_c(r['app_db_cpu_ms'], 7)} "
            f"{_c(r['app_client_cpu_ms'], 13)}  {_c(r['floor_client_cpu_ms'], 12)} "
            f"{_c(r['floor_db_cpu_ms'], 8)}  {_c(r['cpu_ratio'], 9)}"
        )
    lines.append(
        "orders/s counts 201s, req/s every attempt; oversold = units ordered or reserved beyond "
        "on hand, app and\nfloor runs together; floor = bench/floor.py's statements, one "
        "transaction per order, no app; CPU ratio =\n(floor client + floor db) / (app workers + "
        "app db), the ratio a quiet machine would show if CPU were all\nthat limits."
    )
    return "\n".join(lines)


def _say(run: Run) -> None:
    print(
        f" {run.per_s(run.created):,.1f} orders/s, {run.created} × 201, {run.refused} × 409, "
        f"{run.elapsed_s:.1f}s, oversold {run.check['oversold_units']}"
    )
    for problem in check_problems(run):
        print(f"   !!! {run.kind} N={run.clients}: {problem}")
    if run.failures:
        print(f"   !!! {run.kind} N={run.clients}: unexpected answers {run.failures}")
        for sample in run.samples[:5]:
            print(f"       {sample}")


def from_env() -> tuple[int, tuple[int, ...], tuple[str, ...]]:
    """BENCH_ORDERS (attempts per run), BENCH_ORDER_CLIENTS ("8,32") and BENCH_ORDER_MIXES."""
    value = os.environ.get("BENCH_ORDERS", "")
    clients = os.environ.get("BENCH_ORDER_CLIENTS", "")
    mixes = tuple(m.strip() for m in os.environ.get("BENCH_ORDER_MIXES", "").split(",") if m)
    if value and not value.isdigit():
        raise BenchError(f"BENCH_ORDERS must be a whole number, not {value!r}.")
    if clients and not all(c.strip().isdigit() and int(c) > 0 for c in clients.split(",")):
        raise BenchError(f"BENCH_ORDER_CLIENTS must be like 8,32, not {clients!r}.")
    if any(m not in MIXES for m in mixes):
        raise BenchError(f"BENCH_ORDER_MIXES must name some of {', '.join(MIXES)}.")
    n_clients = tuple(int(c) for c in clients.split(",")) if clients else CLIENTS
    return (int(value) if value else 800), n_clients, mixes or tuple(MIXES)


def _mix(server, url: str, engine: Engine, plan: Plan, clients) -> tuple[list[dict], bool]:
    """Both sides at every N for one plan."""
    reset(engine, plan)  # the pool's stock in place before the first warm-up
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows, failed = [], False
    for n in clients:
        runs = {}
        for kind, target in (("app", server.base), ("floor", conninfo)):
            print(
                f"   {MIXES[plan.mix]:<10} {kind:<5} N={n:<3} {len(plan.attempts)} orders …",
                end="",
                flush=True,
            )
            runs[kind] = drive(kind, n, target, plan, engine, url, server)
            _say(runs[kind])
            failed |= bool(runs[kind].failures or check_problems(runs[kind]))
        rows.append(row(runs["app"], runs["floor"], plan.mix))
    reset(engine, plan)
    return rows, failed


def bench(server, url: str) -> tuple[list[dict], dict]:
    """Both sides at every N, for each mix; returns the table rows and what the JSON keeps."""
    engine = create_engine(url)
    try:
        n_attempts, clients, mixes = from_env()
        buyers = list(_buyers(engine).values())
        plans, rows, failed = [], [], False
        for mix in mixes:
            plan = make_plan(engine, n_attempts, max(clients), mix=mix, buyers=buyers)
            mix_rows, mix_failed = _mix(server, url, engine, plan, clients)
            plans.append(plan)
            rows += mix_rows
            failed |= mix_failed
    finally:
        engine.dispose()
    report = {
        "clients": list(clients),
        "mixes": {p.mix: MIXES[p.mix] for p in plans},
        "attempts_per_run": n_attempts,
        "hot_skus": next((p.hot for p in plans if p.hot), []),
        "target": TARGET,
        "failed": failed,
        "results": rows,
        "table": table(rows, plans),
    }
    return rows, report


def main() -> int:
    """`python -m bench.orders`: only this part, on a fresh bench database."""
    import secrets as _secrets
    import sys

    from bench import dataset
    from bench.client import wait_healthy
    from bench.run import RESULTS
    from bench.server import Gunicorn

    url = dataset.database_url()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": _secrets.token_hex(32)}
    try:
        print(dataset.prepare(url, env))
        RESULTS.mkdir(parents=True, exist_ok=True)
        with Gunicorn(env, RESULTS / "gunicorn.log") as server:
            wait_healthy(server.base, server.alive)
            _, report = bench(server, url)
    except BenchError as err:
        print(f"bench.orders: {err}", file=sys.stderr)
        return 1
    print(report["table"])
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
