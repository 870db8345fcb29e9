"""Logging in, who lands where, who is refused, each dealer's own price, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.money import display_fen
from app.services import catalog as catalog_svc

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

SKU = "DRK-001"


def url_path(page) -> str:
    return urlsplit(page.url).path


def dealer_price(app, username: str, sku: str) -> str:
    """What the pricing service says this dealer pays, as the page shows it ("¥36.00")."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return display_fen(catalog_svc.item(user.dealer, sku).price)


def translated(app, message: str, locale: str = "zh_CN") -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message)


def card_price(page, sku: str):
    page.goto(f"/catalog?q={sku}")
    card = page.locator(f'#cards > li.product-card[data-sku="{sku}"]')
    expect(card).to_have_count(1)
    return card.locator(".price")


def test_each_dealer_logs_in_to_the_catalog_and_sees_their_own_price(
    demo, app, page, new_context, login
):
    login(page, "sh001", "demo1234")
    assert url_path(page) == "/catalog"
    expect(page.locator("#cards > li.product-card").first).to_be_visible()

    gold = dealer_price(app, "sh001", SKU)
    assert gold == "¥36.00"  # sh001's contract price in the demo data
    expect(card_price(page, SKU)).to_have_text(gold)

    other = new_context().new_page()  # separate cookies: a second phone
    login(other, "bj001", "demo1234")
    assert url_path(other) == "/catalog"
    silver = dealer_price(app, "bj001", SKU)
    assert silver != gold
    expect(card_price(other, SKU)).to_have_text(silver)
    # …and the first dealer still sees their own price, not the last one computed.
    expect(card_price(page, SKU)).to_have_text(gold)


def test_wrong_password_stays_on_the_login_form(demo, page, login):
    login(page, "sh001", "not-the-password")
    assert url_path(page) == "/login"
    expect(page.locator(".login-form .alert")).to_be_visible()
    expect(page.locator("input[name=username]")).to_have_value("sh001")


def test_admin_lands_on_the_dashboard_and_a_dealer_is_refused(demo, app, page, new_context, login):
    login(page, "admin", "admin1234")
    assert url_path(page).rstrip("/") == "/admin"
    heading = translated(app, "HQ dashboard")
    expect(page.locator(".topbar h1")).to_have_text(heading)
    expect(page.locator(".stats .stat")).to_have_count(3)

    dealer = new_context().new_page()
    login(dealer, "sh001", "demo1234")
    response = dealer.goto("/admin")
    assert response.status == 403
    expect(dealer.locator(".big-status")).to_have_text("403")
    expect(dealer.locator(".stats")).to_have_count(0)
    expect(dealer.get_by_text(heading)).to_have_count(0)

    # The other way round: HQ has no dealer catalog (no dealer to price it for).
    assert page.goto("/catalog").status == 403


def test_language_switch_goes_to_english_and_back(demo, page, sign_in):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    sign_in(page, "sh001", "demo1234")
    products_tab = page.locator(".tabbar .tab").first
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(products_tab).to_have_text("商品")

    page.locator(".tabbar .tab").last.click()  # 我的 / Me: where the switch lives
    page.wait_for_url("**/me")
    with page.expect_navigation():
        page.get_by_role("link", name="English", exact=True).click()
    assert url_path(page) == "/me"  # back where we were
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(products_tab).to_have_text("Products")

    page.goto("/catalog")  # remembered across pages
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(products_tab).to_have_text("Products")

    page.goto("/me")
    with page.expect_navigation():
        page.get_by_role("link", name="中文", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(products_tab).to_have_text("商品")


def test_english_is_one_tap_away_on_the_catalog(demo, page, sign_in):
    sign_in(page, "sh001", "demo1234")
    page.goto("/catalog?q=DRK")
    with page.expect_navigation():
        page.locator(".topbar [data-lang=en]").click()
    assert url_path(page) == "/catalog"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#q")).to_have_value("DRK")  # the search survives the switch
