"""Checkout, the dealer's orders and their timeline, cancel and reorder."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.errors import DomainError
from app.models.orders import (
    APPROVED,
    CANCELLED,
    DELIVERED,
    PARTIALLY_SHIPPED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
)
from app.services import cart, orders, rebates, wallet
from app.web import bp
from app.web.cart import place_with_key
from app.web.forms import form_money, go, new_key

TABS = {
    "all": (_l("All"), ()),
    "pending": (_l("To review"), (SUBMITTED,)),
    "to_ship": (_l("To ship"), (APPROVED, PARTIALLY_SHIPPED)),
    "shipped": (_l("Shipped"), (SHIPPED,)),
    "done": (_l("Completed"), (DELIVERED,)),
    "cancelled": (_l("Cancelled"), (CANCELLED, REJECTED)),
}


def _stock_fixes(error: DomainError | None, view: cart.Cart) -> list[dict]:
    """For each short line, the largest quantity that fits today's stock (0: remove it)."""
    if error is None or error.code != "insufficient_stock":
        return []
    products = {line.product.sku: line.product for line in view.lines}
    fixes = []
    for row in error.extra.get("lines", []):
        product = products.get(row["sku"])
        if product is None:
            continue
        fit = row["available"] // product.order_multiple * product.order_multiple
        qty = fit if fit >= product.min_order_qty else 0
        fixes.append({"sku": row["sku"], "name": product.name, "qty": qty, "unit": product.unit})
    return fixes


def _checkout_context(key: str | None = None, error: DomainError | None = None, **form):
    view, gone = cart.view(current_user)
    summary = wallet.summary(current_user.dealer)
    cap = rebates.current_policy().max_use(view.goods_amount)
    return {
        "cart": view,
        "gone": gone,
        "wallet": summary,
        "rebate_max": min(cap, max(summary.rebate_balance, 0)),
        "key": key or new_key(),
        "error": error,
        "fixes": _stock_fixes(error, view),
        "use_rebate": form.get("use_rebate", 0),
        "note": form.get("note", ""),
    }


@bp.get("/checkout")
def checkout():
    context = _checkout_context()
    if not context["cart"].lines:
        return go(url_for("web.cart_page"))
    return render_template("dealer/checkout.html", **context)


@bp.post("/checkout")
def checkout_submit():
    key, note = request.form.get("key", ""), request.form.get("note", "").strip()[:500]
    view, _gone = cart.view(current_user)
    try:
        use_rebate = form_money("use_rebate")
        order = place_with_key(
            key, "web:checkout", view.requests(), use_rebate=use_rebate, note=note, clear_cart=True
        )
    except DomainError as err:
        context = _checkout_context(
            key=new_key(), error=err, use_rebate=request.form.get("use_rebate", ""), note=note
        )
        return render_template("dealer/checkout.html", **context), err.status
    flash(_("Order %(number)s submitted", number=order.number))
    return go(url_for("web.order_page", number=order.number))


@bp.get("/orders")
def orders_page():
    tab = request.args.get("tab", "all")
    if tab not in TABS:
        tab = "all"
    items, _total = orders.dealer_orders(current_user.dealer, TABS[tab][1], per_page=50)
    return render_template("dealer/orders.html", orders=items, tab=tab, tabs=TABS)


@bp.get("/orders/<number>")
def order_page(number: str):
    order = orders.order_for_dealer(current_user.dealer, number)
    return render_template("dealer/order.html", order=order)


@bp.post("/orders/<number>/cancel")
def order_cancel(number: str):
    try:
        orders.cancel_order(current_user, number)
        flash(_("Order cancelled; stock and funds were returned."))
    except DomainError as err:
        if err.status == 404:
            raise
        flash(_("This order can no longer be cancelled."))
    return go(url_for("web.order_page", number=number))


@bp.post("/orders/<number>/reorder")
def order_reorder(number: str):
    changes = cart.reorder(current_user, number)
    flash(_("The order's lines are in your cart."))
    for change in changes:
        flash(reorder_message(change))
    return go(url_for("web.cart_page"))


def reorder_message(change: cart.ReorderChange) -> str:
    messages = {
        "unavailable": _("%(name)s is no longer available; left out.", name=change.name),
        "out_of_stock": _("%(name)s is out of stock; left out.", name=change.name),
        "reduced_to_stock": _(
            "%(name)s: only %(added)s in stock, reduced from %(wanted)s.",
            name=change.name,
            added=change.added,
            wanted=change.wanted,
        ),
        "pack_rules": _(
            "%(name)s: changed from %(wanted)s to %(added)s to fit the pack rules.",
            name=change.name,
            added=change.added,
            wanted=change.wanted,
        ),
    }
    return messages[change.reason]
