"""对账单 download for the signed-in dealer: CSV (default) or .xlsx over Shanghai days."""

from datetime import date

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Invalid
from app.services import statement_files, statements
from app.web import bp


class _BadInput(Exception):
    """A query the page cannot use; carries the reader's message."""


def _day(name: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _BadInput(_("Dates are written as YYYY-MM-DD, for example 2026-11-01.")) from None


def _choice(name: str, allowed, default: str, message: str) -> str:
    value = request.args.get(name, "").strip() or default
    if value not in allowed:
        raise _BadInput(message)
    return value


def _query() -> tuple[str, date, date, str]:
    first, last = statements.this_month()
    account = _choice(
        "account",
        statements.ACCOUNTS,
        statements.FUNDS,
        _("Choose the funds or the rebate account."),
    )
    kind = _choice("format", statement_files.WRITERS, "csv", _("Choose CSV or Excel (.xlsx)."))
    return account, _day("from", first), _day("to", last), kind


def _range_message(err: Invalid) -> str:
    if err.code == statements.RANGE_REVERSED:
        return _("The start date must be on or before the end date.")
    if err.code == statements.RANGE_TOO_LONG:
        return _("A statement covers at most %(n)s days.", n=statements.MAX_DAYS)
    return _("Choose the funds or the rebate account.")


@bp.get("/wallet/statement")
def wallet_statement():
    try:
        account, from_day, to_day, kind = _query()
        found = statements.statement(current_user.dealer, account, from_day, to_day)
    except _BadInput as err:
        return render_template("error.html", status=422, message=str(err)), 422
    except Invalid as err:
        return render_template("error.html", status=422, message=_range_message(err)), 422
    content, mimetype, name = statement_files.as_file(
        found, kind, statement_files.localized_labels()
    )
    response = current_app.response_class(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
