"""Roles (CONTRACT §2): dealer users stay out of HQ endpoints, HQ out of dealer endpoints."""

from __future__ import annotations

from app.api import ADMIN, DEALER
from tests import factories as f
from tests.api.helpers import api_routes, assert_problem, call, concrete, db_state

# The §3 calls that exist in this codebase; api_routes adds any other admin route.
CONTRACT_ADMIN_ROUTES = {
    ("POST", "/api/v1/admin/tiers"),
    ("POST", "/api/v1/admin/dealers"),
    ("PATCH", "/api/v1/admin/dealers/<code>"),
    ("POST", "/api/v1/admin/dealers/<code>/users"),
    ("POST", "/api/v1/admin/products"),
    ("PATCH", "/api/v1/admin/products/<sku>"),
    ("PUT", "/api/v1/admin/products/<sku>/prices"),
    ("POST", "/api/v1/admin/products/<sku>/stock"),
    ("PATCH", "/api/v1/admin/settings"),
}

# Valid bodies, so a 403 can only come from the role check.
VALID_BODIES = {
    "/api/v1/admin/tiers": {"code": "BRONZE", "name": "铜牌"},
    "/api/v1/admin/dealers": {"code": "NEW1", "name": "新经销商", "tier": "GOLD"},
    "/api/v1/admin/dealers/<code>": {"name": "改名"},
    "/api/v1/admin/dealers/<code>/users": {"username": "newbie", "password": "long-password"},
    "/api/v1/admin/products": {"sku": "NEW-1", "name": "新品", "unit": "箱", "list_price": "1"},
    "/api/v1/admin/products/<sku>": {"name": "改名"},
    "/api/v1/admin/products/<sku>/prices": {"tiers": {}, "dealers": {}},
    "/api/v1/admin/products/<sku>/stock": {"on_hand": 99},
    "/api/v1/admin/settings": {"show_exact_stock": False},
}


def _admin_routes(app):
    routes = set(api_routes(app, role=ADMIN, prefix="/api/v1/admin/"))
    assert routes >= CONTRACT_ADMIN_ROUTES
    return sorted(routes)


def _dealer_routes(app):
    routes = set(api_routes(app, role=DEALER))
    assert routes >= {("GET", "/api/v1/catalog"), ("GET", "/api/v1/catalog/<sku>")}
    return sorted(routes)


def _url(rule: str) -> str:
    return concrete(rule.replace("<code>", "G1").replace("<sku>", "ABC-1"), "X1")


def test_dealer_user_on_every_admin_endpoint_is_403_and_changes_nothing(app, client, shop):
    f.product("ABC-1", on_hand=5)
    before = db_state()
    for method, rule in _admin_routes(app):
        response = call(client, method, _url(rule), shop.g1, VALID_BODIES.get(rule))
        assert_problem(response, 403)
    assert db_state() == before


def test_admin_endpoints_work_for_the_admin(app, client, shop):
    """The same calls as above succeed for HQ, so the 403s are about the role."""
    f.product("ABC-1", on_hand=5)
    for method, rule in sorted(CONTRACT_ADMIN_ROUTES):
        response = call(client, method, _url(rule), shop.admin, VALID_BODIES[rule])
        assert response.status_code in (200, 201), (method, rule, response.get_json())


def test_admin_on_catalog_endpoints_is_403(app, client, shop):
    f.product("ABC-1", on_hand=5)
    for method, rule in _dealer_routes(app):
        response = call(client, method, _url(rule), shop.admin)
        assert_problem(response, 403)


def test_catalog_list_and_detail_are_403_for_admin(client, shop):
    f.product("ABC-1", on_hand=5)
    assert_problem(client.get("/api/v1/catalog", headers=shop.admin), 403)
    assert_problem(client.get("/api/v1/catalog/ABC-1", headers=shop.admin), 403)


def test_every_non_public_endpoint_needs_a_token(app, client, shop):
    f.product("ABC-1", on_hand=5)
    routes = _admin_routes(app) + _dealer_routes(app)
    for method, rule in routes:
        assert_problem(call(client, method, _url(rule), {}, VALID_BODIES.get(rule)), 401)
