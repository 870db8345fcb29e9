"""`make fuzz`: schemathesis (`--checks all`: positive and negative data, stateful links)
against a fresh app, once with an HQ token and once with a dealer token. Not part of
`make test`; CI runs a short version (`python -m bench.fuzz --quick`).

    .venv/bin/python -m bench.fuzz [--quick]   (FUZZ_EXAMPLES, default 100 or 15 quick;
                                                FUZZ_SEED for a repeatable run;
                                                FUZZ_DATABASE_URL, default a new SQLite file)

The app gets the demo data, and a few orders and a deposit notice placed through the API, so
that the links from the lists reach real records. What the description cannot declare is in
schemathesis.toml, each with its reason. Exit status 1 when a run finds a failure or the app
logged a traceback.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.client import Client, wait_healthy
from bench.dataset import ROOT, BenchError
from bench.server import Gunicorn

RUNS = (  # (who, username, password, OpenAPI tags); the dealer first: HQ's run may well
    # deactivate the dealer (PATCH /admin/dealers/{code}), and every dealer call is then 403.
    ("dealer", "sh001", "demo1234", ("dealer",)),
    ("HQ admin", "admin", "admin1234", ("admin", "public")),
)


def _flask(env: dict[str, str], *args: str) -> None:
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"flask {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def _token(client: Client, username: str, password: str) -> str:
    reply = client.request(
        "POST", "/api/v1/auth/tokens", json_body={"username": username, "password": password}
    )
    if reply.status != 201:
        raise BenchError(f"login as {username}: HTTP {reply.status} {reply.body[:200]!r}")
    return reply.json()["token"]


def _seed(client: Client, hq: str, dealer: str) -> None:
    """Orders (one approved) and a deposit notice, so the lists' links find records."""
    auth = {"Authorization": f"Bearer {dealer}"}
    items = client.request("GET", "/api/v1/catalog?per_page=50", headers=auth).json()["items"]
    orderable = [i for i in items if (i["stock"]["available"] or 0) >= 4 * i["min_order_qty"]]
    numbers = []
    for item in orderable[:4]:
        line = {"sku": item["sku"], "qty": item["min_order_qty"]}
        reply = client.request("POST", "/api/v1/orders", headers=auth, json_body={"lines": [line]})
        if reply.status == 201:
            numbers.append(reply.json()["number"])
    if len(numbers) < 2:
        raise BenchError(f"could not place the seed orders ({len(numbers)} placed)")
    client.request(
        "POST",
        "/api/v1/wallet/deposit-notices",
        headers=auth,
        json_body={"amount": "500.00", "reference": "FUZZ-SEED-1"},
    )
    client.request(
        "POST",
        f"/api/v1/admin/orders/{numbers[0]}/approve",
        headers={"Authorization": f"Bearer {hq}"},
    )


def _schemathesis(base: str, token: str, tags: tuple[str, ...], examples: int) -> int:
    cmd = [str(Path(sys.executable).parent / "st"), "run", f"{base}/api/v1/openapi.json"]
    cmd += ["-H", f"Authorization: Bearer {token}", "--checks", "all", "-n", str(examples)]
    for tag in tags:
        cmd += ["--include-tag", tag]
    if os.environ.get("FUZZ_SEED"):
        cmd += ["--seed", os.environ["FUZZ_SEED"]]
    done = subprocess.run(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    print(done.stdout)
    if "Authentication failed" in done.stdout:  # a run of 401s would pass and test nothing
        print("fuzz: the token stopped working during the run")
        return 1
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run, for CI")
    args = parser.parse_args()
    examples = int(os.environ.get("FUZZ_EXAMPLES", "15" if args.quick else "100"))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("FUZZ_DATABASE_URL", f"sqlite:///{tmp}/fuzz.db"),
            "SECRET_KEY": secrets.token_hex(16),
            "RECEIPTS_DIR": f"{tmp}/receipts",
            "LOGIN_LIMITS_PER_IP": "100000/minute",
            "LOGIN_LIMITS_PER_ACCOUNT": "100000/minute",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8192",
        }
        env.pop("REDIS_URL", None)
        _flask(env, "db", "upgrade")
        _flask(env, "demo-data", "--if-empty")
        log = Path(tmp) / "gunicorn.log"
        failed: list[str] = []
        started = time.monotonic()
        with Gunicorn(env, log, workers=2) as server:
            wait_healthy(server.base, server.alive)
            client = Client(server.base)
            tokens = {who: _token(client, user, pw) for who, user, pw, _ in RUNS}
            _seed(client, tokens["HQ admin"], tokens["dealer"])
            for who, _, _, tags in RUNS:
                print(f"== schemathesis as {who} ({', '.join(tags)}), {examples} examples")
                if _schemathesis(server.base, tokens[who], tags, examples):
                    failed.append(who)
        tracebacks = log.read_text(errors="replace").count("Traceback")
        if tracebacks:
            print(log.read_text(errors="replace")[-4000:])
            failed.append(f"{tracebacks} traceback(s) in the app's log")
    took = time.monotonic() - started
    if failed:
        print(f"fuzz: FAILED ({'; '.join(failed)}) in {took:.0f} s")
        return 1
    print(f"fuzz: 0 failures as {' and as '.join(r[0] for r in RUNS)} in {took:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"fuzz: {err}", file=sys.stderr)
        sys.exit(2)
