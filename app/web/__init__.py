"""Dealer pages: one guard on the whole blueprint; every lookup is scoped to the dealer."""

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)


@bp.before_request
@login_required
def require_dealer():
    if not current_user.is_dealer:
        abort(403)


from app.web import catalog, me  # noqa: E402,F401  (routes)
