"""HQ spreadsheet pages (§3b): choose a kind, upload, see the preview with the reason per
invalid cell, apply all or nothing, download current data and templates — admin only."""

from __future__ import annotations

import html
import io
import re
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.admin import imports as import_files_page
from app.extensions import db
from app.models import AuditEntry, ImportUpload, Product
from app.services import import_files, staff
from tests import factories as f
from tests.api.helpers import db_state, reserve, stock_row

BAD_PRODUCTS = "sku,name,unit,list_price\r\nA-1,可乐,箱,100\r\nN-1,新品,箱,十元\r\n"
GOOD_PRODUCTS = "sku,name,unit,list_price\r\nA-1,可乐,箱,100\r\nN-1,新品,箱,10\r\n"


@pytest.fixture
def desk(client):
    """HQ admin `hq` logged in; product A-1 (¥100, 20 on hand)."""
    f.tier("GOLD", "金牌")
    f.dealer("G1", "GOLD")
    f.product("A-1", name="可乐", list_price=10000, on_hand=20)
    admin = f.admin("hq")
    f.web_login(client, "hq")
    return SimpleNamespace(client=client, admin=admin)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def upload(client, kind: str, content: str | bytes, name: str = "file.csv", **extra):
    token = f.csrf_from(get(client, f"/admin/imports?kind={kind}"))
    data = content.encode() if isinstance(content, str) else content
    form = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), name)}
    url = f"/admin/imports?kind={kind}"  # as the form posts it
    return client.post(url, data=form, content_type="multipart/form-data", **extra)


def preview_url(response) -> str:
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    assert re.search(r"/admin/imports/\d+$", location), location
    return location


def apply(client, url: str, **extra):
    token = f.csrf_from(get(client, url))
    return client.post(url + "/apply", data={"csrf_token": token}, **extra)


def apply_button(page: str) -> str:
    return re.search(r'<button[^>]*id="apply"[^>]*>', page).group(0)


def product_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Product.id)))


def test_the_page_offers_each_kind_an_upload_form_and_downloads(desk):
    page = get(desk.client, "/admin/imports")
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page
    assert 'type="file"' in page and 'name="kind" value="products"' in page
    text = text_of(page)
    for word in ("商品", "价格", "库存", "下载", "空白模板", "检查文件"):
        assert word in text, word
    for column in ("sku", "name", "unit", "list_price", "low_stock_threshold"):
        assert f">{column}</code>" in page
    assert "/admin/imports/export/products.csv" in page
    assert "/admin/imports/template/products.xlsx" in page
    prices = get(desk.client, "/admin/imports?kind=prices")
    assert 'name="kind" value="prices"' in prices and ">scope</code>" in prices
    get(desk.client, "/admin/imports?kind=orders", 404)


def test_downloads_are_the_current_data_and_empty_templates(desk):
    response = desk.client.get("/admin/imports/export/products.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("A-1,可乐,箱,100.00")
    response = desk.client.get("/admin/imports/template/stock.csv")
    assert response.data.decode("utf-8-sig").splitlines() == ["sku,on_hand"]
    response = desk.client.get("/admin/imports/template/prices.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["sku", "scope", "min_qty", "price"]
    assert sheet.max_row == 1
    response = desk.client.get("/admin/imports/export/stock.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert [c.value for c in sheet[2]] == ["A-1", 20]
    assert desk.client.get("/admin/imports/export/stock.pdf").status_code == 404


def test_a_bad_row_is_shown_with_its_reason_and_apply_stays_off(desk):
    before = db_state()
    url = preview_url(upload(desk.client, "products", BAD_PRODUCTS, "货品.csv"))
    page = get(desk.client, url)
    text = text_of(page)
    assert "货品.csv" in text
    assert re.search(r'id="count-new">0<', page) and re.search(r'id="count-unchanged">1<', page)
    assert re.search(r'id="count-invalid">1<', page)
    row = re.search(r'<tr data-row="3" data-column="list_price">.*?</tr>', page, re.S).group(0)
    assert "第 3 行" in text_of(row) and "指导价" in text_of(row)
    assert "请填写金额" in text_of(row)  # the reason, in Chinese
    assert "disabled" in apply_button(page)
    assert 'id="fix-file"' in page and "重新上传" in text
    after = db_state()
    assert {t: r for t, r in after.items() if t != "import_uploads"} == {
        t: r for t, r in before.items() if t != "import_uploads"
    }
    # Even a forced POST of "Apply all" changes nothing.
    response = apply(desk.client, url)
    assert response.status_code == 422
    assert product_count() == 1


def test_upload_the_corrected_file_then_apply_all(desk):
    preview_url(upload(desk.client, "products", BAD_PRODUCTS))
    url = preview_url(upload(desk.client, "products", GOOD_PRODUCTS, "fixed.csv"))
    page = get(desk.client, url)
    assert re.search(r'id="count-new">1<', page) and "disabled" not in apply_button(page)
    assert "N-1" in text_of(re.search(r'id="new-rows".*?</section>', page, re.S).group(0))
    assert product_count() == 1
    response = apply(desk.client, url)
    assert response.headers["Location"].endswith(url)
    page = get(desk.client, url)
    assert "已应用" in text_of(page) and 'id="applied"' in page
    assert 'id="apply"' not in page  # no second "Apply all"
    assert 'href="/admin/products"' in page
    db.session.rollback()
    new = db.session.scalar(select(Product).where(Product.sku == "N-1"))
    assert (new.name, new.list_price) == ("新品", 1000)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import.products"))
    assert [(e.username, e.via) for e in entries] == [("hq", "page")]
    # A second "Apply all" of the same upload changes nothing.
    before = db_state()
    response = apply(desk.client, url)
    assert response.status_code == 409
    assert "已经应用" in text_of(response.get_data(as_text=True))
    assert db_state() == before


def test_changed_rows_show_before_and_after(desk):
    body = "sku,name,unit,list_price\r\nA-1,可乐 Zero,箱,99.5\r\n"
    page = get(desk.client, preview_url(upload(desk.client, "products", body)))
    changes = text_of(re.search(r'id="changed-rows".*?</section>', page, re.S).group(0))
    assert "可乐 → 可乐 Zero" in changes
    assert "¥100.00 → ¥99.50" in changes


def test_stock_applied_after_a_reservation_grew_is_refused_and_changes_nothing(desk):
    url = preview_url(upload(desk.client, "stock", "sku,on_hand\r\nA-1,5\r\n"))
    assert "disabled" not in apply_button(get(desk.client, url))
    reserve("A-1", 8)  # an order reserved more meanwhile
    before = db_state()
    response = apply(desk.client, url)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="apply-error"' in page and "已预留" in text_of(page)
    assert stock_row("A-1") == (20, 8)
    assert {t: r for t, r in db_state().items() if t != "import_uploads"} == {
        t: r for t, r in before.items() if t != "import_uploads"
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sku,name,unit,list_price,colour\r\nN-1,新,箱,1,红\r\n", "未知的列：colour"),
        ("sku,name\r\nN-1,新\r\n", "缺少列：unit, list_price"),
        ("sku,name,unit,list_price\r\n", "表头下面没有数据"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xlsx"),
    ],
)
def test_a_file_refused_as_a_whole_is_told_on_the_upload_page(desk, content, message):
    before = db_state()
    response = upload(desk.client, "products", content)
    assert response.status_code in (400, 422)
    page = response.get_data(as_text=True)
    assert message in text_of(re.search(r'id="upload-error".*?</p>', page, re.S).group(0))
    assert db_state() == before


def test_no_file_chosen_is_told(desk):
    token = f.csrf_from(get(desk.client, "/admin/imports"))
    response = desk.client.post("/admin/imports", data={"csrf_token": token, "kind": "stock"})
    assert response.status_code == 422
    assert "请选择" in text_of(response.get_data(as_text=True))


def test_a_post_without_csrf_token_changes_nothing(desk):
    before = db_state()
    form = {"kind": "stock", "file": (io.BytesIO(b"sku,on_hand\r\nA-1,1\r\n"), "s.csv")}
    response = desk.client.post("/admin/imports", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert db_state() == before


def test_htmx_gets_a_redirect_header_and_errors_as_a_swappable_page(desk):
    response = upload(
        desk.client, "stock", "sku,on_hand\r\nA-1,4\r\n", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert re.search(r"/admin/imports/\d+$", response.headers["HX-Redirect"])
    response = upload(
        desk.client, "stock", "sku,colour\r\nA-1,4\r\n", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and 'id="upload-error"' in response.get_data(as_text=True)


def test_the_page_speaks_english_when_asked(desk):
    desk.client.set_cookie("lang", "en")
    page = get(desk.client, preview_url(upload(desk.client, "products", BAD_PRODUCTS)))
    assert "Enter an amount in yuan" in text_of(page)
    assert "Row 3" in text_of(page)


def test_another_admins_upload_is_not_found(desk, client, app):
    url = preview_url(upload(desk.client, "stock", "sku,on_hand\r\nA-1,4\r\n"))
    staff.create_staff(None, "hq2", f.PASSWORD, "admin")
    other = app.test_client()
    f.web_login(other, "hq2")
    assert other.get(url).status_code == 404
    token = f.csrf_from(other.get("/admin/imports").data)
    assert other.post(url + "/apply", data={"csrf_token": token}).status_code == 404
    assert stock_row("A-1") == (20, 0)


ROUTES = [
    ("GET", "/admin/imports"),
    ("GET", "/admin/imports/export/products.csv"),
    ("GET", "/admin/imports/template/stock.xlsx"),
]


@pytest.mark.parametrize("who", ["dealer", "order_desk", "finance"])
def test_only_admins_reach_the_spreadsheet_pages(desk, app, who):
    url = preview_url(upload(desk.client, "stock", "sku,on_hand\r\nA-1,4\r\n"))
    if who == "dealer":
        f.dealer_user("G1", "g1")
        username = "g1"
    else:
        staff.create_staff(None, who, f.PASSWORD, who)
        username = who
    other = app.test_client()
    f.web_login(other, username)
    before = db_state()
    for _, route in ROUTES:
        assert other.get(route).status_code == 403, route
    assert other.get(url).status_code == 403
    form = {"kind": "stock", "file": (io.BytesIO(b"sku,on_hand\r\nA-1,1\r\n"), "s.csv")}
    token = f.csrf_from(other.get("/me" if who == "dealer" else "/admin/").data)
    response = other.post(
        "/admin/imports", data={**form, "csrf_token": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 403
    assert other.post(url + "/apply", data={"csrf_token": token}).status_code == 403
    assert db_state() == before
    assert db.session.scalar(select(func.count(ImportUpload.id))) == 1


def test_a_file_over_the_size_limit_is_refused_unread(desk, monkeypatch):
    monkeypatch.setattr(import_files, "MAX_BYTES", 1024)
    monkeypatch.setattr(import_files_page, "SLACK", 0)
    before = db_state()
    body = "sku,on_hand\r\n" + "A-1,1\r\n" * 400
    response = upload(desk.client, "stock", body)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "文件过大" in text_of(page) and 'name="kind" value="stock"' in page
    assert db_state() == before
