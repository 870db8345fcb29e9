"""CONTRACT §5: `POST /webhooks/logistics/{carrier_code}`, signed with HMAC-SHA256.

`X-Logistics-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` where each v1 is
HMAC-SHA256(secret, "<t>.<raw body>"); one match with a still-valid secret is enough.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, jsonify, request
from marshmallow import ValidationError

from app.errors import flatten_errors, problem
from app.services import logistics
from app.services.logistics import EventIn
from app.webhooks import bp, per_carrier, read_body
from app.webhooks.schemas import CarrierEventSchema

SIGNATURE_HEADER = "X-Logistics-Signature"
TOLERANCE_SECONDS = 300
MAX_SIGNATURES = 8  # more v1 values than any rotation needs: refused, not tried one by one
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$", re.ASCII)
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$", re.ASCII)
_event_schema = CarrierEventSchema()

_REFUSALS = {
    "unknown_carrier": "Unknown or inactive carrier.",
    "bad_signature": f"Missing or wrong {SIGNATURE_HEADER}.",
    "stale_timestamp": f"The signature's t is more than {TOLERANCE_SECONDS} s from now.",
}


@dataclass(frozen=True, slots=True)
class Signature:
    timestamp: str
    digests: list[str]


def parse_signature(header: str) -> Signature | None:
    """`t=<digits>,v1=<hex>…` or None: one integer t, 1–8 well-formed v1 values."""
    timestamps, digests = [], []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1" and _HEX_DIGEST.match(value.strip()):
            digests.append(value.strip())
    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]):
        return None
    if not 1 <= len(digests) <= MAX_SIGNATURES:
        return None
    return Signature(timestamps[0], digests)


@bp.post("/logistics/<carrier_code>")
@per_carrier
def logistics_event(carrier_code: str):
    """Verify, then record one carrier event: 200 applied or duplicate, 202 unmatched."""
    carrier = logistics.find_carrier(carrier_code)
    if carrier is None or not carrier.active:
        return _refuse(logistics.refusal_key(carrier), "unknown_carrier")
    signature = parse_signature(request.headers.get(SIGNATURE_HEADER, ""))
    if signature is None:
        return _refuse(carrier_code, "bad_signature")
    raw = read_body(current_app.config["WEBHOOK_MAX_BYTES"])
    if raw is None:
        logistics.count_refusal(carrier_code, "bad_body")
        limit = current_app.config["WEBHOOK_MAX_BYTES"]
        return problem(413, "body_too_large", "Content too large", f"At most {limit} bytes.")
    secrets = logistics.valid_secrets(carrier)
    if not logistics.signature_matches(secrets, signature.timestamp, raw, signature.digests):
        return _refuse(carrier_code, "bad_signature")
    if abs(int(signature.timestamp) - datetime.now(UTC).timestamp()) > TOLERANCE_SECONDS:
        return _refuse(carrier_code, "stale_timestamp")
    event = _parsed(raw)
    if not isinstance(event, EventIn):
        logistics.count_refusal(carrier_code, "bad_body")
        return event
    [outcome] = logistics.record_events(carrier, [event])
    body = jsonify(event_id=event.event_key, outcome=outcome)
    return body, 202 if outcome == "unmatched" else 200


def _refuse(carrier_code: str, reason: str):
    logistics.count_refusal(carrier_code, reason)
    return problem(401, reason, "Unauthorized", _REFUSALS[reason])


def _parsed(raw: bytes):
    """The body as an EventIn, or the 400 problem answer that says why it is not one."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return problem(400, "invalid_json", "Bad request", "The body is not valid UTF-8 JSON.")
    if not isinstance(data, dict):
        return problem(400, "invalid_json", "Bad request", "The body must be a JSON object.")
    try:
        fields = _event_schema.load(data)
    except ValidationError as err:
        errors = flatten_errors(err.messages)
        return problem(400, "validation_error", "Bad request", "Some fields are invalid.", errors)
    return EventIn(
        event_key=fields["event_id"],
        tracking_no=fields["tracking_no"],
        status=fields["status"],
        occurred_at=fields["occurred_at"].astimezone(UTC),
        location=fields.get("location") or "",
        description=fields.get("description") or "",
    )
