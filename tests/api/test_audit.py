"""The audit log (issue 9, CONTRACT §3a): every HQ write — who, when, what, before → after —
recorded in the same transaction as the write; never secrets or passwords; searchable."""

from __future__ import annotations

import pytest

from app.services import logistics
from tests import factories as f
from tests.api.helpers import assert_problem

URL = "/api/v1/admin/audit"


@pytest.fixture
def hq(client, shop):
    f.product("TEA-1", list_price=1000, on_hand=100)
    return shop


def log(client, headers, **query) -> list[dict]:
    response = client.get(URL, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_dealer_change_is_logged_with_who_and_only_what_changed(client, hq):
    response = client.patch(
        "/api/v1/admin/dealers/G1",
        json={"credit_limit": "5000.00", "name": "金牌一号"},
        headers=hq.admin,
    )
    assert response.status_code == 200

    [entry] = log(client, hq.admin, object_type="dealer", object_key="G1", action="dealer.update")
    assert entry["user"] == "hq" and entry["via"] == "api"
    assert entry["after"] == {"credit_limit": 500_000, "name": "金牌一号"}
    assert set(entry["before"]) == {"credit_limit", "name"}
    assert entry["before"]["credit_limit"] == 0


def test_wallet_writes_settings_and_settlements_are_logged(client, hq):
    client.post(
        "/api/v1/admin/dealers/G1/wallet/deposits",
        json={"amount": "10.00", "reference": "ICBC-9"},
        headers=hq.admin,
    )
    client.post(
        "/api/v1/admin/dealers/G1/wallet/adjustments",
        json={"account": "funds", "amount": "-1.00", "memo": "手续费"},
        headers=hq.admin,
    )
    client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {"GOLD": "0.03"}, "max_use_ratio": "0.1"},
        headers=hq.admin,
    )
    client.post(
        "/api/v1/admin/rebate-settlements",
        json={"period": "P1", "from": "2026-01-01", "to": "2026-01-31",
              "brackets": [{"min_amount": "0", "rate": "0.01"}]},
        headers=hq.admin,
    )  # fmt: skip

    actions = [e["action"] for e in log(client, hq.admin)]
    assert actions[:4] == [
        "settlement.post",
        "settings.update",
        "wallet.adjust",
        "wallet.deposit",
    ]
    [deposit] = log(client, hq.admin, action="wallet.deposit")
    assert deposit["after"]["amount"] == 1000 and deposit["after"]["reference"] == "ICBC-9"


def test_a_replayed_deposit_is_not_logged_twice(client, hq):
    body = {"amount": "10.00", "reference": "ICBC-9"}
    for _ in range(2):
        client.post("/api/v1/admin/dealers/G1/wallet/deposits", json=body, headers=hq.admin)
    assert len(log(client, hq.admin, action="wallet.deposit")) == 1


def test_secrets_and_passwords_never_reach_the_log(client, hq):
    created = client.post(
        "/api/v1/admin/carriers", json={"code": "sf", "name": "顺丰"}, headers=hq.admin
    ).get_json()
    rotated = client.post(
        "/api/v1/admin/carriers/sf/secret", json={"grace_hours": 1}, headers=hq.admin
    ).get_json()
    client.post(
        "/api/v1/admin/users",
        json={"username": "desk", "password": "first-secret-pw", "role": "order_desk"},
        headers=hq.admin,
    )
    client.patch(
        "/api/v1/admin/users/desk", json={"password": "second-secret-pw"}, headers=hq.admin
    )

    text = client.get(URL, query_string={"per_page": 200}, headers=hq.admin).get_data(True)
    for secret in (created["secret"], rotated["secret"], "first-secret-pw", "second-secret-pw"):
        assert secret not in text
    [change] = log(client, hq.admin, action="staff.update")
    assert change["after"] == {"password": "changed"}


def test_shipping_an_order_is_logged_on_the_order(client, hq):
    logistics.create_carrier("sf", "顺丰")
    f.deposit("G1", 100_000)
    number = client.post(
        "/api/v1/orders", json={"lines": [{"sku": "TEA-1", "qty": 2}]}, headers=hq.g1
    ).get_json()["number"]
    client.post(f"/api/v1/admin/orders/{number}/approve", headers=hq.admin)
    client.post(
        f"/api/v1/admin/orders/{number}/shipments",
        json={"carrier": "sf", "tracking_no": "SF1"},
        headers=hq.admin,
    )

    entries = log(client, hq.admin, object_type="order", object_key=number)
    ship = next(e for e in entries if e["action"] == "order.ship")
    assert ship["after"] == {"carrier": "sf", "tracking_no": "SF1", "lines": {"TEA-1": 2}}


def test_search_by_user_and_date_and_paging(client, hq):
    client.patch("/api/v1/admin/dealers/G1", json={"name": "甲"}, headers=hq.admin)
    client.patch("/api/v1/admin/dealers/G2", json={"name": "乙"}, headers=hq.admin)

    assert log(client, hq.admin, user="nobody") == []
    assert len(log(client, hq.admin, user="hq", object_type="dealer")) == 2
    page = client.get(URL, query_string={"per_page": 1, "action": "dealer.update"},
                      headers=hq.admin).get_json()  # fmt: skip
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["object_key"] == "G2"  # newest first
    assert log(client, hq.admin, **{"from": "2001-01-01", "to": "2001-01-31"}) == []
    assert_problem(client.get(URL, query_string={"from": "yesterday"}, headers=hq.admin), 422)


def test_only_admins_read_the_log(client, hq):
    assert_problem(client.get(URL, headers=hq.g1), 403)
    client.post(
        "/api/v1/admin/users",
        json={"username": "money", "password": "pw", "role": "finance"},
        headers=hq.admin,
    )
    finance = f.token_for(client, "money", "pw")
    assert_problem(client.get(URL, headers=finance), 403, "role_forbidden")
