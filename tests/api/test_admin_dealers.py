"""HQ admin (CONTRACT §3): tiers, dealers and dealer logins."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dealer, User
from tests import factories as f
from tests.api.helpers import assert_problem, db_state

TIERS = "/api/v1/admin/tiers"
DEALERS = "/api/v1/admin/dealers"


@pytest.fixture
def gold(admin_h):
    f.tier("GOLD", "金牌")
    f.tier("SILVER", "银牌")
    return admin_h


# --- tiers ------------------------------------------------------------------


def test_create_tier_is_201_and_echoes_it(client, admin_h):
    response = client.post(TIERS, json={"code": "GOLD", "name": "金牌"}, headers=admin_h)
    assert response.status_code == 201
    assert response.get_json() == {"code": "GOLD", "name": "金牌"}
    dealer = client.post(
        DEALERS, json={"code": "SH001", "name": "上海", "tier": "GOLD"}, headers=admin_h
    )
    assert dealer.status_code == 201  # the new tier is usable at once


def test_duplicate_tier_code_is_409_and_changes_nothing(client, admin_h):
    client.post(TIERS, json={"code": "GOLD", "name": "金牌"}, headers=admin_h)
    before = db_state()
    response = client.post(TIERS, json={"code": "GOLD", "name": "另一个"}, headers=admin_h)
    assert_problem(response, 409)
    assert db_state() == before


def test_invalid_tier_is_422_and_creates_nothing(client, admin_h, subtests):
    cases = [
        ({"name": "金牌"}, "code"),
        ({"code": "GOLD"}, "name"),
        ({"code": "", "name": "金牌"}, "code"),
        ({"code": "GO LD", "name": "金牌"}, "code"),
        ({"code": 7, "name": "金牌"}, "code"),
        ({"code": "GOLD", "name": "金牌", "rate": "0.03"}, "rate"),
    ]
    before = db_state()
    for body, field in cases:
        with subtests.test(body=body):
            response = client.post(TIERS, json=body, headers=admin_h)
            assert_problem(response, 422, fields=[field])
            assert db_state() == before


# --- dealers ----------------------------------------------------------------


def test_create_dealer_is_201_with_zero_credit_by_default(client, gold):
    body = {"code": "SH001", "name": "上海浦东鑫源", "tier": "GOLD"}
    response = client.post(DEALERS, json=body, headers=gold)
    assert response.status_code == 201
    out = response.get_json()
    assert out["code"] == "SH001" and out["name"] == "上海浦东鑫源"
    assert out["tier"] == "GOLD"
    assert out["credit_limit"] == "0.00"
    assert out["active"] is True


def test_create_dealer_with_a_credit_limit_stores_fen(client, gold):
    body = {"code": "SH001", "name": "上海", "tier": "SILVER", "credit_limit": "50000.5"}
    response = client.post(DEALERS, json=body, headers=gold)
    assert response.status_code == 201
    assert response.get_json()["credit_limit"] == "50000.50"
    assert response.get_json()["tier"] == "SILVER"
    assert db.session.scalar(select(Dealer.credit_limit).where(Dealer.code == "SH001")) == 5000050


def test_duplicate_dealer_code_is_409_and_changes_nothing(client, gold):
    client.post(DEALERS, json={"code": "SH001", "name": "原来的", "tier": "GOLD"}, headers=gold)
    before = db_state()
    response = client.post(
        DEALERS, json={"code": "SH001", "name": "冒名的", "tier": "SILVER"}, headers=gold
    )
    assert_problem(response, 409)
    assert db_state() == before


def test_dealer_with_unknown_tier_is_422_and_creates_nothing(client, gold):
    before = db_state()
    response = client.post(
        DEALERS, json={"code": "SH001", "name": "上海", "tier": "PLATINUM"}, headers=gold
    )
    assert_problem(response, 422, fields=["tier"])
    assert db_state() == before


def test_invalid_dealer_is_422_and_creates_nothing(client, gold, subtests):
    cases = [
        ({"credit_limit": "-1.00"}, "credit_limit"),
        ({"credit_limit": "1.005"}, "credit_limit"),
        ({"credit_limit": 100}, "credit_limit"),
        ({"credit_limit": "lots"}, "credit_limit"),
        ({"code": ""}, "code"),
        ({"code": "上海"}, "code"),
        ({"name": "   "}, "name"),
        ({"tier": None}, "tier"),
        ({"owner": "张三"}, "owner"),
    ]
    before = db_state()
    for extra, field in cases:
        with subtests.test(extra=extra):
            body = {"code": "SH001", "name": "上海", "tier": "GOLD", **extra}
            response = client.post(DEALERS, json=body, headers=gold)
            assert_problem(response, 422, fields=[field])
            assert db_state() == before


def test_patch_dealer_name_tier_credit_and_active(client, gold):
    f.dealer("SH001", tier_code="GOLD")
    url = f"{DEALERS}/SH001"
    assert client.patch(url, json={"name": "新名字"}, headers=gold).get_json()["name"] == "新名字"
    assert client.patch(url, json={"tier": "SILVER"}, headers=gold).get_json()["tier"] == "SILVER"
    out = client.patch(url, json={"credit_limit": "800"}, headers=gold).get_json()
    assert out["credit_limit"] == "800.00"
    response = client.patch(url, json={"active": False}, headers=gold)
    assert response.status_code == 200
    out = response.get_json()
    assert out == {**out, "name": "新名字", "tier": "SILVER", "credit_limit": "800.00"}
    assert out["active"] is False
    dealer = db.session.scalar(select(Dealer).where(Dealer.code == "SH001"))
    db.session.refresh(dealer)
    assert (dealer.name, dealer.tier.code, dealer.credit_limit, dealer.active) == (
        "新名字",
        "SILVER",
        80000,
        False,
    )


def test_patch_several_dealer_fields_at_once(client, gold):
    f.dealer("SH001", tier_code="GOLD")
    body = {"name": "合并", "tier": "SILVER", "credit_limit": "12.34", "active": False}
    response = client.patch(f"{DEALERS}/SH001", json=body, headers=gold)
    assert response.status_code == 200
    out = response.get_json()
    assert {k: out[k] for k in body} == body


def test_dealer_tier_change_moves_the_dealer_to_the_new_tier_prices(client, gold):
    f.dealer("SH001", tier_code="GOLD")
    f.dealer_user("SH001", "sh")
    f.product("ABC-1", list_price=10000)
    prices = {
        "tiers": {
            "GOLD": [{"min_qty": 1, "price": "90"}],
            "SILVER": [{"min_qty": 1, "price": "95"}],
        }
    }
    client.put("/api/v1/admin/products/ABC-1/prices", json=prices, headers=gold)
    dealer_h = f.token_for(client, "sh")
    assert client.get("/api/v1/catalog/ABC-1", headers=dealer_h).get_json()["price"] == "90.00"
    client.patch(f"{DEALERS}/SH001", json={"tier": "SILVER"}, headers=gold)
    assert client.get("/api/v1/catalog/ABC-1", headers=dealer_h).get_json()["price"] == "95.00"


def test_patch_unknown_dealer_is_404(client, gold):
    assert_problem(client.patch(f"{DEALERS}/NOPE", json={"name": "x"}, headers=gold), 404)


def test_invalid_dealer_patch_is_422_and_changes_nothing(client, gold, subtests):
    cases = [
        ({"tier": "PLATINUM"}, "tier"),
        ({"active": "false"}, "active"),
        ({"active": 0}, "active"),
        ({"credit_limit": "-5"}, "credit_limit"),
        ({"credit_limit": 5.5}, "credit_limit"),
        ({"name": ""}, "name"),
        ({"code": "SH002"}, "code"),
    ]
    f.dealer("SH001", tier_code="GOLD")
    before = db_state()
    for body, field in cases:
        with subtests.test(body=body):
            response = client.patch(f"{DEALERS}/SH001", json=body, headers=gold)
            assert_problem(response, 422, fields=[field])
            assert db_state() == before


def test_invalid_field_in_a_patch_blocks_the_valid_ones_too(client, gold):
    f.dealer("SH001", tier_code="GOLD", name="原名")
    before = db_state()
    response = client.patch(
        f"{DEALERS}/SH001", json={"name": "新名", "tier": "PLATINUM"}, headers=gold
    )
    assert_problem(response, 422)
    assert db_state() == before


# --- dealer users -----------------------------------------------------------


def test_create_dealer_user_is_201_and_can_log_in(client, gold):
    f.dealer("SH001")
    response = client.post(
        f"{DEALERS}/SH001/users",
        json={"username": "sh.zhang", "password": "long-enough", "name": "张三"},
        headers=gold,
    )
    assert response.status_code == 201
    out = response.get_json()
    assert out["username"] == "sh.zhang" and out["name"] == "张三"
    assert out.get("dealer", "SH001") == "SH001"
    assert "password" not in out and "password_hash" not in out
    headers = f.token_for(client, "sh.zhang", "long-enough")
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200


def test_dealer_user_password_is_not_stored_in_clear(client, gold):
    f.dealer("SH001")
    client.post(
        f"{DEALERS}/SH001/users",
        json={"username": "sh.zhang", "password": "long-enough"},
        headers=gold,
    )
    stored = db.session.scalar(select(User.password_hash).where(User.username == "sh.zhang"))
    assert stored and "long-enough" not in stored


def test_duplicate_username_is_409_and_changes_nothing(client, gold):
    f.dealer("SH001")
    f.dealer("BJ001")
    f.dealer_user("SH001", "zhang")
    before = db_state()
    response = client.post(
        f"{DEALERS}/BJ001/users",
        json={"username": "zhang", "password": "long-enough"},
        headers=gold,
    )
    assert_problem(response, 409)
    assert db_state() == before


def test_username_of_an_admin_is_taken_too(client, gold):
    f.dealer("SH001")
    f.admin("hq.boss")
    response = client.post(
        f"{DEALERS}/SH001/users",
        json={"username": "hq.boss", "password": "long-enough"},
        headers=gold,
    )
    assert_problem(response, 409)


@pytest.mark.parametrize("password", ["", "x" * 129], ids=["empty", "over-128"])
def test_an_empty_or_overlong_password_is_422_and_creates_nothing(client, gold, password):
    """HQ sets the passwords and the contract sets no policy: any 1–128 characters."""
    f.dealer("SH001")
    before = db_state()
    response = client.post(
        f"{DEALERS}/SH001/users", json={"username": "zhang", "password": password}, headers=gold
    )
    assert_problem(response, 422, fields=["password"])
    assert db_state() == before


def test_a_short_password_and_a_two_letter_username_are_accepted(client, gold):
    f.dealer("SH001")
    response = client.post(
        f"{DEALERS}/SH001/users", json={"username": "d1", "password": "pw"}, headers=gold
    )
    assert response.status_code == 201, response.get_json()
    assert (
        client.post("/api/v1/auth/tokens", json={"username": "d1", "password": "pw"}).status_code
        == 201
    )


def test_invalid_dealer_user_is_422_and_creates_nothing(client, gold, subtests):
    cases = [
        ({"password": "long-enough"}, "username"),
        ({"username": "zhang"}, "password"),
        ({"username": "a b", "password": "long-enough"}, "username"),
        ({"username": "zhang", "password": 12345678}, "password"),
        ({"username": "zhang", "password": "long-enough", "role": "admin"}, "role"),
    ]
    f.dealer("SH001")
    before = db_state()
    for body, field in cases:
        with subtests.test(body=body):
            response = client.post(f"{DEALERS}/SH001/users", json=body, headers=gold)
            assert_problem(response, 422, fields=[field])
            assert db_state() == before


def test_user_for_unknown_dealer_is_404_and_creates_nothing(client, gold):
    before = db_state()
    response = client.post(
        f"{DEALERS}/NOPE/users", json={"username": "zhang", "password": "long-enough"}, headers=gold
    )
    assert_problem(response, 404)
    assert db_state() == before
