"""HQ staff and roles (CONTRACT §3a): admin does everything; order_desk reads products,
dealers and orders and approves, rejects and ships; finance reads dealers and orders and makes
every wallet call. Any other §3 call by them is 403 and changes nothing."""

from __future__ import annotations

import pytest

from app.api import ADMIN
from tests import factories as f
from tests.api.helpers import api_routes, assert_problem, call, concrete, db_state

DESK, FINANCE = "order_desk", "finance"
# Who besides admin may call each §3 route, as the contract words it.
OPEN_TO = {
    ("GET", "/api/v1/admin/products/<sku>"): {DESK},
    ("GET", "/api/v1/admin/products/<sku>/prices"): {DESK},
    ("GET", "/api/v1/admin/orders/<number>"): {DESK, FINANCE},
    ("GET", "/api/v1/admin/shipments"): {DESK, FINANCE},
    ("POST", "/api/v1/admin/orders/<number>/approve"): {DESK},
    ("POST", "/api/v1/admin/orders/<number>/reject"): {DESK},
    ("POST", "/api/v1/admin/orders/<number>/shipments"): {DESK},
    ("POST", "/api/v1/admin/dealers/<code>/wallet/deposits"): {FINANCE},
    ("POST", "/api/v1/admin/dealers/<code>/wallet/adjustments"): {FINANCE},
    ("GET", "/api/v1/admin/dealers/<code>/wallet/statement"): {FINANCE},
    ("PUT", "/api/v1/admin/rebate-policy"): {FINANCE},
    ("GET", "/api/v1/admin/deposit-notices"): {FINANCE},
    ("POST", "/api/v1/admin/deposit-notices/<notice_id>/confirm"): {FINANCE},
    ("POST", "/api/v1/admin/deposit-notices/<notice_id>/reject"): {FINANCE},
    ("GET", "/api/v1/admin/deposit-notices/<notice_id>/receipt"): {FINANCE},
    ("POST", "/api/v1/admin/rebate-settlements"): {FINANCE},
    ("GET", "/api/v1/admin/dealers"): {DESK, FINANCE},
    ("GET", "/api/v1/admin/dealers/<code>"): {DESK, FINANCE},
    ("GET", "/api/v1/admin/orders"): {DESK, FINANCE},
    ("GET", "/api/v1/admin/products"): {DESK},
    ("GET", "/api/v1/admin/announcements"): {DESK, FINANCE},
    ("GET", "/api/v1/admin/announcements/<announcement_id>"): {DESK, FINANCE},
}


@pytest.fixture
def staff(client, shop):
    """An order-desk user and a finance user, created through the API by the admin."""
    tokens = {}
    for username, role in (("desk", DESK), ("money", FINANCE)):
        body = {"username": username, "password": "pw-" + username, "role": role}
        response = client.post("/api/v1/admin/users", json=body, headers=shop.admin)
        assert response.status_code == 201, response.get_json()
        assert response.get_json() == {
            "username": username,
            "name": username,
            "role": role,
            "active": True,
        }
        tokens[role] = f.token_for(client, username, "pw-" + username)
    shop.desk, shop.finance = tokens[DESK], tokens[FINANCE]
    return shop


def _url(rule: str) -> str:
    return concrete(rule.replace("<code>", "G1").replace("<sku>", "ABC-1"), "1")


@pytest.mark.parametrize("role", [DESK, FINANCE])
def test_each_role_is_refused_exactly_the_calls_it_may_not_make(app, client, staff, role):
    f.product("ABC-1", on_hand=5)
    headers = staff.desk if role == DESK else staff.finance
    routes = api_routes(app, role=ADMIN, prefix="/api/v1/admin/")
    assert set(OPEN_TO) <= set(routes)
    for method, rule in routes:
        before = db_state()
        response = call(client, method, _url(rule), headers)
        if role in OPEN_TO.get((method, rule), set()):
            assert response.status_code != 403, (role, method, rule, response.get_json())
        else:
            assert_problem(response, 403, "role_forbidden")
            assert db_state() == before, (method, rule)


def test_order_desk_approves_and_rejects_finance_posts_deposits(client, staff):
    f.product("ABC-1", on_hand=50)
    f.deposit("G1", 100_000)
    place = {"lines": [{"sku": "ABC-1", "qty": 1}]}
    numbers = [
        client.post("/api/v1/orders", json=place, headers=staff.g1).get_json()["number"]
        for _ in range(2)
    ]

    approve = client.post(f"/api/v1/admin/orders/{numbers[0]}/approve", headers=staff.desk)
    reject = client.post(
        f"/api/v1/admin/orders/{numbers[1]}/reject", json={"reason": "缺货"}, headers=staff.desk
    )
    deposit = client.post(
        "/api/v1/admin/dealers/G1/wallet/deposits",
        json={"amount": "10.00", "reference": "ICBC-1"},
        headers=staff.finance,
    )

    assert (approve.status_code, reject.status_code, deposit.status_code) == (200, 200, 201)
    assert_problem(
        client.post(f"/api/v1/admin/orders/{numbers[0]}/approve", headers=staff.finance),
        403,
        "role_forbidden",
    )


def test_staff_log_in_on_the_web_and_land_on_admin(client, staff):
    response = f.web_login(client, "desk", "pw-desk")
    assert response.headers["Location"].endswith("/admin/")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x", "password": "p", "role": "dealer"}, "role"),
        ({"username": "x", "password": "p", "role": "boss"}, "role"),
        ({"username": "x", "password": "", "role": "finance"}, "password"),
        ({"username": "has space", "password": "p", "role": "finance"}, "username"),
        ({"password": "p", "role": "finance"}, "username"),
        ({"username": "x", "password": "p"}, "role"),
    ],
)
def test_bad_staff_input_is_422_and_creates_nothing(client, shop, body, field):
    before = db_state()
    assert_problem(client.post("/api/v1/admin/users", json=body, headers=shop.admin), 422,
                   fields=[field])  # fmt: skip
    assert db_state() == before


def test_a_taken_username_is_409_even_when_a_dealer_has_it(client, staff):
    body = {"username": "g1", "password": "p", "role": "finance"}
    assert_problem(client.post("/api/v1/admin/users", json=body, headers=staff.admin), 409,
                   "duplicate_username")  # fmt: skip
    body["username"] = "desk"
    assert_problem(client.post("/api/v1/admin/users", json=body, headers=staff.admin), 409)


def test_only_admins_manage_staff(client, staff):
    body = {"username": "sneaky", "password": "p", "role": "admin"}
    for headers in (staff.desk, staff.finance):
        assert_problem(client.post("/api/v1/admin/users", json=body, headers=headers), 403)
        promote = client.patch("/api/v1/admin/users/desk", json={"role": "admin"}, headers=headers)
        assert_problem(promote, 403)
    assert_problem(client.post("/api/v1/admin/users", json=body, headers=staff.g1), 403,
                   "admin_only")  # fmt: skip


def test_a_deactivated_users_tokens_stop_at_once_and_reactivation_needs_a_new_login(client, staff):
    assert (
        client.get("/api/v1/admin/shipments?attention=true", headers=staff.desk).status_code == 200
    )
    response = client.patch("/api/v1/admin/users/desk", json={"active": False}, headers=staff.admin)
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.get("/api/v1/admin/shipments?attention=true", headers=staff.desk).status_code in (
        401,
        403,
    )
    client.patch("/api/v1/admin/users/desk", json={"active": True}, headers=staff.admin)
    assert_problem(client.get("/api/v1/admin/shipments?attention=true", headers=staff.desk), 401)
    assert f.token_for(client, "desk", "pw-desk")


def test_a_role_change_holds_on_the_next_request(client, staff):
    url = "/api/v1/admin/dealers/G1/wallet/deposits"
    body = {"amount": "1.00", "reference": "R-1"}
    assert_problem(client.post(url, json=body, headers=staff.desk), 403)
    client.patch("/api/v1/admin/users/desk", json={"role": "finance"}, headers=staff.admin)
    assert client.post(url, json=body, headers=staff.desk).status_code == 201


def test_a_new_password_ends_old_tokens_and_the_old_password(client, staff):
    client.patch("/api/v1/admin/users/money", json={"password": "new-pw"}, headers=staff.admin)
    assert_problem(client.get("/api/v1/admin/deposit-notices", headers=staff.finance), 401)
    assert f.token_for(client, "money", "new-pw")
    response = client.post(
        "/api/v1/auth/tokens", json={"username": "money", "password": "pw-money"}
    )
    assert response.status_code == 401


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client, staff):
    for change in ({"role": "finance"}, {"active": False}):
        before = db_state()
        response = client.patch("/api/v1/admin/users/hq", json=change, headers=staff.admin)
        assert_problem(response, 409, "last_admin")
        assert db_state() == before
    body = {"username": "boss2", "password": "p", "role": "admin"}
    assert client.post("/api/v1/admin/users", json=body, headers=staff.admin).status_code == 201
    response = client.patch("/api/v1/admin/users/hq", json={"role": "finance"}, headers=staff.admin)
    assert response.status_code == 200 and response.get_json()["role"] == "finance"


def test_dealer_users_are_not_staff(client, staff):
    assert_problem(
        client.patch("/api/v1/admin/users/g1", json={"role": "admin"}, headers=staff.admin), 404
    )
