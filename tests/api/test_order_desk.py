"""Orders move only along CONTRACT §4's arrows: the dealer cancels, HQ approves or rejects."""

from types import SimpleNamespace

import pytest

from tests import factories as f
from tests.api.helpers import assert_problem


@pytest.fixture
def desk(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    colleague = f.dealer_user("SH001", "colleague")
    rival = f.dealer_user("BJ001", "rival")
    admin = f.admin("hq")
    f.product("TEA-1", name="绿茶", list_price=10000, on_hand=100)
    f.product("JUICE-6", list_price=5000, min_order_qty=6, order_multiple=6, on_hand=60)
    f.deposit("SH001", 1_000_000)
    f.deposit("BJ001", 1_000_000)
    shop = SimpleNamespace(
        client=client,
        headers=f.api_headers(buyer),
        colleague=f.api_headers(colleague),
        rival=f.api_headers(rival),
        admin=f.api_headers(admin),
    )
    response = client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {"GOLD": "0.05"}, "max_use_ratio": "0.50"},
        headers=shop.admin,
    )
    assert response.status_code == 200, response.get_json()
    response = client.post(
        "/api/v1/admin/dealers/SH001/wallet/adjustments",
        json={"account": "rebate", "amount": "30.00", "memo": "返利"},
        headers=shop.admin,
    )
    assert response.status_code == 201, response.get_json()
    return shop


def place(shop, headers=None, **body):
    body = {"lines": [{"sku": "TEA-1", "qty": 3}, {"sku": "JUICE-6", "qty": 12}], **body}
    response = shop.client.post("/api/v1/orders", json=body, headers=headers or shop.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def cancel(shop, number, headers=None):
    return shop.client.post(f"/api/v1/orders/{number}/cancel", headers=headers or shop.headers)


def approve(shop, number, headers=None):
    return shop.client.post(f"/api/v1/admin/orders/{number}/approve", headers=headers or shop.admin)


def reject(shop, number, reason="缺货", headers=None):
    body = {} if reason is None else {"reason": reason}
    return shop.client.post(
        f"/api/v1/admin/orders/{number}/reject", json=body, headers=headers or shop.admin
    )


def get_order(shop, number, headers=None):
    return shop.client.get(f"/api/v1/orders/{number}", headers=headers or shop.headers)


def wallet(shop):
    return shop.client.get("/api/v1/wallet", headers=shop.headers).get_json()


def assert_back_to(before, shop):
    """Stock released and money refunded: only the order's own rows and entries remain."""
    after = f.footprint()
    assert after["stock"] == before["stock"]
    assert after["balances"] == before["balances"]
    assert wallet(shop)["rebate"]["pending"] == "0.00"


# --- the dealer cancels -----------------------------------------------------------------


def test_a_dealer_cancels_a_submitted_order_and_gets_stock_funds_and_rebate_back(desk):
    before = f.footprint()
    order = place(desk, use_rebate="30.00")
    assert wallet(desk)["rebate"]["balance"] == "0.00"
    assert f.stock_of("TEA-1") == (100, 3)

    response = cancel(desk, order["number"])

    assert response.status_code == 200, response.get_json()
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled"
    assert [e["status"] for e in cancelled["events"]] == ["submitted", "cancelled"]
    assert_back_to(before, desk)
    assert wallet(desk)["funds"]["balance"] == "10000.00"
    assert wallet(desk)["rebate"]["balance"] == "30.00"
    assert get_order(desk, order["number"]).get_json()["status"] == "cancelled"


def test_a_second_cancel_is_409_and_refunds_nothing_twice(desk):
    order = place(desk, use_rebate="10.00")
    assert cancel(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(cancel(desk, order["number"]), 409)

    assert f.footprint() == before


def test_a_dealer_cannot_cancel_an_approved_order(desk):
    order = place(desk)
    assert approve(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(cancel(desk, order["number"]), 409)

    assert f.footprint() == before
    assert get_order(desk, order["number"]).get_json()["status"] == "approved"


def test_a_colleague_of_the_same_dealer_may_cancel(desk):
    order = place(desk)

    assert cancel(desk, order["number"], headers=desk.colleague).status_code == 200


# --- HQ approves ------------------------------------------------------------------------


def test_hq_approves_a_submitted_order_and_the_timeline_says_who(desk):
    order = place(desk)
    before = f.footprint()

    response = approve(desk, order["number"])

    assert response.status_code == 200, response.get_json()
    approved = response.get_json()
    assert approved["status"] == "approved"
    assert [e["status"] for e in approved["events"]] == ["submitted", "approved"]
    assert approved["events"][-1]["by"] == "hq"
    after = f.footprint()
    assert after["stock"] == before["stock"]  # still reserved
    assert after["balances"] == before["balances"]  # still debited
    detail = get_order(desk, order["number"]).get_json()
    assert [e["status"] for e in detail["events"]] == ["submitted", "approved"]


def test_approving_twice_is_409(desk):
    order = place(desk)
    assert approve(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(approve(desk, order["number"]), 409)

    assert f.footprint() == before


@pytest.mark.parametrize("how", ["cancelled", "rejected"])
def test_a_closed_order_cannot_be_approved(desk, how):
    order = place(desk)
    if how == "cancelled":
        assert cancel(desk, order["number"]).status_code == 200
    else:
        assert reject(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(approve(desk, order["number"]), 409)

    assert f.footprint() == before
    assert get_order(desk, order["number"]).get_json()["status"] == how


# --- HQ rejects -------------------------------------------------------------------------


@pytest.mark.parametrize("approved_first", [False, True], ids=["submitted", "approved"])
def test_hq_rejects_with_a_reason_releasing_stock_and_refunding(desk, approved_first):
    before = f.footprint()
    order = place(desk, use_rebate="30.00")
    if approved_first:
        assert approve(desk, order["number"]).status_code == 200

    response = reject(desk, order["number"], reason="价格有误")

    assert response.status_code == 200, response.get_json()
    rejected = response.get_json()
    assert rejected["status"] == "rejected"
    last = rejected["events"][-1]
    assert last["status"] == "rejected"
    assert last["reason"] == "价格有误"
    assert last["by"] == "hq"
    assert rejected["events"][0]["status"] == "submitted"
    assert_back_to(before, desk)
    assert wallet(desk)["rebate"]["balance"] == "30.00"
    assert wallet(desk)["funds"]["balance"] == "10000.00"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_rejection_without_a_reason_is_422_and_changes_nothing(desk, reason):
    order = place(desk)
    before = f.footprint()

    assert_problem(reject(desk, order["number"], reason=reason), 422)

    assert f.footprint() == before
    assert get_order(desk, order["number"]).get_json()["status"] == "submitted"


def test_rejecting_a_cancelled_order_is_409_and_changes_nothing(desk):
    order = place(desk, use_rebate="5.00")
    assert cancel(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(reject(desk, order["number"]), 409)

    assert f.footprint() == before
    detail = get_order(desk, order["number"]).get_json()
    assert [e["status"] for e in detail["events"]] == ["submitted", "cancelled"]


def test_rejecting_twice_is_409_and_refunds_once(desk):
    order = place(desk)
    assert reject(desk, order["number"]).status_code == 200
    before = f.footprint()

    assert_problem(reject(desk, order["number"]), 409)

    assert f.footprint() == before


# --- who may do what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/admin/orders/{n}/approve", None),
        ("post", "/api/v1/admin/orders/{n}/reject", {"reason": "x"}),
        ("get", "/api/v1/admin/orders/{n}", None),
        ("put", "/api/v1/admin/rebate-policy", {"rates": {}, "max_use_ratio": "0.5"}),
        ("post", "/api/v1/admin/dealers/SH001/wallet/deposits", {"amount": "1", "reference": "r"}),
        (
            "post",
            "/api/v1/admin/dealers/SH001/wallet/adjustments",
            {"account": "funds", "amount": "1", "memo": "m"},
        ),
    ],
)
def test_a_dealer_user_on_an_admin_order_endpoint_is_403_and_changes_nothing(
    desk, method, path, body
):
    order = place(desk)
    before = f.footprint()

    response = getattr(desk.client, method)(
        path.format(n=order["number"]), json=body, headers=desk.headers
    )

    assert_problem(response, 403)
    assert f.footprint() == before
    assert get_order(desk, order["number"]).get_json()["status"] == "submitted"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/{n}"),
        ("post", "/api/v1/orders/{n}/cancel"),
        ("get", "/api/v1/wallet"),
        ("get", "/api/v1/wallet/entries"),
    ],
)
def test_an_admin_on_a_dealer_order_endpoint_is_403(desk, method, path):
    order = place(desk)
    body = {"lines": [{"sku": "TEA-1", "qty": 1}]} if method == "post" else None

    response = getattr(desk.client, method)(
        path.format(n=order["number"]), json=body, headers=desk.admin
    )

    assert_problem(response, 403)
    assert get_order(desk, order["number"]).get_json()["status"] == "submitted"


def test_a_user_of_a_deactivated_dealer_is_403_on_every_order_and_wallet_endpoint(desk):
    order = place(desk)
    response = desk.client.patch(
        "/api/v1/admin/dealers/SH001", json={"active": False}, headers=desk.admin
    )
    assert response.status_code == 200, response.get_json()
    before = f.footprint()

    for method, path in [
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
        ("get", f"/api/v1/orders/{order['number']}"),
        ("post", f"/api/v1/orders/{order['number']}/cancel"),
        ("get", "/api/v1/wallet"),
        ("get", "/api/v1/wallet/entries"),
    ]:
        body = {"lines": [{"sku": "TEA-1", "qty": 1}]} if path == "/api/v1/orders" else None
        response = getattr(desk.client, method)(path, json=body, headers=desk.headers)
        assert_problem(response, 403)
    assert f.footprint() == before


def test_order_endpoints_need_a_token(desk):
    order = place(desk)

    assert_problem(desk.client.get("/api/v1/orders"), 401)
    assert_problem(desk.client.post(f"/api/v1/orders/{order['number']}/cancel"), 401)
    assert_problem(desk.client.post(f"/api/v1/admin/orders/{order['number']}/approve"), 401)


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("get", "/api/v1/orders/SO00000000999", "headers"),
        ("post", "/api/v1/orders/SO00000000999/cancel", "headers"),
        ("post", "/api/v1/admin/orders/SO00000000999/approve", "admin"),
        ("post", "/api/v1/admin/orders/SO00000000999/reject", "admin"),
        ("get", "/api/v1/admin/orders/SO00000000999", "admin"),
    ],
)
def test_an_unknown_order_is_404(desk, method, path, who):
    body = {"reason": "x"} if path.endswith("reject") else None

    response = getattr(desk.client, method)(path, json=body, headers=getattr(desk, who))

    assert_problem(response, 404)


def test_another_dealers_order_is_404_to_read_and_to_cancel(desk):
    theirs = place(desk, headers=desk.rival)
    before = f.footprint()

    assert_problem(get_order(desk, theirs["number"]), 404)
    assert_problem(cancel(desk, theirs["number"]), 404)

    assert f.footprint() == before
    assert get_order(desk, theirs["number"], headers=desk.rival).get_json()["status"] == (
        "submitted"
    )


def test_another_dealers_order_and_an_unknown_one_look_the_same(desk):
    theirs = place(desk, headers=desk.rival)

    hidden = get_order(desk, theirs["number"]).get_json()
    missing = get_order(desk, "SO00000000999").get_json()

    assert hidden["status"] == missing["status"] == 404
    assert hidden["code"] == missing["code"]


# --- the order list ---------------------------------------------------------------------


def test_the_order_list_holds_only_the_dealers_own_orders_newest_first(desk):
    first = place(desk)["number"]
    place(desk, headers=desk.rival)
    second = place(desk, headers=desk.colleague)["number"]  # same dealer, another user
    third = place(desk)["number"]

    body = desk.client.get("/api/v1/orders", headers=desk.headers).get_json()

    assert [o["number"] for o in body["items"]] == [third, second, first]
    assert body["total"] == 3
    theirs = desk.client.get("/api/v1/orders", headers=desk.rival).get_json()
    assert len(theirs["items"]) == 1
    assert theirs["items"][0]["number"] not in {first, second, third}


def test_the_order_list_filters_by_status(desk):
    submitted = place(desk)["number"]
    approved = place(desk)["number"]
    cancelled = place(desk)["number"]
    rejected = place(desk)["number"]
    approve(desk, approved)
    cancel(desk, cancelled)
    reject(desk, rejected)

    def numbers(status):
        url = f"/api/v1/orders?status={status}"
        response = desk.client.get(url, headers=desk.headers)
        assert response.status_code == 200, response.get_json()
        return [o["number"] for o in response.get_json()["items"]]

    assert numbers("submitted") == [submitted]
    assert numbers("approved") == [approved]
    assert numbers("cancelled") == [cancelled]
    assert numbers("rejected") == [rejected]
    assert numbers("delivered") == []
    assert numbers("") == [rejected, cancelled, approved, submitted]


@pytest.mark.parametrize("status", ["bogus", "SUBMITTED", "pending"])
def test_an_unknown_status_filter_is_422(desk, status):
    assert_problem(desk.client.get(f"/api/v1/orders?status={status}", headers=desk.headers), 422)
