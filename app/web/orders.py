"""The dealer's orders and their timeline, cancel and reorder."""

from __future__ import annotations

import re
from functools import partial
from math import ceil

from flask import flash, make_response, render_template, request, url_for
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
from app.services import cart, logistics, orders
from app.web import bp
from app.web.forms import go

TABS = {
    "all": (_l("All"), ()),
    "pending": (_l("To review"), (SUBMITTED,)),
    "to_ship": (_l("To ship"), (APPROVED, PARTIALLY_SHIPPED)),
    "shipped": (_l("Shipped"), (SHIPPED,)),
    "done": (_l("Completed"), (DELIVERED,)),
    "cancelled": (_l("Cancelled"), (CANCELLED, REJECTED)),
}

ORDERS_PAGE_SIZE = 20

# A shipment's status, and each carrier event's, in words (CONTRACT §5 statuses).
SHIPMENT_LABELS = {
    "created": _l("Awaiting pickup"),
    "picked_up": _l("Picked up"),
    "in_transit": _l("In transit"),
    "out_for_delivery": _l("Out for delivery"),
    "delivered": _l("Delivered"),
    "returned": _l("Returned"),
    "exception": _l("Exception"),
}


@bp.app_template_global()
def shipment_label(status: str) -> str:
    """A shipment or carrier-event status in the reader's words."""
    return str(SHIPMENT_LABELS.get(status, status))


@bp.app_template_global()
def still_to_ship(order) -> list[tuple]:
    """(line, quantity not shipped yet) for each line of the order with something left."""
    return [
        (line, line.qty - line.shipped_qty) for line in order.lines if line.qty > line.shipped_qty
    ]


@bp.get("/orders")
def orders_page():
    tab = request.args.get("tab", "all")
    if tab not in TABS:
        tab = "all"
    q = request.args.get("q", "").strip()[:100]
    raw_page = request.args.get("page", "")
    page = max(int(raw_page), 1) if re.fullmatch(r"[0-9]{1,6}", raw_page) else 1
    find = partial(
        orders.dealer_orders, current_user.dealer, TABS[tab][1], per_page=ORDERS_PAGE_SIZE, q=q
    )
    items, total = find(page=page)
    pages = max(1, ceil(total / ORDERS_PAGE_SIZE))
    if page > pages:  # a stale or edited link past the end: show the last page there is
        page = pages
        items, total = find(page=page)
    context = {"orders": items, "tab": tab, "q": q, "page": page, "pages": pages}
    if request.htmx and request.htmx.target == "more-orders":
        # The load-more sentinel: just the next cards and the next sentinel.
        response = make_response(render_template("dealer/_order_cards.html", **context))
    else:
        response = make_response(render_template("dealer/orders.html", tabs=TABS, **context))
    response.vary.add("HX-Request")
    return response


@bp.get("/orders/<number>")
def order_page(number: str):
    order = orders.order_for_dealer(current_user.dealer, number)
    shipments = logistics.shipments_of(order.id)  # of this dealer's own order only
    return render_template("dealer/order.html", order=order, shipments=shipments)


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
