"""HQ products in a real browser, on a phone (390×844) and a laptop (1280×800): edit a price
table and see the dealer's catalog price change; upload a product image and see it on the
dealer's card; an order-desk user reads products but cannot reach the price pages."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from app.extensions import db
from app.services import staff
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

ADMIN = ("admin", "admin1234")
DEALER = ("sh001", "demo1234")  # GOLD, no table of its own for DRK-002
DESK = ("desk-b", "desk-pass-1")  # an order-desk user of this test's own
LAPTOP = {
    "viewport": {"width": 1280, "height": 800},
    "is_mobile": False,
    "has_touch": False,
    "device_scale_factor": 1,
}
SCREENS = {"phone": {}, "laptop": LAPTOP}


@pytest.fixture(params=sorted(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "products"
    folder.mkdir(exist_ok=True)
    return folder


def shot(page, path) -> None:
    page.screenshot(path=str(path), animations="disabled", full_page=True)


def fits(page) -> None:
    """No sideways scrolling and nothing sticking out, whatever the width."""
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"], found
    assert not found["offenders"], found


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (20, 140, 90)).save(out, "JPEG")
    return out.getvalue()


def test_an_edited_price_table_changes_the_dealers_price(
    demo, new_context, sign_in, screen, shots, js_errors
):
    hq = new_context(**SCREENS[screen]).new_page()
    js_errors.watch(hq)
    sign_in(hq, *ADMIN)
    hq.goto("/admin/products?q=DRK-002")
    fits(hq)
    hq.locator("#row-DRK-002 .pt-name a").click()
    hq.wait_for_url("**/admin/products/DRK-002")
    hq.locator("#prices-link").click()
    hq.wait_for_url("**/admin/products/DRK-002/prices")
    gold = hq.locator("#table-tier-GOLD")
    first_price = gold.locator("input[name^='p_']").first
    expect(first_price).to_have_value("45.76")
    fits(hq)
    first_price.fill("33.30")
    shot(hq, shots / f"prices-edited-{screen}.png")
    with hq.expect_navigation():
        hq.locator("#save-prices").click()
    expect(hq.locator(".flashes")).to_contain_text("DRK-002 的价格已保存")
    expect(hq.locator("#table-tier-GOLD input[name^='p_']").first).to_have_value("33.30")

    hq.locator("#why-dealer").fill("SH001")
    hq.locator("#why-qty").fill("1")
    with hq.expect_navigation():
        hq.locator("#why-submit").click()
    result = hq.locator("#why-result")
    expect(result).to_contain_text("等级价格表 GOLD")
    expect(result.locator(".price")).to_have_text("¥33.30")
    expect(hq.locator("#table-tier-GOLD")).to_have_class(re.compile(r"\bis-winning\b"))
    fits(hq)
    shot(hq, shots / f"prices-why-{screen}.png")

    dealer = new_context(**SCREENS[screen]).new_page()
    js_errors.watch(dealer)
    sign_in(dealer, *DEALER)
    dealer.goto("/catalog?q=DRK-002")
    expect(dealer.locator("#p-DRK-002 .price")).to_have_text("¥33.30")
    js_errors.check()


def test_an_uploaded_image_shows_on_the_dealers_card(
    demo, new_context, sign_in, screen, shots, js_errors
):
    hq = new_context(**SCREENS[screen]).new_page()
    js_errors.watch(hq)
    sign_in(hq, *ADMIN)
    hq.goto("/admin/products/DRK-002")
    hq.locator("#image-file").set_input_files(
        {"name": "柠檬茶.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    with hq.expect_navigation():
        hq.locator("#upload-image").click()
    expect(hq.locator(".flashes")).to_contain_text("DRK-002")
    shown = hq.locator("img.pa-photo")
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 800
    fits(hq)
    shot(hq, shots / f"product-image-{screen}.png")

    dealer = new_context(**SCREENS[screen]).new_page()
    js_errors.watch(dealer)
    sign_in(dealer, *DEALER)
    dealer.goto("/catalog?q=DRK-00")
    thumb = dealer.locator("#p-DRK-002 img.thumb")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 160
    expect(dealer.locator("#p-DRK-001 span.thumb")).to_have_text("饮")  # no image: the initial
    fits(dealer)
    shot(dealer, shots / f"dealer-card-image-{screen}.png")
    js_errors.check()


@pytest.fixture
def desk_user(demo):
    staff.create_staff(None, DESK[0], DESK[1], "order_desk", "订单审核员")
    db.session.remove()


def test_order_desk_reads_products_but_cannot_reach_the_price_pages(
    demo, desk_user, new_context, sign_in, screen, shots, js_errors
):
    page = new_context(**SCREENS[screen]).new_page()
    js_errors.watch(page, allow_status=(403,))
    sign_in(page, *DESK)
    page.goto("/admin/products?q=DRK-002")
    expect(page.locator("#row-DRK-002")).to_be_visible()
    expect(page.locator("#new-product")).to_have_count(0)
    expect(page.locator("[data-toggle]")).to_have_count(0)
    page.locator("#row-DRK-002 .pt-name a").click()
    page.wait_for_url("**/admin/products/DRK-002")
    expect(page.locator("#stock-link")).to_be_visible()
    expect(page.locator("#prices-link")).to_have_count(0)
    expect(page.locator("a[href*='/prices']")).to_have_count(0)
    expect(page.locator("#edit")).to_have_count(0)
    fits(page)

    response = page.goto("/admin/products/DRK-002/prices")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("您无权访问此页面")
    fits(page)
    shot(page, shots / f"desk-prices-403-{screen}.png")
    js_errors.check()
