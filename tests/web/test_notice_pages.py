"""我已汇款 pages: the form (CSRF, receipt checked by content), the list, receipts, the strip."""

from __future__ import annotations

import html as html_lib
import io
import re
import struct
import zlib

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DepositNotice
from app.services import notices, wallet
from tests import factories as f

FORM = "/wallet/notices/new"
SUBMIT = "/wallet/notices"
LIST = "/wallet/notices"


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, orange) PNG: signature, IHDR, one IDAT, IEND, each chunk with its CRC."""

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


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def text_of(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def notice_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(DepositNotice.id)))


@pytest.fixture
def receipts(app, tmp_path, monkeypatch):
    folder = tmp_path / "receipts"
    monkeypatch.setitem(app.config, "RECEIPTS_DIR", str(folder))
    return folder


def stored(folder) -> list:
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def dealer(client, receipts):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer("BJ001", "GOLD")
    user = f.dealer_user("SH001", "buyer")
    f.dealer_user("BJ001", "rival")
    f.web_login(client, "buyer")
    return user


def send(client, amount="1280.00", reference="ICBC-20261201-01", note="", receipt=None):
    """Post the form as the page does: multipart, with the token the form carries."""
    token = f.csrf_from(client.get(FORM).data)
    data = {"csrf_token": token, "amount": amount, "reference": reference, "note": note}
    if receipt is not None:
        content, name = receipt
        data["receipt"] = (io.BytesIO(content), name)
    return client.post(SUBMIT, data=data, content_type="multipart/form-data")


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-note" id="notice-{name}-error">(.*?)</p>', page, re.S)
    return text_of(found.group(1)) if found else ""


def test_the_form_is_a_multipart_post_with_a_csrf_token(client, dealer):
    page = client.get(FORM)
    assert page.status_code == 200
    html = page.text
    form = re.search(r"<form[^>]*notice-form[^>]*>", html).group(0)
    assert 'method="post"' in form and 'enctype="multipart/form-data"' in form
    assert f'action="{SUBMIT}"' in form
    assert re.search(r'name="csrf_token" value="[^"]+"', html)
    assert 'name="amount"' in html and 'inputmode="decimal"' in html
    assert 'name="reference"' in html and 'name="note"' in html
    assert 'type="file"' in html and 'accept="image/jpeg,image/png,application/pdf"' in html
    assert "我已汇款" in html and "转账金额（元）" in html and "银行流水号" in html


def test_a_post_without_the_csrf_token_changes_nothing(client, dealer):
    response = client.post(
        SUBMIT,
        data={"amount": "10", "reference": "NO-TOKEN"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert notice_count() == 0


def test_a_notice_without_a_receipt_goes_to_the_list_as_awaiting(client, dealer, receipts):
    response = send(client, amount="1,280.5", reference=" ICBC-1 ", note="十二月货款")
    assert response.status_code == 302 and response.headers["Location"].endswith(LIST)
    page = client.get(LIST).text
    assert "已提交，待总部确认" in page
    card = text_of(re.search(r'<li class="card remit-card".*?</li>', page, re.S).group(0))
    assert "¥1,280.50" in card and "ICBC-1" in card and "待确认" in card and "十二月货款" in card
    assert "查看回单" not in card
    (notice,) = notices.dealer_notices(dealer.dealer, 1, 10)[0]
    assert (notice.amount, notice.reference, notice.status) == (128050, "ICBC-1", "pending")
    assert stored(receipts) == []
    assert "已提交，待总部确认" not in client.get(LIST).text  # the flash is shown once


@pytest.mark.parametrize(
    ("content", "name", "mimetype"),
    [
        (png_bytes(), "回单.png", "image/png"),
        (JPEG, "IMG_0001.JPG", "image/jpeg"),
        (PDF, "receipt.pdf", "application/pdf"),
    ],
)
def test_a_receipt_photo_or_pdf_is_kept_and_served_to_its_dealer(
    client, dealer, receipts, content, name, mimetype
):
    response = send(client, reference="ICBC-R", receipt=(content, name))
    assert response.status_code == 302
    (kept,) = stored(receipts)
    assert kept.read_bytes() == content and name not in kept.name
    page = client.get(LIST).text
    link = re.search(r'<a href="(/wallet/notices/\d+/receipt)"[^>]*>查看回单</a>', page)
    assert link, page
    served = client.get(link.group(1))
    assert served.status_code == 200
    assert served.mimetype == mimetype and served.data == content
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in served.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": ""}, "amount", "请填写转账金额。"),
        ({"amount": "abc"}, "amount", "金额以元为单位，最多两位小数，例如 1280.50。"),
        ({"amount": "12.345"}, "amount", "金额以元为单位，最多两位小数，例如 1280.50。"),
        ({"amount": "-5"}, "amount", "金额以元为单位，最多两位小数，例如 1280.50。"),
        ({"amount": "0"}, "amount", "金额必须大于零。"),
        ({"reference": "  "}, "reference", "请填写转账的银行流水号。"),
        ({"reference": "R" * 65}, "reference", "银行流水号最多 64 个字符。"),
        ({"note": "备" * 501}, "note", "备注最多 500 个字符。"),
    ],
)
def test_bad_fields_are_refused_at_the_field_and_nothing_is_stored(
    client, dealer, receipts, fields, field, message
):
    values = {"amount": "100", "reference": "ICBC-BAD", **fields}
    response = send(client, **values, receipt=(png_bytes(), "a.png"))
    assert response.status_code == 422
    page = response.text
    assert field_error(page, field) == message
    assert 'aria-invalid="true"' in page
    if field != "note":
        assert f'value="{html_lib.escape(values[field])}"' in page  # kept as typed
    assert "请重新选择回单" in page  # a browser never keeps a chosen file
    assert notice_count() == 0 and stored(receipts) == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"not a picture at all", "回单.png", "回单须为照片（JPEG 或 PNG）或 PDF 文件。"),
        (b"GIF89a\x01\x00\x01\x00", "a.gif", "回单须为照片（JPEG 或 PNG）或 PDF 文件。"),
        (
            png_bytes() + b"\x00" * (5 * 1024 * 1024),
            "big.png",
            "回单超过 5 MB，请选择更小的照片或 PDF。",
        ),
    ],
)
def test_a_wrong_or_too_large_receipt_is_refused_and_nothing_is_stored(
    client, dealer, receipts, content, name, message
):
    response = send(client, amount="88", reference="ICBC-FILE", receipt=(content, name))
    assert response.status_code == 422
    page = response.text
    assert field_error(page, "receipt") == message
    assert 'value="88"' in page and 'value="ICBC-FILE"' in page
    assert "请重新选择回单" not in page
    assert notice_count() == 0 and stored(receipts) == []


def test_a_receipt_of_exactly_5_mb_is_accepted(client, dealer, receipts):
    content = png_bytes()
    content += b"\x00" * (5 * 1024 * 1024 - len(content))
    assert send(client, reference="ICBC-5MB", receipt=(content, "a.png")).status_code == 302
    assert len(stored(receipts)) == 1


def test_a_reference_already_pending_or_confirmed_is_refused(client, dealer, receipts):
    assert send(client, amount="100", reference="ICBC-DUP").status_code == 302
    response = send(client, amount="200", reference="ICBC-DUP", receipt=(PDF, "r.pdf"))
    assert response.status_code == 409
    assert field_error(response.text, "reference") == (
        "流水号 ICBC-DUP 已提交过，正在等待确认或已确认。"
    )
    assert notice_count() == 1 and stored(receipts) == []
    hq = f.admin("hq")
    notice = notices.dealer_notices(dealer.dealer, 1, 10)[0][0]
    notices.confirm_notice(hq, notice.id)
    assert send(client, amount="100", reference="ICBC-DUP").status_code == 409
    assert notice_count() == 1


def test_a_rejected_reference_may_be_sent_again_prefilled(client, dealer):
    assert send(client, amount="66.6", reference="ICBC-AGAIN").status_code == 302
    notice = notices.dealer_notices(dealer.dealer, 1, 10)[0][0]
    notices.reject_notice(f.admin("hq"), notice.id, "金额不符")
    page = client.get(LIST).text
    card = text_of(re.search(r'<li class="card remit-card".*?</li>', page, re.S).group(0))
    assert "已驳回" in card and "驳回原因：金额不符" in card
    again = re.search(r'<a href="([^"]+)">重新提交</a>', page).group(1)
    form = client.get(html_lib.unescape(again)).text
    assert 'value="66.60"' in form and 'value="ICBC-AGAIN"' in form
    assert send(client, amount="66.6", reference="ICBC-AGAIN").status_code == 302
    assert notice_count() == 2


def test_the_list_shows_own_notices_newest_first_with_status_in_words(client, dealer):
    rival = f.user_named("rival")
    notices.submit_notice(rival, 999_00, "RIVAL-REF")
    for n, reference in enumerate(("ICBC-A", "ICBC-B", "ICBC-C"), start=1):
        notices.submit_notice(dealer, n * 100_00, reference)
    hq = f.admin("hq")
    mine = {n.reference: n for n in notices.dealer_notices(dealer.dealer, 1, 10)[0]}
    notices.confirm_notice(hq, mine["ICBC-A"].id)
    notices.reject_notice(hq, mine["ICBC-B"].id, "查无此款")

    page = client.get(LIST).text
    assert "RIVAL-REF" not in page and "¥999.00" not in page
    cards = [text_of(c) for c in re.findall(r'<li class="card remit-card".*?</li>', page, re.S)]
    assert [c.split(" 银行流水号 ")[1].split()[0] for c in cards] == ["ICBC-C", "ICBC-B", "ICBC-A"]
    assert "¥300.00 待确认" in cards[0]
    assert "¥200.00 已驳回" in cards[1] and "驳回原因：查无此款" in cards[1]
    assert "¥100.00 已确认" in cards[2] and "查看入账" in cards[2]
    entry = re.search(r'<a href="(/wallet\?[^"]+)">查看入账</a>', page).group(1)
    wallet_page = client.get(html_lib.unescape(entry)).text
    assert "回款 ICBC-A" in wallet_page and "+¥100.00" in wallet_page


def test_another_dealers_receipt_is_not_found(client, dealer, receipts):
    rival = f.user_named("rival")
    theirs = notices.submit_notice(rival, 50_00, "RIVAL-R", receipt=(png_bytes(), "x.png"))
    mine = notices.submit_notice(dealer, 50_00, "MINE-NO-FILE")
    assert client.get(f"/wallet/notices/{theirs.id}/receipt").status_code == 404
    assert client.get(f"/wallet/notices/{mine.id}/receipt").status_code == 404
    for odd in ("999999", "99999999999999", "abc", "１"):
        assert client.get(f"/wallet/notices/{odd}/receipt").status_code == 404


def test_the_wallet_page_offers_the_form_and_shows_what_awaits_hq(client, dealer):
    page = client.get("/wallet").text
    strip = re.search(r'<section class="card remit-strip".*?</section>', page, re.S).group(0)
    assert f'href="{FORM}"' in strip and "我已汇款" in strip
    assert "待确认" not in strip

    notices.submit_notice(dealer, 1_000_00, "ICBC-P1")
    notices.submit_notice(dealer, 500_50, "ICBC-P2")
    done = notices.submit_notice(dealer, 7_00, "ICBC-DONE")
    notices.confirm_notice(f.admin("hq"), done.id)
    notices.submit_notice(f.user_named("rival"), 3_00, "RIVAL-P")
    page = client.get("/wallet").text
    strip = text_of(re.search(r'<section class="card remit-strip".*?</section>', page, re.S)[0])
    assert "待确认 2 笔汇款，共 ¥1,500.50" in strip
    assert "¥500.50 · ICBC-P2" in strip and "¥1,000.00 · ICBC-P1" in strip
    assert "ICBC-DONE" not in strip and "RIVAL-P" not in strip
    assert f'href="{LIST}"' in page


def test_the_form_opens_as_a_sheet_for_htmx(client, dealer):
    sheet = client.get(FORM, headers={"HX-Request": "true", "HX-Target": "sheet"}).text
    assert 'class="sheet"' in sheet and "<html" not in sheet
    assert 'enctype="multipart/form-data"' in sheet and "csrf_token" in sheet
    assert "<html" in client.get(FORM).text


@pytest.mark.parametrize("url", [LIST, FORM, "/wallet/notices/1/receipt"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_post_is_sent_to_log_in_and_changes_nothing(client, receipts):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    response = client.post(SUBMIT, data={"amount": "1", "reference": "X"})
    assert response.status_code in (302, 400)
    assert notice_count() == 0


def test_hq_staff_are_not_served_the_dealer_pages(client, receipts):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    buyer = f.dealer_user("SH001", "buyer")
    notice = notices.submit_notice(buyer, 10_00, "ICBC-HQ", receipt=(png_bytes(), "a.png"))
    f.admin("hq")
    f.web_login(client, "hq")
    for url in (LIST, FORM, f"/wallet/notices/{notice.id}/receipt"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "我已汇款" not in response.text
    token = f.csrf_from(client.get("/admin/").data)
    response = client.post(
        SUBMIT, data={"csrf_token": token, "amount": "5", "reference": "HQ-POST"}
    )
    assert response.status_code == 403
    assert notice_count() == 1


def test_the_form_in_english(client, dealer):
    client.set_cookie("lang", "en")
    page = client.get(FORM).text
    assert "Amount transferred (yuan)" in page and "Send to HQ" in page
    response = send(client, amount="x")
    assert "at most two decimals" in field_error(response.text, "amount")


def test_a_confirmed_notice_raises_the_funds_balance_once(client, dealer):
    send(client, amount="250", reference="ICBC-UP")
    notice = notices.dealer_notices(dealer.dealer, 1, 10)[0][0]
    hq = f.admin("hq")
    notices.confirm_notice(hq, notice.id)
    notices.confirm_notice(hq, notice.id)
    assert wallet.balances(dealer.dealer_id)["funds"] == 250_00
    funds = text_of(re.search(r'id="funds-card".*?</section>', client.get("/wallet").text, re.S)[0])
    assert "¥250.00" in funds


@pytest.mark.parametrize(
    ("typed", "fen"), [("１２８０．５", 128050), ("¥2,000", 200000), ("￥66。6", 6660)]
)
def test_amounts_as_a_chinese_keyboard_types_them(client, dealer, typed, fen):
    assert send(client, amount=typed, reference=f"R-{fen}").status_code == 302
    (notice,) = notices.dealer_notices(dealer.dealer, 1, 10)[0]
    assert notice.amount == fen
