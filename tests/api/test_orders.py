"""A dealer places an order through the API (CONTRACT §4 "Placing an order", §3 prices)."""

import re
from types import SimpleNamespace

import pytest

from tests import factories as f
from tests.api.helpers import assert_problem

MONEY = re.compile(r"^-?\d+\.\d{2}$")
LINE_KEYS = ("sku", "name", "qty", "unit_price", "amount")
WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def store(client):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    dealer = f.dealer("SH001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    admin = f.admin()
    f.product("TEA-1", name="绿茶", list_price=10000, on_hand=100)
    f.product(
        "JUICE-6", name="果汁", list_price=5000, min_order_qty=6, order_multiple=6, on_hand=60
    )
    f.deposit("SH001", 1_000_000)  # 10000.00
    return SimpleNamespace(
        client=client,
        dealer=dealer,
        buyer=buyer,
        headers=f.api_headers(buyer),
        admin_headers=f.api_headers(admin),
    )


def line(sku, qty):
    return {"sku": sku, "qty": qty}


def place(store, *lines, headers=None, **extra):
    body = {"lines": list(lines), **extra}
    return store.client.post("/api/v1/orders", json=body, headers=headers or store.headers)


def available(store, sku):
    response = store.client.get(f"/api/v1/catalog/{sku}", headers=store.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["stock"]["available"]


def wallet_of(store, headers=None):
    response = store.client.get("/api/v1/wallet", headers=headers or store.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def entries(store, account, headers=None):
    response = store.client.get(
        f"/api/v1/wallet/entries?account={account}", headers=headers or store.headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


# --- a placed order ---------------------------------------------------------------------


def test_placing_an_order_answers_201_with_the_order_as_the_contract_shapes_it(store):
    response = place(store, line("TEA-1", 2), line("JUICE-6", 12), note="周五前送到")

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert isinstance(order["number"], str) and order["number"]
    assert order["status"] == "submitted"
    assert [{k: ln[k] for k in LINE_KEYS} for ln in order["lines"]] == [
        {"sku": "TEA-1", "name": "绿茶", "qty": 2, "unit_price": "100.00", "amount": "200.00"},
        {"sku": "JUICE-6", "name": "果汁", "qty": 12, "unit_price": "50.00", "amount": "600.00"},
    ]
    assert order["goods_amount"] == "800.00"
    assert order["rebate_amount"] == "0.00"
    assert order["payable_amount"] == "800.00"
    assert order["note"] == "周五前送到"
    assert WITH_OFFSET.match(order["created_at"]), order["created_at"]
    assert [e["status"] for e in order["events"]] == ["submitted"]
    assert WITH_OFFSET.match(order["events"][0]["at"])
    assert order["shipments"] == []


def test_the_placed_order_reads_back_the_same_from_its_detail(store):
    placed = place(store, line("TEA-1", 3)).get_json()

    detail = store.client.get(f"/api/v1/orders/{placed['number']}", headers=store.headers)

    assert detail.status_code == 200
    assert detail.get_json() == placed


@pytest.mark.parametrize(
    ("qty", "unit_price", "amount"),
    [
        (1, "90.00", "90.00"),
        (9, "90.00", "810.00"),
        (10, "85.00", "850.00"),  # crossing the first break
        (49, "85.00", "4165.00"),
        (50, "80.00", "4000.00"),
    ],
)
def test_the_unit_price_is_the_tier_row_with_the_greatest_min_qty_not_above_the_quantity(
    store, qty, unit_price, amount
):
    f.prices("TEA-1", tiers={"GOLD": [(1, 9000), (10, 8500), (50, 8000)]})

    order = place(store, line("TEA-1", qty)).get_json()

    assert order["lines"][0]["unit_price"] == unit_price
    assert order["lines"][0]["amount"] == amount
    assert order["goods_amount"] == amount


def test_a_dealer_table_beats_the_tier_table_and_the_list_price_is_the_fallback(store):
    f.prices(
        "TEA-1",
        tiers={"GOLD": [(1, 9000)]},
        dealers={"SH001": [(1, 7000), (20, 6500)]},
    )
    f.prices("JUICE-6", tiers={"SILVER": [(1, 1000)]})  # another tier's table does not apply

    order = place(store, line("TEA-1", 20), line("JUICE-6", 6)).get_json()

    assert [(ln["sku"], ln["unit_price"]) for ln in order["lines"]] == [
        ("TEA-1", "65.00"),
        ("JUICE-6", "50.00"),
    ]
    assert order["goods_amount"] == "1600.00"


def test_placing_an_order_reserves_each_lines_quantity(store):
    assert available(store, "TEA-1") == 100
    assert available(store, "JUICE-6") == 60

    assert place(store, line("TEA-1", 7), line("JUICE-6", 12)).status_code == 201

    assert available(store, "TEA-1") == 93
    assert available(store, "JUICE-6") == 48
    assert f.stock_of("TEA-1") == (100, 7)


def test_the_payable_amount_is_debited_from_funds_with_a_ledger_entry_naming_the_order(store):
    order = place(store, line("TEA-1", 2), line("JUICE-6", 12)).get_json()

    funds = wallet_of(store)["funds"]
    assert funds == {"balance": "9200.00", "credit_limit": "0.00", "available": "9200.00"}
    newest = entries(store, "funds")[0]
    assert newest["amount"] == "-800.00"
    assert newest["balance_after"] == "9200.00"
    assert newest["order_number"] == order["number"]
    assert newest["account"] == "funds"


# --- refusals: invalid lines ------------------------------------------------------------


@pytest.fixture
def odd_products(store):
    f.product("OFF-1", active=False, on_hand=50)
    f.product("SILVER-ONLY", visible_tiers=["SILVER"], on_hand=50)
    return store


@pytest.mark.parametrize(
    ("second_line", "field"),
    [
        (line("JUICE-6", 3), "lines.1.qty"),  # below the minimum order
        (line("JUICE-6", 8), "lines.1.qty"),  # not a pack multiple
        (line("NO-SUCH-SKU", 1), "lines.1.sku"),
        (line("OFF-1", 1), "lines.1.sku"),  # inactive product
        (line("SILVER-ONLY", 1), "lines.1.sku"),  # limited to another tier
        (line("TEA-1", 2), "lines.1.sku"),  # the same SKU twice
    ],
    ids=["below-moq", "not-a-multiple", "unknown-sku", "inactive", "other-tier", "duplicate"],
)
def test_an_invalid_line_is_refused_422_with_an_error_on_that_line(
    odd_products, second_line, field
):
    store = odd_products
    before = f.footprint()

    response = place(store, line("TEA-1", 1), second_line)

    body = assert_problem(response, 422)
    errors = body["errors"]
    assert any(key.startswith("lines.1") for key in errors), errors
    assert not any(key.startswith("lines.0") for key in errors), errors
    if field.endswith(".qty"):
        assert field in errors, errors
    assert f.footprint() == before


def test_an_order_without_lines_is_refused_422(store):
    before = f.footprint()

    body = assert_problem(place(store), 422)

    assert "lines" in body["errors"]
    assert_problem(store.client.post("/api/v1/orders", json={}, headers=store.headers), 422)
    assert f.footprint() == before


@pytest.mark.parametrize("qty", ["6", 6.5, 0, -6, True, None])
def test_a_quantity_that_is_not_a_positive_integer_is_refused_422(store, qty):
    body = assert_problem(place(store, line("JUICE-6", qty)), 422)

    assert any(key.startswith("lines.0") for key in body["errors"]), body["errors"]


def test_an_unparsable_body_is_400(store):
    response = store.client.post(
        "/api/v1/orders",
        data="{not json",
        headers={**store.headers, "Content-Type": "application/json"},
    )

    assert_problem(response, 400)


# --- refusals: stock and funds ----------------------------------------------------------


def test_short_lines_are_refused_409_each_with_requested_and_available(store):
    f.product("LOW-A", on_hand=5)
    f.product("LOW-B", on_hand=2)
    assert place(store, line("LOW-A", 1)).status_code == 201  # someone else's reservation counts
    before = f.footprint()

    response = place(store, line("TEA-1", 1), line("LOW-A", 6), line("LOW-B", 3))

    body = assert_problem(response, 409, "insufficient_stock")
    assert sorted(body["lines"], key=lambda row: row["sku"]) == [
        {"sku": "LOW-A", "requested": 6, "available": 4},
        {"sku": "LOW-B", "requested": 3, "available": 2},
    ]
    assert f.footprint() == before
    assert available(store, "TEA-1") == 100


def test_an_order_for_exactly_what_is_available_succeeds(store):
    f.product("LOW-A", on_hand=5)

    assert place(store, line("LOW-A", 5)).status_code == 201

    assert available(store, "LOW-A") == 0
    assert_problem(place(store, line("LOW-A", 1)), 409, "insufficient_stock")


@pytest.fixture
def on_credit(store):
    """A dealer with 50.00 of funds and 50.00 of credit: 100.00 may be spent."""
    f.dealer("GZ001", "GOLD", credit_limit=5000)
    user = f.dealer_user("GZ001", "gz")
    f.deposit("GZ001", 5000)
    f.product("ODD", list_price=10001, on_hand=10)
    store.gz = f.api_headers(user)
    return store


def test_an_order_for_exactly_funds_plus_credit_limit_succeeds(on_credit):
    store = on_credit

    response = place(store, line("TEA-1", 1), headers=store.gz)

    assert response.status_code == 201, response.get_json()
    funds = wallet_of(store, store.gz)["funds"]
    assert funds == {"balance": "-50.00", "credit_limit": "50.00", "available": "0.00"}


def test_an_order_above_funds_plus_credit_limit_is_refused_409_and_leaves_nothing(on_credit):
    store = on_credit
    before = f.footprint()

    response = place(store, line("ODD", 1), headers=store.gz)

    assert_problem(response, 409, "insufficient_funds")
    assert f.footprint() == before
    assert wallet_of(store, store.gz)["funds"]["balance"] == "50.00"
    assert available(store, "ODD") == 10
    assert store.client.get("/api/v1/orders", headers=store.gz).get_json()["items"] == []


def test_once_the_credit_is_used_up_the_next_order_is_refused(on_credit):
    store = on_credit
    assert place(store, line("TEA-1", 1), headers=store.gz).status_code == 201
    before = f.footprint()

    assert_problem(place(store, line("JUICE-6", 6), headers=store.gz), 409, "insufficient_funds")

    assert f.footprint() == before


# --- what an order keeps ----------------------------------------------------------------


def test_an_order_line_keeps_its_price_after_hq_changes_the_price_table(store):
    f.prices("TEA-1", tiers={"GOLD": [(1, 9000), (10, 8500)]})
    order = place(store, line("TEA-1", 10)).get_json()

    response = store.client.put(
        "/api/v1/admin/products/TEA-1/prices",
        json={"tiers": {"GOLD": [{"min_qty": 1, "price": "120.00"}]}},
        headers=store.admin_headers,
    )
    assert response.status_code == 200, response.get_json()
    response = store.client.patch(
        "/api/v1/admin/products/TEA-1", json={"list_price": "130.00"}, headers=store.admin_headers
    )
    assert response.status_code == 200, response.get_json()

    kept = store.client.get(f"/api/v1/orders/{order['number']}", headers=store.headers).get_json()
    assert kept["lines"][0]["unit_price"] == "85.00"
    assert kept["lines"][0]["amount"] == "850.00"
    assert kept["goods_amount"] == "850.00"
    listed = store.client.get("/api/v1/orders", headers=store.headers).get_json()["items"]
    assert listed[0]["lines"][0]["unit_price"] == "85.00"
    new = place(store, line("TEA-1", 10)).get_json()
    assert new["lines"][0]["unit_price"] == "120.00"


def test_order_numbers_are_unique_and_sort_in_creation_order(store):
    numbers = [place(store, line("TEA-1", 1)).get_json()["number"] for _ in range(6)]

    assert len(set(numbers)) == len(numbers)
    assert sorted(numbers) == numbers
    listed = store.client.get("/api/v1/orders", headers=store.headers).get_json()["items"]
    assert [o["number"] for o in listed] == numbers[::-1]


def test_money_in_an_order_is_always_a_two_decimal_string(store):
    f.product("CHEAP", list_price=5, on_hand=10)  # 0.05

    order = place(store, line("CHEAP", 3), line("TEA-1", 1)).get_json()

    amounts = [order["goods_amount"], order["rebate_amount"], order["payable_amount"]]
    amounts += [ln[k] for ln in order["lines"] for k in ("unit_price", "amount")]
    assert all(isinstance(a, str) and MONEY.match(a) for a in amounts), amounts
    assert order["lines"][0]["amount"] == "0.15"
    assert order["goods_amount"] == "100.15"


# --- rebates ----------------------------------------------------------------------------


@pytest.fixture
def rebates(store):
    """GOLD earns 5 %, up to 10 % of an order may be paid with rebate; 20.00 on the account."""
    response = store.client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {"GOLD": "0.05"}, "max_use_ratio": "0.10"},
        headers=store.admin_headers,
    )
    assert response.status_code == 200, response.get_json()
    f.product("REB", list_price=12345, on_hand=10)  # 123.45: 10 % is 12.345
    response = store.client.post(
        "/api/v1/admin/dealers/SH001/wallet/adjustments",
        json={"account": "rebate", "amount": "20.00", "memo": "年度返利"},
        headers=store.admin_headers,
    )
    assert response.status_code == 201, response.get_json()
    return store


def test_rebate_above_the_ratio_of_goods_rounded_half_up_is_refused_422(rebates):
    store = rebates
    before = f.footprint()

    body = assert_problem(place(store, line("REB", 1), use_rebate="12.36"), 422)

    assert "use_rebate" in body["errors"], body
    assert f.footprint() == before


def test_rebate_at_the_ratio_of_goods_rounded_half_up_is_accepted(rebates):
    store = rebates

    response = place(store, line("REB", 1), use_rebate="12.35")

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["goods_amount"] == "123.45"
    assert order["rebate_amount"] == "12.35"
    assert order["payable_amount"] == "111.10"


def test_rebate_above_the_rebate_balance_is_refused_422_and_leaves_nothing(rebates):
    store = rebates
    f.product("BIG", list_price=100000, on_hand=10)  # 1000.00: 10 % is 100.00
    before = f.footprint()

    body = assert_problem(place(store, line("BIG", 1), use_rebate="20.01"), 422)

    assert "use_rebate" in body.get("errors", {}), body
    assert f.footprint() == before


def test_using_rebate_debits_the_rebate_account_and_funds_only_the_rest(rebates):
    store = rebates
    f.product("BIG", list_price=100000, on_hand=10)

    order = place(store, line("BIG", 1), use_rebate="20.00").get_json()

    assert order["rebate_amount"] == "20.00"
    assert order["payable_amount"] == "980.00"
    wallet = wallet_of(store)
    assert wallet["rebate"]["balance"] == "0.00"
    assert wallet["funds"]["balance"] == "9020.00"
    rebate_entry = entries(store, "rebate")[0]
    assert rebate_entry["amount"] == "-20.00"
    assert rebate_entry["order_number"] == order["number"]
    assert rebate_entry["balance_after"] == "0.00"
    assert entries(store, "funds")[0]["amount"] == "-980.00"


def test_pending_rebate_is_the_rate_times_payable_half_up_until_the_order_is_cancelled(rebates):
    store = rebates
    assert wallet_of(store)["rebate"] == {"balance": "20.00", "pending": "0.00"}

    order = place(store, line("REB", 1), use_rebate="12.35").get_json()  # payable 111.10

    assert wallet_of(store)["rebate"] == {"balance": "7.65", "pending": "5.56"}  # 5.555
    cancel = store.client.post(f"/api/v1/orders/{order['number']}/cancel", headers=store.headers)
    assert cancel.status_code == 200, cancel.get_json()
    assert wallet_of(store)["rebate"] == {"balance": "20.00", "pending": "0.00"}


def test_pending_rebate_adds_up_over_open_orders(rebates):
    store = rebates
    place(store, line("REB", 1), use_rebate="12.35")  # 5.555 -> 5.56
    place(store, line("TEA-1", 3))  # 300.00 -> 15.00

    assert wallet_of(store)["rebate"]["pending"] == "20.56"


def test_the_rate_in_force_at_placement_stays_with_the_order(rebates):
    store = rebates
    place(store, line("TEA-1", 2))  # 200.00 at 5 % -> 10.00

    store.client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {"GOLD": "0.20"}, "max_use_ratio": "0.10"},
        headers=store.admin_headers,
    )

    assert wallet_of(store)["rebate"]["pending"] == "10.00"


def test_a_tier_left_out_of_the_policy_earns_nothing(rebates):
    store = rebates
    store.client.put(
        "/api/v1/admin/rebate-policy",
        json={"rates": {"SILVER": "0.05"}, "max_use_ratio": "0.10"},
        headers=store.admin_headers,
    )

    place(store, line("TEA-1", 2))

    assert wallet_of(store)["rebate"]["pending"] == "0.00"


@pytest.mark.parametrize("use_rebate", ["-1.00", "1.234", 1, "abc", None])
def test_a_malformed_or_negative_use_rebate_is_refused_422(rebates, use_rebate):
    store = rebates
    before = f.footprint()

    body = assert_problem(place(store, line("REB", 1), use_rebate=use_rebate), 422)

    assert "use_rebate" in body["errors"], body
    assert f.footprint() == before
