"""Every state-changing POST of the API honours Idempotency-Key as POST /orders does: the
same key and body answer the first answer again with `Idempotent-Replayed: true` and change
nothing more; another body is 422 idempotency_key_reused; a refused call keeps nothing, so the
key can be used again (issue 11). Calls whose answer carries a secret (tokens, carrier
secrets) keep no answer and take no key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.extensions import db
from app.services import logistics
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

API = "/api/v1"


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    admin = f.admin("hq")
    f.product("TEA-1", name="绿茶", list_price=1_000, on_hand=100)
    f.deposit("SH001", 1_000_000)
    logistics.create_carrier("sf", "顺丰速运")
    db.session.commit()
    shop = SimpleNamespace(client=client, buyer=f.api_headers(buyer), admin=f.api_headers(admin))

    def order(approved: bool) -> str:
        body = {"lines": [{"sku": "TEA-1", "qty": 2}]}
        number = client.post(f"{API}/orders", json=body, headers=shop.buyer).get_json()["number"]
        if approved:
            approved_ = client.post(f"{API}/admin/orders/{number}/approve", headers=shop.admin)
            assert approved_.status_code == 200
        return number

    shop.submitted, shop.approved = order(False), order(True)
    published = client.post(
        f"{API}/admin/announcements", json={"title": "通知", "body": "内容"}, headers=shop.admin
    )
    shop.announcement = published.get_json()["id"]
    for reference in ("ICBC-N1", "ICBC-N2"):
        told = {"amount": "20.00", "reference": reference}
        client.post(f"{API}/wallet/deposit-notices", json=told, headers=shop.buyer)
    notices = client.get(f"{API}/admin/deposit-notices", headers=shop.admin).get_json()["items"]
    shop.notice, shop.other_notice = sorted(n["id"] for n in notices)
    return shop


# (name, who, path, body, another body): `path` may name the shop's orders.
SETTLEMENT = {
    "period": "2026Q4",
    "from": "2026-10-01",
    "to": "2026-12-01",
    "brackets": [{"min_amount": "10.00", "rate": "0.01"}],
}
CALLS = [
    (
        "settlement",
        "admin",
        "/admin/rebate-settlements",
        SETTLEMENT,
        {**SETTLEMENT, "period": "2026Q3"},
    ),
    (
        "tier",
        "admin",
        "/admin/tiers",
        {"code": "SILVER", "name": "银牌"},
        {"code": "BRONZE", "name": "铜牌"},
    ),
    (
        "dealer",
        "admin",
        "/admin/dealers",
        {"code": "BJ001", "name": "北京", "tier": "GOLD"},
        {"code": "BJ002", "name": "北京二", "tier": "GOLD"},
    ),
    (
        "dealer user",
        "admin",
        "/admin/dealers/SH001/users",
        {"username": "u2", "password": "pw-12345678"},
        {"username": "u3", "password": "pw-12345678"},
    ),
    (
        "staff",
        "admin",
        "/admin/users",
        {"username": "desk", "password": "pw-desk-123", "role": "order_desk"},
        {"username": "desk2", "password": "pw-desk-123", "role": "order_desk"},
    ),
    (
        "product",
        "admin",
        "/admin/products",
        {"sku": "NEW-1", "name": "新品", "unit": "箱", "list_price": "10.00"},
        {"sku": "NEW-2", "name": "新品", "unit": "箱", "list_price": "10.00"},
    ),
    ("stock count", "admin", "/admin/products/TEA-1/stock", {"on_hand": 80}, {"on_hand": 70}),
    (
        "deposit",
        "admin",
        "/admin/dealers/SH001/wallet/deposits",
        {"amount": "50.00", "reference": "ICBC-9"},
        {"amount": "60.00", "reference": "ICBC-8"},
    ),
    (
        "adjustment",
        "admin",
        "/admin/dealers/SH001/wallet/adjustments",
        {"account": "rebate", "amount": "5.00", "memo": "奖励"},
        {"account": "rebate", "amount": "6.00", "memo": "奖励"},
    ),
    (
        "announcement",
        "admin",
        "/admin/announcements",
        {"title": "春节", "body": "放假"},
        {"title": "国庆", "body": "放假"},
    ),
    ("approval", "admin", "/admin/orders/{submitted}/approve", None, {"note": "x"}),
    (
        "rejection",
        "admin",
        "/admin/orders/{submitted}/reject",
        {"reason": "缺货"},
        {"reason": "重复"},
    ),
    (
        "shipment",
        "admin",
        "/admin/orders/{approved}/shipments",
        {"carrier": "sf", "tracking_no": "SF1"},
        {"carrier": "sf", "tracking_no": "SF2"},
    ),
    ("cancel", "buyer", "/orders/{submitted}/cancel", None, {"why": "x"}),
    (
        "deposit notice",
        "buyer",
        "/wallet/deposit-notices",
        {"amount": "100.00", "reference": "ICBC-1"},
        {"amount": "100.00", "reference": "ICBC-2"},
    ),
    ("announcement read", "buyer", "/announcements/{announcement}/read", None, {"x": 1}),
    ("notice confirmed", "admin", "/admin/deposit-notices/{notice}/confirm", None, {"x": 1}),
    (
        "notice rejected",
        "admin",
        "/admin/deposit-notices/{notice}/reject",
        {"reason": "查无此款"},
        {"reason": "金额不符"},
    ),
    (
        "stock import",
        "admin",
        "/admin/imports/stock",
        b"sku,on_hand\nTEA-1,90\n",
        b"sku,on_hand\nTEA-1,91\n",
    ),
]


def send(shop, who, path, body, key):
    url = API + path.format(**vars(shop))
    headers = {**getattr(shop, who), "Idempotency-Key": key}
    if body is None:
        return shop.client.post(url, headers=headers)
    if isinstance(body, bytes):  # a file, as an ERP sends it
        return shop.client.post(url, data=body, headers=headers, content_type="text/csv")
    return shop.client.post(url, json=body, headers=headers)


@pytest.mark.parametrize("name, who, path, body, other", CALLS, ids=[c[0] for c in CALLS])
def test_a_retried_write_answers_the_first_answer_and_changes_nothing_more(
    shop, name, who, path, body, other
):
    first = send(shop, who, path, body, "key-1")
    assert first.status_code in (200, 201), (name, first.get_json())
    assert "Idempotent-Replayed" not in first.headers
    after_first = db_state()

    again = send(shop, who, path, body, "key-1")
    assert again.status_code == first.status_code
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db_state() == after_first

    reused = send(shop, who, path, other, "key-1")
    assert_problem(reused, 422, "idempotency_key_reused")
    assert db_state() == after_first


def test_a_refused_write_keeps_nothing_and_its_key_can_be_used_again(shop):
    before = db_state()
    body = {"amount": "-5.00", "reference": "ICBC-X"}  # a negative deposit: refused
    assert_problem(send(shop, "admin", "/admin/dealers/SH001/wallet/deposits", body, "k"), 422)
    assert db_state() == before
    body["amount"] = "5.00"
    fixed = send(shop, "admin", "/admin/dealers/SH001/wallet/deposits", body, "k")
    assert fixed.status_code == 201, fixed.get_json()


def test_a_conflict_is_not_kept_either(shop):
    """Approving an order twice with two keys: the second is 409 and keeps no answer."""
    path = "/admin/orders/{submitted}/approve"
    assert send(shop, "admin", path, None, "a").status_code == 200
    before = db_state()
    assert_problem(send(shop, "admin", path, None, "b"), 409, "invalid_status")
    assert db_state() == before


def test_keys_are_the_callers_own(shop):
    """The same key from another user is another call."""
    hq2 = f.api_headers(f.admin("hq2"))
    db.session.commit()
    body = {"code": "SILVER", "name": "银牌"}
    assert send(shop, "admin", "/admin/tiers", body, "same").status_code == 201
    shop.hq2 = hq2
    other = send(shop, "hq2", "/admin/tiers", {"code": "BRONZE", "name": "铜牌"}, "same")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers


def test_without_a_key_nothing_changes_from_before(shop):
    url = f"{API}/admin/tiers"
    body = {"code": "SILVER", "name": "银牌"}
    assert shop.client.post(url, json=body, headers=shop.admin).status_code == 201
    assert_problem(shop.client.post(url, json=body, headers=shop.admin), 409)


def test_an_upload_sent_again_is_the_same_call_whatever_its_multipart_boundary(
    shop, app, tmp_path, monkeypatch
):
    import io

    monkeypatch.setitem(app.config, "RECEIPTS_DIR", str(tmp_path / "receipts"))
    from tests.api.test_deposit_notices import PNG as png

    def upload(content: bytes, key: str = "upload-1"):
        data = {"amount": "50.00", "reference": "ICBC-F", "receipt": (io.BytesIO(content), "r.png")}
        headers = {**shop.buyer, "Idempotency-Key": key}
        url = f"{API}/wallet/deposit-notices"
        return shop.client.post(url, data=data, headers=headers, content_type="multipart/form-data")

    first = upload(png)
    assert first.status_code == 201, first.get_json()
    after_first = db_state()
    again = upload(png)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert db_state() == after_first
    assert len(list((tmp_path / "receipts").rglob("*.*"))) <= 2  # no second file kept
    assert_problem(upload(png + b"more"), 422, "idempotency_key_reused")  # another file
