"""HQ pages: one guard on the whole blueprint."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.models import Dealer, Order, Product, StockLevel
from app.models.orders import SUBMITTED
from app.services import orders

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not current_user.is_admin:
        abort(403)


@bp.get("/")
def dashboard():
    counts = {
        "dealers": db.session.scalar(select(func.count(Dealer.id)).where(Dealer.active.is_(True))),
        "products": db.session.scalar(
            select(func.count(Product.id)).where(Product.active.is_(True))
        ),
    }
    available = StockLevel.on_hand - StockLevel.reserved
    running_low = (Product.active.is_(True), available <= Product.low_stock_threshold)
    low = select(Product).join(StockLevel, StockLevel.product_id == Product.id).where(*running_low)
    counts["low_stock"] = db.session.scalar(select(func.count()).select_from(low.subquery()))
    low_stock = db.session.execute(
        low.add_columns(available).order_by(available, Product.sku).limit(20)
    ).all()
    queue = db.session.execute(
        select(func.count(Order.id), func.min(Order.created_at)).where(Order.status == SUBMITTED)
    ).one()
    return render_template("admin/dashboard.html", counts=counts, low_stock=low_stock, queue=queue)


@bp.get("/orders")
def order_queue():
    return render_template("admin/orders.html", orders=orders.review_queue())


@bp.get("/orders/<number>")
def order_detail(number: str):
    order = orders.order_for_admin(number)
    return render_template(
        "admin/order.html", order=order, error=None, **logistics.order_context(order)
    )


@bp.post("/orders/<number>/approve")
def order_approve(number: str):
    return _decide(number, lambda: orders.approve_order(current_user, number), _("Approved"))


@bp.post("/orders/<number>/reject")
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


from app.admin import logistics  # noqa: E402  (routes; its order_context serves the order page)
