"""The dealer catalog (CONTRACT §4): visibility, prices, stock badges, search and pages."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.helpers import assert_problem, reserve

CATALOG = "/api/v1/catalog"
ITEM_KEYS = {
    "sku",
    "name",
    "unit",
    "category",
    "price",
    "price_breaks",
    "min_order_qty",
    "order_multiple",
    "stock",
}


def _prices(client, shop, sku, tiers=None, dealers=None):
    body = {"tiers": tiers or {}, "dealers": dealers or {}}
    response = client.put(f"/api/v1/admin/products/{sku}/prices", json=body, headers=shop.admin)
    assert response.status_code == 200, response.get_json()


def _item(client, headers, sku):
    response = client.get(f"{CATALOG}/{sku}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _skus(client, headers, query: str = "") -> list[str]:
    """The SKUs listed, sorted (the contract fixes no order)."""
    response = client.get(f"{CATALOG}{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return sorted(i["sku"] for i in response.get_json()["items"])


def _rows(*pairs):
    return [{"min_qty": q, "price": p} for q, p in pairs]


# --- shape ------------------------------------------------------------------


def test_item_has_every_contract_field(client, shop):
    f.product(
        "MLK-250",
        name="纯牛奶",
        unit="箱",
        category="乳制品",
        list_price=4800,
        on_hand=50,
        min_order_qty=2,
        order_multiple=2,
    )
    item = _item(client, shop.g1, "MLK-250")
    assert item.keys() >= ITEM_KEYS
    assert (item["sku"], item["name"], item["unit"], item["category"]) == (
        "MLK-250",
        "纯牛奶",
        "箱",
        "乳制品",
    )
    assert (item["min_order_qty"], item["order_multiple"]) == (2, 2)
    assert item["price"] == "48.00"
    assert item["price_breaks"] == [{"min_qty": 1, "price": "48.00"}]
    assert item["stock"] == {"available": 50, "status": "in_stock"}


def test_list_items_look_like_the_detail(client, shop):
    f.product("MLK-250", on_hand=50)
    body = client.get(CATALOG, headers=shop.g1).get_json()
    assert set(body) >= {"items", "page", "per_page", "total"}
    assert body["items"] == [_item(client, shop.g1, "MLK-250")]


def test_unknown_sku_is_404_problem(client, shop):
    assert_problem(client.get(f"{CATALOG}/NOPE-1", headers=shop.g1), 404)


# --- prices -----------------------------------------------------------------


def test_dealer_table_beats_tier_table_beats_list_price(client, shop):
    f.product("ABC-1", list_price=10000)
    _prices(
        client,
        shop,
        "ABC-1",
        tiers={"GOLD": _rows((1, "90.00"), (10, "80.00"))},
        dealers={"G1": _rows((1, "70.00"))},
    )
    g1, g2, s1 = (_item(client, h, "ABC-1") for h in (shop.g1, shop.g2, shop.s1))
    assert (g1["price"], g1["price_breaks"]) == ("70.00", _rows((1, "70.00")))
    assert (g2["price"], g2["price_breaks"]) == ("90.00", _rows((1, "90.00"), (10, "80.00")))
    assert (s1["price"], s1["price_breaks"]) == ("100.00", _rows((1, "100.00")))


def test_dealer_table_replaces_the_tier_table_entirely(client, shop):
    """No mixing: the tier's quantity breaks do not leak into a dealer's own table."""
    f.product("ABC-1", list_price=10000)
    _prices(
        client,
        shop,
        "ABC-1",
        tiers={"GOLD": _rows((1, "90.00"), (10, "60.00"))},
        dealers={"G1": _rows((1, "85.00"))},
    )
    assert _item(client, shop.g1, "ABC-1")["price_breaks"] == _rows((1, "85.00"))


def test_one_dealer_never_sees_another_dealers_price(client, shop):
    f.product("ABC-1", list_price=10000)
    _prices(client, shop, "ABC-1", dealers={"G1": _rows((1, "12.34"))})
    for headers in (shop.g2, shop.s1):
        item = _item(client, headers, "ABC-1")
        listed = client.get(CATALOG, headers=headers).get_data(as_text=True)
        assert item["price"] == "100.00"
        assert "12.34" not in str(item) and "12.34" not in listed


def test_price_is_the_price_at_the_minimum_order_quantity(client, shop):
    f.product("ABC-1", list_price=10000, min_order_qty=10)
    _prices(client, shop, "ABC-1", tiers={"GOLD": _rows((1, "90.00"), (10, "80.00"))})
    assert _item(client, shop.g1, "ABC-1")["price"] == "80.00"


def test_price_uses_the_greatest_break_not_above_the_minimum(client, shop):
    f.product("ABC-1", list_price=10000, min_order_qty=7)
    _prices(
        client,
        shop,
        "ABC-1",
        tiers={"GOLD": _rows((1, "90.00"), (5, "85.00"), (8, "80.00"))},
    )
    assert _item(client, shop.g1, "ABC-1")["price"] == "85.00"


def test_price_breaks_come_in_ascending_min_qty(client, shop):
    f.product("ABC-1", list_price=10000)
    _prices(
        client,
        shop,
        "ABC-1",
        tiers={"GOLD": _rows((50, "70.00"), (1, "90.00"), (10, "80.00"))},
    )
    breaks = _item(client, shop.g1, "ABC-1")["price_breaks"]
    assert breaks == _rows((1, "90.00"), (10, "80.00"), (50, "70.00"))


def test_prices_always_have_two_decimals(client, shop):
    f.product("ABC-1", list_price=1250)
    f.product("ABC-2", list_price=1000)
    _prices(client, shop, "ABC-2", tiers={"GOLD": _rows((1, "7.5"), (3, "7"))})
    assert _item(client, shop.g1, "ABC-1")["price"] == "12.50"
    item = _item(client, shop.g1, "ABC-2")
    assert item["price"] == "7.50"
    assert item["price_breaks"] == _rows((1, "7.50"), (3, "7.00"))


def test_list_price_change_reaches_dealers_without_a_table(client, shop):
    f.product("ABC-1", list_price=10000)
    client.patch("/api/v1/admin/products/ABC-1", json={"list_price": "99.9"}, headers=shop.admin)
    assert _item(client, shop.s1, "ABC-1")["price"] == "99.90"


# --- stock badge ------------------------------------------------------------


STOCK_CASES = [
    # on_hand, reserved, status (minimum order 5, low at 10 or fewer)
    (0, 0, "out_of_stock"),
    (4, 0, "out_of_stock"),  # below one minimum order
    (5, 0, "low"),  # exactly one minimum order, under the threshold
    (10, 0, "low"),  # at the threshold
    (11, 0, "in_stock"),
    (20, 9, "in_stock"),  # 11 available
    (20, 10, "low"),  # 10 available: reserved stock does not count
    (20, 16, "out_of_stock"),  # 4 available
]


def test_stock_status_boundaries(client, shop, subtests):
    for n, (on_hand, reserved, _) in enumerate(STOCK_CASES):
        f.product(f"B-{n}", min_order_qty=5, low_stock_threshold=10, on_hand=on_hand)
        reserve(f"B-{n}", reserved)
    listed = {
        i["sku"]: i["stock"] for i in client.get(CATALOG, headers=shop.g1).get_json()["items"]
    }
    for n, (on_hand, reserved, status) in enumerate(STOCK_CASES):
        with subtests.test(on_hand=on_hand, reserved=reserved):
            expected = {"available": on_hand - reserved, "status": status}
            assert _item(client, shop.g1, f"B-{n}")["stock"] == expected
            assert listed[f"B-{n}"] == expected


def test_out_of_stock_wins_when_the_minimum_is_above_the_threshold(client, shop):
    f.product("ABC-9", min_order_qty=10, low_stock_threshold=3, on_hand=9)
    f.product("ABC-10", min_order_qty=10, low_stock_threshold=3, on_hand=10)
    assert _item(client, shop.g1, "ABC-9")["stock"] == {"available": 9, "status": "out_of_stock"}
    assert _item(client, shop.g1, "ABC-10")["stock"] == {"available": 10, "status": "in_stock"}


def test_stock_in_the_list_matches_the_detail(client, shop):
    f.product("ABC-1", min_order_qty=5, low_stock_threshold=10, on_hand=7)
    listed = client.get(CATALOG, headers=shop.g1).get_json()["items"][0]
    assert listed["stock"] == {"available": 7, "status": "low"}


# --- visibility -------------------------------------------------------------


def test_inactive_product_is_404_and_absent_from_the_list(client, shop):
    f.product("ABC-1")
    f.product("ABC-2", active=False)
    assert_problem(client.get(f"{CATALOG}/ABC-2", headers=shop.g1), 404)
    body = client.get(CATALOG, headers=shop.g1).get_json()
    assert [i["sku"] for i in body["items"]] == ["ABC-1"]
    assert body["total"] == 1
    assert _skus(client, shop.g1, "?q=ABC-2") == []


def test_product_limited_to_gold_is_hidden_from_silver_and_shown_to_gold(client, shop):
    f.product("ABC-1")
    response = client.post(
        "/api/v1/admin/products",
        json={
            "sku": "GLD-1",
            "name": "金牌专供",
            "unit": "箱",
            "list_price": "10",
            "visible_tiers": ["GOLD"],
        },
        headers=shop.admin,
    )
    assert response.status_code == 201
    client.post("/api/v1/admin/products/GLD-1/stock", json={"on_hand": 5}, headers=shop.admin)

    assert_problem(client.get(f"{CATALOG}/GLD-1", headers=shop.s1), 404)
    silver = client.get(CATALOG, headers=shop.s1).get_json()
    assert [i["sku"] for i in silver["items"]] == ["ABC-1"] and silver["total"] == 1
    assert _skus(client, shop.s1, "?q=GLD") == []

    assert _item(client, shop.g1, "GLD-1")["sku"] == "GLD-1"
    gold = client.get(CATALOG, headers=shop.g1).get_json()
    assert sorted(i["sku"] for i in gold["items"]) == ["ABC-1", "GLD-1"] and gold["total"] == 2


def test_product_limited_to_several_tiers_is_visible_to_each(client, shop):
    f.tier("BRONZE", "铜牌")
    f.product("ABC-1")
    client.patch(
        "/api/v1/admin/products/ABC-1",
        json={"visible_tiers": ["GOLD", "SILVER"]},
        headers=shop.admin,
    )
    assert _item(client, shop.g1, "ABC-1")["sku"] == "ABC-1"
    assert _item(client, shop.s1, "ABC-1")["sku"] == "ABC-1"


def test_lifting_the_tier_limit_shows_the_product_to_everyone(client, shop):
    f.product("ABC-1")
    client.patch(
        "/api/v1/admin/products/ABC-1", json={"visible_tiers": ["GOLD"]}, headers=shop.admin
    )
    assert_problem(client.get(f"{CATALOG}/ABC-1", headers=shop.s1), 404)
    client.patch("/api/v1/admin/products/ABC-1", json={"visible_tiers": []}, headers=shop.admin)
    assert _item(client, shop.s1, "ABC-1")["sku"] == "ABC-1"


def test_moving_a_dealer_to_another_tier_changes_what_it_sees(client, shop):
    f.product("ABC-1")
    client.patch(
        "/api/v1/admin/products/ABC-1", json={"visible_tiers": ["GOLD"]}, headers=shop.admin
    )
    client.patch("/api/v1/admin/dealers/G1", json={"tier": "SILVER"}, headers=shop.admin)
    assert_problem(client.get(f"{CATALOG}/ABC-1", headers=shop.g1), 404)


# --- pages ------------------------------------------------------------------


def test_pages_split_the_list_with_a_total(client, shop):
    for n in range(5):
        f.product(f"P-{n}")
    pages = [
        client.get(f"{CATALOG}?page={p}&per_page=2", headers=shop.g1).get_json() for p in (1, 2, 3)
    ]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 and p["per_page"] == 2 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3]
    seen = [i["sku"] for p in pages for i in p["items"]]
    assert sorted(seen) == [f"P-{n}" for n in range(5)]


def test_page_past_the_end_is_empty_with_the_total(client, shop):
    for n in range(3):
        f.product(f"P-{n}")
    body = client.get(f"{CATALOG}?page=9&per_page=2", headers=shop.g1).get_json()
    assert body["items"] == [] and body["total"] == 3 and body["page"] == 9


def test_default_page_is_the_first(client, shop):
    for n in range(3):
        f.product(f"P-{n}")
    body = client.get(CATALOG, headers=shop.g1).get_json()
    assert body["page"] == 1 and body["per_page"] >= 3 and len(body["items"]) == 3


def test_bad_paging_is_422_problem(client, shop, subtests):
    for query in (
        "?page=0",
        "?page=-1",
        "?page=abc",
        "?per_page=0",
        "?per_page=x",
        "?per_page=1.5",
    ):
        with subtests.test(query=query):
            assert_problem(client.get(f"{CATALOG}{query}", headers=shop.g1), 422)


def test_total_counts_only_what_the_dealer_can_see(client, shop):
    f.product("P-1")
    f.product("P-2", active=False)
    f.product("P-3", visible_tiers=["GOLD"])
    assert client.get(CATALOG, headers=shop.s1).get_json()["total"] == 1
    assert client.get(CATALOG, headers=shop.g1).get_json()["total"] == 2


# --- search -----------------------------------------------------------------


@pytest.fixture
def dairy():
    f.product("MLK-250", name="纯牛奶 250ml", category="乳制品")
    f.product("MLK-1L", name="全脂牛奶 1L", category="乳制品")
    f.product("YOG-1", name="原味酸奶", category="乳制品")
    f.product("WTR-550", name="天然矿泉水", category="饮料")
    f.product("XMLK-1", name="杏仁露", category="饮料")


def test_search_by_sku_prefix(client, shop, dairy):
    assert _skus(client, shop.g1, "?q=MLK") == ["MLK-1L", "MLK-250"]
    assert _skus(client, shop.g1, "?q=MLK-2") == ["MLK-250"]


def test_search_by_chinese_name_substring(client, shop, dairy):
    assert _skus(client, shop.g1, "?q=牛奶") == ["MLK-1L", "MLK-250"]
    assert _skus(client, shop.g1, "?q=奶") == ["MLK-1L", "MLK-250", "YOG-1"]
    assert _skus(client, shop.g1, "?q=矿泉") == ["WTR-550"]


def test_search_total_counts_the_matches(client, shop, dairy):
    body = client.get(f"{CATALOG}?q=奶&per_page=2", headers=shop.g1).get_json()
    assert body["total"] == 3 and len(body["items"]) == 2


def test_search_with_no_match_is_empty(client, shop, dairy):
    body = client.get(f"{CATALOG}?q=咖啡", headers=shop.g1).get_json()
    assert body["items"] == [] and body["total"] == 0


def test_search_wildcards_are_literal(client, shop, dairy, subtests):
    for q in ("%25", "_", "MLK%25", "M_K", "%25奶"):
        with subtests.test(q=q):
            assert _skus(client, shop.g1, f"?q={q}") == []


def test_filter_by_category_name(client, shop, dairy):
    assert _skus(client, shop.g1, "?category=饮料") == ["WTR-550", "XMLK-1"]
    body = client.get(f"{CATALOG}?category=乳制品", headers=shop.g1).get_json()
    assert body["total"] == 3


def test_unknown_category_is_empty(client, shop, dairy):
    body = client.get(f"{CATALOG}?category=不存在", headers=shop.g1).get_json()
    assert body["items"] == [] and body["total"] == 0


def test_search_and_category_combine(client, shop, dairy):
    assert _skus(client, shop.g1, "?q=奶&category=乳制品") == ["MLK-1L", "MLK-250", "YOG-1"]
    assert _skus(client, shop.g1, "?q=MLK&category=饮料") == []


def test_the_page_answer_is_what_the_described_schema_dumps(client, shop, app):
    """The list is built from plain values for speed; it must stay what the OpenAPI schema
    (CatalogPageSchema) describes, field for field."""
    from app.api.catalog import PAGE_OUT, page_json
    from app.models import User
    from app.services import catalog

    f.product("TEA-1", list_price=10_000, on_hand=500, min_order_qty=2, order_multiple=2)
    f.product("TEA-2", list_price=2_050, on_hand=3, category="茶")
    f.product("TEA-3", list_price=999, on_hand=0)
    _prices(client, shop, "TEA-1", tiers={"GOLD": _rows((1, "95.00"), (10, "90.00"))})
    _prices(client, shop, "TEA-2", dealers={"G1": _rows((1, "19.00"))})
    answer = client.get(f"{CATALOG}?per_page=2&page=1", headers=shop.g1).get_json()
    dealer = f.db.session.scalar(f.select(User).where(User.username == "g1")).dealer
    page = catalog.browse(dealer, per_page=2)
    assert answer == page_json(page) == PAGE_OUT.dump(page)
    assert len(answer["items"]) == 2 and answer["total"] == 3
    again = client.get(f"{CATALOG}?per_page=2&page=1", headers=shop.g1).get_json()
    assert again == answer  # the kept part reused, the stock filled in again
