"""Small builders for test data, going through the services like real callers do."""

from __future__ import annotations

import itertools
import re

from app.services import accounts, products

_seq = itertools.count(1)
PASSWORD = "secret-pass-1"


def tier(code: str = "GOLD", name: str = "金牌"):
    return accounts.create_tier(code, name)


def dealer(code: str | None = None, tier_code: str = "GOLD", credit_limit: int = 0, **kw):
    code = code or f"D{next(_seq):03d}"
    return accounts.create_dealer(code, kw.get("name", f"经销商{code}"), tier_code, credit_limit)


def dealer_user(dealer_code: str, username: str | None = None, password: str = PASSWORD):
    username = username or f"user{next(_seq)}"
    return accounts.create_dealer_user(dealer_code, username, password)


def admin(username: str = "hq", password: str = PASSWORD):
    return accounts.create_admin(username, password)[0]


def product(sku: str | None = None, **fields):
    data = {
        "sku": sku or f"SKU-{next(_seq):04d}",
        "name": fields.pop("name", "测试商品"),
        "unit": fields.pop("unit", "箱"),
        "list_price": fields.pop("list_price", 10000),
        "category": fields.pop("category", "饮料"),
    }
    data.update(fields)
    on_hand = data.pop("on_hand", None)
    created = products.create_product(data)
    if on_hand is not None:
        products.set_on_hand(created.sku, on_hand)
    return created


def token_for(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for a fresh bearer token."""
    response = client.post("/api/v1/auth/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def csrf_from(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def web_login(client, username: str, password: str = PASSWORD):
    """Log in through the real form (CSRF token included); returns the response."""
    token = csrf_from(client.get("/login").data)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
