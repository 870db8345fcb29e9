"""The HQ dashboard page: open to every HQ role, refused to dealers, the approve button only
for roles that may approve, the sales chart as valid SVG with the same numbers in a table,
and an approval from the dashboard's queue that comes back to it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Order, OrderEvent
from app.services import dashboard, orders, staff
from app.services.orders import LineRequest
from tests import factories as f

SVG = "{http://www.w3.org/2000/svg}"
LOGINS = {"hq": f.PASSWORD, "desk": "pw-desk-1", "money": "pw-money-1"}


@pytest.fixture(autouse=True)
def _fresh_figures():
    dashboard.forget()
    yield
    dashboard.forget()


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", name="上海鑫源商贸")
    f.dealer_user("SH001", "buyer")
    f.deposit("SH001", 10_000_000)
    f.dealer("WH001", "GOLD", name="武汉楚天商行")  # never orders
    boss = f.admin("hq")
    staff.create_staff(boss, "desk", LOGINS["desk"], "order_desk", "王审单")
    staff.create_staff(boss, "money", LOGINS["money"], "finance", "李财务")
    f.product("TEA", name="冰红茶", list_price=1234, on_hand=500)
    f.product("LOW", name="将断货的汽水", list_price=800, on_hand=2, low_stock_threshold=10)
    return client


def place(qty: int = 1, days_ago: float = 0) -> str:
    number = orders.place_order(f.user_named("buyer"), [LineRequest("TEA", qty)]).number
    if days_ago:
        placed = datetime.now(UTC) - timedelta(days=days_ago)
        order_id = db.session.scalar(select(Order.id).where(Order.number == number))
        db.session.execute(update(Order).where(Order.id == order_id).values(created_at=placed))
        db.session.execute(
            update(OrderEvent).where(OrderEvent.order_id == order_id).values(at=placed)
        )
        db.session.commit()
    return number


def login(client, username: str) -> None:
    assert f.web_login(client, username, LOGINS.get(username, f.PASSWORD)).status_code == 302


def page(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def approve_forms(html: str) -> list[str]:
    return re.findall(r'<form class="desk-approve".*?</form>', html, re.S)


@pytest.mark.parametrize("username", ["hq", "desk", "money"])
def test_every_hq_role_sees_the_dashboard_and_only_approvers_get_the_button(shop, username):
    first, second = place(2, days_ago=3), place(1)
    login(shop, username)
    html = page(shop)

    queue = re.search(r'<a class="card queue-card".*?</a>', html, re.S).group(0)
    assert ">2<" in queue and "笔订单待审核" in queue and "最早已等" in queue
    assert html.index(first) < html.index(second)  # the oldest first
    forms = approve_forms(html)
    if username == "money":
        assert forms == []
    else:
        assert len(forms) == 2 and f"/admin/orders/{first}/approve" in forms[0]
        assert all('name="csrf_token"' in form and 'value="/admin/"' in form for form in forms)
    assert "订单处理时长" in html and "近 7 天" in html and "近 30 天" in html
    today = re.search(r'<section class="stats dash-today".*?</section>', html, re.S).group(0)
    assert re.search(r'stat-n">1<.*今日订单.*¥12.34.*今日订货额', today, re.S)  # not the older one
    assert "武汉楚天商行" in html and "从未下单" in html  # silent dealers
    assert "将断货的汽水" in html


def test_a_dealer_is_refused_the_dashboard(shop):
    login(shop, "buyer")
    assert shop.get("/admin/").status_code == 403


def _svg(html: str) -> ET.Element:
    found = re.search(r"<svg class=\"dash-chart\".*?</svg>", html, re.S)
    assert found, "no sales chart"
    return ET.fromstring(found.group(0))  # raises on anything that is not well-formed XML


def test_the_sales_chart_is_valid_svg_with_its_numbers_in_a_table(shop):
    place(3, days_ago=2)  # ¥37.02, two days ago
    place(1)  # ¥12.34 today
    orders.cancel_order(f.user_named("buyer"), place(50))  # never counted
    login(shop, "hq")
    html = page(shop)

    svg = _svg(html)
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title.text == "近 30 天每日销售额"
    assert "最高 ¥37.02" in desc.text and "今天 ¥12.34" in desc.text
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 30
    assert "is-today" in bars[-1].get("class")
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[-3] > heights[-1] > 0 and heights[:-3] == [0.0] * 27
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert labels[0] == "¥0" and labels[-1] == "今天"
    assert all(label.startswith("¥") for label in labels[:5])

    table = re.search(r'<table class="visually-hidden">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr><td>([0-9-]+)</td><td>([^<]+)</td><td>(\d+)</td></tr>", table)
    assert len(rows) == 30
    assert rows[-1][1:] == ("¥12.34", "1") and rows[-3][1:] == ("¥37.02", "1")
    assert "¥617.00" not in html  # the cancelled order


def test_the_chart_is_drawn_without_any_sales_too(shop):
    login(shop, "money")
    svg = _svg(page(shop))
    assert svg.find(f"{SVG}desc").text == "这些天没有销售。"
    assert {bar.get("height") for bar in svg.findall(f"{SVG}rect")} == {"0.0"}


def test_approving_from_the_dashboard_comes_back_to_it_with_one_fewer_waiting(shop):
    first, second = place(1, days_ago=1), place(2)
    login(shop, "desk")
    form = approve_forms(page(shop))[0]
    action = re.search(r'action="([^"]+)"', form).group(1)
    response = shop.post(action, data={"csrf_token": f.csrf_from(form), "next": "/admin/"})

    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    html = page(shop)
    queue = re.search(r'<a class="card queue-card".*?</a>', html, re.S).group(0)
    assert ">1<" in queue
    assert f"{first} · 已审核通过" in html
    assert orders.order_for_admin(first).status == "approved"
    assert [f"/admin/orders/{second}/approve" in form for form in approve_forms(html)] == [True]


def test_links_lead_only_to_pages_the_reader_may_open(app, shop):
    pages = app.view_functions
    if not {"admin.stock", "admin.product_stock", "admin.dealer_detail"} <= set(pages):
        pytest.skip("the stock and dealer pages are not in this build")
    place(1)
    login(shop, "hq")
    admin = page(shop)
    assert 'href="/admin/stock"' in admin and 'href="/admin/products/LOW/stock"' in admin
    assert 'href="/admin/dealers/WH001"' in admin

    shop.post("/logout", data={"csrf_token": f.csrf_from(admin)})
    login(shop, "money")  # finance may read dealers, not products or stock
    finance = page(shop)
    assert "将断货的汽水" in finance
    assert "/admin/products/LOW/stock" not in finance and 'href="/admin/stock"' not in finance
    assert 'href="/admin/dealers/WH001"' in finance


def test_the_dashboard_in_english(shop):
    place(1)
    login(shop, "hq")
    shop.set_cookie("lang", "en")
    html = page(shop)
    assert "Order handling time" in html and "Sales by day, last 30 days" in html
    assert "orders waiting for review" in html and "Today" in html
