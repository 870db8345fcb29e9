"""A setting holds for every request that starts after its change was answered, in every
process (CONTRACT §4): gunicorn with several workers on PostgreSQL, each worker warmed up
before the change, then many fresh connections right after it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from app.extensions import db
from tests import factories as f
from tests.servers import gunicorn

pytestmark = pytest.mark.postgres

WORKERS = 3
TRIES = 4 * WORKERS  # fresh connections after each change: every worker answers some


@pytest.fixture
def served(database_url):
    """The app under gunicorn with WORKERS workers on the test database (no control socket)."""
    with gunicorn(database_url, WORKERS) as base:
        yield base


def call(base: str, method: str, path: str, body=None, token: str | None = None):
    """One request on a fresh connection (so the kernel may hand it to any worker)."""
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture
def brand():
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=100_000_000)
    f.product("TEA-1", name="绿茶", list_price=10_000, on_hand=10_000)
    f.dealer_user("SH001", "buyer")
    f.admin("hq")
    db.session.commit()
    db.session.remove()


def token(base: str, username: str) -> str:
    login = {"username": username, "password": f.PASSWORD}
    status, body = call(base, "POST", "/api/v1/auth/tokens", login)
    assert status == 201, body
    return body["token"]


def order(base: str, buyer: str, use_rebate: str):
    lines = [{"sku": "TEA-1", "qty": 1}]
    return call(base, "POST", "/api/v1/orders", {"lines": lines, "use_rebate": use_rebate}, buyer)


def test_a_rebate_policy_change_holds_at_once_in_every_worker(brand, served):
    hq, buyer = token(served, "hq"), token(served, "buyer")
    dealer_id = f.user_named("buyer").dealer_id
    # Some rebate to spend, so the cap is what decides.
    status, _ = call(
        served,
        "POST",
        "/api/v1/admin/dealers/SH001/wallet/adjustments",
        {"account": "rebate", "amount": "1000.00", "memo": "test"},
        hq,
    )
    assert status == 201
    for _ in range(TRIES):  # every worker has placed orders under the (empty) policy …
        assert order(served, buyer, "0.00")[0] == 201
    for _ in range(TRIES):  # … and has just read the settings again
        assert call(served, "GET", "/api/v1/catalog/TEA-1", token=buyer)[0] == 200

    policy = {"rates": {"GOLD": "0.05"}, "max_use_ratio": "0.10"}
    assert call(served, "PUT", "/api/v1/admin/rebate-policy", policy, hq)[0] == 200
    for _ in range(TRIES):
        status, body = order(served, buyer, "10.00")  # 10% of ¥100.00: allowed only now
        assert status == 201, body
        assert body["rebate_amount"] == "10.00"

    policy = {"rates": {"GOLD": "0.02"}, "max_use_ratio": "0"}
    assert call(served, "PUT", "/api/v1/admin/rebate-policy", policy, hq)[0] == 200
    for _ in range(TRIES):
        status, body = order(served, buyer, "1.00")
        assert status == 422, body  # no rebate may be used any more, in any worker
    db.session.remove()
    rates = db.session.execute(
        db.text("SELECT rebate_rate, count(*) FROM orders WHERE dealer_id = :d GROUP BY 1"),
        {"d": dealer_id},
    ).all()
    assert dict(rates) == {"0": TRIES, "0.05": TRIES}  # each order keeps the rate it met


def test_hiding_exact_stock_holds_at_once_in_every_worker(brand, served):
    hq, buyer = token(served, "hq"), token(served, "buyer")
    for _ in range(TRIES):
        status, body = call(served, "GET", "/api/v1/catalog/TEA-1", token=buyer)
        assert status == 200 and body["stock"]["available"] == 10_000

    status, _ = call(served, "PATCH", "/api/v1/admin/settings", {"show_exact_stock": False}, hq)
    assert status == 200
    for _ in range(TRIES):
        assert call(served, "GET", "/api/v1/catalog/TEA-1", token=buyer)[1]["stock"] == {
            "available": None,
            "status": "in_stock",
        }

    call(served, "PATCH", "/api/v1/admin/settings", {"show_exact_stock": True}, hq)
    for _ in range(TRIES):
        body = call(served, "GET", "/api/v1/catalog/TEA-1", token=buyer)[1]
        assert body["stock"]["available"] == 10_000
