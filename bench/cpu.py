"""CPU time spent by the gunicorn workers and their PostgreSQL backends (Linux /proc).

Requests per second swing with whatever else the machine runs; CPU milliseconds per request
barely do, so the report carries both. Best effort: empty when /proc is unreadable or
PostgreSQL runs on another host.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def cpu_seconds(pids: list[int]) -> float:
    """user + system seconds of the processes (those gone count as 0)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / _TICK


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def db_backends(url: str) -> list[int]:
    """PIDs of the server processes serving the bench database (other than this probe)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            pids = [pid for (pid,) in rows]
    except Exception:  # diagnostics only: never fail the bench over them
        return []
    finally:
        engine.dispose()
    return [pid for pid in pids if _stat(pid) is not None]  # same host only
