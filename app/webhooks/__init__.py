"""Inbound carrier events (CONTRACT §5, §5a): signed, size-capped and rate-limited per carrier.

These doors take no session, no CSRF token and no login: a delivery proves itself by its
signature alone (the blueprint is CSRF-exempt and never reads `current_user`). Each door checks
the carrier, the size and the signature on the raw bytes before it parses anything; a refusal
is counted by reason (`services.logistics.count_refusal`) and its body is never kept.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import handle_http_error
from app.extensions import limiter

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _carrier_key() -> str:
    """One rate-limit bucket per carrier code in the URL, whichever door it knocks on."""
    return "carrier:" + (request.view_args or {}).get("carrier_code", "")


def _signed(response) -> bool:
    """Only deliveries that proved themselves use up a carrier's rate: unsigned junk aimed at
    a real carrier's door must not get its genuine events answered 429."""
    return response.status_code != 401


per_carrier = limiter.shared_limit(
    lambda: current_app.config["WEBHOOK_RATE_LIMIT"],
    scope="webhooks",
    key_func=_carrier_key,
    deduct_when=_signed,
)


def read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` bytes; never reads more than limit + 1.

    A declared Content-Length above the limit is refused unread; a body without one (chunked)
    is read only as far as one byte past the limit. The request's own cap is set just above
    ours, so an app-wide MAX_CONTENT_LENGTH (smaller or larger) does not decide for us.
    """
    if request.content_length is not None and request.content_length > limit:
        return None
    request.max_content_length = limit + 1
    chunks, size = [], 0
    try:
        stream = request.stream
        while size <= limit:
            chunk = stream.read(limit + 1 - size)  # a stream may return fewer bytes: loop
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except RequestEntityTooLarge:
        return None
    return None if size > limit else b"".join(chunks)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    """快递100 expects its JSON answer even for 413, 429 and the like; §5 gets problem+json."""
    if request.endpoint == "webhooks.kuaidi100_push":
        return kuaidi100.answer(err.code or 500, err.name)
    return handle_http_error(err)


from app.webhooks import kuaidi100, logistics  # noqa: E402, F401  (routes register on bp)
