"""POST/DELETE /auth/tokens: bearer tokens for ERPs and apps."""

from flask import current_app, g

from app.api import ANY_USER, PUBLIC, bp, doc, load, reply
from app.api.schemas import TokenCreateSchema, TokenOutSchema
from app.extensions import login_limits
from app.services import accounts


@bp.post("/auth/tokens")
@login_limits
@doc(
    summary="Exchange a username and password for a bearer token",
    role=PUBLIC,
    body=TokenCreateSchema,
    response=TokenOutSchema,
    status=201,
    errors=(400, 401, 403, 422, 429),
)
def create_token():
    data = load(TokenCreateSchema())
    user = accounts.authenticate(data["username"], data["password"])
    token, expires_at = accounts.issue_token(user, current_app.config["API_TOKEN_TTL"])
    return reply(TokenOutSchema(), {"token": token, "expires_at": expires_at}, 201)


@bp.delete("/auth/tokens/current")
@doc(summary="Revoke the token used for this request", role=ANY_USER, status=204, errors=(401,))
def revoke_token():
    accounts.revoke_token(g.api_token)
    return "", 204
