"""Dealer pages: one guard on the whole blueprint; every lookup is scoped to the dealer."""

import functools

from flask import Blueprint, abort, g, request
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)


@bp.before_request
@login_required
def require_dealer():
    if not current_user.is_dealer:
        abort(403)


@functools.cache
def _badges_statement():
    from sqlalchemy import select

    from app.services import announcements as announcements_svc
    from app.services import cart as cart_svc

    return select(
        cart_svc.count_statement().scalar_subquery(),
        announcements_svc.unread_statement().scalar_subquery(),
    )


def tab_badges() -> tuple[int, int]:
    """The tab bar's counts (cart lines, unread announcements), read in one statement (built
    once per process) once per page view."""
    if "tab_badges" not in g:
        from app.extensions import db
        from app.models.types import utcnow

        user = current_user._get_current_object()
        params = {"user_id": user.id, "tier_id": user.dealer.tier_id, "now": utcnow()}
        g.tab_badges = tuple(db.session.execute(_badges_statement(), params).one())
    return g.tab_badges


def _cart_count() -> int:
    from app.services.cart import count

    # After a write the count is read again: it may have just changed.
    return tab_badges()[0] if request.method == "GET" else count(current_user)


@bp.context_processor
def cart_badge():
    return {"cart_count": _cart_count}


from app.web import (  # noqa: E402,F401
    announcements,
    cart,
    catalog,
    checkout,
    me,
    notices,
    orders,
    quick_order,
    statements,
    usual,
    wallet,
)
