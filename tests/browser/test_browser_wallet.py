"""我的钱包 on a phone: from 我的, balances side by side, account segments, months, causes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import LedgerEntry, User
from app.money import display_fen
from app.services import orders as orders_svc
from app.services import products as products_svc
from app.services import wallet, wallet_views
from app.services.orders import LineRequest
from tests.browser.helpers import OVERFLOW_JS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests (fails them in CI)
    expect = None

pytestmark = pytest.mark.browser

DEALER = ("gz001", "demo1234")  # GOLD: ¥40,000 credit, no funds


def ledger(app) -> dict:
    """A deposit last month, a deposit, a rebate adjustment and an order this month."""
    with app.app_context():
        products_svc.set_on_hand("DRK-002", 50)
        user = db.session.scalar(select(User).where(User.username == DEALER[0]))
        old, _ = wallet.record_deposit("GZ001", 1_000_00, "ICBC-LAST-MONTH", None)
        this_month = wallet_views.this_month()
        last_month = wallet_views.shift_month(this_month, -1)
        start, _end = wallet_views.month_bounds(last_month)
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id == old.id)
            .values(created_at=start + timedelta(days=3))
        )
        db.session.commit()
        wallet.record_deposit("GZ001", 300_00, "ICBC-THIS-MONTH", None)
        wallet.adjust("GZ001", "rebate", 15_00, "开业奖励", None)
        order = orders_svc.place_order(user, [LineRequest("DRK-002", 2)])
        funds = 1_300_00 - order.payable_amount
        db.session.remove()
        return {
            "number": order.number,
            "this": this_month.strftime("%Y-%m"),
            "last": last_month.strftime("%Y-%m"),
            "last_day": (wallet_views.shift_month(this_month, 1) - timedelta(days=1)).isoformat(),
            "funds": display_fen(funds),
        }


def no_overflow(page) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] <= found["clientWidth"] == 390, found
    assert not found["offenders"], found


def test_wallet_from_me_segments_months_and_an_order_entry(
    demo, page, sign_in, shots_dir, js_errors
):
    made = ledger(demo)
    js_errors.watch(page)
    sign_in(page, *DEALER)
    page.goto("/me")
    link = page.get_by_role("link", name="我的钱包")
    box = link.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    link.scroll_into_view_if_needed()
    (shots_dir / "wallet").mkdir(exist_ok=True)
    page.screenshot(path=str(shots_dir / "wallet" / "me-link.png"), animations="disabled")
    link.click()
    page.wait_for_url("**/wallet")

    funds, rebate = page.locator("#funds-card"), page.locator("#rebate-card")
    expect(funds.locator(".wallet-big")).to_have_text(made["funds"])
    expect(funds).to_contain_text("货款余额")
    expect(rebate.locator(".wallet-big")).to_have_text("¥15.00")
    a, b = funds.bounding_box(), rebate.bounding_box()
    assert abs(a["y"] - b["y"]) < 1 and a["x"] + a["width"] <= b["x"] <= 390 - b["width"]
    rows = page.locator("li.ledger-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(f"订单 {made['number']} 扣款")
    shots = shots_dir / "wallet"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "wallet.png"), animations="disabled", full_page=True)
    no_overflow(page)

    if "web.wallet_statement" in demo.view_functions:
        page.get_by_text("下载对账单").click()
        for label in ("CSV", "Excel"):
            statement = page.locator(".statement-row").first.get_by_role("link", name=label)
            expect(statement).to_have_attribute("href", re.compile(rf"from={made['this']}-01"))
        with page.expect_download() as download:
            page.locator(".statement-row").first.get_by_role("link", name="CSV").click()
        assert download.value.suggested_filename.endswith(".csv")
        page.screenshot(path=str(shots / "wallet-statement.png"), animations="disabled")

    segments = page.get_by_role("navigation", name="账户")
    segments.get_by_role("link", name="返利").click()
    page.wait_for_url("**/wallet?account=rebate*")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("调整：开业奖励")
    expect(segments.get_by_role("link", name="返利")).to_have_attribute("aria-current", "page")
    segments.get_by_role("link", name="全部").click()
    page.wait_for_url(f"**/wallet?month={made['this']}")

    page.get_by_role("link", name="上个月").click()
    page.wait_for_url(f"**/wallet?month={made['last']}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("回款 ICBC-LAST-MONTH")
    expect(page.locator("#wallet-month")).to_have_value(made["last"])
    page.screenshot(path=str(shots / "wallet-last-month.png"), animations="disabled")
    page.get_by_role("link", name="下个月").click()
    page.wait_for_url(f"**/wallet?month={made['this']}")
    expect(rows).to_have_count(3)

    page.locator("#wallet-month").fill(made["last"])  # the picker submits its form
    page.wait_for_url(f"**/wallet?month={made['last']}")
    expect(rows.first).to_contain_text("ICBC-LAST-MONTH")
    page.go_back()
    page.wait_for_url(f"**/wallet?month={made['this']}")

    rows.filter(has_text=made["number"]).click()
    page.wait_for_url(f"**/orders/{made['number']}")
    expect(page.get_by_text(made["number"]).first).to_be_visible()
    assert not js_errors.seen


def test_a_new_month_is_empty_and_friendly(demo, page, sign_in, shots_dir):
    sign_in(page, *DEALER)
    next_year = datetime.now(UTC).year + 1
    page.goto(f"/wallet?month={next_year}-01")
    expect(page.locator("#wallet-entries .empty")).to_contain_text(f"{next_year}-01 暂无收支明细")
    shots = shots_dir / "wallet"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "wallet-empty.png"), animations="disabled")
    no_overflow(page)


def test_the_months_statements_close_at_the_balances_the_wallet_page_shows(
    demo, page, sign_in, shots_dir, js_errors
):
    import csv
    import io

    from openpyxl import load_workbook

    made = ledger(demo)
    js_errors.watch(page)
    sign_in(page, *DEALER)
    page.goto("/wallet")
    shown = {
        "funds": page.locator("#funds-card .wallet-big").inner_text(),
        "rebate": page.locator("#rebate-card .wallet-big").inner_text(),
    }
    assert shown["funds"] == made["funds"]
    statement = page.locator("details.statement")
    statement.locator("summary").click()
    page.screenshot(path=str(shots_dir / "wallet" / "statement-open.png"), animations="disabled")

    for account, name in (("funds", "货款"), ("rebate", "返利")):
        row = statement.locator(".statement-row", has_text=name)
        with page.expect_download() as caught:
            row.get_by_role("link", name="CSV").click()
        assert caught.value.suggested_filename.endswith(".csv")
        content = Path(caught.value.path()).read_bytes()
        assert content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        opening, *entries, closing = rows[1:]
        assert closing[1] == "期末余额" and opening[1] == "期初余额"
        assert display_fen(round(float(closing[-1]) * 100)) == shown[account], (account, rows)
        total = sum(round(float(r[5]) * 100) for r in entries)
        assert round(float(opening[-1]) * 100) + total == round(float(closing[-1]) * 100)

        with page.expect_download() as caught:
            row.get_by_role("link", name=re.compile("Excel")).click()
        assert caught.value.suggested_filename.endswith(
            f"-{account}-{made['this']}-01-{made['last_day']}.xlsx"
        )
        sheet = load_workbook(io.BytesIO(Path(caught.value.path()).read_bytes())).active
        last = [cell.value for cell in list(sheet.iter_rows())[-1]]
        assert display_fen(round(last[-1] * 100)) == shown[account]
    js_errors.check()
