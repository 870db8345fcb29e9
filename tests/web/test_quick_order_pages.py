"""快速下单 pages: a plain form (no JavaScript needed), a preview naming each problem with its
fix, and one tap adding every line that fits through the cart's own checks."""

from __future__ import annotations

import html
import io
import re
from types import SimpleNamespace

import pytest
from openpyxl import Workbook

from app.services import cart
from tests import factories as f
from tests.api.helpers import db_state


@pytest.fixture
def shop(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD", credit_limit=10_000_000)
    f.product(
        "JUICE-6", name="果汁", list_price=1000, min_order_qty=6, order_multiple=6, on_hand=100
    )
    f.prices("JUICE-6", tiers={"GOLD": [(1, 1000), (12, 900)]})
    for i in range(1, 9):
        f.product(f"TEA-{i}", name=f"茶{i}", list_price=500, on_hand=20)
    buyer = f.dealer_user("SH001", "buyer")
    assert f.web_login(client, "buyer").status_code == 302
    return SimpleNamespace(client=client, buyer=buyer)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def preview(shop, lines: str):
    token = f.csrf_from(shop.client.get("/quick-order").data)
    return shop.client.post("/quick-order", data={"lines": lines, "csrf_token": token})


TEN_LINES = "\n".join(
    [
        "SKU\t数量",  # a header
        "JUICE-6\t4",  # below the minimum: rounded up to 6
        "TEA-1 2",
        "TEA-2，３",  # full-width comma and digit
        "TEA-3 25",  # more than in stock: reduced to 20
        "TEA-9 1",  # unknown: TEA-1 … offered
        "TEA-4 1",
        "tea-5 1",
        "TEA-6 1",
        "TEA-1 1",  # named twice: merged into line 3
    ]
)


def test_the_page_is_a_plain_form_with_a_lines_field(shop):
    page = shop.client.get("/quick-order").get_data(as_text=True)
    assert '<textarea id="quick-lines" name="lines"' in page
    assert 'method="post" action="/quick-order"' in page
    assert "快速下单" in page


def test_ten_pasted_lines_with_three_problems_preview_and_add_the_rest(shop):
    before = db_state()
    response = preview(shop, TEN_LINES)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = text_of(page)
    assert db_state() == before  # a preview changes nothing
    assert "已按起订量 6、每 6 递增调整为 6" in shown
    assert "当前库存只能加入 20" in shown
    assert "没有这个商品编码" in shown and "是不是：" in shown and "TEA-1" in shown
    assert "已合并" in shown
    adding = re.search(r'<form method="post" action="/quick-order/add".*?</form>', page, re.S)[0]
    pairs = list(
        zip(
            re.findall(r'name="sku" value="([^"]+)"', adding),
            map(int, re.findall(r'name="qty" value="([^"]+)"', adding)),
            strict=True,
        )
    )
    assert pairs == [
        ("JUICE-6", 6),
        ("TEA-1", 3),
        ("TEA-2", 3),
        ("TEA-3", 20),
        ("TEA-4", 1),
        ("TEA-5", 1),
        ("TEA-6", 1),
    ]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', adding)[1]
    data = {
        "csrf_token": f.csrf_from(page),
        "idempotency_key": key,
        "sku": [s for s, _ in pairs],
        "qty": [str(n) for _, n in pairs],
    }
    added = shop.client.post("/quick-order/add", data=data)
    assert shop.client.post("/quick-order/add", data=data).status_code == 302  # a double tap
    assert added.status_code == 302 and added.headers["Location"].endswith("/cart")
    view, _ = cart.view(shop.buyer)
    assert {line.product.sku: line.qty for line in view.lines} == dict(pairs)
    assert "已将 7 种商品加入购物车" in text_of(shop.client.get("/cart").get_data(as_text=True))


def test_a_line_the_cart_now_refuses_is_named_and_the_others_go_in(shop):
    token = f.csrf_from(shop.client.get("/quick-order").data)
    data = {"csrf_token": token, "sku": ["TEA-1", "TEA-2"], "qty": ["2", "999"]}
    shop.client.post("/quick-order/add", data=data)
    view, _ = cart.view(shop.buyer)
    assert {line.product.sku: line.qty for line in view.lines} == {"TEA-1": 2}
    assert "未加入：TEA-2" in text_of(shop.client.get("/cart").get_data(as_text=True))


@pytest.mark.parametrize("lines", ["", "   \n\n", "A 1\n" * 501])
def test_an_empty_or_too_long_paste_is_refused_with_a_message(shop, lines):
    response = preview(shop, lines)
    assert response.status_code == 422
    assert 'id="quick-error"' in response.get_data(as_text=True)


def test_hq_cannot_open_it(client):
    f.admin("hq")
    f.web_login(client, "hq")
    assert client.get("/quick-order").status_code == 403


def upload(shop, content: bytes, name: str):
    token = f.csrf_from(shop.client.get("/quick-order").data)
    data = {"csrf_token": token, "lines": "", "file": (io.BytesIO(content), name)}
    return shop.client.post("/quick-order", data=data, content_type="multipart/form-data")


def _fitting(page: str) -> list[tuple[str, str]]:
    adding = re.search(r'<form method="post" action="/quick-order/add".*?</form>', page, re.S)[0]
    return list(
        zip(
            re.findall(r'name="sku" value="([^"]+)"', adding),
            re.findall(r'name="qty" value="([^"]+)"', adding),
            strict=True,
        )
    )


def test_the_dealers_own_csv_previews_like_a_paste(shop):
    content = "商品编码,名称,数量\nTEA-1,茶1,2\nJUICE-6,果汁,12\n".encode("gbk")
    response = upload(shop, content, "常订.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert _fitting(response.get_data(as_text=True)) == [("TEA-1", "2"), ("JUICE-6", "12")]


def test_the_dealers_own_xlsx_previews_like_a_paste(shop):
    book = Workbook()
    sheet = book.active
    sheet.append(["SKU", "数量"])
    sheet.append(["TEA-2", 3])
    sheet.append(["TEA-3", 4.0])
    out = io.BytesIO()
    book.save(out)
    response = upload(shop, out.getvalue(), "list.xlsx")
    assert response.status_code == 200
    assert _fitting(response.get_data(as_text=True)) == [("TEA-2", "3"), ("TEA-3", "4")]


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "photo.png"), (b"x" * (1024 * 1024 + 1), "big.csv")],
)
def test_a_file_that_is_no_list_is_refused_with_a_message(shop, content, name):
    before = db_state()
    response = upload(shop, content, name)
    assert response.status_code == 422
    assert 'id="quick-error"' in response.get_data(as_text=True)
    assert db_state() == before


def _order_form(page: str) -> dict:
    adding = re.search(r'<form method="post" action="/quick-order/add".*?</form>', page, re.S)[0]
    assert 'formaction="/quick-order/order"' in adding
    return {
        "csrf_token": f.csrf_from(page),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', adding)[1],
        "lines": html.unescape(re.search(r'name="lines" value="([^"]*)"', adding)[1]),
        "order_sku": re.findall(r'name="order_sku" value="([^"]+)"', adding),
        "order_qty": re.findall(r'name="order_qty" value="([^"]+)"', adding),
    }


def test_order_at_once_places_the_previewed_lines_once_and_leaves_the_cart(shop):
    cart.add(shop.buyer, "TEA-8", 2)
    data = _order_form(preview(shop, "JUICE-6 12\nTEA-1 2").get_data(as_text=True))
    placed = shop.client.post("/quick-order/order", data=data)
    again = shop.client.post("/quick-order/order", data=data)  # a double tap
    assert placed.status_code == 302 and "/orders/" in placed.headers["Location"]
    assert again.headers["Location"] == placed.headers["Location"]
    from app.extensions import db
    from app.models import Order

    orders = db.session.scalars(db.select(Order)).all()
    assert len(orders) == 1
    assert {line.sku: line.qty for line in orders[0].lines} == {"JUICE-6": 12, "TEA-1": 2}
    assert orders[0].goods_amount == 12 * 900 + 2 * 500  # the tier's price for 12
    view, _ = cart.view(shop.buyer)
    assert {line.product.sku: line.qty for line in view.lines} == {"TEA-8": 2}


def test_order_at_once_refused_shows_the_preview_with_why_and_places_nothing(shop):
    data = _order_form(preview(shop, "TEA-1 2").get_data(as_text=True))
    data["order_qty"] = ["999"]  # stock was taken meanwhile
    before = db_state()
    response = shop.client.post("/quick-order/order", data=data)
    assert response.status_code in (409, 422)
    page = response.get_data(as_text=True)
    assert 'id="quick-error"' in page and 'id="quick-lines-preview"' in page
    assert db_state() == before


def test_a_close_sku_taken_in_one_tap_previews_the_paste_again_with_it(shop):
    page = preview(shop, "TEA-9 2\nTEA-2 1").get_data(as_text=True)
    swap = re.search(r'form="quick-form" name="swap" value="([^"]+)"', page)[1]
    assert swap == "1:TEA-8"  # the closest first
    token = f.csrf_from(page)
    again = shop.client.post(
        "/quick-order", data={"lines": "TEA-9 2\nTEA-2 1", "swap": swap, "csrf_token": token}
    )
    assert again.status_code == 200
    assert _fitting(again.get_data(as_text=True)) == [("TEA-8", "2"), ("TEA-2", "1")]
    assert "TEA-8 2\nTEA-2 1" in html.unescape(again.get_data(as_text=True))


def test_the_preview_lists_lines_in_the_order_pasted_the_unread_among_them(shop):
    page = preview(shop, "TEA-1 1\nhello there\nTEA-2 1\nTEA-3\nTEA-4 1").get_data(as_text=True)
    preview_list = re.search(r'<ul class="cards quick-lines".*?</ul>', page, re.S)[0]
    heads = [
        text_of(h).strip() for h in re.findall(r'<p class="quick-head">(.*?)</p>', preview_list)
    ]
    assert [h.split(" ")[0] for h in heads] == ["TEA-1", "第", "TEA-2", "第", "TEA-4"]
    assert "第 2 行" in heads[1] and "第 4 行" in heads[3]


def test_a_quantity_too_large_for_any_order_says_the_limit(shop):
    shown = text_of(preview(shop, "TEA-1 5000000\nTEA-2 1").get_data(as_text=True))
    assert "第 1 行" in shown and "一行最多 1,000,000。" in shown


def test_order_at_once_beside_a_cart_line_is_fitted_and_priced_without_it(shop):
    cart.add(shop.buyer, "JUICE-6", 12)  # the tier's price from 12 is 900
    page = preview(shop, "JUICE-6 12").get_data(as_text=True)
    data = _order_form(page)
    assert list(zip(data["order_sku"], data["order_qty"], strict=True)) == [("JUICE-6", "12")]
    assert "¥108.00" in text_of(page)  # 12 × ¥9.00, the order's own price
    placed = shop.client.post("/quick-order/order", data=data)
    assert placed.status_code == 302
    from app.extensions import db
    from app.models import Order

    order = db.session.scalars(db.select(Order)).one()
    assert [(line.sku, line.qty, line.unit_price) for line in order.lines] == [("JUICE-6", 12, 900)]
    view, _ = cart.view(shop.buyer)
    assert {line.product.sku: line.qty for line in view.lines} == {"JUICE-6": 12}


@pytest.mark.parametrize(
    "change",
    [
        {"order_qty": ["2", "3"]},  # more quantities than SKUs
        {"order_sku": ["TEA-1", "tea-1"], "order_qty": ["1", "1"]},  # a SKU twice
        {"order_qty": ["²"]},
        {"order_sku": [], "order_qty": []},
    ],
)
def test_order_at_once_refuses_a_form_that_is_not_its_previews(shop, change):
    data = {**_order_form(preview(shop, "TEA-1 2").get_data(as_text=True)), **change}
    before = db_state()
    response = shop.client.post("/quick-order/order", data=data)
    assert response.status_code == 422
    assert "表单与预览不符" in text_of(response.get_data(as_text=True))
    assert db_state() == before


def test_a_crafted_swap_changes_nothing_and_breaks_nothing(shop):
    token = f.csrf_from(shop.client.get("/quick-order").data)
    for swap in ("²:TEA-1", "1:", ":", "1,x,99999999:TEA-1", "1:not a sku"):
        data = {"lines": "TEA-9 2", "swap": swap, "csrf_token": token}
        response = shop.client.post("/quick-order", data=data)
        assert response.status_code == 200, swap
