"""Shapes of what carriers send. Unknown fields are ignored: carriers add fields freely."""

from __future__ import annotations

import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.api.fields import Str
from app.models.logistics import EVENT_STATUSES

FTIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_FTIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", re.ASCII)


class LenientSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class CarrierEventSchema(LenientSchema):
    """CONTRACT §5: one signed carrier event."""

    event_id = Str(required=True, validate=validate.Length(max=128))
    tracking_no = Str(required=True, validate=validate.Length(max=64))
    status = fields.String(required=True, validate=validate.OneOf(EVENT_STATUSES))
    occurred_at = fields.AwareDateTime(
        required=True, format="iso", metadata={"description": "ISO 8601 with an offset"}
    )
    location = Str(allow_empty=True, allow_none=True, validate=validate.Length(max=200))
    description = Str(allow_empty=True, allow_none=True)


def _china_time(value: str) -> None:
    """快递100's `ftime`: exactly "YYYY-MM-DD HH:MM:SS", a real date and time."""
    try:
        if not _FTIME.match(value):
            raise ValueError(value)
        datetime.strptime(value, FTIME_FORMAT)
    except ValueError as err:
        raise ValidationError('Use "YYYY-MM-DD HH:MM:SS" (China time).') from err


def _state_code(value) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError('Must be a state code such as 3 or "3".')


class Kuaidi100PointSchema(LenientSchema):
    context = Str(load_default="", allow_empty=True, allow_none=True)
    ftime = fields.String(required=True, validate=_china_time)
    areaName = Str(  # noqa: N815 (快递100's name)
        load_default=None, allow_empty=True, allow_none=True, validate=validate.Length(max=200)
    )
    status = Str(load_default=None, allow_empty=True, allow_none=True)


class Kuaidi100ResultSchema(LenientSchema):
    nu = Str(required=True, validate=validate.Length(max=64))
    state = fields.Raw(load_default=None, allow_none=True, validate=_state_code)
    data = fields.List(fields.Nested(Kuaidi100PointSchema), load_default=list)


class Kuaidi100PushSchema(LenientSchema):
    """CONTRACT §5a: the `param` of a 快递100 push; `lastResult` holds the trajectory."""

    lastResult = fields.Nested(Kuaidi100ResultSchema, required=True)  # noqa: N815
