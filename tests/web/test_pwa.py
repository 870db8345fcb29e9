"""The installable app's server side: the manifest, the service worker, the offline page, and
the headers that decide what the worker may keep and for whom (app/web/pwa.py)."""

from __future__ import annotations

import json
import re

import pytest

from app.web import pwa
from tests import factories as f


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("SH002", "GOLD")
    f.product("TEA-1", name="茶", list_price=500, on_hand=20)
    client.users = {"buyer": f.dealer_user("SH001", "buyer").id}
    client.users["other"] = f.dealer_user("SH002", "other").id
    f.admin("hq")
    return client


def sign_in(client, username: str):
    client._cookies.clear()  # a fresh browser: no session, no language cookie
    assert f.web_login(client, username).status_code == 302


def test_every_page_links_the_manifest_and_loads_the_worker_script(shop):
    for path, user in (("/login", None), ("/catalog", "buyer"), ("/admin/", "hq")):
        if user:
            sign_in(shop, user)
        page = shop.get(path).get_data(as_text=True)
        assert 'rel="manifest" href="/manifest.webmanifest"' in page, path
        assert re.search(r'<script src="/static/js/app\.[0-9a-f]{10}\.js"', page), path


def test_the_manifest_has_what_a_phone_needs_to_install_the_app(shop):
    response = shop.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["display"] == "standalone"
    assert manifest["short_name"] == "订货通" and manifest["lang"] == "zh-CN"
    assert manifest["theme_color"] == "#f05a28" and manifest["background_color"]
    assert manifest["start_url"].startswith("/") and manifest["scope"] == "/"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = shop.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.data.startswith(b"\x89PNG")

    shop.set_cookie("lang", "en")
    assert json.loads(shop.get("/manifest.webmanifest").data)["short_name"] == "Dinghuo"


def test_the_worker_is_served_at_the_root_fresh_each_time(shop):
    response = shop.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    settings = json.loads(re.search(r"const SETTINGS = (\{.*?\});", script).group(1))
    assert "/offline" in settings["shell"]
    assert any(
        re.fullmatch(r"/static/css/app\.[0-9a-f]{10}\.css", url) for url in settings["shell"]
    )
    assert {"/api/", "/admin", "/webhooks/"} <= set(settings["never"])
    assert 'if (request.method !== "GET") return;' in script  # a write is never answered


def test_the_offline_page_holds_nothing_of_anyones(shop):
    response = shop.get("/offline")
    assert response.status_code == 200
    assert response.headers[pwa.USER_HEADER] == pwa.ANONYMOUS
    assert pwa.COPY_HEADER not in response.headers
    assert "Set-Cookie" not in response.headers  # no session made for it
    sign_in(shop, "buyer")
    page = shop.get("/offline").get_data(as_text=True)
    assert "SH001" not in page and "buyer" not in page and "购物车" not in page
    assert "csrf" not in page.lower()  # shown to whoever is offline next: no token of anyone's
    assert "没有网络" in page and "No connection" in page  # both languages, whoever fetched it


def test_dealer_pages_are_marked_with_their_user_and_kept(shop, app):
    sign_in(shop, "buyer")
    with app.app_context():
        buyer_key = pwa.user_key(shop.users["buyer"])
        other_key = pwa.user_key(shop.users["other"])
    assert buyer_key != other_key and len(buyer_key) == 20
    for path in ("/catalog", "/catalog/TEA-1", "/orders", "/wallet", "/cart", "/me"):
        response = shop.get(path)
        assert response.status_code == 200, path
        assert response.headers[pwa.USER_HEADER] == buyer_key, path
        assert response.headers[pwa.COPY_HEADER] == "1", path
    sign_in(shop, "other")
    assert shop.get("/catalog").headers[pwa.USER_HEADER] == other_key


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/catalog", {"HX-Request": "true"}),  # a fragment
        ("/catalog/TEA-1/sheet", {"HX-Request": "true"}),
        ("/checkout", {}),  # a step of ordering, never read offline
        ("/quick-order", {}),
        ("/catalog/NOPE", {}),  # an error page
    ],
)
def test_fragments_forms_and_errors_are_never_kept(shop, path, headers):
    sign_in(shop, "buyer")
    response = shop.get(path, headers=headers)
    assert pwa.COPY_HEADER not in response.headers, (path, response.status_code)


def test_answers_to_writes_hq_pages_and_the_api_are_never_kept(shop):
    sign_in(shop, "buyer")
    token = f.csrf_from(shop.get("/quick-order").data)
    answer = shop.post("/cart/add", data={"sku": "TEA-1", "qty": "1", "csrf_token": token})
    assert pwa.COPY_HEADER not in answer.headers
    api = shop.get("/api/v1/catalog", headers=f.token_for(shop, "buyer"))
    assert api.status_code == 200
    assert pwa.COPY_HEADER not in api.headers and pwa.USER_HEADER not in api.headers

    sign_in(shop, "hq")
    page = shop.get("/admin/")
    assert page.status_code == 200
    assert pwa.COPY_HEADER not in page.headers


def test_the_login_page_tells_the_worker_nobody_is_signed_in(shop):
    response = shop.get("/login")
    assert response.headers[pwa.USER_HEADER] == pwa.ANONYMOUS
    assert pwa.COPY_HEADER not in response.headers
