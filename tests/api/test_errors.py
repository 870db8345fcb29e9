"""Bad input anywhere (CONTRACT §2): a clear 4xx problem+json, and nothing changes.

Each matrix runs as subtests of one test, so a bad value is reported on its own while the
database is set up once.
"""

from __future__ import annotations

import json

import pytest

from tests import factories as f
from tests.api.helpers import assert_problem, db_state

ADMIN = "/api/v1/admin"
PRODUCT = {"sku": "MLK-250", "name": "纯牛奶", "unit": "箱", "list_price": "48.00"}


@pytest.fixture
def hq(admin_h):
    f.tier("GOLD", "金牌")
    f.dealer("SH001", tier_code="GOLD")
    f.product("ABC-1", list_price=10000, on_hand=20)
    return admin_h


# Every admin write with a valid body; the tests below spoil one part at a time.
WRITES = {
    "tier": ("POST", f"{ADMIN}/tiers", {"code": "SILVER", "name": "银牌"}),
    "dealer": ("POST", f"{ADMIN}/dealers", {"code": "BJ001", "name": "北京", "tier": "GOLD"}),
    "dealer-patch": ("PATCH", f"{ADMIN}/dealers/SH001", {"name": "上海"}),
    "user": (
        "POST",
        f"{ADMIN}/dealers/SH001/users",
        {"username": "zhang", "password": "long-enough"},
    ),
    "product": ("POST", f"{ADMIN}/products", PRODUCT),
    "product-patch": ("PATCH", f"{ADMIN}/products/ABC-1", {"name": "改名"}),
    "prices": (
        "PUT",
        f"{ADMIN}/products/ABC-1/prices",
        {"tiers": {"GOLD": [{"min_qty": 1, "price": "45"}]}},
    ),
    "stock": ("POST", f"{ADMIN}/products/ABC-1/stock", {"on_hand": 5}),
    "settings": ("PATCH", f"{ADMIN}/settings", {"show_exact_stock": False}),
}

BAD_MONEY = {
    "three-decimals": "12.345",
    "negative": "-1.00",
    "json-number": 12.5,
    "json-integer": 12,
    "non-numeric": "twelve",
    "empty": "",
    "exponent": "1e3",
    "thousands-comma": "1,280.00",
    "true": True,
    "null": None,
}
# 6.0 is not here: JSON (and the description's `"type": "integer"`) makes it the integer 6.
BAD_INTEGER = {"string": "6", "float": 6.5, "huge": 1e300, "true": True, "null": None}


def _send(client, headers, name, body=None):
    method, url, valid = WRITES[name]
    return client.open(url, method=method, headers=headers, json=valid if body is None else body)


def _send_raw(client, headers, name, raw: str):
    method, url, _ = WRITES[name]
    return client.open(
        url, method=method, headers=headers, data=raw, content_type="application/json"
    )


def _refused(response, status: int, fields=()) -> dict:
    return assert_problem(response, status, fields=fields)


def test_every_admin_write_accepts_its_valid_body(client, hq):
    """The matrices below spoil these bodies; unspoilt, each one is accepted."""
    for name in WRITES:
        response = _send(client, hq, name)
        assert response.status_code in (200, 201), (name, response.get_json())


# --- unparsable bodies: 400 -------------------------------------------------


def test_a_patch_without_a_field_is_422_and_changes_nothing(client, hq, subtests):
    before = db_state()
    patches = [name for name, (method, _, _) in WRITES.items() if method == "PATCH"]
    assert len(patches) >= 3
    for name in patches:
        for label, raw in (("no body", ""), ("empty object", "{}")):
            with subtests.test(endpoint=name, body=label):
                body = _refused(_send_raw(client, hq, name, raw), 422, fields=["body"])
                assert body["detail"] == "Send at least one field to change."
                assert db_state() == before


def test_an_unpaired_surrogate_is_400_everywhere_and_changes_nothing(client, hq, subtests):
    """JSON may spell half a UTF-16 pair; no text column can store it (PostgreSQL: 500)."""
    before = db_state()
    for name in WRITES:
        with subtests.test(endpoint=name):
            response = _send_raw(client, hq, name, '{"name": "\\ud800x"}')
            assert assert_problem(response, 400, code="invalid_json")
            assert db_state() == before
    paired = _send_raw(client, hq, "dealer-patch", '{"name": "\\ud83d\\ude00 店"}')
    assert paired.status_code == 200 and paired.get_json()["name"] == "😀 店"


def test_truncated_json_body_is_400_everywhere_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for name in WRITES:
        with subtests.test(endpoint=name):
            _refused(_send_raw(client, hq, name, '{"code": "SILVER",'), 400)
            assert db_state() == before


UNPARSABLE = {
    "text": "not json at all",
    "single-quotes": "{'sku': 'A'}",
    "trailing-comma": '{"sku": "A",}',
    "truncated-array": "[1, 2",
    "binary": "\xff\xfe",
    "nan": "NaN",
}


def test_unparsable_json_body_is_400_and_creates_nothing(client, hq, subtests):
    before = db_state()
    for label, raw in UNPARSABLE.items():
        with subtests.test(body=label):
            _refused(_send_raw(client, hq, "product", raw), 400)
            assert db_state() == before


def test_json_array_body_is_400_everywhere_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for name, (_, _, valid) in WRITES.items():
        with subtests.test(endpoint=name):
            _refused(_send_raw(client, hq, name, json.dumps([valid])), 400)
            assert db_state() == before


@pytest.mark.parametrize(
    "body", ["a string", 42, None, True], ids=["string", "number", "null", "true"]
)
def test_json_scalar_body_is_400_and_creates_nothing(client, hq, body):
    before = db_state()
    _refused(_send_raw(client, hq, "product", json.dumps(body)), 400)
    assert db_state() == before


def test_body_sent_as_a_form_is_a_4xx_problem_and_creates_nothing(client, hq):
    before = db_state()
    response = client.post(f"{ADMIN}/products", data=PRODUCT, headers=hq)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert db_state() == before


def test_token_endpoint_refuses_unparsable_json_with_400(client):
    response = client.post("/api/v1/auth/tokens", data="{username", content_type="application/json")
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "body", [["hq", "pw"], "hq", 42, None], ids=["array", "string", "number", "null"]
)
def test_token_endpoint_refuses_json_that_is_not_an_object_with_400(client, body):
    response = client.post(
        "/api/v1/auth/tokens", data=json.dumps(body), content_type="application/json"
    )
    assert_problem(response, 400)


# --- money: 422 naming the field ---------------------------------------------


@pytest.mark.parametrize(
    "name, field",
    [
        ("product", "list_price"),
        ("product-patch", "list_price"),
        ("dealer", "credit_limit"),
        ("dealer-patch", "credit_limit"),
    ],
)
def test_bad_money_is_422_naming_the_field_and_changes_nothing(client, hq, subtests, name, field):
    _, _, valid = WRITES[name]
    before = db_state()
    for label, value in BAD_MONEY.items():
        with subtests.test(value=label):
            response = _send(client, hq, name, {**valid, field: value})
            body = _refused(response, 422, fields=[field])
            assert body["code"] == "validation_error"
            assert db_state() == before


def _error_under(body: dict, prefix: str, leaf: str) -> None:
    """Some error key lies under prefix and ends with leaf (the exact form is tested apart)."""
    keys = body.get("errors", {})
    assert any(k.startswith(prefix) and k.endswith(leaf) for k in keys), keys


def test_bad_price_in_a_table_is_422_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for label, value in BAD_MONEY.items():
        with subtests.test(value=label):
            rows = [{"min_qty": 1, "price": "45"}, {"min_qty": 10, "price": value}]
            body = _refused(_send(client, hq, "prices", {"tiers": {"GOLD": rows}}), 422)
            _error_under(body, "tiers.GOLD.", ".price")
            assert db_state() == before


def test_bad_tier_price_error_path_is_tiers_gold_1_price(client, hq):
    rows = [{"min_qty": 1, "price": "45"}, {"min_qty": 10, "price": "4.555"}]
    body = _refused(_send(client, hq, "prices", {"tiers": {"GOLD": rows}}), 422)
    assert list(body["errors"]) == ["tiers.GOLD.1.price"]


def test_bad_dealer_min_qty_error_path_is_dealers_sh001_0_min_qty(client, hq):
    rows = [{"min_qty": "1", "price": "45"}]
    body = _refused(_send(client, hq, "prices", {"dealers": {"SH001": rows}}), 422)
    assert list(body["errors"]) == ["dealers.SH001.0.min_qty"]


def test_unknown_field_in_a_price_row_error_path_names_the_row(client, hq):
    rows = [{"min_qty": 1, "price": "45", "currency": "USD"}]
    body = _refused(_send(client, hq, "prices", {"tiers": {"GOLD": rows}}), 422)
    assert list(body["errors"]) == ["tiers.GOLD.0.currency"]


# --- integers, booleans, strings ---------------------------------------------


@pytest.mark.parametrize(
    "name, field",
    [
        ("product", "min_order_qty"),
        ("product", "order_multiple"),
        ("product-patch", "low_stock_threshold"),
        ("stock", "on_hand"),
    ],
)
def test_wrong_type_for_an_integer_is_422_and_changes_nothing(client, hq, subtests, name, field):
    _, _, valid = WRITES[name]
    before = db_state()
    for label, value in BAD_INTEGER.items():
        with subtests.test(value=label):
            _refused(_send(client, hq, name, {**valid, field: value}), 422, fields=[field])
            assert db_state() == before


def test_wrong_type_for_a_price_break_quantity_is_422(client, hq, subtests):
    before = db_state()
    for label, value in BAD_INTEGER.items():
        with subtests.test(value=label):
            rows = [{"min_qty": value, "price": "45"}]
            body = _refused(_send(client, hq, "prices", {"tiers": {"GOLD": rows}}), 422)
            _error_under(body, "tiers.GOLD.", ".min_qty")
            assert db_state() == before


def test_a_whole_number_written_with_a_decimal_point_is_that_integer(client, hq):
    assert _send(client, hq, "product-patch", {"min_order_qty": 6.0}).status_code == 200
    product = client.get(f"{ADMIN}/products/ABC-1", headers=hq).get_json()
    assert product["min_order_qty"] == 6
    assert isinstance(product["min_order_qty"], int)


def test_integer_out_of_range_is_422_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for field, value in [("min_order_qty", 0), ("order_multiple", 0), ("low_stock_threshold", -1)]:
        with subtests.test(field=field):
            response = _send(client, hq, "product-patch", {field: value})
            _refused(response, 422, fields=[field])
            assert db_state() == before


@pytest.mark.parametrize(
    "name, field",
    [("product-patch", "active"), ("dealer-patch", "active"), ("settings", "show_exact_stock")],
)
def test_wrong_type_for_a_boolean_is_422_and_changes_nothing(client, hq, subtests, name, field):
    before = db_state()
    for value in ("yes", "true", 1, 0, None):
        with subtests.test(value=value):
            _refused(_send(client, hq, name, {field: value}), 422, fields=[field])
            assert db_state() == before


def test_wrong_type_for_a_string_is_422_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for value in (5, None, ["饮料"], {"name": "x"}, True):
        with subtests.test(value=repr(value)):
            response = _send(client, hq, "product-patch", {"name": value})
            _refused(response, 422, fields=["name"])
            assert db_state() == before


def test_unknown_field_is_422_naming_it_everywhere_and_changes_nothing(client, hq, subtests):
    before = db_state()
    for name, (_, _, valid) in WRITES.items():
        with subtests.test(endpoint=name):
            response = _send(client, hq, name, {**valid, "colour": "red"})
            body = _refused(response, 422, fields=["colour"])
            assert body["code"] == "validation_error"
            assert db_state() == before


def test_price_tables_of_the_wrong_shape_are_422(client, hq, subtests):
    before = db_state()
    shapes = {
        "tiers-list": {"tiers": []},
        "table-object": {"tiers": {"GOLD": {"min_qty": 1}}},
        "row-string": {"tiers": {"GOLD": ["45"]}},
        "dealers-null": {"dealers": None},
    }
    for label, body in shapes.items():
        with subtests.test(shape=label):
            _refused(_send(client, hq, "prices", body), 422)
            assert db_state() == before


# Values every check above accepts but no 32-bit integer column holds.
HUGE = {
    "list-price": ("product", "list_price", "21474836.48", "21474836.48"),
    "min-order-qty": ("product", "min_order_qty", 2**31, 2**31),
    "on-hand": ("stock", "on_hand", 2**31, 2**31),
    "credit-limit": ("dealer-patch", "credit_limit", "99999999999.99", "99999999999.99"),
}


@pytest.mark.parametrize("name, field, value, shown", HUGE.values(), ids=HUGE.keys())
def test_huge_numbers_are_stored_exactly_or_refused_with_422_never_500(
    client, hq, name, field, value, shown
):
    _, _, valid = WRITES[name]
    before = db_state()
    response = _send(client, hq, name, {**valid, field: value})
    assert response.status_code in (200, 201, 422), response.status_code
    if response.status_code == 422:
        _refused(response, 422, fields=[field])
        assert db_state() == before
    else:
        assert response.get_json()[field] == shown


# --- the problem document itself --------------------------------------------


def test_validation_problem_lists_every_bad_field(client, hq):
    body = {**PRODUCT, "list_price": "1.234", "min_order_qty": "2"}
    problem = _refused(_send(client, hq, "product", body), 422)
    assert problem["code"] == "validation_error"
    assert set(problem["errors"]) == {"list_price", "min_order_qty"}


def test_unknown_api_path_is_404_problem(client, hq):
    assert_problem(client.get("/api/v1/no-such-thing", headers=hq), 404)


def test_wrong_method_is_405_problem(client, hq):
    assert_problem(client.delete(f"{ADMIN}/tiers", headers=hq), 405)


def test_conflict_problem_has_its_own_machine_code(client, hq):
    problem = _refused(_send(client, hq, "tier", {"code": "GOLD", "name": "金"}), 409)
    assert problem["code"] != "validation_error"


def test_a_constraint_race_is_a_409_problem_and_changes_nothing(client, admin_h, monkeypatch):
    """Two requests creating the same thing at once: the loser hits the unique index."""
    from sqlalchemy.exc import IntegrityError

    from app.services import accounts

    def racing_create(code, name):
        raise IntegrityError("INSERT INTO tiers …", {}, Exception("duplicate key"))

    monkeypatch.setattr(accounts, "create_tier", racing_create)
    response = client.post(
        "/api/v1/admin/tiers", json={"code": "GOLD", "name": "金牌"}, headers=admin_h
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "conflict"


def test_a_body_larger_than_any_upload_is_413_before_it_is_read(client, admin_h):
    big = b"x" * (20 * 1024 * 1024 + 1)
    response = client.post(
        "/api/v1/admin/imports/products", data=big, headers={**admin_h, "Content-Type": "text/csv"}
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("DELETE", "/api/v1/catalog", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/api/v1/orders", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/login", {"GET", "HEAD", "OPTIONS", "POST"}),
    ],
)
def test_a_method_the_path_does_not_support_is_405_with_allow(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


def test_a_control_character_in_a_filter_or_a_login_is_refused_not_a_server_error(client, hq):
    """NUL reached PostgreSQL from unpatterned filters (psycopg refuses it: a 500)."""
    for url in (
        "/api/v1/admin/audit?user=%00",
        "/api/v1/admin/products?q=%00",
        "/api/v1/admin/products?category=a%01",
        "/api/v1/admin/dealers?q=%00",
    ):
        assert_problem(client.get(url, headers=hq), 422)
    login = client.post("/api/v1/auth/tokens", json={"username": "\u0000", "password": "x"})
    assert_problem(login, 422, fields=["username"])
    blank = client.post("/api/v1/auth/tokens", json={"username": "", "password": "x"})
    assert blank.status_code == 401


def test_a_price_table_or_rebate_rate_for_a_code_with_a_control_character_is_422(client, hq):
    before = db_state()
    rows = [{"min_qty": 1, "price": "1.00"}]
    body = {"tiers": {"GO\u0000LD": rows}}
    assert_problem(client.put(f"{ADMIN}/products/ABC-1/prices", json=body, headers=hq), 422)
    policy = {"rates": {"\u0000": "0.01"}, "max_use_ratio": "0.10"}
    assert_problem(client.put(f"{ADMIN}/rebate-policy", json=policy, headers=hq), 422)
    assert db_state() == before
