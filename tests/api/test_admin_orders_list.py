"""GET /admin/orders (CONTRACT §3): every dealer's orders for HQ, newest first, narrowed by
status, dealer, q (number or dealer name) and the Shanghai days of placement; paged like the
other lists; open to admin, order_desk and finance, refused to dealers."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Order
from app.services import orders, staff
from app.services.orders import LineRequest
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

URL = "/api/v1/admin/orders"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def placed_at(number: str, when: datetime) -> None:
    """Move an order's placement time (the list filters on it)."""
    db.session.execute(update(Order).where(Order.number == number).values(created_at=when))
    db.session.commit()


@pytest.fixture
def desk(client):
    """SH001 上海鑫源商贸 and BJ001 北京京联商贸 with orders in every state the desk shows;
    an admin, an order-desk and a finance user, and a dealer user, each with a token."""
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", name="上海鑫源商贸")
    f.dealer("BJ001", "GOLD", name="北京京联商贸")
    sh, bj = f.dealer_user("SH001", "sh"), f.dealer_user("BJ001", "bj")
    admin = f.admin("hq")
    desk_user = staff.create_staff(None, "desk", f.PASSWORD, "order_desk", "张三")
    money = staff.create_staff(None, "money", f.PASSWORD, "finance", "李四")
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=1000)
    f.deposit("SH001", 10_000_000)
    f.deposit("BJ001", 10_000_000)

    def place(user, when):
        order = orders.place_order(user, [LineRequest("TEA-1", 1)])
        placed_at(order.number, when)
        return order.number

    # Placed one day apart, oldest first: sh0 … sh4 for SH001, bj0, bj1 for BJ001.
    numbers = {
        "sh0": place(sh, utc(2026, 11, 25, 2)),
        "bj0": place(bj, utc(2026, 11, 26, 2)),
        "sh1": place(sh, utc(2026, 11, 27, 2)),
        "sh2": place(sh, utc(2026, 11, 28, 2)),
        "bj1": place(bj, utc(2026, 11, 29, 2)),
        "sh3": place(sh, utc(2026, 11, 30, 2)),
        "sh4": place(sh, utc(2026, 12, 1, 2)),
    }
    orders.approve_order(admin, numbers["sh1"])
    orders.reject_order(admin, numbers["sh2"], "价格有误")
    orders.cancel_order(sh, numbers["sh3"])
    return SimpleNamespace(
        client=client,
        n=numbers,
        admin=f.api_headers(admin),
        desk=f.api_headers(desk_user),
        finance=f.api_headers(money),
        dealer=f.api_headers(sh),
    )


def listed(desk, headers=None, **params) -> dict:
    response = desk.client.get(URL, query_string=params, headers=headers or desk.admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers_of(body: dict) -> list[str]:
    return [item["number"] for item in body["items"]]


def test_every_order_of_every_dealer_newest_first_with_the_dealer(desk):
    body = listed(desk)

    n = desk.n
    assert numbers_of(body) == [
        n["sh4"],
        n["sh3"],
        n["bj1"],
        n["sh2"],
        n["sh1"],
        n["bj0"],
        n["sh0"],
    ]
    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 7)
    first = body["items"][0]
    assert first["dealer"] == "SH001" and first["dealer_name"] == "上海鑫源商贸"
    assert first["status"] == "submitted"
    assert first["lines"] == [
        {"sku": "TEA-1", "name": "绿茶", "qty": 1, "unit_price": "10.00", "amount": "10.00"}
    ]
    assert (first["goods_amount"], first["payable_amount"]) == ("10.00", "10.00")
    assert first["created_at"] == "2026-12-01T02:00:00+00:00"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("submitted", ["sh4", "bj1", "bj0", "sh0"]),
        ("approved", ["sh1"]),
        ("rejected", ["sh2"]),
        ("cancelled", ["sh3"]),
        ("shipped", []),
    ],
)
def test_status_narrows_to_that_status(desk, status, expected):
    body = listed(desk, status=status)

    assert numbers_of(body) == [desk.n[key] for key in expected]
    assert body["total"] == len(expected)


def test_dealer_narrows_to_that_dealers_orders_and_an_unknown_code_to_none(desk):
    assert numbers_of(listed(desk, dealer="BJ001")) == [desk.n["bj1"], desk.n["bj0"]]
    assert listed(desk, dealer="NOPE")["items"] == []


def test_q_finds_an_order_by_part_of_its_number_in_any_case(desk):
    number = desk.n["bj1"]
    assert numbers_of(listed(desk, q=number)) == [number]
    assert numbers_of(listed(desk, q=number[-4:].lower())) == [number]
    assert numbers_of(listed(desk, q="so" + number[2:])) == [number]


def test_q_finds_orders_by_part_of_the_dealers_name(desk):
    assert numbers_of(listed(desk, q="京联")) == [desk.n["bj1"], desk.n["bj0"]]
    assert listed(desk, q="鑫源")["total"] == 5
    assert listed(desk, q="广州")["items"] == []


def test_q_wildcards_are_plain_characters(desk):
    assert listed(desk, q="%")["items"] == []
    assert listed(desk, q="_")["items"] == []


def test_filters_combine(desk):
    body = listed(desk, q="鑫源", status="submitted", to="2026-11-30")

    assert numbers_of(body) == [desk.n["sh0"]]


def test_from_and_to_are_shanghai_days_of_placement_both_inclusive(desk):
    n = desk.n
    placed_at(n["sh0"], utc(2026, 11, 30, 15, 59, 59))  # 23:59:59 on 30 Nov in Shanghai
    placed_at(n["bj0"], utc(2026, 11, 30, 16, 0, 0))  # 00:00 on 1 Dec in Shanghai
    placed_at(n["sh4"], utc(2026, 12, 1, 15, 59, 59))  # 23:59:59 on 1 Dec in Shanghai
    placed_at(n["bj1"], utc(2026, 12, 1, 16, 0, 0))  # 00:00 on 2 Dec in Shanghai

    on_the_first = listed(desk, **{"from": "2026-12-01", "to": "2026-12-01"})
    assert numbers_of(on_the_first) == [n["sh4"], n["bj0"]]
    assert n["sh0"] in numbers_of(listed(desk, to="2026-11-30"))
    assert n["bj0"] not in numbers_of(listed(desk, to="2026-11-30"))
    assert numbers_of(listed(desk, **{"from": "2026-12-02"})) == [n["bj1"]]


def test_pages_hold_per_page_orders_and_total_counts_them_all(desk):
    n = desk.n
    first = listed(desk, per_page=3)
    second = listed(desk, per_page=3, page=2)
    third = listed(desk, per_page=3, page=3)
    beyond = listed(desk, per_page=3, page=4)

    assert numbers_of(first) == [n["sh4"], n["sh3"], n["bj1"]]
    assert numbers_of(second) == [n["sh2"], n["sh1"], n["bj0"]]
    assert numbers_of(third) == [n["sh0"]]
    assert beyond["items"] == [] and beyond["total"] == 7
    assert (second["page"], second["per_page"], second["total"]) == (2, 3, 7)
    assert listed(desk, per_page=3, status="submitted", page=2)["total"] == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
        ({"page": "0"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"q": "x" * 101}, "q"),
        ({"sort": "amount"}, "sort"),
    ],
)
def test_bad_query_values_are_422_naming_the_field(desk, params, field):
    response = desk.client.get(URL, query_string=params, headers=desk.admin)

    assert_problem(response, 422, "validation_error", fields=[field])


def test_order_desk_and_finance_may_list_dealers_may_not(desk):
    assert listed(desk, headers=desk.desk)["total"] == 7
    assert listed(desk, headers=desk.finance)["total"] == 7
    before = db_state()
    assert_problem(desk.client.get(URL, headers=desk.dealer), 403, "admin_only")
    assert_problem(desk.client.get(URL), 401)
    assert db_state() == before
