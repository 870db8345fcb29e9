"""Order sheet, cart and one-tap buying."""

from __future__ import annotations

import json

from flask import flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.services import cart, catalog, idempotency, orders, usual
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
    in_cart = cart.held(current_user, item.product.id)
    return render_template(
        "dealer/_sheet.html", item=item, key=new_key(), error=None, in_cart=in_cart
    )


def _sheet_error(sku: str, qty: int, key: str, err: DomainError):
    """The sheet again with the problem beside the stepper (htmx), or the product page."""
    item = catalog.item(current_user.dealer, sku)
    template = "dealer/_sheet.html" if _htmx() else "dealer/product.html"
    status = 200 if _htmx() else err.status
    context = {
        "item": item,
        "key": key,
        "error": err,
        "qty": qty,
        "tier": current_user.dealer.tier,
        "in_cart": cart.held(current_user, item.product.id),
        "pinned": usual.is_pinned(current_user, item.product.id),
    }
    return render_template(template, **context), status


@bp.post("/cart/add")
def cart_add():
    sku, qty = request.form.get("sku", ""), 0
    try:
        qty = form_int("qty")
        total = cart.add(current_user, sku, qty)
    except DomainError as err:
        return _sheet_error(sku, qty, request.form.get("key", ""), err)
    lines = cart.count(current_user)
    product = catalog.item(current_user.dealer, sku).product
    message = _(
        "Added to cart: %(name)s, now %(qty)s %(unit)s. Products in your cart: %(lines)s.",
        name=product.name,
        qty=total,
        unit=product.unit,
        lines=lines,
    )
    if not _htmx():
        flash(message)
        return go(url_for("web.cart_page"))
    response = render_template("dealer/_cart_added.html", count=lines)
    return _toast(response, message)


@bp.post("/buy-now")
def buy_now():
    """立即下单 from the sheet: one line, placed at once, safe to tap twice."""
    sku, qty, key = request.form.get("sku", ""), 0, request.form.get("key", "")
    try:
        qty = form_int("qty")
        item = catalog.item(current_user.dealer, sku)
        check = lambda: cart.check_qty(item, qty)  # noqa: E731  (the sheet's own words)
        order = place_with_key(key, "web:buy-now", [LineRequest(sku, qty)], check=check)
    except DomainError as err:
        return _sheet_error(sku, qty, key, err)
    flash(_("Order %(number)s submitted", number=order.number))
    return go(url_for("web.order_page", number=order.number))


def place_with_key(key: str, form: str, lines: list[LineRequest], check=None, **place):
    """Place an order once per key (a double tap or a retry finds the first order).

    The page made the key when it rendered the form, so any resubmission of that form is
    the same request, even if the cart changed meanwhile (the first order emptied it).
    """
    print_ = idempotency.fingerprint("POST", form, {})
    claimed = idempotency.claim(current_user.id, key or new_key(), print_)
    if isinstance(claimed, idempotency.Replay):
        return orders.order_by_id(current_user.dealer, claimed.order_id)
    if check:  # a first attempt only: a replay must find its order, whatever the stock is now
        check()
    return orders.place_order(current_user, lines, idempotency_key_id=claimed.id, **place)


@bp.get("/cart")
def cart_page():
    view, gone = cart.view(current_user)
    undo = _undo_from_args(view)
    return render_template("dealer/cart.html", cart=view, gone=gone, error=None, undo=undo)


def _undo_from_args(view: cart.Cart) -> cart.TypedQty | None:
    """After a plain-form removal the redirect names the line, so 撤销 works without JS."""
    sku, qty = request.args.get("removed", ""), request.args.get("qty", "")
    if not sku or not qty.isdigit() or not 0 < int(qty) <= cart.MAX_LINE_QTY:
        return None
    if any(line.product.sku == sku for line in view.lines):
        return None
    try:
        product = catalog.item(current_user.dealer, sku).product
    except DomainError:
        return None
    return cart.TypedQty(sku, product.name, product.unit, 0, 0, "removed", int(qty))


def _cart_body(**context):
    view, gone = cart.view(current_user)
    context.setdefault("error", None)
    return render_template("dealer/_cart_body.html", cart=view, gone=gone, **context)


@bp.post("/cart/<sku>")
def cart_update(sku: str):
    """A typed quantity (or a stepper tap): the cart holds the nearest orderable quantity
    and the line says what it became and why."""
    error, change = None, None
    try:
        typed = form_int("set") if request.form.get("set") else form_int("qty")
        change = cart.type_qty(current_user, sku, typed)
    except DomainError as err:
        error = err
    if _htmx():
        removed = change is not None and change.reason == "removed" and change.before
        return _cart_body(error=error, change=change, undo=change if removed else None)
    if error:
        flash(explain_error(error))
    elif change and change.reason == "removed":
        return go(url_for("web.cart_page", removed=sku, qty=change.before))
    elif change and change.reason:
        flash(qty_change_message(change))
    back = "web.checkout" if request.form.get("next") == "checkout" else "web.cart_page"
    return go(url_for(back))


@bp.post("/cart/<sku>/remove")
def cart_remove(sku: str):
    held = cart.remove(current_user, sku)
    undo = None
    if held:
        product = catalog.item(current_user.dealer, sku).product
        undo = cart.TypedQty(sku, product.name, product.unit, 0, 0, "removed", held)
    if _htmx():
        return _cart_body(undo=undo)
    return go(url_for("web.cart_page", removed=sku, qty=held) if held else url_for("web.cart_page"))


@bp.app_template_global("pack_rules")
def pack_rules(product) -> cart.PackRules:
    return cart.rules_of(product)


@bp.app_template_global("rows_json")
def rows_json(item) -> str:
    """The break table as the stepper's script reads it: [[from_qty, fen, reachable], …]."""
    return json.dumps([[r.from_qty, r.price, r.reachable] for r in item.break_rows])


@bp.app_template_global("next_row")
def next_row(item, qty: int):
    """The next cheaper row that today's stock can reach, for "再加N箱享" under the stepper."""
    price = item.table.unit_price(max(qty, 1))
    return next(
        (r for r in item.break_rows if r.from_qty > qty and r.reachable and r.price < price), None
    )


@bp.app_template_global("qty_change_message")
def qty_change_message(change: cart.TypedQty) -> str:
    """Why the cart holds another quantity than the one typed, in the reader's language."""
    values = {"qty": change.qty, "unit": change.unit, "typed": change.typed, "name": change.name}
    messages = {
        "pack_rules": _("Changed to %(qty)s %(unit)s to fit the pack rules.", **values),
        "stock": _("Changed to %(qty)s %(unit)s: that is all the stock allows.", **values),
        "out_of_stock": _("Not enough stock for the minimum order of %(name)s.", **values),
        "removed": _("%(name)s removed from your cart.", **values),
    }
    return messages.get(change.reason, "")
