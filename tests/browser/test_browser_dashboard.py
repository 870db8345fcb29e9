"""The HQ dashboard in Chromium, on a phone (390×844) and a laptop (1280×800): an order
approved with one tap from the dashboard's queue, the page coming back with one fewer
waiting; nothing sticks out sideways; screenshots for a human."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Order, OrderEvent, User
from app.services import dashboard, orders
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

ADMIN = ("admin", "admin1234")
DEALER = "gz001"  # GOLD: ¥40,000 credit
SCREENS = {
    "phone": {"viewport": {"width": 390, "height": 844}},
    "laptop": {
        "viewport": {"width": 1280, "height": 800},
        "is_mobile": False,
        "has_touch": False,
        "device_scale_factor": 1,
    },
}


@pytest.fixture(autouse=True)
def _fresh_figures():
    dashboard.forget()
    yield
    dashboard.forget()


def place(app, sku: str, qty: int, days_ago: float = 0) -> str:
    """An order placed through the service, moved `days_ago` into the past."""
    with app.app_context():
        buyer = db.session.scalar(select(User).where(User.username == DEALER))
        number = orders.place_order(buyer, [LineRequest(sku, qty)]).number
        if days_ago:
            placed = datetime.now(UTC) - timedelta(days=days_ago)
            order_id = db.session.scalar(select(Order.id).where(Order.number == number))
            db.session.execute(update(Order).where(Order.id == order_id).values(created_at=placed))
            db.session.execute(
                update(OrderEvent).where(OrderEvent.order_id == order_id).values(at=placed)
            )
            db.session.commit()
        db.session.remove()
        return number


def status_of(app, number: str) -> str:
    with app.app_context():
        found = db.session.scalar(select(Order.status).where(Order.number == number))
        db.session.remove()
        return found


def assert_fits(page, width: int) -> None:
    page.evaluate("document.fonts.ready.then(() => true)")
    found = page.evaluate(OVERFLOW_JS)
    assert found["innerWidth"] == found["clientWidth"] == width, found
    assert found["scrollWidth"] <= found["clientWidth"], found
    assert not found["offenders"], found


@pytest.mark.parametrize("screen", SCREENS)
def test_hq_approves_from_the_dashboard_queue(
    demo, app, new_context, sign_in, js_errors, shots_dir, screen
):
    oldest = place(app, "DRK-002", 10, days_ago=2)
    place(app, "DRK-001", 5, days_ago=1)
    place(app, "DRK-002", 3)
    page = js_errors.watch(new_context(**SCREENS[screen]).new_page())
    sign_in(page, *ADMIN)
    width = SCREENS[screen]["viewport"]["width"]

    page.goto("/admin/")
    queue = page.locator("#queue-count")
    expect(queue).to_contain_text("3")
    expect(queue).to_contain_text("笔订单待审核")
    cards = page.locator(".dash-queue-list li.order-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text(oldest)  # the oldest first
    expect(page.locator("svg.dash-chart")).to_be_visible()
    expect(page.locator(".dash-handling")).to_contain_text("近 30 天")
    assert_fits(page, width)
    page.screenshot(path=str(shots_dir / f"dashboard-{screen}.png"), full_page=True)

    cards.first.get_by_role("button", name=re.compile("审核通过")).click()
    page.wait_for_url("**/admin/")
    expect(page.locator(".flashes")).to_contain_text(f"{oldest} · 已审核通过")
    expect(page.locator("#queue-count")).to_contain_text("2")
    expect(cards).to_have_count(2)
    expect(page.locator(f"#order-{oldest}")).to_have_count(0)
    assert status_of(app, oldest) == "approved"
    assert_fits(page, width)
    page.screenshot(path=str(shots_dir / f"dashboard-{screen}-approved.png"), full_page=True)
    js_errors.check()


def test_finance_sees_the_dashboard_without_approve_buttons(demo, app, page, sign_in, shots_dir):
    place(app, "DRK-002", 2)
    sign_in(page, "finance", "finance1234")
    page.goto("/admin/")
    expect(page.locator("#queue-count")).to_contain_text("1")
    expect(page.locator(".dash-queue-list li.order-card")).to_have_count(1)
    expect(page.get_by_role("button", name=re.compile("审核通过"))).to_have_count(0)
    assert_fits(page, 390)
    page.screenshot(path=str(shots_dir / "dashboard-finance.png"), full_page=True)
