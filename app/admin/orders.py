"""The order desk: the review queue, an order's page, approve and reject."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, logistics, requires
from app.errors import DomainError
from app.services import orders, permissions


@bp.get("/orders")
@requires(permissions.READ_ORDERS)
def order_queue():
    return render_template("admin/orders.html", orders=orders.review_queue())


@bp.get("/orders/<number>")
@requires(permissions.READ_ORDERS)
def order_detail(number: str):
    order = orders.order_for_admin(number)
    return render_template(
        "admin/order.html", order=order, error=None, **logistics.order_context(order)
    )


@bp.post("/orders/<number>/approve")
@requires(permissions.ORDER_DESK)
def order_approve(number: str):
    return _decide(number, lambda: orders.approve_order(current_user, number), _("Approved"))


@bp.post("/orders/<number>/reject")
@requires(permissions.ORDER_DESK)
def order_reject(number: str):
    reason = request.form.get("reason", "")
    return _decide(number, lambda: orders.reject_order(current_user, number, reason), _("Rejected"))


def _decide(number: str, action, done: str):
    """Run an order-desk decision; back to the queue, or the order with the problem shown."""
    try:
        order = action()
    except DomainError as err:
        if err.status == 404:
            raise
        order = orders.order_for_admin(number)
        context = logistics.order_context(order)
        return render_template("admin/order.html", order=order, error=err, **context), err.status
    flash(f"{order.number} · {done}")
    return redirect(url_for("admin.order_queue"))
