"""Checkout: the cart's lines, rebate to use, what will be debited, and submitting once."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.services import cart, rebates, wallet
from app.web import bp
from app.web.cart import place_with_key
from app.web.forms import form_money, go, new_key


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
