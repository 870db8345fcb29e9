"""HQ finance records deposits and adjustments; dealers read their wallet and ledger (§3, §4)."""

import re
from types import SimpleNamespace

import pytest

from app.services import accounts
from tests import factories as f
from tests.api.helpers import assert_problem

WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ENTRY_KEYS = {
    "id",
    "account",
    "type",
    "amount",
    "balance_after",
    "order_number",
    "memo",
    "created_at",
}


@pytest.fixture
def finance(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    rival = f.dealer_user("BJ001", "rival")
    admin = f.admin("hq")
    f.product("TEA-1", list_price=10000, on_hand=100)
    return SimpleNamespace(
        client=client,
        headers=f.api_headers(buyer),
        rival=f.api_headers(rival),
        admin=f.api_headers(admin),
    )


def deposit(shop, amount, reference, dealer="SH001"):
    return shop.client.post(
        f"/api/v1/admin/dealers/{dealer}/wallet/deposits",
        json={"amount": amount, "reference": reference},
        headers=shop.admin,
    )


def adjust(shop, account, amount, memo="对账调整", dealer="SH001"):
    body = {"account": account, "amount": amount}
    if memo is not None:
        body["memo"] = memo
    return shop.client.post(
        f"/api/v1/admin/dealers/{dealer}/wallet/adjustments", json=body, headers=shop.admin
    )


def wallet(shop, headers=None):
    response = shop.client.get("/api/v1/wallet", headers=headers or shop.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def entries(shop, account=None, headers=None):
    url = "/api/v1/wallet/entries" + (f"?account={account}" if account else "")
    response = shop.client.get(url, headers=headers or shop.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def place(shop, qty=1):
    response = shop.client.post(
        "/api/v1/orders", json={"lines": [{"sku": "TEA-1", "qty": qty}]}, headers=shop.headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- deposits ---------------------------------------------------------------------------


def test_a_deposit_is_201_and_credits_the_dealers_funds(finance):
    response = deposit(finance, "1280.5", "ICBC-0001")

    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["account"] == "funds"
    assert entry["amount"] == "1280.50"
    assert entry["balance_after"] == "1280.50"
    assert entry["order_number"] is None
    assert WITH_OFFSET.match(entry["created_at"])
    assert wallet(finance)["funds"] == {
        "balance": "1280.50",
        "credit_limit": "0.00",
        "available": "1280.50",
    }
    assert [e["id"] for e in entries(finance, "funds")] == [entry["id"]]


def test_the_same_reference_again_is_200_with_the_same_entry_credited_once(finance):
    first = deposit(finance, "500.00", "ICBC-0001").get_json()

    again = deposit(finance, "500.00", "ICBC-0001")

    assert again.status_code == 200, again.get_json()
    assert again.get_json() == first
    assert wallet(finance)["funds"]["balance"] == "500.00"
    assert len(entries(finance, "funds")) == 1


def test_the_same_reference_in_another_spelling_of_the_same_amount_is_the_same_deposit(finance):
    first = deposit(finance, "500", "ICBC-0001").get_json()

    again = deposit(finance, "500.00", "ICBC-0001")

    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


@pytest.mark.parametrize(
    ("amount", "dealer"),
    [("500.01", "SH001"), ("500.00", "BJ001")],
    ids=["other-amount", "other-dealer"],
)
def test_the_same_reference_with_another_amount_or_dealer_is_409(finance, amount, dealer):
    deposit(finance, "500.00", "ICBC-0001")
    before = f.footprint()

    assert_problem(deposit(finance, amount, "ICBC-0001", dealer=dealer), 409)

    assert f.footprint() == before
    assert wallet(finance)["funds"]["balance"] == "500.00"
    assert wallet(finance, finance.rival)["funds"]["balance"] == "0.00"


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "1.234", "abc", "", 100, 100.5, None])
def test_a_deposit_amount_that_is_not_a_positive_money_string_is_422(finance, amount):
    before = f.footprint()

    body = assert_problem(deposit(finance, amount, "ICBC-0002"), 422)

    assert "amount" in body["errors"], body
    assert f.footprint() == before


def test_a_deposit_needs_a_reference(finance):
    response = finance.client.post(
        "/api/v1/admin/dealers/SH001/wallet/deposits",
        json={"amount": "10.00"},
        headers=finance.admin,
    )

    assert "reference" in assert_problem(response, 422)["errors"]


def test_a_deposit_for_an_unknown_dealer_is_404(finance):
    assert_problem(deposit(finance, "10.00", "ICBC-0003", dealer="NOPE"), 404)


# --- adjustments ------------------------------------------------------------------------


def test_a_negative_funds_adjustment_is_201_with_its_memo(finance):
    deposit(finance, "100.00", "ICBC-0001")

    response = adjust(finance, "funds", "-5.00", memo="手续费")

    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["account"] == "funds"
    assert entry["amount"] == "-5.00"
    assert entry["balance_after"] == "95.00"
    assert entry["memo"] == "手续费"
    assert wallet(finance)["funds"]["balance"] == "95.00"


def test_a_funds_adjustment_may_go_below_the_credit_limit_but_orders_may_not(finance):
    """HQ's correction is authoritative (§3 refuses only rebate below zero); the credit
    limit then holds every order placed afterwards."""
    accounts.update_dealer("SH001", {"credit_limit": 5000})
    assert adjust(finance, "funds", "-60.00", memo="退货冲减").status_code == 201

    assert wallet(finance)["funds"] == {
        "balance": "-60.00",
        "credit_limit": "50.00",
        "available": "-10.00",
    }
    order = finance.client.post(
        "/api/v1/orders", json={"lines": [{"sku": "TEA-1", "qty": 1}]}, headers=finance.headers
    )
    assert_problem(order, 409, "insufficient_funds")
    # A credit lands even while the account sits below the floor.
    assert adjust(finance, "funds", "1.00").status_code == 201


def test_a_positive_funds_adjustment_is_201(finance):
    response = adjust(finance, "funds", "12.5")

    assert response.status_code == 201, response.get_json()
    assert wallet(finance)["funds"]["balance"] == "12.50"


def test_rebate_adjustments_move_the_rebate_balance(finance):
    assert adjust(finance, "rebate", "10.00").status_code == 201
    assert adjust(finance, "rebate", "-4.00").status_code == 201

    assert wallet(finance)["rebate"]["balance"] == "6.00"
    assert [e["amount"] for e in entries(finance, "rebate")] == ["-4.00", "10.00"]


def test_a_rebate_adjustment_to_exactly_zero_is_allowed(finance):
    adjust(finance, "rebate", "10.00")

    assert adjust(finance, "rebate", "-10.00").status_code == 201

    assert wallet(finance)["rebate"]["balance"] == "0.00"


def test_a_rebate_adjustment_below_zero_is_409_and_changes_nothing(finance):
    adjust(finance, "rebate", "10.00")
    before = f.footprint()

    assert_problem(adjust(finance, "rebate", "-10.01"), 409)

    assert f.footprint() == before
    assert wallet(finance)["rebate"]["balance"] == "10.00"


@pytest.mark.parametrize("memo", [None, "", "   "])
def test_an_adjustment_needs_a_memo(finance, memo):
    before = f.footprint()

    body = assert_problem(adjust(finance, "funds", "5.00", memo=memo), 422)

    assert "memo" in body["errors"], body
    assert f.footprint() == before


@pytest.mark.parametrize(
    ("account", "amount", "field"),
    [
        ("cash", "5.00", "account"),
        ("funds", "5.001", "amount"),
        ("funds", 5, "amount"),
        ("funds", "five", "amount"),
        ("rebate", "-1.234", "amount"),
    ],
)
def test_a_malformed_adjustment_is_422(finance, account, amount, field):
    before = f.footprint()

    body = assert_problem(adjust(finance, account, amount), 422)

    assert field in body["errors"], body
    assert f.footprint() == before


# --- the dealer's wallet and ledger -----------------------------------------------------


def test_available_funds_are_the_balance_plus_the_credit_limit(finance):
    deposit(finance, "100.00", "ICBC-0001")
    response = finance.client.patch(
        "/api/v1/admin/dealers/SH001", json={"credit_limit": "500.00"}, headers=finance.admin
    )
    assert response.status_code == 200, response.get_json()

    assert wallet(finance) == {
        "funds": {"balance": "100.00", "credit_limit": "500.00", "available": "600.00"},
        "rebate": {"balance": "0.00", "pending": "0.00"},
    }


def test_ledger_entries_are_newest_first_with_their_balance_after(finance):
    deposit(finance, "1000.00", "ICBC-0001")
    order = place(finance, qty=3)
    adjust(finance, "funds", "-20.00")
    adjust(finance, "rebate", "8.00")

    funds = entries(finance, "funds")

    assert [(e["amount"], e["balance_after"]) for e in funds] == [
        ("-20.00", "680.00"),
        ("-300.00", "700.00"),
        ("1000.00", "1000.00"),
    ]
    assert [e["order_number"] for e in funds] == [None, order["number"], None]
    assert all(set(e) >= ENTRY_KEYS and e["account"] == "funds" for e in funds)
    assert all(WITH_OFFSET.match(e["created_at"]) for e in funds)
    assert [e["amount"] for e in entries(finance, "rebate")] == ["8.00"]
    assert [e["amount"] for e in entries(finance)] == ["8.00", "-20.00", "-300.00", "1000.00"]


def test_a_cancelled_order_adds_a_refund_and_never_rewrites_the_debit(finance):
    deposit(finance, "1000.00", "ICBC-0001")
    order = place(finance, qty=2)
    debit = entries(finance, "funds")[0]

    cancel = finance.client.post(
        f"/api/v1/orders/{order['number']}/cancel", headers=finance.headers
    )
    assert cancel.status_code == 200, cancel.get_json()

    funds = entries(finance, "funds")
    assert funds[1] == debit
    assert (funds[0]["amount"], funds[0]["balance_after"]) == ("200.00", "1000.00")
    assert funds[0]["order_number"] == order["number"]
    assert len(funds) == 3


def test_a_dealer_sees_only_its_own_ledger(finance):
    deposit(finance, "1000.00", "ICBC-0001")
    deposit(finance, "7.00", "ICBC-0002", dealer="BJ001")

    assert [e["amount"] for e in entries(finance)] == ["1000.00"]
    assert [e["amount"] for e in entries(finance, headers=finance.rival)] == ["7.00"]
    assert wallet(finance, finance.rival)["funds"]["balance"] == "7.00"


def test_an_unknown_ledger_account_is_422(finance):
    response = finance.client.get("/api/v1/wallet/entries?account=cash", headers=finance.headers)

    assert_problem(response, 422)
