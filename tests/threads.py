"""Real threads for the PostgreSQL race tests: callables released at one barrier."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


def run_together(calls):
    """Run zero-argument callables in as many threads, released at once by a barrier."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(go, calls))
