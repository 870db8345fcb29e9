"""marshmallow fields for the API's edge: money strings, strict integers and booleans."""

import re

from marshmallow import ValidationError, fields, validate

from app.money import MoneyError, format_fen, parse_fen


class Money(fields.Field):
    """CNY as a string with 0–2 decimals in, exactly two out; int fen inside."""

    def __init__(self, *, allow_negative: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allow_negative = allow_negative

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_fen(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError('Must be a string such as "12.50".')
        try:
            return parse_fen(value, allow_negative=self.allow_negative)
        except MoneyError as err:
            raise ValidationError(str(err)) from err


INT32_MAX = 2**31 - 1


class StrictInt(fields.Integer):
    """A JSON integer that fits the database; strings, floats and booleans are refused."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)
        self.validators.append(validate.Range(max=INT32_MAX))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class TableMap(fields.Dict):
    """{code: [row, …]} whose errors read "GOLD.1.price", not "GOLD.value.1.price"."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as err:
            messages = err.messages
            if isinstance(messages, dict):
                messages = {
                    key: (msg["value"] if isinstance(msg, dict) and set(msg) == {"value"} else msg)
                    for key, msg in messages.items()
                }
            raise ValidationError(messages) from err


class StrictBool(fields.Boolean):
    """JSON true or false only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


# Control characters other than tab and line breaks are never meant; NUL cannot even be
# stored in a PostgreSQL text column.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters(text: str) -> str:
    """The text unchanged, or ValidationError when it holds a control character."""
    if CONTROL.search(text):
        raise ValidationError("Must not contain control characters.")
    return text


class Str(fields.String):
    """A trimmed, non-empty string (unless allow_empty) without control characters."""

    def __init__(self, *, allow_empty: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allow_empty = allow_empty

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and not self.allow_empty:
            raise ValidationError("Must not be empty.")
        return refuse_control_characters(text)
