"""GET /admin/products and /admin/products/{sku} (CONTRACT §3): the products as HQ sees them —
every field of POST /admin/products, plus stock — searched, filtered and paged; read by admin
and order desk, refused to finance and dealers; writes stay admin-only and are audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditEntry, StockMovement
from app.services import staff
from tests import factories as f
from tests.api.helpers import assert_problem, db_state, reserve

PRODUCTS = "/api/v1/admin/products"
POST_FIELDS = {
    "sku",
    "name",
    "unit",
    "spec",
    "category",
    "list_price",
    "min_order_qty",
    "order_multiple",
    "low_stock_threshold",
    "active",
    "visible_tiers",
}


@pytest.fixture
def catalog(admin_h):
    """Tiers GOLD and SILVER, dealer SH001 with user `sh`; HQ users `desk` and `money`;
    five products in two categories, one off sale and one limited to GOLD."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", tier_code="GOLD")
    dealer_user = f.dealer_user("SH001", "sh")
    desk = staff.create_staff(None, "desk", "pw-desk", "order_desk")
    money = staff.create_staff(None, "money", "pw-money", "finance")
    f.product("MLK-250", name="纯牛奶 250ml", category="乳制品", on_hand=100, list_price=4800)
    f.product("MLK-1L", name="鲜牛奶 1L", category="乳制品", on_hand=4, low_stock_threshold=10)
    f.product("TEA-01", name="乌龙茶 500ml", category="饮料", on_hand=0, active=False)
    f.product("TEA-02", name="绿茶 500ml", category="饮料", on_hand=30, visible_tiers=["GOLD"])
    f.product("WTR-01", name="矿泉水 550ml", category="饮料", on_hand=8, low_stock_threshold=8)
    return {
        "admin": admin_h,
        "desk": f.api_headers(desk),
        "finance": f.api_headers(money),
        "dealer": f.api_headers(dealer_user),
    }


def _list(client, headers, query: str = "") -> dict:
    response = client.get(f"{PRODUCTS}{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _skus(body: dict) -> list[str]:
    return [item["sku"] for item in body["items"]]


def test_the_list_holds_every_product_active_or_not_by_sku_with_stock(client, catalog):
    body = _list(client, catalog["admin"])
    assert _skus(body) == ["MLK-1L", "MLK-250", "TEA-01", "TEA-02", "WTR-01"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 5)
    item = body["items"][1]
    assert set(item) == POST_FIELDS | {"stock"}
    assert item["list_price"] == "48.00" and item["category"] == "乳制品"
    assert item["stock"] == {"on_hand": 100, "reserved": 0, "available": 100, "status": "in_stock"}
    assert body["items"][2]["active"] is False
    assert body["items"][3]["visible_tiers"] == ["GOLD"]


def test_stock_counts_what_orders_hold(client, catalog):
    reserve("MLK-250", 97)
    item = _list(client, catalog["admin"], "?q=MLK-250")["items"][0]
    assert item["stock"] == {"on_hand": 100, "reserved": 97, "available": 3, "status": "low"}


def test_q_matches_a_name_substring_or_a_sku_prefix(client, catalog):
    assert _skus(_list(client, catalog["admin"], "?q=牛奶")) == ["MLK-1L", "MLK-250"]
    assert _skus(_list(client, catalog["admin"], "?q=TEA")) == ["TEA-01", "TEA-02"]
    assert _skus(_list(client, catalog["admin"], "?q=tea-0")) == ["TEA-01", "TEA-02"]
    assert _skus(_list(client, catalog["admin"], "?q=250")) == ["MLK-250"]  # in the name
    assert _list(client, catalog["admin"], "?q=EA-")["total"] == 0  # SKUs match from the start


def test_filters_by_category_active_and_low_stock_combine(client, catalog):
    admin = catalog["admin"]
    assert _skus(_list(client, admin, "?category=饮料")) == ["TEA-01", "TEA-02", "WTR-01"]
    assert _skus(_list(client, admin, "?category=饮料&active=true")) == ["TEA-02", "WTR-01"]
    assert _skus(_list(client, admin, "?active=false")) == ["TEA-01"]
    assert _skus(_list(client, admin, "?low_stock=true")) == ["MLK-1L", "TEA-01", "WTR-01"]
    low_on_sale = _list(client, admin, "?low_stock=true&active=true&category=饮料")
    assert _skus(low_on_sale) == ["WTR-01"]
    assert _list(client, admin, "?category=没有这个分类")["total"] == 0


def test_pages_split_the_list_and_total_counts_all_matches(client, catalog):
    admin = catalog["admin"]
    first = _list(client, admin, "?per_page=2")
    second = _list(client, admin, "?per_page=2&page=2")
    third = _list(client, admin, "?per_page=2&page=3")
    assert _skus(first) + _skus(second) + _skus(third) == _skus(_list(client, admin))
    assert [len(p["items"]) for p in (first, second, third)] == [2, 2, 1]
    assert {p["total"] for p in (first, second, third)} == {5}
    assert _list(client, admin, "?per_page=2&page=9")["items"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("?per_page=0", "per_page"),
        ("?per_page=201", "per_page"),
        ("?page=0", "page"),
        ("?active=maybe", "active"),
        ("?low_stock=2", "low_stock"),
        ("?sort=name", "sort"),
        ("?q=" + "x" * 101, "q"),
    ],
)
def test_bad_query_parameters_are_422(client, catalog, query, field):
    assert_problem(client.get(PRODUCTS + query, headers=catalog["admin"]), 422, fields=[field])


def test_the_detail_is_the_list_item_and_what_create_answered(client, catalog):
    admin = catalog["admin"]
    listed = _list(client, admin, "?q=WTR")["items"][0]
    assert client.get(f"{PRODUCTS}/WTR-01", headers=admin).get_json() == listed
    body = {"sku": "NEW-1", "name": "新品", "unit": "箱", "list_price": "9.9", "spec": "1L×12"}
    created = client.post(PRODUCTS, json=body, headers=admin)
    assert created.status_code == 201
    assert created.get_json()["stock"] == {
        "on_hand": 0,
        "reserved": 0,
        "available": 0,
        "status": "out_of_stock",
    }
    assert client.get(f"{PRODUCTS}/NEW-1", headers=admin).get_json() == created.get_json()
    assert_problem(client.get(f"{PRODUCTS}/NOPE", headers=admin), 404)


def test_list_statements_do_not_grow_with_the_page(client, catalog):
    for i in range(30):
        f.product(f"BULK-{i:02d}", visible_tiers=["GOLD"] if i % 2 else [])
    db.session.remove()

    def statements(per_page: int) -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            _list(client, catalog["admin"], f"?q=BULK&per_page={per_page}")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    _list(client, catalog["admin"], "?q=BULK&per_page=3")  # warm: the new products dropped
    # the cached token (a cache miss is one statement more, whatever the page size)
    assert statements(3) == statements(30)


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dealer", "finance"])
def test_dealers_and_finance_may_not_read_products(client, catalog, who):
    for url in (PRODUCTS, f"{PRODUCTS}?q=MLK", f"{PRODUCTS}/MLK-250"):
        assert_problem(client.get(url, headers=catalog[who]), 403)


def test_order_desk_reads_products_but_may_not_change_them(client, catalog):
    desk = catalog["desk"]
    assert _list(client, desk)["total"] == 5
    assert client.get(f"{PRODUCTS}/MLK-250", headers=desk).status_code == 200
    before = db_state()
    writes = [
        ("POST", PRODUCTS, {"sku": "X-1", "name": "x", "unit": "箱", "list_price": "1"}),
        ("PATCH", f"{PRODUCTS}/MLK-250", {"active": False}),
        ("PUT", f"{PRODUCTS}/MLK-250/prices", {"tiers": {}, "dealers": {}}),
        ("POST", f"{PRODUCTS}/MLK-250/stock", {"on_hand": 1, "reason": "x"}),
        ("PATCH", "/api/v1/admin/settings", {"show_exact_stock": False}),
    ]
    for method, url, body in writes:
        response = client.open(url, method=method, json=body, headers=desk)
        assert_problem(response, 403, "role_forbidden")
    assert db_state() == before


def test_a_token_is_needed(client, catalog):
    assert_problem(client.get(PRODUCTS), 401)


# --- writes are logged ----------------------------------------------------------------------


def _audit(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_api_writes_are_audited_with_the_caller_and_the_change(client, catalog):
    admin = catalog["admin"]
    client.patch(f"{PRODUCTS}/MLK-250", json={"list_price": "50", "name": "纯牛奶"}, headers=admin)
    entry = _audit("product.update")[-1]
    assert (entry.username, entry.via, entry.object_key) == ("hq", "api", "MLK-250")
    assert json.loads(entry.before) == {"list_price": "48.00", "name": "纯牛奶 250ml"}
    assert json.loads(entry.after) == {"list_price": "50.00", "name": "纯牛奶"}

    body = {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]}, "dealers": {}}
    client.put(f"{PRODUCTS}/MLK-250/prices", json=body, headers=admin)
    prices = _audit("product.prices")[-1]
    assert json.loads(prices.after) == {"tiers": {"GOLD": [[1, "45.00"]]}}

    client.patch("/api/v1/admin/settings", json={"show_exact_stock": False}, headers=admin)
    setting = _audit("settings.update")[-1]
    assert json.loads(setting.before) == {"show_exact_stock": True}
    assert json.loads(setting.after) == {"show_exact_stock": False}


def test_a_patch_that_changes_nothing_leaves_no_audit_entry(client, catalog):
    count = len(_audit("product.update"))
    response = client.patch(f"{PRODUCTS}/MLK-250", json={"unit": "箱"}, headers=catalog["admin"])
    assert response.status_code == 200
    assert len(_audit("product.update")) == count


def test_setting_stock_by_api_logs_a_movement_with_an_optional_reason(client, catalog):
    admin = catalog["admin"]
    url = f"{PRODUCTS}/MLK-250/stock"
    assert client.post(url, json={"on_hand": 120}, headers=admin).status_code == 200
    assert (
        client.post(url, json={"on_hand": 90, "reason": "破损报废"}, headers=admin).status_code
        == 200
    )
    assert client.post(url, json={"on_hand": 90}, headers=admin).status_code == 200  # no change
    db.session.rollback()
    moves = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    by_hand = [(m.before_on_hand, m.after_on_hand, m.reason, m.kind, m.username) for m in moves]
    assert by_hand[0] == (0, 100, "", "manual", "")  # the test's own set-up, by the system
    assert [move for move in by_hand if move[-1]] == [
        (100, 120, "", "manual", "hq"),
        (120, 90, "破损报废", "manual", "hq"),
    ]
    by_hq = [e for e in _audit("product.stock") if e.username == "hq"]
    assert [json.loads(e.after)["on_hand"] for e in by_hq] == [120, 90]


def test_a_refused_stock_change_logs_nothing(client, catalog):
    reserve("MLK-250", 60)
    before = db_state()
    url = f"{PRODUCTS}/MLK-250/stock"
    assert_problem(client.post(url, json={"on_hand": 59}, headers=catalog["admin"]), 409)
    too_long = {"on_hand": 80, "reason": "x" * 201}
    assert_problem(
        client.post(url, json=too_long, headers=catalog["admin"]), 422, fields=["reason"]
    )
    assert db_state() == before
