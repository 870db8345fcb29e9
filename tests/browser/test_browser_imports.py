"""批量导入 on a phone (390×844): HQ uploads a products file, the preview shows the one bad
row and why, "Apply all" stays off; HQ uploads the corrected file, applies it, and the new
product exists. Checked again at 1280×800 for the laptop layout."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Product
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

ADMIN = ("admin", "admin1234")
HEADER = "sku,name,unit,list_price,category,min_order_qty"
BAD = "\r\n".join(
    [HEADER, "IMP-001,进口苏打水 330ml×24,箱,86.50,饮料,2", "IMP-002,进口气泡水,箱,八十,饮料,1", ""]
)
GOOD = BAD.replace("八十", "80.00")


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "imports"
    folder.mkdir(exist_ok=True)
    return folder


# What the upload showed while it ran, kept across the redirect to the preview.
WATCH_PROGRESS = """
() => {
  const keep = (extra) => {
    const seen = JSON.parse(sessionStorage.getItem("import-progress") || "{}");
    sessionStorage.setItem("import-progress", JSON.stringify({...seen, ...extra}));
  };
  document.body.addEventListener("htmx:beforeSend", () => keep({
    busy: getComputedStyle(document.getElementById("upload-busy")).display,
    disabled: document.getElementById("upload-submit").disabled,
  }));
  document.body.addEventListener("htmx:afterRequest", () => keep({
    bar: document.getElementById("upload-bar").value,
    state: document.getElementById("upload-state").textContent,
  }));
}
"""


def no_overflow(page, width: int = 390) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == width, found
    assert not found["offenders"], found


def choose_file(page, content: str, name: str) -> None:
    page.set_input_files(
        "#file", files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
    )


def stored(app, sku: str):
    with app.app_context():
        row = db.session.execute(
            select(Product.name, Product.list_price, Product.min_order_qty).where(
                Product.sku == sku
            )
        ).first()
        db.session.remove()
        return tuple(row) if row else None


def import_with_one_fix(page, app, shots, tag: str, width: int) -> None:
    page.goto("/admin/imports")
    expect(page.get_by_role("heading", name=re.compile("上传商品文件"))).to_be_visible()
    no_overflow(page, width)
    page.screenshot(path=str(shots / f"{tag}-1-upload.png"), full_page=True)

    choose_file(page, BAD, "新品.csv")
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="检查文件").click()
    page.wait_for_url(re.compile(r"/admin/imports/\d+$"))
    seen = page.evaluate("() => JSON.parse(sessionStorage.getItem('import-progress'))")
    assert seen["busy"] == "flex" and seen["disabled"], seen  # "uploading / checking…" shown
    assert seen["bar"] == 100 and seen["state"] == "正在逐行检查…", seen
    expect(page.locator("#count-invalid")).to_have_text("1")
    expect(page.locator("#count-new")).to_have_text("1")
    bad_row = page.locator('tr[data-row="3"][data-column="list_price"]')
    expect(bad_row).to_contain_text("第 3 行")
    expect(bad_row).to_contain_text("请填写金额")
    expect(page.locator("#fix-file")).to_be_visible()
    expect(page.locator("#apply")).to_be_disabled()
    no_overflow(page, width)
    page.screenshot(path=str(shots / f"{tag}-2-bad-row.png"), full_page=True)
    assert stored(app, "IMP-001") is None  # nothing applied

    choose_file(page, GOOD, "新品-改正.csv")
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator(".import-name")).to_have_text("新品-改正.csv")
    expect(page.locator("#count-invalid")).to_have_text("0")
    expect(page.locator("#count-new")).to_have_text("2")
    expect(page.locator("#new-rows")).to_contain_text("IMP-002")
    apply = page.locator("#apply")
    expect(apply).to_be_enabled()
    page.screenshot(path=str(shots / f"{tag}-3-ready.png"), full_page=True)

    apply.click()
    expect(page.locator("#applied")).to_be_visible()
    expect(page.locator(".flashes")).to_contain_text("新增 2 行")
    expect(page.locator("#apply")).to_have_count(0)
    no_overflow(page, width)
    page.screenshot(path=str(shots / f"{tag}-4-applied.png"), full_page=True)
    assert stored(app, "IMP-001") == ("进口苏打水 330ml×24", 8650, 2)
    assert stored(app, "IMP-002") == ("进口气泡水", 8000, 1)

    # The new product is there for HQ to see.
    page.locator("#see-result").click()
    page.wait_for_url(re.compile(r"/admin/products"))
    page.goto("/admin/products?q=IMP-00")
    expect(page.locator("#main")).to_contain_text("进口苏打水")


def test_import_a_products_file_fix_the_bad_row_and_apply_on_a_phone(
    demo, page, sign_in, js_errors, shots
):
    js_errors.watch(page)
    sign_in(page, *ADMIN)
    import_with_one_fix(page, demo, shots, "phone", 390)
    js_errors.check()


def test_the_same_import_on_a_laptop(demo, new_context, sign_in, js_errors, shots):
    page = new_context(
        viewport={"width": 1280, "height": 800}, is_mobile=False, has_touch=False
    ).new_page()
    js_errors.watch(page)
    sign_in(page, *ADMIN)
    import_with_one_fix(page, demo, shots, "laptop", 1280)
    js_errors.check()
