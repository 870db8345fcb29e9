"""`make bench`: fresh database, gunicorn, wrk against the app's hot paths and a bare Flask
app (the floor), the catalog on a phone in Chromium (bench/browser.py), order placement
(bench/orders.py: the app against the same statements sent straight to PostgreSQL), signed
webhook events (bench/webhooks.py), then the catalog at 1,000 and 100,000 products
(bench/scale.py). Detail tables on the way; at the end one table with every figure of
issue 10's targets (bench/summary.py), written to bench/results/latest.json and appended as
one JSON line to bench/results/history.jsonl.

Environment knobs: BENCH_DATABASE_URL (a database whose name contains "bench"; it is dropped
and re-created, and so are its "_1k" and "_100k" siblings), BENCH_DURATION / BENCH_WARMUP
(seconds, default 10 / 3), BENCH_THREADS / BENCH_CONNECTIONS (wrk's -t / -c, default 2 / 16),
BENCH_ROUNDS (run every wrk scenario this many times, interleaved, and keep each one's best;
default 1), WRK (path to wrk), BENCH_ORDERS (order attempts per run, default 800),
BENCH_ORDER_CLIENTS (default 8,32), BENCH_ORDER_MIXES (default hot5,spread50),
BENCH_SCALE_SIZES (default 1000,100000), CHROMIUM (default /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import client, dataset, orders, scale, summary, webhooks
from bench.dataset import ROOT, SEARCH_NAME, SEARCH_SKU, BenchError
from bench.server import Gunicorn
from bench.wrk import Load, WrkResult, find_wrk, measured

RESULTS = Path(__file__).resolve().parent / "results"
FLOOR = "bare_floor"


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    path: str
    headers: dict[str, str]
    target: float | None  # minimum requests/s as a fraction of the bare floor's
    on: str = "app"  # which server: "app", or "floor" (bench/floor_app.py)


def scenarios(session: client.Session) -> list[Scenario]:
    ua = {"User-Agent": client.USER_AGENT}
    bearer = {**ua, "Authorization": f"Bearer {session.token}"}
    cookie = {**ua, "Cookie": session.cookie}
    return [
        Scenario(FLOOR, "bare Flask floor  GET /ping", "/ping", ua, None, on="floor"),
        Scenario("app_ping", "app  GET /ping", "/ping", ua, None),
        Scenario("catalog_api", "catalog JSON page (20 items)", "/api/v1/catalog?per_page=20",
                 bearer, 0.40),
        Scenario("catalog_html", "catalog HTML page", "/catalog", cookie, 0.30),
        Scenario("search_name", f"catalog search, name {SEARCH_NAME}",
                 client.search_path(SEARCH_NAME), bearer, 0.30),
        Scenario("search_sku", f"catalog search, SKU prefix {SEARCH_SKU}",
                 client.search_path(SEARCH_SKU), bearer, 0.30),
        Scenario(
            "stock_304",
            "live-stock refresh, 304",
            "/stock-badges?skus=" + ",".join(session.skus),
            {**cookie, "If-None-Match": session.etag},
            0.70,
        ),
    ]  # fmt: skip


def measure(
    wrk: str, servers: dict[str, Gunicorn], url: str, items: list[Scenario], load: Load
) -> dict[str, WrkResult]:
    """Each scenario once per round (rounds interleave); the best round of each is kept."""
    best: dict[str, WrkResult] = {}
    for n in range(1, load.rounds + 1):
        if load.rounds > 1:
            print(f"   round {n}/{load.rounds}")
        for sc in items:
            label = summary.ljust(sc.label, 34)
            print(f"   {label} warm-up {load.warmup_s}s, then {load.duration_s}s …", end="")
            sys.stdout.flush()
            db_url = url if sc.on == "app" else None
            res = measured(wrk, servers[sc.on], sc.path, sc.headers, load, db_url)
            flag = f"  ({res.error_count} errors: {res.errors})" if res.error_count else ""
            print(f" {res.rps:,.0f} req/s{flag}")
            if sc.key not in best or res.rps > best[sc.key].rps:
                best[sc.key] = res
    return best


def _cpu_total(res: WrkResult) -> float | None:
    if res.app_cpu_ms is None:
        return None
    return res.app_cpu_ms + (res.db_cpu_ms or 0.0)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def rows(items: list[Scenario], results: dict[str, WrkResult]) -> list[dict]:
    floor, app_ping = results[FLOOR], results["app_ping"]
    floor_cpu = _cpu_total(floor)
    out = []
    for sc in items:
        res = results[sc.key]
        ratio = res.rps / floor.rps if floor.rps else 0.0
        total = _cpu_total(res)
        out.append(
            {
                "key": sc.key,
                "label": sc.label,
                "path": sc.path if len(sc.path) < 60 else sc.path[:57] + "...",
                "rps": round(res.rps, 1),
                "p50_ms": round(res.p50_ms, 2),
                "p90_ms": round(res.p90_ms, 2),
                "p95_ms": round(res.p95_ms, 2),
                "p99_ms": round(res.p99_ms, 2),
                "max_ms": round(res.max_ms, 2),
                "requests": res.requests,
                "errors": res.errors,
                "ratio": round(ratio, 3),  # to the bare Flask floor
                "ratio_to_app_ping": round(res.rps / app_ping.rps, 3) if app_ping.rps else None,
                "target": sc.target,
                "pass": None if sc.target is None else ratio >= sc.target,
                "app_cpu_ms_per_req": _round(res.app_cpu_ms, 3),
                "db_cpu_ms_per_req": _round(res.db_cpu_ms, 3),
                # floor CPU / this CPU: what the ratio would be if CPU were all that limits
                "cpu_ratio": _round(floor_cpu / total if floor_cpu and total else None, 3),
            }
        )
    return out


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5)
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _busy_check() -> float:
    """The 1-minute load average; warns when other work will skew the numbers."""
    load1 = round(os.getloadavg()[0], 2)
    cpus = os.cpu_count() or 1
    if load1 > 0.5 * cpus:
        print(f"   WARNING: load average {load1} on {cpus} CPUs: other work will skew the numbers")
    return load1


def phone(base: str) -> dict:
    """bench/browser.py in a child process: its JSON, or {"error": why}."""
    cmd = [sys.executable, "-m", "bench.browser", base]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return {"error": "the browser did not finish within 180 s"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": f"bench.browser printed no result: {done.stderr.strip()[-300:]}"}


def _say_phone(report: dict) -> None:
    if "error" in report:
        print(f"   not measured: {report['error']}")
        return
    first, moves = report["first_load"], report["navigation"]
    parts = [
        f"{r['path']} {r['bytes'] / 1024:.1f} KB{' ' + r['encoding'] if r['encoding'] else ''}"
        for r in first["resources"]
    ]
    print(f"   first load {first['bytes'] / 1024:.1f} KB: " + ", ".join(parts))
    for p in moves["pages"]:
        print(f"   → {p['path']} ({p['via']}): {p['requests']} requests, {p['static']} static")
    seen = Counter(
        f"{r['path']} {r['status']} ({r['cache_control'] or 'no Cache-Control'})"
        for r in moves["static"]
    )
    for what, n in seen.items():
        print(f"     {what} × {n}")


def write_json(meta: dict, details: dict, sections: list) -> tuple[Path, Path]:
    """latest.json (everything) and one more line in history.jsonl (the table's figures)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    line = {**meta, "verdicts": summary.verdicts(sections), "results": summary.results(sections)}
    latest = RESULTS / "latest.json"
    latest.write_text(json.dumps({**line, **details}, ensure_ascii=False, indent=2))
    history = RESULTS / "history.jsonl"
    with history.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return latest, history


class Clock:
    """Seconds each part of the run took, for the JSON file."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def mark(self, part: str) -> None:
        now = time.perf_counter()
        self.parts[part] = round(now - self.last, 1)
        self.last = now


def _app_part(wrk: str, url: str, env: dict[str, str], load: Load, clock: Clock) -> dict:
    """Everything measured on the 5,000-product database; the detail reports by name."""
    server = Gunicorn(env, RESULTS / "gunicorn.log")
    with server:
        print(f"== gunicorn -w {server.workers} on {server.base}")
        try:
            client.wait_healthy(server.base, server.alive)
            session = client.prepare_session(server.base)
        except BenchError:
            print(server.log_tail(), file=sys.stderr)
            raise
        for warning in session.warnings:
            print(f"   WARNING: {warning}")
        print(
            "   checked: API 200, HTML 200 (same 20 SKUs), stock-badges 200 then 304, searches "
            + ", ".join(f"{q} ({n} found)" for q, n in session.search_totals.items())
        )
        items = scenarios(session)
        floor = Gunicorn(env, RESULTS / "floor_gunicorn.log", app=webhooks.FLOOR_APP)
        with floor:
            webhooks.wait_floor(floor)
            print(f"== wrk -t{load.threads} -c{load.connections} -d{load.duration_s}s --latency")
            results = measure(wrk, {"app": server, "floor": floor}, url, items, load)
        clock.mark("http")
        print("== the catalog on a phone: Chromium, 390×844, empty cache")
        phone_report = phone(server.base)
        clock.mark("phone")
        _say_phone(phone_report)
        print("== order placement: the app against the database floor")
        _, order_report = orders.bench(server, url)
        clock.mark("orders")
        print(order_report["table"])
        print("== webhook ingestion: signed carrier events against the bare Flask floor")
        webhook_report = webhooks.bench(wrk, server, url, env, load, floor=results[FLOOR])
        print(webhook_report["table"])
        clock.mark("webhooks")
    return {
        "workers": server.workers,
        "warnings": session.warnings,
        "search_totals": session.search_totals,
        "http": rows(items, results),
        "phone": phone_report,
        "orders": order_report,
        "webhooks": webhook_report,
    }


def _failures(part: dict, scale_report: dict) -> list[str]:
    problems = []
    if scale_report.get("error"):
        problems.append("the catalog at other sizes was not measured (see above).")
    if any(sum(r["errors"].values()) for r in [*part["http"], *scale_report["results"]]):
        problems.append("some requests failed under load; the numbers above are suspect.")
    if any(sum(r["errors"].values()) for r in part["webhooks"]["results"]):
        problems.append("some webhook deliveries were not answered 2xx; see the table.")
    if part["orders"]["failed"]:
        problems.append(
            "ORDER PLACEMENT FAILED: unexpected answers or broken invariants "
            "(see the !!! lines above and orders.results in latest.json)."
        )
    return problems


def run() -> int:
    wrk = find_wrk()
    load = Load.from_env()
    url = dataset.database_url()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)}
    # The per-carrier limit is a guard against a runaway sender, not what is measured here.
    env.setdefault("WEBHOOK_RATE_LIMIT", "10000000/minute")
    started = time.perf_counter()
    load_before = _busy_check()

    print(f"== fresh database {make_url(url).render_as_string(hide_password=True)}")
    clock = Clock()
    data = dataset.prepare(url, env)
    clock.mark("dataset")
    print(f"   migrated in {data['migrate_s']}s, loaded in {data['load_s']}s: {data['rows']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    part = _app_part(wrk, url, env, load, clock)
    print("== the catalog at other sizes (a database and a gunicorn each)")
    try:
        scale_report = scale.bench(wrk, env, load)
    except BenchError as err:  # keep what was measured: these rows show "-"
        print(f"   not measured: {err}", file=sys.stderr)
        scale_report = scale.failed(str(err))
    clock.mark("scale")

    sections = summary.build(
        part["http"], part["orders"], part["phone"], scale_report, part["webhooks"]
    )
    print()
    print(summary.table(sections))
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1m_before": load_before,
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
        "server": {"gunicorn_workers": part["workers"], "worker_class": "sync"},
        "load": asdict(load),
        "orders_per_run": part["orders"]["attempts_per_run"],
        "elapsed_s": round(time.perf_counter() - started, 1),
        "parts_s": clock.parts,
    }
    details = {
        "dataset": data,
        "warnings": part["warnings"],
        "search_totals": part["search_totals"],
        "http": part["http"],
        "phone": part["phone"],
        "orders": {k: v for k, v in part["orders"].items() if k != "table"},
        "webhooks": {k: v for k, v in part["webhooks"].items() if k != "table"},
        "scale": scale_report,
    }
    latest, history = write_json(meta, details, sections)
    parts = ", ".join(f"{k} {v:.0f}" for k, v in clock.parts.items())
    print(
        f"\nwritten to {latest.relative_to(ROOT)} and a line of {history.relative_to(ROOT)} "
        f"({meta['elapsed_s']:.0f}s in all: {parts})"
    )
    problems = _failures(part, scale_report)
    for problem in problems:
        print(f"bench: {problem}")
    return 1 if problems else 0


def main() -> int:
    # The servers' logs (every request is a line) are this run's only: start them afresh.
    for old_log in RESULTS.glob("*.log"):
        old_log.unlink()
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
