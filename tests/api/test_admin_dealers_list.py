"""HQ reading dealers (CONTRACT §3): GET /admin/dealers?q=&tier=&active= and
GET /admin/dealers/{code} — tier, credit limit, active and users; open to every HQ role."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services import accounts, orders, staff
from app.services.orders import LineRequest
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

DEALERS = "/api/v1/admin/dealers"


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()["items"]]


@pytest.fixture
def desk(client, shop):
    """Bearer headers of an order-desk user and of a finance user."""
    staff.create_staff(None, "desk", "pw-desk", "order_desk")
    staff.create_staff(None, "money", "pw-money", "finance")
    return {
        "order_desk": f.token_for(client, "desk", "pw-desk"),
        "finance": f.token_for(client, "money", "pw-money"),
    }


def test_the_list_gives_each_dealer_with_tier_credit_limit_active_and_users(client, shop):
    accounts.update_dealer("G1", {"credit_limit": 5_000_000, "region": "华东·上海"})
    accounts.create_dealer_user("G1", "g1-boss", "pw-boss", "王老板")
    response = client.get(DEALERS, headers=shop.admin)
    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("page", "per_page", "total")} == {
        "page": 1,
        "per_page": 20,
        "total": 3,
    }
    assert codes(response) == ["G1", "G2", "S1"]
    assert body["items"][0] == {
        "code": "G1",
        "name": "经销商G1",
        "region": "华东·上海",
        "tier": "GOLD",
        "credit_limit": "50000.00",
        "active": True,
        "address": "",
        "contact_name": "",
        "contact_phone": "",
        "users": [
            {"username": "g1", "name": "g1", "active": True},
            {"username": "g1-boss", "name": "王老板", "active": True},
        ],
        "last_order_at": None,
    }
    assert body["items"][2]["tier"] == "SILVER"


def test_pages_follow_per_page_and_keep_the_total(client, shop):
    first = client.get(f"{DEALERS}?per_page=2", headers=shop.admin)
    second = client.get(f"{DEALERS}?per_page=2&page=2", headers=shop.admin)
    beyond = client.get(f"{DEALERS}?per_page=2&page=3", headers=shop.admin)
    assert codes(first) == ["G1", "G2"] and codes(second) == ["S1"] and codes(beyond) == []
    assert {r.get_json()["total"] for r in (first, second, beyond)} == {3}
    assert second.get_json()["page"] == 2 and second.get_json()["per_page"] == 2


def test_q_matches_code_name_region_and_contact(client, shop):
    accounts.create_dealer(
        "BJ001", "北京朝阳京联商贸", "SILVER", region="华北·北京",
        contact_name="李强", contact_phone="13601880003",
    )  # fmt: skip
    cases = {
        "bj0": ["BJ001"],  # code, any case
        "京联": ["BJ001"],  # name
        "华北": ["BJ001"],  # region
        "李强": ["BJ001"],  # contact name
        "1880003": ["BJ001"],  # contact phone
        "经销商G": ["G1", "G2"],
        "nothing-like-it": [],
        "%": [],  # a LIKE wildcard is a plain character
    }
    for q, expected in cases.items():
        response = client.get(DEALERS, query_string={"q": q}, headers=shop.admin)
        assert codes(response) == expected, q
        assert response.get_json()["total"] == len(expected)


def test_tier_and_active_filters_narrow_the_list(client, shop):
    accounts.update_dealer("G2", {"active": False})
    get = lambda query: codes(client.get(f"{DEALERS}?{query}", headers=shop.admin))  # noqa: E731
    assert get("tier=GOLD") == ["G1", "G2"]
    assert get("tier=SILVER") == ["S1"]
    assert get("tier=PLATINUM") == []  # an unknown tier matches no dealer
    assert get("active=false") == ["G2"]
    assert get("active=true") == ["G1", "S1"]
    assert get("tier=GOLD&active=true") == ["G1"]
    assert get("q=&tier=&active=") == ["G1", "G2", "S1"]  # empty values do not narrow


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("active=maybe", "active"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=101", "per_page"),
        ("q=" + "x" * 101, "q"),
        ("colour=red", "colour"),
    ],
)
def test_a_bad_query_is_422_naming_the_field(client, shop, query, field):
    response = client.get(f"{DEALERS}?{query}", headers=shop.admin)
    assert_problem(response, 422, fields=[field])


def test_users_show_whether_they_may_log_in_and_never_a_password(client, shop):
    accounts.set_dealer_user_active(None, "G1", "g1", False)
    response = client.get(f"{DEALERS}/G1", headers=shop.admin)
    assert response.status_code == 200
    assert response.get_json()["users"] == [{"username": "g1", "name": "g1", "active": False}]
    assert "password" not in response.get_data(as_text=True)


def test_one_dealer_is_the_list_item_of_that_dealer(client, shop):
    listed = client.get(f"{DEALERS}?q=S1", headers=shop.admin).get_json()["items"]
    one = client.get(f"{DEALERS}/S1", headers=shop.admin)
    assert one.status_code == 200
    assert [one.get_json()] == listed


def test_an_unknown_dealer_is_404(client, shop):
    assert_problem(client.get(f"{DEALERS}/NOPE", headers=shop.admin), 404)


def test_last_order_at_is_when_the_dealer_last_ordered(client, shop):
    f.product("MLK-1", list_price=1000, on_hand=50)
    f.deposit("G1", 100_000)
    user = f.user_named("g1")
    orders.place_order(user, [LineRequest("MLK-1", 1)])
    second = orders.place_order(user, [LineRequest("MLK-1", 2)])
    items = client.get(DEALERS, headers=shop.admin).get_json()["items"]
    last = {item["code"]: item["last_order_at"] for item in items}
    assert last["G2"] is None and last["S1"] is None
    assert last["G1"] == second.created_at.isoformat()
    one = client.get(f"{DEALERS}/G1", headers=shop.admin).get_json()
    assert one["last_order_at"] == second.created_at.isoformat()


def _statements_during(request) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert request().status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_list_costs_the_same_queries_for_three_dealers_or_twenty(client, shop):
    client.get(DEALERS, headers=shop.admin)  # warm: the first request may fill caches
    few = _statements_during(lambda: client.get(DEALERS, headers=shop.admin))
    for n in range(17):
        f.dealer(f"X{n:02d}", tier_code="SILVER")
        f.dealer_user(f"X{n:02d}")
    client.get(DEALERS, headers=shop.admin)  # new dealers dropped the cached token: warm again
    many = _statements_during(lambda: client.get(DEALERS, headers=shop.admin))
    assert client.get(DEALERS, headers=shop.admin).get_json()["total"] == 20
    assert many == few


@pytest.mark.parametrize("url", [DEALERS, f"{DEALERS}/G1"])
def test_order_desk_and_finance_may_read_dealers(client, desk, url):
    for role, headers in desk.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 200, role


@pytest.mark.parametrize("url", [DEALERS, f"{DEALERS}/G1", f"{DEALERS}/G2"])
def test_dealers_are_refused_and_nothing_changes(client, shop, url):
    before = db_state()
    assert_problem(client.get(url, headers=shop.g1), 403)
    assert_problem(client.get(url), 401)
    assert db_state() == before


def test_order_desk_and_finance_still_cannot_change_dealers(client, desk):
    before = db_state()
    for headers in desk.values():
        created = client.post(
            DEALERS, json={"code": "N1", "name": "新", "tier": "GOLD"}, headers=headers
        )
        assert_problem(created, 403)
        assert_problem(client.patch(f"{DEALERS}/G1", json={"active": False}, headers=headers), 403)
    assert db_state() == before
