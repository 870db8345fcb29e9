"""GET /api/v1/openapi.json (CONTRACT §2): OpenAPI 3, public, describing every route."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.api.helpers import HTTP_METHODS

URL = "/api/v1/openapi.json"


@pytest.fixture
def spec(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _documented(spec) -> set[tuple[str, str]]:
    """(METHOD, full path with {args}) for every operation in the document."""
    servers = spec.get("servers") or [{"url": ""}]
    base = urlsplit(servers[0]["url"]).path.rstrip("/")
    found = set()
    for path, item in spec["paths"].items():
        full = path if path.startswith("/api/") else base + path
        for method in item:
            if method in HTTP_METHODS:
                found.add((method.upper(), full))
    return found


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((method, path))
    return found


def test_openapi_is_served_without_authentication_as_openapi_3(spec):
    assert str(spec["openapi"]).startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]


def test_openapi_ignores_a_bad_token(client):
    response = client.get(URL, headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 200


def test_every_api_route_appears_with_its_method(app, spec):
    routes = _routes(app)
    assert ("POST", "/api/v1/auth/tokens") in routes  # the comparison is not vacuous
    missing = routes - _documented(spec)
    assert not missing, sorted(missing)


def test_document_lists_no_route_the_app_does_not_have(app, spec):
    extra = _documented(spec) - _routes(app)
    assert not extra, sorted(extra)


def test_every_reference_resolves(spec):
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    refs.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


def test_token_creation_is_public_and_the_rest_needs_a_bearer_token(spec):
    schemes = spec["components"]["securitySchemes"]
    bearer = [name for name, s in schemes.items() if s.get("scheme", "").lower() == "bearer"]
    assert bearer
    servers = spec.get("servers") or [{"url": ""}]
    base = urlsplit(servers[0]["url"]).path.rstrip("/")
    for path, item in spec["paths"].items():
        full = path if path.startswith("/api/") else base + path
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            security = op.get("security", spec.get("security", []))
            if full in ("/api/v1/auth/tokens", "/api/v1/openapi.json"):
                assert not security, (method, full)
            else:
                assert any(set(req) & set(bearer) for req in security), (method, full)


def _schema(spec, schema):
    """A schema with a $ref (or an apispec name) followed to its definition."""
    if isinstance(schema, str):
        return spec["components"]["schemas"][schema]
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_money_is_a_string_in_the_product_body(spec):
    servers = spec.get("servers") or [{"url": ""}]
    base = urlsplit(servers[0]["url"]).path.rstrip("/")
    path = "/api/v1/admin/products".removeprefix(base) if base else "/api/v1/admin/products"
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    properties = _schema(spec, body)["properties"]
    assert properties["list_price"]["type"] == "string"
    assert properties["min_order_qty"]["type"] == "integer"


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, op


def test_every_operation_has_its_own_id(spec):
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids)) > 50


def test_every_link_names_an_operation_and_exactly_its_path_parameters(spec):
    by_id = {op["operationId"]: (path, op) for _, path, op in _operations(spec)}
    links = [
        (op["operationId"], name, link)
        for _, _, op in _operations(spec)
        for answer in op["responses"].values()
        for name, link in answer.get("links", {}).items()
    ]
    assert len(links) > 20
    for source, name, link in links:
        path, _ = by_id[link["operationId"]]
        wanted = set(re.findall(r"{([^}]+)}", path))
        assert set(link["parameters"]) == wanted, (source, name)
        for expression in link["parameters"].values():
            assert expression.startswith("$response.body#/"), (source, name)


def test_the_links_chain_hq_and_dealer_work(spec):
    links = {
        op["operationId"]: {
            link["operationId"]
            for a in op["responses"].values()
            for link in a.get("links", {}).values()
        }
        for _, _, op in _operations(spec)
    }
    assert {"approve_order", "reject_order", "create_shipment"} <= links["admin_list_orders"]
    assert {"record_deposit", "create_dealer_user"} <= links["create_dealer"]
    assert {"get_order", "cancel_order"} <= links["create_order"]


def test_a_patch_body_must_name_a_field_and_an_all_optional_post_body_may_be_left_out(spec):
    schemas = spec["components"]["schemas"]
    for method, path, op in _operations(spec):
        body = op.get("requestBody")
        if method == "PATCH":
            assert body["required"] is True, path
            ref = body["content"]["application/json"]["schema"]["$ref"]
            assert schemas[ref.rsplit("/", 1)[1]]["minProperties"] == 1, path
    secret = spec["paths"]["/admin/carriers/{code}/secret"]["post"]["requestBody"]
    assert secret["required"] is False


def test_inputs_declare_their_form_and_answers_theirs(spec):
    schemas = spec["components"]["schemas"]
    deposit = schemas["Deposit"]["properties"]
    assert re.fullmatch(deposit["amount"]["pattern"], "0.01")
    assert not re.fullmatch(deposit["amount"]["pattern"], "0.00")
    assert deposit["reference"]["minLength"] == 1 and "pattern" in deposit["reference"]
    assert schemas["TierCreate"]["properties"]["code"]["pattern"].startswith("^[A-Za-z0-9]")
    out = schemas["LedgerEntryOut"]["properties"]["amount"]["pattern"]
    assert re.fullmatch(out, "-0.04") and not re.fullmatch(out, "-0.4")


def test_a_statement_is_described_as_json_csv_and_xlsx(spec):
    answer = spec["paths"]["/wallet/statement"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(answer)
    assert any("spreadsheetml" in media for media in answer)


def test_other_success_statuses_are_described(spec):
    assert {"200", "201"} <= set(spec["paths"]["/admin/rebate-settlements"]["post"]["responses"])
    deposits = spec["paths"]["/admin/dealers/{code}/wallet/deposits"]["post"]["responses"]
    assert {"200", "201"} <= set(deposits)
