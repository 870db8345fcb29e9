"""Run wrk with the reporting Lua script and parse what it prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import cpu
from bench.dataset import BenchError

LUA = Path(__file__).resolve().parent / "report.lua"
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)


@dataclass(frozen=True)
class Load:
    threads: int = 2
    connections: int = 16
    duration_s: int = 10
    warmup_s: int = 3
    rounds: int = 1

    @classmethod
    def from_env(cls) -> Load:
        def num(name: str, default: int) -> int:
            value = os.environ.get(name, "")
            if value and not value.isdigit():
                raise BenchError(f"{name} must be a whole number, not {value!r}.")
            return int(value) if value else default

        return cls(
            threads=num("BENCH_THREADS", cls.threads),
            connections=num("BENCH_CONNECTIONS", cls.connections),
            duration_s=num("BENCH_DURATION", cls.duration_s),
            warmup_s=num("BENCH_WARMUP", cls.warmup_s),
            rounds=max(1, num("BENCH_ROUNDS", cls.rounds)),
        )


def find_wrk() -> str:
    path = os.environ.get("WRK") or shutil.which("wrk")
    if not path or not os.access(path, os.X_OK):
        raise BenchError(
            "wrk is not installed (or not on PATH). Install it: `apt-get install wrk` "
            "(Debian/Ubuntu) or `brew install wrk`; or set WRK=/path/to/wrk."
        )
    return path


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    app_cpu_ms: float | None = None  # gunicorn workers' CPU per request
    db_cpu_ms: float | None = None  # their PostgreSQL backends' CPU per request

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(
    wrk: str, url: str, headers: dict[str, str], load: Load, duration_s: int | None = None
) -> WrkResult:
    """One wrk run; raises BenchError when wrk fails or prints no summary."""
    duration = duration_s if duration_s is not None else load.duration_s
    cmd = [wrk, f"-t{load.threads}", f"-c{load.connections}", f"-d{duration}s", "--latency"]
    cmd += ["--timeout", "10s", "-s", str(LUA)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse(done.stdout)


def parse(output: str) -> WrkResult:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no BENCH_JSON line; its output was:\n{output}")
    data = json.loads(line[len("BENCH_JSON ") :])
    duration_s = data["duration_us"] / 1e6
    rps_text = _RPS.search(output)
    rps = float(rps_text.group(1)) if rps_text else data["requests"] / duration_s
    return WrkResult(
        requests=data["requests"],
        duration_s=round(duration_s, 3),
        rps=rps,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
    )


def measured(
    wrk: str, server, path: str, headers: dict[str, str], load: Load, db_url: str | None
) -> WrkResult:
    """Warm up, then one measured wrk run with the CPU the server's workers (and, given the
    database URL, their PostgreSQL backends) spent per request."""
    url = server.base + path
    if load.warmup_s:
        run_wrk(wrk, url, headers, load, duration_s=load.warmup_s)
    workers = cpu.children(server.proc.pid)
    backends = cpu.db_backends(db_url) if db_url else []
    before = cpu.cpu_seconds(workers), cpu.cpu_seconds(backends)
    res = run_wrk(wrk, url, headers, load)
    if res.requests:
        res.app_cpu_ms = (cpu.cpu_seconds(workers) - before[0]) / res.requests * 1000
        if backends:
            res.db_cpu_ms = (cpu.cpu_seconds(backends) - before[1]) / res.requests * 1000
    return res
