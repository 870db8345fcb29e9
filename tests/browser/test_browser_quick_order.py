"""Dealer power tools in Chromium at 390×844: paste a list into 快速下单 and add what fits,
order a preview at once, and add from 常购清单 in one tap."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import demo as demo_module
from app.extensions import db
from app.models import User
from app.services import cart
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

# Ten lines as a dealer copies them from a chat or a sheet, three of them with a problem.
TEN_LINES = "\n".join(
    [
        "DRK-001\t2",
        "DRK-002，３",  # full-width comma and digit
        "DRK-003 1",  # below the minimum (2): rounded up
        "DRK-0O5 1",  # unknown (a letter O): close SKUs offered
        "DAI-001 2",
        "DRK-005 1",
        "drk-001 1",  # named twice: merged with line 1
        "DRK-006 1",
        "DRK-007 1",
        "DRK-008 1",
    ]
)


def buyer(app, username: str = "sh001") -> User:
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def preview_paste(page, lines: str) -> None:
    """Open 快速下单, paste `lines` and tap 预览 (a plain form post)."""
    page.goto("/quick-order")
    page.fill("textarea[name=lines]", lines)
    with page.expect_navigation():
        page.locator("#quick-preview").click()


def no_overflow(page) -> None:
    sizes = page.evaluate(OVERFLOW_JS)
    assert sizes["scrollWidth"] <= sizes["clientWidth"] and not sizes["offenders"], sizes


def test_paste_ten_lines_with_three_problems_and_add_the_rest(
    demo, app, page, sign_in, js_errors, shots_dir
):
    js_errors.watch(page)
    sign_in(page, "sh001", "demo1234")
    page.goto("/cart")
    page.locator("#quick-order-link").click()
    page.fill("textarea[name=lines]", TEN_LINES)
    with page.expect_navigation():
        page.locator("form[action='/quick-order'] [type=submit]").click()

    lines = page.locator("#quick-lines-preview > li")
    expect(lines).to_have_count(9)  # ten lines, two of them merged
    expect(page.locator("[data-sku='DRK-003']")).to_contain_text("调整为 2")
    unknown = page.locator("[data-sku='DRK-0O5']")
    expect(unknown).to_contain_text("没有这个商品编码")
    expect(unknown).to_contain_text("DRK-005")
    expect(page.locator("[data-sku='DRK-001']")).to_contain_text("已合并")
    no_overflow(page)
    page.screenshot(path=str(shots_dir / "quick-order-preview.png"), full_page=True)

    add = page.locator("#quick-add-all")
    expect(add).to_have_text(re.compile("8"))
    with page.expect_navigation():
        add.click()
    assert page.url.endswith("/cart")
    expect(page.locator(".flashes")).to_contain_text("已将 8 种商品加入购物车")
    with app.app_context():
        view, _ = cart.view(buyer(app))
        in_cart = {line.product.sku: line.qty for line in view.lines}
    assert in_cart["DRK-001"] == 3 and in_cart["DRK-002"] == 3 and in_cart["DRK-003"] == 2
    assert "DRK-0O5" not in in_cart and len(in_cart) == 8
    # The cart shows what the preview priced: the same services made both.
    page.screenshot(path=str(shots_dir / "quick-order-cart.png"))
    assert js_errors.seen == []


def test_a_preview_ordered_at_once_becomes_one_order(demo, app, page, sign_in, js_errors):
    js_errors.watch(page)
    sign_in(page, "sh001", "demo1234")
    preview_paste(page, "DRK-001 2\nDAI-001 2")
    with page.expect_navigation():
        page.locator("#quick-order-now").click()
    assert re.search(r"/orders/[^/]+$", page.url), page.url
    expect(page.locator(".flashes")).to_contain_text("已提交")
    expect(page.locator("main")).to_contain_text("DRK-001")
    no_overflow(page)
    assert js_errors.seen == []


def test_add_from_the_usual_list_in_one_tap_and_pin_a_product(
    demo, app, page, sign_in, js_errors, shots_dir
):
    with app.app_context():
        assert demo_module.load_demo_history() > 0  # orders placed through the services
        db.session.remove()
    js_errors.watch(page)
    sign_in(page, "sh001", "demo1234")
    page.goto("/me")
    with page.expect_navigation():
        page.locator("#usual-row").click()
    rows = page.locator("#usual-list > li.usual-row")
    expect(rows.first).to_be_visible()
    no_overflow(page)
    page.screenshot(path=str(shots_dir / "usual-list.png"), full_page=True)

    row = rows.filter(has=page.locator("button.usual-add:enabled")).first
    sku = row.get_attribute("data-sku")
    last = int(re.search(r"上次\s*(\d+)", row.locator("[data-last]").inner_text())[1])
    row.locator("button.usual-add").click()
    expect(page.locator(f"#u-{sku} .usual-note")).to_contain_text("加入购物车")
    expect(page.locator(".tabbar .tab").nth(1)).to_contain_text("1")
    with app.app_context():
        view, _ = cart.view(buyer(app))
        in_cart = {line.product.sku: line.qty for line in view.lines}
    assert set(in_cart) == {sku} and in_cart[sku] >= 1
    # Last time's quantity, unless today's pack rules or stock made it another: then it said so.
    if in_cart[sku] != last:
        expect(page.locator(f"#u-{sku} .usual-note")).to_contain_text("上次")

    # Pin a product never ordered from its page: it heads the list.
    page.goto("/catalog/PAP-002")
    with page.expect_navigation():
        page.locator("#pin-product").click()
    page.goto("/usual")
    expect(rows.first).to_have_attribute("data-sku", "PAP-002")
    expect(rows.first).to_contain_text("已置顶")
    assert js_errors.seen == []


def test_an_unknown_sku_is_fixed_with_one_tap_on_a_close_one(demo, page, sign_in, js_errors):
    js_errors.watch(page)
    sign_in(page, "sh001", "demo1234")
    preview_paste(page, "DRK-0O5 1\nDRK-001 2")
    expect(page.locator("#quick-add-all")).to_have_text(re.compile("1"))
    with page.expect_navigation():
        page.get_by_role("button", name="换成 DRK-005").click()
    expect(page.locator("[data-sku='DRK-005']")).to_contain_text("椰子汁")
    expect(page.locator("#quick-add-all")).to_have_text(re.compile("2"))
    expect(page.locator("textarea[name=lines]")).to_have_value("DRK-005 1\nDRK-001 2")
    no_overflow(page)
    assert js_errors.seen == []


def test_quick_order_works_without_javascript(demo, app, new_context, login):
    page = new_context(java_script_enabled=False).new_page()
    login(page, "sh001", "demo1234")
    preview_paste(page, "DRK-001 2\nDRK-0O5 1")
    with page.expect_navigation():
        page.get_by_role("button", name="换成 DRK-005").click()  # a plain submit button
    expect(page.locator("[data-sku='DRK-005']")).to_be_visible()
    with page.expect_navigation():
        page.locator("#quick-add-all").click()
    assert page.url.endswith("/cart")
    with app.app_context():
        view, _ = cart.view(buyer(app))
        assert {line.product.sku: line.qty for line in view.lines} == {"DRK-001": 2, "DRK-005": 1}
