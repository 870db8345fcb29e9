"""我的钱包: balances, then the dealer's own ledger by account and Shanghai month."""

from __future__ import annotations

import re
from datetime import date

from flask import current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.services import wallet, wallet_views
from app.web import bp

WALLET_PAGE_SIZE = 30
ACCOUNT_TABS = {"all": _l("All"), "funds": _l("Funds account"), "rebate": _l("Rebate account")}
ACCOUNT_NAMES = {"funds": _l("Funds account"), "rebate": _l("Rebate account")}
STATEMENT_FORMATS = (("csv", "CSV"), ("xlsx", "Excel"))


def _month(raw: str) -> date:
    """?month=YYYY-MM, or the current Shanghai month when absent or not a real month."""
    found = re.fullmatch(r"([0-9]{4})-([0-9]{2})", raw)
    if found and 2000 <= int(found[1]) <= 2999 and 1 <= int(found[2]) <= 12:
        return date(int(found[1]), int(found[2]), 1)
    return wallet_views.this_month()


def _page(raw: str) -> int:
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,6}", raw) else 1


def _period(memo: str) -> str:
    """The period a settlement's memo names ("2026Q4"), or the memo itself."""
    found = re.search(r"[0-9]{4}(?:[QqHh][1-4]|-[0-9]{2})?", memo or "")
    return found[0] if found else memo


@bp.app_template_global()
def ledger_words(row) -> str:
    """What a ledger entry was, in the reader's words (CONTRACT §4 entry types)."""
    number = row.order_number or ""
    words = {
        wallet.ORDER_DEBIT: lambda: _("Order %(number)s paid", number=number),
        wallet.ORDER_REFUND: lambda: _("Order %(number)s refunded", number=number),
        wallet.REBATE_USE: lambda: _("Rebate used on %(number)s", number=number),
        wallet.REBATE_REFUND: lambda: _("Rebate returned from %(number)s", number=number),
        wallet.REBATE_EARNED: lambda: _("Rebate earned on %(number)s", number=number),
        wallet.DEPOSIT: lambda: _(
            "Bank transfer %(reference)s", reference=row.reference.removeprefix("deposit:")
        ),
        wallet.ADJUSTMENT: lambda: (
            _("Adjustment: %(memo)s", memo=row.memo) if row.memo else _("Adjustment by HQ")
        ),
        "settlement": lambda: _("Period rebate %(period)s", period=_period(row.memo)),
    }
    return words[row.type]().strip() if row.type in words else row.type


def _statement_links(account: str, month: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """(account name, [(format label, url)]) for the month, when the statement door exists."""
    if "web.wallet_statement" not in current_app.view_functions:
        return []
    start, end = month, wallet_views.shift_month(month, 1)
    last = date.fromordinal(end.toordinal() - 1)
    accounts = [account] if account in ACCOUNT_NAMES else list(ACCOUNT_NAMES)
    return [
        (
            str(ACCOUNT_NAMES[name]),
            [
                (
                    label,
                    url_for(
                        "web.wallet_statement",
                        account=name,
                        format=fmt,
                        **{"from": start.isoformat(), "to": last.isoformat()},
                    ),
                )
                for fmt, label in STATEMENT_FORMATS
            ],
        )
        for name in accounts
    ]


@bp.get("/wallet")
def wallet_page():
    dealer = current_user.dealer
    account = request.args.get("account", "all")
    if account not in ACCOUNT_TABS:
        account = "all"
    month = _month(request.args.get("month", ""))
    page = _page(request.args.get("page", ""))
    filtered = None if account == "all" else account
    found = wallet_views.ledger_page(dealer, filtered, month, page, WALLET_PAGE_SIZE)
    current = wallet_views.this_month()
    context = {
        "rows": found.rows,
        "has_more": found.has_more,
        "account": account,
        "account_arg": filtered,
        "month": month,
        "month_arg": month.strftime("%Y-%m"),
        "prev_month": wallet_views.shift_month(month, -1),
        "next_month": wallet_views.shift_month(month, 1) if month < current else None,
        "page": page,
        "account_names": ACCOUNT_NAMES,
    }
    if request.htmx and request.htmx.target == "more-entries":
        response = make_response(render_template("dealer/_wallet_entries.html", **context))
    else:
        summary = wallet.summary(dealer)
        earlier = None
        if not found.rows and page == 1:
            earlier = wallet_views.latest_month_before(dealer, filtered, month)
        response = make_response(
            render_template(
                "dealer/wallet.html",
                wallet=summary,
                owed=max(-summary.funds_balance, 0),
                tabs=ACCOUNT_TABS,
                statements=_statement_links(account, month),
                earlier=earlier,
                **context,
            )
        )
    response.vary.add("HX-Request")
    return response
