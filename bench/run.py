"""`make bench`: fresh database, gunicorn, wrk against four paths, then order placement
(bench/orders.py: the app against the same statements sent straight to PostgreSQL), then signed
webhook events (bench/webhooks.py: against a bare Flask app); three tables and a JSON file.

Environment knobs: BENCH_DATABASE_URL (a database whose name contains "bench"; it is dropped
and re-created), BENCH_DURATION / BENCH_WARMUP (seconds, default 10 / 3), BENCH_THREADS /
BENCH_CONNECTIONS (wrk's -t / -c, default 2 / 16), BENCH_ROUNDS (run every scenario this
many times, interleaved, and keep each one's best; default 1), WRK (path to wrk),
BENCH_ORDERS (order attempts per run, default 800), BENCH_ORDER_CLIENTS (default 8,32).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import client, cpu, dataset, orders, webhooks
from bench.dataset import ROOT, BenchError
from bench.server import Gunicorn
from bench.wrk import Load, WrkResult, find_wrk, run_wrk

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    path: str
    headers: dict[str, str]
    target: float | None  # minimum requests/s as a fraction of the floor's


def scenarios(session: client.Session) -> list[Scenario]:
    ua = {"User-Agent": client.USER_AGENT}
    bearer = {**ua, "Authorization": f"Bearer {session.token}"}
    cookie = {**ua, "Cookie": session.cookie}
    return [
        Scenario("floor", "floor  GET /ping", "/ping", ua, None),
        Scenario("catalog_api", "catalog API", "/api/v1/catalog?per_page=20", bearer, 0.40),
        Scenario("catalog_html", "catalog HTML", "/catalog", cookie, 0.30),
        Scenario(
            "stock_304",
            "stock refresh 304",
            "/stock-badges?skus=" + ",".join(session.skus),
            {**cookie, "If-None-Match": session.etag},
            0.70,
        ),
    ]


def _measured(wrk: str, server: Gunicorn, url: str, sc: Scenario, load: Load) -> WrkResult:
    """Warm up, then one measured wrk run with the CPU the workers and backends spent."""
    if load.warmup_s:
        run_wrk(wrk, server.base + sc.path, sc.headers, load, duration_s=load.warmup_s)
    workers = cpu.children(server.proc.pid)
    backends = cpu.db_backends(url)
    before = cpu.cpu_seconds(workers), cpu.cpu_seconds(backends)
    res = run_wrk(wrk, server.base + sc.path, sc.headers, load)
    if res.requests:
        res.app_cpu_ms = (cpu.cpu_seconds(workers) - before[0]) / res.requests * 1000
        if backends:
            res.db_cpu_ms = (cpu.cpu_seconds(backends) - before[1]) / res.requests * 1000
    return res


def measure(
    wrk: str, server: Gunicorn, url: str, items: list[Scenario], load: Load
) -> dict[str, WrkResult]:
    """Each scenario once per round (rounds interleave); the best round of each is kept."""
    best: dict[str, WrkResult] = {}
    for n in range(1, load.rounds + 1):
        if load.rounds > 1:
            print(f"   round {n}/{load.rounds}")
        for sc in items:
            print(f"   {sc.label:<20} warm-up {load.warmup_s}s, then {load.duration_s}s …", end="")
            sys.stdout.flush()
            res = _measured(wrk, server, url, sc, load)
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
    floor = results["floor"]
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
                "ratio": round(ratio, 3),
                "target": sc.target,
                "pass": None if sc.target is None else ratio >= sc.target,
                "app_cpu_ms_per_req": _round(res.app_cpu_ms, 3),
                "db_cpu_ms_per_req": _round(res.db_cpu_ms, 3),
                # floor CPU / this CPU: what the ratio would be if CPU were all that limits
                "cpu_ratio": _round(floor_cpu / total if floor_cpu and total else None, 3),
            }
        )
    return out


def _cell(value: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def table(result_rows: list[dict]) -> str:
    head = f"{'scenario':<20} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6} {'target':>6}"
    head += f"  {'result':<6}  {'app CPU':>7} {'db CPU':>7} {'CPU ratio':>9}"
    lines = [head, "-" * len(head)]
    for r in result_rows:
        target = "" if r["target"] is None else f"≥{r['target']:.2f}"
        verdict = "" if r["pass"] is None else ("PASS" if r["pass"] else "MISS")
        lines.append(
            f"{r['label']:<20} {r['rps']:>8,.0f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} "
            f"{r['ratio']:>6.2f} {target:>6}  {verdict:<6}  "
            f"{_cell(r['app_cpu_ms_per_req'], '.2f', 7)} {_cell(r['db_cpu_ms_per_req'], '.2f', 7)} "
            f"{_cell(r['cpu_ratio'], '.2f', 9)}"
        )
        if sum(r["errors"].values()):
            lines[-1] += f"  ({sum(r['errors'].values())} failed requests)"
    lines.append(
        "CPU columns: ms per request spent by the gunicorn workers (app) and their PostgreSQL "
        "backends (db);\nCPU ratio = floor CPU / this CPU, the req/s ratio a quiet machine "
        "would show if CPU were all that limits."
    )
    return "\n".join(lines)


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


def write_json(result_rows: list[dict], meta: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps({**meta, "results": result_rows}, ensure_ascii=False, indent=2))
    return path


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
    data = dataset.prepare(url, env)
    print(f"   migrated in {data['migrate_s']}s, loaded in {data['load_s']}s: {data['rows']}")

    RESULTS.mkdir(parents=True, exist_ok=True)
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
        print("   checked: API 200, HTML 200 (same 20 SKUs), stock-badges 200 then 304")
        items = scenarios(session)
        print(f"== wrk -t{load.threads} -c{load.connections} -d{load.duration_s}s --latency")
        results = measure(wrk, server, url, items, load)
        print("== order placement: the app against the database floor")
        _, order_report = orders.bench(server, url)
        print("== webhook ingestion: signed carrier events against a bare Flask app")
        webhook_report = webhooks.bench(wrk, server, url, env, load)

    result_rows = rows(items, results)
    print()
    print(table(result_rows))
    print()
    print(order_report["table"])
    print()
    print(webhook_report["table"])
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1m_before": load_before,
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
        "server": {"gunicorn_workers": server.workers, "worker_class": "sync"},
        "load": asdict(load),
        "dataset": data,
        "warnings": session.warnings,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "orders": {k: v for k, v in order_report.items() if k != "table"},
        "webhooks": {k: v for k, v in webhook_report.items() if k != "table"},
    }
    path = write_json(result_rows, meta)
    print(f"\nwritten to {path.relative_to(ROOT)} ({meta['elapsed_s']}s in all)")
    failed = 0
    if any(sum(r["errors"].values()) for r in result_rows):
        print("bench: some requests failed under load; the numbers above are suspect.")
        failed = 1
    if any(sum(r["errors"].values()) for r in webhook_report["results"]):
        print("bench: some webhook deliveries were not answered 2xx; see the webhook table.")
        failed = 1
    if order_report["failed"]:
        print(
            "bench: ORDER PLACEMENT FAILED: unexpected answers or broken invariants "
            "(see the !!! lines above and orders.results in the JSON file)."
        )
        failed = 1
    return failed


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
