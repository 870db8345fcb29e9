"""GET /openapi.json: built from the routes themselves, so every endpoint is described."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify

from app.api import PUBLIC, bp, doc
from app.api.fields import Money, Str, StrictBool, StrictInt
from app.services import permissions

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable error code"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
ERROR_TEXT = {
    400: "Unparsable body",
    401: "Missing, wrong or expired credentials",
    403: "Wrong role, or a deactivated dealer",
    404: "No such resource (or not yours)",
    409: "Conflicts with the current state",
    422: "Well-formed but invalid",
    429: "Too many attempts",
}


def _spec_name(schema) -> str:
    return schema.__name__.removesuffix("Schema")


def _operation(rule, view) -> dict:
    meta = view.api_doc
    op: dict = {"summary": meta["summary"], "tags": [meta["role"]], "responses": {}}
    if meta["role"] != PUBLIC:
        op["security"] = [{"bearer": []}]
    if meta.get("can"):
        roles = ", ".join(sorted(permissions.ROLES_FOR[meta["can"]]))
        op["description"] = f"HQ roles allowed: {roles}."
    params = [
        {"in": "path", "name": arg, "required": True, "schema": {"type": "string"}}
        for arg in sorted(rule.arguments)
    ]
    if meta["query"]:
        params.append({"in": "query", "schema": meta["query"]})
    if params:
        op["parameters"] = params
    if meta["body"]:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _spec_name(meta["body"])}},
        }
    if meta.get("request_content"):  # a file body (CSV, XLSX, multipart) rather than JSON
        op["requestBody"] = {"required": True, "content": meta["request_content"]}
    ok = {"description": "OK"}
    if meta["response"]:
        ok["content"] = {"application/json": {"schema": _spec_name(meta["response"])}}
    if meta.get("response_content"):
        ok["content"] = meta["response_content"]
    op["responses"][str(meta["status"])] = ok
    for status in meta["errors"]:
        op["responses"][str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
    return op


def build_spec(app: Flask) -> dict:
    """An OpenAPI 3.1 document for every /api/v1 route of the app."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="订货通 dealer ordering API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": "Money is a CNY string with two decimals; errors are problem+json."},
        servers=[{"url": "/api/v1"}],
    )
    plugin.map_to_openapi_type(Money, "string", None)
    plugin.map_to_openapi_type(StrictInt, "integer", None)
    plugin.map_to_openapi_type(StrictBool, "boolean", None)
    plugin.map_to_openapi_type(Str, "string", None)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", PROBLEM)
    _register_schemas(spec, app)
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.endpoint.startswith("api.") or not hasattr(view, "api_doc"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        spec.path(path=path, operations={m.lower(): _operation(rule, view) for m in methods})
    return spec.to_dict()


def _register_schemas(spec: APISpec, app: Flask) -> None:
    seen = set()
    for view in app.view_functions.values():
        meta = getattr(view, "api_doc", None)
        for schema in (meta or {}).get("body"), (meta or {}).get("response"):
            # Nested schemas are registered by their parents under the same name.
            if schema and schema not in seen and _spec_name(schema) not in spec.components.schemas:
                seen.add(schema)
                spec.components.schema(_spec_name(schema), schema=schema)


@bp.get("/openapi.json")
@doc(summary="This document", role=PUBLIC)
def openapi_json():
    cached = current_app.extensions.get("openapi")
    if cached is None:
        cached = current_app.extensions["openapi"] = build_spec(current_app)
    return jsonify(cached)
