"""Compressed answers, and static files on content-hashed URLs cached for a year."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from pathlib import Path

import brotli
import pytest

from app import static_assets
from app.services import products
from app.web.helpers import HTMX_VERSION
from tests import factories as f

STATIC = Path(__file__).resolve().parents[2] / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
ASSET_URL = re.compile(r'(?:href|src)="(/(?:static|vendor)/[^"]+)"')
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer_user("SH001", "sh")
    for n in range(12):
        f.product(f"DRK-{n:03d}", name=f"冰爽柠檬茶{n}号", on_hand=50, category="饮料")
    f.web_login(client, "sh")
    return client


def fetch(client, url: str, coding: str, **headers):
    """The response and its body as the client reads it, decoded from `coding`."""
    response = client.get(url, headers={"Accept-Encoding": coding, **headers})
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers.get("Content-Encoding") == coding, url
    assert "Accept-Encoding" in response.headers["Vary"]
    return response, DECODE[coding](response.data)


def asset_urls(html: str) -> list[str]:
    return ASSET_URL.findall(html)


def served(name: str) -> bytes:
    """What the app serves for a file under static/: its bytes, our CSS and JS minified."""
    data = (STATIC / name).read_bytes()
    minify = static_assets.MINIFIERS.get(mimetypes.guess_type(name)[0] or "")
    return minify(data.decode()).encode() if minify else data


def hashed(name: str) -> str:
    """The URL path a file under static/ must have: its name with a hash of what is served."""
    digest = hashlib.blake2b(served(name), digest_size=5).hexdigest()
    stem, dot, suffix = name.rpartition(".")
    return f"/static/{stem}.{digest}{dot}{suffix}"


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_the_catalog_page_is_compressed_in_the_coding_the_phone_prefers(shop, coding):
    response, body = fetch(shop, "/catalog", coding)
    assert "冰爽柠檬茶11号".encode() in body
    assert len(response.data) < len(body) / 2
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_brotli_wins_when_the_browser_offers_everything(shop):
    response = shop.get("/catalog", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "br"


def test_without_accept_encoding_the_page_is_sent_as_is(shop):
    response = shop.get("/catalog")
    assert "Content-Encoding" not in response.headers
    assert "冰爽柠檬茶11号" in response.get_data(as_text=True)
    assert "Accept-Encoding" in response.headers["Vary"]  # a cache keeps both forms apart


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_json_api_answers_are_compressed(shop, coding):
    response, body = fetch(shop, "/api/v1/catalog", coding, **f.token_for(shop, "sh"))
    assert response.mimetype == "application/json"
    assert b'"DRK-011"' in body


def test_a_tiny_answer_is_not_worth_compressing(shop):
    response = shop.get("/stock-badges?skus=DRK-001", headers={"Accept-Encoding": "br"})
    assert len(response.data) < 500
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize("coding", ["br", "gzip"])
@pytest.mark.parametrize("name", ["css/app.css", "js/app.js"])
def test_css_and_js_are_compressed_and_cached_for_a_year(client, coding, name):
    response, body = fetch(client, hashed(name), coding)
    assert body == served(name)
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.mimetype in ("text/css", "text/javascript", "application/javascript")


def test_every_asset_on_a_dealer_page_has_a_hashed_url_cached_for_a_year(shop):
    urls = asset_urls(shop.get("/catalog").get_data(as_text=True))
    expected = ("css/app.css", "css/nojs.css", "icons/favicon.svg", "js/app.js")
    assert {hashed(name) for name in expected} <= set(urls)
    for url in urls:
        response = shop.get(url, headers={"Accept-Encoding": "br"})
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        assert "Cookie" not in response.headers.get("Vary", ""), url  # the same for everyone


def test_the_hq_layout_and_the_login_page_use_hashed_urls_too(client):
    assert hashed("icons/favicon.svg") in asset_urls(client.get("/login").get_data(as_text=True))
    f.admin("hq")
    f.web_login(client, "hq")
    urls = asset_urls(client.get("/admin/").get_data(as_text=True))
    assert hashed("css/admin.css") in urls and hashed("css/app.css") in urls
    every_hashed = {hashed(p.relative_to(STATIC).as_posix()) for p in STATIC.rglob("*.*")}
    assert [u for u in urls if u.startswith("/static/")] and {
        u for u in urls if u.startswith("/static/")
    } <= every_hashed


def test_the_plain_name_still_works_but_is_revalidated(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.data == served("css/app.css")
    assert "immutable" not in response.headers["Cache-Control"]
    assert "no-cache" in response.headers["Cache-Control"]
    again = client.get("/static/css/app.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_stale_hash_gets_todays_file_but_never_for_a_year(client):
    response = client.get("/static/css/app.0123456789.css")
    assert response.status_code == 200
    assert response.data == served("css/app.css")
    assert "immutable" not in response.headers["Cache-Control"]
    assert "max-age=31536000" not in response.headers["Cache-Control"]


def test_a_missing_file_is_not_found(client):
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/css/nothing.0123456789.css").status_code == 404


def test_htmx_is_immutable_on_the_url_naming_its_version(client):
    current = client.get(f"/vendor/htmx.min.js?v={HTMX_VERSION}", headers={"Accept-Encoding": "br"})
    assert current.headers["Cache-Control"] == IMMUTABLE
    assert current.headers["Content-Encoding"] == "br"
    assert b"htmx" in brotli.decompress(current.data)[:2000]
    assert "Cookie" not in current.headers["Vary"]
    for stale in ("/vendor/htmx.min.js", "/vendor/htmx.min.js?v=1.0.0"):
        assert "immutable" not in client.get(stale).headers["Cache-Control"], stale


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_stock_badges_answer_304_to_the_etag_of_a_compressed_answer(shop, coding):
    url = "/stock-badges?skus=" + ",".join(f"DRK-{n:03d}" for n in range(12))
    first, body = fetch(shop, url, coding)
    assert b'"DRK-011"' in body
    unchanged = shop.get(
        url, headers={"Accept-Encoding": coding, "If-None-Match": first.headers["ETag"]}
    )
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    products.set_on_hand("DRK-003", 0)
    changed = shop.get(
        url, headers={"Accept-Encoding": coding, "If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_statement_downloads_are_sent_as_they_are(shop, kind):
    response = shop.get(f"/wallet/statement?format={kind}", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"\xef\xbb\xbf" if kind == "csv" else b"PK")


def test_served_css_and_js_are_the_minified_files_and_still_say_the_same(client):
    for name in ("css/app.css", "js/app.js"):
        source = (STATIC / name).read_bytes()
        body = client.get(f"/static/{name}").data
        assert body == served(name) and len(body) < len(source)
    assert b"data-offline-at" in client.get("/static/js/app.js").data  # strings kept as written
