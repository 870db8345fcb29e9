"""gunicorn (2 sync workers, no access log) on a free local port, stopped for sure."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from bench.dataset import ROOT, BenchError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn() -> str:
    beside = Path(sys.executable).parent / "gunicorn"
    path = str(beside) if beside.exists() else shutil.which("gunicorn")
    if not path:
        raise BenchError("gunicorn is not installed in the virtualenv: run `make install`.")
    return path


class Gunicorn:
    """Use as a context manager; the whole process group is gone on exit."""

    def __init__(
        self, env: dict[str, str], log_path: Path, workers: int = 2, app: str = "wsgi:app"
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in env.items() if k != "GUNICORN_CMD_ARGS"}
        self.log_path = log_path
        self.workers = workers
        self.app = app
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        cmd = [_gunicorn(), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}"]
        # No access log; no control socket (a `make run` nearby may own the default path).
        # gunicorn.conf.py's defaults otherwise, but no worker recycling in the middle of a
        # measurement (it would empty the app's caches, and never the floor's).
        cmd += ["--max-requests", "0", "--error-logfile", str(self.log_path)]
        cmd += ["--no-control-socket", self.app]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # The app's own tracebacks go to stderr: into the same log, so a 500 can be read.
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,  # its own process group, so we can end all of it
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        finally:
            # any worker the master left behind (same group, our own child)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
