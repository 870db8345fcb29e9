"""我已汇款 on a phone: a dealer sends a notice with a receipt photo; HQ confirms it on a phone."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import notices, wallet
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")
ADMIN = ("admin", "admin1234")


def png_bytes(width: int = 120, height: int = 80) -> bytes:
    """A real PNG (an orange rectangle) the browser can show, built chunk by chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xf0\x5a\x28" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def receipts(demo, tmp_path, monkeypatch):
    folder = tmp_path / "receipts"
    monkeypatch.setitem(demo.config, "RECEIPTS_DIR", str(folder))
    return folder


@pytest.fixture
def shots(shots_dir):
    folder = shots_dir / "notices"
    folder.mkdir(exist_ok=True)
    return folder


def no_overflow(page) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == 390, found
    assert not found["offenders"], found


def funds_balance(app, code: str = "GZ001") -> int:
    with app.app_context():
        dealer_id = db.session.scalar(select(User.dealer_id).where(User.username == DEALER[0]))
        balance = wallet.balances(dealer_id)["funds"]
        db.session.remove()
        return balance


def shot(page, path) -> None:
    page.screenshot(path=str(path), animations="disabled", full_page=True)


def send_from_the_wallet(page, shots, amount: str, reference: str) -> None:
    """我的 → 我的钱包 → 我已汇款 (a sheet), amount, reference and a receipt photo, 提交."""
    page.goto("/me")
    page.get_by_role("link", name="我的钱包").click()
    page.wait_for_url("**/wallet")
    opener = page.locator("#notice-strip").get_by_role("link", name="我已汇款")
    box = opener.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    opener.click()
    sheet = page.locator("#sheet .sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("heading", name="我已汇款")).to_be_visible()
    expect(sheet.get_by_label("转账金额（元）")).to_be_focused()
    shot(page, shots / "sheet-empty.png")
    sheet.get_by_label("转账金额（元）").fill(amount)
    sheet.get_by_label("银行流水号").fill(reference)
    sheet.get_by_label("转账回单（选填）").set_input_files(
        {"name": "回单.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    send = sheet.get_by_role("button", name="提交给总部")
    send.scroll_into_view_if_needed()
    shot(page, shots / "sheet-filled.png")
    with page.expect_navigation():
        send.click()


def test_a_dealer_sends_a_notice_with_a_receipt_and_hq_confirms_it_from_a_phone(
    demo, receipts, page, new_context, sign_in, shots, js_errors
):
    js_errors.watch(page, allow_status=(409,))  # the duplicate reference below
    before = funds_balance(demo)
    sign_in(page, *DEALER)
    send_from_the_wallet(page, shots, "1,280.5", "ICBC-20261201-88")

    page.wait_for_url("**/wallet/notices")
    expect(page.locator(".flashes")).to_have_text("已提交，待总部确认")
    card = page.locator("li.remit-card").first
    expect(card).to_contain_text("¥1,280.50")
    expect(card).to_contain_text("ICBC-20261201-88")
    expect(card.locator(".pill")).to_have_text("待确认")
    expect(card.get_by_role("link", name="查看回单")).to_be_visible()
    assert len(list(receipts.iterdir())) == 1
    shot(page, shots / "list-pending.png")
    no_overflow(page)

    with page.context.expect_page() as opened:
        card.get_by_role("link", name="查看回单").click()
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.evaluate("document.images[0].naturalWidth") == 120
    receipt.close()

    page.get_by_role("link", name="返回").click()
    page.wait_for_url("**/wallet")
    strip = page.locator("#notice-strip")
    expect(strip).to_contain_text("待确认")
    expect(strip).to_contain_text("1 笔汇款，共 ¥1,280.50")
    expect(strip.locator(".spec")).to_contain_text("ICBC-20261201-88")
    expect(strip).to_contain_text("ICBC-20261201-88")
    shot(page, shots / "wallet-pending.png")
    no_overflow(page)

    # The same reference again: refused at the field, the figures kept, nothing stored.
    send_from_the_wallet(page, shots, "1280.50", "ICBC-20261201-88")
    note = page.locator("#notice-reference-error")
    expect(note).to_have_text("流水号 ICBC-20261201-88 已提交过，正在等待确认或已确认。")
    expect(page.get_by_label("转账金额（元）")).to_have_value("1280.50")
    expect(page.get_by_text("请重新选择回单。")).to_be_visible()
    shot(page, shots / "form-error.png")
    no_overflow(page)
    assert len(list(receipts.iterdir())) == 1

    hq = new_context().new_page()
    js_errors.watch(hq)
    confirm_as_hq(demo, hq, sign_in, shots, "ICBC-20261201-88")

    page.goto("/wallet/notices")
    card = page.locator("li.remit-card").first
    expect(card.locator(".pill")).to_have_text("已确认")
    shot(page, shots / "list-confirmed.png")
    card.get_by_role("link", name="查看入账").click()
    page.wait_for_url(re.compile(r".*/wallet\?account=funds&month=\d{4}-\d{2}$"))
    expect(page.locator("li.ledger-row").first).to_contain_text("回款 ICBC-20261201-88")
    expect(page.locator("#notice-strip")).not_to_contain_text("待确认")
    assert funds_balance(demo) == before + 1_280_50
    js_errors.check()


def confirm_as_hq(app, hq, sign_in, shots, reference: str) -> None:
    """HQ's half: the finance desk's notice page when it exists, else the service itself."""
    if "admin.finance_notices" not in app.view_functions:
        with app.app_context():
            admin = db.session.scalar(select(User).where(User.username == ADMIN[0]))
            (notice,) = [n for n in notices.admin_notices("pending")[0] if n.reference == reference]
            notices.confirm_notice(admin, notice.id)
            db.session.remove()
        return
    sign_in(hq, *ADMIN)
    hq.goto("/admin/finance/notices")
    hq.get_by_text(reference).first.click()
    hq.wait_for_url(re.compile(r".*/admin/finance/notices/\d+$"))
    image = hq.locator("img[src*='receipt']").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120  # the dealer's PNG
    no_overflow(hq)
    shot(hq, shots / "hq-notice.png")
    confirm = hq.get_by_role("button", name=re.compile("确认|Confirm"))
    with hq.expect_navigation():
        confirm.first.click()
    expect(confirm).to_have_count(0)  # decided: nothing left to confirm
    shot(hq, shots / "hq-confirmed.png")


def test_the_form_works_without_javascript(demo, receipts, new_context, sign_in, shots):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, *DEALER)
    page.goto("/wallet")
    page.locator("#notice-strip").get_by_role("link", name="我已汇款").click()
    page.wait_for_url("**/wallet/notices/new")
    shot(page, shots / "form-page.png")
    no_overflow(page)
    page.get_by_label("转账金额（元）").fill("12.345")
    page.get_by_label("银行流水号").fill("ABC-NOJS")
    page.get_by_role("button", name="提交给总部").click()
    expect(page.locator("#notice-amount-error")).to_have_text(
        "金额以元为单位，最多两位小数，例如 1280.50。"
    )
    expect(page.get_by_label("银行流水号")).to_have_value("ABC-NOJS")
    shot(page, shots / "form-page-error.png")
    page.get_by_label("转账金额（元）").fill("12.34")
    page.get_by_label("转账回单（选填）").set_input_files(
        {"name": "r.png", "mimeType": "image/png", "buffer": b"plain text, not a picture"}
    )
    page.get_by_role("button", name="提交给总部").click()
    expect(page.locator("#notice-receipt-error")).to_have_text(
        "回单须为照片（JPEG 或 PNG）或 PDF 文件。"
    )
    assert not receipts.exists() or not list(receipts.iterdir())
    page.get_by_label("转账回单（选填）").set_input_files([])
    page.get_by_role("button", name="提交给总部").click()
    page.wait_for_url("**/wallet/notices")
    expect(page.locator("li.remit-card").first).to_contain_text("¥12.34")
    expect(page.locator("li.remit-card .pill").first).to_have_text("待确认")
