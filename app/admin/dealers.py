"""HQ dealer pages: the list (search, tier and active filters, pages), create and edit a
dealer, its logins (add, reset a password, deactivate), and a dealer's page with its wallet,
recent orders and 90-day purchases.

Plain forms over the services the API uses (app/services/accounts.py): a POST redirects with
a flash; a refusal re-renders the form with the reason at the field and nothing has changed.
Reading is for every HQ role (READ_DEALERS); every write is for admins (the guard reads
`requires`, the services re-check). A made-up password is shown once, in the answer to the
POST itself (never in a flash, which would keep it in the session cookie).
"""

from __future__ import annotations

import re
import unicodedata

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from app.admin import bp, requires
from app.api.schemas import DealerCreateSchema, DealerUpdateSchema
from app.errors import DomainError
from app.extensions import db
from app.money import format_fen
from app.services import accounts, orders, permissions, wallet
from app.web.helpers import explain_error

PAGE_SIZE = 30
RECENT_ORDERS = 10
USERNAME = re.compile(r"^\S{1,64}$")
PASSWORD_MAX = 128
TEXT_FIELDS = ("name", "tier", "region", "address", "contact_name", "contact_phone")

FIELD_MESSAGES = {
    "code": _l("Use 1–32 letters, digits, “_”, “.” or “-” for the code, without spaces."),
    "name": _l("Give the dealer's name (at most 128 characters)."),
    "tier": _l("Choose a tier from the list."),
    "credit_limit": _l("Enter the credit limit in yuan, such as 50000 or 12.50 (not below 0)."),
    "region": _l("The region takes at most 64 characters."),
    "address": _l("The address takes at most 255 characters."),
    "contact_name": _l("The contact's name takes at most 64 characters."),
    "contact_phone": _l("The phone number takes at most 32 characters."),
}
ACTIVE_FILTERS = {"": _l("All"), "1": _l("Active"), "0": _l("Inactive")}
NEW_VALUES = {field: "" for field in ("code", *TEXT_FIELDS, "credit_limit")} | {"active": True}


# --- reading what was typed ----------------------------------------------------------------


def _money_text(raw: str) -> str:
    """A typed amount made plain: full-width digits (IME input), "¥", "," and spaces go."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    return text.replace("¥", "").replace(",", "").replace(" ", "")


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(int(raw), 1) if re.fullmatch(r"[0-9]{1,5}", raw) else 1


def _values_of(dealer) -> dict:
    """The edit form filled in from a stored dealer."""
    values = {field: getattr(dealer, field) or "" for field in TEXT_FIELDS if field != "tier"}
    return values | {
        "code": dealer.code,
        "tier": dealer.tier.code,
        "credit_limit": format_fen(dealer.credit_limit),
        "active": dealer.active,
    }


def _submitted(*, creating: bool) -> tuple[dict, dict]:
    """(the form as typed, to show again; the body the API's schema checks)."""
    values = {field: request.form.get(field, "") for field in (*TEXT_FIELDS, "credit_limit")}
    body = {field: values[field] for field in TEXT_FIELDS}
    body["credit_limit"] = _money_text(values["credit_limit"]) or "0"  # empty: no credit
    if creating:
        values["code"] = request.form.get("code", "")
        body["code"] = values["code"].strip()
    else:
        values["active"] = request.form.get("active") == "1"
        body["active"] = values["active"]
    return values, body


def _checked(schema, body: dict) -> tuple[dict | None, dict]:
    try:
        return schema.load(body), {}
    except ValidationError as err:
        generic = _("Please check this field.")
        return None, {name: str(FIELD_MESSAGES.get(name, generic)) for name in err.messages}


def _service_errors(err: DomainError) -> dict[str, str]:
    """A refusal of accounts.create_dealer/update_dealer, at the field it is about."""
    db.session.rollback()
    if err.code == "duplicate_dealer":
        return {"code": _("A dealer with this code already exists; nothing was saved.")}
    fields = [name for name in (err.errors or {}) if name in FIELD_MESSAGES]
    if fields:
        return {name: str(FIELD_MESSAGES[name]) for name in fields}
    return {"": explain_error(err)}


# --- the list ------------------------------------------------------------------------------


def _list_filters() -> dict:
    active = request.args.get("active", "")
    return {
        "q": request.args.get("q", "").strip()[:100],
        "tier": request.args.get("tier", "").strip()[:32],
        "active": active if active in ACTIVE_FILTERS else "",
    }


@bp.get("/dealers")
@requires(permissions.READ_DEALERS)
def dealers_list():
    filters = _list_filters()
    page = _page_number()
    rows, total = accounts.hq_dealers(
        filters["q"],
        filters["tier"] or None,
        {"1": True, "0": False}.get(filters["active"]),
        page,
        PAGE_SIZE,
    )

    def list_url(**changes):
        values = {**filters, "page": None, **changes}
        return url_for("admin.dealers_list", **{k: v for k, v in values.items() if v})

    return render_template(
        "admin/dealers/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        tiers=accounts.tiers(),
        active_filters=ACTIVE_FILTERS,
        list_url=list_url,
    )


# --- create and edit -----------------------------------------------------------------------


def _form_page(values: dict, errors: dict, *, dealer=None, status: int = 200):
    page = render_template(
        "admin/dealers/form.html",
        values=values,
        errors=errors,
        dealer=dealer,
        tiers=accounts.tiers(),
        regions=accounts.regions(),
    )
    return page, status


@bp.get("/dealers/new")
def dealer_new():
    return _form_page(NEW_VALUES, {})


@bp.post("/dealers/new")
def dealer_create():
    values, body = _submitted(creating=True)
    data, errors = _checked(DealerCreateSchema(), body)
    if errors:
        return _form_page(values, errors, status=422)
    try:
        dealer = accounts.create_dealer(**data)
    except DomainError as err:
        return _form_page(values, _service_errors(err), status=err.status)
    flash(_("Created %(code)s. Add a login for it below.", code=dealer.code))
    return redirect(url_for("admin.dealer_detail", code=dealer.code) + "#users")


@bp.get("/dealers/<code>/edit")
def dealer_edit(code: str):
    dealer = accounts.dealer_by_code(code)
    return _form_page(_values_of(dealer), {}, dealer=dealer)


@bp.post("/dealers/<code>/edit")
def dealer_update(code: str):
    dealer = accounts.dealer_by_code(code)  # an unknown code is a 404, not a form to fix
    values, body = _submitted(creating=False)
    values["code"] = dealer.code
    data, errors = _checked(DealerUpdateSchema(), body)
    if errors:
        return _form_page(values, errors, dealer=dealer, status=422)
    try:
        accounts.update_dealer(dealer.code, data)
    except DomainError as err:
        return _form_page(values, _service_errors(err), dealer=dealer, status=err.status)
    if data["active"]:
        flash(_("Saved %(code)s.", code=dealer.code))
    else:
        flash(_("Saved %(code)s. It is deactivated: its users cannot log in.", code=dealer.code))
    return redirect(url_for("admin.dealer_detail", code=dealer.code))


# --- a dealer's page -------------------------------------------------------------------------


def _detail_page(code: str, status: int = 200, **context):
    dealer = accounts.dealer_by_code(code)
    recent, order_count = orders.dealer_orders(dealer, page=1, per_page=RECENT_ORDERS)
    context.setdefault("user_form", {})
    context.setdefault("user_errors", {})
    context.setdefault("reset_errors", {})
    page = render_template(
        "admin/dealers/detail.html",
        dealer=dealer,
        users=accounts.dealer_users([dealer.id])[dealer.id],
        summary=wallet.summary(dealer),
        recent=recent,
        order_count=order_count,
        bought=accounts.purchases(dealer),
        **context,
    )
    return page, status


def _shown_once(code: str, username: str, password: str):
    """The dealer's page with a made-up password on it, never kept by any cache."""
    page, status = _detail_page(code, shown={"username": username, "password": password})
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/dealers/<code>")
@requires(permissions.READ_DEALERS)
def dealer_detail(code: str):
    return _detail_page(code)


# --- its users -----------------------------------------------------------------------------


def _user_errors(form: dict) -> dict[str, str]:
    errors = {}
    if not USERNAME.match(form["username"]):
        errors["username"] = _("Use 1–64 characters without spaces.")
    if len(form["name"]) > 128:
        errors["name"] = _("At most 128 characters.")
    if len(form["password"]) > PASSWORD_MAX:
        errors["password"] = _("Password must be 1–128 characters.")
    return errors


@bp.post("/dealers/<code>/users")
def dealer_user_create(code: str):
    dealer = accounts.dealer_by_code(code)
    form = {
        "username": request.form.get("username", "").strip(),
        "name": request.form.get("name", "").strip(),
        "password": request.form.get("password", ""),
    }
    errors = _user_errors(form)
    if errors:
        return _detail_page(dealer.code, 422, user_form=form, user_errors=errors)
    password = form["password"] or accounts.new_password()
    try:
        user = accounts.create_dealer_user(dealer.code, form["username"], password, form["name"])
    except DomainError as err:
        db.session.rollback()
        if err.code == "duplicate_username":
            errors = {"username": _("This username is taken; nothing was saved.")}
        else:
            errors = {"": explain_error(err)}
        return _detail_page(dealer.code, err.status, user_form=form, user_errors=errors)
    if not form["password"]:
        return _shown_once(dealer.code, user.username, password)
    flash(_("%(username)s can now log in with the password you typed.", username=user.username))
    return redirect(url_for("admin.dealer_detail", code=dealer.code) + "#users")


@bp.post("/dealers/<code>/users/<username>/password")
def dealer_user_password(code: str, username: str):
    user = accounts.dealer_user(code, username)  # 404 before anything is read from the form
    typed = request.form.get("password", "")
    if len(typed) > PASSWORD_MAX:
        errors = {user.username: _("Password must be 1–128 characters.")}
        return _detail_page(code, 422, reset_errors=errors)
    user, made_up = accounts.reset_dealer_user_password(
        current_user, code, user.username, typed or None
    )
    if made_up:
        return _shown_once(code, user.username, made_up)
    flash(_("New password set for %(username)s; their sessions have ended.",
            username=user.username))  # fmt: skip
    return redirect(url_for("admin.dealer_detail", code=code) + "#users")


@bp.post("/dealers/<code>/users/<username>/active")
def dealer_user_active(code: str, username: str):
    active = request.form.get("active") == "1"
    user = accounts.set_dealer_user_active(current_user, code, username, active)
    if active:
        flash(_("%(username)s may log in again.", username=user.username))
    else:
        flash(_("%(username)s is deactivated and signed out everywhere.", username=user.username))
    return redirect(url_for("admin.dealer_detail", code=code) + "#users")
