"""公告 on a phone: HQ publishes to the GOLD tier; a GOLD dealer sees it unread (the catalog
strip, the badge on 我的), opens it, and the badge is gone; HQ then sees it read. Plus HQ's
list on a laptop, and the dealer's pages without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")  # 广州天河粤丰食品批发部, GOLD
SILVER_DEALER = ("bj001", "demo1234")
ADMIN = ("admin", "admin1234")
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
TITLE = "春节期间发货安排"
BODY = "各位经销商：\n2月8日至2月17日放假，期间订单节后发货。\n详见 https://example.com/cny"


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "announcements"
    folder.mkdir(exist_ok=True)
    return folder


def shot(page, path) -> None:
    page.screenshot(path=str(path), animations="disabled", full_page=True)


def no_overflow(page, width: int = 390) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == width, found
    assert not found["offenders"], found


def publish_to_gold(hq, shots) -> None:
    """公告 → 写公告: title, text with line breaks, the GOLD tier only, publish now."""
    hq.goto("/admin/announcements")
    hq.get_by_role("link", name="写公告").click()
    hq.wait_for_url("**/admin/announcements/new")
    hq.get_by_label("标题").fill(TITLE)
    hq.get_by_label("正文").fill(BODY)
    hq.get_by_label("下面选中等级的经销商").check()
    hq.get_by_label(re.compile(r"金牌\s+GOLD")).check()
    expect(hq.get_by_label("立即发布")).to_be_checked()
    no_overflow(hq)
    shot(hq, shots / "hq-new.png")
    with hq.expect_navigation():
        hq.get_by_role("button", name="发布").click()
    expect(hq.locator(".flashes")).to_contain_text("已发布：2 家经销商现在即可阅读。")
    expect(hq.locator("#readers")).to_contain_text("已读 0/2")
    no_overflow(hq)
    shot(hq, shots / "hq-published.png")


def test_hq_publishes_and_a_dealer_sees_it_unread_then_read(
    demo, page, new_context, sign_in, shots, js_errors
):
    hq = new_context().new_page()
    js_errors.watch(hq)
    sign_in(hq, *ADMIN)
    publish_to_gold(hq, shots)

    js_errors.watch(page)
    sign_in(page, *DEALER)
    page.goto("/catalog")
    strip = page.locator("#announcement-strip")
    expect(strip).to_have_text(re.compile(r"1 条新公告"))
    assert strip.bounding_box()["height"] >= 44
    no_overflow(page)
    shot(page, shots / "catalog-strip.png")

    page.get_by_role("link", name="我的").click()
    page.wait_for_url("**/me")
    expect(page.locator("#announcements-unread")).to_have_text("1")
    shot(page, shots / "me-unread.png")
    page.locator("#announcements-row").click()
    page.wait_for_url("**/announcements")
    card = page.locator("li.ann-item").first
    expect(card).to_have_class(re.compile(r"\bis-unread\b"))
    expect(card).to_contain_text(TITLE)
    no_overflow(page)
    shot(page, shots / "list-unread.png")

    card.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/announcements/\d+$"))
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    body = page.locator("#announcement-body")
    expect(body).to_contain_text("期间订单节后发货。")
    assert body.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"
    expect(body.get_by_role("link", name="https://example.com/cny")).to_have_attribute(
        "rel", re.compile("noopener")
    )
    no_overflow(page)
    shot(page, shots / "article.png")

    page.get_by_role("link", name="返回").click()
    page.wait_for_url("**/announcements")
    expect(page.locator("li.ann-item.is-unread")).to_have_count(0)
    page.get_by_role("link", name="返回").click()
    page.wait_for_url("**/me")
    expect(page.locator("#announcements-unread")).to_have_count(0)
    shot(page, shots / "me-read.png")
    page.goto("/catalog")
    expect(page.locator("#announcement-strip")).to_have_count(0)

    hq.goto("/admin/announcements")
    expect(hq.locator("li.ann-card").first).to_contain_text("已读 1/2")
    hq.locator("li.ann-card").first.get_by_role("link").click()
    reader = hq.locator("li.ann-reader", has_text="广州天河粤丰食品批发部")
    expect(reader.locator(".pill")).to_have_text("已读")
    js_errors.check()


def test_a_dealer_of_another_tier_sees_nothing(demo, page, new_context, sign_in, shots):
    hq = new_context().new_page()
    sign_in(hq, *ADMIN)
    publish_to_gold(hq, shots)
    sign_in(page, *SILVER_DEALER)
    page.goto("/catalog")
    expect(page.locator("#announcement-strip")).to_have_count(0)
    page.goto("/announcements")
    expect(page.locator("li.ann-item")).to_have_count(0)


def test_hq_list_on_a_laptop(demo, new_context, sign_in, shots, js_errors):
    hq = new_context().new_page()
    sign_in(hq, *ADMIN)
    publish_to_gold(hq, shots)
    laptop = new_context(**LAPTOP).new_page()
    js_errors.watch(laptop)
    sign_in(laptop, *ADMIN)
    laptop.goto("/admin/announcements")
    card = laptop.locator("li.ann-card").first
    expect(card).to_contain_text(TITLE)
    expect(card).to_contain_text("已发布")
    expect(card).to_contain_text("金牌")
    expect(card).to_contain_text("已读 0/2")
    no_overflow(laptop, 1280)
    shot(laptop, shots / "hq-list-1280.png")
    card.get_by_role("link").click()
    laptop.wait_for_url(re.compile(r".*/admin/announcements/\d+$"))
    no_overflow(laptop, 1280)
    shot(laptop, shots / "hq-detail-1280.png")
    js_errors.check()


def test_the_dealer_pages_work_without_javascript(demo, new_context, sign_in, shots):
    hq = new_context().new_page()
    sign_in(hq, *ADMIN)
    publish_to_gold(hq, shots)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, *DEALER)
    page.goto("/me")
    page.locator("#announcements-row").click()
    page.locator("li.ann-item").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    page.goto("/me")
    expect(page.locator("#announcements-unread")).to_have_count(0)
