"""The catalog at 1,000 and at 100,000 products: does a page cost the same in a big catalog?

Each size gets a bench database of its own (the bench database's name plus "_1k" / "_100k",
dropped and re-created, dropped again when measured), loaded like the 5,000-product one
(bench/dataset.py: same shape, same 200 dealers, COPY), and a gunicorn of its own with the
same settings. wrk, with the same load as the other scenarios, measures the API's first page
(the figure with a target: p50 at 100,000 ≤ 1.5 × p50 at 1,000), a search by name (its
matches grow with the catalog) and the HTML page. wrk repeats one URL, so a per-process
cache answers nearly all of it; the API page and the search are also timed cold: one request
at a time, each right after a product is changed in SQL (which every cache of the catalog
must notice), COLD_REQUESTS of them.

Knob: BENCH_SCALE_SIZES (default "1000,100000"; the first size is the base of the ratios).
"""

from __future__ import annotations

import http.client
import os
import sys
import time
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from bench import client, cpu, dataset
from bench.dataset import SEARCH_NAME, BenchError
from bench.server import Gunicorn
from bench.summary import ljust
from bench.wrk import Load, WrkResult, measured

SIZES = (1_000, 100_000)
TARGET = 1.5  # p50 at the largest size / p50 at the smallest, at most
COLD = ("catalog_api", "search_name")
COLD_REQUESTS = 21
TOUCH = "UPDATE products SET updated_at = now() WHERE id = (SELECT min(id) FROM products)"


def sizes_from_env() -> tuple[int, ...]:
    value = os.environ.get("BENCH_SCALE_SIZES", "")
    if not value:
        return SIZES
    sizes = tuple(int(v) for v in value.split(",") if v.strip().isdigit())
    if len(sizes) < 2 or any(n < 100 for n in sizes):
        raise BenchError(f"BENCH_SCALE_SIZES must be two sizes or more, ≥ 100: {value!r}.")
    return sizes


def short(n: int) -> str:
    """1000 → 1k, 100000 → 100k (database suffixes and labels)."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def scenarios(token: str, cookie: str) -> list[tuple[str, str, str, dict]]:
    ua = {"User-Agent": client.USER_AGENT}
    bearer = {**ua, "Authorization": f"Bearer {token}"}
    return [
        ("catalog_api", "catalog API page", "/api/v1/catalog?per_page=20", bearer),
        ("search_name", f"search name {SEARCH_NAME}", client.search_path(SEARCH_NAME), bearer),
        ("catalog_html", "catalog HTML page", "/catalog", {**ua, "Cookie": cookie}),
    ]


def _one_size(wrk: str, env: dict[str, str], load: Load, n: int, base_url: str) -> dict:
    url = dataset.sibling_url(base_url, f"_{short(n)}")
    try:
        data = _prepare(url, env, n)
        print(f"   {n:>7,} products: migrated in {data['migrate_s']}s, loaded in {data['load_s']}s")
        log = dataset.ROOT / "bench" / "results" / f"gunicorn_{short(n)}.log"
        with Gunicorn({**env, "DATABASE_URL": url}, log) as server:
            try:
                client.wait_healthy(server.base, server.alive)
                token, cookie = client.bearer_token(server.base), client.browser_login(server.base)
            except BenchError:
                print(server.log_tail(), file=sys.stderr)
                raise
            results = _measure(wrk, server, url, load, scenarios(token, cookie), short(n))
    finally:
        dataset.drop_database(url)
    return {"products": n, "load_s": data["load_s"], "results": results}


def _prepare(url: str, env: dict[str, str], n: int) -> dict:
    """dataset.prepare(), leaving os.environ as it was (prepare points it at this database)."""
    before = {k: os.environ.get(k) for k in ("DATABASE_URL", "SECRET_KEY")}
    try:
        return dataset.prepare(url, env, n)
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _measure(wrk: str, server: Gunicorn, url: str, load: Load, items, size: str) -> dict:
    """wrk on every scenario, then the cold ones; results by key."""
    results: dict[str, WrkResult] = {}
    for key, label, path, headers in items:
        print(f"   {size:>5} {ljust(label, 30)}…", end="", flush=True)
        results[key] = res = measured(wrk, server, path, headers, load, url)
        flag = f"  ({res.error_count} errors: {res.errors})" if res.error_count else ""
        print(f" {res.rps:,.0f} req/s, p50 {res.p50_ms:.1f} ms{flag}")
    for key, label, path, headers in items:
        if key in COLD:
            print(f"   {size:>5} {ljust(label + ', cold', 30)}…", end="", flush=True)
            results[f"{key}_cold"] = res = cold(server, url, path, headers)
            print(f" p50 {res.p50_ms:.1f} ms, {COLD_REQUESTS} requests one at a time")
    return results


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def cold(server: Gunicorn, url: str, path: str, headers: dict, n: int = COLD_REQUESTS):
    """One request at a time, each right after a product changed: p50, p95, CPU per request."""
    workers, backends = cpu.children(server.proc.pid), cpu.db_backends(url)
    engine = create_engine(url)  # after the backends were listed: its own is not counted
    parts = urlsplit(server.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    took, failed = [], 0
    try:
        before = cpu.cpu_seconds(workers), cpu.cpu_seconds(backends)
        for _ in range(n):
            with engine.begin() as db:
                db.execute(text(TOUCH))
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            reply = conn.getresponse()
            reply.read()
            took.append((time.perf_counter() - t0) * 1000)
            failed += reply.status != 200
        spent = cpu.cpu_seconds(workers) - before[0], cpu.cpu_seconds(backends) - before[1]
    finally:
        conn.close()
        engine.dispose()
    took.sort()
    res = WrkResult(n, sum(took) / 1000, 0.0, _pct(took, 0.5), _pct(took, 0.9), _pct(took, 0.95),
                    _pct(took, 0.99), took[-1], {"status": failed})  # fmt: skip
    res.app_cpu_ms = spent[0] / n * 1000
    res.db_cpu_ms = spent[1] / n * 1000 if backends else None
    return res


def _kinds() -> list[tuple[str, str, bool]]:
    """(key, label, cold) of every row per size."""
    out = []
    for key, label, _, _ in scenarios("", ""):
        out.append((key, label, False))
        if key in COLD:
            out.append((f"{key}_cold", label, True))
    return out


def bench(wrk: str, env: dict[str, str], load: Load) -> dict:
    """Every size in turn; rows of p50 and its ratio to the smallest size's."""
    sizes = sizes_from_env()
    base_url = dataset.database_url()
    measured_sizes = [_one_size(wrk, env, load, n, base_url) for n in sizes]
    rows = []
    small = measured_sizes[0]["results"]
    for size in measured_sizes:
        for key, label, is_cold in _kinds():
            res = size["results"][key]
            base_p50 = small[key].p50_ms
            ratio = res.p50_ms / base_p50 if base_p50 else None
            rows.append(
                {
                    "key": f"scale_{key}_{short(size['products'])}",
                    "scenario": key,
                    "label": label,
                    "cold": is_cold,
                    "products": size["products"],
                    "rps": None if is_cold else round(res.rps, 1),
                    "p50_ms": round(res.p50_ms, 2),
                    "p95_ms": round(res.p95_ms, 2),
                    "requests": res.requests,
                    "errors": res.errors,
                    "p50_ratio": None if ratio is None else round(ratio, 3),
                    "app_cpu_ms_per_req": _r(res.app_cpu_ms),
                    "db_cpu_ms_per_req": _r(res.db_cpu_ms),
                }
            )
    return {
        "sizes": list(sizes),
        "load_s": {short(s["products"]): s["load_s"] for s in measured_sizes},
        "target": TARGET,
        "results": rows,
    }


def failed(error: str) -> dict:
    """The report of a part that could not run: every row "-", with the reason."""
    sizes = sizes_from_env()
    rows = [
        {
            "key": f"scale_{key}_{short(n)}",
            "scenario": key,
            "label": label,
            "cold": is_cold,
            "products": n,
            "rps": None,
            "p50_ms": None,
            "p95_ms": None,
            "requests": 0,
            "errors": {},
            "p50_ratio": None,
            "app_cpu_ms_per_req": None,
            "db_cpu_ms_per_req": None,
        }
        for n in sizes
        for key, label, is_cold in _kinds()
    ]
    return {"sizes": list(sizes), "target": TARGET, "results": rows, "error": error[:300]}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
