"""GET /openapi.json: built from the routes themselves, so every endpoint is described."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify
from marshmallow import Schema

from app.api import PUBLIC, bp, doc
from app.api.fields import (
    FILLED_PATTERN,
    TEXT_PATTERN,
    Money,
    QueryBool,
    QueryInt,
    Rate,
    Str,
    StrictBool,
    StrictInt,
)
from app.api.schemas import StrictSchema
from app.services import permissions

MONEY_OUT = r"^-?[0-9]+\.[0-9]{2}$"  # what answers carry: always two decimals

# Links (OpenAPI 3.1 §4.8.20) from an answer to the calls it makes possible, so that a client
# generator or a stateful fuzzer can chain them: endpoint → {link name: (target endpoint,
# {path parameter: runtime expression})}.
_CODE, _SKU, _NUMBER = "$response.body#/code", "$response.body#/sku", "$response.body#/number"
_FIRST = "$response.body#/items/0/"
_DEALER = {"code": _CODE}
_CARRIER = {"code": _CODE}
_ORDER_DESK = {"number": _FIRST + "number"}
_NOTICE_DESK = {"notice_id": _FIRST + "id"}
LINKS = {
    "create_dealer": {
        "GetDealer": ("get_dealer", _DEALER),
        "UpdateDealer": ("update_dealer", _DEALER),
        "AddDealerUser": ("create_dealer_user", _DEALER),
        "RecordDeposit": ("record_deposit", _DEALER),
        "RecordAdjustment": ("record_adjustment", _DEALER),
        "GetStatement": ("admin_wallet_statement", _DEALER),
    },
    "list_dealers": {
        "GetDealer": ("get_dealer", {"code": _FIRST + "code"}),
        "RecordDeposit": ("record_deposit", {"code": _FIRST + "code"}),
        "GetStatement": ("admin_wallet_statement", {"code": _FIRST + "code"}),
    },
    "create_product": {
        "GetProduct": ("get_product", {"sku": _SKU}),
        "UpdateProduct": ("update_product", {"sku": _SKU}),
        "GetPrices": ("get_prices", {"sku": _SKU}),
        "PutPrices": ("put_prices", {"sku": _SKU}),
        "SetStock": ("set_stock", {"sku": _SKU}),
    },
    "list_hq_products": {
        "GetProduct": ("get_product", {"sku": _FIRST + "sku"}),
        "PutPrices": ("put_prices", {"sku": _FIRST + "sku"}),
        "SetStock": ("set_stock", {"sku": _FIRST + "sku"}),
    },
    "create_carrier": {
        "GetCarrier": ("get_carrier", _CARRIER),
        "UpdateCarrier": ("update_carrier", _CARRIER),
        "ListCarrierEvents": ("list_carrier_events", _CARRIER),
        "RotateSecret": ("rotate_secret", _CARRIER),
    },
    "list_carriers": {"GetCarrier": ("get_carrier", {"code": _FIRST + "code"})},
    "create_staff_user": {
        "UpdateStaffUser": ("update_staff_user", {"username": "$response.body#/username"})
    },
    "create_announcement": {
        "GetAnnouncement": ("get_announcement", {"announcement_id": "$response.body#/id"})
    },
    "list_announcements": {
        "GetAnnouncement": ("get_announcement", {"announcement_id": _FIRST + "id"})
    },
    "admin_list_orders": {
        "GetOrder": ("admin_get_order", _ORDER_DESK),
        "Approve": ("approve_order", _ORDER_DESK),
        "Reject": ("reject_order", _ORDER_DESK),
        "Ship": ("create_shipment", _ORDER_DESK),
    },
    "approve_order": {"Ship": ("create_shipment", {"number": _NUMBER})},
    "admin_list_deposit_notices": {
        "Confirm": ("admin_confirm_deposit_notice", _NOTICE_DESK),
        "Reject": ("admin_reject_deposit_notice", _NOTICE_DESK),
        "GetReceipt": ("admin_get_deposit_notice_receipt", _NOTICE_DESK),
    },
    "create_order": {
        "GetOrder": ("get_order", {"number": _NUMBER}),
        "Cancel": ("cancel_order", {"number": _NUMBER}),
    },
    "list_orders": {
        "GetOrder": ("get_order", {"number": _FIRST + "number"}),
        "Cancel": ("cancel_order", {"number": _FIRST + "number"}),
    },
    "list_catalog": {"GetItem": ("get_catalog_item", {"sku": _FIRST + "sku"})},
    "dealer_list_announcements": {
        "GetAnnouncement": ("dealer_get_announcement", {"announcement_id": _FIRST + "id"}),
        "MarkRead": ("dealer_read_announcement", {"announcement_id": _FIRST + "id"}),
    },
}

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
    413: "Payload too large",
    414: "The request line is longer than the server reads (8 KB): a query far too long",
    422: "Well-formed but invalid",
    429: "Too many attempts",
}


def _spec_name(schema) -> str:
    return schema.__name__.removesuffix("Schema")


def _operation(rule, view) -> dict:
    meta = view.api_doc
    name = rule.endpoint.removeprefix("api.")
    op: dict = {"operationId": name, "summary": meta["summary"], "tags": [meta["role"]]}
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
    body = _request_body(meta, patch="PATCH" in rule.methods)
    if body:
        op["requestBody"] = body
    op["responses"] = _responses(meta, name)
    if meta["query"]:  # gunicorn's own answer (plain HTML), before the app
        op["responses"]["414"] = {"description": ERROR_TEXT[414]}
    return op


def _request_body(meta: dict, *, patch: bool) -> dict | None:
    if meta["request_content"]:  # a file body (CSV, XLSX, multipart) rather than JSON
        return {"required": True, "content": meta["request_content"]}
    if not meta["body"]:
        return None
    # A body whose fields are all optional may be left out, except a PATCH's (it must name
    # one field: minProperties, see _register_schemas).
    fields = meta["body"]().fields.values()
    return {
        "required": patch or any(f.required for f in fields),
        "content": {"application/json": {"schema": _spec_name(meta["body"])}},
    }


def _responses(meta: dict, name: str) -> dict:
    ok: dict = {"description": "OK"}
    if meta["response"]:
        ok["content"] = {"application/json": {"schema": _spec_name(meta["response"])}}
    if meta["response_content"]:
        ok["content"] = {**ok.get("content", {}), **meta["response_content"]}
    if name in LINKS:
        ok["links"] = {
            link: {"operationId": target, "parameters": parameters}
            for link, (target, parameters) in LINKS[name].items()
        }
    responses = {str(meta["status"]): ok}
    for status, description in meta["also"].items():
        responses[str(status)] = {**ok, "description": description}
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for status in meta["errors"]:
        responses[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/problem+json": problem},
        }
    return responses


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
    plugin.map_to_openapi_type(QueryInt, "integer", None)
    plugin.map_to_openapi_type(StrictBool, "boolean", None)
    plugin.map_to_openapi_type(Str, "string", None)
    plugin.map_to_openapi_type(Rate, "string", None)
    plugin.converter.add_attribute_function(_declared_form)
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


def _declared_form(converter, field, ret, **kwargs) -> dict:
    """What our fields accept beyond their type (app/api/fields.py checks exactly this)."""
    if isinstance(field, QueryBool):  # a query's true or false is a word, listed
        declared = {"type": "string", "enum": list(field.spellings)}
        default = ret.pop("default", None)  # marshmallow's (None, False): as its spelling
        spelled = [word for word, value in field.spellings.items() if value is default]
        if isinstance(default, bool) and spelled:
            declared["default"] = spelled[0]
        return declared
    if isinstance(field, Money):
        return {"pattern": field.pattern if _loaded(field) else MONEY_OUT}
    if isinstance(field, Str):
        declared = {}
        if "pattern" not in ret:  # codes, SKUs, usernames: their own pattern is narrower
            declared["pattern"] = TEXT_PATTERN if field.allow_empty else FILLED_PATTERN
        if not field.allow_empty:
            declared["minLength"] = max(ret.get("minLength", 1), 1)
        return declared
    return {}


def _loaded(field) -> bool:
    """Whether the field belongs to an input schema (ours are StrictSchema, answers not)."""
    parent = field.parent
    while parent is not None and not isinstance(parent, Schema):
        parent = parent.parent
    return isinstance(parent, StrictSchema)


def _register_schemas(spec: APISpec, app: Flask) -> None:
    patched = {
        view.api_doc["body"]
        for rule in app.url_map.iter_rules()
        if "PATCH" in rule.methods
        and (view := app.view_functions.get(rule.endpoint)) is not None
        and getattr(view, "api_doc", {}).get("body")
    }
    seen = set()
    for view in app.view_functions.values():
        meta = getattr(view, "api_doc", None)
        for schema in (meta or {}).get("body"), (meta or {}).get("response"):
            # Nested schemas are registered by their parents under the same name.
            if schema and schema not in seen and _spec_name(schema) not in spec.components.schemas:
                seen.add(schema)
                extra = {"minProperties": 1} if schema in patched else None
                spec.components.schema(_spec_name(schema), component=extra, schema=schema)


@bp.get("/openapi.json")
@doc(summary="This document", role=PUBLIC)
def openapi_json():
    cached = current_app.extensions.get("openapi")
    if cached is None:
        cached = current_app.extensions["openapi"] = build_spec(current_app)
    return jsonify(cached)
