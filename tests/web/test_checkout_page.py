"""The checkout page as drawn by the server (no script): the rebate field holds an amount the
server accepts, a doomed order says why and cannot be submitted, 全部使用 works as a form."""

from __future__ import annotations

import html
import re

import pytest

from app.models import Order
from app.services import cart, products, rebates, wallet
from tests import factories as f

CREDIT = 1_000_00  # what SH001 may spend: no funds, ¥1,000 credit
PRICE = 100_00  # TEA-1 for everyone: ¥100 a 箱, in packs of 2


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=CREDIT)
    f.dealer_user("SH001", "sh")
    f.admin("hq")
    f.product(
        "TEA-1", name="乌龙茶", list_price=PRICE, on_hand=50, order_multiple=2, min_order_qty=2
    )
    f.product("TEA-2", name="红茶", list_price=PRICE, on_hand=50)
    f.web_login(client, "sh")
    return client


def in_cart(**lines: int) -> None:
    for sku, qty in lines.items():
        cart.set_qty(f.user_named("sh"), sku.replace("_", "-"), qty)


def give_rebate(amount: int, ratio: str = "0.10") -> None:
    rebates.set_policy({"GOLD": "0.02"}, ratio)
    wallet.adjust("SH001", "rebate", amount, "返利测试", f.user_named("hq"))


def page_of(response) -> str:
    return response.get_data(as_text=True)


def text_of(page: str, element_id: str) -> str:
    """The shown text inside the element with this id (hidden children and tags dropped)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no #{element_id}"
    shown = re.sub(r"<(\w+)[^>]*\shidden[^>]*>.*?</\1>", "", match.group(2), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", shown)).split())


def tag(page: str, element_id: str) -> str:
    match = re.search(rf'<\w+[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no #{element_id}"
    return match.group(0)


def field_value(page: str) -> str:
    return re.search(r'\bvalue="([^"]*)"', tag(page, "use_rebate")).group(1)


def is_disabled(page: str, element_id: str = "submit-order") -> bool:
    return re.search(r"\sdisabled(\s|>|=)", tag(page, element_id)) is not None


def is_hidden(page: str, element_id: str) -> bool:
    return re.search(r"\shidden(\s|>|=)", tag(page, element_id)) is not None


def post(client, **fields):
    page = page_of(client.get("/checkout"))
    form = {"csrf_token": f.csrf_from(page), "key": re.search(r'name="key" value="(\w+)"', page)}
    form["key"] = form["key"].group(1)
    return client.post("/checkout", data={**form, **fields})


def orders_placed() -> int:
    from app.extensions import db

    db.session.expire_all()
    return db.session.query(Order).count()


# --- point 2: the rebate field --------------------------------------------------------------


def test_the_cap_is_named_for_this_order_and_why_it_is_zero_without_balance(shop):
    in_cart(TEA_1=10)  # ¥1,000
    rebates.set_policy({"GOLD": "0.02"}, "0.10")
    page = page_of(shop.get("/checkout"))
    assert text_of(page, "rebate-cap") == "本单最多可用 ¥0.00 · 暂无返利余额"
    assert re.search(r"\sdisabled", tag(page, "use_rebate"))
    assert "data-use-all-rebate" not in page


def test_the_cap_says_when_the_policy_allows_no_rebate(shop):
    in_cart(TEA_1=10)
    give_rebate(500_00, ratio="0")
    page = page_of(shop.get("/checkout"))
    assert text_of(page, "rebate-cap") == "本单最多可用 ¥0.00 · 返利政策不允许本单使用返利"


def test_the_cap_is_the_smaller_of_policy_and_balance(shop):
    in_cart(TEA_1=10)  # 10% of ¥1,000 = ¥100
    give_rebate(36_00)
    page = page_of(shop.get("/checkout"))
    assert text_of(page, "rebate-cap") == "本单最多可用 ¥36.00"
    assert 'data-rebate-max="3600"' in page
    assert 'inputmode="decimal"' in tag(page, "use_rebate")


def test_too_much_rebate_is_refused_beside_the_field_and_changed_to_the_cap(shop):
    in_cart(TEA_1=4)  # ¥400, 10% → ¥40 of a ¥50 balance
    give_rebate(50_00)
    refused = post(shop, use_rebate="99999")
    page = page_of(refused)
    assert refused.status_code == 422
    assert field_value(page) == "40.00"  # a value the server accepts, not the typed one
    assert text_of(page, "rebate-note") == "99999 超出本单可用返利，已改为 ¥40.00。"
    assert 'aria-invalid="true"' in tag(page, "use_rebate")
    assert 'role="alert"' not in page  # not at the top of the page: next to the field
    assert re.findall(r"data-payable>([^<]+)<", page) == ["¥360.00", "¥360.00"]
    assert text_of(page, "submit-why") == ""  # nothing else is wrong
    assert not is_disabled(page)
    assert orders_placed() == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-50", "返利不能为负数，已改为 ¥0.00。"),
        ("abc", "“abc”不是有效金额，已改为 ¥0.00。"),
    ],
)
def test_a_negative_or_non_numeric_rebate_becomes_zero_with_a_reason(shop, typed, message):
    in_cart(TEA_1=4)
    give_rebate(50_00)
    refused = post(shop, use_rebate=typed)
    page = page_of(refused)
    assert refused.status_code == 422
    assert field_value(page) == "0.00"
    assert text_of(page, "rebate-note") == message
    assert re.findall(r"data-payable>([^<]+)<", page) == ["¥400.00", "¥400.00"]
    assert orders_placed() == 0


def test_a_rebate_within_the_cap_is_placed_by_a_plain_form_post(shop):
    in_cart(TEA_1=4)
    give_rebate(50_00)
    placed = post(shop, use_rebate="12.5")
    assert placed.status_code == 302 and "/orders/SO" in placed.headers["Location"]
    summary = wallet.summary(f.user_named("sh").dealer)
    assert (summary.rebate_balance, summary.funds_balance) == (37_50, -387_50)


# --- point 8: 全部使用 without a script --------------------------------------------------------


def test_use_all_without_a_script_fills_the_field_and_places_nothing(shop):
    in_cart(TEA_1=4)
    give_rebate(50_00)
    answer = post(shop, use_all="1", use_rebate="", note="周五前发")
    page = page_of(answer)
    assert answer.status_code == 200
    assert field_value(page) == "40.00"
    assert re.findall(r"data-payable>([^<]+)<", page) == ["¥360.00", "¥360.00"]
    assert text_of(page, "rebate-note") == ""
    assert "周五前发</textarea>" in page  # the note is kept
    assert orders_placed() == 0
    assert [line.qty for line in cart.view(f.user_named("sh"))[0].lines] == [4]


def test_enter_in_the_rebate_field_without_a_script_recalculates_not_orders(shop):
    """A form's implicit submission uses its first submit button: that must not be 提交订单."""
    in_cart(TEA_1=4)
    give_rebate(50_00)
    page = page_of(shop.get("/checkout"))
    form = page[page.index('class="checkout"') :]
    first = re.search(r'<button type="submit"[^>]*>', form).group(0)
    assert 'name="recalc"' in first
    answer = post(shop, recalc="1", use_rebate="10")
    assert answer.status_code == 200 and orders_placed() == 0
    assert re.findall(r"data-payable>([^<]+)<", page_of(answer)) == ["¥390.00", "¥390.00"]


# --- point 3: a doomed order says why before it is submitted ---------------------------------


def test_a_short_line_says_how_much_stock_there_is_and_offers_the_fix_up_front(shop):
    in_cart(TEA_1=8, TEA_2=1)  # ¥900: the funds are fine
    products.set_on_hand("TEA-1", 7)
    page = page_of(shop.get("/checkout"))
    short = re.search(r'<li class="is-short" data-line="TEA-1">.*?</li>', page, re.S).group(0)
    assert "库存仅剩7箱" in short
    assert 'name="qty" value="6"' in short and "改为6箱" in short  # 7 down to packs of 2
    assert 'name="next" value="checkout"' in short
    assert '<li data-line="TEA-2">' in page  # the other line is fine
    assert is_disabled(page)
    assert text_of(page, "submit-why") == "有商品库存不足，请先在上方调整"


def test_a_line_below_the_minimum_order_offers_removal(shop):
    in_cart(TEA_1=4)
    products.set_on_hand("TEA-1", 1)
    page = page_of(shop.get("/checkout"))
    short = re.search(r'<li class="is-short" data-line="TEA-1">.*?</li>', page, re.S).group(0)
    assert "库存仅剩1箱，不足起订量2箱" in short
    assert 'name="qty" value="0"' in short and ">删除</button>" in short
    assert is_disabled(page)


def test_missing_funds_are_named_and_the_submit_button_is_disabled(shop):
    in_cart(TEA_1=12)  # ¥1,200 against ¥1,000 available
    page = page_of(shop.get("/checkout"))
    assert text_of(page, "submit-why") == "可用资金不足，还差 ¥200.00"
    assert is_disabled(page)
    assert 'aria-describedby="submit-why"' in tag(page, "submit-order")
    assert re.search(r'data-after class="is-negative">-¥200.00<', page)
    assert 'data-available="100000"' in page and 'data-goods="120000"' in page


def test_enough_rebate_fixes_a_small_shortfall_on_the_server_render(shop):
    in_cart(TEA_1=12)  # ¥1,200; 25% → up to ¥300 of a ¥300 balance
    give_rebate(300_00, ratio="0.25")
    still_short = page_of(post(shop, recalc="1", use_rebate="150"))
    assert text_of(still_short, "submit-why") == "可用资金不足，还差 ¥50.00"
    assert is_disabled(still_short)

    enough = page_of(post(shop, recalc="1", use_rebate="200"))
    assert is_hidden(enough, "submit-why") and not is_disabled(enough)

    placed = post(shop, use_rebate="200")
    assert placed.status_code == 302 and orders_placed() == 1


def test_a_fine_order_has_an_enabled_button_and_no_reasons(shop):
    in_cart(TEA_1=2)
    page = page_of(shop.get("/checkout"))
    assert not is_disabled(page) and is_hidden(page, "submit-why")
    assert "is-short" not in page and "is-negative" not in page


def test_english_pages_carry_no_chinese_around_the_data(shop):
    in_cart(TEA_1=12)
    shop.set_cookie("lang", "en")
    page = page_of(shop.get("/checkout"))
    assert text_of(page, "submit-why") == "Not enough funds available: ¥200.00 short"
    assert text_of(page, "rebate-cap") == "Up to ¥0.00 on this order · You have no rebate balance."
