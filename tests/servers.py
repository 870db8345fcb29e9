"""The app under a real gunicorn with several workers, for tests about what holds across
processes (settings, publication): no control socket, cheap password hashes."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workers: int):
    """Yield the base URL of gunicorn serving wsgi:app on the database; stopped afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
    }
    binary = Path(sys.executable).parent / "gunicorn"
    cmd = [str(binary), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--no-control-socket"]
    # The workers log every request to stderr: a file, never a pipe nobody drains.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [*cmd, "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            yield _started(proc, errors, f"http://127.0.0.1:{port}")
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _started(proc, errors, base: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return base
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                errors.seek(0)
                pytest.fail(f"gunicorn did not start: {errors.read().decode()[-2000:]}")
            time.sleep(0.2)
