"""HQ finance pages: the deposit-notice queue (receipt, confirm once, reject with a reason),
deposits and signed adjustments, the rebate policy, period settlements (preview, post once)
and statement exports — plain forms whose refusals change nothing, for HQ only."""

from __future__ import annotations

import html
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import DepositNotice, LedgerEntry, RebateSettlement
from app.services import accounts, logistics, notices, orders, rebates, staff, wallet
from app.services.logistics import EventIn
from app.services.orders import LineRequest
from tests import factories as f

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test receipt\n"
_tracking = itertools.count(1)


@pytest.fixture
def desk(app, client, tmp_path, monkeypatch):
    """HQ `hq` logged in; SH001 (GOLD, ¥1,000 credit) with user `sh`, BJ001 (SILVER)."""
    monkeypatch.setitem(app.config, "RECEIPTS_DIR", str(tmp_path / "receipts"))
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    f.dealer("SH001", "GOLD", credit_limit=100_000, name="上海鑫源商贸")
    f.dealer("BJ001", "SILVER", name="北京京联商贸")
    buyer = f.dealer_user("SH001", "sh")
    admin = f.admin("hq")
    f.web_login(client, "hq")
    return SimpleNamespace(client=client, admin=admin, buyer=buyer)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def page_of(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def post(client, url: str, data: dict, *, follow: bool = False, page: str | None = None):
    """Post a form as the browser would, with the CSRF token of the page it came from
    (by default the form's own page, or the notice page for a decision)."""
    shown = re.sub(r"/(confirm|reject)$", "", url)
    token = f.csrf_from(page or page_of(client, shown))
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=follow)


def tell(buyer, amount: int = 128_050, reference: str = "ICBC-1", receipt=None, note=""):
    return notices.submit_notice(buyer, amount, reference, note, receipt)


def entries(dealer_code: str, account: str = "funds") -> list[LedgerEntry]:
    db.session.rollback()
    dealer = accounts.dealer_by_code(dealer_code)
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.dealer_id == dealer.id, LedgerEntry.account == account)
            .order_by(LedgerEntry.id)
        )
    )


def balance(dealer_code: str, account: str = "funds") -> int:
    """The stored balance, checked against the sum of the ledger's entries."""
    db.session.rollback()
    dealer_id = accounts.dealer_by_code(dealer_code).id
    stored = wallet.balances(dealer_id)[account]
    assert stored == wallet.ledger_sum(dealer_id, account)
    return stored


def notice_status(notice_id: int) -> str:
    db.session.rollback()
    return db.session.get(DepositNotice, notice_id).status


def alert_of(page: str) -> str:
    found = re.search(r'<p class="alert"[^>]*>(.*?)</p>', page, re.S)
    return text_of(found.group(1)) if found else ""


def field_notes(page: str) -> list[str]:
    return [
        text_of(m) for m in re.findall(r'<p class="field-note[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


# --- who may see the pages -------------------------------------------------------------------

PAGES = [
    "/admin/finance/notices",
    "/admin/finance/notices?status=confirmed",
    "/admin/finance/notices?status=rejected",
    "/admin/finance/notices/{id}",
    "/admin/finance/deposits",
    "/admin/finance/adjustments",
    "/admin/finance/rebate-policy",
    "/admin/finance/settlements",
    "/admin/finance/statements",
]
POSTS = [
    "/admin/finance/notices/{id}/confirm",
    "/admin/finance/notices/{id}/reject",
    "/admin/finance/deposits",
    "/admin/finance/adjustments",
    "/admin/finance/rebate-policy",
    "/admin/finance/settlements",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_finance_page_renders_for_hq_with_csrf_on_each_post_form(desk, url):
    notice = tell(desk.buyer, receipt=(PNG, "r.png"))
    page = page_of(desk.client, url.format(id=notice.id))

    assert "财务" in page and 'class="segmented finance-nav"' in page
    forms = re.findall(r'<form method="post".*?</form>', page, re.S)
    assert forms  # at least the layout's log-out form
    for form in forms:
        assert re.search(r'name="csrf_token" value="[^"]+"', form), form[:120]


def test_the_finance_chip_leads_to_the_notice_queue(desk):
    dashboard = page_of(desk.client, "/admin/")
    assert 'href="/admin/finance/notices">财务</a>' in dashboard
    response = desk.client.get("/admin/finance")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/finance/notices")


@pytest.mark.parametrize("url", PAGES + ["/admin/finance/notices/{id}/receipt"])
def test_a_dealer_user_gets_403_on_every_finance_page(desk, client, url):
    notice = tell(desk.buyer, receipt=(PNG, "r.png"))
    client.post("/logout", data={"csrf_token": f.csrf_from(page_of(client, "/admin/"))})
    f.web_login(client, "sh")
    assert client.get(url.format(id=notice.id)).status_code == 403


@pytest.mark.parametrize("url", POSTS)
def test_a_dealer_user_gets_403_on_every_finance_post_and_nothing_changes(desk, client, url):
    notice = tell(desk.buyer)
    client.post("/logout", data={"csrf_token": f.csrf_from(page_of(client, "/admin/"))})
    f.web_login(client, "sh")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page_of(client, "/wallet"))[1]
    data = {
        "csrf_token": token,
        "dealer": "SH001",
        "amount": "100",
        "reference": "X-1",
        "account": "funds",
        "memo": "m",
        "reason": "r",
        "rate_GOLD": "50",
        "max_use": "50",
    }

    assert client.post(url.format(id=notice.id), data=data).status_code == 403
    assert notice_status(notice.id) == "pending"
    assert entries("SH001") == [] and rebates.current_policy().rates == {}


def log_in_as(client, username: str) -> None:
    client.post("/logout", data={"csrf_token": f.csrf_from(page_of(client, "/admin/"))})
    f.web_login(client, username)


@pytest.mark.parametrize("url", PAGES + ["/admin/finance/notices/{id}/receipt"])
def test_finance_staff_open_every_finance_page(desk, client, url):
    notice = tell(desk.buyer, receipt=(PNG, "r.png"))
    staff.create_staff(None, "cashier", f.PASSWORD, "finance")
    log_in_as(client, "cashier")
    assert client.get(url.format(id=notice.id)).status_code == 200
    assert 'href="/admin/finance/notices">财务</a>' in page_of(client, "/admin/")


def test_finance_staff_confirm_a_notice(desk, client):
    notice = tell(desk.buyer, 20_000, "ICBC-F")
    staff.create_staff(None, "cashier", f.PASSWORD, "finance")
    log_in_as(client, "cashier")
    url = f"/admin/finance/notices/{notice.id}"
    assert post(client, f"{url}/confirm", {}).status_code == 302
    assert notice_status(notice.id) == "confirmed" and balance("SH001") == 20_000


@pytest.mark.parametrize("url", PAGES + ["/admin/finance/notices/{id}/receipt"])
def test_the_order_desk_gets_403_on_finance_pages(desk, client, url):
    notice = tell(desk.buyer, receipt=(PNG, "r.png"))
    staff.create_staff(None, "desk", f.PASSWORD, "order_desk")
    log_in_as(client, "desk")
    assert client.get(url.format(id=notice.id)).status_code == 403
    assert "财务" not in page_of(client, "/admin/orders")


@pytest.mark.parametrize("url", PAGES + POSTS)
def test_anonymous_visitors_are_sent_to_log_in(desk, client, url):
    notice = tell(desk.buyer)
    client.post("/logout", data={"csrf_token": f.csrf_from(page_of(client, "/admin/"))})
    request = client.post if url in POSTS else client.get
    response = request(url.format(id=notice.id))
    # A POST without a session has no CSRF token either: it is refused before anything runs.
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
    assert notice_status(notice.id) == "pending"


# --- 1. the deposit-notice queue ---------------------------------------------------------------


def test_the_queue_lists_pending_notices_oldest_first_with_what_hq_needs(desk):
    first = tell(desk.buyer, 50_000, "ICBC-OLD", receipt=(PNG, "r.png"), note="十一月货款")
    tell(desk.buyer, 20_000, "ICBC-NEW")
    done = tell(desk.buyer, 10_000, "ICBC-DONE")
    notices.confirm_notice(desk.admin, done.id)

    page = page_of(desk.client, "/admin/finance/notices")
    text = text_of(page)

    assert text.index("ICBC-OLD") < text.index("ICBC-NEW")
    assert "ICBC-DONE" not in text
    assert "上海鑫源商贸" in text and "¥500.00" in text and "十一月货款" in text
    assert "待确认 · 2" in text and "已等" in text
    assert f'href="/admin/finance/notices/{first.id}/receipt"' in page
    assert "未附凭证" in text  # the second notice has none
    confirmed = text_of(page_of(desk.client, "/admin/finance/notices?status=confirmed"))
    assert "ICBC-DONE" in confirmed and "ICBC-OLD" not in confirmed and "已确认" in confirmed


def test_a_notice_page_shows_an_image_receipt_inline_from_an_hq_only_route(desk):
    notice = tell(desk.buyer, receipt=(PNG, "r.png"), note="请尽快确认")
    page = page_of(desk.client, f"/admin/finance/notices/{notice.id}")

    assert f'<img class="receipt-img" src="/admin/finance/notices/{notice.id}/receipt"' in page
    assert "¥1,280.50" in page and "ICBC-1" in page and "请尽快确认" in page
    assert 'id="confirm"' in page and 'id="reject"' in page
    receipt = desk.client.get(f"/admin/finance/notices/{notice.id}/receipt")
    assert receipt.status_code == 200 and receipt.data == PNG
    assert receipt.mimetype == "image/png"
    assert receipt.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_receipt_is_a_link_and_a_download(desk):
    notice = tell(desk.buyer, receipt=(PDF, "r.pdf"))
    page = page_of(desk.client, f"/admin/finance/notices/{notice.id}")

    assert "<img" not in page
    assert f'href="/admin/finance/notices/{notice.id}/receipt?download=1"' in page
    download = desk.client.get(f"/admin/finance/notices/{notice.id}/receipt?download=1")
    assert download.mimetype == "application/pdf" and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_a_notice_without_a_receipt_has_no_receipt_route(desk):
    notice = tell(desk.buyer)
    assert "未附凭证" in page_of(desk.client, f"/admin/finance/notices/{notice.id}")
    assert desk.client.get(f"/admin/finance/notices/{notice.id}/receipt").status_code == 404
    assert desk.client.get("/admin/finance/notices/999999").status_code == 404


def test_confirm_posts_the_deposit_once(desk):
    notice = tell(desk.buyer, 128_050, "ICBC-777")
    url = f"/admin/finance/notices/{notice.id}"
    page = page_of(desk.client, url)

    first = post(desk.client, f"{url}/confirm", {}, page=page)
    assert first.status_code == 302 and first.headers["Location"].endswith(url)
    again = post(desk.client, f"{url}/confirm", {}, page=page, follow=True)

    deposits = [e for e in entries("SH001") if e.type == "deposit"]
    assert [(e.amount, e.reference) for e in deposits] == [(128_050, "deposit:ICBC-777")]
    assert balance("SH001") == 128_050
    assert notice_status(notice.id) == "confirmed"
    shown = text_of(again.get_data(as_text=True))
    assert "此回款通知已确认，未重复入账" in shown
    assert "已确认" in shown and "hq" in shown and 'id="confirm"' not in again.text


def test_the_first_confirm_says_what_was_credited(desk):
    notice = tell(desk.buyer, 30_000, "ICBC-9")
    url = f"/admin/finance/notices/{notice.id}"
    shown = text_of(
        post(desk.client, f"{url}/confirm", {}, page=page_of(desk.client, url), follow=True).text
    )
    assert "已确认：¥300.00 已记入上海鑫源商贸的货款账户。" in shown


def test_reject_needs_a_reason_and_changes_nothing_without_one(desk):
    notice = tell(desk.buyer)
    url = f"/admin/finance/notices/{notice.id}"

    refused = post(desk.client, f"{url}/reject", {"reason": "   "})

    assert refused.status_code == 422
    assert "请填写驳回原因" in " ".join(field_notes(refused.text))
    assert 'id="reason"' in refused.text and 'aria-invalid="true"' in refused.text
    assert notice_status(notice.id) == "pending" and entries("SH001") == []

    done = post(desk.client, f"{url}/reject", {"reason": "查无此款"}, follow=True)
    shown = text_of(done.text)
    assert notice_status(notice.id) == "rejected"
    assert "查无此款" in shown and "已驳回" in shown and entries("SH001") == []


def test_the_admin_who_loses_a_race_sees_why(desk):
    """Two admins have the notice open; the first rejects it, the second then confirms."""
    notice = tell(desk.buyer, 40_000, "ICBC-RACE")
    url = f"/admin/finance/notices/{notice.id}"
    open_page = page_of(desk.client, url)
    notices.reject_notice(f.admin("hq2"), notice.id, "金额不符")

    late = post(desk.client, f"{url}/confirm", {}, page=open_page)

    assert late.status_code == 409
    assert "此回款通知已被驳回，无法确认" in alert_of(late.text)
    assert "金额不符" in text_of(late.text)
    assert notice_status(notice.id) == "rejected" and entries("SH001") == []


def test_a_confirmed_notice_cannot_be_rejected_from_a_stale_page(desk):
    notice = tell(desk.buyer, 40_000, "ICBC-C")
    url = f"/admin/finance/notices/{notice.id}"
    open_page = page_of(desk.client, url)
    notices.confirm_notice(f.admin("hq2"), notice.id)

    late = post(desk.client, f"{url}/reject", {"reason": "看错了"}, page=open_page)

    assert late.status_code == 409
    assert "此回款通知已确认，无法驳回" in alert_of(late.text)
    assert notice_status(notice.id) == "confirmed" and balance("SH001") == 40_000


def test_the_notice_page_offers_the_next_waiting_notice(desk):
    first = tell(desk.buyer, 10_000, "A-1")
    second = tell(desk.buyer, 20_000, "A-2")
    url = f"/admin/finance/notices/{first.id}"
    done = post(desk.client, f"{url}/confirm", {}, follow=True)
    assert f'href="/admin/finance/notices/{second.id}"' in done.text


# --- 2. deposits -----------------------------------------------------------------------------

DEPOSITS = "/admin/finance/deposits"


def test_the_deposit_form_picks_among_active_dealers(desk):
    accounts.update_dealer("BJ001", {"active": False})
    page = page_of(desk.client, DEPOSITS)
    assert '<option value="SH001">SH001 · 上海鑫源商贸</option>' in page
    assert "BJ001" not in page


def test_hq_records_a_deposit_and_sees_the_new_balances(desk):
    response = post(
        desk.client, DEPOSITS, {"dealer": "SH001", "amount": "1,280.5", "reference": "ICBC-42"}
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/finance/deposits?dealer=SH001")
    assert balance("SH001") == 128_050
    [entry] = entries("SH001")
    assert (entry.type, entry.reference, entry.created_by) == (
        "deposit",
        "deposit:ICBC-42",
        desk.admin.id,
    )
    shown = text_of(page_of(desk.client, response.headers["Location"]))
    assert "已入账：上海鑫源商贸回款 ¥1,280.50，银行流水号 ICBC-42。" in shown
    assert "货款余额 ¥1,280.50" in shown and "可用额度 ¥2,280.50" in shown


def test_the_same_bank_reference_again_is_a_notice_not_an_error(desk):
    data = {"dealer": "SH001", "amount": "300", "reference": "ICBC-DUP"}
    post(desk.client, DEPOSITS, data)

    again = post(desk.client, DEPOSITS, data, follow=True)

    assert again.status_code == 200
    assert '<div class="flashes"' in again.text and 'class="alert"' not in again.text
    assert "银行流水号 ICBC-DUP 已为上海鑫源商贸登记过（¥300.00），未重复入账。" in text_of(
        again.text
    )
    assert balance("SH001") == 30_000 and len(entries("SH001")) == 1


def test_the_same_reference_for_another_amount_is_refused(desk):
    post(desk.client, DEPOSITS, {"dealer": "SH001", "amount": "300", "reference": "ICBC-X"})
    refused = post(
        desk.client, DEPOSITS, {"dealer": "BJ001", "amount": "300", "reference": "ICBC-X"}
    )

    assert refused.status_code == 409
    assert "该银行流水号已登记为其他金额或经销商" in alert_of(refused.text)
    assert entries("BJ001") == [] and balance("SH001") == 30_000


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "0"}, "amount", "请输入大于零的金额"),
        ({"amount": "-5"}, "amount", "请输入大于零的金额"),
        ({"amount": "12元"}, "amount", "请输入大于零的金额"),
        ({"amount": "1.234"}, "amount", "请输入大于零的金额"),
        ({"amount": ""}, "amount", "请输入大于零的金额"),
        ({"reference": "  "}, "reference", "请填写银行流水号"),
        ({"reference": "R" * 101}, "reference", "请填写银行流水号"),
        ({"dealer": "NOPE"}, "dealer", "请选择经销商"),
    ],
)
def test_bad_deposit_input_is_refused_next_to_its_field(desk, data, field, message):
    form = {"dealer": "SH001", "amount": "100", "reference": "ICBC-B", **data}

    refused = post(desk.client, DEPOSITS, form)

    assert refused.status_code == 422
    assert message in " ".join(field_notes(refused.text))
    assert f'id="{field}-error"' in refused.text
    assert "请更正下方标出的内容，未做任何更改。" in alert_of(refused.text)
    assert entries("SH001") == []
    # What was typed is kept.
    if data.get("amount"):
        assert f'value="{html.escape(data["amount"])}"' in refused.text


def test_choosing_a_dealer_shows_its_balances(desk):
    f.deposit("SH001", 50_000)
    page = page_of(desk.client, f"{DEPOSITS}?dealer=SH001")
    found = text_of(re.search(r'<div id="balances".*?</div>', page, re.S).group(0))
    assert "货款余额 ¥500.00" in found and "信用额度 ¥1,000.00" in found
    assert "返利余额 ¥0.00" in found
    assert '<option value="SH001" selected>' in page


# --- 3. adjustments --------------------------------------------------------------------------

ADJUST = "/admin/finance/adjustments"


def test_hq_posts_signed_adjustments_with_a_memo(desk):
    take = post(
        desk.client,
        ADJUST,
        {"dealer": "SH001", "account": "funds", "amount": "-5.00", "memo": "运费补差"},
    )
    give = post(
        desk.client,
        ADJUST,
        {"dealer": "SH001", "account": "rebate", "amount": "+12.5", "memo": "活动奖励"},
        follow=True,
    )

    assert take.status_code == 302 and take.headers["Location"].endswith("?dealer=SH001")
    assert [(e.type, e.amount, e.memo) for e in entries("SH001")] == [
        ("adjustment", -500, "运费补差")
    ]
    assert [(e.amount, e.memo) for e in entries("SH001", "rebate")] == [(1250, "活动奖励")]
    assert balance("SH001") == -500 and balance("SH001", "rebate") == 1250
    assert "已调整 上海鑫源商贸 · 返利 +¥12.50：活动奖励" in text_of(give.text)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-0.00"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "5.001"}, "amount"),
        ({"memo": "  "}, "memo"),
        ({"memo": "x" * 501}, "memo"),
        ({"account": "cash"}, "account"),
        ({"dealer": ""}, "dealer"),
    ],
)
def test_bad_adjustments_are_refused_and_nothing_is_posted(desk, data, field):
    form = {"dealer": "SH001", "account": "funds", "amount": "-5", "memo": "补差", **data}

    refused = post(desk.client, ADJUST, form)

    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.text
    assert entries("SH001") == [] and entries("SH001", "rebate") == []


def test_rebate_cannot_be_adjusted_below_zero(desk):
    wallet.adjust("SH001", "rebate", 1000, "起始", desk.admin)

    refused = post(
        desk.client,
        ADJUST,
        {"dealer": "SH001", "account": "rebate", "amount": "-10.01", "memo": "扣回"},
    )

    assert refused.status_code == 409
    assert "返利余额将低于零，未入账" in alert_of(refused.text)
    assert balance("SH001", "rebate") == 1000 and len(entries("SH001", "rebate")) == 1
    assert 'value="-10.01"' in refused.text and "扣回" in refused.text


# --- 4. the rebate policy ------------------------------------------------------------------

POLICY = "/admin/finance/rebate-policy"


def test_the_policy_round_trips_through_percentages(desk):
    rebates.set_policy({"GOLD": "0.02"}, "0.05")
    page = page_of(desk.client, POLICY)
    assert re.search(r'name="rate_GOLD"[^>]*value="2"', page)
    assert re.search(r'name="rate_SILVER"[^>]*value=""', page)  # not listed: 0
    assert re.search(r'name="max_use"[^>]*value="5"', page)

    saved = post(
        desk.client, POLICY, {"rate_GOLD": "3", "rate_SILVER": "2.5 %", "max_use": "10"}, page=page
    )

    assert saved.status_code == 302
    policy = rebates.current_policy()
    assert policy.rates == {"GOLD": Decimal("0.03"), "SILVER": Decimal("0.025")}
    assert policy.max_use_ratio == Decimal("0.1")
    again = page_of(desk.client, POLICY)
    assert re.search(r'name="rate_GOLD"[^>]*value="3"', again)
    assert re.search(r'name="rate_SILVER"[^>]*value="2.5"', again)
    assert re.search(r'name="max_use"[^>]*value="10"', again)
    assert "按当前政策，订单 ¥1,000.00 最多可用 ¥100.00 返利。" in text_of(again)


def test_an_empty_rate_is_zero(desk):
    rebates.set_policy({"GOLD": "0.02", "SILVER": "0.01"}, "0.05")
    post(desk.client, POLICY, {"rate_GOLD": "", "rate_SILVER": "1", "max_use": ""})
    policy = rebates.current_policy()
    assert policy.rate_for("GOLD") == 0 and policy.rate_for("SILVER") == Decimal("0.01")
    assert policy.max_use_ratio == 0


@pytest.mark.parametrize("typed", ["abc", "101", "-1", "0.00001", "3,5"])
def test_an_invalid_rate_is_refused_and_the_policy_kept(desk, typed):
    rebates.set_policy({"GOLD": "0.02"}, "0.05")

    refused = post(desk.client, POLICY, {"rate_GOLD": typed, "rate_SILVER": "1", "max_use": "5"})

    assert refused.status_code == 422
    assert 'id="rate_GOLD-error"' in refused.text
    assert "0 到 100 之间的百分比" in " ".join(field_notes(refused.text))
    assert f'value="{typed}"' in refused.text
    assert rebates.current_policy().rates == {"GOLD": Decimal("0.02")}


def test_an_invalid_max_share_is_refused(desk):
    refused = post(desk.client, POLICY, {"rate_GOLD": "3", "max_use": "150"})
    assert refused.status_code == 422 and 'id="max_use-error"' in refused.text
    assert rebates.current_policy().rates == {}


# --- 5. period settlements -----------------------------------------------------------------

SETTLE = "/admin/finance/settlements"


@pytest.fixture
def delivered(desk):
    """SH001 had ¥6,000.00 delivered today, BJ001 ¥1,200.00."""
    f.product("TEA-1", list_price=10_000, on_hand=1_000)
    logistics.create_carrier("sf", "顺丰速运")
    f.dealer_user("BJ001", "bj")
    for username, code, qty in (("sh", "SH001", 60), ("bj", "BJ001", 12)):
        f.deposit(code, 10_000_000)
        order = orders.place_order(f.user_named(username), [LineRequest("TEA-1", qty)])
        orders.approve_order(desk.admin, order.number)
        tracking = f"SF{next(_tracking):05d}"
        logistics.create_shipment(desk.admin, order.number, "sf", tracking, None)
        logistics.record_events(
            logistics.carrier_by_code("sf"),
            [EventIn(f"{tracking}-d", tracking, "delivered", datetime.now(UTC), "上海", "已签收")],
        )
    return desk


def today() -> date:
    return (datetime.now(UTC) + timedelta(hours=8)).date()


def settlement_form(**changes) -> dict:
    base = {
        "period": "2026P1",
        "from": (today() - timedelta(days=30)).isoformat(),
        "to": (today() - timedelta(days=1)).isoformat(),
        "min_amount": ["1000", "5,000", "", "", ""],
        "rate": ["1", "2.5", "", "", ""],
    }
    return {**base, **changes}


def settlement_entries() -> list[LedgerEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.type == "settlement")))


def test_the_settlement_form_suggests_last_quarter(desk):
    page = page_of(desk.client, SETTLE)
    assert re.search(r'name="period"[^>]*value="\d{4}Q[1-4]"', page)
    assert len(re.findall(r'name="min_amount"', page)) == 5
    assert "暂无已结算的周期" in text_of(page)


def test_a_preview_shows_each_dealer_and_posts_nothing(delivered):
    form = settlement_form(to=today().isoformat())

    preview = post(delivered.client, SETTLE, {**form, "action": "preview"})

    assert preview.status_code == 200
    rows = re.findall(r'<li data-dealer="(\w+)">(.*?)</li>', preview.text, re.S)
    shown = {code: text_of(row) for code, row in rows}
    assert "¥6,000.00 × 2.5%" in shown["SH001"] and "¥150.00" in shown["SH001"]
    assert "¥1,200.00 × 1%" in shown["BJ001"] and "¥12.00" in shown["BJ001"]
    assert "¥162.00" in text_of(re.search(r'id="settlement-total">(.*?)<', preview.text).group(1))
    assert 'id="not-over"' in preview.text  # the period ends today: not over yet
    assert settlement_entries() == []
    assert db.session.scalar(select(func.count(RebateSettlement.id))) == 0
    assert 'value="2.5"' in preview.text  # the form keeps what was typed


def test_the_preview_posts_exactly_what_it_showed(delivered):
    typed = settlement_form(to=today().isoformat())
    preview = post(delivered.client, SETTLE, {**typed, "action": "preview"})
    form = re.search(r'<section class="card" id="preview">.*?(<form.*?</form>)', preview.text, re.S)
    fields = re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1))
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(html.unescape(value))
    assert data["action"] == ["post"] and data["period"] == ["2026P1"]

    done = delivered.client.post(SETTLE, data=data)

    assert done.status_code == 302
    assert sorted(e.amount for e in settlement_entries()) == [1_200, 15_000]
    assert 'id="preview-post"' not in page_of(delivered.client, SETTLE)


def test_a_period_already_over_is_not_warned_about(delivered):
    preview = post(delivered.client, SETTLE, {**settlement_form(), "action": "preview"})
    assert preview.status_code == 200 and 'id="not-over"' not in preview.text


def test_post_credits_once_and_a_second_post_shows_the_stored_result(delivered):
    form = {**settlement_form(to=today().isoformat()), "action": "post"}

    first = post(delivered.client, SETTLE, form)
    assert first.status_code == 302
    assert first.headers["Location"].endswith(f"{SETTLE}?period=2026P1")
    again = post(delivered.client, SETTLE, form, follow=True)

    assert sorted(e.amount for e in settlement_entries()) == [1_200, 15_000]
    assert balance("SH001", "rebate") == 15_000 and balance("BJ001", "rebate") == 1_200
    shown = text_of(again.text)
    assert "2026P1 已按相同数据结算过，未重复入账。" in shown
    posted = text_of(
        re.search(r'<section class="card" id="posted">.*?</section>', again.text, re.S)[0]
    )
    assert "2026P1 已结算" in posted and "¥162.00" in posted and "¥6,000.00 × 2.5%" in posted
    assert 'id="settlement-2026P1"' in again.text  # and in the list of posted periods


def test_the_first_post_says_what_was_credited(delivered):
    done = post(
        delivered.client,
        SETTLE,
        {**settlement_form(to=today().isoformat()), "action": "post"},
        follow=True,
    )
    assert "2026P1 已结算：共 ¥162.00，2 家经销商。" in text_of(done.text)


def test_the_same_period_with_another_body_is_a_conflict(delivered):
    form = {**settlement_form(to=today().isoformat()), "action": "post"}
    post(delivered.client, SETTLE, form)

    other = post(delivered.client, SETTLE, {**form, "rate": ["1", "3", "", "", ""]})
    preview = post(delivered.client, SETTLE, {**form, "rate": ["1", "3"], "action": "preview"})

    assert other.status_code == 409 and preview.status_code == 409
    assert "该周期已按其他日期或档位结算" in alert_of(other.text)
    assert sorted(e.amount for e in settlement_entries()) == [1_200, 15_000]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period": ""}, "period"),
        ({"period": "第四季度"}, "period"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-10-02", "to": "2026-10-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-12-31"}, "to"),
        ({"min_amount": ["", "", ""], "rate": ["", "", ""]}, "brackets"),
        ({"min_amount": ["1000", "x"], "rate": ["1", "2"]}, "min_amount_1"),
        ({"min_amount": ["1000", ""], "rate": ["1", "2"]}, "min_amount_1"),
        ({"min_amount": ["1000", "2000"], "rate": ["1", "200"]}, "rate_1"),
        ({"min_amount": ["1000", "", "1000"], "rate": ["1", "", "2"]}, "min_amount_2"),
    ],
)
def test_a_bad_settlement_form_is_refused_next_to_its_field(delivered, changes, field):
    form = {**settlement_form(**changes), "action": "post"}

    refused = post(delivered.client, SETTLE, form)

    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.text
    assert settlement_entries() == []


# --- 6. statements -------------------------------------------------------------------------

STATEMENTS = "/admin/finance/statements"


def test_the_statement_form_lists_every_dealer(desk):
    accounts.update_dealer("BJ001", {"active": False})
    page = page_of(desk.client, STATEMENTS)
    assert '<option value="SH001">' in page and "BJ001 · 北京京联商贸 (已停用)" in text_of(page)
    assert 'action="/admin/finance/statements/download"' in page


def test_a_statement_downloads_as_csv_with_a_bom(desk):
    f.deposit("SH001", 50_000, "ICBC-S1")
    wallet.adjust("SH001", "funds", -1_000, "=SUM(A1)", desk.admin)
    first, last = today().replace(day=1), today()
    query = f"dealer=SH001&account=funds&from={first}&to={last}&format=csv"

    response = desk.client.get(f"{STATEMENTS}/download?{query}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())
    name = f"statement-SH001-funds-{first}-{last}.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    text = response.data.decode("utf-8-sig")
    assert "ICBC-S1" in text and "'=SUM(A1)" in text and "490.00" in text


def test_a_statement_downloads_as_xlsx(desk):
    wallet.adjust("SH001", "rebate", 2_500, "奖励", desk.admin)
    query = f"dealer=SH001&account=rebate&from={today()}&to={today()}&format=xlsx"

    response = desk.client.get(f"{STATEMENTS}/download?{query}")

    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "奖励" in values and Decimal("25") in [
        Decimal(str(v)) for v in values if isinstance(v, (int, float))
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dealer": "NOPE"}, "dealer"),
        ({"account": "cash"}, "account"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_a_bad_statement_request_re_renders_the_form(desk, changes, field):
    query = {"dealer": "SH001", "account": "funds", "from": "2026-03-01", "to": "2026-03-31"}
    query = {**query, "format": "csv", **changes}

    response = desk.client.get(f"{STATEMENTS}/download", query_string=query)

    assert response.status_code == 422
    assert response.mimetype == "text/html" and f'id="{field}-error"' in response.text


def test_a_statement_longer_than_a_year_is_refused(desk):
    query = {"dealer": "SH001", "account": "funds", "from": "2025-01-01", "to": "2026-03-31"}
    response = desk.client.get(f"{STATEMENTS}/download", query_string={**query, "format": "csv"})
    assert response.status_code == 422
    assert "对账单最多覆盖 366 天" in alert_of(response.text)


def test_the_statements_page_starts_with_the_dealer_it_was_opened_for(desk):
    page = page_of(desk.client, "/admin/finance/statements?dealer=BJ001")
    assert re.search(r'<option value="BJ001"[^>]*selected', page)
    assert not re.search(r'<option value="SH001"[^>]*selected', page)
