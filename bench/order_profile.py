"""Where an order placement's time goes, in-process (Flask test client, no gunicorn).

    .venv/bin/python -m bench.order_profile [-n 400] [--top 25] [--cprofile] [--prepare]

Runs against the database `make bench` leaves behind (or builds it with --prepare), with the
same plan bench/orders.py uses: many dealers, 3-line orders, hot SKUs that run out. Wraps the
steps of POST /api/v1/orders (auth, body, idempotency, validation, pricing, reservation,
payment, flush, commit, rendering) and reports, per order attempt, each step's own wall and
CPU time and the SQL statements it sent; --cprofile adds cProfile's top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import secrets
import sys
import time
from collections import defaultdict

from sqlalchemy import create_engine, event

from bench import dataset, orders
from bench.client import USER_AGENT
from bench.dataset import BenchError
from bench.profiling import by_package


class Steps:
    """Exclusive wall/CPU time and SQL statements per named step (a stack of wrappers)."""

    def __init__(self) -> None:
        self.stack: list[str] = ["flask + werkzeug + rest"]
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.sql: dict[str, int] = defaultdict(int)
        self.sql_wall: dict[str, float] = defaultdict(float)
        self._mark = (time.perf_counter(), time.process_time())
        self._sql_t0 = 0.0

    def _charge(self) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        top = self.stack[-1]
        self.wall[top] += wall - self._mark[0]
        self.cpu[top] += cpu - self._mark[1]
        self._mark = (wall, cpu)

    def wrap(self, owner, attr: str, name: str) -> None:
        inner = getattr(owner, attr)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            self._charge()
            self.stack.append(name)
            try:
                return inner(*args, **kwargs)
            finally:
                self._charge()
                self.stack.pop()

        setattr(owner, attr, timed)

    def listen(self, engine) -> None:
        def before(*args) -> None:
            self._sql_t0 = time.perf_counter()

        def after(*args) -> None:
            self.sql[self.stack[-1]] += 1
            self.sql_wall[self.stack[-1]] += time.perf_counter() - self._sql_t0

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

    def reset(self) -> None:
        for table in (self.wall, self.cpu, self.sql, self.sql_wall):
            table.clear()
        self._mark = (time.perf_counter(), time.process_time())

    def report(self, n: int) -> str:
        self._charge()
        total_wall, total_cpu = sum(self.wall.values()), sum(self.cpu.values())
        head = f"{'step (own time)':<44} {'wall ms':>8} {'CPU ms':>7} {'CPU %':>6}"
        head += f" {'SQL':>5} {'SQL ms':>7}"
        lines = [head, "-" * len(head)]
        for name in sorted(self.wall, key=lambda k: -self.cpu[k]):
            lines.append(
                f"{name:<44} {self.wall[name] / n * 1000:>8.2f} {self.cpu[name] / n * 1000:>7.2f} "
                f"{self.cpu[name] / total_cpu:>6.1%} {self.sql[name] / n:>5.1f} "
                f"{self.sql_wall[name] / n * 1000:>7.2f}"
            )
        lines.append(
            f"{'total per attempt':<44} {total_wall / n * 1000:>8.2f} {total_cpu / n * 1000:>7.2f} "
            f"{'':>6} {sum(self.sql.values()) / n:>5.1f} "
            f"{sum(self.sql_wall.values()) / n * 1000:>7.2f}"
        )
        lines.append("SQL ms = wall time from sending a statement to its result (incl. psycopg).")
        return "\n".join(lines)


def instrument(steps: Steps) -> None:
    """Wrap the order path's steps (module attributes, so the callers see the wrappers)."""
    from sqlalchemy.orm import Session

    import app.api as api
    import app.api.orders as api_orders
    from app.api.schemas import OrderCreateSchema
    from app.services import idempotency, wallet
    from app.services import orders as svc
    from app.services.cache import Channel

    steps.wrap(api, "user_for_token", "auth: bearer token → user")
    steps.wrap(OrderCreateSchema, "load", "body: marshmallow load")
    steps.wrap(idempotency, "claim", "idempotency.claim (INSERT, no commit)")
    steps.wrap(svc, "check_lines", "check_lines (products, kept)")
    steps.wrap(svc, "kept_price_tables", "price tables (kept per process)")
    steps.wrap(svc, "current_policy", "current_policy (settings)")
    steps.wrap(wallet, "ensure_accounts", "wallet.ensure_accounts")
    steps.wrap(svc, "_reserve", "_reserve (3 guarded UPDATEs)")
    steps.wrap(svc, "_shortage", "_shortage (409: rollback + read)")
    steps.wrap(svc, "_pay", "_pay → wallet.post (UPDATE + INSERT)")
    steps.wrap(svc, "place_order", "place_order: the rest")
    steps.wrap(svc, "_write_order", "_write_order (INSERTs, UPDATE number)")
    steps.wrap(Session, "flush", "Session.flush (what is left for the ORM)")
    steps.wrap(Channel, "active", "caches: catch up (round trip)")
    steps.wrap(Session, "commit", "Session.commit")
    steps.wrap(api_orders, "reply", "reply: marshmallow dump")
    steps.wrap(idempotency, "remember", "idempotency.remember (answer kept with the key)")


def _client_and_plan(n: int):
    url = dataset.database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    engine = create_engine(url)
    plan = orders.make_plan(engine, n, 1)
    orders.reset(engine, plan)
    from app import create_app

    app = create_app()
    return app, engine, plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=400, help="order attempts to time")
    parser.add_argument("--top", type=int, default=25, help="cProfile functions listed")
    parser.add_argument("--cprofile", action="store_true", help="also run cProfile (CPU timer)")
    parser.add_argument("--prepare", action="store_true", help="re-create the database first")
    args = parser.parse_args(argv)
    try:
        if args.prepare:
            env = {**os.environ, "SECRET_KEY": secrets.token_hex(32)}
            print(dataset.prepare(dataset.database_url(), env))
        app, engine, plan = _client_and_plan(args.n)
    except BenchError as err:
        print(f"bench.order_profile: {err}", file=sys.stderr)
        return 1
    steps = Steps()
    instrument(steps)
    with app.app_context():
        from app.extensions import db

        steps.listen(db.engine)
    client = app.test_client()
    tag = secrets.token_hex(4)

    def send(attempt, key: str) -> int:
        headers = {
            "Authorization": f"Bearer {attempt.token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        return client.post("/api/v1/orders", data=attempt.body, headers=headers).status_code

    for i, attempt in enumerate(plan.warmup):
        send(attempt, f"{tag}-warm-{i}")
    orders.reset(engine, plan)
    steps.reset()
    statuses = [send(a, f"{tag}-{i}") for i, a in enumerate(plan.attempts)]
    n = len(statuses)
    print(f"\n{n} attempts in-process: {statuses.count(201)} × 201, {statuses.count(409)} × 409")
    print(steps.report(n))
    if args.cprofile:
        orders.reset(engine, plan)
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        for i, a in enumerate(plan.attempts):
            send(a, f"{tag}-p{i}")
        prof.disable()
        stats = pstats.Stats(prof)
        total = sum(t for _, t in by_package(stats))
        print("\ncProfile, own CPU time by package:")
        for pkg, seconds in by_package(stats)[:10]:
            print(f"  {pkg:<36} {seconds / n * 1000:7.3f} ms  {seconds / total:6.1%}")
        stats.sort_stats("tottime").print_stats(args.top)
    orders.reset(engine, plan)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
