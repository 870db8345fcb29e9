"""Shipping on a phone: HQ ships part of an approved order and prints its delivery note; the
dealer reads the shipment's timeline, newest first, and copies the tracking number."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import StockLevel, User
from app.services import logistics
from app.services import orders as orders_svc
from app.services import products as products_svc
from app.services.logistics import EventIn
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")
ADMIN = ("admin", "admin1234")
TEA, LEMON = "DRK-002", "DRK-001"  # 无糖乌龙茶 500ml, 冰爽柠檬茶 500ml: 箱, MOQ 1
TRACKING = "SF1400012345678"
A4_WIDTH_PT, RECEIPT_WIDTH_PT = 595, 227  # 210 mm and 80 mm in PDF points


def user_named(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def approved_order(app) -> str:
    """An order gz001 placed and HQ approved (through the services): its number."""
    with app.app_context():
        order = orders_svc.place_order(
            user_named(DEALER[0]), [LineRequest(TEA, 10), LineRequest(LEMON, 4)]
        )
        orders_svc.approve_order(user_named(ADMIN[0]), order.number)
        return order.number


def stock(app, sku: str) -> tuple[int, int]:
    with app.app_context():
        level = db.session.get(StockLevel, products_svc.product_by_sku(sku).id)
        return level.on_hand, level.reserved


def shipped(app, number: str) -> tuple[str, list[tuple[str, str, dict[str, int]]]]:
    """(order status, [(carrier code, tracking no, {sku: qty})]) as stored."""
    with app.app_context():
        order = orders_svc.order_for_admin(number)
        found = [
            (s.carrier.code, s.tracking_no, {line.order_line.sku: line.qty for line in s.lines})
            for s in logistics.shipments_of(order.id)
        ]
        return order.status, found


def carrier_reports(app, events: list[EventIn]) -> list[str]:
    with app.app_context():
        return logistics.record_events(logistics.carrier_by_code("sf"), events)


def shoot(page, shots, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page, animations="disabled")


def assert_fits(page, shots, name: str) -> None:
    """A full-page screenshot, then no sideways scrolling at 390 px."""
    page.evaluate("document.fonts.ready.then(() => true)")
    shoot(page, shots, name)
    found = page.evaluate(OVERFLOW_JS)
    assert found["innerWidth"] == found["clientWidth"] == 390, (name, page.url, found)
    assert found["scrollWidth"] <= found["clientWidth"], (name, page.url, found)
    assert not found["offenders"], (name, page.url, found)


def pdf_widths(pdf: bytes) -> list[float]:
    """The width in points of each page of a PDF Chromium printed."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
    return [float(width) for width, _height in boxes]


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "shippages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_hq_ships_part_of_an_order_from_a_phone_and_prints_the_note(
    demo, app, page, sign_in, js_errors, shots
):
    number = approved_order(app)
    tea_before = stock(app, TEA)
    js_errors.watch(page)
    sign_in(page, *ADMIN)

    page.goto("/admin/")
    page.locator("details.hq-menu summary").click()  # the phone's HQ menu
    page.locator(".hq-menu-list").get_by_role("link", name="待发货").click()
    page.wait_for_url("**/admin/shipping")
    card = page.locator("li.order-card", has_text=number)
    expect(card).to_contain_text("无糖乌龙茶 500ml 10箱")
    assert_fits(page, shots, "hq-to-ship")
    card.click()
    page.wait_for_url(f"**/admin/orders/{number}#ship")

    form = page.locator("form.ship-form")
    expect(form.get_by_label("承运商")).to_have_value("sf")
    lines = page.locator("#ship-lines")
    expect(lines).to_be_hidden()  # "everything still to ship" is the default
    form.get_by_label("运单号").fill(TRACKING)
    form.get_by_text("仅发出下面填写的数量").click()
    expect(lines).to_be_visible()
    tea_qty = lines.locator("li", has_text=TEA).locator("input[name=qty]")
    expect(tea_qty).to_have_value("10")
    tea_qty.fill("6")
    lines.locator("li", has_text=LEMON).locator("input[name=qty]").fill("0")
    assert_fits(page, shots, "hq-ship-form")
    form.get_by_role("button", name="发货").click()

    page.wait_for_url(f"**/admin/orders/{number}#shipments")
    expect(page.locator(".flashes")).to_contain_text(f"已通过顺丰速运发货，运单号 {TRACKING}。")
    expect(page.locator("#order-status")).to_have_text("部分发货")
    expect(page.locator("#still-to-come")).to_contain_text("无糖乌龙茶 500ml 4箱")
    expect(page.locator("#still-to-come")).to_contain_text("冰爽柠檬茶 500ml 4箱")
    shipment = page.locator("article.shipment")
    expect(shipment).to_have_count(1)
    expect(shipment).to_contain_text(TRACKING)
    expect(shipment.locator("[data-shipment-status]")).to_have_text("待揽收")
    expect(page.locator("ol.timeline").first.locator("li").first).to_contain_text("部分发货")
    assert_fits(page, shots, "hq-shipped-part")
    assert shipped(app, number) == ("partially_shipped", [("sf", TRACKING, {TEA: 6})])
    assert stock(app, TEA) == (tea_before[0] - 6, tea_before[1] - 6)

    shipment.get_by_role("link", name="发货单").click()
    page.wait_for_url(re.compile(r"/admin/shipments/\d+/note$"))
    note = page.locator("#note")
    for fact in (number, TRACKING, "顺丰速运", "广州天河粤丰食品批发部", "陈丽华", TEA, "6箱"):
        expect(note).to_contain_text(fact)
    expect(note).not_to_contain_text(LEMON)
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    assert_fits(page, shots, "note-screen")

    page.emulate_media(media="print")
    expect(page.locator(".note-tools")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    shoot(page, shots, "note-print-a4")
    a4 = page.pdf(path=str(shots / "note-a4.pdf"), prefer_css_page_size=True)
    assert pdf_widths(a4) and all(abs(w - A4_WIDTH_PT) < 2 for w in pdf_widths(a4))

    page.emulate_media(media="screen")
    page.get_by_role("link", name="80 mm 小票").click()
    page.wait_for_url(re.compile(r"/note\?paper=80mm$"))
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 302, "height": 800})  # 80 mm at 96 dpi
    shoot(page, shots, "note-print-80mm")
    receipt = page.pdf(path=str(shots / "note-80mm.pdf"), prefer_css_page_size=True)
    widths = pdf_widths(receipt)
    assert len(widths) == 1 and abs(widths[0] - RECEIPT_WIDTH_PT) < 2, widths  # one slip
    js_errors.check()


def test_the_dealer_reads_the_timeline_and_copies_the_tracking_number(
    demo, app, new_context, sign_in, js_errors, shots
):
    number = approved_order(app)
    with app.app_context():
        admin = user_named(ADMIN[0])
        logistics.create_shipment(admin, number, "sf", TRACKING, [logistics.ShipLine(TEA, 6)])
    picked = datetime(2026, 12, 1, 1, 5, tzinfo=UTC)  # 09:05 in Shanghai
    assert carrier_reports(
        app,
        [
            EventIn(
                "e2",
                TRACKING,
                "in_transit",
                picked + timedelta(hours=6),
                "广州转运中心",
                "快件已到达广州转运中心",
            ),
            EventIn("e1", TRACKING, "picked_up", picked, "深圳宝安", "顺丰速运已收取快件"),
        ],
    ) == ["applied", "applied"]
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = js_errors.watch(context.new_page())
    sign_in(page, *DEALER)

    page.goto(f"/orders/{number}")
    card = page.locator("article.shipment")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("顺丰速运")
    expect(card.locator(".tracking-no")).to_have_text(TRACKING)
    expect(card.locator("[data-shipment-status]")).to_have_text("运输中")
    events = card.locator("ol.carrier-events > li")
    expect(events).to_have_count(2)
    expect(events.nth(0)).to_contain_text("快件已到达广州转运中心")  # newest on top
    expect(events.nth(0)).to_contain_text("2026-12-01 15:05 · 广州转运中心")
    expect(events.nth(1)).to_contain_text("2026-12-01 09:05 · 深圳宝安")
    expect(page.locator("#still-to-come")).to_contain_text("无糖乌龙茶 500ml 4箱")
    expect(page.locator("#order-status")).to_have_text("部分发货")
    card.scroll_into_view_if_needed()
    assert_fits(page, shots, "dealer-shipment")

    copy = card.get_by_role("button", name="复制")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.locator("#toast")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == TRACKING
    shoot(page, shots, "dealer-copied", full_page=False)
    js_errors.check()


def test_hq_adds_a_carrier_copies_its_secret_and_reads_its_log_on_a_phone(
    demo, app, new_context, sign_in, js_errors, shots
):
    number = approved_order(app)
    with app.app_context():
        logistics.create_shipment(user_named(ADMIN[0]), number, "sf", TRACKING, None)
    carrier_reports(
        app,
        [
            EventIn("x1", TRACKING, "exception", datetime.now(UTC), "广州", "收件人电话无人接听"),
            EventIn("x2", "SF-UNKNOWN-1", "in_transit", datetime.now(UTC), "佛山", "运输中"),
        ],
    )
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = js_errors.watch(context.new_page(), allow_status=(409, 422))
    sign_in(page, *ADMIN)

    page.goto("/admin/shipments")
    flagged = page.locator("li.attention-card")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("承运商报告异常")
    expect(flagged.get_by_role("link", name=number)).to_be_visible()
    assert_fits(page, shots, "hq-attention")

    page.locator("details.hq-menu summary").click()  # the phone's HQ menu
    page.locator(".hq-menu-list").get_by_role("link", name="承运商").click()
    page.wait_for_url("**/admin/carriers")
    page.get_by_label("代码（用于推送地址）").fill("jd")
    page.get_by_label("名称", exact=True).fill("京东物流")
    page.get_by_role("button", name="添加承运商").click()
    secret = page.locator("#secret-value")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    expect(page.locator("#snippet")).to_contain_text("/webhooks/logistics/jd")
    expect(page.locator("#kuaidi100-url")).to_have_text(re.compile(r"/webhooks/kuaidi100/jd$"))
    assert_fits(page, shots, "hq-carrier-secret")
    page.locator("#secret").get_by_role("button", name="复制").first.click()
    assert page.evaluate("navigator.clipboard.readText()") == secret.text_content()
    with app.app_context():
        assert logistics.carrier_by_code("jd").secret == secret.text_content()

    page.goto("/admin/carriers/sf")
    expect(page.locator("ul.event-log > li")).to_have_count(2)
    page.locator("nav.outcome-chips").get_by_role("link", name="未匹配").click()
    expect(page.locator("ul.event-log > li")).to_have_count(1)
    expect(page.locator("ul.event-log")).to_contain_text("SF-UNKNOWN-1")
    assert_fits(page, shots, "hq-carrier-log")
    page.get_by_role("button", name="生成新密钥").click()
    expect(page.locator("#grace")).to_contain_text("旧密钥在")
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^whsec_"))
    assert_fits(page, shots, "hq-carrier-rotated")
    js_errors.check()
