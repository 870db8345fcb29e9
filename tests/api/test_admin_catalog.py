"""HQ admin (CONTRACT §3): products, price tables, stock and settings."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.helpers import assert_problem, db_state, product_column, reserve, stock_row

PRODUCTS = "/api/v1/admin/products"
NEW = {"sku": "MLK-250", "name": "纯牛奶 250ml", "unit": "箱", "list_price": "48.00"}


@pytest.fixture
def hq(admin_h):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", tier_code="GOLD")
    f.dealer("BJ001", tier_code="SILVER")
    return admin_h


def _prices(client, hq, sku, body):
    return client.put(f"{PRODUCTS}/{sku}/prices", json=body, headers=hq)


# --- products ---------------------------------------------------------------


def test_create_product_is_201_with_the_contract_defaults(client, hq):
    response = client.post(PRODUCTS, json=NEW, headers=hq)
    assert response.status_code == 201
    out = response.get_json()
    assert out["sku"] == "MLK-250" and out["name"] == "纯牛奶 250ml" and out["unit"] == "箱"
    assert out["list_price"] == "48.00"
    assert out["min_order_qty"] == 1
    assert out["order_multiple"] == 1
    assert out["low_stock_threshold"] == 10
    assert out["active"] is True
    stored = [
        product_column("MLK-250", c)
        for c in ("min_order_qty", "order_multiple", "low_stock_threshold", "active")
    ]
    assert stored == [1, 1, 10, True]


def test_create_product_with_every_field(client, hq):
    body = {
        **NEW,
        "category": "乳制品",
        "min_order_qty": 6,
        "order_multiple": 3,
        "low_stock_threshold": 20,
        "active": False,
    }
    response = client.post(PRODUCTS, json=body, headers=hq)
    assert response.status_code == 201
    out = response.get_json()
    assert {k: out[k] for k in body} == body
    assert client.get(f"{PRODUCTS}/MLK-250", headers=hq).get_json() == out


def test_new_product_has_zero_stock(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    assert stock_row("MLK-250") == (0, 0)


def test_list_price_12_5_is_stored_as_1250_fen_and_answered_with_two_decimals(client, hq):
    response = client.post(PRODUCTS, json={**NEW, "list_price": "12.5"}, headers=hq)
    assert response.get_json()["list_price"] == "12.50"
    assert product_column("MLK-250", "list_price") == 1250
    assert isinstance(product_column("MLK-250", "list_price"), int)


def test_money_with_zero_to_two_decimals_round_trips(client, hq, subtests):
    cases = [
        ("12", 1200, "12.00"),
        ("0", 0, "0.00"),
        ("0.5", 50, "0.50"),
        ("0.05", 5, "0.05"),
        ("1280.00", 128000, "1280.00"),
        ("0012.30", 1230, "12.30"),
    ]
    for n, (sent, fen, shown) in enumerate(cases):
        with subtests.test(sent=sent):
            sku = f"M-{n}"
            response = client.post(
                PRODUCTS, json={**NEW, "sku": sku, "list_price": sent}, headers=hq
            )
            assert response.status_code == 201
            assert response.get_json()["list_price"] == shown
            assert product_column(sku, "list_price") == fen


def test_duplicate_sku_is_409_and_changes_nothing(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    before = db_state()
    response = client.post(PRODUCTS, json={**NEW, "name": "冒名", "list_price": "1"}, headers=hq)
    assert_problem(response, 409)
    assert db_state() == before


def test_product_missing_a_required_field_is_422(client, hq, subtests):
    before = db_state()
    for missing in ("sku", "name", "unit", "list_price"):
        with subtests.test(missing=missing):
            body = {k: v for k, v in NEW.items() if k != missing}
            response = client.post(PRODUCTS, json=body, headers=hq)
            assert_problem(response, 422, fields=[missing])
            assert db_state() == before


def test_patch_product_changes_any_field_but_the_sku(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    changes = {
        "name": "纯牛奶 250ml×24",
        "unit": "件",
        "list_price": "50.5",
        "category": "乳制品",
        "min_order_qty": 2,
        "order_multiple": 2,
        "low_stock_threshold": 4,
        "active": False,
    }
    for field, value in changes.items():
        response = client.patch(f"{PRODUCTS}/MLK-250", json={field: value}, headers=hq)
        assert response.status_code == 200, (field, response.get_json())
        expected = "50.50" if field == "list_price" else value
        assert response.get_json()[field] == expected, field
    out = client.get(f"{PRODUCTS}/MLK-250", headers=hq).get_json()
    assert out == {**out, **changes, "list_price": "50.50", "sku": "MLK-250"}
    assert product_column("MLK-250", "list_price") == 5050


def test_patch_leaves_unmentioned_fields_alone(client, hq):
    client.post(PRODUCTS, json={**NEW, "category": "乳制品", "min_order_qty": 6}, headers=hq)
    out = client.patch(f"{PRODUCTS}/MLK-250", json={"name": "新名"}, headers=hq).get_json()
    assert (out["category"], out["min_order_qty"], out["list_price"]) == ("乳制品", 6, "48.00")


def test_sku_in_a_patch_is_422_unknown_field_and_changes_nothing(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    before = db_state()
    response = client.patch(
        f"{PRODUCTS}/MLK-250", json={"sku": "MLK-999", "name": "改"}, headers=hq
    )
    assert_problem(response, 422, fields=["sku"])
    assert db_state() == before
    assert client.get(f"{PRODUCTS}/MLK-999", headers=hq).status_code == 404


def test_patch_unknown_sku_is_404(client, hq):
    assert_problem(client.patch(f"{PRODUCTS}/NOPE", json={"name": "x"}, headers=hq), 404)


def test_deactivated_product_leaves_the_catalog_but_stays_for_hq(client, hq):
    f.dealer_user("SH001", "sh")
    client.post(PRODUCTS, json=NEW, headers=hq)
    dealer_h = f.token_for(client, "sh")
    assert client.get("/api/v1/catalog/MLK-250", headers=dealer_h).status_code == 200
    response = client.patch(f"{PRODUCTS}/MLK-250", json={"active": False}, headers=hq)
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert_problem(client.get("/api/v1/catalog/MLK-250", headers=dealer_h), 404)
    assert client.get(f"{PRODUCTS}/MLK-250", headers=hq).get_json()["active"] is False
    client.patch(f"{PRODUCTS}/MLK-250", json={"active": True}, headers=hq)
    assert client.get("/api/v1/catalog/MLK-250", headers=dealer_h).status_code == 200


def test_visible_tiers_limit_a_product_and_unknown_tiers_are_422(client, hq):
    response = client.post(PRODUCTS, json={**NEW, "visible_tiers": ["GOLD"]}, headers=hq)
    assert response.status_code == 201
    assert response.get_json()["visible_tiers"] == ["GOLD"]
    before = db_state()
    response = client.patch(f"{PRODUCTS}/MLK-250", json={"visible_tiers": ["NOPE"]}, headers=hq)
    assert_problem(response, 422)
    assert db_state() == before


def test_unknown_visible_tier_on_create_creates_nothing(client, hq):
    before = db_state()
    response = client.post(PRODUCTS, json={**NEW, "visible_tiers": ["NOPE"]}, headers=hq)
    assert_problem(response, 422)
    assert db_state() == before


# --- price tables -----------------------------------------------------------


def test_put_prices_stores_tier_and_dealer_tables(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    body = {
        "tiers": {
            "GOLD": [{"min_qty": 1, "price": "45"}, {"min_qty": 10, "price": "42.5"}],
            "SILVER": [{"min_qty": 1, "price": "46.00"}],
        },
        "dealers": {"SH001": [{"min_qty": 1, "price": "40.00"}]},
    }
    response = _prices(client, hq, "MLK-250", body)
    assert response.status_code == 200
    expected_tiers = {
        "GOLD": [{"min_qty": 1, "price": "45.00"}, {"min_qty": 10, "price": "42.50"}],
        "SILVER": [{"min_qty": 1, "price": "46.00"}],
    }
    expected_dealers = {"SH001": [{"min_qty": 1, "price": "40.00"}]}
    out = response.get_json()
    assert (out["tiers"], out["dealers"]) == (expected_tiers, expected_dealers)
    stored = client.get(f"{PRODUCTS}/MLK-250/prices", headers=hq).get_json()
    assert (stored["tiers"], stored["dealers"]) == (expected_tiers, expected_dealers)


def test_second_put_removes_every_table_it_does_not_list(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    _prices(
        client,
        hq,
        "MLK-250",
        {
            "tiers": {
                "GOLD": [{"min_qty": 1, "price": "45"}],
                "SILVER": [{"min_qty": 1, "price": "46"}],
            },
            "dealers": {"SH001": [{"min_qty": 1, "price": "40"}]},
        },
    )
    response = _prices(
        client, hq, "MLK-250", {"tiers": {"SILVER": [{"min_qty": 1, "price": "44"}]}}
    )
    assert response.status_code == 200
    stored = client.get(f"{PRODUCTS}/MLK-250/prices", headers=hq).get_json()
    assert stored["tiers"] == {"SILVER": [{"min_qty": 1, "price": "44.00"}]}
    assert stored["dealers"] == {}


def test_put_with_no_tables_brings_everyone_back_to_list_price(client, hq):
    f.dealer_user("SH001", "sh")
    client.post(PRODUCTS, json=NEW, headers=hq)
    _prices(client, hq, "MLK-250", {"dealers": {"SH001": [{"min_qty": 1, "price": "40"}]}})
    dealer_h = f.token_for(client, "sh")
    assert client.get("/api/v1/catalog/MLK-250", headers=dealer_h).get_json()["price"] == "40.00"
    assert _prices(client, hq, "MLK-250", {"tiers": {}, "dealers": {}}).status_code == 200
    item = client.get("/api/v1/catalog/MLK-250", headers=dealer_h).get_json()
    assert item["price"] == "48.00"
    assert item["price_breaks"] == [{"min_qty": 1, "price": "48.00"}]


def test_prices_of_one_product_leave_other_products_alone(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    client.post(PRODUCTS, json={**NEW, "sku": "MLK-500"}, headers=hq)
    gold = {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]}}
    _prices(client, hq, "MLK-500", gold)
    _prices(client, hq, "MLK-250", {})
    assert client.get(f"{PRODUCTS}/MLK-500/prices", headers=hq).get_json()["tiers"] == {
        "GOLD": [{"min_qty": 1, "price": "45.00"}]
    }


INVALID_TABLES = {
    "tier-table-not-from-1": ({"tiers": {"GOLD": [{"min_qty": 2, "price": "45"}]}}, "tiers.GOLD"),
    "dealer-table-not-from-1": (
        {"dealers": {"SH001": [{"min_qty": 5, "price": "45"}]}},
        "dealers.SH001",
    ),
    "empty-table": ({"tiers": {"GOLD": []}}, "tiers.GOLD"),
    "duplicate-min-qty": (
        {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}, {"min_qty": 1, "price": "44"}]}},
        "tiers.GOLD",
    ),
    "duplicate-min-qty-later": (
        {
            "dealers": {
                "SH001": [
                    {"min_qty": 1, "price": "45"},
                    {"min_qty": 10, "price": "44"},
                    {"min_qty": 10, "price": "43"},
                ]
            }
        },
        "dealers.SH001",
    ),
    "unknown-tier": ({"tiers": {"PLATINUM": [{"min_qty": 1, "price": "45"}]}}, "tiers.PLATINUM"),
    "unknown-dealer": ({"dealers": {"NOPE": [{"min_qty": 1, "price": "45"}]}}, "dealers.NOPE"),
    "min-qty-zero": ({"tiers": {"GOLD": [{"min_qty": 0, "price": "45"}]}}, None),
}


def test_invalid_price_table_is_422_and_keeps_the_old_tables(client, hq, subtests):
    client.post(PRODUCTS, json=NEW, headers=hq)
    _prices(client, hq, "MLK-250", {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]}})
    before = db_state()
    for label, (body, field) in INVALID_TABLES.items():
        with subtests.test(label):
            problem = assert_problem(_prices(client, hq, "MLK-250", body), 422)
            if field:
                assert any(k.startswith(field) for k in problem.get("errors", {})), problem
            assert db_state() == before


def test_one_bad_table_refuses_the_whole_put(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    before = db_state()
    body = {
        "tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]},
        "dealers": {"SH001": [{"min_qty": 3, "price": "40"}]},
    }
    assert_problem(_prices(client, hq, "MLK-250", body), 422)
    assert db_state() == before


def test_prices_for_unknown_sku_is_404(client, hq):
    body = {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]}}
    assert_problem(_prices(client, hq, "NOPE", body), 404)


# --- stock ------------------------------------------------------------------


def test_post_stock_answers_on_hand_reserved_available(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    response = client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 30}, headers=hq)
    assert response.status_code == 200
    assert response.get_json() == {"on_hand": 30, "reserved": 0, "available": 30}
    assert stock_row("MLK-250") == (30, 0)


def test_stock_counts_what_is_reserved(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 30}, headers=hq)
    reserve("MLK-250", 12)
    response = client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 40}, headers=hq)
    assert response.get_json() == {"on_hand": 40, "reserved": 12, "available": 28}


def test_on_hand_below_reserved_is_409_and_changes_nothing(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 30}, headers=hq)
    reserve("MLK-250", 12)
    before = db_state()
    response = client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 11}, headers=hq)
    assert_problem(response, 409)
    assert db_state() == before
    assert stock_row("MLK-250") == (30, 12)


def test_on_hand_equal_to_reserved_is_allowed(client, hq):
    client.post(PRODUCTS, json=NEW, headers=hq)
    client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 30}, headers=hq)
    reserve("MLK-250", 12)
    response = client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 12}, headers=hq)
    assert response.status_code == 200
    assert response.get_json() == {"on_hand": 12, "reserved": 12, "available": 0}


def test_invalid_on_hand_is_422_and_changes_nothing(client, hq, subtests):
    client.post(PRODUCTS, json=NEW, headers=hq)
    client.post(f"{PRODUCTS}/MLK-250/stock", json={"on_hand": 30}, headers=hq)
    before = db_state()
    for on_hand in (-1, "5", 5.5, 1e300, True, None):
        with subtests.test(on_hand=on_hand):
            url = f"{PRODUCTS}/MLK-250/stock"
            response = client.post(url, json={"on_hand": on_hand}, headers=hq)
            assert_problem(response, 422, fields=["on_hand"])
            assert db_state() == before
    response = client.post(f"{PRODUCTS}/MLK-250/stock", json={}, headers=hq)
    assert_problem(response, 422, fields=["on_hand"])


def test_stock_for_unknown_sku_is_404(client, hq):
    assert_problem(client.post(f"{PRODUCTS}/NOPE/stock", json={"on_hand": 1}, headers=hq), 404)


# --- settings ---------------------------------------------------------------


def test_exact_stock_is_shown_by_default(client, hq):
    assert client.get("/api/v1/admin/settings", headers=hq).get_json()["show_exact_stock"] is True


def test_hiding_exact_stock_nulls_available_but_keeps_the_status(client, hq):
    f.dealer_user("SH001", "sh")
    f.product("MLK-250", on_hand=5, low_stock_threshold=10)
    dealer_h = f.token_for(client, "sh")
    item = client.get("/api/v1/catalog/MLK-250", headers=dealer_h).get_json()
    assert item["stock"] == {"available": 5, "status": "low"}

    response = client.patch("/api/v1/admin/settings", json={"show_exact_stock": False}, headers=hq)
    assert response.status_code == 200
    assert response.get_json()["show_exact_stock"] is False
    assert client.get("/api/v1/admin/settings", headers=hq).get_json()["show_exact_stock"] is False

    item = client.get("/api/v1/catalog/MLK-250", headers=dealer_h).get_json()
    assert item["stock"] == {"available": None, "status": "low"}
    listed = client.get("/api/v1/catalog", headers=dealer_h).get_json()["items"]
    assert listed[0]["stock"] == {"available": None, "status": "low"}

    client.patch("/api/v1/admin/settings", json={"show_exact_stock": True}, headers=hq)
    item = client.get("/api/v1/catalog/MLK-250", headers=dealer_h).get_json()
    assert item["stock"] == {"available": 5, "status": "low"}


def test_invalid_settings_are_422_and_change_nothing(client, hq, subtests):
    cases = [
        ({"show_exact_stock": "no"}, "show_exact_stock"),
        ({"show_exact_stock": 0}, "show_exact_stock"),
        ({"show_exact_stock": None}, "show_exact_stock"),
        ({"dark_mode": True}, "dark_mode"),
    ]
    before = db_state()
    for body, field in cases:
        with subtests.test(body=body):
            response = client.patch("/api/v1/admin/settings", json=body, headers=hq)
            assert_problem(response, 422, fields=[field])
            assert db_state() == before
