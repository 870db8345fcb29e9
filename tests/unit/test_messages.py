"""Refusals on pages speak the reader's language; data names and units stay as HQ wrote them."""

import re

import pytest

from app import create_app
from app.config import TestConfig
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.helpers import explain_error, price_source_label

ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app():
    # No database is touched: the app only needs its Babel set-up and locale selector.
    return create_app(TestConfig("sqlite://"))


@pytest.fixture
def zh(app):
    with app.test_request_context("/"):
        yield


@pytest.fixture
def en(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        yield


def pack_error(code="invalid_quantity", **extra):
    fields = {
        "name": "午后红茶",
        "unit": "罐",
        "min_order_qty": 6,
        "order_multiple": 2,
        "below": 6,
        "above": 8,
        "max_qty": None,
    }
    fields.update(extra)
    return Invalid(
        "Order 午后红茶 from 6 罐, in steps of 2.", code=code, errors={"qty": ["…"]}, **fields
    )


def no_english_sentence(text: str) -> bool:
    """Only SKUs, order numbers and money may be Latin on a Chinese page."""
    return not ENGLISH_WORDS.search(re.sub(r"\b[A-Z]{2,}[A-Z0-9-]*\b", "", text))


# --- not found ---------------------------------------------------------------


def test_missing_product_names_its_sku_in_chinese(zh):
    err = NotFound("No product 'NOPE-1'.", subject=("product", "NOPE-1"))
    message = explain_error(err)
    assert message == "找不到该商品（NOPE-1）。"


def test_missing_product_names_its_sku_in_english(en):
    err = NotFound("No product 'NOPE-1'.", subject=("product", "NOPE-1"))
    assert explain_error(err) == "We could not find product NOPE-1."


def test_missing_order_in_both_languages(app):
    err = NotFound("No order 'SO000'.", subject=("order", "SO000"))
    with app.test_request_context("/"):
        assert explain_error(err) == "找不到该订单（SO000）。"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert explain_error(err) == "We could not find order SO000."


def test_missing_order_without_a_number(zh):
    assert explain_error(NotFound("No such order.", subject=("order", None))) == "找不到该订单。"


def test_subject_stays_out_of_the_api_extras():
    err = NotFound("No product 'X'.", subject=("product", "X"))
    assert err.extra == {} and err.detail == "No product 'X'."


# --- generic fallbacks: never the service's English detail -------------------


@pytest.mark.parametrize(
    ("err", "zh_text", "en_text"),
    [
        (
            NotFound("No widget 'W'."),
            "请求的内容不存在。",
            "The item you asked for does not exist.",
        ),
        (
            Invalid("Unknown tiers: X.", errors={"tiers.X": ["Unknown code."]}),
            "输入有误，请检查后重试。",
            "Some input is not valid. Please check it and try again.",
        ),
        (
            Conflict("SKU 'A' already exists.", code="duplicate_sku"),
            "当前状态已变化，请刷新后重试。",
            "This changed meanwhile. Please refresh the page and try again.",
        ),
        (
            Forbidden("This account or its dealer is deactivated.", code="account_inactive"),
            "该账号已停用，请联系总部。",
            "This account has been deactivated. Please contact HQ.",
        ),
    ],
)
def test_unknown_refusals_get_their_status_message(app, err, zh_text, en_text):
    with app.test_request_context("/"):
        assert explain_error(err) == zh_text
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert explain_error(err) == en_text
        assert err.detail not in explain_error(err)


def test_a_field_error_is_explained_not_echoed(zh):
    err = Invalid(errors={"qty": ["Enter a whole number."]})
    assert explain_error(err) == "请检查数量：不少于起订量，并按订购倍数递增。"


def test_an_empty_order_is_explained(zh):
    err = Invalid("An order needs at least one line.", errors={"lines": ["Add at least one line."]})
    assert explain_error(err) == "请检查订单中的商品和数量。"


# --- quantities: units are data ------------------------------------------------


def test_bad_quantity_offers_both_neighbours_in_chinese(zh):
    message = explain_error(pack_error())
    assert message == "午后红茶：请按起订6罐、每2罐一组订购。可选6罐或8罐。"


def test_bad_quantity_offers_both_neighbours_in_english(en):
    message = explain_error(pack_error())
    assert message == "午后红茶: order from 6 罐, in steps of 2. Try 6 or 8 罐."


def test_bad_quantity_below_the_minimum_offers_only_the_minimum(zh):
    assert explain_error(pack_error(below=None, above=6)).endswith("可选6罐。")


def test_bad_quantity_without_pack_steps(en):
    message = explain_error(pack_error(order_multiple=1, min_order_qty=3, below=None, above=3))
    assert message == "午后红茶: order at least 3 罐. Try 3 罐."


def test_bad_quantity_says_when_stock_stops_the_larger_option(app):
    err = pack_error(below=6, above=8, max_qty=6)
    with app.test_request_context("/"):
        # The stock limit is said once, as the one choice left.
        assert explain_error(err) == "午后红茶：请按起订6罐、每2罐一组订购。库存仅够订6罐。"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert explain_error(err).endswith("in steps of 2. Stock allows at most 6 罐.")


def test_bad_quantity_names_what_the_cart_already_holds(zh):
    message = explain_error(pack_error(below=6, above=8, in_cart=6))
    assert message.endswith("可选6罐或8罐。购物车中已有6罐。")


def test_bad_quantity_when_stock_cannot_fill_the_minimum(zh):
    message = explain_error(pack_error(below=None, above=6, max_qty=0))
    assert message.endswith("库存不足起订量。") and "可选" not in message


def test_quantity_over_stock_names_the_most_that_can_be_ordered(app):
    err = pack_error("quantity_over_stock", below=10, above=None, max_qty=10)
    with app.test_request_context("/"):
        assert explain_error(err) == "午后红茶：库存仅够订10罐。"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert explain_error(err) == "午后红茶: stock allows at most 10 罐."


def test_quantity_over_stock_with_nothing_left(zh):
    err = pack_error("quantity_over_stock", below=None, above=None, max_qty=0)
    assert explain_error(err) == "午后红茶：库存不足起订量。"


# --- stock and money ------------------------------------------------------------


def shortage(units=None):
    err = Conflict(
        "Not enough stock for TEA-1 (7 available).",
        code="insufficient_stock",
        lines=[{"sku": "TEA-1", "requested": 10, "available": 7}],
    )
    err.names = {"TEA-1": "乌龙茶"}
    if units is not None:
        err.units = units
    return err


def test_shortage_carries_units_as_data(app):
    err = shortage({"TEA-1": "箱"})
    with app.test_request_context("/"):
        assert explain_error(err) == "库存不足。乌龙茶：需要10箱，可用7箱"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert explain_error(err) == "Not enough stock. 乌龙茶: requested 10 箱, available 7 箱"


def test_shortage_without_units_still_reads(zh):
    assert explain_error(shortage()) == "库存不足。乌龙茶：需要 10，可用 7"


def test_insufficient_funds_in_english(en):
    err = Conflict("…", code="insufficient_funds", available="73.58", required="120.00")
    assert explain_error(err) == "Not enough funds: ¥73.58 available, this needs ¥120.00."


@pytest.mark.parametrize(
    "code",
    [
        "rebate_over_cap",
        "insufficient_rebate",
        "idempotency_request_in_progress",
        "idempotency_key_reused",
        "invalid_status",
    ],
)
def test_known_codes_are_chinese_sentences_in_chinese(zh, code):
    message = explain_error(Conflict("An English sentence for machines.", code=code))
    assert CHINESE.search(message) and no_english_sentence(message), message


# --- the price's "why" line ---------------------------------------------------------


def test_tier_price_label_keeps_the_tier_name_as_data(app):
    with app.test_request_context("/"):
        assert price_source_label("tier", "金牌") == "金牌经销商价"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        label = price_source_label("tier", "金牌")
        assert label == "Tier price (金牌)" and "tier price" not in label


# --- the page path of the error handlers -------------------------------------------------


def test_a_schema_error_on_a_page_is_translated_not_field_colon_english(app):
    from marshmallow import ValidationError

    from app.errors import handle_validation_error

    err = ValidationError(
        {"lines": {0: {"qty": ["Not a valid integer."]}}, "x": ["Unknown field."]}
    )
    with app.test_request_context("/cart"):
        html, status = handle_validation_error(err)
    assert status == 422
    assert "请检查数量：不少于起订量，并按订购倍数递增。" in html
    assert "Not a valid integer" not in html and "lines.0.qty:" not in html


def test_a_schema_error_without_a_known_field_gets_the_generic_message(app):
    from marshmallow import ValidationError

    from app.errors import handle_validation_error

    with app.test_request_context("/cart", headers={"Cookie": "lang=en"}):
        html, _status = handle_validation_error(ValidationError({"x": ["Unknown field."]}))
    assert "Some input is not valid. Please check it and try again." in html
    assert "Unknown field" not in html
