"""我的: a negative funds balance is shown as money owed against the credit limit."""

import re

import pytest

from app.services import orders
from app.services.orders import LineRequest
from tests import factories as f


@pytest.fixture
def on_credit(client):
    """A GOLD dealer with ¥40,000 credit and no funds who has ordered ¥73.58 of goods."""
    f.tier("GOLD", "金牌")
    f.dealer("GZ001", "GOLD", credit_limit=40_000_00)
    user = f.dealer_user("GZ001", "gz")
    f.product("TEA-1", name="乌龙茶", list_price=7358, on_hand=10)
    orders.place_order(user, [LineRequest("TEA-1", 1)])
    f.web_login(client, "gz")
    return client


def wallet_card(client) -> str:
    html = client.get("/me").get_data(as_text=True)
    card = re.search(r"<h2>[^<]*</h2>\s*<dl class=\"money\">.*?</section>", html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card))


def test_money_owed_is_shown_as_drawn_on_credit_not_a_negative_balance(on_credit):
    text = wallet_card(on_credit)
    assert "欠款（占用信用额度） ¥73.58" in text
    assert "货款余额" not in text and "-¥73.58" not in text and "−¥73.58" not in text
    assert "可用额度 ¥39,926.42" in text
    assert "可用额度 = 信用额度 ¥40,000.00 − 欠款 ¥73.58" in text


def test_money_owed_in_english(on_credit):
    on_credit.get("/lang/en")
    text = wallet_card(on_credit)
    assert "Owed (drawn on your credit) ¥73.58" in text
    assert "Available = credit limit ¥40,000.00 − owed ¥73.58" in text
    assert "Funds balance" not in text


def test_a_positive_balance_is_shown_as_before(client):
    f.tier("GOLD", "金牌")
    f.dealer("BJ001", "GOLD", credit_limit=1_000_00)
    f.dealer_user("BJ001", "bj")
    f.deposit("BJ001", 500_00)
    f.web_login(client, "bj")
    text = wallet_card(client)
    assert "货款余额 ¥500.00" in text and "可用额度 ¥1,500.00" in text
    assert "欠款" not in text
