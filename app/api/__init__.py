"""The JSON API (/api/v1): bearer tokens only, problem+json errors, OpenAPI described."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Response, current_app, g, jsonify, make_response, request

from app.errors import BadRequest, Forbidden, Invalid, Unauthorized
from app.extensions import db
from app.services import idempotency, permissions
from app.services.accounts import user_for_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = "public"
ANY_USER = "user"
ADMIN = "admin"
DEALER = "dealer"


def doc(
    *,
    summary: str,
    role: str,
    body=None,
    query=None,
    response=None,
    status: int = 200,
    also: dict[int, str] | None = None,
    errors: tuple[int, ...] = (),
    can: str | None = None,
    request_content: dict | None = None,
    response_content: dict | None = None,
):
    """Record what a view takes and returns (for OpenAPI) and enforce its role; an HQ view
    (role ADMIN) is open to the HQ roles carrying `can` (default: admin only, §3a).
    request_content and response_content are OpenAPI media types for bodies other than JSON
    (files); a JSON `response` is described beside them. `also` names other success statuses
    with the same body ({200: "Already recorded"})."""
    if role == ADMIN:
        can = can or permissions.ADMIN

    def decorate(view: Callable):
        @wraps(view)
        def wrapper(*args, **kwargs):
            _authorize(role, can)
            return view(*args, **kwargs)

        wrapper.api_doc = {
            "summary": summary,
            "role": role,
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "also": also or {},
            "errors": errors,
            "can": can,
            "request_content": request_content,
            "response_content": response_content,
        }
        return wrapper

    return decorate


def _authorize(role: str, can: str | None = None) -> None:
    if role == PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send Authorization: Bearer <token>.", code="missing_token")
    g.api_user, g.api_token = user_for_token(token.strip())
    if role == ADMIN:
        permissions.require(g.api_user, can)
    if role == DEALER and not g.api_user.is_dealer:
        raise Forbidden("This endpoint is for dealer users.", code="dealer_only")


def idempotent(view: Callable):
    """An API write that honours `Idempotency-Key` as POST /orders does (CONTRACT §2): the
    same key and body get the first answer again, with `Idempotent-Replayed: true`, and
    change nothing more; the same key with another body is 422 idempotency_key_reused. The
    claim, everything the call writes and its answer commit together (the services' commits
    are held until the answer is kept), so a retry after a lost answer never acts twice and
    never finds a half-done call. A refused call keeps nothing, so a corrected retry may use
    the key. Apply under @doc (the caller is known by then)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        print_ = idempotency.request_fingerprint(request)
        claimed = idempotency.claim(g.api_user.id, key, print_)
        if isinstance(claimed, idempotency.Replay):
            return replayed(claimed)
        session = db.session()
        session.info.pop(idempotency.ROLLED_BACK, None)
        with idempotency.held_commits():
            response = make_response(view(*args, **kwargs))
            if session.info.pop(idempotency.ROLLED_BACK, False):
                # A service rolled back on the way and went on (its claim went too): the
                # writes left are the ones after it; claim again to keep the answer with them.
                claimed = idempotency.claim(g.api_user.id, key, print_)
                if isinstance(claimed, idempotency.Replay):  # another request won meanwhile
                    db.session.rollback()
                    return replayed(claimed)
            idempotency.remember(claimed, response.status_code, response.get_data(as_text=True))
        db.session.commit()
        return response

    return wrapper


def replayed(replay) -> Response:
    """The stored answer of an earlier call with the same key and body."""
    response = current_app.response_class(
        replay.body, status=replay.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def json_body() -> dict:
    """The request's JSON object; raises BadRequest (400) when it is not one. A PATCH must
    name at least one field (its description says minProperties 1): 422 otherwise."""
    data = request.get_json(silent=True, force=True) if request.data else {}
    if data is None:
        raise BadRequest("The body is not valid JSON.", code="invalid_json")
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_json")
    if b"\\u" in request.data and _has_lone_surrogate(data):
        # JSON can spell half of a UTF-16 pair ("\ud800"); no database column can store it.
        raise BadRequest("The body holds an unpaired UTF-16 surrogate.", code="invalid_json")
    if request.method == "PATCH" and not data:
        raise Invalid(
            "Send at least one field to change.", errors={"body": ["Name a field to change."]}
        )
    return data


def _has_lone_surrogate(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def load(schema, *, partial: bool = False) -> dict:
    """Validate the JSON body with a marshmallow schema (422 on invalid fields)."""
    return schema.load(json_body(), partial=partial)


def reply(schema, obj, status: int = 200):
    """Dump obj with schema as a JSON response."""
    response = jsonify(schema.dump(obj))
    response.status_code = status
    return response


def reply_page(schema, items, total: int, args: dict):
    """A list answer: {"items", "page", "per_page", "total"}."""
    page = {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}
    return reply(schema, page)


def register(app) -> None:
    from app.api import (  # noqa: F401
        admin,
        announcements,
        audit,
        catalog,
        dealers_admin,
        imports,
        logistics,
        notices,
        openapi,
        orders,
        products_admin,
        settlements,
        staff,
        statements,
        tokens,
    )

    app.register_blueprint(bp)
