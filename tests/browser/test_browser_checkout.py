"""Checkout on a phone: the rebate field never holds an amount the server would refuse, the
figures follow it, and an order the server would refuse says why and cannot be submitted."""

from __future__ import annotations

import pytest

from app.money import display_fen as yuan
from app.services import rebates
from app.services import wallet as wallet_svc
from tests.browser.test_browser_ordering import (
    DEALER,
    OTHER,
    SKU,
    cart_lines,
    orders_of,
    price_table,
    put_in_cart,
    set_on_hand,
    user_named,
    wait_for_order_page,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

CREDIT = 40_000_00  # gz001: GOLD, ¥40,000 credit, no funds


def shoot(page, shots_dir, name: str) -> None:
    folder = shots_dir / "checkout"
    folder.mkdir(exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled")


def give_rebate(app, amount: int, ratio: str = "0.10") -> None:
    """A rebate balance for gz001 and a policy that lets an order use `ratio` of its goods."""
    with app.app_context():
        rebates.set_policy({}, ratio)
        wallet_svc.adjust("GZ001", "rebate", amount, "返利测试", user_named("admin"))


def open_checkout(app, page, sign_in, lines: dict[str, int]):
    put_in_cart(app, lines)
    sign_in(page, *DEALER)
    page.goto("/checkout")
    return page.locator("form.checkout")


def test_typed_rebate_is_held_to_what_the_order_may_use(
    demo, app, page, sign_in, js_errors, shots_dir
):
    goods = price_table(app).unit_price(3) * 3  # ¥137.28: 10% would be ¥13.73
    give_rebate(app, 3_60)  # but the balance is ¥3.60
    js_errors.watch(page)
    form = open_checkout(app, page, sign_in, {SKU: 3})
    field, note = form.locator("#use_rebate"), form.locator("#rebate-note")
    payable, after = form.locator("[data-payable]"), form.locator("[data-after]")
    expect(form.locator("#rebate-cap")).to_have_text("本单最多可用 ¥3.60")
    expect(field).to_have_attribute("inputmode", "decimal")
    expect(form.get_by_role("button", name="重新计算")).to_be_hidden()  # figures follow typing

    field.fill("99999")
    expect(field).to_have_value("3.60")
    expect(note).to_have_text("99999 超出本单可用返利，已改为 ¥3.60。")
    expect(payable.first).to_have_text(yuan(goods - 3_60))
    expect(payable.last).to_have_text(yuan(goods - 3_60))
    expect(after).to_have_text(yuan(CREDIT - goods + 3_60))
    shoot(page, shots_dir, "rebate-clamped")

    field.fill("-50")
    expect(field).to_have_value("0")
    expect(note).to_have_text("返利不能为负数，已改为 ¥0.00。")
    expect(payable.first).to_have_text(yuan(goods))
    expect(after).to_have_text(yuan(CREDIT - goods))

    field.fill("")
    field.press_sequentially("99999")  # key by key: held at the cap from the first key on
    expect(field).to_have_value("3.60")
    expect(note).to_have_text("99999 超出本单可用返利，已改为 ¥3.60。")  # what was typed
    field.fill("")
    field.press_sequentially("-50")  # a negative entry stays 0, never becomes the cap
    expect(field).to_have_value("0")
    expect(note).to_have_text("返利不能为负数，已改为 ¥0.00。")
    expect(payable.first).to_have_text(yuan(goods))
    field.fill("1.234")
    expect(field).to_have_value("1.23")
    field.fill("abc")
    expect(field).to_have_value("")
    expect(payable.first).to_have_text(yuan(goods))

    field.fill("2.5")
    expect(note).to_be_hidden()
    expect(payable.first).to_have_text(yuan(goods - 2_50))
    field.press("Enter")  # recalculates; never submits the order
    page.wait_for_timeout(300)
    assert orders_of(app) == []

    form.get_by_role("button", name="全部使用").click()
    expect(field).to_have_value("3.60")
    expect(payable.first).to_have_text(yuan(goods - 3_60))
    form.get_by_role("button", name="提交订单").click()
    wait_for_order_page(page, js_errors)
    [order] = orders_of(app)
    assert (order.rebate_amount, order.payable_amount) == (3_60, goods - 3_60)
    js_errors.check()


def test_a_funds_shortfall_is_named_and_more_rebate_enables_submit(
    demo, app, page, sign_in, js_errors, shots_dir
):
    qty = 942
    goods = price_table(app).unit_price(qty) * qty  # ¥40,166.88: ¥166.88 beyond the credit
    assert 0 < goods - CREDIT < 500_00
    set_on_hand(app, SKU, 2_000)
    give_rebate(app, 500_00)
    js_errors.watch(page)
    form = open_checkout(app, page, sign_in, {SKU: qty})
    submit, why = form.locator("#submit-order"), form.locator("[data-why-funds]")
    expect(submit).to_be_disabled()
    expect(form.locator("[data-why-stock]")).to_be_hidden()
    expect(why).to_have_text(f"可用资金不足，还差 {yuan(goods - CREDIT)}")
    expect(form.locator("[data-after]")).to_have_text(yuan(CREDIT - goods))
    shoot(page, shots_dir, "funds-short")

    field = form.locator("#use_rebate")
    field.fill("100")  # not yet enough
    expect(why).to_have_text(f"可用资金不足，还差 {yuan(goods - CREDIT - 100_00)}")
    expect(submit).to_be_disabled()
    field.fill("200")
    expect(form.locator("#submit-why")).to_be_hidden()
    expect(submit).to_be_enabled()
    field.fill("")
    expect(submit).to_be_disabled()
    form.get_by_role("button", name="全部使用").click()
    expect(field).to_have_value("500.00")
    expect(submit).to_be_enabled()
    shoot(page, shots_dir, "funds-covered-by-rebate")

    submit.click()
    wait_for_order_page(page, js_errors)
    [order] = orders_of(app)
    assert (order.rebate_amount, order.payable_amount) == (500_00, goods - 500_00)
    js_errors.check()


def test_a_short_line_is_named_with_its_fix_before_submitting(
    demo, app, page, sign_in, js_errors, shots_dir
):
    set_on_hand(app, SKU, 5)
    js_errors.watch(page)
    form = open_checkout(app, page, sign_in, {OTHER: 2, SKU: 8})
    line = page.locator(f'li[data-line="{SKU}"]')
    expect(line).to_contain_text("库存仅剩5箱")
    expect(page.locator(f'li[data-line="{OTHER}"]')).not_to_have_class("is-short")
    expect(form.locator("#submit-order")).to_be_disabled()
    expect(form.locator("[data-why-stock]")).to_have_text("有商品库存不足，请先在上方调整")
    expect(form.locator("[data-why-funds]")).to_be_hidden()
    shoot(page, shots_dir, "short-line")

    line.get_by_role("button", name="改为5箱").click()
    page.wait_for_url("**/checkout")
    assert cart_lines(app) == {OTHER: 2, SKU: 5}
    expect(page.locator(".is-short")).to_have_count(0)
    expect(form.locator("#submit-why")).to_be_hidden()
    form.get_by_role("button", name="提交订单").click()
    wait_for_order_page(page, js_errors)
    assert len(orders_of(app)) == 1
    js_errors.check()


def test_without_a_script_use_all_and_a_refused_rebate_stay_on_the_page(
    demo, app, new_context, sign_in, shots_dir
):
    goods = price_table(app).unit_price(3) * 3
    give_rebate(app, 3_60)
    page = new_context(java_script_enabled=False).new_page()
    form = open_checkout(app, page, sign_in, {SKU: 3})
    field = form.locator("#use_rebate")

    form.get_by_role("button", name="全部使用").click()
    page.wait_for_load_state()
    expect(field).to_have_value("3.60")
    expect(form.locator("[data-payable]").first).to_have_text(yuan(goods - 3_60))
    assert orders_of(app) == []

    field.fill("99999")
    form.get_by_role("button", name="提交订单").click()
    page.wait_for_load_state()
    expect(field).to_have_value("3.60")
    expect(form.locator("#rebate-note")).to_have_text("99999 超出本单可用返利，已改为 ¥3.60。")
    expect(page.get_by_role("alert")).to_have_count(0)
    shoot(page, shots_dir, "no-js-refused")
    assert orders_of(app) == []

    form.get_by_role("button", name="提交订单").click()  # the changed value is accepted
    page.wait_for_url("**/orders/SO*")
    [order] = orders_of(app)
    assert order.rebate_amount == 3_60
