"""Operational routes: health check, the htmx asset, the benchmark floor."""

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
