"""Operational routes: health check, the htmx asset, the benchmark floor."""

from contextlib import contextmanager

import pytest

from app import create_app
from app.config import TestConfig


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.no_db
def test_healthz_is_503_when_the_database_is_unreachable():
    broken = create_app(TestConfig("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503


def test_htmx_is_served_by_the_app_from_its_package(client):
    from app.web.helpers import HTMX_VERSION

    response = client.get(f"/vendor/htmx.min.js?v={HTMX_VERSION}")
    assert response.status_code == 200
    assert b"htmx" in response.data[:2000]
    assert "immutable" in response.headers["Cache-Control"]
    # Any other URL is the same file, revalidated: only the versioned one is kept for a year.
    assert "immutable" not in client.get("/vendor/htmx.min.js").headers["Cache-Control"]


def test_pages_load_no_third_party_hosts(client):
    html = client.get("/login").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html


def test_readyz_is_ready_with_the_database_at_the_migrations_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }


@contextmanager
def schema_version(version: str | None = None):
    """alembic_version set to `version` (default: the revision before head) for a while."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from app.extensions import db

    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    version = version or ScriptDirectory("migrations").get_revision(head).down_revision
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    db.session.commit()
    try:
        yield
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()


def test_readyz_is_503_when_the_schema_is_behind(client):
    with schema_version():
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["migrations"].startswith("not at head")


@pytest.mark.no_db
def test_readyz_is_503_when_the_database_or_redis_is_unreachable():
    config = TestConfig("postgresql+psycopg://nobody@127.0.0.1:1/none")
    config.REDIS_URL = "redis://127.0.0.1:1/0"
    response = create_app(config).test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"].startswith("unavailable")
    assert checks["redis"].startswith("unavailable")


def test_every_answer_carries_a_request_id_taken_or_made(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]
    given = client.get("/healthz", headers={"X-Request-ID": "erp-42.a"})
    assert given.headers["X-Request-ID"] == "erp-42.a"
    odd = client.get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"})
    assert odd.headers["X-Request-ID"] not in ("", "no spaces <allowed>")
    assert client.get("/api/v1/catalog").headers["X-Request-ID"]  # errors too (401)


def test_each_request_is_one_json_log_line_with_its_id_status_and_role(client, caplog):
    import json
    import logging

    from app.observability import JsonFormatter, RequestContext
    from tests import factories as f

    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    from app.extensions import db

    db.session.commit()
    bearer = f.token_for(client, "buyer")
    caplog.set_level(logging.INFO, logger="dinghuo.request")
    caplog.clear()
    client.get("/api/v1/catalog", headers={"X-Request-ID": "trace-1"})
    client.get("/api/v1/catalog", headers={**bearer, "X-Request-ID": "trace-2"})
    records = [r for r in caplog.records if r.name == "dinghuo.request"]
    for record in records:
        RequestContext().filter(record)  # outside the request now: keeps what it had
    anonymous, dealer = (json.loads(JsonFormatter().format(r)) for r in records)
    assert anonymous["message"] == "GET /api/v1/catalog 401"
    assert anonymous["request_id"] == "trace-1"
    assert anonymous["status"] == 401 and anonymous["role"] == "anonymous"
    assert anonymous["duration_ms"] >= 0 and anonymous["level"] == "info"
    assert (dealer["request_id"], dealer["status"], dealer["role"]) == ("trace-2", 200, "dealer")
    assert dealer["user_id"] == buyer.id


def test_readyz_stays_ready_when_the_database_is_ahead_of_this_code(client):
    """Mid-deploy a newer host has migrated: hosts on the old code keep serving."""
    with schema_version("ffffffffffff"):
        assert client.get("/readyz").status_code == 200


@pytest.mark.no_db
def test_behind_a_load_balancer_the_clients_address_is_taken_from_it():
    from flask import request

    config = TestConfig("sqlite://")
    config.PROXY_HOPS = 1
    app = create_app(config)
    app.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert app.test_client().get("/whoami", headers=headers).get_data(as_text=True) == (
        "203.0.113.9"
    )
