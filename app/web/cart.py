"""Order sheet, cart and one-tap buying."""

from __future__ import annotations

import json

from flask import flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.services import cart, catalog, idempotency, orders
from app.services.orders import LineRequest
from app.web import bp
from app.web.forms import form_int, go, new_key
from app.web.helpers import explain_error


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _toast(body: str, message: str):
    response = make_response(body)
    response.headers["HX-Trigger"] = json.dumps(
        {"toast": message}
    )  # ASCII: headers cannot carry raw Chinese
    return response


@bp.get("/catalog/<sku>/sheet")
def order_sheet(sku: str):
    item = catalog.item(current_user.dealer, sku)
    if not _htmx():
        return go(url_for("web.product_page", sku=sku))
    return render_template("dealer/_sheet.html", item=item, key=new_key(), error=None)


def _sheet_error(sku: str, qty: int, key: str, err: DomainError):
    """The sheet again with the problem beside the stepper (htmx), or the product page."""
    item = catalog.item(current_user.dealer, sku)
    template = "dealer/_sheet.html" if _htmx() else "dealer/product.html"
    status = 200 if _htmx() else err.status
    context = {"item": item, "key": key, "error": err, "qty": qty, "tier": current_user.dealer.tier}
    return render_template(template, **context), status


@bp.post("/cart/add")
def cart_add():
    sku, qty = request.form.get("sku", ""), form_int("qty")
    try:
        total = cart.add(current_user, sku, qty)
    except DomainError as err:
        return _sheet_error(sku, qty, request.form.get("key", ""), err)
    message = _("Added to cart (%(n)s in cart)", n=total)
    if not _htmx():
        flash(message)
        return go(url_for("web.cart_page"))
    response = render_template("dealer/_cart_added.html", count=cart.count(current_user))
    return _toast(response, message)


@bp.post("/buy-now")
def buy_now():
    """立即下单 from the sheet: one line, placed at once, safe to tap twice."""
    sku, qty, key = request.form.get("sku", ""), form_int("qty"), request.form.get("key", "")
    try:
        order = place_with_key(key, "web:buy-now", [LineRequest(sku, qty)])
    except DomainError as err:
        return _sheet_error(sku, qty, key, err)
    flash(_("Order %(number)s submitted", number=order.number))
    return go(url_for("web.order_page", number=order.number))


def place_with_key(key: str, form: str, lines: list[LineRequest], **place):
    """Place an order once per key (a double tap or a retry finds the first order).

    The page made the key when it rendered the form, so any resubmission of that form is
    the same request, even if the cart changed meanwhile (the first order emptied it).
    """
    print_ = idempotency.fingerprint("POST", form, {})
    claimed = idempotency.claim(current_user.id, key or new_key(), print_)
    if isinstance(claimed, idempotency.Replay):
        return orders.order_by_id(current_user.dealer, claimed.order_id)
    return orders.place_order(current_user, lines, idempotency_key_id=claimed.id, **place)


@bp.get("/cart")
def cart_page():
    view, gone = cart.view(current_user)
    return render_template("dealer/cart.html", cart=view, gone=gone, error=None)


@bp.post("/cart/<sku>")
def cart_update(sku: str):
    error = None
    try:
        cart.set_qty(current_user, sku, form_int("qty"))
    except DomainError as err:
        error = err
    view, gone = cart.view(current_user)
    if _htmx():
        return render_template("dealer/_cart_body.html", cart=view, gone=gone, error=error)
    if error:
        flash(explain_error(error))
    back = "web.checkout" if request.form.get("next") == "checkout" else "web.cart_page"
    return go(url_for(back))


@bp.post("/cart/<sku>/remove")
def cart_remove(sku: str):
    cart.remove(current_user, sku)
    if _htmx():
        view, gone = cart.view(current_user)
        return render_template("dealer/_cart_body.html", cart=view, gone=gone, error=None)
    return go(url_for("web.cart_page"))
