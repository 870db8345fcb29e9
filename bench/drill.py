"""`make drill`: a fault drill. gunicorn with 4 workers on PostgreSQL, a bounded mixed load
(orders, cancels and HQ approvals, each retried on its Idempotency-Key) while random workers
are killed with SIGKILL, then every invariant checked in SQL. Not part of `make test`.

    .venv/bin/python -m bench.drill        (DRILL_SECONDS, default 30; DRILL_CLIENTS, 8;
                                            DRILL_KILL_EVERY, 0.7 seconds)

Exit status 1 when an invariant is broken. The database is BENCH_DATABASE_URL's name + "_drill"
(dropped and re-created).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from http.client import HTTPException
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import dataset, orders
from bench.client import wait_healthy
from bench.dataset import BenchError
from bench.server import Gunicorn

RESULTS = Path(__file__).resolve().parent / "results"
WORKERS = 4
N_SKUS = 12  # few SKUs with little stock: orders compete and some are refused
ON_HAND = 60
RETRIES = 6

# Each is a count that must be 0.
INVARIANTS = {
    "balances ≠ the sum of their ledger": """
        SELECT count(*) FROM wallet_accounts w
        LEFT JOIN (SELECT dealer_id, account, sum(amount) AS s FROM ledger_entries
                   GROUP BY dealer_id, account) l USING (dealer_id, account)
        WHERE w.balance <> coalesce(l.s, 0)""",
    "reserved ≠ the open orders' lines": """
        SELECT count(*) FROM stock_levels s
        LEFT JOIN (SELECT l.product_id, sum(l.qty - l.shipped_qty) AS q FROM order_lines l
                   JOIN orders o ON o.id = l.order_id
                   WHERE o.status IN ('submitted', 'approved') GROUP BY l.product_id) r
               USING (product_id)
        WHERE s.reserved <> coalesce(r.q, 0)""",
    "oversold (reserved above on hand)": (
        "SELECT count(*) FROM stock_levels WHERE reserved > on_hand"
    ),
    "orders half written (no number, line or submitted event)": """
        SELECT count(*) FROM orders o WHERE o.number IS NULL
           OR NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)
           OR NOT EXISTS (SELECT 1 FROM order_events e
                          WHERE e.order_id = o.id AND e.status = 'submitted')""",
    "orders whose debit ≠ what they cost": """
        SELECT count(*) FROM orders o WHERE o.payable_amount > 0 AND coalesce((
            SELECT -sum(amount) FROM ledger_entries e
            WHERE e.order_id = o.id AND e.type = 'order_debit'), 0) <> o.payable_amount""",
    "cancelled orders not refunded": """
        SELECT count(*) FROM orders o WHERE o.status = 'cancelled' AND o.payable_amount > 0
           AND NOT EXISTS (SELECT 1 FROM ledger_entries e
                           WHERE e.order_id = o.id AND e.type = 'order_refund')""",
    "orders without their key": """
        SELECT count(*) FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.order_id = o.id)""",
    "keys with more than one order": """
        SELECT count(*) FROM (SELECT order_id FROM idempotency_keys WHERE order_id IS NOT NULL
                              GROUP BY order_id HAVING count(*) > 1) twice""",
    "order lines ≠ price × qty": (
        "SELECT count(*) FROM order_lines WHERE amount <> unit_price * qty"
    ),
}


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, token: str, body: dict | None = None, key=None):
        """(status, headers, json) or None when the connection broke (a worker was killed)."""
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=15) as answer:
                return answer.status, answer.headers, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, err.headers, json.loads(err.read() or b"{}")
        except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError):
            return None


class Drill:
    def __init__(self, api: Api, buyers: list, admin_token: str, skus: list[str]) -> None:
        self.api, self.buyers, self.admin_token, self.skus = api, buyers, admin_token, skus
        self.tally: Counter = Counter()
        self.numbers_by_key: dict[str, set] = {}
        self.submitted: list[tuple[str, str]] = []  # (number, buyer token)
        self.lock = threading.Lock()

    def note(self, what: str) -> None:
        with self.lock:
            self.tally[what] += 1

    def until_answered(self, *call_args, **call_kwargs):
        for attempt in range(RETRIES):
            reply = self.api.call(*call_args, **call_kwargs)
            if reply is not None and reply[0] < 500:
                return reply, attempt
            self.note("broken connections or 5xx, retried")
            time.sleep(0.05 * (attempt + 1))
        return None, RETRIES

    def place(self, rng: random.Random) -> None:
        token = rng.choice(self.buyers)
        lines = [{"sku": s, "qty": rng.randint(1, 4)} for s in rng.sample(self.skus, 3)]
        key = secrets.token_hex(8)
        reply, retries = self.until_answered(
            "POST", "/api/v1/orders", token, {"lines": lines}, key=key
        )
        if reply is None:
            self.note("orders never answered")
            return
        status, headers, body = reply
        self.note(f"orders answered {status}")
        if headers.get("Idempotent-Replayed") == "true":
            self.note("orders answered by a replay")
        if status == 201:
            with self.lock:
                self.numbers_by_key.setdefault(key, set()).add(body["number"])
                self.submitted.append((body["number"], token))
            if rng.random() < 0.3:  # the answer "lost": the client sends it again
                again = self.api.call("POST", "/api/v1/orders", token, {"lines": lines}, key=key)
                if again is not None and again[0] == 201:
                    with self.lock:
                        self.numbers_by_key[key].add(again[2]["number"])
                    self.note("orders sent twice, replayed")

    def take_submitted(self, rng: random.Random):
        with self.lock:
            if not self.submitted:
                return None
            return self.submitted.pop(rng.randrange(len(self.submitted)))

    def cancel(self, rng: random.Random) -> None:
        taken = self.take_submitted(rng)
        if taken is None:
            return
        number, token = taken
        path = f"/api/v1/orders/{number}/cancel"
        reply, retries = self.until_answered("POST", path, token, key=secrets.token_hex(8))
        self._tally("cancels", reply, retries)

    def approve(self, rng: random.Random) -> None:
        taken = self.take_submitted(rng)
        if taken is None:
            return
        path = f"/api/v1/admin/orders/{taken[0]}/approve"
        key = secrets.token_hex(8)  # a retry after a lost answer is the same call
        reply, retries = self.until_answered("POST", path, self.admin_token, key=key)
        self._tally("approvals", reply, retries)

    def _tally(self, what: str, reply, retries: int) -> None:
        if reply is None:
            self.note(f"{what} never answered")
            return
        self.note(f"{what} answered {reply[0]}" + (" after a retry" if retries else ""))
        if reply[1].get("Idempotent-Replayed") == "true":
            self.note(f"{what} answered by a replay")

    def client(self, seed: int, stop: threading.Event) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.6:
                self.place(rng)
            elif roll < 0.8:
                self.cancel(rng)
            else:
                self.approve(rng)


def _workers(master_pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def killer(master_pid: int, every: float, stop: threading.Event, kills: list) -> None:
    rng = random.Random(7)
    while not stop.wait(every):
        workers = _workers(master_pid)
        if workers:
            pid = rng.choice(workers)
            try:
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
            except ProcessLookupError:
                pass


def _admin_token(url: str) -> str:
    from app import create_app
    from app.extensions import db
    from app.services.accounts import create_admin, issue_token

    os.environ["DATABASE_URL"] = url
    app = create_app()
    with app.app_context():
        user, _ = create_admin("drill-hq", secrets.token_urlsafe(12))
        token, _ = issue_token(user, timedelta(hours=2))
        db.session.remove()
        db.engine.dispose()
    return token


def _setup(engine) -> list[str]:
    """Big deposits, nothing reserved, and N_SKUS products by the piece with little stock."""
    orders._deposit(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET reserved = 0"))
        skus = conn.scalars(
            text(
                "SELECT sku FROM products WHERE active AND NOT tier_restricted "
                "AND min_order_qty = 1 AND order_multiple = 1 ORDER BY id LIMIT :n"
            ),
            {"n": N_SKUS},
        ).all()
        conn.execute(
            text(
                "UPDATE stock_levels SET on_hand = :n WHERE product_id IN "
                "(SELECT id FROM products WHERE sku = ANY(:skus))"
            ),
            {"n": ON_HAND, "skus": list(skus)},
        )
    return list(skus)


def check(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(text(sql)) for name, sql in INVARIANTS.items()}


def main() -> int:
    seconds = float(os.environ.get("DRILL_SECONDS", "30"))
    n_clients = int(os.environ.get("DRILL_CLIENTS", "8"))
    every = float(os.environ.get("DRILL_KILL_EVERY", "0.7"))
    url = dataset.sibling_url(dataset.database_url(), "_drill")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    env["LOG_JSON"] = "1"
    try:
        print(f"drill: preparing {url.rsplit('/', 1)[-1]} …")
        dataset.prepare(url, env, n_products=500)
        engine = create_engine(url)
        skus = _setup(engine)
        buyers = [token for _, token in orders._buyers(engine).values()]
        admin_token = _admin_token(url)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with Gunicorn(env, RESULTS / "drill_gunicorn.log", workers=WORKERS) as server:
            wait_healthy(server.base, server.alive)
            drill = Drill(Api(server.base), buyers, admin_token, skus)
            stop, kills = threading.Event(), []
            threads = [
                threading.Thread(target=drill.client, args=(i, stop)) for i in range(n_clients)
            ]
            threads.append(
                threading.Thread(target=killer, args=(server.proc.pid, every, stop, kills))
            )
            print(f"drill: {seconds:.0f}s, {n_clients} clients, a worker killed every {every}s …")
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        found = check(engine)
        engine.dispose()
    except BenchError as err:
        print(f"drill: {err}", file=sys.stderr)
        return 1
    same_key_twice = sum(1 for numbers in drill.numbers_by_key.values() if len(numbers) > 1)
    found["keys answered with two different orders"] = same_key_twice
    print(f"\nworkers killed: {len(kills)}")
    for what, n in sorted(drill.tally.items()):
        print(f"  {what:<45} {n:>6}")
    print("\ninvariant (each must be 0)                                  found")
    for name, n in found.items():
        print(f"  {name:<56} {n:>4}  {'ok' if n == 0 else 'BROKEN'}")
    broken = [name for name, n in found.items() if n]
    print("\ndrill: " + ("every invariant holds" if not broken else f"BROKEN: {broken}"))
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
