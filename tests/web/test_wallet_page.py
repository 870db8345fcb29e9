"""我的钱包: balances, every entry in words and linked to its cause, by account and month."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import LedgerEntry
from app.services import orders, rebates, wallet
from app.services.orders import LineRequest
from tests import factories as f


def ledger_rows(client, url: str = "/wallet", **headers) -> list[str]:
    """Each ledger row's text, top to bottom, tags stripped and spaces squeezed."""
    page = client.get(url, headers=headers)
    assert page.status_code == 200
    found = re.findall(r'<li class="ledger-row".*?</li>', page.get_data(as_text=True), re.S)
    return [squeeze(row) for row in found]


def squeeze(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def backdate(entry_id: int, when: datetime) -> None:
    """Move an entry in time (tests only: the ledger itself never changes its rows)."""
    db.session.execute(
        update(LedgerEntry).where(LedgerEntry.id == entry_id).values(created_at=when)
    )
    db.session.commit()


@pytest.fixture
def dealer(client):
    """GZ001 (GOLD, ¥40,000 credit, no funds) logged in; TEA-1 costs ¥73.58."""
    f.tier("GOLD", "金牌")
    f.dealer("GZ001", "GOLD", credit_limit=40_000_00)
    user = f.dealer_user("GZ001", "gz")
    f.product("TEA-1", name="乌龙茶", list_price=7358, on_hand=100)
    rebates.set_policy({"GOLD": "0.03"}, "0.5")
    f.web_login(client, "gz")
    return user


def test_balances_show_money_owed_against_credit(client, dealer):
    orders.place_order(dealer, [LineRequest("TEA-1", 1)])
    funds = squeeze(
        re.search(r'id="funds-card".*?</section>', client.get("/wallet").text, re.S).group(0)
    )
    assert "欠款（占用信用额度） ¥73.58" in funds
    assert "信用额度 ¥40,000.00" in funds and "可用额度 ¥39,926.42" in funds
    assert "-¥73.58" not in funds and "货款余额" not in funds


def test_balances_and_pending_rebate(client, dealer):
    f.deposit("GZ001", 500_00, "ICBC-1")
    wallet.adjust("GZ001", "rebate", 12_00, "开业奖励", None)
    page = client.get("/wallet").text
    funds = squeeze(re.search(r'id="funds-card".*?</section>', page, re.S).group(0))
    rebate = squeeze(re.search(r'id="rebate-card".*?</section>', page, re.S).group(0))
    assert "货款余额 ¥500.00" in funds and "可用额度 ¥40,500.00" in funds
    assert "欠款" not in funds
    assert "返利余额 ¥12.00" in rebate and "待入账返利 ¥0.00" in rebate


def test_every_entry_says_why_newest_first_and_order_entries_link_to_the_order(client, dealer):
    f.deposit("GZ001", 500_00, "ICBC-20261201-01")
    wallet.adjust("GZ001", "funds", -3_00, "运费差额", None)
    wallet.adjust("GZ001", "rebate", 20_00, "开业奖励", None)
    paid = orders.place_order(dealer, [LineRequest("TEA-1", 1)], use_rebate=5_00)
    cancelled = orders.place_order(dealer, [LineRequest("TEA-1", 2)])
    orders.cancel_order(dealer, cancelled.number)
    wallet.post(
        dealer.dealer_id, "rebate", wallet.REBATE_EARNED, 2_06,
        f"order:{paid.number}:rebate-earned", order_id=paid.id, memo=paid.number,
    )  # fmt: skip
    wallet.post(dealer.dealer_id, "rebate", "settlement", 8_00, "settlement:2026Q4:GZ001",
                memo="2026Q4")  # fmt: skip
    db.session.commit()

    rows = ledger_rows(client)
    assert [row.split(" 货款 ")[0].split(" 返利 ")[0] for row in rows] == [
        "返点结算 2026Q4",
        f"返利到账 {paid.number}",
        f"订单 {cancelled.number} 退款",
        f"订单 {cancelled.number} 扣款",
        f"订单 {paid.number} 扣款",
        f"使用返利 {paid.number}",
        "调整：开业奖励",
        "调整：运费差额",
        "回款 ICBC-20261201-01",
    ]
    assert "+¥8.00" in rows[0] and "余额 ¥25.06" in rows[0]  # 20 − 5 + 2.06 + 8
    assert "−¥147.16" in rows[3] and "余额 ¥281.26" in rows[3]
    assert "+¥147.16" in rows[2] and "余额 ¥428.42" in rows[2]
    assert "−¥3.00" in rows[7] and "余额 ¥497.00" in rows[7]

    page = client.get("/wallet").text
    assert 'class="ledger-amount is-in">+¥8.00' in page
    assert 'class="ledger-amount is-out">−¥3.00' in page
    links = re.findall(r'<a class="ledger-link" href="([^"]+)"', page)
    expected = (paid.number, cancelled.number, cancelled.number, paid.number, paid.number)
    assert links == [f"/orders/{number}" for number in expected]
    assert client.get(links[0]).status_code == 200


def test_times_are_china_time(client, dealer):
    entry = f.deposit("GZ001", 1_00, "ICBC-T")
    backdate(entry.id, datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    (row,) = ledger_rows(client, "/wallet?month=2026-11")
    assert "2026-11-30 23:30" in row


def test_account_filter(client, dealer):
    f.deposit("GZ001", 100_00, "ICBC-F")
    wallet.adjust("GZ001", "rebate", 6_00, "返利补发", None)
    assert [r.split(" ")[0] for r in ledger_rows(client, "/wallet?account=rebate")] == [
        "调整：返利补发"
    ]
    assert [r.split(" ")[0] for r in ledger_rows(client, "/wallet?account=funds")] == ["回款"]
    assert len(ledger_rows(client, "/wallet")) == 2
    page = client.get("/wallet?account=rebate").text
    assert re.search(r'class="segment is-active" aria-current="page" href="[^"]*">返利<', page)


def test_month_filter_uses_shanghai_months(client, dealer):
    late_november = f.deposit("GZ001", 1_00, "ICBC-NOV")  # 23:30 on 30 Nov in Shanghai
    backdate(late_november.id, datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    early_december = f.deposit("GZ001", 2_00, "ICBC-DEC")  # 00:30 on 1 Dec in Shanghai
    backdate(early_december.id, datetime(2026, 11, 30, 16, 30, tzinfo=UTC))

    assert [r.split(" ")[1] for r in ledger_rows(client, "/wallet?month=2026-11")] == ["ICBC-NOV"]
    assert [r.split(" ")[1] for r in ledger_rows(client, "/wallet?month=2026-12")] == ["ICBC-DEC"]

    october = client.get("/wallet?month=2026-10").text
    assert "2026-10 暂无收支明细，回款、下单和返利都会显示在这里。" in october
    nov = client.get("/wallet?month=2026-11").text
    assert 'href="/wallet?month=2026-10" rel="prev"' in nov
    assert 'href="/wallet?month=2026-12" rel="next"' in nov


def test_an_empty_month_points_to_the_latest_earlier_month(client, dealer):
    entry = f.deposit("GZ001", 1_00, "ICBC-OLD")
    backdate(entry.id, datetime(2026, 8, 15, 2, 0, tzinfo=UTC))
    page = client.get("/wallet?month=2026-11").text
    assert "2026-11 暂无收支明细，回款、下单和返利都会显示在这里。" in page
    assert '<a href="/wallet?month=2026-08">查看 2026-08</a>' in page


@pytest.mark.parametrize(
    "query", ["month=2026-13", "month=abc", "month=0000-01", "account=cash", "page=-2", "page=x"]
)
def test_bad_parameters_fall_back_to_the_defaults(client, dealer, query):
    f.deposit("GZ001", 1_00, "ICBC-NOW")
    response = client.get(f"/wallet?{query}")
    assert response.status_code == 200
    if not query.startswith("page"):
        assert [r.split(" ")[1] for r in ledger_rows(client, f"/wallet?{query}")] == ["ICBC-NOW"]


def test_another_dealers_entries_never_appear(client, dealer):
    f.dealer("BJ001", "GOLD", credit_limit=1_000_00)
    other = f.dealer_user("BJ001", "bj")
    f.deposit("BJ001", 9_00, "THEIR-REF")
    theirs = orders.place_order(other, [LineRequest("TEA-1", 1)])
    f.deposit("GZ001", 1_00, "MY-REF")
    for url in ("/wallet", "/wallet?account=funds", "/wallet?account=rebate"):
        page = client.get(url).text
        assert "THEIR-REF" not in page and theirs.number not in page
    assert [r.split(" ")[1] for r in ledger_rows(client)] == ["MY-REF"]


def test_paging_without_javascript_and_with_htmx(client, dealer):
    for n in range(35):
        f.deposit("GZ001", 1_00 + n, f"ICBC-{n:02d}")
    first = client.get("/wallet").text
    assert len(ledger_rows(client)) == 30
    assert "ICBC-34" in first and "ICBC-04" not in first
    more = re.search(r'<a href="([^"]+)" class="btn btn-ghost btn-block" rel="next">', first)
    next_url = html_lib.unescape(more.group(1))
    assert "page=2" in next_url

    second = ledger_rows(client, next_url)
    assert [r.split(" ")[1] for r in second] == [f"ICBC-{n:02d}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in client.get(next_url).text.split('id="wallet-entries"')[1]
    assert "‹ 较新的明细" in client.get(next_url).text

    fragment = client.get(next_url, headers={"HX-Request": "true", "HX-Target": "more-entries"})
    assert "<html" not in fragment.text and fragment.text.count('class="ledger-row"') == 5
    assert "HX-Request" in fragment.headers["Vary"]


def test_me_links_to_the_wallet(client, dealer):
    page = client.get("/me").text
    assert re.search(r'<a class="wallet-open" href="/wallet"><span>我的钱包</span>', page)


def test_statement_links_follow_the_statement_door(client, dealer, app):
    page = client.get("/wallet?month=2026-11&account=funds").text
    if "web.wallet_statement" in app.view_functions:
        links = [
            html_lib.unescape(h) for h in re.findall(r'class="btn btn-sm" href="([^"]+)"', page)
        ]
        assert len(links) == 2
        for link in links:
            assert "account=funds" in link and "from=2026-11-01" in link and "to=2026-11-30" in link
        assert {"format=csv", "format=xlsx"} == {re.search(r"format=\w+", x)[0] for x in links}
        for link in links:
            download = client.get(link)
            assert (
                download.status_code == 200
                and "attachment" in download.headers["Content-Disposition"]
            )
    else:
        assert "下载对账单" not in page


def test_rows_in_english_and_a_balance_after_below_zero_reads_as_owed(client, dealer):
    order = orders.place_order(dealer, [LineRequest("TEA-1", 1)])
    client.get("/lang/en")
    (row,) = ledger_rows(client)
    assert f"Order {order.number} paid" in row and "Owed ¥73.58" in row and "−¥73.58" in row
