"""HQ staff pages, the audit log page, and roles on every HQ page (§3a): each role sees only the
navigation it may use and is refused (403) every page it may not open; dealers never get in."""

from __future__ import annotations

import re

import pytest

from app.services import permissions, staff
from tests import factories as f

ROLES = ("admin", "order_desk", "finance")


@pytest.fixture
def hq(client):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", "GOLD")
    f.dealer_user("SH001", "buyer")
    boss = f.admin("hq")
    staff.create_staff(boss, "desk", "pw-desk", "order_desk", "王审单")
    staff.create_staff(boss, "money", "pw-money", "finance", "李财务")
    return boss


def login(client, username):
    password = {"desk": "pw-desk", "money": "pw-money"}.get(username, f.PASSWORD)
    assert f.web_login(client, username, password).status_code == 302


def post(client, url, data, page_url=None):
    token = f.csrf_from(client.get(page_url or url).data)
    return client.post(url, data={"csrf_token": token, **data})


def _plain_get_endpoints(app):
    """Every HQ page reachable by GET without path arguments, with its capability."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods and not rule.arguments:
            view = app.view_functions[rule.endpoint]
            found.append((rule.rule, getattr(view, "hq_capability", permissions.ADMIN)))
    return sorted(found)


@pytest.mark.parametrize("username", ["hq", "desk", "money", "buyer"])
def test_every_hq_page_is_open_exactly_to_the_roles_that_may(app, client, hq, username):
    login(client, username)
    role = {"hq": "admin", "desk": "order_desk", "money": "finance", "buyer": "dealer"}[username]
    pages = _plain_get_endpoints(app)
    assert {"/admin/", "/admin/staff", "/admin/audit"} <= {url for url, _ in pages}
    for url, capability in pages:
        response = client.get(url)
        status = response.status_code
        if role in permissions.ROLES_FOR[capability]:
            # A page, a redirect to another HQ page (never to the login page), or a 4xx
            # about missing query arguments (a download) — never a refusal.
            assert status not in (401, 403) and status < 500, (role, url, status)
            if status == 302:
                assert "/login" not in response.headers["Location"], (role, url)
        else:
            assert status == 403, (role, url, status)


def test_the_navigation_shows_each_role_only_what_it_may_open(client, hq):
    login(client, "desk")
    html = client.get("/admin/").get_data(as_text=True)
    nav = re.search(r'<nav class="hq-side".*?</nav>', html, re.S).group(0)
    assert "/admin/orders" in nav and "/admin/shipping" in nav
    for hidden in ("/admin/staff", "/admin/audit", "/admin/carriers", "/admin/finance"):
        assert hidden not in nav, hidden
    assert "王审单" in html


def test_an_admin_adds_a_finance_user_who_can_then_log_in(client, hq):
    login(client, "hq")
    response = post(
        client,
        "/admin/staff",
        {"username": "acct", "name": "张会计", "password": "pw-acct", "role": "finance"},
    )
    assert response.status_code == 302
    assert "张会计" in client.get("/admin/staff").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": f.csrf_from(client.get("/admin/").data)})
    assert f.web_login(client, "acct", "pw-acct").headers["Location"].endswith("/admin/")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "two words", "password": "p", "role": "finance"}, "不含空格"),
        ({"username": "x", "password": "", "role": "finance"}, "密码"),
        ({"username": "x", "password": "p", "role": "dealer"}, "请选择角色"),
        ({"username": "desk", "password": "p", "role": "finance"}, "用户名已被占用"),
    ],
)
def test_bad_staff_input_is_shown_and_nothing_is_created(client, hq, data, message):
    login(client, "hq")
    before = [u.username for u in staff.staff()]
    response = post(client, "/admin/staff", data)
    assert response.status_code in (409, 422)
    assert message in response.get_data(as_text=True)
    assert [u.username for u in staff.staff()] == before


def test_deactivating_a_user_signs_them_out_at_once(app, client, hq):
    login(client, "hq")
    other = app.test_client()
    login(other, "desk")
    assert other.get("/admin/orders").status_code == 200
    response = post(
        client,
        "/admin/staff/desk",
        {"name": "王审单", "role": "order_desk"},  # active unchecked
        page_url="/admin/staff/desk",
    )
    assert response.status_code == 302
    assert other.get("/admin/orders").status_code == 302  # back to the login page


def test_the_last_admin_is_kept(client, hq):
    login(client, "hq")
    response = post(
        client, "/admin/staff/hq", {"name": "hq", "role": "finance", "active": "1"},
        page_url="/admin/staff/hq",
    )  # fmt: skip
    assert response.status_code == 409
    assert "最后一位" in response.get_data(as_text=True)


def test_the_audit_log_page_shows_and_filters_hq_writes(client, hq):
    login(client, "hq")
    post(client, "/admin/staff/desk", {"name": "王审单二", "role": "finance", "active": "1"},
         page_url="/admin/staff/desk")  # fmt: skip
    html = client.get("/admin/audit?object_type=user&object_key=desk").get_data(as_text=True)
    assert "staff.update" in html and "王审单二" in html and "order_desk" in html
    assert "staff.update" not in client.get("/admin/audit?user=nobody").get_data(as_text=True)
    bad = client.get("/admin/audit?from=yesterday")
    assert bad.status_code == 200 and "2026-11-01" in bad.get_data(as_text=True)


def test_a_finance_user_cannot_approve_from_a_page(client, hq):
    login(client, "money")
    token = f.csrf_from(client.get("/admin/").data)
    response = client.post("/admin/orders/SO1/approve", data={"csrf_token": token})
    assert response.status_code == 403
