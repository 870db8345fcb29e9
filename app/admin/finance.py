"""HQ finance pages (CONTRACT §3 wallet desk): the deposit-notice queue, deposits (回款),
signed adjustments (调整), the rebate policy, period settlements (返点结算) and statements.

Plain forms over the same services as the API: a POST redirects with a flash; a refusal
re-renders its form with the reason next to the field, and nothing has changed. Every view
needs the wallet capability (admin and finance staff, CONTRACT §3a).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.admin import bp, requires
from app.errors import DomainError, NotFound
from app.extensions import db
from app.models import Dealer, DepositNotice, Tier, User
from app.money import MoneyError, display_fen, parse_fen
from app.services import (
    notices,
    permissions,
    rebates,
    settlements,
    statement_files,
    statements,
    wallet,
)
from app.web.helpers import explain_error

NOTICES_PAGE_SIZE = 50
REFERENCE_MAX = 100  # as the deposit API (DepositSchema)
MEMO_MAX = 500
BRACKET_ROWS = 5
_PERCENT = re.compile(r"^([0-9]{1,3})(?:\.([0-9]{1,4}))?$")

NOTICE_TABS = {
    notices.PENDING: _l("To confirm"),
    notices.CONFIRMED: _l("Confirmed"),
    notices.REJECTED: _l("Rejected"),
}
ACCOUNT_NAMES = {"funds": _l("Funds account"), "rebate": _l("Rebate account")}
FORMATS = {"csv": "CSV", "xlsx": "Excel (.xlsx)"}
FINANCE_PAGES = (
    ("notices", "admin.finance_notices", _l("Notices")),
    ("deposits", "admin.finance_deposits", _l("Deposits")),
    ("adjustments", "admin.finance_adjustments", _l("Adjust")),
    ("policy", "admin.finance_policy", _l("Rebate policy")),
    ("settlements", "admin.finance_settlements", _l("Settlements")),
    ("statements", "admin.finance_statements", _l("Statements")),
)
FIELD_MESSAGES = {
    "dealer": _l("Choose a dealer."),
    "amount": _l("Enter an amount in yuan above zero, with at most two decimals, e.g. 1280.50."),
    "signed_amount": _l("Enter a signed amount in yuan, not zero, e.g. -5.00 or 12.50."),
    "reference": _l("Enter the bank reference (1–100 characters)."),
    "memo": _l("Say why (1–500 characters); the dealer sees this memo."),
    "account": _l("Choose the funds or the rebate account."),
    "reason": _l("Please give a reason for rejecting (at most 500 characters)."),
    "rate": _l("A percentage from 0 to 100 with at most four decimals, e.g. 3 or 2.5."),
    "period": _l("Name the period with 1–32 letters, digits, “-”, “_” or “.”, e.g. 2026Q4."),
    "from": _l("Dates are written as YYYY-MM-DD, for example 2026-11-01."),
    "to": _l(
        "Dates are written as YYYY-MM-DD; the end is on or after the start, at most 366 days later."
    ),
    "min_amount": _l("Two brackets start at the same amount; keep one of them."),
    "min": _l("Enter the basis a bracket starts at, in yuan (0 or more), e.g. 50000."),
    "brackets": _l("Give at least one bracket: a minimum in yuan and a rate in percent."),
    "format": _l("Choose CSV or Excel (.xlsx)."),
}
CODE_MESSAGES = {
    "notice_rejected": _l("This notice was already rejected, so it cannot be confirmed."),
    "notice_confirmed": _l("This notice was already confirmed, so it cannot be rejected."),
    "deposit_reference_conflict": _l(
        "This bank reference was already recorded for another amount or dealer; "
        "nothing was credited."
    ),
    "insufficient_rebate": _l("The rebate balance would go below zero; nothing was posted."),
    "settlement_conflict": _l(
        "This period was already posted with other dates or brackets; nothing was credited. "
        "Post it with the same figures, or name another period."
    ),
    statements.RANGE_TOO_LONG: _l("A statement covers at most %(n)s days.", n=statements.MAX_DAYS),
}


class Refused(Exception):
    """Form input the page refuses before (or after) a service: messages by field, '' for
    the whole form, already in the reader's words."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__(errors)
        self.errors, self.status = errors, status


def _refusal(err: DomainError, bracket_rows: list[int] | None = None) -> Refused:
    """A service's refusal in the reader's words, by the page's field names (a bracket's
    index in the service is the form row it was typed in, given by `bracket_rows`)."""
    db.session.rollback()
    if err.code in CODE_MESSAGES:
        return Refused({"": str(CODE_MESSAGES[err.code])}, err.status)
    found = {}
    for path in err.errors or {}:
        field = path.split(".", 1)[0]
        bracket = re.fullmatch(r"brackets\.([0-9]+)\.(min_amount|rate)", path)
        if bracket and bracket_rows and int(bracket[1]) < len(bracket_rows):
            found[f"{bracket[2]}_{bracket_rows[int(bracket[1])]}"] = _message(bracket[2])
        elif field == "rates":
            found[f"rate_{path.split('.', 1)[-1]}"] = str(FIELD_MESSAGES["rate"])
        elif field == "max_use_ratio":
            found["max_use"] = str(FIELD_MESSAGES["rate"])
        elif field in FIELD_MESSAGES:
            found[field] = str(FIELD_MESSAGES[field])
    return Refused(found or {"": explain_error(err)}, err.status)


# --- reading what the typed form says --------------------------------------------------------


def _typed(text: str) -> str:
    """What a person typed, with full-width digits and signs (IME input) made plain."""
    return unicodedata.normalize("NFKC", text or "").strip()


def _money(raw: str, *, signed: bool = False) -> int | None:
    """Yuan as typed ("1,280.5", "¥12", "-5") in fen; None when it is not an amount."""
    text = _typed(raw).replace("¥", "").replace(",", "").replace(" ", "").replace("−", "-")
    if signed and text.startswith("+"):
        text = text[1:]
    try:
        return parse_fen(text, allow_negative=signed)
    except MoneyError:
        return None


def _ratio(raw: str) -> str | None:
    """A percentage as typed ("3", "2.5 %") as the services' ratio ("0.03"); blank is 0."""
    text = _typed(raw).removesuffix("%").strip()
    if not text:
        return "0"
    if not _PERCENT.match(text) or Decimal(text) > 100:
        return None
    return format(Decimal(text) / 100, "f")


def percent(ratio) -> str:
    """A stored ratio ("0.025") as the percentage people type ("2.5")."""
    return format((Decimal(str(ratio)) * 100).normalize(), "f")


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(_typed(raw))
    except ValueError:
        return None


def _text(raw: str, limit: int) -> str | None:
    """Trimmed text of 1…limit characters without control characters, else None."""
    text = (raw or "").strip()
    if not text or len(text) > limit or any(unicodedata.category(c) == "Cc" for c in text):
        return None
    return text


def _message(field: str) -> str:
    return str(FIELD_MESSAGES[field])


# --- reads the services do not offer (lists for pickers, one notice) ------------------------


def _dealers(active_only: bool = True) -> list[Dealer]:
    query = select(Dealer).order_by(Dealer.code)
    if active_only:
        query = query.where(Dealer.active.is_(True))
    return list(db.session.scalars(query))


def _chosen_dealer(code: str, active_only: bool = True) -> Dealer | None:
    code = (code or "").strip()
    return next((d for d in _dealers(active_only) if d.code == code), None)


def _tiers() -> list[Tier]:
    return list(db.session.scalars(select(Tier).order_by(Tier.id)))


def _notice(notice_id: int) -> DepositNotice:
    notice = db.session.get(DepositNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound("No such deposit notice.", code="notice_not_found")
    return notice


def _user_name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return (user.name or user.username) if user else ""


def shanghai_today() -> date:
    return datetime.now(UTC).astimezone(statements.SHANGHAI).date()


@bp.app_template_global()
def finance_pages():
    """(key, url, label) of the finance section's pages, for its sub-navigation."""
    return [(key, url_for(endpoint), label) for key, endpoint, label in FINANCE_PAGES]


@bp.app_template_filter("percent")
def _percent_filter(ratio) -> str:
    return percent(ratio)


# --- 1. the deposit-notice queue ---------------------------------------------------------------


@bp.get("/finance")
@requires(permissions.WALLET)
def finance_home():
    return redirect(url_for("admin.finance_notices"))


@bp.get("/finance/notices")
@requires(permissions.WALLET)
def finance_notices():
    status = request.args.get("status", notices.PENDING)
    status = status if status in NOTICE_TABS else notices.PENDING
    raw_page = request.args.get("page", "")
    page = max(int(raw_page), 1) if re.fullmatch(r"[0-9]{1,6}", raw_page) else 1
    rows, total = notices.admin_notices(status, page, NOTICES_PAGE_SIZE)
    pending = total
    if status != notices.PENDING:
        pending = notices.admin_notices(notices.PENDING, 1, 1)[1]
    return render_template(
        "admin/finance/notices.html",
        rows=rows,
        total=total,
        status=status,
        tabs=NOTICE_TABS,
        pending=pending,
        page=page,
        pages=max(1, -(-total // NOTICES_PAGE_SIZE)),
    )


def _notice_page(notice_id: int, status: int = 200, errors=None, reason: str = ""):
    notice = _notice(notice_id)
    waiting, _total = notices.admin_notices(notices.PENDING, 1, 2)
    following = next((n for n in waiting if n.id != notice.id), None)
    page = render_template(
        "admin/finance/notice.html",
        notice=notice,
        told_by=_user_name(notice.user_id),
        decided_by=_user_name(notice.decided_by_id),
        next_notice=following,
        errors=errors or {},
        reason=reason,
    )
    return page, status


@bp.get("/finance/notices/<int:notice_id>")
@requires(permissions.WALLET)
def finance_notice(notice_id: int):
    return _notice_page(notice_id)


@bp.get("/finance/notices/<int:notice_id>/receipt")
@requires(permissions.WALLET)
def finance_notice_receipt(notice_id: int):
    path, mimetype = notices.receipt_for(current_user, notice_id)
    download = request.args.get("download") == "1"
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=download,
        download_name=f"receipt-{notice_id}{path.suffix}",
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/finance/notices/<int:notice_id>/confirm")
@requires(permissions.WALLET)
def finance_notice_confirm(notice_id: int):
    was = _notice(notice_id).status
    try:
        notice = notices.confirm_notice(current_user, notice_id)
    except DomainError as err:
        if err.status == 404:
            raise
        return _notice_page(notice_id, err.status, _refusal(err).errors)
    if was == notices.PENDING and notice.decided_by_id == current_user.id:
        flash(
            _(
                "Confirmed: %(amount)s credited to %(dealer)s.",
                amount=display_fen(notice.amount),
                dealer=notice.dealer.name,
            )
        )
    else:
        flash(_("This notice was already confirmed; nothing was credited twice."))
    return redirect(url_for("admin.finance_notice", notice_id=notice_id))


@bp.post("/finance/notices/<int:notice_id>/reject")
@requires(permissions.WALLET)
def finance_notice_reject(notice_id: int):
    reason = request.form.get("reason", "")
    was = _notice(notice_id).status
    try:
        notices.reject_notice(current_user, notice_id, reason)
    except DomainError as err:
        if err.status == 404:
            raise
        return _notice_page(notice_id, err.status, _refusal(err).errors, reason)
    if was == notices.PENDING:
        flash(_("Rejected; the dealer sees your reason."))
    else:
        flash(_("This notice was already rejected."))
    return redirect(url_for("admin.finance_notice", notice_id=notice_id))


# --- 2. and 3. deposits and adjustments ----------------------------------------------------


def _balances(code: str):
    """The chosen dealer and its wallet summary, or (None, None)."""
    dealer = _chosen_dealer(code)
    return (dealer, wallet.summary(dealer)) if dealer else (None, None)


def _desk_page(template: str, status: int = 200, form=None, errors=None):
    form = form or {"dealer": request.args.get("dealer", "")}
    dealer, summary = _balances(form.get("dealer", ""))
    page = render_template(
        template,
        dealers=_dealers(),
        form=form,
        errors=errors or {},
        chosen=dealer,
        summary=summary,
        account_names=ACCOUNT_NAMES,
    )
    return page, status


@bp.get("/finance/deposits")
@requires(permissions.WALLET)
def finance_deposits():
    return _desk_page("admin/finance/deposit.html")


def _deposit_input(form: dict) -> tuple[Dealer, int, str]:
    dealer = _chosen_dealer(form["dealer"])
    amount = _money(form["amount"])
    reference = _text(form["reference"], REFERENCE_MAX)
    errors = {}
    if dealer is None:
        errors["dealer"] = _message("dealer")
    if not amount:
        errors["amount"] = _message("amount")
    if reference is None:
        errors["reference"] = _message("reference")
    if errors:
        raise Refused(errors)
    return dealer, amount, reference


@bp.post("/finance/deposits")
@requires(permissions.WALLET)
def finance_deposit_record():
    form = {key: request.form.get(key, "") for key in ("dealer", "amount", "reference")}
    try:
        dealer, amount, reference = _deposit_input(form)
        entry, created = wallet.record_deposit(dealer.code, amount, reference, current_user)
    except Refused as refused:
        return _desk_page("admin/finance/deposit.html", refused.status, form, refused.errors)
    except DomainError as err:
        if err.status == 404:
            raise
        refused = _refusal(err)
        return _desk_page("admin/finance/deposit.html", refused.status, form, refused.errors)
    values = {"amount": display_fen(amount), "dealer": dealer.name, "reference": reference}
    if created:
        flash(_("Recorded: %(amount)s from %(dealer)s, bank reference %(reference)s.", **values))
    else:
        flash(
            _(
                "Bank reference %(reference)s was already recorded for %(dealer)s "
                "(%(amount)s); nothing was credited twice.",
                **values,
            )
        )
    return redirect(url_for("admin.finance_deposits", dealer=dealer.code))


@bp.get("/finance/adjustments")
@requires(permissions.WALLET)
def finance_adjustments():
    return _desk_page("admin/finance/adjustment.html")


def _adjustment_input(form: dict) -> tuple[Dealer, str, int, str]:
    dealer = _chosen_dealer(form["dealer"])
    amount = _money(form["amount"], signed=True)
    memo = _text(form["memo"], MEMO_MAX)
    errors = {}
    if dealer is None:
        errors["dealer"] = _message("dealer")
    if form["account"] not in ACCOUNT_NAMES:
        errors["account"] = _message("account")
    if not amount:
        errors["amount"] = _message("signed_amount")
    if memo is None:
        errors["memo"] = _message("memo")
    if errors:
        raise Refused(errors)
    return dealer, form["account"], amount, memo


@bp.post("/finance/adjustments")
@requires(permissions.WALLET)
def finance_adjustment_post():
    form = {k: request.form.get(k, "") for k in ("dealer", "account", "amount", "memo")}
    try:
        dealer, account, amount, memo = _adjustment_input(form)
        wallet.adjust(dealer.code, account, amount, memo, current_user)
    except Refused as refused:
        return _desk_page("admin/finance/adjustment.html", refused.status, form, refused.errors)
    except DomainError as err:
        if err.status == 404:
            raise
        refused = _refusal(err)
        return _desk_page("admin/finance/adjustment.html", refused.status, form, refused.errors)
    flash(
        _(
            "Adjusted %(dealer)s · %(account)s by %(amount)s: %(memo)s",
            dealer=dealer.name,
            account=ACCOUNT_NAMES[account],
            amount=("+" if amount > 0 else "") + display_fen(amount),
            memo=memo,
        )
    )
    return redirect(url_for("admin.finance_adjustments", dealer=dealer.code))


# --- 4. the rebate policy ------------------------------------------------------------------


def _policy_page(status: int = 200, form=None, errors=None):
    policy = rebates.current_policy()
    tiers = _tiers()
    current = {t.code: percent(policy.rate_for(t.code)) for t in tiers}
    current["max_use"] = percent(policy.max_use_ratio)
    page = render_template(
        "admin/finance/policy.html",
        tiers=tiers,
        current=current,
        form=form or current,
        errors=errors or {},
        example=(100_000, policy.max_use(100_000)),
    )
    return page, status


@bp.get("/finance/rebate-policy")
@requires(permissions.WALLET)
def finance_policy():
    return _policy_page()


@bp.post("/finance/rebate-policy")
@requires(permissions.WALLET)
def finance_policy_save():
    tiers = _tiers()
    form = {t.code: request.form.get(f"rate_{t.code}", "") for t in tiers}
    form["max_use"] = request.form.get("max_use", "")
    rates = {t.code: _ratio(form[t.code]) for t in tiers}
    ratio = _ratio(form["max_use"])
    errors = {f"rate_{code}": _message("rate") for code, rate in rates.items() if rate is None}
    if ratio is None:
        errors["max_use"] = _message("rate")
    if errors:
        return _policy_page(422, form, errors)
    try:
        rebates.set_policy(rates, ratio)
    except DomainError as err:
        return _policy_page(err.status, form, _refusal(err).errors)
    flash(_("Rebate policy saved; it holds for every order placed from now on."))
    return redirect(url_for("admin.finance_policy"))


# --- 5. period settlements -----------------------------------------------------------------


def _last_quarter(today: date) -> dict:
    """The quarter before today's, as the form's suggestion."""
    first_month = (today.month - 1) // 3 * 3 + 1
    end = date(today.year, first_month, 1) - timedelta(days=1)
    start = date(end.year, (end.month - 1) // 3 * 3 + 1, 1)
    return {"period": f"{end.year}Q{(end.month - 1) // 3 + 1}", "from": start, "to": end}


def _settlement_form() -> dict:
    return {
        "period": request.form.get("period", "").strip(),
        "from": request.form.get("from", ""),
        "to": request.form.get("to", ""),
        "min_amount": request.form.getlist("min_amount")[:BRACKET_ROWS],
        "rate": request.form.getlist("rate")[:BRACKET_ROWS],
    }


def _brackets(form: dict, errors: dict) -> list[tuple[int, int, str]]:
    """The filled bracket rows as (row, min_amount fen, rate); blank rows are ignored."""
    found = []
    for i, (raw_min, raw_rate) in enumerate(zip(form["min_amount"], form["rate"], strict=False)):
        if not raw_min.strip() and not raw_rate.strip():
            continue
        amount = _money(raw_min) if raw_min.strip() else None
        rate = _ratio(raw_rate) if raw_rate.strip() else None
        if amount is None:
            errors[f"min_amount_{i}"] = _message("min")
        if rate is None:
            errors[f"rate_{i}"] = _message("rate")
        if amount is not None and rate is not None:
            found.append((i, amount, rate))
    if not found and not errors:
        errors["brackets"] = _message("brackets")
    return found


def _settlement_input(form: dict) -> dict:
    errors = {}
    from_day, to_day = _day(form["from"]), _day(form["to"])
    if not form["period"]:
        errors["period"] = _message("period")
    if from_day is None:
        errors["from"] = _message("from")
    if to_day is None or (from_day and to_day < from_day):
        errors["to"] = _message("to")
    rows = _brackets(form, errors)
    if errors:
        raise Refused(errors)
    form["bracket_rows"] = [row for row, _amount, _rate in rows]
    brackets = [(amount, rate) for _row, amount, rate in rows]
    return {"period": form["period"], "from_day": from_day, "to_day": to_day, "brackets": brackets}


def _settlements_page(status: int = 200, form=None, errors=None, preview=None):
    if form is None:
        form = _last_quarter(shanghai_today())
        form.update({"min_amount": [], "rate": []})
    rows = max(BRACKET_ROWS, len(form["min_amount"]))
    recent = settlements.recent()
    page = render_template(
        "admin/finance/settlements.html",
        form=form,
        rows=rows,
        errors=errors or {},
        preview=preview,
        not_over=bool(preview) and preview.to_day >= shanghai_today(),
        recent=recent,
        shown=next((s for s in recent if s.period == request.args.get("period")), None),
    )
    return page, status


@bp.get("/finance/settlements")
@requires(permissions.WALLET)
def finance_settlements():
    return _settlements_page()


@bp.post("/finance/settlements")
@requires(permissions.WALLET)
def finance_settle():
    form = _settlement_form()
    dry_run = request.form.get("action") != "post"
    try:
        result = settlements.settle(**_settlement_input(form), dry_run=dry_run, by=current_user)
    except Refused as refused:
        return _settlements_page(refused.status, form, refused.errors)
    except DomainError as err:
        refused = _refusal(err, form.get("bracket_rows"))
        return _settlements_page(refused.status, form, refused.errors)
    if dry_run:
        return _settlements_page(200, form, preview=result)
    total = display_fen(result.total)
    if result.created:
        flash(
            _(
                "Posted %(period)s: %(total)s to %(n)s dealers.",
                period=result.period,
                total=total,
                n=len(result.items),
            )
        )
    else:
        flash(
            _(
                "%(period)s was already posted with these figures; nothing was credited again.",
                period=result.period,
            )
        )
    return redirect(url_for("admin.finance_settlements", period=result.period))


# --- 6. statements -------------------------------------------------------------------------


def _statements_page(status: int = 200, form=None, errors=None):
    if form is None:
        first, last = statements.this_month()
        dealer = request.args.get("dealer", "").strip()[:32]  # from a dealer's page
        form = {"dealer": dealer, "account": "funds", "from": first, "to": last, "format": "csv"}
    page = render_template(
        "admin/finance/statements.html",
        dealers=_dealers(active_only=False),
        form=form,
        errors=errors or {},
        account_names=ACCOUNT_NAMES,
        formats=FORMATS,
    )
    return page, status


@bp.get("/finance/statements")
@requires(permissions.WALLET)
def finance_statements():
    return _statements_page()


def _statement_input(form: dict) -> tuple[Dealer, str, date, date, str]:
    dealer = _chosen_dealer(form["dealer"], active_only=False)
    from_day, to_day = _day(form["from"]), _day(form["to"])
    errors = {}
    if dealer is None:
        errors["dealer"] = _message("dealer")
    if form["account"] not in ACCOUNT_NAMES:
        errors["account"] = _message("account")
    if from_day is None:
        errors["from"] = _message("from")
    if to_day is None or (from_day and to_day < from_day):
        errors["to"] = _message("to")
    if form["format"] not in FORMATS:
        errors["format"] = _message("format")
    if errors:
        raise Refused(errors)
    return dealer, form["account"], from_day, to_day, form["format"]


@bp.get("/finance/statements/download")
@requires(permissions.WALLET)
def finance_statement_download():
    form = {k: request.args.get(k, "") for k in ("dealer", "account", "from", "to", "format")}
    try:
        dealer, account, from_day, to_day, kind = _statement_input(form)
        found = statements.statement(dealer, account, from_day, to_day)
    except Refused as refused:
        return _statements_page(refused.status, form, refused.errors)
    except DomainError as err:
        refused = _refusal(err)
        return _statements_page(refused.status, form, refused.errors)
    content, mimetype, name = statement_files.as_file(
        found, kind, statement_files.localized_labels()
    )
    # content_type, not mimetype: CSV_TYPE already names its charset.
    response = current_app.response_class(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
