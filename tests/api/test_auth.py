"""Bearer tokens (CONTRACT §2): issue, use, revoke, expire, deactivate; never the cookie."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.api import DEALER
from app.extensions import db
from app.models import ApiToken
from app.models.types import utcnow
from tests import factories as f
from tests.api.helpers import api_routes, assert_problem, call, concrete

TOKENS = "/api/v1/auth/tokens"


@pytest.fixture
def dealer_sh():
    f.tier()
    f.dealer("SH001")
    f.dealer_user("SH001", "sh")


def _issue(client, username="sh", password=f.PASSWORD):
    return client.post(TOKENS, json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _dealer_routes(app):
    """Every dealer endpoint, the catalog always among them."""
    routes = set(api_routes(app, role=DEALER))
    routes |= {("GET", "/api/v1/catalog"), ("GET", "/api/v1/catalog/<sku>")}
    return sorted(routes)


# --- issuing ----------------------------------------------------------------


def test_token_is_201_with_a_token_and_an_expiry_carrying_an_offset(client, dealer_sh):
    response = _issue(client)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= {"token", "expires_at"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None, body["expires_at"]
    assert expires_at > datetime.now(UTC) + timedelta(hours=1)
    assert client.get("/api/v1/catalog", headers=_bearer(body["token"])).status_code == 200


def test_each_login_gets_a_different_token(client, dealer_sh):
    first, second = (_issue(client).get_json()["token"] for _ in range(2))
    assert first != second


def test_wrong_password_is_401_problem_and_issues_nothing(client, dealer_sh):
    assert_problem(_issue(client, password="wrong-password"), 401)
    assert db.session.scalar(select(db.func.count(ApiToken.id))) == 0


def test_unknown_user_is_401_problem(client, dealer_sh):
    assert_problem(_issue(client, username="nobody"), 401)


def test_unknown_user_and_wrong_password_look_the_same(client, dealer_sh):
    unknown = _issue(client, username="nobody").get_json()
    wrong = _issue(client, password="wrong-password").get_json()
    assert unknown == wrong


def test_missing_password_is_a_4xx_problem(client, dealer_sh):
    response = client.post(TOKENS, json={"username": "sh"})
    assert_problem(response, response.status_code)
    assert response.status_code in (401, 422)


def test_user_of_a_deactivated_dealer_gets_403_at_token_creation(client, dealer_sh, admin_h):
    response = client.patch("/api/v1/admin/dealers/SH001", json={"active": False}, headers=admin_h)
    assert response.status_code == 200
    assert_problem(_issue(client), 403)


def test_deactivated_dealer_user_with_wrong_password_still_gets_401(client, dealer_sh, admin_h):
    client.patch("/api/v1/admin/dealers/SH001", json={"active": False}, headers=admin_h)
    assert_problem(_issue(client, password="wrong-password"), 401)


def test_existing_token_gets_403_on_every_dealer_endpoint_after_deactivation(
    app, client, dealer_sh, admin_h
):
    f.product("ABC-1", on_hand=5)
    headers = f.token_for(client, "sh")
    routes = _dealer_routes(app)
    for method, rule in routes:
        url = concrete(rule, "ABC-1")
        before = call(client, method, url, headers)
        assert before.status_code not in (401, 403), (method, rule, before.status_code)

    patch = client.patch("/api/v1/admin/dealers/SH001", json={"active": False}, headers=admin_h)
    assert patch.status_code == 200 and patch.get_json()["active"] is False
    for method, rule in routes:
        assert_problem(call(client, method, concrete(rule, "ABC-1"), headers), 403)


def test_reactivating_the_dealer_lets_the_same_token_back_in(client, dealer_sh, admin_h):
    headers = f.token_for(client, "sh")
    client.patch("/api/v1/admin/dealers/SH001", json={"active": False}, headers=admin_h)
    assert_problem(client.get("/api/v1/catalog", headers=headers), 403)
    client.patch("/api/v1/admin/dealers/SH001", json={"active": True}, headers=admin_h)
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200


def test_deactivating_one_dealer_leaves_other_dealers_alone(client, dealer_sh, admin_h):
    f.dealer("BJ001")
    f.dealer_user("BJ001", "bj")
    other = f.token_for(client, "bj")
    client.patch("/api/v1/admin/dealers/SH001", json={"active": False}, headers=admin_h)
    assert client.get("/api/v1/catalog", headers=other).status_code == 200


def test_admin_can_get_a_token(client):
    f.admin("hq")
    headers = f.token_for(client, "hq")
    assert client.get("/api/v1/admin/settings", headers=headers).status_code == 200


# --- revoking and expiry ----------------------------------------------------


def test_delete_current_token_revokes_it(client, dealer_sh):
    headers = f.token_for(client, "sh")
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200
    response = client.delete(f"{TOKENS}/current", headers=headers)
    assert response.status_code in (200, 204)
    assert_problem(client.get("/api/v1/catalog", headers=headers), 401)
    assert_problem(client.delete(f"{TOKENS}/current", headers=headers), 401)


def test_revoking_one_token_keeps_the_users_other_tokens(client, dealer_sh):
    phone = f.token_for(client, "sh")
    erp = f.token_for(client, "sh")
    client.delete(f"{TOKENS}/current", headers=phone)
    assert client.get("/api/v1/catalog", headers=erp).status_code == 200


def test_revoke_without_a_token_is_401(client, dealer_sh):
    assert_problem(client.delete(f"{TOKENS}/current"), 401)


def test_expired_token_is_401(client, dealer_sh):
    headers = f.token_for(client, "sh")
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert_problem(client.get("/api/v1/catalog", headers=headers), 401)


def test_token_is_stored_only_as_its_sha256(client, dealer_sh):
    token = _issue(client).get_json()["token"]
    with db.engine.connect() as conn:
        rows = conn.execute(select(ApiToken.__table__)).all()
    assert len(rows) == 1
    assert not any(token in str(value) for value in rows[0])
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()


# --- what is not a token ----------------------------------------------------


def test_api_ignores_the_browser_session_cookie(client, dealer_sh):
    assert f.web_login(client, "sh").status_code == 302
    assert client.get("/catalog").status_code == 200  # the web session is live
    assert_problem(client.get("/api/v1/catalog"), 401)
    assert_problem(client.get("/api/v1/catalog/ABC-1"), 401)


def test_api_ignores_an_admin_session_cookie(client):
    f.admin("hq")
    assert f.web_login(client, "hq").status_code == 302
    assert_problem(client.get("/api/v1/admin/settings"), 401)
    assert_problem(client.post("/api/v1/admin/tiers", json={"code": "GOLD", "name": "金"}), 401)


def test_missing_or_garbled_authorization_is_401_problem(client, dealer_sh, subtests):
    token = _issue(client).get_json()["token"]
    garbled = [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-real-token",
        f"Bearer {token[:-1]}",
        f"Bearer {token}x",
        f"Token {token}",
        f"Bearer{token}",
        f"{token}",
        "Basic c2g6c2VjcmV0LXBhc3MtMQ==",
    ]
    for header in garbled:
        with subtests.test(header=header):
            headers = {} if header is None else {"Authorization": header}
            assert_problem(client.get("/api/v1/catalog", headers=headers), 401)
    good = client.get("/api/v1/catalog", headers=_bearer(token))
    assert good.status_code == 200


def test_password_in_basic_auth_is_not_a_token(client, dealer_sh):
    import base64

    basic = base64.b64encode(f"sh:{f.PASSWORD}".encode()).decode()
    assert_problem(client.get("/api/v1/catalog", headers={"Authorization": f"Basic {basic}"}), 401)


def test_token_in_the_query_string_is_not_accepted(client, dealer_sh):
    token = _issue(client).get_json()["token"]
    assert_problem(client.get(f"/api/v1/catalog?access_token={token}"), 401)
