"""/metrics in Prometheus format: requests and latency per route, orders placed and refused
by reason, webhook events by outcome; added up over every gunicorn worker."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.servers import gunicorn


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, frozenset of labels): value}"""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_per_route_and_status_with_their_latency(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/ping")
    client.get("/api/v1/catalog")  # 401
    after = client.get("/metrics")
    assert after.mimetype == "text/plain"
    text = after.get_data(as_text=True)
    name = "dinghuo_http_requests_total"
    ping = {"method": "GET", "route": "/ping", "status": "200"}
    assert value(text, name, **ping) - value(before, name, **ping) == 3
    refused = {"method": "GET", "route": "/api/v1/catalog", "status": "401"}
    assert value(text, name, **refused) - value(before, name, **refused) == 1
    count = "dinghuo_http_request_duration_seconds_count"
    assert value(text, count, method="GET", route="/ping") >= 3
    # An unknown path is one "unmatched" route: scanners cannot grow the label set.
    client.get("/no-such-page-42")
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, name, method="GET", route="unmatched", status="404") >= 1
    assert "no-such-page-42" not in text


def test_orders_placed_and_refused_are_counted_by_reason(client):
    from app.errors import Conflict

    placed = metrics.ORDERS_PLACED._value.get()
    refused = metrics.ORDERS_REFUSED.labels("insufficient_stock")._value.get()

    @metrics.counts_orders
    def place(ok: bool):
        if not ok:
            raise Conflict("short", code="insufficient_stock")
        return "order"

    assert place(True) == "order"
    with pytest.raises(Conflict):
        place(False)
    assert metrics.ORDERS_PLACED._value.get() == placed + 1
    assert metrics.ORDERS_REFUSED.labels("insufficient_stock")._value.get() == refused + 1


def test_webhook_outcomes_are_counted(client):
    before = metrics.WEBHOOK_EVENTS.labels("duplicate")._value.get()
    metrics.count_webhook_outcomes(["applied", "duplicate", "duplicate"])
    assert metrics.WEBHOOK_EVENTS.labels("duplicate")._value.get() == before + 2


def test_a_metrics_token_is_asked_for_when_set(client, app):
    app.config["METRICS_TOKEN"] = "s3cret"
    try:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = ""


WORKERS = 3
PINGS = 30


def test_every_workers_requests_are_in_the_totals(database_url):
    """Through gunicorn.conf.py (one metrics directory per instance, multiprocess mode)."""
    with gunicorn(database_url, WORKERS) as base:
        for _ in range(PINGS):
            request = urllib.request.Request(base + "/ping", headers={"Connection": "close"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
        for _ in range(2 * WORKERS):  # whichever worker answers, the same totals
            with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:
                text = answer.read().decode()
            ping = {"method": "GET", "route": "/ping", "status": "200"}
            assert value(text, "dinghuo_http_requests_total", **ping) == PINGS
