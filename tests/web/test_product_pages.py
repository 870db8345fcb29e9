"""HQ product, price and stock pages: search and filters, create and edit with every field,
on/off sale in one tap, the product image (checked, resized, cached, shown on dealers'
cards), price tables edited in place with "why this price", on-hand counts with a reason —
plain forms over the API's services, refusing what a role may not do, changing nothing on a
refusal."""

from __future__ import annotations

import html
import io
import json
import re
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Product, ProductImage, StockMovement
from app.services import images, products, settings, staff
from tests import factories as f
from tests.api.helpers import db_state, reserve


@pytest.fixture
def hq(app, client):
    """Admin `hq` logged in; GOLD dealer SH001 (user `sh`), SILVER BJ001 (user `bj`); HQ users
    `desk` (order desk) and `money` (finance); four products in two categories."""
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", name="上海鑫源商贸")
    f.dealer("BJ001", "SILVER", name="北京京联商贸")
    f.dealer_user("SH001", "sh")
    f.dealer_user("BJ001", "bj")
    admin = f.admin("hq")
    staff.create_staff(admin, "desk", f.PASSWORD, "order_desk")
    staff.create_staff(admin, "money", f.PASSWORD, "finance")
    f.product("DRK-001", name="冰爽柠檬茶", category="饮料", list_price=4500, on_hand=100)
    f.product("DRK-002", name="无糖乌龙茶", category="饮料", list_price=5200, on_hand=3)
    f.product("DAI-001", name="纯牛奶", category="乳品", list_price=6500, on_hand=0, active=False)
    f.product("ALC-009", name="酱香白酒", category="酒水", list_price=59800, on_hand=20,
              visible_tiers=["GOLD"])  # fmt: skip
    f.prices("DRK-001", tiers={"GOLD": [(1, 4000), (10, 3800)]}, dealers={"BJ001": [(1, 4100)]})
    f.web_login(client, "hq")
    return SimpleNamespace(client=client, app=app, admin=admin)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def post(client, url: str, data: dict, *, page: str | None = None, **kwargs):
    """Post a form with the CSRF token of a page (by default the product list)."""
    token = f.csrf_from(page or get(client, "/admin/products"))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def as_user(app, username: str):
    other = app.test_client()
    f.web_login(other, username)
    return other


def stored(sku: str) -> Product:
    db.session.rollback()
    return products.product_by_sku(sku)


def jpeg(size=(1200, 900), fmt="JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, fmt)
    return out.getvalue()


PRODUCT_FORM = {
    "name": "冰爽柠檬茶 500ml",
    "unit": "箱",
    "spec": "500ml×15瓶",
    "list_price": "¥46.50",
    "category": "饮料",
    "min_order_qty": "2",
    "order_multiple": "2",
    "low_stock_threshold": "12",
    "active": "1",
}


# --- the list ----------------------------------------------------------------------------


def test_the_list_searches_filters_and_shows_stock(hq):
    page = text_of(get(hq.client, "/admin/products"))
    assert "共 4 个商品" in page or "4 products" in page
    for name in ("冰爽柠檬茶", "无糖乌龙茶", "纯牛奶", "酱香白酒"):
        assert name in page
    found = get(hq.client, "/admin/products?q=乌龙")
    assert 'id="row-DRK-002"' in found and 'id="row-DRK-001"' not in found
    by_sku = get(hq.client, "/admin/products?q=DRK")
    assert 'id="row-DRK-001"' in by_sku and 'id="row-DAI-001"' not in by_sku
    dairy = get(hq.client, "/admin/products?category=乳品")
    assert 'id="row-DAI-001"' in dairy and 'id="row-DRK-001"' not in dairy
    off = get(hq.client, "/admin/products?active=0")
    assert re.findall(r'id="row-([^"]+)"', off) == ["DAI-001"]
    low = get(hq.client, "/admin/products?low=1&active=1")
    assert re.findall(r'id="row-([^"]+)"', low) == ["DRK-002"]


def test_the_list_pages_by_fifty(hq):
    for i in range(55):
        f.product(f"BULK-{i:03d}", category="饮料")
    first = get(hq.client, "/admin/products?q=BULK")
    assert len(re.findall(r'id="row-', first)) == 50 and 'rel="next"' in first
    second = get(hq.client, "/admin/products?q=BULK&page=2")
    assert len(re.findall(r'id="row-', second)) == 5 and 'rel="prev"' in second
    assert "q=BULK" in re.search(r'rel="prev" href="([^"]+)"', second).group(1)


def test_order_desk_reads_the_list_without_write_buttons(hq):
    desk = as_user(hq.app, "desk")
    page = get(desk, "/admin/products")
    assert 'id="row-DRK-001"' in page
    assert "new-product" not in page and "data-toggle" not in page
    detail = get(desk, "/admin/products/DRK-001")
    assert 'id="edit"' not in detail and "upload-image" not in detail
    assert "prices-link" not in detail and "/admin/products/DRK-001/prices" not in detail
    assert 'id="stock-link"' in detail


# --- create and edit ---------------------------------------------------------------------


def test_create_a_product_with_every_field(hq):
    data = {**PRODUCT_FORM, "sku": "DRK-100", "visible_tiers": ["GOLD", "SILVER"]}
    page = get(hq.client, "/admin/products/new")
    response = post(hq.client, "/admin/products/new", data, page=page)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/products/DRK-100")
    made = stored("DRK-100")
    assert (made.name, made.unit, made.spec, made.list_price) == (
        "冰爽柠檬茶 500ml",
        "箱",
        "500ml×15瓶",
        4650,
    )
    assert (made.min_order_qty, made.order_multiple, made.low_stock_threshold) == (2, 2, 12)
    assert made.category_name == "饮料" and made.active is True
    assert sorted(t.code for t in made.limited_to) == ["GOLD", "SILVER"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "product.create").order_by(AuditEntry.id)
    ).all()[-1]
    assert (entry.username, entry.via, entry.object_key) == ("hq", "page", "DRK-100")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"sku": "has space"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"name": "  "}, "name"),
        ({"list_price": "12.345"}, "list_price"),
        ({"list_price": "-1"}, "list_price"),
        ({"min_order_qty": "0"}, "min_order_qty"),
        ({"order_multiple": "two"}, "order_multiple"),
        ({"low_stock_threshold": "-3"}, "low_stock_threshold"),
        ({"visible_tiers": ["NOPE"]}, "visible_tiers"),
    ],
)
def test_a_bad_new_product_is_refused_with_the_field_marked(hq, changes, field):
    before = db_state()
    data = {**PRODUCT_FORM, "sku": "DRK-100", **changes}
    response = post(hq.client, "/admin/products/new", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and 'id="form-error"' in page
    assert db_state() == before


def test_a_taken_sku_is_refused_and_nothing_changes(hq):
    before = db_state()
    response = post(hq.client, "/admin/products/new", {**PRODUCT_FORM, "sku": "DRK-001"})
    assert response.status_code == 409
    assert "该商品编码已存在" in response.get_data(as_text=True)
    assert db_state() == before


def test_edit_every_field_from_the_product_page(hq):
    page = get(hq.client, "/admin/products/ALC-009")
    data = {**PRODUCT_FORM, "name": "酱香型白酒 53度", "visible_tiers": ["SILVER"]}
    data.pop("active")  # unticked: off sale
    response = post(hq.client, "/admin/products/ALC-009", data, page=page)
    assert response.status_code == 302
    changed = stored("ALC-009")
    assert changed.name == "酱香型白酒 53度" and changed.list_price == 4650
    assert changed.active is False and [t.code for t in changed.limited_to] == ["SILVER"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "product.update").order_by(AuditEntry.id)
    ).all()[-1]
    assert json.loads(entry.before)["visible_tiers"] == ["GOLD"]
    assert json.loads(entry.after)["active"] is False


def test_a_bad_edit_shows_what_was_typed_and_changes_nothing(hq):
    before = db_state()
    data = {**PRODUCT_FORM, "name": "新名字", "list_price": "四十五"}
    response = post(hq.client, "/admin/products/DRK-001", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="list_price-error"' in page and 'value="新名字"' in page
    assert db_state() == before


def test_on_and_off_sale_in_one_tap_back_to_the_same_list(hq):
    here = "/admin/products?q=DRK"
    page = get(hq.client, here)
    assert 'data-toggle="DRK-001"' in page
    response = post(
        hq.client, "/admin/products/DRK-001/active", {"active": "0", "next": here}, page=page
    )
    assert response.status_code == 302 and response.headers["Location"] == here
    assert stored("DRK-001").active is False
    dealer = as_user(hq.app, "sh")
    assert "冰爽柠檬茶" not in get(dealer, "/catalog")
    post(hq.client, "/admin/products/DRK-001/active", {"active": "1", "next": "//evil.example"})
    assert stored("DRK-001").active is True
    assert "冰爽柠檬茶" in get(dealer, "/catalog")


def test_a_form_without_its_csrf_token_is_refused(hq):
    before = db_state()
    response = hq.client.post("/admin/products/DRK-001/active", data={"active": "0"})
    assert response.status_code == 400
    assert db_state() == before


# --- who may open what --------------------------------------------------------------------

READS = [
    "/admin/products",
    "/admin/products/DRK-001",
    "/admin/stock",
    "/admin/products/DRK-001/stock",
]
ADMIN_ONLY_PAGES = ["/admin/products/new", "/admin/products/DRK-001/prices"]
WRITES = [
    ("/admin/products/new", {**PRODUCT_FORM, "sku": "X-1"}),
    ("/admin/products/DRK-001", PRODUCT_FORM),
    ("/admin/products/DRK-001/active", {"active": "0"}),
    ("/admin/products/DRK-001/image/delete", {}),
    ("/admin/products/DRK-001/prices", {"tables": "0"}),
    ("/admin/products/DRK-001/stock", {"on_hand": "1", "reason": "x"}),
    ("/admin/stock/display", {"show_exact": "0"}),
]


@pytest.mark.parametrize("username", ["sh", "money"])
def test_dealers_and_finance_reach_none_of_these_pages(hq, username):
    other = as_user(hq.app, username)
    for url in READS + ADMIN_ONLY_PAGES:
        assert other.get(url).status_code == 403, url
    home = get(other, "/catalog" if username == "sh" else "/admin/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    before = db_state()
    for url, data in WRITES:
        assert other.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert db_state() == before


def test_order_desk_reads_products_and_stock_but_not_prices_or_writes(hq):
    desk = as_user(hq.app, "desk")
    for url in READS:
        assert desk.get(url).status_code == 200, url
    for url in ADMIN_ONLY_PAGES:
        response = desk.get(url)
        assert response.status_code == 403, url
        assert "您无权访问此页面" in response.get_data(as_text=True)
    token = f.csrf_from(get(desk, "/admin/products"))
    before = db_state()
    for url, data in WRITES:
        assert desk.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert db_state() == before
    nav = get(desk, "/admin/products")
    assert 'href="/admin/products"' in nav and 'href="/admin/stock"' in nav


# --- the product image --------------------------------------------------------------------


def upload(hq, sku: str, content: bytes, name: str = "photo.jpg"):
    page = get(hq.client, f"/admin/products/{sku}")
    return post(
        hq.client,
        f"/admin/products/{sku}/image",
        {"image": (io.BytesIO(content), name)},
        page=page,
        content_type="multipart/form-data",
    )


def image_urls(page: str) -> list[str]:
    return re.findall(r'src="(/media/products/[0-9a-f]+/(?:thumb|phone)\.jpg)"', page)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_uploaded_image_is_resized_and_served_with_long_cache_headers(hq, fmt):
    response = upload(hq, "DRK-001", jpeg((1600, 1200), fmt), f"p.{fmt.lower()}")
    assert response.status_code == 302
    page = get(hq.client, "/admin/products/DRK-001")
    phone = next(u for u in image_urls(page) if u.endswith("/phone.jpg"))
    served = hq.client.get(phone)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(served.data)).size == (800, 600)
    thumb = hq.client.get(phone.replace("/phone.jpg", "/thumb.jpg"))
    assert Image.open(io.BytesIO(thumb.data)).size == (160, 120)
    again = hq.client.get(phone, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_a_new_image_gets_a_new_url_and_the_old_one_is_gone(hq):
    upload(hq, "DRK-001", jpeg((600, 600)))
    first = image_urls(get(hq.client, "/admin/products/DRK-001"))[0]
    upload(hq, "DRK-001", jpeg((900, 600), "PNG"))
    second = image_urls(get(hq.client, "/admin/products/DRK-001"))[0]
    assert first != second
    assert hq.client.get(first).status_code == 404
    assert hq.client.get(second).status_code == 200


@pytest.mark.parametrize(
    "content, message",
    [
        (b"GIF89a" + b"\x00" * 64, "只能上传 JPEG、PNG 或 WebP 图片"),
        (b"%PDF-1.4 not a picture", "只能上传 JPEG、PNG 或 WebP 图片"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "图片文件已损坏或不完整"),
        (jpeg((80, 80)) + b"\x00" * images.MAX_BYTES, "图片超过 5 MB"),
        (b"", "请先选择图片文件"),
    ],
)
def test_a_fake_or_too_large_image_is_refused_clearly_and_nothing_is_stored(hq, content, message):
    before = db_state()
    response = upload(hq, "DRK-001", content, "looks-like.jpg")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="image-error"' in page
    assert db_state() == before


def test_dealer_cards_show_the_thumbnail_and_keep_the_initial_as_fallback(hq):
    upload(hq, "DRK-001", jpeg())
    digest = images.digest_of(stored("DRK-001").id)
    dealer = as_user(hq.app, "sh")
    cards = get(dealer, "/catalog?q=DRK")
    card_1 = re.search(r'<li class="card product-card" id="p-DRK-001".*?</li>', cards, re.S)
    card_2 = re.search(r'<li class="card product-card" id="p-DRK-002".*?</li>', cards, re.S)
    assert f'src="/media/products/{digest}/thumb.jpg"' in card_1.group(0)
    assert '<span class="thumb" aria-hidden="true">饮</span>' in card_2.group(0)
    product = get(dealer, "/catalog/DRK-001")
    assert f'src="/media/products/{digest}/phone.jpg"' in product
    assert 'class="thumb thumb-lg"' in get(dealer, "/catalog/DRK-002")
    assert dealer.get(f"/media/products/{digest}/thumb.jpg").status_code == 200


def test_only_dealers_who_see_the_product_may_fetch_its_image(hq):
    upload(hq, "ALC-009", jpeg())  # limited to GOLD
    url = f"/media/products/{images.digest_of(stored('ALC-009').id)}/thumb.jpg"
    assert as_user(hq.app, "sh").get(url).status_code == 200
    assert as_user(hq.app, "bj").get(url).status_code == 404
    assert as_user(hq.app, "desk").get(url).status_code == 200
    anonymous = hq.app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_removing_the_image_brings_the_initial_back(hq):
    upload(hq, "DRK-001", jpeg())
    page = get(hq.client, "/admin/products/DRK-001")
    response = post(hq.client, "/admin/products/DRK-001/image/delete", {}, page=page)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0
    dealer = as_user(hq.app, "sh")
    assert "/media/products/" not in get(dealer, "/catalog?q=DRK-001")


# --- prices ----------------------------------------------------------------------------------


def price_form(page: str) -> dict:
    """Every field of the price form as the page filled it in (checkboxes unticked)."""
    form = re.search(r'<form method="post"[^>]*id="prices-form">(.*?)</form>', page, re.S)
    fields = {}
    for tag in re.findall(r"<input[^>]+>", form.group(1)):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="checkbox"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def table_index(page: str, scope: str) -> str:
    return re.search(rf'name="scope_(\d+)" value="{re.escape(scope)}"', page).group(1)


def tables_of(sku: str) -> dict:
    db.session.rollback()
    return products.price_tables(products.product_by_sku(sku))


def test_the_price_page_shows_every_tier_and_dealer_table(hq):
    page = get(hq.client, "/admin/products/DRK-001/prices")
    for table in ("table-tier-GOLD", "table-tier-SILVER", "table-dealer-BJ001", "table-dealer-new"):
        assert f'id="{table}"' in page
    fields = price_form(page)
    gold = table_index(page, "tier:GOLD")
    assert (fields[f"q_{gold}_0"], fields[f"p_{gold}_0"]) == ("1", "40.00")
    assert (fields[f"q_{gold}_1"], fields[f"p_{gold}_1"]) == ("10", "38.00")


def test_edit_a_row_add_a_break_and_a_dealer_table_in_one_save(hq):
    page = get(hq.client, "/admin/products/DRK-001/prices")
    fields = price_form(page)
    gold, silver = table_index(page, "tier:GOLD"), table_index(page, "tier:SILVER")
    new = re.search(r'name="new_(\d+)" value="1"', page).group(1)
    fields.update({f"p_{gold}_1": "37.5", f"q_{gold}_2": "50", f"p_{gold}_2": "36"})
    fields.update({f"p_{silver}_0": "43"})
    fields.update(
        {"new_dealer": "SH001", f"p_{new}_0": "39", f"q_{new}_1": "20", f"p_{new}_1": "35"}
    )
    response = post(hq.client, "/admin/products/DRK-001/prices", fields, page=page)
    assert response.status_code == 302
    assert tables_of("DRK-001") == {
        "tiers": {
            "GOLD": [
                {"min_qty": 1, "price": 4000},
                {"min_qty": 10, "price": 3750},
                {"min_qty": 50, "price": 3600},
            ],
            "SILVER": [{"min_qty": 1, "price": 4300}],
        },
        "dealers": {
            "BJ001": [{"min_qty": 1, "price": 4100}],
            "SH001": [{"min_qty": 1, "price": 3900}, {"min_qty": 20, "price": 3500}],
        },
    }
    dealer = as_user(hq.app, "sh")
    assert "¥39.00" in get(dealer, "/catalog?q=DRK-001")


def test_remove_a_row_and_a_whole_table(hq):
    page = get(hq.client, "/admin/products/DRK-001/prices")
    fields = price_form(page)
    gold, bj = table_index(page, "tier:GOLD"), table_index(page, "dealer:BJ001")
    fields.update({f"del_{gold}_1": "1", f"drop_{bj}": "1"})
    assert post(hq.client, "/admin/products/DRK-001/prices", fields, page=page).status_code == 302
    assert tables_of("DRK-001") == {
        "tiers": {"GOLD": [{"min_qty": 1, "price": 4000}]},
        "dealers": {},
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"p_{gold}_0": ""}, "价格表必须从数量 1 起"),
        ({"q_{gold}_0": "5"}, "价格表必须从数量 1 起"),
        ({"q_{gold}_1": "1"}, "同一起订数量只能出现一次"),
        ({"p_{gold}_1": "三十八"}, "价格请填元"),
        ({"q_{gold}_1": "ten"}, "数量须为从 1 起的整数"),
        ({"new_dealer": "NOPE", "p_{new}_0": "30"}, "没有这个编码的经销商"),
        ({"new_dealer": "BJ001", "p_{new}_0": "30"}, "该经销商上面已有价格表"),
        ({"new_dealer": "", "p_{new}_0": "30"}, "请填写这张价格表所属经销商的编码"),
    ],
)
def test_a_bad_table_is_refused_where_it_is_and_nothing_changes(hq, change, message):
    page = get(hq.client, "/admin/products/DRK-001/prices")
    fields = price_form(page)
    gold = table_index(page, "tier:GOLD")
    new = re.search(r'name="new_(\d+)" value="1"', page).group(1)
    fields.update({k.format(gold=gold, new=new): v for k, v in change.items()})
    before = db_state()
    response = post(hq.client, "/admin/products/DRK-001/prices", fields, page=page)
    assert response.status_code == 422
    shown = response.get_data(as_text=True)
    assert message in shown and 'class="field-note table-error"' in shown
    assert "尚未保存任何内容" in shown
    assert db_state() == before


def test_why_this_price_marks_the_winning_table_and_row(hq):
    page = get(hq.client, "/admin/products/DRK-001/prices?dealer=SH001&qty=12")
    why = text_of(re.search(r'id="why-result".*?</div>', page, re.S).group(0))
    assert "等级价格表 GOLD" in why and "从 10 起" in why and "¥38.00" in why and "¥456.00" in why
    gold = re.search(r'<fieldset class="card price-table([^"]*)"[^>]*id="table-tier-GOLD"', page)
    assert "is-winning" in gold.group(1)
    own = text_of(get(hq.client, "/admin/products/DRK-001/prices?dealer=BJ001&qty=3"))
    assert "BJ001 的专属价格表" in own and "¥41.00" in own
    listed = text_of(get(hq.client, "/admin/products/DRK-002/prices?dealer=SH001&qty=3"))
    assert "指导价（该经销商及其等级都没有价格表）" in listed and "¥52.00" in listed
    hidden = text_of(get(hq.client, "/admin/products/ALC-009/prices?dealer=BJ001&qty=1"))
    assert "该经销商目前看不到这个商品" in hidden
    unknown = text_of(get(hq.client, "/admin/products/DRK-001/prices?dealer=ZZ&qty=1"))
    assert "ZZ" in unknown and 'id="why-result"' not in unknown


# --- stock -----------------------------------------------------------------------------------


def test_set_on_hand_with_a_reason_and_see_it_in_the_movement_log(hq):
    page = get(hq.client, "/admin/products/DRK-002/stock")
    response = post(
        hq.client,
        "/admin/products/DRK-002/stock",
        {"on_hand": "１２０", "reason": "到货 PO-1024"},
        page=page,
        follow_redirects=True,
    )
    assert response.status_code == 200
    shown = text_of(response.get_data(as_text=True))
    assert "DRK-002 在库数量：3 → 120" in shown
    log = text_of(
        re.search(r'id="movements".*?</section>', response.get_data(as_text=True), re.S).group(0)
    )
    assert "盘点 3 → 120 (+117) 到货 PO-1024" in log and "hq" in log
    assert f.stock_of("DRK-002") == (120, 0)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"on_hand": "-1", "reason": "盘点"}, "on_hand"),
        ({"on_hand": "1.5", "reason": "盘点"}, "on_hand"),
        ({"on_hand": "10", "reason": " "}, "reason"),
        ({"on_hand": "10", "reason": "长" * 201}, "reason"),
    ],
)
def test_a_bad_count_is_refused_and_changes_nothing(hq, data, field):
    before = db_state()
    response = post(hq.client, "/admin/products/DRK-002/stock", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db_state() == before


def test_a_count_below_what_orders_hold_says_how_much_they_hold(hq):
    reserve("DRK-001", 40)
    before = db_state()
    response = post(hq.client, "/admin/products/DRK-001/stock", {"on_hand": "39", "reason": "盘点"})
    assert response.status_code == 409
    assert "订单已占用 40" in response.get_data(as_text=True)
    assert db_state() == before


def test_the_stock_page_lists_low_stock_and_recent_changes(hq):
    products.set_on_hand("DRK-001", 90, reason="破损报废", by=hq.admin)
    page = get(hq.client, "/admin/stock")
    low = re.search(r'id="low".*?</section>', page, re.S).group(0)
    assert 'id="stock-DRK-002"' in low  # 3 left, threshold 10
    assert 'id="stock-DAI-001"' not in low  # off sale
    assert 'id="stock-DRK-001"' not in low
    recent = text_of(re.search(r'id="recent".*?</section>', page, re.S).group(0))
    assert "100 → 90" in recent and "破损报废" in recent
    found = get(hq.client, "/admin/stock?q=乌龙")
    assert 'id="found"' in found and 'id="stock-DRK-002"' in found


def test_badges_only_for_dealers_from_the_stock_page(hq):
    dealer = as_user(hq.app, "sh")
    assert "<b>100</b>" in get(dealer, "/catalog?q=DRK-001")
    page = get(hq.client, "/admin/stock")
    response = post(hq.client, "/admin/stock/display", {"show_exact": "0"}, page=page)
    assert response.status_code == 302
    db.session.rollback()
    assert settings.get_setting("show_exact_stock") is False
    html_now = get(dealer, "/catalog?q=DRK-001")
    assert "<b>100</b>" not in html_now and "有货" in html_now
    desk_view = text_of(get(as_user(hq.app, "desk"), "/admin/stock"))
    assert "经销商只看到库存状态" in desk_view
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "settings.update").order_by(AuditEntry.id)
    ).all()[-1]
    assert (entry.username, entry.via) == ("hq", "page")


def test_order_desk_sees_counts_and_movements_without_the_form(hq):
    products.set_on_hand("DRK-001", 80, reason="盘点", by=hq.admin)
    page = get(as_user(hq.app, "desk"), "/admin/products/DRK-001/stock")
    assert 'id="save-stock"' not in page and "80 → " not in page
    assert "100 → 80" in text_of(page)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) >= 1
