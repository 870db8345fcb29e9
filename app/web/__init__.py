"""Dealer pages: one guard on the whole blueprint; every lookup is scoped to the dealer."""

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)


@bp.before_request
@login_required
def require_dealer():
    if not current_user.is_dealer:
        abort(403)


@bp.context_processor
def cart_badge():
    from app.services.cart import count

    return {"cart_count": lambda: count(current_user)}


from app.web import (  # noqa: E402,F401
    announcements,
    cart,
    catalog,
    checkout,
    me,
    notices,
    orders,
    statements,
    wallet,
)
