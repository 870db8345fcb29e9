"""The order desk on a phone: HQ places an order for a dealer (代客下单) that the dealer then
finds on their own order list as placed by HQ, and approves two orders in one batch from the
list; the desk is a table on a laptop."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import StockLevel, User
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

DEALER = ("gz001", "demo1234")  # 广州天河粤丰食品批发部, GOLD: ¥40,000 credit, no funds
ADMIN = ("admin", "admin1234")  # 总部管理员
DEALER_NAME = "广州天河粤丰食品批发部"
SKU = "DRK-002"  # 无糖乌龙茶 500ml: 箱, MOQ 1


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def stock(app, sku: str) -> tuple[int, int]:
    with app.app_context():
        level = db.session.get(StockLevel, products_svc.product_by_sku(sku).id)
        return level.on_hand, level.reserved


def funds(app, username: str = DEALER[0]) -> int:
    with app.app_context():
        return wallet_svc.balances(user_named(username).dealer_id)["funds"]


def status(app, number: str) -> str:
    with app.app_context():
        return orders_svc.order_for_admin(number).status


def placed(app, username: str = DEALER[0]) -> str:
    with app.app_context():
        return orders_svc.place_order(user_named(username), [LineRequest(SKU, 2)]).number


def assert_fits(page, shots, name: str, width: int = 390) -> None:
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True, animations="disabled")
    found = page.evaluate(OVERFLOW_JS)
    assert found["innerWidth"] == found["clientWidth"] == width, (name, page.url, found)
    assert not found["offenders"], (name, found["offenders"])


def test_hq_places_an_order_for_a_dealer_who_sees_it_as_placed_by_hq(
    demo, app, new_context, sign_in, js_errors, shots_dir
):
    on_hand, reserved = stock(app, SKU)
    admin = js_errors.watch(new_context().new_page())
    sign_in(admin, *ADMIN)

    admin.goto("/admin/order-for")
    admin.get_by_role("searchbox").fill("粤丰")
    admin.get_by_role("button", name="搜索").click()
    admin.get_by_role("link", name=re.compile(DEALER_NAME)).click()
    admin.wait_for_url("**/admin/order-for/GZ001")
    expect(admin.locator(".proxy-head")).to_contain_text("¥40,000.00")  # what it may spend
    assert_fits(admin, shots_dir, "proxy-empty")

    admin.get_by_role("searchbox").fill("乌龙")
    admin.get_by_role("button", name="搜索").click()
    result = admin.locator(f"#result-{SKU}")
    expect(result).to_contain_text("无糖乌龙茶")
    result.get_by_role("spinbutton").fill("12")
    result.get_by_role("button", name="添加").click()
    line = admin.locator(f"#line-{SKU}")
    expect(line).to_contain_text("无糖乌龙茶")
    expect(line.get_by_role("textbox")).to_have_value("12")
    amount = line.locator(".line-amount").inner_text()
    assert amount.startswith("¥")
    admin.get_by_label("备注").fill("电话订货，周五前送到")
    assert_fits(admin, shots_dir, "proxy-draft")

    admin.get_by_role("button", name="代经销商提交订单").click()
    admin.wait_for_url(re.compile(r"/admin/orders/SO\d+$"))
    number = admin.url.rsplit("/", 1)[-1]
    expect(admin.locator(".flashes")).to_contain_text(f"已为 {DEALER_NAME} 下单 {number}")
    expect(admin.locator("ol.timeline li").first).to_contain_text("总部 总部管理员 代下单")
    expect(admin.locator("#facts")).to_contain_text("由总部 总部管理员 代经销商下单")
    assert_fits(admin, shots_dir, "proxy-placed")
    assert stock(app, SKU) == (on_hand, reserved + 12)
    assert funds(app) == -int(amount.replace("¥", "").replace(",", "").replace(".", ""))

    dealer = js_errors.watch(new_context().new_page())
    sign_in(dealer, *DEALER)
    dealer.goto("/orders")
    card = dealer.locator("li.order-card", has_text=number)
    expect(card).to_be_visible()
    card.click()
    dealer.wait_for_url(f"**/orders/{number}")
    expect(dealer.locator("#order-status")).to_have_text("待审核")
    first_event = dealer.locator("ol.timeline li").first
    expect(first_event).to_contain_text("总部 总部管理员 代下单")
    expect(dealer.locator("#main")).to_contain_text("电话订货，周五前送到")
    assert_fits(dealer, shots_dir, "proxy-dealer-order")
    js_errors.check()


def test_hq_approves_two_orders_in_one_batch_from_the_list(
    demo, app, new_context, sign_in, js_errors, shots_dir
):
    first, second, third = placed(app), placed(app), placed(app)
    admin = js_errors.watch(new_context().new_page())
    sign_in(admin, *ADMIN)

    admin.goto("/admin/orders")
    cards = admin.locator("li.order-card")
    expect(cards).to_have_count(3)
    expect(admin.locator(".desk-tabs .is-active")).to_contain_text("待审核3")
    admin.get_by_role("checkbox", name=f"选择 {first}").check()
    admin.get_by_role("checkbox", name=f"选择 {third}").check()
    assert_fits(admin, shots_dir, "desk-batch")
    admin.get_by_role("button", name="批量审核").click()
    admin.wait_for_url("**/admin/orders")

    expect(admin.locator(".flashes")).to_contain_text("已审核 2 笔")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(second)
    assert [status(app, n) for n in (first, second, third)] == ["approved", "submitted", "approved"]

    admin.get_by_role("link", name=re.compile("^已审核")).click()
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text(third)  # newest first outside the queue

    laptop = js_errors.watch(
        new_context(viewport={"width": 1280, "height": 800}, is_mobile=False).new_page()
    )
    sign_in(laptop, *ADMIN)
    laptop.goto("/admin/orders?status=all")
    expect(laptop.locator(".desk-head")).to_be_visible()  # a table with its header row
    row = laptop.locator("li.order-card", has_text=second)
    for column in (".col-no", ".col-dealer", ".col-items", ".col-when", ".col-status"):
        head_x = laptop.locator(f".desk-head {column}").bounding_box()["x"]
        assert abs(row.locator(column).bounding_box()["x"] - head_x) < 2, column  # lined up
    row.get_by_role("button", name="审核通过").click()
    laptop.wait_for_url("**/admin/orders?status=all*")
    expect(laptop.locator(".flashes")).to_contain_text(f"{second} · 已审核通过")
    assert status(app, second) == "approved"
    assert_fits(laptop, shots_dir, "desk-laptop", width=1280)
    js_errors.check()
