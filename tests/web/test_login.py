"""Web login: CSRF, rate limits, cookies, roles, logout, deactivation."""

import pytest

from app.services import accounts
from tests import factories as f


@pytest.fixture
def people():
    f.tier()
    dealer = f.dealer("SH001")
    f.dealer_user(dealer.code, "sh")
    f.admin("hq")
    return dealer


def test_login_form_has_the_contract_field_names_and_a_csrf_token(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert f.csrf_from(html)


def test_dealer_lands_on_the_catalog_and_admin_on_the_dashboard(client, people):
    assert f.web_login(client, "sh").headers["Location"] == "/catalog"
    client.post("/logout", data={"csrf_token": f.csrf_from(client.get("/me").data)})
    assert f.web_login(client, "hq").headers["Location"] == "/admin/"


def test_login_without_csrf_token_is_refused(client, people):
    response = client.post("/login", data={"username": "sh", "password": f.PASSWORD})
    assert response.status_code == 400
    assert client.get("/catalog").status_code == 302  # still logged out


def test_wrong_password_says_so_in_chinese_and_stays_logged_out(client, people):
    response = f.web_login(client, "sh", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/catalog").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, people):
    response = f.web_login(client, "sh")
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember


def test_logout_ends_the_session_and_the_remember_cookie(client, people):
    f.web_login(client, "sh")
    assert client.get("/catalog").status_code == 200
    token = f.csrf_from(client.get("/me").data)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/catalog").status_code == 302
    assert client.get_cookie("remember_token") is None


def test_logout_needs_post_with_csrf(client, people):
    f.web_login(client, "sh")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/catalog").status_code == 200


def test_deactivated_dealer_cannot_log_in_and_open_sessions_end(client, people):
    f.web_login(client, "sh")
    accounts.update_dealer("SH001", {"active": False})
    assert client.get("/catalog").status_code == 302
    response = f.web_login(client, "sh")
    assert response.status_code == 403
    assert "停用" in response.get_data(as_text=True)


def test_dealer_opening_admin_is_refused(client, people):
    f.web_login(client, "sh")
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "总部工作台" not in response.get_data(as_text=True)


def test_admin_opening_dealer_pages_is_refused(client, people):
    f.web_login(client, "hq")
    assert client.get("/catalog").status_code == 403


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/catalog")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_next_parameter_never_redirects_off_site(client, people):
    token = f.csrf_from(client.get("/login").data)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "sh", "password": f.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/catalog"


def test_login_is_rate_limited_per_account_across_ips(client, people, app):
    limit = int(app.config["LOGIN_LIMITS_PER_ACCOUNT"].split("/")[0])
    token = f.csrf_from(client.get("/login").data)
    data = {"username": "sh", "password": "wrong-password", "csrf_token": token}
    for i in range(limit):
        env = {"REMOTE_ADDR": f"10.0.0.{i + 1}"}
        assert client.post("/login", data=data, environ_base=env).status_code == 401
    blocked = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert blocked.status_code == 429
    # The right password does not get through while the account is locked out either.
    data["password"] = f.PASSWORD
    assert (
        client.post("/login", data=data, environ_base={"REMOTE_ADDR": "10.0.1.2"}).status_code
        == 429
    )


def test_login_is_rate_limited_per_ip_across_accounts(client, people, app):
    limit = int(app.config["LOGIN_LIMITS_PER_IP"].split("/")[0])
    token = f.csrf_from(client.get("/login").data)
    env = {"REMOTE_ADDR": "10.9.9.9"}
    for i in range(limit):
        data = {"username": f"nobody{i}", "password": "x" * 10, "csrf_token": token}
        assert client.post("/login", data=data, environ_base=env).status_code == 401
    data = {"username": "sh", "password": f.PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, environ_base=env).status_code == 429
    assert (
        client.post("/login", data=data, environ_base={"REMOTE_ADDR": "10.9.9.8"}).status_code
        == 302
    )


def test_english_is_one_tap_away_and_chinese_is_the_default(client):
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)
    response = client.get("/lang/en?next=/login")
    assert response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Log in" in html
    client.get("/lang/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_successful_logins_never_count_against_the_limits(client, people, app):
    """An office behind one IP, or an ERP fetching tokens often, is not locked out."""
    limit = int(app.config["LOGIN_LIMITS_PER_IP"].split("/")[0])
    for _ in range(limit + 5):
        response = client.post(
            "/api/v1/auth/tokens", json={"username": "sh", "password": f.PASSWORD}
        )
        assert response.status_code == 201
    token = f.csrf_from(client.get("/login").data)
    for _ in range(limit + 5):
        data = {"username": "sh", "password": f.PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302


def test_reads_skip_the_limiters_hooks_and_writes_still_pass_through_them(app):
    """Every limit is on a POST; the limiter's request hooks are wrapped to run on writes
    only (app.extensions.limiter_on_writes_only), so none of them is registered bare."""
    from functools import partial

    from app.extensions import limiter

    hooks = [
        *app.before_request_funcs[None],
        *app.after_request_funcs[None],
        *app.teardown_request_funcs[None],
    ]
    bare = [
        h
        for h in hooks
        if getattr(h, "__self__", None) is limiter
        or (isinstance(h, partial) and h.args[:1] == (limiter,))
    ]
    assert bare == []
    limiters = [h for h in hooks if getattr(h, "__qualname__", "").startswith("Limiter.")]
    assert len(limiters) == 3
    assert all(hasattr(h, "__wrapped__") for h in limiters)
