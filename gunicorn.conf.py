"""gunicorn settings, read from the environment (gunicorn loads this file from the working
directory; `gunicorn wsgi:app` is then the whole command line).

| variable | meaning | default |
|---|---|---|
| GUNICORN_BIND | address to listen on | 0.0.0.0:8000 |
| WEB_CONCURRENCY | worker processes | 2 per core |
| GUNICORN_THREADS | threads per worker (1: sync workers) | 1 |
| GUNICORN_TIMEOUT | seconds a request may take before its worker is replaced | 30 |
| GUNICORN_GRACEFUL_TIMEOUT | seconds to finish requests on SIGTERM / restart | 30 |
| GUNICORN_KEEPALIVE | seconds to hold an idle keep-alive connection | 5 |
| GUNICORN_MAX_REQUESTS | requests before a worker is replaced (0: never) | 10000 |
| GUNICORN_MAX_REQUESTS_JITTER | random extra, so workers do not restart together | 1000 |
| GUNICORN_CONTROL_SOCKET | this instance's control socket; unset: none | none |
| GUNICORN_ACCESS_LOG | access log file ("-": stderr); the app logs each request anyway | off |
| PROMETHEUS_MULTIPROC_DIR | where the workers keep their metrics (emptied by you) | a fresh one |
"""

import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# The longest request line gunicorn reads (414 above it, before the app): the widest filter
# the API describes (the audit log's, every field at its maxLength in 4-byte characters,
# percent-encoded) fits in gunicorn's maximum, not in its default of 4094.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)

# Gunicorn 27 opens a control socket shared by every instance on the host unless told
# otherwise: one of its own when a path is given, else none.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# One line per request with the id the app put on the answer (X-Request-ID).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s ua="%(a)s"'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Every worker counts its metrics in files here; /metrics adds them up (app/metrics.py). The
# variable must be set before a worker imports prometheus_client: this file runs first.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dinghuo-metrics-")
    os.environ["DINGHUO_METRICS_DIR_MADE"] = "1"  # ours to remove (a reload keeps it)


def child_exit(server, worker):
    """A worker's live gauges go with it (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("DINGHUO_METRICS_DIR_MADE") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
