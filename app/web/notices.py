"""我已汇款: a dealer tells HQ about a bank transfer (with a receipt) and follows each notice."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.errors import Conflict, DomainError, Invalid, NotFound
from app.money import MoneyError, format_fen, parse_fen
from app.services import notices, wallet_views
from app.web import bp
from app.web.forms import go

PAGE_SIZE = 20
STRIP_SHOWN = 3
ID_MAX = 2**31 - 1  # larger ids do not exist (and would overflow PostgreSQL's integer)
STATUS_LABELS = {
    notices.PENDING: _l("Awaiting confirmation"),
    notices.CONFIRMED: _l("Confirmed by HQ"),
    notices.REJECTED: _l("Rejected by HQ"),
}
# Full-width digits and points, as a Chinese keyboard may type them.
_WIDE = str.maketrans("０１２３４５６７８９．。", "0123456789..")


@dataclass(frozen=True, slots=True)
class PendingNotices:
    count: int
    total: int
    shown: list


@bp.app_template_global()
def notice_status_label(status: str) -> str:
    """待确认 / 已确认 / 已驳回."""
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def pending_notices() -> PendingNotices:
    """The signed-in dealer's notices still waiting for HQ: how many, their sum, the newest."""
    return PendingNotices(*notices.pending_for(current_user.dealer, STRIP_SHOWN))


@bp.app_template_global()
def notice_entry_url(notice) -> str | None:
    """Where a confirmed notice's deposit shows in 我的钱包 (the month HQ confirmed it)."""
    if notice.status != notices.CONFIRMED or notice.decided_at is None:
        return None
    month = wallet_views.this_month(notice.decided_at).strftime("%Y-%m")
    return url_for("web.wallet_page", account="funds", month=month)


@bp.app_template_global()
def notice_resend_url(notice) -> str:
    """The form again with a rejected notice's amount and reference filled in."""
    return url_for("web.notice_new", amount=format_fen(notice.amount), reference=notice.reference)


class _BadAmount(Exception):
    """An amount the form cannot read; carries the reader's message."""


def _amount(raw: str) -> int:
    """Yuan as a person types it ("1280", "1,280.5", "¥1280", full-width digits) in fen."""
    text = raw.translate(_WIDE).replace("¥", "").replace("￥", "").replace(",", "").strip()
    if not text:
        raise _BadAmount(_("Enter the amount you transferred."))
    try:
        return parse_fen(text)
    except MoneyError:
        raise _BadAmount(
            _("Enter the amount in yuan with at most two decimals, for example 1280.50.")
        ) from None


def _receipt() -> tuple[bytes, str] | None:
    upload = request.files.get("receipt")
    if upload is None or not upload.filename:
        return None
    # One byte past the limit is enough for the service to know it is too large.
    return upload.stream.read(notices.MAX_RECEIPT_BYTES + 1), upload.filename


def _field_errors(err: DomainError, reference: str) -> dict[str, str]:
    """The service's refusal as one message per form field, in the reader's language."""
    if isinstance(err, Conflict):
        return {
            "reference": _(
                "You already told HQ about reference %(reference)s; it is awaiting "
                "confirmation or confirmed.",
                reference=reference,
            )
        }
    fields = err.errors or {}
    words = {
        "amount": lambda: _("The amount must be more than zero."),
        "reference": lambda: (
            _("Enter the bank reference of the transfer.")
            if not reference
            else _("The bank reference is at most %(n)s characters.", n=notices.REFERENCE_MAX)
        ),
        "note": lambda: _("The note is at most %(n)s characters.", n=notices.NOTE_MAX),
        "receipt": lambda: (
            _("The receipt is larger than 5 MB. Please choose a smaller photo or PDF.")
            if err.code == "receipt_too_large"
            else _("The receipt must be a photo (JPEG or PNG) or a PDF file.")
        ),
    }
    found = {name: words[name]() for name in fields if name in words}
    return found or {"amount": _("Please check the form and try again.")}


def _form(values: dict, errors: dict | None = None, status: int = 200):
    sheet = bool(request.htmx) and request.htmx.target == "sheet"
    template = "dealer/_notice_sheet.html" if sheet else "dealer/notices.html"
    return (
        render_template(template, mode="new", values=values, errors=errors or {}),
        status,
    )


def _refused(values: dict, errors: dict, receipt, status: int):
    # A browser never keeps a chosen file: say so when the file itself was fine.
    values["receipt_dropped"] = receipt is not None and "receipt" not in errors
    return _form(values, errors, status)


@bp.get("/wallet/notices/new")
def notice_new():
    values = {name: request.args.get(name, "")[:100] for name in ("amount", "reference")}
    return _form(values)


@bp.post("/wallet/notices")
def notice_submit():
    form = request.form
    values = {name: form.get(name, "") for name in ("amount", "reference", "note")}
    reference = values["reference"].strip()
    receipt = _receipt()
    try:
        amount = _amount(values["amount"])
        notices.submit_notice(current_user, amount, reference, values["note"], receipt)
    except _BadAmount as err:
        return _refused(values, {"amount": str(err)}, receipt, 422)
    except (Invalid, Conflict) as err:
        errors = _field_errors(err, reference)
        return _refused(values, errors, receipt, 422 if isinstance(err, Invalid) else 409)
    flash(_("Sent. HQ will confirm it shortly."))
    return go(url_for("web.notices_page"))


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,6}", raw) else 1


@bp.get("/wallet/notices")
def notices_page():
    page = _page_number()
    rows, total = notices.dealer_notices(current_user.dealer, page, PAGE_SIZE)
    return render_template(
        "dealer/notices.html",
        mode="list",
        rows=rows,
        page=page,
        has_more=page * PAGE_SIZE < total,
    )


@bp.get("/wallet/notices/<notice_id>/receipt")
def notice_receipt(notice_id: str):
    if not notice_id.isascii() or not notice_id.isdigit() or int(notice_id) > ID_MAX:
        raise NotFound("No such receipt.", code="receipt_not_found")
    path, mimetype = notices.receipt_for(current_user, int(notice_id))
    response = send_file(path, mimetype=mimetype, conditional=False, etag=False, max_age=None)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
