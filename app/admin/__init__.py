"""HQ pages: one guard on the whole blueprint."""

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dealer, Product, StockLevel

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
    return render_template("admin/dashboard.html", counts=counts, low_stock=low_stock)
