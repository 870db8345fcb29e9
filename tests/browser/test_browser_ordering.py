"""Ordering on a phone: the order sheet, the cart, checkout, the order list, cancel, reorder
and the HQ order desk — each checked against the database, not only the page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import LedgerEntry, Order, StockLevel, User
from app.models.wallet import FUNDS
from app.money import display_fen as yuan
from app.services import cart as cart_svc
from app.services import catalog as catalog_svc
from app.services import orders as orders_svc
from app.services import products as products_svc
from app.services import wallet as wallet_svc
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")  # GOLD: ¥40,000 credit, no funds
ADMIN = ("admin", "admin1234")
SKU = "DRK-002"  # 无糖乌龙茶 500ml: MOQ 1, breaks at 1, 10 and 50 箱 for GOLD
NAME = "无糖乌龙茶 500ml"
OTHER = "DRK-001"  # 冰爽柠檬茶 500ml
ORDER_URL = re.compile(r"/orders/(SO\d+)$")


# --- the database side -------------------------------------------------------------------


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def price_table(app, sku: str = SKU, username: str = DEALER[0]):
    """The price table this dealer is charged, as the app computes it."""
    with app.app_context():
        return catalog_svc.item(user_named(username).dealer, sku).table


def put_in_cart(app, lines: dict[str, int], username: str = DEALER[0]) -> None:
    with app.app_context():
        user = user_named(username)
        for sku, qty in lines.items():
            cart_svc.set_qty(user, sku, qty)


def place(app, lines: dict[str, int], username: str = DEALER[0]) -> tuple[str, int]:
    """An order placed through the service (as if earlier): (number, payable fen)."""
    with app.app_context():
        order = orders_svc.place_order(
            user_named(username), [LineRequest(s, q) for s, q in lines.items()]
        )
        return order.number, order.payable_amount


def set_on_hand(app, sku: str, on_hand: int) -> None:
    with app.app_context():
        products_svc.set_on_hand(sku, on_hand)


def stock(app, sku: str) -> tuple[int, int]:
    """(on_hand, reserved)."""
    with app.app_context():
        level = db.session.get(StockLevel, products_svc.product_by_sku(sku).id)
        return level.on_hand, level.reserved


def orders_of(app, username: str = DEALER[0]) -> list[Order]:
    with app.app_context():
        dealer_id = user_named(username).dealer_id
        rows = db.session.scalars(select(Order).where(Order.dealer_id == dealer_id)).all()
        db.session.expunge_all()
        return list(rows)


def order_status(app, number: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Order.status).where(Order.number == number))


def funds(app, username: str = DEALER[0]) -> int:
    """The funds balance (the demo dealers start at 0, so -debits)."""
    with app.app_context():
        return wallet_svc.summary(user_named(username).dealer).funds_balance


def debits(app, username: str = DEALER[0]) -> int:
    """How many order_debit entries the dealer's funds ledger holds."""
    with app.app_context():
        dealer_id = user_named(username).dealer_id
        return db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.dealer_id == dealer_id,
                LedgerEntry.account == FUNDS,
                LedgerEntry.type == wallet_svc.ORDER_DEBIT,
            )
        )


def cart_lines(app, username: str = DEALER[0]) -> dict[str, int]:
    with app.app_context():
        view, _gone = cart_svc.view(user_named(username))
        return {line.product.sku: line.qty for line in view.lines}


# --- the browser side --------------------------------------------------------------------


def shoot(page, shots_dir, name: str, full_page: bool = True) -> None:
    """A screenshot for a human. An open sheet is fixed to the viewport: a full-page shot
    of a long page draws it in the wrong place, so take what the phone shows instead."""
    page.screenshot(
        path=str(shots_dir / f"order-{name}.png"), full_page=full_page, animations="disabled"
    )


def assert_fits(page, shots_dir, name: str) -> None:
    """A full-page screenshot, then no sideways scrolling at 390 px."""
    page.evaluate("document.fonts.ready.then(() => true)")
    shoot(page, shots_dir, name)
    found = page.evaluate(OVERFLOW_JS)
    assert found["innerWidth"] == found["clientWidth"] == 390, (name, page.url, found)
    assert found["scrollWidth"] <= found["clientWidth"], (name, page.url, found)
    assert not found["offenders"], (name, page.url, found)


def card(page, sku: str):
    return page.locator(f'#cards > li.product-card[data-sku="{sku}"]')


def open_sheet(page, sku: str = SKU, name: str = NAME):
    """Tap a catalog card's "+": the order sheet comes in by htmx, without a navigation."""
    start = page.url
    card(page, sku).get_by_role("link", name=f"订购 {name}").click()
    sheet = page.get_by_role("dialog", name=name)
    expect(sheet).to_be_visible()
    assert page.url == start
    return sheet


def form_fields(locator) -> dict[str, str]:
    """A form's fields as it would post them (to post the same form again later)."""
    return locator.evaluate("f => Object.fromEntries(new FormData(f))")


def wait_for_order_page(page, js_errors) -> str:
    """Wait to land on an order's page; its number. A script error is the likelier cause of
    never landing there than slowness, so a timeout reports the errors seen."""
    try:
        page.wait_for_url(ORDER_URL, timeout=5_000)
    except Exception:
        js_errors.check()
        raise
    return order_number(page)


def order_number(page) -> str:
    match = ORDER_URL.search(urlsplit(page.url).path)
    assert match, page.url
    return match.group(1)


def hint_text(more: int, price: int) -> re.Pattern:
    """The sheet's "再加N享 ¥X" hint (the cart's says 箱 too; either reads right)."""
    return re.compile(rf"^再加{more}(箱)?享 {re.escape(yuan(price))}$")


def tab(page, name: str):
    return page.locator("nav.tabbar").get_by_role("link", name=name)


def timeline(page):
    return page.locator("ol.timeline > li")


# --- the tests ---------------------------------------------------------------------------


def test_sheet_cart_checkout_and_the_order_list(demo, app, page, sign_in, js_errors, shots_dir):
    table = price_table(app)
    p1, p9, p10 = table.unit_price(1), table.unit_price(9), table.unit_price(10)
    assert p9 == p1 > p10, "DRK-002 must have a break at 10 for this test to mean anything"
    after_10, after_9 = table.next_break(10), table.next_break(9)
    assert after_10 and after_9 and after_9.min_qty == 10

    js_errors.watch(page)
    sign_in(page, *DEALER)
    badge = page.locator("#cart-badge")
    expect(badge).to_be_hidden()  # an empty cart

    sheet = open_sheet(page)
    qty = sheet.get_by_role("spinbutton", name="数量")
    unit, amount = sheet.locator("[data-unit-price]"), sheet.locator("[data-amount]")
    expect(qty).to_have_value("1")
    expect(unit).to_have_text(yuan(p1))
    qty.fill("9")
    expect(unit).to_have_text(yuan(p9))
    expect(amount).to_have_text(yuan(p9 * 9))
    expect(sheet.locator("[data-next-break]")).to_have_text(hint_text(1, p10))

    sheet.get_by_role("button", name="增加").click()  # 9 -> 10 crosses the break
    expect(qty).to_have_value("10")
    expect(unit).to_have_text(yuan(p10))
    expect(amount).to_have_text(yuan(p10 * 10))
    expect(sheet.locator("[data-next-break]")).to_have_text(
        hint_text(after_10.min_qty - 10, after_10.price)
    )
    expect(sheet.locator("tr.is-active")).to_have_attribute("data-min", "10")
    shoot(page, shots_dir, "sheet-break", full_page=False)

    # (A response header the server cannot send leaves this request hanging: wait for it.)
    with page.expect_response(
        lambda r: urlsplit(r.url).path == "/cart/add", timeout=5_000
    ) as added:
        sheet.get_by_role("button", name="加入购物车").click()
    assert added.value.ok, added.value.status
    expect(page.get_by_role("dialog")).to_have_count(0)  # the sheet closes
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    # The toast names the product and its units; the badge counts products (lines).
    expect(page.locator("#toast")).to_have_text(f"已加入购物车：{NAME} 共10箱（购物车共1种商品）")
    assert cart_lines(app) == {SKU: 10}

    tab(page, "购物车").click()
    page.wait_for_url("**/cart")
    line = page.locator(f'li.cart-line[data-sku="{SKU}"]')
    line_price, hint = line.locator("[data-line-price]"), line.locator(".break-hint")
    expect(line_price).to_have_text(yuan(p10))
    expect(hint).to_have_text(f"再加{after_10.min_qty - 10}箱享 {yuan(after_10.price)}")
    expect(page.locator("#cart-total")).to_have_text(yuan(p10 * 10))

    line.get_by_role("button", name="减少").click()  # 10 -> 9: back above the break price
    expect(line.get_by_role("spinbutton")).to_have_value("9")
    expect(line_price).to_have_text(yuan(p9))
    expect(hint).to_have_text(f"再加1箱享 {yuan(p10)}")
    expect(line.locator(".line-amount")).to_have_text(yuan(p9 * 9))
    expect(page.locator("#cart-total")).to_have_text(yuan(p9 * 9))
    expect(badge).to_have_text("1")
    assert cart_lines(app) == {SKU: 9}  # saved on the server, not only on the page
    shoot(page, shots_dir, "cart-repriced")

    page.get_by_role("link", name="去结算").click()
    page.wait_for_url("**/checkout")
    expect(page.locator(".summary-lines")).to_contain_text(f"{NAME} × 9箱")
    expect(page.locator("[data-payable]").first).to_have_text(yuan(p9 * 9))
    expect(page.locator("[data-after]")).to_have_text(yuan(40_000_00 - p9 * 9))
    shoot(page, shots_dir, "flow-checkout")

    page.get_by_role("button", name="提交订单").click()
    number = wait_for_order_page(page, js_errors)
    expect(page.locator(".flashes")).to_contain_text(f"订单 {number} 已提交")
    expect(page.locator("#order-status")).to_have_text("待审核")
    expect(timeline(page)).to_have_count(1)
    expect(timeline(page).first).to_contain_text("待审核")
    expect(page.locator(".summary-lines")).to_contain_text(f"{yuan(p9)} × 9箱")
    expect(badge).to_be_hidden()  # the order emptied the cart
    shoot(page, shots_dir, "placed")

    tab(page, "订单").click()
    page.wait_for_url("**/orders")
    chips = page.get_by_role("navigation", name="订单状态")
    expect(chips.get_by_role("link", name="全部")).to_have_class(re.compile(r"\bis-active\b"))
    listed = page.locator("li.order-card", has_text=number)
    expect(listed).to_have_count(1)
    expect(listed.locator(".pill")).to_have_text("待审核")
    expect(listed.locator(".price")).to_have_text(yuan(p9 * 9))

    chips.get_by_role("link", name="待审核").click()
    page.wait_for_url("**/orders?tab=pending")
    expect(page.locator("li.order-card", has_text=number)).to_have_count(1)
    chips.get_by_role("link", name="已取消").click()
    page.wait_for_url("**/orders?tab=cancelled")
    expect(page.locator("li.order-card")).to_have_count(0)  # the tabs really filter

    [order] = orders_of(app)
    assert (order.number, order.status, order.payable_amount) == (number, "submitted", p9 * 9)
    assert cart_lines(app) == {}
    js_errors.check()


def checkout_with(app, page, sign_in, lines: dict[str, int]):
    put_in_cart(app, lines)
    sign_in(page, *DEALER)
    page.goto("/checkout")
    expect(page.get_by_role("button", name="提交订单")).to_be_visible()
    return page.locator("form.checkout")


def test_double_click_on_submit_makes_one_order(demo, app, page, sign_in, js_errors):
    js_errors.watch(page)
    checkout_with(app, page, sign_in, {SKU: 3, OTHER: 2})
    page.get_by_role("button", name="提交订单").dblclick()
    wait_for_order_page(page, js_errors)
    expect(page.locator("#order-status")).to_have_text("待审核")
    page.wait_for_timeout(500)  # a second request, had one gone out, would land by now

    placed = orders_of(app)
    assert [o.number for o in placed] == [order_number(page)]
    assert debits(app) == 1
    assert funds(app) == -placed[0].payable_amount
    js_errors.check()


def test_resubmitting_the_same_checkout_form_makes_one_order(demo, app, page, sign_in, js_errors):
    """Two submissions of the rendered form at once (scripts bypassed), then a late retry."""
    js_errors.watch(page)
    form = checkout_with(app, page, sign_in, {SKU: 3, OTHER: 2})
    fields = form_fields(form)
    assert fields["key"]  # the idempotency key the page made when it was rendered

    answers = form.evaluate(
        """async (form) => {
             const send = () => fetch(form.action, {
               method: "POST", credentials: "same-origin",
               body: new URLSearchParams(new FormData(form)),
             });
             const answers = await Promise.all([send(), send()]);
             return answers.map((r) => ({status: r.status, url: r.url}));
           }"""
    )
    assert [a["status"] for a in answers] == [200, 200], answers
    paths = {urlsplit(a["url"]).path for a in answers}
    assert len(paths) == 1 and ORDER_URL.search(paths.pop()), answers
    placed = orders_of(app)
    assert len(placed) == 1, [o.number for o in placed]

    # Then the same form submitted for real, twice in a row, as a retrying browser would.
    form.evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
    assert wait_for_order_page(page, js_errors) == placed[0].number
    expect(page.locator("#order-status")).to_have_text("待审核")

    # And once more later, e.g. after going back on a flaky network.
    retry = page.request.post("/checkout", form=fields)
    assert retry.ok and urlsplit(retry.url).path == f"/orders/{placed[0].number}"

    assert len(orders_of(app)) == 1
    assert debits(app) == 1
    assert funds(app) == -placed[0].payable_amount
    js_errors.check()


def test_order_now_from_the_sheet_places_one_order(demo, app, page, sign_in, js_errors):
    table = price_table(app)
    js_errors.watch(page)
    sign_in(page, *DEALER)
    sheet = open_sheet(page)
    sheet.get_by_role("button", name="增加").click()  # 2 箱
    fields = form_fields(sheet.locator("form.order-form"))
    assert fields["qty"] == "2" and fields["key"]

    sheet.get_by_role("button", name="立即下单").click()  # one more tap
    number = wait_for_order_page(page, js_errors)
    expect(page.locator(".flashes")).to_contain_text(f"订单 {number} 已提交")
    expect(page.locator("#order-status")).to_have_text("待审核")
    expect(page.locator(".summary-lines")).to_contain_text(f"{yuan(table.unit_price(2))} × 2箱")
    assert cart_lines(app) == {}  # straight to an order, the cart untouched

    # The sheet is gone with the page; its second tap (a retry of the same form) finds the
    # same order instead of making another.
    again = page.request.post("/buy-now", form=fields, headers={"HX-Request": "true"})
    assert again.ok and again.headers.get("hx-redirect") == f"/orders/{number}"
    assert [o.number for o in orders_of(app)] == [number]

    # A double tap on a fresh sheet: the buttons are disabled while the first is on its way.
    page.goto("/catalog")
    sheet = open_sheet(page, OTHER, "冰爽柠檬茶 500ml")
    sheet.get_by_role("button", name="立即下单").dblclick()
    second = wait_for_order_page(page, js_errors)
    page.wait_for_timeout(500)
    assert second != number
    assert sorted(o.number for o in orders_of(app)) == sorted([number, second])
    assert debits(app) == 2
    js_errors.check()


def test_short_stock_names_the_line_and_what_is_available(
    demo, app, page, sign_in, js_errors, shots_dir
):
    js_errors.watch(page, allow_status=(409,))
    form = checkout_with(app, page, sign_in, {OTHER: 2, SKU: 8})
    set_on_hand(app, SKU, 5)  # someone else took the stock after the checkout was rendered

    with page.expect_navigation():
        form.get_by_role("button", name="提交订单").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("无糖乌龙茶 500ml：需要8箱，可用5箱")  # in Chinese, with units
    expect(alert).not_to_contain_text("Not enough")
    expect(alert).not_to_contain_text("冰爽柠檬茶")  # only the short line is named
    shoot(page, shots_dir, "short-stock")
    assert orders_of(app) == []
    assert stock(app, SKU) == (5, 0) and stock(app, OTHER)[1] == 0  # nothing reserved
    assert funds(app) == 0 and debits(app) == 0
    assert cart_lines(app) == {OTHER: 2, SKU: 8}  # the cart is kept to fix

    # Fix it in place: the cart says what is left, the dealer lowers the quantity, orders.
    alert.get_by_role("link", name="去购物车调整数量").click()
    page.wait_for_url("**/cart")
    line = page.locator(f'li.cart-line[data-sku="{SKU}"]')
    expect(line.locator(".alert")).to_have_text("库存仅剩5箱")
    line.get_by_role("spinbutton").fill("5")
    line.get_by_role("spinbutton").press("Enter")
    expect(line.locator(".alert")).to_have_count(0)
    page.get_by_role("link", name="去结算").click()
    page.get_by_role("button", name="提交订单").click()
    wait_for_order_page(page, js_errors)
    assert len(orders_of(app)) == 1 and stock(app, SKU) == (5, 5)
    js_errors.check()


def test_reorder_fills_the_cart_fitted_to_todays_stock(
    demo, app, page, sign_in, js_errors, shots_dir
):
    number, _payable = place(app, {SKU: 12, OTHER: 3})
    on_hand, reserved = stock(app, SKU)
    assert reserved == 12
    set_on_hand(app, SKU, reserved + 7)  # only 7 left to order today

    js_errors.watch(page)
    sign_in(page, *DEALER)
    page.goto(f"/orders/{number}")
    page.get_by_role("button", name="再来一单").click()
    page.wait_for_url("**/cart")
    flashes = page.locator(".flashes")
    expect(flashes).to_contain_text("已将该订单的商品加入购物车。")
    expect(flashes).to_contain_text(f"{NAME}：库存仅 7，已由 12 调整。")
    expect(page.locator(f'li.cart-line[data-sku="{SKU}"]').get_by_role("spinbutton")).to_have_value(
        "7"
    )
    expect(
        page.locator(f'li.cart-line[data-sku="{OTHER}"]').get_by_role("spinbutton")
    ).to_have_value("3")
    expect(page.locator("#cart-badge")).to_have_text("2")
    shoot(page, shots_dir, "reorder-cart")
    assert cart_lines(app) == {SKU: 7, OTHER: 3}
    assert len(orders_of(app)) == 1  # reordering fills the cart; it places nothing
    js_errors.check()


def test_cancel_while_waiting_for_review_returns_stock_and_funds(
    demo, app, page, sign_in, js_errors, shots_dir
):
    on_hand, _ = stock(app, SKU)
    number, payable = place(app, {SKU: 10})
    assert stock(app, SKU) == (on_hand, 10) and funds(app) == -payable

    js_errors.watch(page)
    sign_in(page, *DEALER)
    page.goto(f"/orders/{number}")
    cancel = page.get_by_role("button", name="取消订单")

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    cancel.click()
    page.wait_for_timeout(300)
    assert asked == ["确定取消这个订单吗？"]
    assert order_status(app, number) == "submitted"  # "no" keeps the order

    page.on("dialog", lambda d: d.accept())
    with page.expect_navigation():
        cancel.click()
    expect(page.locator(".flashes")).to_contain_text("订单已取消，库存和货款已退回。")
    expect(page.locator("#order-status")).to_have_text("已取消")
    expect(timeline(page)).to_have_count(2)
    expect(timeline(page).first).to_contain_text("已取消")
    expect(timeline(page).first).to_have_class(re.compile(r"\bis-latest\b"))
    expect(timeline(page).nth(1)).to_contain_text("待审核")
    expect(cancel).to_have_count(0)  # nothing left to cancel
    shoot(page, shots_dir, "cancelled")

    assert order_status(app, number) == "cancelled"
    assert stock(app, SKU) == (on_hand, 0)
    assert funds(app) == 0
    js_errors.check()


def test_hq_approves_and_rejects_on_a_phone(demo, app, new_context, sign_in, js_errors, shots_dir):
    first, first_payable = place(app, {SKU: 10})
    second, _ = place(app, {OTHER: 4})
    admin = js_errors.watch(new_context().new_page(), allow_status=(422,))
    dealer = js_errors.watch(new_context().new_page())
    sign_in(admin, *ADMIN)
    sign_in(dealer, *DEALER)

    admin.goto("/admin/")
    queue_card = admin.get_by_role("link", name=re.compile("笔订单待审核"))
    expect(queue_card).to_contain_text("2")
    expect(queue_card).to_contain_text("最早已等")
    queue_card.click()
    admin.wait_for_url("**/admin/orders")
    cards = admin.locator("li.order-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text(first)  # oldest first
    expect(cards.first.locator(".pill-age")).to_have_text(re.compile(r"^已等 \S+"))
    expect(cards.first).to_contain_text("广州天河粤丰食品批发部")
    shoot(admin, shots_dir, "desk-queue")

    cards.first.click()
    admin.wait_for_url(f"**/admin/orders/{first}")
    expect(admin.locator("#order-status")).to_have_text("待审核")
    expect(admin.locator(".spec", has_text="已等")).to_be_visible()
    shoot(admin, shots_dir, "desk-order")
    admin.get_by_role("button", name="审核通过").click()
    admin.wait_for_url("**/admin/orders")
    expect(admin.locator(".flashes")).to_contain_text(f"{first} · 已审核通过")
    expect(admin.locator("li.order-card")).to_have_count(1)
    assert order_status(app, first) == "approved"

    dealer.goto(f"/orders/{first}")
    expect(dealer.locator("#order-status")).to_have_text("待发货")
    expect(timeline(dealer).first).to_contain_text("待发货")
    expect(timeline(dealer).first).to_contain_text("总部管理员")  # who, and when
    expect(dealer.get_by_role("button", name="取消订单")).to_have_count(0)

    # Rejecting needs a reason: the browser will not send an empty one ...
    admin.locator("li.order-card", has_text=second).click()
    admin.wait_for_url(f"**/admin/orders/{second}")
    reason = admin.get_by_role("textbox", name="驳回原因")
    reject = admin.get_by_role("button", name="驳回")
    reject.click()
    admin.wait_for_timeout(300)
    assert urlsplit(admin.url).path == f"/admin/orders/{second}"
    assert reason.evaluate("el => el.validity.valueMissing")
    assert order_status(app, second) == "submitted"
    # ... and the server refuses one sent anyway (an old browser, a script), inline.
    admin.locator("form", has=reject).evaluate("f => { f.noValidate = true; }")
    with admin.expect_navigation() as refused:
        reject.click()
    assert refused.value.status == 422
    expect(admin.get_by_role("alert")).to_be_visible()
    expect(admin.get_by_role("alert")).not_to_be_empty()
    expect(admin.locator("#order-status")).to_have_text("待审核")
    shoot(admin, shots_dir, "admin-reject-refused")
    assert order_status(app, second) == "submitted"

    reason.fill("价格有误，请重新下单")
    reject.click()
    admin.wait_for_url("**/admin/orders")
    expect(admin.locator(".flashes")).to_contain_text(f"{second} · 已驳回")
    expect(admin.locator("li.order-card")).to_have_count(0)

    dealer.goto(f"/orders/{second}")
    expect(dealer.locator("#order-status")).to_have_text("已驳回")
    expect(timeline(dealer).first).to_contain_text("已驳回")
    expect(timeline(dealer).first.locator(".reason")).to_have_text("原因: 价格有误，请重新下单")
    shoot(dealer, shots_dir, "rejected")
    assert order_status(app, second) == "rejected"
    assert funds(app) == -first_payable  # the rejected order's money went back
    js_errors.check()


def test_ordering_pages_fit_a_phone(demo, app, new_context, sign_in, js_errors, shots_dir):
    long = "ALC-009"  # a GOLD-only product with a long name
    number, _ = place(app, {long: 2, SKU: 10, OTHER: 1})
    put_in_cart(app, {long: 1, SKU: 12})
    page = js_errors.watch(new_context().new_page())
    sign_in(page, *DEALER)

    with app.app_context():
        long_name = products_svc.product_by_sku(long).name
    page.goto(f"/catalog?q={long}")
    open_sheet(page, long, long_name)
    assert_fits(page, shots_dir, "sheet")
    for path, ready, shot in [
        ("/cart", "li.cart-line", "cart"),
        ("/checkout", "#submit-order", "checkout"),
        ("/orders", "li.order-card", "orders"),
        (f"/orders/{number}", "ol.timeline", "order"),
    ]:
        assert page.goto(path).ok, path
        expect(page.locator(ready).first).to_be_visible()
        assert_fits(page, shots_dir, shot)

    admin = js_errors.watch(new_context().new_page())
    sign_in(admin, *ADMIN)
    for path, ready, shot in [
        ("/admin/orders", "li.order-card", "admin-queue"),
        (f"/admin/orders/{number}", "#approve", "admin-order"),
    ]:
        assert admin.goto(path).ok, path
        expect(admin.locator(ready).first).to_be_visible()
        assert_fits(admin, shots_dir, shot)
    js_errors.check()
