"""The HQ dashboard: the first screen, led by the review queue."""

from flask import render_template
from sqlalchemy import func, select

from app.admin import bp, requires
from app.extensions import db
from app.models import Dealer, Order, Product, StockLevel
from app.models.orders import SUBMITTED
from app.services import permissions


@bp.get("/")
@requires(permissions.HQ)
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
