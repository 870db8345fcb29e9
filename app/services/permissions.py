"""Who at HQ may do what (CONTRACT §3a), in one place for the API, the pages and the services.

`admin` may do everything; `order_desk` reads products, dealers and orders and approves,
rejects and ships; `finance` reads dealers and orders and makes every wallet call.
"""

from __future__ import annotations

from app.errors import Forbidden
from app.models.accounts import ROLE_ADMIN, ROLE_FINANCE, ROLE_ORDER_DESK, User

ADMIN = "admin"  # everything else in §3: catalog, prices, stock, dealers, staff, carriers
READ_PRODUCTS = "read_products"
READ_DEALERS = "read_dealers"
READ_ORDERS = "read_orders"
ORDER_DESK = "order_desk"  # approve, reject, ship
WALLET = "wallet"  # deposits, adjustments, notices, rebate policy, settlements, statements
HQ = "hq"  # any HQ staff: the dashboard, their own account

ROLES_FOR = {
    ADMIN: frozenset({ROLE_ADMIN}),
    READ_PRODUCTS: frozenset({ROLE_ADMIN, ROLE_ORDER_DESK}),
    READ_DEALERS: frozenset({ROLE_ADMIN, ROLE_ORDER_DESK, ROLE_FINANCE}),
    READ_ORDERS: frozenset({ROLE_ADMIN, ROLE_ORDER_DESK, ROLE_FINANCE}),
    ORDER_DESK: frozenset({ROLE_ADMIN, ROLE_ORDER_DESK}),
    WALLET: frozenset({ROLE_ADMIN, ROLE_FINANCE}),
    HQ: frozenset({ROLE_ADMIN, ROLE_ORDER_DESK, ROLE_FINANCE}),
}


def allowed(user: User | None, capability: str) -> bool:
    """Whether this user's role carries the capability (unknown capabilities: nobody)."""
    return user is not None and user.role in ROLES_FOR.get(capability, ())


def require(user: User | None, capability: str) -> None:
    """Raise Forbidden unless the user may; `None` is the system itself (CLI, demo data)."""
    if user is None:
        return
    if not user.is_hq:
        raise Forbidden("This endpoint is for HQ staff.", code="admin_only")
    if not allowed(user, capability):
        raise Forbidden(f"The {user.role} role may not do this.", code="role_forbidden")
