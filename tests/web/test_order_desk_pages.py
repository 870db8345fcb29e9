"""The order desk pages: every order in status tabs with counts, search by number or dealer,
filters by dealer and day, paging; approve from a card (back to the list it came from) and in
batch (each order checked on its own, the skipped ones named); the order page's funds, credit
and stock; 代客下单 through the placement service (refusals shown, nothing placed; the dealer's
timeline says HQ placed it); the catalog as one dealer sees it, read-only; and who may open
what."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEntry, Order, OrderEvent
from app.services import accounts, orders, products, settings, staff
from app.services.orders import LineRequest
from tests import factories as f
from tests.web.test_forms_once import hidden_fields


@pytest.fixture
def desk(app, client):
    """SH001 上海鑫源商贸 (GOLD, ¥100 credit, ¥500 paid in) and BJ001 北京京联商贸 (SILVER);
    an admin `hq` logged in on `client`, a desk user 张三 and a finance user."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000, name="上海鑫源商贸")
    f.dealer("BJ001", "SILVER", name="北京京联商贸")
    f.dealer_user("SH001", "sh")
    f.dealer_user("BJ001", "bj")
    f.admin("hq")
    staff.create_staff(None, "desk", f.PASSWORD, "order_desk", "张三")
    staff.create_staff(None, "money", f.PASSWORD, "finance", "李四")
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=100)
    f.product("JUICE-6", name="果汁", unit="瓶", list_price=500, min_order_qty=6, order_multiple=6)
    f.product("GOLD-ONLY", name="金牌专供", list_price=2000, visible_tiers=["GOLD"], on_hand=10)
    products.set_on_hand("JUICE-6", 12)
    f.prices("TEA-1", tiers={"GOLD": [(1, 900)]})
    f.deposit("SH001", 50_000)
    f.deposit("BJ001", 50_000)
    f.web_login(client, "hq")
    return SimpleNamespace(app=app, client=client)


def user(username: str):
    return f.user_named(username)


def place(username: str = "sh", sku: str = "TEA-1", qty: int = 1, when: datetime | None = None):
    number = orders.place_order(user(username), [LineRequest(sku, qty)]).number
    if when is not None:
        db.session.execute(update(Order).where(Order.number == number).values(created_at=when))
        db.session.commit()
    return number


def client_for(app, username: str):
    client = app.test_client()
    f.web_login(client, username)
    return client


def page_of(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def token_of(client) -> str:
    return f.csrf_from(page_of(client, "/admin/orders"))


def post(client, url: str, data: dict | list, token: str | None = None):
    token = token or token_of(client)
    if isinstance(data, dict):
        data = list(data.items())
    return client.post(url, data=MultiDict([*data, ("csrf_token", token)]))


def flashes(client) -> str:
    page = page_of(client, "/admin/orders?status=all")
    found = re.search(r'<div class="flashes"[^>]*>(.*?)</div>', page, re.S)
    return text_of(found.group(1)) if found else ""


def cards(page: str) -> list[str]:
    """Order numbers of the cards on a desk page, in order."""
    return re.findall(r'<li class="card order-card desk-row" id="order-([^"]+)"', page)


def status_of(number: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(Order.status).where(Order.number == number))


def order_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Order.id)))


# --- tabs, search, filters, paging ---------------------------------------------------------


def test_the_queue_tab_lists_submitted_orders_oldest_first_with_every_tabs_count(desk):
    older = place(when=datetime(2026, 11, 1, 2, tzinfo=UTC))
    newer = place("bj", when=datetime(2026, 11, 2, 2, tzinfo=UTC))
    approved, cancelled, rejected = place(), place(), place()
    orders.approve_order(user("hq"), approved)
    orders.cancel_order(user("sh"), cancelled)
    orders.reject_order(user("hq"), rejected, "缺货")

    page = page_of(desk.client, "/admin/orders")

    assert cards(page) == [older, newer]
    chips = text_of(" ".join(re.findall(r'<a class="chip[^>]*>.*?</a>', page)))
    for label in (
        "待审核 2",
        "已审核 1",
        "发货中 0",
        "已发货 0",
        "已签收 0",
        "已取消 1",
        "已驳回 1",
        "全部 5",
    ):
        assert label in chips, (label, chips)
    assert "最早的排在前面" in text_of(page) and "北京京联商贸" in page
    assert 'aria-current="page" href="/admin/orders">待审核' in page


def test_the_other_tabs_are_newest_first_and_every_order_is_reachable(desk):
    numbers = [place(when=datetime(2026, 11, d, 2, tzinfo=UTC)) for d in (1, 2, 3)]
    orders.approve_order(user("hq"), numbers[0])
    orders.approve_order(user("hq"), numbers[2])

    assert cards(page_of(desk.client, "/admin/orders?status=approved")) == [numbers[2], numbers[0]]
    assert cards(page_of(desk.client, "/admin/orders?status=all")) == numbers[::-1]
    assert cards(page_of(desk.client, "/admin/orders?status=bogus")) == [numbers[1]]


def test_search_finds_an_order_by_number_or_dealer_name_and_keeps_the_tab(desk):
    sh, bj = place(), place("bj")
    orders.approve_order(user("hq"), bj)

    assert cards(page_of(desk.client, f"/admin/orders?q={bj[-5:]}&status=all")) == [bj]
    assert cards(page_of(desk.client, "/admin/orders?q=京联&status=all")) == [bj]
    assert cards(page_of(desk.client, "/admin/orders?q=鑫源")) == [sh]
    page = page_of(desk.client, "/admin/orders?q=京联")  # the queue tab: BJ's order moved on
    assert cards(page) == [] and "没有符合条件的订单" in page
    assert "待审核 0" in text_of(page) and "已审核 1" in text_of(page)  # counts follow the search
    assert 'href="/admin/orders?status=approved&amp;q=' in page  # the tabs keep the search


def test_filters_by_dealer_and_shanghai_day_of_placement(desk):
    late_30th = place(when=datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    early_1st = place(when=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 00:00 on 1 Dec
    bj_1st = place("bj", when=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))

    on_the_1st = page_of(desk.client, "/admin/orders?from=2026-12-01&to=2026-12-01")
    assert cards(on_the_1st) == [early_1st, bj_1st]
    assert cards(page_of(desk.client, "/admin/orders?to=2026-11-30")) == [late_30th]
    only_bj = page_of(desk.client, "/admin/orders?dealer=BJ001&from=2026-11-01")
    assert cards(only_bj) == [bj_1st]
    assert '<option value="BJ001" selected>' in only_bj
    assert 'value="2026-11-01"' in only_bj and '<details class="desk-more" open>' in only_bj


def test_a_date_that_cannot_be_read_is_said_and_left_out(desk):
    number = place()

    response = desk.client.get("/admin/orders?from=2026-13-01")
    page = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "日期格式为 年-月-日" in text_of(page)
    assert cards(page) == [number]
    swapped = desk.client.get("/admin/orders?from=2026-12-02&to=2026-12-01")
    assert swapped.status_code == 422
    assert "结束日期早于开始日期" in text_of(swapped.get_data(as_text=True))


def test_pages_of_twenty_with_links_that_keep_the_filters(desk):
    numbers = [place(when=datetime(2026, 11, 1, 0, i, tzinfo=UTC)) for i in range(25)]

    first = page_of(desk.client, "/admin/orders?q=鑫源")
    second = page_of(desk.client, "/admin/orders?q=鑫源&page=2")
    beyond = page_of(desk.client, "/admin/orders?q=鑫源&page=9")

    assert cards(first) == numbers[:20] and cards(second) == numbers[20:]
    assert cards(beyond) == numbers[20:]  # past the end: the last page
    assert 'rel="next" href="/admin/orders?q=' in first and "page=2" in first
    assert "共 25 笔" in text_of(first) and "第 1/2 页" in text_of(first)


# --- approve from a card and in batch --------------------------------------------------------


def test_one_tap_approves_from_the_card_and_returns_to_the_list_it_came_from(desk):
    first, second = place(), place()
    page = page_of(desk.client, "/admin/orders?q=鑫源")
    action = f'action="/admin/orders/{first}/approve"'
    form = re.search(rf'<form class="desk-approve" method="post" {action}>.*?</form>', page, re.S)
    form = form[0]
    back = html.unescape(re.search(r'name="next" value="([^"]+)"', form).group(1))
    assert back == f"/admin/orders?q={quote('鑫源')}#order-{second}"  # the next card's place

    response = post(
        desk.client, f"/admin/orders/{first}/approve", {"next": back}, f.csrf_from(page)
    )

    assert response.status_code == 302 and response.headers["Location"] == back
    assert status_of(first) == "approved" and status_of(second) == "submitted"
    assert f"{first} · 已审核通过" in flashes(desk.client)


def test_a_card_approve_of_an_order_cancelled_meanwhile_says_so_and_changes_nothing(desk):
    number = place()
    token = token_of(desk.client)
    orders.cancel_order(user("sh"), number)
    before = f.footprint()

    response = post(
        desk.client, f"/admin/orders/{number}/approve", {"next": "/admin/orders"}, token
    )

    assert response.status_code == 302 and response.headers["Location"] == "/admin/orders"
    assert f.footprint() == before
    assert f"未审核：{number} 已被经销商取消" in flashes(desk.client)


def test_a_next_outside_the_hq_area_is_ignored(desk):
    number = place()

    for evil in ("https://evil.example/admin", "//evil.example/admin", "/catalog"):
        other = place()
        response = post(desk.client, f"/admin/orders/{other}/approve", {"next": evil})
        assert response.headers["Location"] == "/admin/orders", evil
    assert status_of(number) == "submitted"


def test_the_order_page_approve_still_returns_to_the_queue(desk):
    number = place()
    page = page_of(desk.client, f"/admin/orders/{number}")

    response = post(desk.client, f"/admin/orders/{number}/approve", {}, f.csrf_from(page))

    assert response.headers["Location"] == "/admin/orders"
    assert status_of(number) == "approved"


def test_batch_approve_checks_each_order_and_names_the_skipped(desk):
    numbers = [place() for _ in range(3)]
    page = page_of(desk.client, "/admin/orders")
    assert all(f'name="number" value="{n}" form="batch"' in page for n in numbers)
    assert re.search(r'<form id="batch"[^>]*action="/admin/orders/batch-approve"', page)
    orders.cancel_order(user("sh"), numbers[1])  # the dealer cancels while HQ ticks

    form = [("number", n) for n in numbers] + [("next", "/admin/orders?page=1")]
    response = post(desk.client, "/admin/orders/batch-approve", form, f.csrf_from(page))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders?page=1"
    assert [status_of(n) for n in numbers] == ["approved", "cancelled", "approved"]
    assert f"已审核 2 笔，跳过 1 笔：{numbers[1]} 已被经销商取消" in flashes(desk.client)
    db.session.rollback()
    audited = db.session.scalars(
        select(AuditEntry.object_key).where(AuditEntry.action == "order.approve")
    ).all()
    assert sorted(audited) == sorted([numbers[0], numbers[2]])


def test_a_batch_with_nothing_ticked_asks_for_a_tick(desk):
    number = place()

    response = post(desk.client, "/admin/orders/batch-approve", {"next": "/admin/orders"})

    assert response.headers["Location"] == "/admin/orders"
    assert "请先勾选要审核的订单" in flashes(desk.client)
    assert status_of(number) == "submitted"


def test_select_all_ticks_every_card_on_the_page_without_a_script(desk):
    numbers = [place() for _ in range(2)]
    page = page_of(desk.client, "/admin/orders")
    assert 'href="/admin/orders?select=all">全选本页' in page
    ticked = page_of(desk.client, "/admin/orders?select=all")
    for number in numbers:
        assert f'name="number" value="{number}" form="batch" checked' in ticked
    assert 'name="next" value="/admin/orders"' in ticked  # not back to "all ticked"


# --- the order page ------------------------------------------------------------------------


def test_the_order_page_shows_the_dealers_money_and_each_lines_stock(desk):
    place(qty=30)
    number = place(qty=20)

    raw = page_of(desk.client, f"/admin/orders/{number}")
    page = text_of(raw)

    assert "审核前核对" in page
    # ¥500 paid in, ¥270 and ¥180 debited: ¥50 left, ¥100 credit, ¥150 to spend.
    assert "货款余额 ¥50.00" in page and "信用额度 ¥100.00" in page
    assert "可用额度 ¥150.00" in page
    assert "下单时已锁定库存并扣款 ¥180.00" in page
    cells = dict(re.findall(r'<td class="num[^"]*" data-label="([^"]+)">([^<]+)</td>', raw))
    assert cells == {"本单占用": "20箱", "现有库存": "100", "已被占用": "50", "可再下单": "50"}


def test_the_order_page_warns_of_credit_in_use_and_products_gone_off_sale(desk):
    number = place(qty=60)  # ¥540 from ¥500 paid in: ¥40 of credit
    products.update_product("TEA-1", {"active": False})

    page = text_of(page_of(desk.client, f"/admin/orders/{number}"))

    assert "货款余额 -¥40.00" in page
    assert "正在使用信用额度 ¥40.00" in page
    assert "已下架" in page


def test_an_order_shipped_on_or_closed_shows_the_money_and_stock_as_now_or_nothing(desk):
    approved, cancelled = place(qty=5), place()
    orders.approve_order(user("hq"), approved)
    orders.cancel_order(user("sh"), cancelled)

    open_page = text_of(page_of(desk.client, f"/admin/orders/{approved}"))
    closed_page = page_of(desk.client, f"/admin/orders/{cancelled}")

    assert "经销商资金与库存现状" in open_page and "审核前核对" not in open_page
    assert 'id="facts"' not in closed_page and "已等" not in text_of(closed_page)


# --- 代客下单 ------------------------------------------------------------------------------


def draft_page(client, code: str = "SH001", **params) -> str:
    pairs = [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])]
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return page_of(client, f"/admin/order-for/{code}?{query}")


def place_form(page: str, **overrides) -> list[tuple[str, str]]:
    """The draft form's fields as the browser would send them, 提交 pressed."""
    form = re.search(r'<form class="card proxy-draft".*?</form>', page, re.S).group(0)
    fields = [
        (name, html.unescape(value))
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    ]
    fields = [(n, v) for n, v in fields if n not in overrides]
    fields += [(n, v) for n, v in overrides.items()]
    return [*fields, ("action", "place")]


def test_hq_picks_a_dealer_and_places_an_order_at_their_prices(desk, app):
    desk_client = client_for(app, "desk")
    chooser = page_of(desk_client, "/admin/order-for?q=鑫源")
    assert 'href="/admin/order-for/SH001"' in chooser and "BJ001" not in chooser

    found = draft_page(desk_client, q="绿茶")
    assert 'name="add" value="TEA-1"' in found and "¥9.00" in found  # the GOLD price
    added = desk_client.get("/admin/order-for/SH001?q=绿茶&add=TEA-1&qty=4")
    assert added.status_code == 303
    location = added.headers["Location"]
    assert parse_qs(urlsplit(location).query)["l"] == ["TEA-1:4"]
    again = desk_client.get(location + "&add=TEA-1&qty=6")  # adding more adds up
    assert parse_qs(urlsplit(again.headers["Location"]).query)["l"] == ["TEA-1:10"]
    page = page_of(desk_client, again.headers["Location"])
    assert "¥90.00" in page and 'id="place-order"' in page

    response = post(desk_client, "/admin/order-for/SH001", place_form(page, note="电话订货"))

    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[-1]
    order = orders.order_for_admin(number)
    assert order.dealer.code == "SH001" and order.note == "电话订货"
    assert [(line.sku, line.qty, line.unit_price) for line in order.lines] == [("TEA-1", 10, 900)]
    assert [(e.status, e.by_name) for e in order.events] == [("submitted", "张三")]
    assert f"已为 上海鑫源商贸 下单 {number}" in text_of(
        page_of(desk_client, f"/admin/orders/{number}")
    )
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_key == number))
    assert (entry.action, entry.username, entry.via) == ("order.place_for_dealer", "desk", "page")
    assert json.loads(entry.after)["lines"] == [["TEA-1", 10, "9.00"]]


def test_the_dealers_order_list_and_timeline_show_hq_placed_it(desk, app):
    desk_client = client_for(app, "desk")
    page = draft_page(desk_client, l="TEA-1:2")
    number = post(desk_client, "/admin/order-for/SH001", place_form(page)).headers["Location"]
    number = number.rsplit("/", 1)[-1]

    dealer = client_for(app, "sh")
    card = re.search(
        rf'<li class="card order-card">(?:(?!</li>).)*{number}.*?</li>',
        page_of(dealer, "/orders"),
        re.S,
    )
    assert card and "总部代下单" in card.group(0)
    timeline = text_of(page_of(dealer, f"/orders/{number}"))
    assert "总部 张三 代下单" in timeline
    mine = place()  # the dealer's own order keeps the plain name
    assert "代下单" not in text_of(page_of(dealer, f"/orders/{mine}"))
    mine_card = re.search(
        rf'<li class="card order-card">(?:(?!</li>).)*{mine}.*?</li>',
        page_of(dealer, "/orders"),
        re.S,
    )
    assert mine_card and "总部代下单" not in mine_card.group(0)
    assert "由总部 张三 代经销商下单" in text_of(page_of(desk.client, f"/admin/orders/{number}"))


def test_a_double_submitted_form_places_once(desk, app):
    desk_client = client_for(app, "desk")
    form = place_form(draft_page(desk_client, l="TEA-1:2"))

    first = post(desk_client, "/admin/order-for/SH001", form)
    second = post(desk_client, "/admin/order-for/SH001", form)

    assert first.headers["Location"] == second.headers["Location"]
    assert order_count() == 1
    assert f.stock_of("TEA-1") == (100, 2)


@pytest.mark.parametrize(
    ("line", "reason", "status"),
    [
        ("JUICE-6:18", "库存不足", 409),  # 12 瓶 on hand
        ("TEA-1:100", "可用资金不足：可用 ¥600.00，本单需 ¥900.00", 409),
        ("JUICE-6:3", "低于起订量 6瓶", 422),
        ("JUICE-6:8", "须按 6瓶 的整数倍订购", 422),
        ("TEA-1:abc", "请输入不小于 1 的整数", 422),
    ],
)
def test_a_refused_order_shows_why_and_places_nothing(desk, app, line, reason, status):
    desk_client = client_for(app, "desk")
    page = draft_page(desk_client, l=line)
    before = f.footprint()

    response = post(desk_client, "/admin/order-for/SH001", place_form(page))

    assert response.status_code == status
    shown = text_of(response.get_data(as_text=True))
    assert reason in shown, shown[:2000]
    assert f.footprint() == before
    assert 'id="place-order"' in response.get_data(as_text=True)  # the form is still there


def test_a_product_the_dealers_tier_may_not_see_is_refused_for_them(desk, app):
    desk_client = client_for(app, "desk")
    assert 'name="add" value="GOLD-ONLY"' not in draft_page(desk_client, "BJ001", q="金牌")
    page = draft_page(desk_client, "BJ001", l="GOLD-ONLY:1")
    assert "该经销商不可订购此商品" in text_of(page)
    before = f.footprint()

    response = post(desk_client, "/admin/order-for/BJ001", place_form(page))

    assert response.status_code == 422 and f.footprint() == before


def test_rebate_beyond_what_the_dealer_has_is_refused(desk, app):
    desk_client = client_for(app, "desk")
    page = draft_page(desk_client, l="TEA-1:2")
    before = f.footprint()

    response = post(desk_client, "/admin/order-for/SH001", place_form(page, use_rebate="5"))

    assert response.status_code == 422 and f.footprint() == before
    assert "本单最多可使用返利" in text_of(response.get_data(as_text=True))


def test_update_and_remove_change_only_the_draft(desk, app):
    desk_client = client_for(app, "desk")
    page = draft_page(desk_client, l=["TEA-1:2", "JUICE-6:6"])
    fields = [(n, v) for n, v in place_form(page) if n != "action"]
    before = f.footprint()

    removed = post(desk_client, "/admin/order-for/SH001", [*fields, ("remove", "TEA-1")])
    updated = post(
        desk_client,
        "/admin/order-for/SH001",
        [(n, "12" if (n, v) == ("qty", "6") else v) for n, v in fields] + [("action", "update")],
    )

    assert removed.status_code == 303
    assert parse_qs(urlsplit(removed.headers["Location"]).query)["l"] == ["JUICE-6:6"]
    assert parse_qs(urlsplit(updated.headers["Location"]).query)["l"] == ["TEA-1:2", "JUICE-6:12"]
    assert f.footprint() == before


def test_no_order_for_a_deactivated_or_unknown_dealer(desk, app):
    accounts.update_dealer("BJ001", {"active": False})
    desk_client = client_for(app, "desk")
    page = draft_page(desk_client, "BJ001", l="TEA-1:1")
    assert "该经销商已停用" in text_of(page)
    assert "BJ001" not in page_of(desk_client, "/admin/order-for")
    response = post(desk_client, "/admin/order-for/BJ001", place_form(page))
    assert response.status_code == 409 and order_count() == 0
    assert page_of(desk_client, "/admin/order-for/NOPE", 404)


# --- the catalog as one dealer sees it -------------------------------------------------------


def test_the_catalog_as_a_dealer_shows_their_prices_products_and_stock_display(desk):
    gold = page_of(desk.client, "/admin/as-dealer/SH001/catalog")
    silver = page_of(desk.client, "/admin/as-dealer/BJ001/catalog")

    assert "¥9.00" in gold and "金牌专供" in gold  # GOLD's price and GOLD-only product
    assert "¥10.00" in silver and "金牌专供" not in silver
    assert re.search(r"data-stock-badge>有货 <b>100</b>", gold)
    settings.update_settings({"show_exact_stock": False})
    hidden = page_of(desk.client, "/admin/as-dealer/SH001/catalog")
    assert re.search(r"data-stock-badge>有货</span>", hidden) and "<b>100</b>" not in hidden
    assert "经销商只看到库存状态" in text_of(hidden)
    product = page_of(desk.client, "/admin/as-dealer/SH001/catalog/TEA-1")
    assert "¥9.00" in product and "金牌经销商价" in product
    assert page_of(desk.client, "/admin/as-dealer/BJ001/catalog/GOLD-ONLY", 404)


def test_the_catalog_as_a_dealer_has_nothing_that_writes(desk):
    for url in ("/admin/as-dealer/SH001/catalog", "/admin/as-dealer/SH001/catalog/TEA-1"):
        page = page_of(desk.client, url)
        main = page[page.index('<main id="main"') :]
        assert 'method="post"' not in main, url
        assert "/cart" not in main and "order-sheet" not in main and "hx-post" not in main


def test_the_catalog_as_a_dealer_searches_and_pages(desk):
    page = page_of(desk.client, "/admin/as-dealer/SH001/catalog?q=果汁")
    assert "果汁" in page and "绿茶" not in page


# --- who may open what -----------------------------------------------------------------------

READ = ["/admin/orders", "/admin/orders?status=all", "/admin/orders/{n}"]
DESK_ONLY = [
    "/admin/order-for",
    "/admin/order-for/SH001",
    "/admin/as-dealer/SH001/catalog",
    "/admin/as-dealer/SH001/catalog/TEA-1",
]
POSTS = [
    ("/admin/orders/{n}/approve", {"next": "/admin/orders"}),
    ("/admin/orders/{n}/reject", {"reason": "缺货"}),
    ("/admin/orders/batch-approve", {"number": "{n}"}),
    ("/admin/order-for/SH001", {"sku": "TEA-1", "qty": "1", "key": "k", "action": "place"}),
]


def fill(data: dict, number: str) -> dict:
    return {k: v.replace("{n}", number) for k, v in data.items()}


@pytest.mark.parametrize("url", READ + DESK_ONLY)
def test_admin_and_order_desk_open_every_desk_page(desk, app, url):
    number = place()
    for username in ("hq", "desk"):
        assert client_for(app, username).get(url.format(n=number)).status_code == 200, username


@pytest.mark.parametrize("url", READ)
def test_finance_reads_the_desk(desk, app, url):
    number = place()
    page = page_of(client_for(app, "money"), url.format(n=number))
    assert "desk-approve" not in page and 'id="batch"' not in page and 'id="approve"' not in page
    assert "/admin/order-for" not in page  # no link to what it may not open


@pytest.mark.parametrize("url", DESK_ONLY)
def test_finance_is_refused_hq_ordering_and_the_dealer_view(desk, app, url):
    assert client_for(app, "money").get(url).status_code == 403


@pytest.mark.parametrize("url", READ + DESK_ONLY)
def test_dealers_are_refused_every_desk_page(desk, app, url):
    number = place()
    assert client_for(app, "sh").get(url.format(n=number)).status_code == 403


@pytest.mark.parametrize(("url", "data"), POSTS)
@pytest.mark.parametrize("username", ["money", "sh"])
def test_finance_and_dealers_are_refused_every_desk_write_and_nothing_changes(
    desk, app, url, data, username
):
    number = place()
    client = client_for(app, username)
    home = page_of(client, "/me" if username == "sh" else "/admin/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', home)[1]
    before = f.footprint()

    response = client.post(url.format(n=number), data={**fill(data, number), "csrf_token": token})

    assert response.status_code == 403
    assert f.footprint() == before


@pytest.mark.parametrize(("url", "data"), POSTS)
def test_every_desk_write_needs_the_csrf_token(desk, url, data):
    number = place()
    before = f.footprint()

    response = desk.client.post(url.format(n=number), data=fill(data, number))

    assert response.status_code == 400
    assert f.footprint() == before


def test_the_navigation_offers_order_for_a_dealer_to_those_who_may(desk, app):
    assert 'href="/admin/order-for"' in page_of(client_for(app, "desk"), "/admin/orders")
    assert 'href="/admin/order-for"' not in page_of(client_for(app, "money"), "/admin/orders")


def test_an_approval_sent_twice_approves_once_and_the_retry_is_not_refused(desk):
    number = place()
    url = f"/admin/orders/{number}"
    hidden = hidden_fields(page_of(desk.client, url), f"{url}/approve")

    first = desk.client.post(f"{url}/approve", data=hidden)
    again = desk.client.post(f"{url}/approve", data=hidden)

    assert first.status_code == again.status_code == 302
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert status_of(number) == "approved"
    approvals = db.session.scalar(
        select(func.count()).select_from(OrderEvent).where(OrderEvent.status == "approved")
    )
    assert approvals == 1
