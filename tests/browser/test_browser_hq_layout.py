"""Every HQ page at 360 px (a menu, cards, no sideways scrolling) and at 1280 px (navigation on
the left), for an admin; the phone menu opens without a script and lists only what the role
may open."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services import orders as orders_svc
from app.services import products as products_svc
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS
from tests.factories import user_named

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

ADMIN = ("admin", "admin1234")
DESK = ("desk", "desk1234")
# Pages that need an object: filled in from the demo data.
WITH_ARGS = (
    "/admin/orders/{number}",
    "/admin/dealers/SH001",
    "/admin/products/DRK-001",
    "/admin/products/DRK-001/prices",
    "/admin/products/DRK-001/stock",
    "/admin/staff/desk",
)


def hq_pages(app, number: str) -> list[str]:
    """Every HQ page reachable by GET without arguments, plus a few object pages."""
    skip = ("download", "export", "template", "/note")
    plain = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "GET" in rule.methods
        and not rule.arguments
        and not any(word in rule.rule for word in skip)
    )
    return plain + [url.format(number=number) for url in WITH_ARGS]


def an_order(app) -> str:
    with app.app_context():
        products_svc.set_on_hand("DRK-002", 50)
        order = orders_svc.place_order(user_named("sh001"), [LineRequest("DRK-002", 2)])
        number = order.number
        db.session.remove()
    return number


def no_overflow(page, width: int) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == width, (page.url, found)
    assert not found["offenders"], (page.url, found)


@pytest.mark.parametrize("width", [360, 1280])
def test_every_hq_page_fits_the_screen(demo, new_context, sign_in, shots_dir, width):
    number = an_order(demo)
    height = 800 if width > 1000 else 780
    page = new_context(viewport={"width": width, "height": height}).new_page()
    sign_in(page, *ADMIN)
    shots = shots_dir / "hq-layout"
    shots.mkdir(exist_ok=True)
    for url in hq_pages(demo, number):
        response = page.goto(url)
        assert response.status == 200, (url, response.status)
        no_overflow(page, width)
        side = page.locator("nav.hq-side")
        menu = page.locator("details.hq-menu")
        if width > 1000:
            expect(side).to_be_visible()
            expect(menu).to_be_hidden()
        else:
            expect(side).to_be_hidden()
            expect(menu).to_be_visible()
        name = url.strip("/").replace("/", "_") or "admin"
        page.screenshot(path=str(shots / f"{width}-{name}.png"), animations="disabled")


def test_the_phone_menu_opens_without_a_script_and_follows_the_role(
    demo, new_context, sign_in, shots_dir
):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, *DESK)
    page.goto("/admin/")
    menu = page.locator("details.hq-menu")
    menu.locator("summary").click()
    links = menu.locator(".hq-menu-list a")
    expect(links.first).to_be_visible()
    shown = set(links.all_inner_texts())
    assert {"工作台", "订单审核"} <= shown, shown
    assert not shown & {"财务", "员工与角色", "操作日志", "承运商"}, shown
    page.screenshot(path=str(shots_dir / "hq-layout" / "menu-desk.png"), animations="disabled")
    with page.expect_navigation():
        links.filter(has_text="订单审核").click()
    assert page.url.endswith("/admin/orders")
