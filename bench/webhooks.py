"""Webhook ingestion: signed §5 carrier events per second, new and repeated, against the
framework floor — a bare Flask app with one route on the same gunicorn settings, in the same run
(bench/run.py passes the floor it measured beside the other scenarios; alone, it is measured here).

New events each carry a fresh `event_id` for one of 100 shipped orders' tracking numbers (so
each is recorded, applied and raises nothing further); duplicates repeat events already
recorded. wrk cannot sign, so the requests are signed beforehand and a Lua script sends each
once (disjoint slices per wrk thread and per run); the signatures are fresh for 300 s, so the
requests are made just before they are sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu
from bench.dataset import BenchError
from bench.server import Gunicorn
from bench.wrk import LUA, Load, WrkResult, parse

CARRIER, SECRET = "bench", "whsec_bench_secret_for_the_benchmark_only"
SHIPMENTS = 100
NEW_TARGET, DUPLICATE_TARGET = 0.30, 0.50
SCRIPT = Path(__file__).resolve().parent / "results" / "webhook_requests.lua"

FLOOR_APP = "bench.floor_app:app"


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    from app import create_app

    return create_app()


def prepare_shipments(app) -> list[str]:
    """A carrier with a known secret and SHIPMENTS shipped orders; their tracking numbers."""
    from app.extensions import db
    from app.models import Carrier, Dealer, Product, User
    from app.models.accounts import ROLE_ADMIN
    from app.services import accounts, logistics, orders, products, wallet
    from app.services.orders import LineRequest

    with app.app_context():
        if logistics.find_carrier(CARRIER) is None:
            logistics.create_carrier(CARRIER, "Bench carrier")
        db.session.execute(db.update(Carrier).where(Carrier.code == CARRIER).values(secret=SECRET))
        db.session.commit()
        admin = db.session.scalar(db.select(User).where(User.role == ROLE_ADMIN))
        if admin is None:
            admin = accounts.create_admin("bench-hq", "bench-hq-password")[0]
        buyer = db.session.scalar(
            db.select(User).join(Dealer, Dealer.id == User.dealer_id).where(Dealer.active)
        )
        product = db.session.scalar(
            db.select(Product).where(
                Product.active,
                Product.min_order_qty == 1,
                Product.order_multiple == 1,
                Product.tier_restricted.is_(False),
            )
        )
        products.set_on_hand(product.sku, 1_000_000)
        wallet.record_deposit(buyer.dealer.code, 10**12, f"bench-webhooks-{time.time_ns()}", admin)
        tracking = []
        for i in range(SHIPMENTS):
            order = orders.place_order(buyer, [LineRequest(product.sku, 1)])
            orders.approve_order(admin, order.number)
            number = f"BENCH{time.time_ns()}{i:03d}"
            logistics.create_shipment(admin, order.number, CARRIER, number, None)
            tracking.append(number)
        return tracking


def _signed(event_id: str, tracking_no: str, t: int) -> tuple[str, str]:
    body = json.dumps(
        {
            "event_id": event_id,
            "tracking_no": tracking_no,
            "status": "in_transit",
            "occurred_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "location": "上海",
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body.encode(), hashlib.sha256).hexdigest()
    return body, f"t={t},v1={mac}"


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_duplicates(app, tracking: list[str], tag: int, n: int) -> None:
    """Record the events the duplicate run will repeat, so every one of them is a repeat."""
    from app.services import logistics
    from app.services.logistics import EventIn

    with app.app_context():
        carrier = logistics.carrier_by_code(CARRIER)
        now = datetime.now(UTC)
        events = [
            EventIn(f"d{tag}-{i}", tracking[i % len(tracking)], "in_transit", now, "上海")
            for i in range(n)
        ]
        for start in range(0, n, 200):
            logistics.record_events(carrier, events[start : start + 200])


def write_script(tracking: list[str], n_new: int, n_dup: int, tag: int) -> None:
    """The Lua table of signed requests: `new` (each sent once) and `dup` (cycled)."""
    t = int(time.time())
    rows = {"new": [], "dup": []}
    for i in range(n_new):
        rows["new"].append(_signed(f"n{tag}-{i}", tracking[i % len(tracking)], t))
    for i in range(n_dup):
        rows["dup"].append(_signed(f"d{tag}-{i}", tracking[i % len(tracking)], t))
    parts = [LUA.read_text(), "requests = {"]
    for kind, items in rows.items():
        parts.append(f"{kind} = {{")
        parts.extend(f"{{{_lua_string(b)}, {_lua_string(s)}}}," for b, s in items)
        parts.append("},")
    parts.append("}")
    parts.append(
        """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  kind, offset, threads = args[1], tonumber(args[2]), tonumber(args[3])
  n = 0
end
function request()
  local list = requests[kind]
  local i = offset + (n * threads) + id
  n = n + 1
  if kind == "dup" then i = ((i - 1) % #list) + 1 end
  local row = list[i]
  if row == nil then row = list[#list] end  -- ran out: repeats count as duplicates
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Logistics-Signature"] = row[2]}, row[1])
end
"""
    )
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    SCRIPT.write_text("\n".join(parts))


def _wrk(wrk: str, url: str, load: Load, duration: int, *args: str) -> WrkResult:
    import subprocess

    cmd = [wrk, f"-t{load.threads}", f"-c{load.connections}", f"-d{duration}s", "--latency"]
    cmd += ["--timeout", "10s", "-s", str(SCRIPT), url, "--", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse(done.stdout)


def _floor(wrk: str, env: dict[str, str], load: Load) -> WrkResult:
    from bench.wrk import run_wrk

    server = Gunicorn(env, SCRIPT.parent / "floor_gunicorn.log", app=FLOOR_APP)
    with server:
        wait_floor(server)
        run_wrk(wrk, server.base + "/ping", {}, load, duration_s=load.warmup_s)
        return run_wrk(wrk, server.base + "/ping", {}, load)


def wait_floor(server: Gunicorn, timeout: float = 30.0) -> None:
    """Until the bare Flask app answers /ping."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(server.base + "/ping", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchError("the floor app did not start")


def bench(
    wrk: str,
    app_server: Gunicorn,
    url: str,
    env: dict[str, str],
    load: Load,
    floor: WrkResult | None = None,
) -> dict:
    """Floor (unless measured already), new events and duplicates, in this order."""
    print("   preparing 100 shipped orders and a bench carrier …", flush=True)
    app = _app(url)
    tracking = prepare_shipments(app)
    tag = time.time_ns()
    record_duplicates(app, tracking, tag, 2_000)
    if floor is None:
        floor = _floor(wrk, env, load)
        print(f"   floor (bare Flask)   {floor.rps:,.0f} req/s")
    seconds = load.warmup_s + load.duration_s
    budget = min(int(max(floor.rps, 500) * seconds * 1.2) + 1000, 60_000)
    write_script(tracking, budget, 2_000, tag)
    target = app_server.base + f"/webhooks/logistics/{CARRIER}"
    threads = str(load.threads)
    _wrk(wrk, target, load, load.warmup_s, "new", "0", threads)
    warm = int(budget * load.warmup_s / seconds) + load.threads
    new = _with_cpu(app_server, url, wrk, target, load, "new", str(warm), threads)
    dup = _with_cpu(app_server, url, wrk, target, load, "dup", "0", threads)
    rows = []
    for key, label, res, goal in (
        ("webhook_new", "webhook, new events", new, NEW_TARGET),
        ("webhook_duplicate", "webhook, duplicates", dup, DUPLICATE_TARGET),
    ):
        ratio = res.rps / floor.rps if floor.rps else 0.0
        rows.append(
            {
                "key": key,
                "label": label,
                "rps": round(res.rps, 1),
                "p50_ms": round(res.p50_ms, 2),
                "p95_ms": round(res.p95_ms, 2),
                "errors": res.errors,
                "ratio": round(ratio, 3),
                "target": goal,
                "pass": ratio >= goal,
                "app_cpu_ms_per_req": _r(res.app_cpu_ms),
                "db_cpu_ms_per_req": _r(res.db_cpu_ms),
            }
        )
    return {"floor_rps": round(floor.rps, 1), "results": rows, "table": table(floor, rows)}


def _with_cpu(server: Gunicorn, url: str, wrk: str, target: str, load: Load, *args) -> WrkResult:
    """A measured wrk run, with the CPU per request of the workers and their backends."""
    workers, backends = cpu.children(server.proc.pid), cpu.db_backends(url)
    before = cpu.cpu_seconds(workers), cpu.cpu_seconds(backends)
    res = _wrk(wrk, target, load, load.duration_s, *args)
    if res.requests:
        res.app_cpu_ms = (cpu.cpu_seconds(workers) - before[0]) / res.requests * 1000
        if backends:
            res.db_cpu_ms = (cpu.cpu_seconds(backends) - before[1]) / res.requests * 1000
    return res


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def table(floor: WrkResult, rows: list[dict]) -> str:
    head = f"{'webhooks (§5, signed)':<22} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6}"
    head += f" {'target':>7}  result"
    lines = [head, "-" * len(head)]
    lines.append(
        f"{'bare Flask floor':<22} {floor.rps:>8,.0f} {floor.p50_ms:>8.2f} "
        f"{floor.p95_ms:>8.2f} {1:>6.2f}"
    )
    for r in rows:
        verdict = "PASS" if r["pass"] else "MISS"
        failed = sum(r["errors"].values())
        lines.append(
            f"{r['label']:<22} {r['rps']:>8,.0f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} "
            f"{r['ratio']:>6.2f} {'≥' + format(r['target'], '.2f'):>7}  {verdict}"
            + (f"  ({failed} non-2xx)" if failed else "")
        )
    return "\n".join(lines)


def main() -> int:
    """`python -m bench.webhooks`: only this part, on a fresh bench database."""
    import secrets as _secrets

    from bench import dataset
    from bench.client import wait_healthy
    from bench.wrk import find_wrk

    url = dataset.database_url()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": _secrets.token_hex(32)}
    env.setdefault("WEBHOOK_RATE_LIMIT", "10000000/minute")
    try:
        wrk = find_wrk()
        print(dataset.prepare(url, env))
        SCRIPT.parent.mkdir(parents=True, exist_ok=True)
        with Gunicorn(env, SCRIPT.parent / "gunicorn.log") as server:
            wait_healthy(server.base, server.alive)
            report = bench(wrk, server, url, env, Load.from_env())
    except BenchError as err:
        print(f"bench.webhooks: {err}", file=sys.stderr)
        return 1
    print(report["table"])
    return 1 if any(sum(r["errors"].values()) for r in report["results"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
