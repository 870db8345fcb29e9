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
    low_stock = db.session.execute(
        select(Product, StockLevel.on_hand - StockLevel.reserved)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(
            Product.active.is_(True),
            StockLevel.on_hand - StockLevel.reserved <= Product.low_stock_threshold,
        )
        .order_by(StockLevel.on_hand - StockLevel.reserved, Product.sku)
        .limit(20)
    ).all()
    return render_template("admin/dashboard.html", counts=counts, low_stock=low_stock)
