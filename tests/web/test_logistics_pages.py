"""HQ shipping pages and the dealer's shipment cards: ship all or part of an order through the
form, refusals shown next to it with nothing changed, delivery notes, the attention list,
carriers with their once-shown secrets, and a dealer who only ever sees their own shipments."""

import html
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app import demo
from app.extensions import db
from app.models import Carrier, Dealer, Shipment
from app.services import logistics, orders, products
from app.services.logistics import EventIn, ShipLine
from app.services.orders import LineRequest
from tests import factories as f

T0 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000, name="上海鑫源商贸")
    f.dealer("BJ001", "GOLD", credit_limit=10_000_000, name="北京京联商贸")
    dealer = db.session.scalar(db.select(Dealer).where(Dealer.code == "SH001"))
    dealer.address, dealer.contact_name, dealer.contact_phone = (
        "上海市浦东新区张江路 188 号",
        "王建国",
        "13816880001",
    )
    db.session.commit()
    f.product("TEA-1", name="绿茶", list_price=1000, on_hand=100)
    f.product("JUICE-6", name="果汁", unit="瓶", list_price=500, on_hand=60)
    buyer = f.dealer_user("SH001", "sh")
    f.dealer_user("BJ001", "bj")
    admin = f.admin("hq")
    logistics.create_carrier("sf", "顺丰速运")
    order = orders.place_order(buyer, [LineRequest("TEA-1", 10), LineRequest("JUICE-6", 12)])
    orders.approve_order(admin, order.number)
    return SimpleNamespace(admin=admin, number=order.number, client=client)


def admin_login(client):
    f.web_login(client, "hq")


def order_page(client, number: str) -> str:
    response = client.get(f"/admin/orders/{number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ship_form(client, number: str, **fields):
    """Post the order page's 发货 form as a browser would (its CSRF token, its line inputs)."""
    page = order_page(client, number)
    data = {
        "csrf_token": f.csrf_from(page),
        "carrier": "sf",
        "tracking_no": "SF100",
        "what": "all",
        "sku": re.findall(r'name="sku" value="([^"]+)"', page),
    }
    data["qty"] = [fields.pop(f"qty_{sku}", "0") for sku in data["sku"]]
    data.update(fields)
    return client.post(f"/admin/orders/{number}/shipments", data=data)


def fresh() -> None:
    """Forget what this test's session saw: the next read is what the database holds now."""
    db.session.rollback()
    db.session.expire_all()


def status_of(number: str) -> str:
    """The order's status as stored now, not as this test's session last saw it."""
    fresh()
    return orders.order_for_admin(number).status


def shipment_ids(number: str) -> list[int]:
    fresh()
    return [s.id for s in logistics.shipments_of(orders.order_for_admin(number).id)]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# --- shipping from the order page -----------------------------------------------------------


def test_an_approved_order_shows_the_ship_form_with_what_is_left(shop):
    admin_login(shop.client)
    page = order_page(shop.client, shop.number)

    assert f'action="/admin/orders/{shop.number}/shipments"' in page
    assert '<option value="sf">顺丰速运 (sf)</option>' in page
    assert re.search(r'name="qty" type="number"[^>]* value="10"', page)
    assert re.search(r'name="qty" type="number"[^>]* value="12"', page)
    assert "全部待发" in page


def test_hq_ships_everything_through_the_form(shop):
    admin_login(shop.client)

    response = ship_form(shop.client, shop.number, tracking_no="SF-ALL-1", **{"qty_TEA-1": "x"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/orders/{shop.number}#shipments")
    assert status_of(shop.number) == "shipped"
    assert f.stock_of("TEA-1") == (90, 0) and f.stock_of("JUICE-6") == (48, 0)
    page = order_page(shop.client, shop.number)
    assert "已发货" in page and "SF-ALL-1" in page and "待揽收" in page
    assert 'id="ship"' not in page  # nothing left to ship
    assert f"/admin/shipments/{shipment_ids(shop.number)[0]}/note" in page


def test_hq_ships_part_of_an_order_and_sees_what_is_still_to_ship(shop):
    admin_login(shop.client)

    response = ship_form(shop.client, shop.number, what="lines", **{"qty_TEA-1": "4"})

    assert response.status_code == 302
    assert status_of(shop.number) == "partially_shipped"
    assert f.stock_of("TEA-1") == (96, 6) and f.stock_of("JUICE-6") == (60, 12)
    page = order_page(shop.client, shop.number)
    said = text_of(page)
    assert "部分发货" in said
    assert re.search(r"尚未发出： 绿茶 6箱 、 ?果汁 12瓶", said)
    assert re.search(r'name="qty" type="number"[^>]* value="6"', page)  # what is left now


def test_over_shipment_is_shown_next_to_the_form_and_changes_nothing(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 8)])
    admin_login(shop.client)
    page = order_page(shop.client, shop.number)
    before = f.footprint()
    token = f.csrf_from(page)

    refused = shop.client.post(
        f"/admin/orders/{shop.number}/shipments",
        data={
            "csrf_token": token,
            "carrier": "sf",
            "tracking_no": "SF2",
            "what": "lines",
            "sku": ["TEA-1", "JUICE-6"],
            "qty": ["3", "0"],
        },
    )

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    error = re.search(r'<p class="alert" role="alert" id="ship-error">([^<]+)</p>', page)
    assert error, "the refusal sits on top of the 发货 form"
    assert "只剩2箱可发（填写了3）" in page  # under the line itself
    assert 'value="SF2"' in page and 'value="lines" id="ship-some" checked' in page
    assert f.footprint() == before
    assert len(shipment_ids(shop.number)) == 1


@pytest.mark.parametrize(
    ("fields", "status", "said"),
    [
        ({"carrier": "nope"}, 422, "请选择一个在用的承运商。"),
        ({"tracking_no": ""}, 422, "请填写运单号（1–64 个字符）。"),
        ({"what": "lines"}, 422, "请至少在一行填写发货数量，或选择发出全部待发商品。"),
        ({"what": "lines", "qty_TEA-1": "two"}, 422, "数量须为整数"),
    ],
)
def test_a_refused_form_says_why_and_ships_nothing(shop, fields, status, said):
    admin_login(shop.client)
    before = f.footprint()

    refused = ship_form(shop.client, shop.number, **fields)

    assert refused.status_code == status
    assert said in refused.get_data(as_text=True)
    assert f.footprint() == before and shipment_ids(shop.number) == []


def test_a_tracking_number_used_before_is_refused_in_words(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", [ShipLine("TEA-1", 1)])
    admin_login(shop.client)

    refused = ship_form(shop.client, shop.number, tracking_no="SF1")

    assert refused.status_code == 409
    assert "该运单号已被此承运商使用。" in refused.get_data(as_text=True)


def test_the_ship_form_needs_its_csrf_token(shop):
    admin_login(shop.client)
    refused = shop.client.post(
        f"/admin/orders/{shop.number}/shipments", data={"carrier": "sf", "tracking_no": "X"}
    )
    assert refused.status_code == 400
    assert shipment_ids(shop.number) == []


def test_a_submitted_order_has_no_ship_form_and_cannot_be_shipped(shop):
    buyer = f.user_named("sh")
    other = orders.place_order(buyer, [LineRequest("TEA-1", 1)]).number
    admin_login(shop.client)
    page = order_page(shop.client, other)
    assert 'id="ship"' not in page

    refused = shop.client.post(
        f"/admin/orders/{other}/shipments",
        data={"csrf_token": f.csrf_from(page), "carrier": "sf", "tracking_no": "Z1"},
    )
    assert refused.status_code == 409
    assert status_of(other) == "submitted"


def test_the_to_ship_list_holds_approved_and_partly_shipped_orders(shop):
    admin_login(shop.client)
    page = shop.client.get("/admin/shipping").get_data(as_text=True)
    assert shop.number in page and "绿茶 10箱" in page
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    assert shop.number not in shop.client.get("/admin/shipping").get_data(as_text=True)


# --- the delivery note --------------------------------------------------------------------------


def test_the_delivery_note_has_everything_the_driver_and_the_dealer_need(shop):
    shipment = logistics.create_shipment(
        shop.admin, shop.number, "sf", "SF778899", [ShipLine("JUICE-6", 6)]
    )
    db.session.execute(db.update(Shipment).where(Shipment.id == shipment.id).values(created_at=T0))
    db.session.commit()
    admin_login(shop.client)

    note = shop.client.get(f"/admin/shipments/{shipment.id}/note").get_data(as_text=True)
    said = text_of(note)

    for fact in (
        "上海鑫源商贸",
        "上海市浦东新区张江路 188 号",
        "王建国",
        "13816880001",
        shop.number,
        "顺丰速运",
        "SF778899",
        "2026-12-01 08:30",  # China time
        "JUICE-6",
        "果汁",
        "6瓶",
    ):
        assert fact in said, fact
    assert "TEA-1" not in said  # only this shipment's lines
    assert re.search(r'href="/static/css/print\.[0-9a-f]{10}\.css"', note)
    for frame in ('class="hq-side', 'class="hq-menu', 'class="tabbar'):
        assert frame not in note
    assert "data-print" in note and "@page" not in note  # A4 comes from print.css

    receipt = shop.client.get(f"/admin/shipments/{shipment.id}/note?paper=80mm")
    receipt_page = receipt.get_data(as_text=True)
    assert "paper-80mm" in receipt_page
    sheet = re.search(r'href="(/admin/shipments/\d+/receipt-page\.css)"', receipt_page).group(1)
    css = shop.client.get(sheet)
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True) == "@page { size: 80mm 115mm; margin: 3mm; }\n"  # its line


def test_the_print_stylesheet_hides_the_frame_and_sizes_the_page():
    with open("static/css/print.css", encoding="utf-8") as sheet:
        css = sheet.read()
    assert "@media print" in css and "@page { size: A4" in css
    assert re.search(r"@media print \{[^}]*\.no-print[^}]*display: none", css)


def test_unknown_shipments_and_carriers_are_404(shop):
    admin_login(shop.client)
    token = carriers_token(shop.client)
    assert shop.client.get("/admin/shipments/999999/note").status_code == 404
    assert shop.client.get("/admin/carriers/nope").status_code == 404
    for action in ("secret", "active"):
        response = shop.client.post(f"/admin/carriers/nope/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action


def test_a_dealer_cannot_open_hq_shipping_pages(shop):
    shipment = logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    f.web_login(shop.client, "sh")
    for url in (f"/admin/shipments/{shipment.id}/note", "/admin/shipments", "/admin/carriers"):
        assert shop.client.get(url).status_code == 403, url


# --- shipments needing attention -------------------------------------------------------------


def test_the_attention_list_says_why_each_shipment_is_there(shop):
    sf = logistics.carrier_by_code("sf")
    returned = logistics.create_shipment(
        shop.admin, shop.number, "sf", "RET1", [ShipLine("TEA-1", 1)]
    )
    flagged = logistics.create_shipment(
        shop.admin, shop.number, "sf", "EXC1", [ShipLine("TEA-1", 1)]
    )
    quiet = logistics.create_shipment(
        shop.admin, shop.number, "sf", "QUIET1", [ShipLine("TEA-1", 1)]
    )
    fine = logistics.create_shipment(shop.admin, shop.number, "sf", "FINE1", [ShipLine("TEA-1", 1)])
    logistics.record_events(
        sf,
        [
            EventIn("r1", "RET1", "returned", T0, "上海", "退回"),
            EventIn("e1", "EXC1", "exception", T0, "上海", "地址不详"),
            EventIn("f1", "FINE1", "in_transit", T0, "杭州", "运输中"),
        ],
    )
    four_days_ago = datetime.now(UTC) - timedelta(days=4)
    db.session.execute(
        db.update(Shipment).where(Shipment.id == quiet.id).values(created_at=four_days_ago)
    )
    db.session.commit()
    admin_login(shop.client)

    page = shop.client.get("/admin/shipments").get_data(as_text=True)

    def card(shipment) -> str:
        found = re.search(rf'id="attention-{shipment.id}">(.*?)</li>', page, re.S)
        return text_of(found.group(1)) if found else ""

    assert "已退回" in card(returned) and "RET1" in card(returned)
    assert "承运商报告异常" in card(flagged)
    assert "发货 4 天仍无承运商消息" in card(quiet)
    assert card(fine) == ""
    assert f'href="/admin/orders/{shop.number}#shipment-{returned.id}"' in page


# --- carriers -----------------------------------------------------------------------------------


def carriers_token(client) -> str:
    return f.csrf_from(client.get("/admin/carriers").get_data(as_text=True))


def test_creating_a_carrier_shows_its_secret_once_with_a_signing_snippet(shop):
    admin_login(shop.client)
    token = carriers_token(shop.client)

    created = shop.client.post(
        "/admin/carriers", data={"code": "yto", "name": "圆通速递", "csrf_token": token}
    )

    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    secret = db.session.scalar(db.select(Carrier.secret).where(Carrier.code == "yto"))
    assert page.count(secret) >= 2  # the secret and the snippet that uses it
    assert "X-Logistics-Signature: t=$T,v1=$SIG" in page
    assert "X-Logistics-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret" in page
    assert "http://localhost/webhooks/logistics/yto" in page
    assert "http://localhost/webhooks/kuaidi100/yto" in page and "salt" in page
    assert secret not in shop.client.get("/admin/carriers").get_data(as_text=True)
    assert secret not in shop.client.get("/admin/carriers/yto").get_data(as_text=True)


@pytest.mark.skipif(not shutil.which("openssl"), reason="the snippet signs with openssl")
def test_the_signing_snippet_produces_a_signature_the_webhook_accepts(shop):
    admin_login(shop.client)
    page = shop.client.post(
        "/admin/carriers",
        data={"code": "zto", "name": "中通快递", "csrf_token": carriers_token(shop.client)},
    ).get_data(as_text=True)
    snippet = html.unescape(
        re.search(r'<pre class="snippet" id="snippet">(.*?)</pre>', page, re.S)[1]
    )
    # Run it as a carrier's developer would, with curl printing its arguments instead.
    script = "curl() { printf '%s\\n' \"$@\"; }\n" + snippet
    args = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    header = next(a for a in args if a.startswith("X-Logistics-Signature: "))
    body = args[args.index("--data-binary") + 1]
    t, v1 = re.fullmatch(r"X-Logistics-Signature: t=(\d+),v1=([0-9a-f]{64})", header).groups()
    carrier = logistics.carrier_by_code("zto")
    assert logistics.signature_matches([carrier.secret], t, body.encode(), [v1])
    assert not logistics.signature_matches(["whsec_other"], t, body.encode(), [v1])


def test_a_carrier_code_taken_or_malformed_is_refused_next_to_the_form(shop):
    admin_login(shop.client)
    token = carriers_token(shop.client)
    taken = shop.client.post(
        "/admin/carriers", data={"code": "sf", "name": "x", "csrf_token": token}
    )
    assert taken.status_code == 409 and "该代码的承运商已存在。" in taken.get_data(as_text=True)
    bad = shop.client.post(
        "/admin/carriers", data={"code": "S F", "name": "y", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'value="S F"' in bad.get_data(as_text=True)
    assert [c.code for c in logistics.carriers()] == ["sf"]


def test_rotating_shows_the_new_secret_once_and_how_long_the_old_one_works(shop):
    old = logistics.carrier_by_code("sf").secret
    admin_login(shop.client)
    page = shop.client.get("/admin/carriers/sf").get_data(as_text=True)

    form = {"grace_hours": "48", "csrf_token": f.csrf_from(page), "version": version_of(page)}
    rotated = shop.client.post("/admin/carriers/sf/secret", data=form)

    assert rotated.status_code == 201
    fresh()
    carrier = logistics.carrier_by_code("sf")
    assert carrier.secret != old and carrier.previous_secret == old
    assert logistics.valid_secrets(carrier) == [carrier.secret, old]
    shown = rotated.get_data(as_text=True)
    assert carrier.secret in shown and old not in shown
    until = carrier.previous_valid_until.astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    assert f"旧密钥在 {until:%Y-%m-%d %H:%M} 前仍然有效" in shown
    assert carrier.secret not in shop.client.get("/admin/carriers/sf").get_data(as_text=True)


def version_of(page: str) -> str:
    """The rotate form's record of which secret it was shown for."""
    return re.search(r'name="version" value="([^"]*)"', page).group(1)


def test_a_reload_after_rotating_does_not_rotate_again(shop):
    admin_login(shop.client)
    page = shop.client.get("/admin/carriers/sf").get_data(as_text=True)
    form = {"grace_hours": "24", "csrf_token": f.csrf_from(page), "version": version_of(page)}
    assert shop.client.post("/admin/carriers/sf/secret", data=form).status_code == 201
    fresh()
    shown = logistics.carrier_by_code("sf").secret

    again = shop.client.post("/admin/carriers/sf/secret", data=form)  # the browser's reload

    assert again.status_code == 409
    assert "已经更换" in again.get_data(as_text=True) or "already" in again.get_data(as_text=True)
    fresh()
    assert logistics.carrier_by_code("sf").secret == shown


def test_a_rotation_with_a_bad_grace_period_changes_nothing(shop):
    old = logistics.carrier_by_code("sf").secret
    admin_login(shop.client)
    page = shop.client.get("/admin/carriers/sf").get_data(as_text=True)
    form = {"csrf_token": f.csrf_from(page), "version": version_of(page)}
    for hours in ("-1", "721", "soon"):
        refused = shop.client.post("/admin/carriers/sf/secret", data={**form, "grace_hours": hours})
        assert refused.status_code == 422, hours
        assert "宽限期" in refused.get_data(as_text=True)
    fresh()
    assert logistics.carrier_by_code("sf").secret == old


def test_deactivating_and_activating_a_carrier(shop):
    admin_login(shop.client)
    token = f.csrf_from(shop.client.get("/admin/carriers/sf").get_data(as_text=True))

    off = shop.client.post("/admin/carriers/sf/active", data={"active": "0", "csrf_token": token})
    assert off.status_code == 302
    fresh()
    assert logistics.carrier_by_code("sf").active is False
    assert '<option value="sf">' not in order_page(shop.client, shop.number)
    assert "停用" in shop.client.get("/admin/carriers").get_data(as_text=True)

    shop.client.post("/admin/carriers/sf/active", data={"active": "1", "csrf_token": token})
    fresh()
    assert logistics.carrier_by_code("sf").active is True


def test_the_event_log_filters_by_outcome_and_counts_refusals_without_bodies(shop):
    sf = logistics.carrier_by_code("sf")
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    logistics.record_events(
        sf,
        [
            EventIn("k1", "SF1", "picked_up", T0, "深圳", "已揽收"),
            EventIn("k1", "SF1", "picked_up", T0, "深圳", "已揽收"),
            EventIn("k2", "LOST9", "in_transit", T0, "广州", "运输中"),
        ],
    )
    for _ in range(3):
        logistics.count_refusal("sf", "bad_signature")
    logistics.count_refusal("sf", "stale_timestamp")
    admin_login(shop.client)

    def rows(outcome: str = "") -> list[str]:
        page = shop.client.get(f"/admin/carriers/sf?outcome={outcome}").get_data(as_text=True)
        return re.findall(r'class="event-row outcome-(\w+)"', page)

    assert sorted(rows()) == ["applied", "duplicate", "unmatched"]
    assert rows("applied") == ["applied"]
    assert rows("duplicate") == ["duplicate"]
    assert rows("unmatched") == ["unmatched"]
    page = shop.client.get("/admin/carriers/sf").get_data(as_text=True)
    assert re.search(r'data-reason="bad_signature">3<', page)
    assert re.search(r'data-reason="stale_timestamp">1<', page)
    assert re.search(r'data-reason="bad_body">0<', page)
    assert f'href="/admin/orders/{shop.number}#shipment-' in page  # the applied event's order


# --- the dealer's order page -------------------------------------------------------------------


def test_the_dealer_reads_shipments_with_the_newest_carrier_event_first(shop):
    sf = logistics.carrier_by_code("sf")
    shipment = logistics.create_shipment(
        shop.admin, shop.number, "sf", "SF5566", [ShipLine("TEA-1", 4)]
    )
    # Arriving out of order: the page still lists them by when they happened, newest first.
    logistics.record_events(
        sf,
        [
            EventIn("b", "SF5566", "in_transit", T0 + timedelta(hours=5), "杭州转运中心", "运输中"),
            EventIn("a", "SF5566", "picked_up", T0, "上海浦东", "顺丰已揽收"),
        ],
    )
    f.web_login(shop.client, "sh")

    page = shop.client.get(f"/orders/{shop.number}").get_data(as_text=True)
    card = re.search(rf'id="shipment-{shipment.id}">(.*?)</article>', page, re.S).group(1)
    said = text_of(card)

    assert "顺丰速运" in said and "SF5566" in said and 'data-copy="#tracking-' in card
    assert re.search(r"data-shipment-status>运输中<", card)
    assert said.index("杭州转运中心") < said.index("上海浦东")
    assert "2026-12-01 13:30" in said and "2026-12-01 08:30" in said  # China time
    assert "绿茶" in said and "4箱" in said
    assert "尚未发出" in text_of(page) and "部分发货" in text_of(page)
    assert "/admin/shipments" not in page  # no HQ links for dealers


def test_every_shipment_status_reads_in_words(shop):
    sf = logistics.carrier_by_code("sf")
    words = {}
    for i, status in enumerate(("picked_up", "out_for_delivery", "returned")):
        tracking = f"W{i}"
        logistics.create_shipment(shop.admin, shop.number, "sf", tracking, [ShipLine("TEA-1", 1)])
        logistics.record_events(sf, [EventIn(f"w{i}", tracking, status, T0)])
        words[tracking] = status
    logistics.create_shipment(shop.admin, shop.number, "sf", "W9", [ShipLine("TEA-1", 1)])
    logistics.record_events(sf, [EventIn("w9", "W9", "exception", T0)])
    f.web_login(shop.client, "sh")

    page = shop.client.get(f"/orders/{shop.number}").get_data(as_text=True)

    statuses = re.findall(r"data-shipment-status>([^<]+)<", page)
    assert statuses == ["已揽收", "派送中", "已退回", "待揽收"]
    assert 'class="pill pill-ship-exception">异常<' in page


def test_delivered_orders_read_delivered_and_sit_under_their_tabs(shop):
    sf = logistics.carrier_by_code("sf")
    logistics.create_shipment(shop.admin, shop.number, "sf", "SF1", None)
    f.web_login(shop.client, "sh")
    shipped = shop.client.get("/orders?tab=shipped").get_data(as_text=True)
    assert shop.number in shipped
    assert shop.number not in shop.client.get("/orders?tab=done").get_data(as_text=True)

    logistics.record_events(sf, [EventIn("d1", "SF1", "delivered", T0, "上海", "已签收")])

    done = shop.client.get("/orders?tab=done").get_data(as_text=True)
    assert shop.number in done
    page = text_of(shop.client.get(f"/orders/{shop.number}").get_data(as_text=True))
    assert page.count("已签收") >= 3  # the order pill, its timeline, the shipment
    assert "已发货" in page  # the timeline keeps the step before


def test_another_dealers_shipments_are_never_shown(shop):
    logistics.create_shipment(shop.admin, shop.number, "sf", "SECRET-TRACK", None)
    products.set_on_hand("TEA-1", 100)
    f.web_login(shop.client, "bj")

    assert shop.client.get(f"/orders/{shop.number}").status_code == 404
    for url in ("/orders", "/orders?tab=shipped", "/catalog"):
        assert "SECRET-TRACK" not in shop.client.get(url).get_data(as_text=True), url


# --- demo data ----------------------------------------------------------------------------------


def test_demo_data_gives_dealers_contacts_and_one_carrier_and_stays_idempotent(app, monkeypatch):
    monkeypatch.setattr(demo, "hash_password", lambda password: "not-a-real-hash")
    first = demo.load_demo_data()
    second = demo.load_demo_data()

    assert first["carriers"] == 1 and second == dict.fromkeys(second, 0)
    dealer = db.session.scalar(db.select(Dealer).where(Dealer.code == "GZ001"))
    assert dealer.address and dealer.contact_name and dealer.contact_phone
    assert [(c.code, c.name) for c in logistics.carriers()] == [("sf", "顺丰速运")]
