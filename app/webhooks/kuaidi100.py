"""CONTRACT §5a: `POST /webhooks/kuaidi100/{carrier_code}`, the 快递100 subscription push.

A form with `param` (JSON) and `sign` = upper-case hex MD5(param + salt); the salt is the
carrier's secret. `lastResult.data` is the whole trajectory so far, newest first, so a push
repeats earlier points by design: each point is keyed by (tracking number, ftime, context)
and a repeat changes nothing and is not logged.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

from flask import current_app, jsonify
from marshmallow import ValidationError

from app.models.logistics import (
    EXCEPTION,
    IN_TRANSIT,
    OUT_FOR_DELIVERY,
    PICKED_UP,
    RETURNED,
    SHIPMENT_DELIVERED,
)
from app.services import logistics
from app.services.logistics import EventIn
from app.webhooks import bp, per_carrier, read_body
from app.webhooks.schemas import FTIME_FORMAT, Kuaidi100PushSchema

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
MAX_FIELDS = 16
_SIGN = re.compile(r"^[0-9a-fA-F]{32}$", re.ASCII)
_push_schema = Kuaidi100PushSchema()

# lastResult.state → the newest point's status.
STATES = {
    "0": IN_TRANSIT,  # 在途
    "1": PICKED_UP,  # 揽收
    "2": EXCEPTION,  # 疑难
    "3": SHIPMENT_DELIVERED,  # 签收
    "4": RETURNED,  # 退签
    "5": OUT_FOR_DELIVERY,  # 派件
    "6": RETURNED,  # 退回
    "7": IN_TRANSIT,  # 转投
    "8": IN_TRANSIT,  # 清关
    "14": EXCEPTION,  # 拒签
}
# A point's own `status` word → its status; any other word means in transit.
WORDS = {
    "揽收": PICKED_UP,
    "在途": IN_TRANSIT,
    "转投": IN_TRANSIT,
    "清关": IN_TRANSIT,
    "派件": OUT_FOR_DELIVERY,
    "签收": SHIPMENT_DELIVERED,
    "疑难": EXCEPTION,
    "拒签": EXCEPTION,
    "退回": RETURNED,
    "退签": RETURNED,
}


def answer(status: int, message: str):
    """快递100's answer shape; it retries a push until it reads `result: true`."""
    body = {"result": status == 200, "returnCode": str(status), "message": message}
    return jsonify(body), status


def word_status(word: str | None) -> str:
    return WORDS.get((word or "").strip(), IN_TRANSIT)


def point_status(state, word: str | None, newest: bool) -> str:
    """The newest point takes `lastResult.state` (when it is a code we know); the others,
    and a newest point with a code we do not know, take their own status word."""
    if newest and state is not None and str(state).strip() in STATES:
        return STATES[str(state).strip()]
    return word_status(word)


def event_key(tracking_no: str, ftime: str, context: str) -> str:
    """A point's identity as a fixed-length key; JSON keeps the three parts unambiguous."""
    identity = json.dumps([tracking_no, ftime, context], ensure_ascii=False)
    return "k100:" + hashlib.sha256(identity.encode()).hexdigest()


def china_time(ftime: str) -> datetime:
    """China time ("YYYY-MM-DD HH:MM:SS") as an aware UTC datetime."""
    return datetime.strptime(ftime, FTIME_FORMAT).replace(tzinfo=CHINA).astimezone(UTC)


@bp.post("/kuaidi100/<carrier_code>")
@per_carrier
def kuaidi100_push(carrier_code: str):
    """Verify the sign, then record every point of the trajectory in one transaction."""
    carrier = logistics.find_carrier(carrier_code)
    if carrier is None or not carrier.active:
        logistics.count_refusal(logistics.refusal_key(carrier), "unknown_carrier")
        return answer(401, "unknown or inactive carrier")
    raw = read_body(current_app.config["KUAIDI100_MAX_BYTES"])
    if raw is None:
        logistics.count_refusal(carrier_code, "bad_body")
        return answer(413, "body too large")
    form = _form(raw)
    param, sign = form.get("param", ""), form.get("sign", "").strip()
    valid = logistics.valid_secrets(carrier)
    if not _SIGN.match(sign) or not logistics.kuaidi100_sign_matches(valid, param, sign):
        logistics.count_refusal(carrier_code, "bad_signature")
        return answer(401, "wrong sign")
    events = _events(param)
    if events is None:
        logistics.count_refusal(carrier_code, "bad_body")
        return answer(400, "param is not a valid push")
    if events:
        logistics.record_events(carrier, events, log_duplicates=False)
    return answer(200, "成功")


def _form(raw: bytes) -> dict[str, str]:
    """The url-encoded form (UTF-8) read from the capped raw body; the first of each field."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:  # too many fields
        return {}
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _events(param: str) -> list[EventIn] | None:
    """The push's points as events, oldest first; None when `param` is not a valid push."""
    try:
        result = _push_schema.load(json.loads(param))["lastResult"]
    except (ValueError, RecursionError, ValidationError):
        return None
    nu, state = result["nu"], result["state"]
    events = []
    for i, point in enumerate(result["data"]):
        context = (point["context"] or "").strip()
        events.append(
            EventIn(
                event_key=event_key(nu, point["ftime"], context),
                tracking_no=nu,
                status=point_status(state, point["status"], newest=i == 0),
                occurred_at=china_time(point["ftime"]),
                location=(point["areaName"] or "").strip()[:200],
                description=context,
            )
        )
    return events[::-1]
