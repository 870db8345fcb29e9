"""HQ pages: one guard on the whole blueprint, reading each view's capability (§3a)."""

import json

from flask import Blueprint, abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.admin.nav import NAV
from app.services import audit, permissions

bp = Blueprint("admin", __name__, url_prefix="/admin")


def requires(capability: str):
    """Mark a view with the capability it needs (permissions.ROLES_FOR); unmarked views are
    for admins only. Put it under the route decorator."""

    def mark(view):
        view.hq_capability = capability
        return view

    return mark


def _capability(endpoint: str | None) -> str:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "hq_capability", permissions.ADMIN)


@bp.before_request
@login_required
def require_staff():
    if not current_user.is_hq or not permissions.allowed(
        current_user, _capability(request.endpoint)
    ):
        abort(403)


@bp.app_template_global()
def hq_can(endpoint: str) -> bool:
    """Whether the signed-in user may open this HQ endpoint — False for one that does not
    exist (yet). For navigation and buttons; the guard above is what enforces it."""
    return (
        current_user.is_authenticated
        and endpoint in current_app.view_functions
        and permissions.allowed(current_user, _capability(endpoint))
    )


ROLE_LABELS = {
    "admin": _l("Admin"),
    "order_desk": _l("Order desk"),
    "finance": _l("Finance"),
}


@bp.app_template_global()
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.app_template_global()
def audit_values(entry) -> tuple[dict, dict]:
    return audit.values(entry)


@bp.app_template_filter()
def audit_text(value) -> str:
    """A logged value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@bp.context_processor  # HQ templates only: dealer pages never pay for it
def hq_navigation():
    return {"hq_nav": NAV, "url_endpoints": lambda: current_app.view_functions}


# The areas' routes, registered on the blueprint above.
from app.admin import (  # noqa: E402, F401
    announcements,
    dashboard,
    dealers,
    finance,
    imports,
    logistics,
    orders,
    products,
    proxy,
    staff,
    stock,
)
