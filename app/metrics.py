"""Prometheus metrics at /metrics (issue 11): requests and their latency per route, orders
placed and refused by reason, carrier webhook events by outcome.

Several gunicorn workers each count in files of their own under PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py makes a fresh one per instance); /metrics, answered by whichever worker,
adds them all up. Without that directory (the test client, `flask run`) one process counts.
`METRICS_TOKEN`, when set, is the bearer token /metrics asks for.
"""

from __future__ import annotations

import hmac
import os
from functools import wraps

from flask import Flask, Response, abort, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("dinghuo_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "dinghuo_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDERS_PLACED = Counter("dinghuo_orders_placed", "Orders placed")
ORDERS_REFUSED = Counter("dinghuo_orders_refused", "Order placements refused", ["reason"])
WEBHOOK_EVENTS = Counter("dinghuo_webhook_events", "Carrier events received", ["outcome"])


def observe(method: str, status: int, seconds: float) -> None:
    """One answered request (called by app.observability when the request ends)."""
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"  # bounded: the app's URL rules
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def counts_orders(place):
    """Count what an order placement function did: placed, or refused with its code."""
    from app.errors import DomainError

    @wraps(place)
    def counted(*args, **kwargs):
        try:
            order = place(*args, **kwargs)
        except DomainError as err:
            ORDERS_REFUSED.labels(err.code).inc()
            raise
        ORDERS_PLACED.inc()
        return order

    return counted


def count_webhook_outcomes(outcomes: list[str]) -> None:
    for outcome in outcomes:
        WEBHOOK_EVENTS.labels(outcome).inc()


def init_app(app: Flask) -> None:
    @app.get("/metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN", "")
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                abort(401)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        response.headers["Cache-Control"] = "no-store"
        return response
