"""Profile the bench's request paths in-process (Flask test client, no gunicorn, no wrk).

    .venv/bin/python -m bench.profiling [floor|catalog_api|catalog_html|stock_304 ...]
        [-n 300] [--top 25] [--timer cpu|wall] [--prepare]

Runs against the database `make bench` leaves behind (or builds it with --prepare). For each
path: mean wall time per request, SQL statements and their time per request, time by package,
and the top functions by own time and by cumulative time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import sys
import time
from collections import defaultdict

from sqlalchemy import event

from bench import dataset
from bench.client import USER_AGENT
from bench.dataset import BENCH_USERNAME, PASSWORD, ROOT, BenchError

PATHS = ("floor", "catalog_api", "catalog_html", "stock_304")


class SqlCounter:
    """Statements, their time, and pool checkouts (each one pings: pool_pre_ping)."""

    def __init__(self, engine) -> None:
        self.statements = 0
        self.seconds = 0.0
        self.checkouts = 0
        self._t0 = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine.pool, "checkout", self._checkout)

    def _before(self, *args) -> None:
        self._t0 = time.perf_counter()

    def _after(self, *args) -> None:
        self.statements += 1
        self.seconds += time.perf_counter() - self._t0

    def _checkout(self, *args) -> None:
        self.checkouts += 1

    def reset(self) -> None:
        self.statements, self.seconds, self.checkouts = 0, 0.0, 0


def _app():
    os.environ["DATABASE_URL"] = dataset.database_url()
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    from app import create_app

    return create_app()


def _requests(client) -> dict:
    """path -> (url, headers): the same four requests the load test sends."""
    ua = {"User-Agent": USER_AGENT}
    reply = client.post(
        "/api/v1/auth/tokens",
        json={"username": BENCH_USERNAME, "password": PASSWORD},
        headers=ua,
    )
    if reply.status_code != 201:
        raise BenchError(f"token: HTTP {reply.status_code} (run `make bench` or use --prepare)")
    bearer = {**ua, "Authorization": f"Bearer {reply.get_json()['token']}"}
    page = client.get("/login", headers=ua).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"\s+value="([^"]+)"', page).group(1)
    form = {"username": BENCH_USERNAME, "password": PASSWORD, "csrf_token": csrf}
    if client.post("/login", data=form, headers=ua).status_code != 302:
        raise BenchError("browser login failed")
    skus = [i["sku"] for i in client.get("/api/v1/catalog", headers=bearer).get_json()["items"]]
    stock = "/stock-badges?skus=" + ",".join(skus)
    etag = client.get(stock, headers=ua).headers["ETag"]
    return {
        "floor": ("/ping", ua, 200),
        "catalog_api": ("/api/v1/catalog?per_page=20", bearer, 200),
        "catalog_html": ("/catalog", ua, 200),  # the cookie jar holds the session
        "stock_304": (stock, {**ua, "If-None-Match": etag}, 304),
    }


def _bucket(filename: str) -> str:
    if filename == "~":
        return "C builtins (incl. socket waits)"
    if "/site-packages/" in filename:
        return filename.split("/site-packages/")[1].split("/")[0].removesuffix(".py")
    if filename.startswith(str(ROOT / "templates")) or filename == "<template>":
        return "templates (jinja)"
    if filename.startswith(str(ROOT / "app")):
        return "app/"
    return "stdlib"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        totals[_bucket(filename)] += tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def profile_one(client, sql: SqlCounter, name: str, request, args) -> None:
    url, headers, status = request
    n, top = args.n, args.top
    for _ in range(20):  # warm caches: templates, compiled SQL, translations
        assert client.get(url, headers=headers).status_code == status, name
    sql.reset()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        client.get(url, headers=headers)
    wall = (time.perf_counter() - wall0) / n
    cpu = (time.process_time() - cpu0) / n
    print(f"\n===== {name}: GET {url[:70]}")
    print(
        f"in-process mean per request: {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU "
        f"of this process; {sql.statements / n:.1f} SQL statements taking "
        f"{sql.seconds / n * 1000:.2f} ms wall (incl. their Python), "
        f"{sql.checkouts / n:.1f} pool checkouts (each pre-pinged)"
    )
    print(f"profile timer: {args.timer} time")
    prof = cProfile.Profile(time.process_time if args.timer == "cpu" else time.perf_counter)
    prof.enable()
    for _ in range(n):
        client.get(url, headers=headers)
    prof.disable()
    stats = pstats.Stats(prof)
    total = sum(t for _, t in by_package(stats))
    print("own time by package (% of profiled time):")
    for pkg, seconds in by_package(stats)[:12]:
        print(f"  {pkg:<36} {seconds / n * 1000:7.3f} ms  {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=list(PATHS), help=", ".join(PATHS))
    parser.add_argument("-n", type=int, default=300, help="requests per path")
    parser.add_argument("--top", type=int, default=25, help="functions listed per sort")
    parser.add_argument(
        "--timer",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: this process's CPU time (robust on a busy machine; DB waits drop out)",
    )
    parser.add_argument("--prepare", action="store_true", help="re-create the database first")
    args = parser.parse_args(argv)
    unknown = set(args.paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown path(s) {', '.join(sorted(unknown))}; choose from {PATHS}")
    try:
        if args.prepare:
            env = {**os.environ, "SECRET_KEY": secrets.token_hex(32)}
            print(dataset.prepare(dataset.database_url(), env))
        app = _app()
        with app.app_context():
            from app.extensions import db

            sql = SqlCounter(db.engine)
        client = app.test_client()
        requests = _requests(client)
        for name in args.paths:
            profile_one(client, sql, name, requests[name], args)
    except BenchError as err:
        print(f"bench.profiling: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
