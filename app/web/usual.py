"""常购清单 (the usual list): the dealer's pinned and most ordered products, each one tap from
the cart. Plain forms that answer with a redirect and a message, so it works without
JavaScript; with htmx, 按上次数量加入 swaps just its row and the cart badge."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.services import cart, usual
from app.web import bp
from app.web.cart import _htmx, _toast
from app.web.forms import go
from app.web.helpers import explain_error, is_chinese, quantity


@bp.get("/usual")
def usual_page():
    return render_template("dealer/usual.html", rows=usual.usual_list(current_user))


def added_message(added: usual.AddedLast) -> str:
    """What 按上次数量加入 put in the cart, and why it is not last time's quantity."""
    values = {
        "name": added.name,
        "qty": quantity(added.added, added.unit),
        "last": quantity(added.last_qty, added.unit),
    }
    if added.reason == "pack_rules":
        said = _(
            "Added to cart: %(name)s %(qty)s (last time %(last)s; fitted to the pack rules).",
            **values,
        )
    elif added.reason == "reduced_to_stock":
        said = _(
            "Added to cart: %(name)s %(qty)s (last time %(last)s; all the stock allows).",
            **values,
        )
    else:
        said = _("Added to cart: %(name)s %(qty)s, as last time.", **values)
    parts = [said]
    if added.in_cart != added.added:
        parts.append(_("Now %(qty)s in your cart.", qty=quantity(added.in_cart, added.unit)))
    return ("" if is_chinese() else " ").join(parts)


def _row(sku: str, note: str, refused: bool):
    """The row again with what happened in it, and the cart badge (an htmx answer)."""
    row = next((r for r in usual.usual_list(current_user) if r.item.product.sku == sku), None)
    if row is None:  # no longer on the list (taken off sale meanwhile): the page says so
        flash(note)
        return go(url_for("web.usual_page"))
    body = render_template(
        "dealer/_usual_row.html",
        row=row,
        note=note,
        refused=refused,
        badge=cart.count(current_user),
    )
    return _toast(body, note)


@bp.post("/usual/<sku>/add")
def usual_add(sku: str):
    try:
        note, refused = added_message(usual.add_last(current_user, sku)), False
    except DomainError as err:
        note, refused = explain_error(err), True
    if _htmx():
        return _row(sku, note, refused)
    flash(note)
    return go(url_for("web.usual_page"))


def _back(sku: str) -> str:
    """Where a pin form goes back to: the product page it was on, or the list."""
    if request.form.get("next") == "product":
        return url_for("web.product_page", sku=sku)
    return url_for("web.usual_page")


@bp.post("/usual/<sku>/pin")
def usual_pin(sku: str):
    try:
        name, _created = usual.pin(current_user, sku)
        flash(_("Pinned to your usual list: %(name)s.", name=name))
    except DomainError as err:
        flash(explain_error(err))
    return go(_back(sku))


@bp.post("/usual/<sku>/unpin")
def usual_unpin(sku: str):
    try:
        name, _removed = usual.unpin(current_user, sku)
        flash(_("Unpinned from your usual list: %(name)s.", name=name))
    except DomainError as err:
        flash(explain_error(err))
    return go(_back(sku))
