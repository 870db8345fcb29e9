"""Per-process caches (app/services/cache.py) never show what the database no longer holds:
a write by anyone — another process, an import, psql — holds for the very next request, in
this process and in every gunicorn worker. PostgreSQL only (SQLite reads through)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import psycopg
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.cache import APPLICATION_NAME
from tests import factories as f
from tests.servers import gunicorn

pytestmark = pytest.mark.postgres

ROUNDS = 30


def psql(sql: str, params: tuple = ()) -> None:
    """A write from outside the app, on a connection of its own (as psql or an ETL would)."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


@pytest.fixture
def brand(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.product("TEA-1", name="绿茶", list_price=10_000, on_hand=100)
    f.dealer_user("SH001", "buyer")
    db.session.commit()
    return f.token_for(client, "buyer")


def tea(client, headers):
    return client.get("/api/v1/catalog/TEA-1", headers=headers)


def test_a_price_changed_outside_the_app_shows_on_the_next_request(client, brand):
    assert tea(client, brand).get_json()["price"] == "100.00"
    for n in range(1, ROUNDS + 1):
        psql("UPDATE products SET list_price = %s WHERE sku = 'TEA-1'", (10_000 + n,))
        assert tea(client, brand).get_json()["price"] == f"{100 + n / 100:.2f}", n


def test_stock_changed_outside_the_app_shows_on_the_next_request(client, brand):
    assert tea(client, brand).get_json()["stock"]["available"] == 100
    for n in range(1, ROUNDS + 1):
        psql(
            "UPDATE stock_levels SET on_hand = %s"
            " WHERE product_id = (SELECT id FROM products WHERE sku = 'TEA-1')",
            (100 + n,),
        )
        page = client.get("/api/v1/catalog", headers=brand).get_json()
        assert page["items"][0]["stock"]["available"] == 100 + n, n
        assert tea(client, brand).get_json()["stock"]["available"] == 100 + n, n


def test_a_deactivation_outside_the_app_holds_on_the_next_request(client, brand):
    for _ in range(ROUNDS // 3):
        assert tea(client, brand).status_code == 200
        psql("UPDATE dealers SET active = false WHERE code = 'SH001'")
        refused = tea(client, brand)
        assert refused.status_code == 403
        assert refused.get_json()["code"] == "account_inactive"
        psql("UPDATE dealers SET active = true WHERE code = 'SH001'")


def test_a_session_ends_on_the_next_page_when_its_user_is_deactivated(client, brand):
    assert f.web_login(client, "buyer").status_code == 302
    assert client.get("/stock-badges?skus=TEA-1").get_json()["items"][0]["available"] == 100
    psql("UPDATE stock_levels SET reserved = 40")
    assert client.get("/stock-badges?skus=TEA-1").get_json()["items"][0]["available"] == 60
    psql("UPDATE users SET active = false WHERE username = 'buyer'")
    assert client.get("/stock-badges?skus=TEA-1").status_code in (302, 401)


def test_a_lost_listener_clears_the_caches_and_reads_through_until_it_is_back(client, brand):
    assert tea(client, brand).get_json()["price"] == "100.00"
    psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = %s AND datname = current_database()",
        (APPLICATION_NAME,),
    )
    psql("UPDATE products SET list_price = 12300 WHERE sku = 'TEA-1'")
    assert tea(client, brand).get_json()["price"] == "123.00"
    psql("UPDATE products SET list_price = 12400 WHERE sku = 'TEA-1'")
    assert tea(client, brand).get_json()["price"] == "124.00"


def test_the_apps_own_writes_show_at_once_in_this_process(client, brand):
    f.admin("hq")
    admin_headers = f.token_for(client, "hq")
    assert tea(client, brand).get_json()["price"] == "100.00"
    for n in range(1, 6):
        body = {"list_price": f"{100 + n}.00"}
        answer = client.patch("/api/v1/admin/products/TEA-1", json=body, headers=admin_headers)
        assert answer.status_code == 200, answer.get_json()
        assert tea(client, brand).get_json()["price"] == f"{100 + n}.00"


def order_tea(client, headers, qty: int = 1):
    body = {"lines": [{"sku": "TEA-1", "qty": qty}]}
    return client.post("/api/v1/orders", json=body, headers=headers)


def test_an_order_takes_the_price_and_policy_written_outside_the_app_a_moment_before(client, brand):
    """Orders read products, price tables and the rebate policy from the caches too."""
    f.deposit("SH001", 10_000_000)
    db.session.commit()
    assert order_tea(client, brand).get_json()["goods_amount"] == "100.00"
    for n in range(1, ROUNDS // 3 + 1):
        psql("UPDATE products SET list_price = %s WHERE sku = 'TEA-1'", (10_000 + n,))
        rate = f"0.0{n % 10}"
        psql(
            "INSERT INTO settings (key, value) VALUES ('rebate_policy', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps({"rates": {"GOLD": rate}, "max_use_ratio": "0"}),),
        )
        placed = order_tea(client, brand).get_json()
        assert placed["goods_amount"] == f"{100 + n / 100:.2f}", n
        kept = db.session.scalar(select(Order.rebate_rate).where(Order.number == placed["number"]))
        assert kept == rate, n


def test_a_product_deactivated_or_limited_outside_the_app_cannot_be_ordered_next(client, brand):
    f.deposit("SH001", 10_000_000)
    db.session.commit()
    for _ in range(ROUNDS // 3):
        assert order_tea(client, brand).status_code == 201
        psql("UPDATE products SET active = false WHERE sku = 'TEA-1'")
        assert order_tea(client, brand).status_code == 422
        psql("UPDATE products SET active = true, tier_restricted = true WHERE sku = 'TEA-1'")
        assert order_tea(client, brand).status_code == 422
        psql("UPDATE products SET tier_restricted = false WHERE sku = 'TEA-1'")


WORKERS = 3
TRIES = 4 * WORKERS


def fetch(base: str, path: str, token: str):
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_every_worker_sees_a_change_on_its_next_request(database_url, client, brand):
    token = brand["Authorization"].removeprefix("Bearer ")
    db.session.remove()
    with gunicorn(database_url, WORKERS) as base:
        for _ in range(TRIES):  # every worker has the page and the token cached
            assert fetch(base, "/api/v1/catalog", token)[1]["items"][0]["price"] == "100.00"
        for n in (1, 2, 3):
            psql("UPDATE products SET list_price = %s WHERE sku = 'TEA-1'", (10_000 + n * 100,))
            psql("UPDATE stock_levels SET on_hand = %s", (100 + n,))
            for _ in range(TRIES):
                status, page = fetch(base, "/api/v1/catalog", token)
                assert status == 200
                assert page["items"][0]["price"] == f"{100 + n}.00"
                assert page["items"][0]["stock"]["available"] == 100 + n
        psql("UPDATE users SET active = false WHERE username = 'buyer'")
        for _ in range(TRIES):
            assert fetch(base, "/api/v1/catalog", token)[0] == 403
