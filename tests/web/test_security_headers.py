"""Security headers on every response, and pages that need nothing the policy forbids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.config import TestConfig
from tests import factories as f

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def dealer_page(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer_user("SH001", "buyer")
    f.admin("hq")
    from app.extensions import db

    db.session.commit()
    return client


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    parts = (p.strip() for p in response.headers["Content-Security-Policy"].split(";"))
    return {name: rest for name, _, rest in (p.partition(" ") for p in parts if p)}


@pytest.mark.parametrize(
    "path, status",
    [
        ("/login", 200),
        ("/catalog", 302),  # anonymous: sent to the login page, headers and all
        ("/no-such-page", 404),
        ("/api/v1/catalog", 401),
        ("/healthz", 200),
    ],
)
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in development


def test_signed_in_pages_carry_them_too(dealer_page):
    assert f.web_login(dealer_page, "buyer").status_code == 302
    assert policy(dealer_page.get("/catalog"))["script-src"] == "'self'"
    dealer_page.post("/logout", data={"csrf_token": f.csrf_from(dealer_page.get("/me").data)})
    assert f.web_login(dealer_page, "hq").status_code == 302
    assert policy(dealer_page.get("/admin/"))["frame-ancestors"] == "'none'"


@pytest.mark.no_db
def test_hsts_once_the_cookies_are_https_only():
    config = TestConfig("sqlite://")
    config.SESSION_COOKIE_SECURE = True
    response = create_app(config).test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "an inline event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
    "an hx-on handler (eval)": re.compile(r"\shx-on[:-]", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.no_db
def test_no_template_needs_what_the_policy_forbids():
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for what, pattern in INLINE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(TEMPLATES)}:{line}: {what}")
    assert found == []


@pytest.mark.parametrize(
    "path, document",
    [
        ("/static/css/app.css", False),
        ("/static/js/app.js", False),
        ("/static/icons/app-192.png", False),
        ("/static/icons/favicon.svg", True),  # an SVG opened on its own is a document
        ("/sw.js", True),  # a worker's script: its CSP governs the worker
    ],
)
def test_assets_carry_only_what_applies_to_them(client, path, document):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert ("Content-Security-Policy" in response.headers) is document
    assert ("X-Frame-Options" in response.headers) is document


def test_our_css_and_script_are_served_minified(client):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "static"
    for name in ("css/app.css", "js/app.js", "css/admin.css"):
        served = client.get(f"/static/{name}").data
        source = (root / name).read_bytes()
        assert len(served) < len(source) * 0.9, name
        assert b"/*" not in served, name  # the comments stay in the repo
