"""经销商 on a phone and on a laptop: HQ creates a dealer, adds a login whose password is made
up and shown once, and that user then logs in and sees the catalog. The list is cards on a
phone and a table on a laptop, and no page scrolls sideways."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

ADMIN = ("admin", "admin1234")
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
SIZES = {"phone": ({}, 390), "laptop": (LAPTOP, 1280)}


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "dealers"
    folder.mkdir(exist_ok=True)
    return folder


def shot(page, path) -> None:
    page.screenshot(path=str(path), animations="disabled", full_page=True)


def no_overflow(page, width: int) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == width, found
    assert not found["offenders"], found


def create_dealer(hq, shots, size: str, width: int) -> None:
    """经销商 → 新增经销商: every field, then 创建经销商."""
    hq.goto("/admin/dealers")
    hq.get_by_role("link", name="新增经销商").click()
    hq.wait_for_url("**/admin/dealers/new")
    hq.get_by_label("经销商编码", exact=True).fill("HZ001")
    hq.get_by_label("名称", exact=True).fill("杭州西湖百味商行")
    hq.get_by_label("等级", exact=True).select_option("GOLD")
    hq.get_by_label("区域", exact=True).fill("华东·杭州")
    hq.get_by_label("信用额度（元）", exact=True).fill("20,000")
    hq.get_by_label("联系人", exact=True).fill("钱塘")
    hq.get_by_label("电话", exact=True).fill("13757180009")
    hq.get_by_label("地址", exact=True).fill("杭州市西湖区文三路 90 号 1 号仓")
    no_overflow(hq, width)
    shot(hq, shots / f"{size}-new.png")
    with hq.expect_navigation():
        hq.get_by_role("button", name="创建经销商").click()
    expect(hq.locator(".flashes")).to_contain_text("已创建 HZ001")
    expect(hq.locator("#facts")).to_contain_text("钱塘")
    expect(hq.locator("#wallet")).to_contain_text("¥20,000.00")


def add_login(hq, shots, size: str, width: int) -> str:
    """添加登录账号 with the password left empty: the made-up one is shown once."""
    add = hq.locator("#add-user")
    expect(add).to_have_attribute("open", "")  # a dealer without logins opens the form
    hq.get_by_label("用户名", exact=True).fill("hz001")
    hq.get_by_label("姓名", exact=True).fill("钱小姐")
    with hq.expect_navigation():
        hq.get_by_role("button", name="添加账号").click()
    shown = hq.locator("#shown-password")
    expect(shown).to_have_text(re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$"))
    expect(hq.locator("#users")).to_contain_text("钱小姐")
    no_overflow(hq, width)
    shot(hq, shots / f"{size}-dealer.png")
    return shown.inner_text()


@pytest.mark.parametrize("size", list(SIZES))
def test_hq_creates_a_dealer_with_a_login_who_then_sees_the_catalog(
    demo, new_context, sign_in, login, shots, js_errors, size
):
    options, width = SIZES[size]
    hq = js_errors.watch(new_context(**options).new_page())
    sign_in(hq, *ADMIN)
    create_dealer(hq, shots, size, width)
    password = add_login(hq, shots, size, width)

    buyer = js_errors.watch(new_context(**options).new_page())
    login(buyer, "hz001", password)
    buyer.wait_for_url("**/catalog")
    expect(buyer.locator(".product-card").first).to_be_visible()
    assert buyer.locator(".product-card").count() >= 10
    no_overflow(buyer, width)
    shot(buyer, shots / f"{size}-catalog-as-new-dealer.png")

    hq.goto("/admin/dealers?q=杭州")
    rows = hq.locator("tr.dl-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("杭州西湖百味商行")
    expect(rows.first).to_contain_text("金牌")
    # A table with its header on a laptop; cards without one on a phone.
    expect(hq.locator(".dl-table thead")).to_be_visible(visible=size == "laptop")
    no_overflow(hq, width)
    shot(hq, shots / f"{size}-list-search.png")
    js_errors.check()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_dealer_list_and_a_busy_dealer_page_fit_the_screen(
    demo, new_context, sign_in, shots, js_errors, size
):
    options, width = SIZES[size]
    hq = js_errors.watch(new_context(**options).new_page())
    sign_in(hq, *ADMIN)
    hq.goto("/admin/dealers")
    expect(hq.locator("tr.dl-row")).to_have_count(8)
    no_overflow(hq, width)
    shot(hq, shots / f"{size}-list.png")
    # The card (phone) or the row (laptop) opens the dealer, not only its name.
    with hq.expect_navigation():
        hq.locator("#dealer-SH001 .dl-region").click(force=True)  # under the row's link
    assert hq.url.endswith("/admin/dealers/SH001")
    expect(hq.locator("#users")).to_contain_text("sh001")
    hq.locator("#users summary", has_text="重置密码").click()
    expect(hq.get_by_label("sh001 的新密码")).to_be_visible()
    no_overflow(hq, width)
    shot(hq, shots / f"{size}-dealer-SH001.png")
    js_errors.check()
