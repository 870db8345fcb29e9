"""marshmallow fields for the API's edge: money strings, strict integers and booleans.

Each input field accepts exactly what it declares in the OpenAPI description (its `pattern`,
lengths and ranges; see app/api/openapi.py), so that a client or a fuzzer generating requests
from the description is never refused for form alone.
"""

import re

from marshmallow import ValidationError, fields, validate

from app import money
from app.money import format_fen, parse_fen


class Pattern(validate.Validator):
    """The whole value matches `regex` (as JSON Schema's `pattern` does; marshmallow's
    Regexp lets "AB\n" through `^AB$`)."""

    def __init__(self, regex: str, *, error: str):
        self.regex = re.compile(regex)
        self.error = error

    def __call__(self, value: str) -> str:
        if not self.regex.fullmatch(value):
            raise ValidationError(self.error)
        return value


class Money(fields.Field):
    """CNY as a string with 0–2 decimals in, exactly two out; int fen inside. `nonzero`
    refuses 0 (with allow_negative) or anything not above 0 (without)."""

    def __init__(self, *, allow_negative: bool = False, nonzero: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allow_negative = allow_negative
        self.pattern = {
            (False, False): money.MONEY_PATTERN,
            (True, False): money.SIGNED_MONEY_PATTERN,
            (False, True): money.POSITIVE_MONEY_PATTERN,
            (True, True): money.NONZERO_MONEY_PATTERN,
        }[allow_negative, nonzero]

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_fen(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError('Must be a string such as "12.50".')
        if re.fullmatch(self.pattern, value):
            return parse_fen(value, allow_negative=True)
        if re.fullmatch(money.SIGNED_MONEY_PATTERN, value):
            if value.startswith("-") and not self.allow_negative:
                raise ValidationError("Must not be negative.")
            raise ValidationError(
                "Must not be zero." if self.allow_negative else "Must be more than zero."
            )
        raise ValidationError('Must be a number with at most two decimals, such as "12.50".')


class Rate(fields.String):
    """A ratio from 0 to 1 as a decimal string with at most six decimals, such as "0.03"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.insert(
            0, Pattern(money.RATE_PATTERN, error='Must be a ratio from 0 to 1, such as "0.03".')
        )


INT32_MAX = 2**31 - 1


class StrictInt(fields.Integer):
    """A JSON integer that fits the database; strings, floats and booleans are refused."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)
        self.validators.append(validate.Range(max=INT32_MAX))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        if isinstance(value, float) and value.is_integer():  # 3.0 is an integer in JSON Schema
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class QueryInt(fields.Integer):
    """An integer in a query string: ASCII digits with an optional minus, nothing else
    (int() would also read " 7 ", "+3", "1_0" and "٣")."""

    DIGITS = re.compile(r"-?[0-9]{1,10}")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not self.DIGITS.fullmatch(value):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryBool(fields.Field):
    """true or false in a query string, spelled as declared (an enum): `truthy` and `falsy`
    (default "true" and "false"); with `blank`, "" (as in `?active=`) means either: None."""

    def __init__(self, *, truthy=("true",), falsy=("false",), blank: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spellings = {**dict.fromkeys(truthy, True), **dict.fromkeys(falsy, False)}
        if blank:
            self.spellings[""] = None

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or value not in self.spellings:
            raise ValidationError("Must be true or false.")
        return self.spellings[value]


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
# What trimming removes, spelled out so that Python and JSON Schema (ECMA-262) regular
# expressions read the same set: their \s differ (U+0085, U+FEFF, U+001C–U+001F).
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
SPACES += "\u2028\u2029\u202f\u205f\u3000\ufeff"
_CONTROL_CLASS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
_SPACE_CLASS = "".join(f"\\u{ord(c):04x}" for c in SPACES)
TEXT_PATTERN = f"^[^{_CONTROL_CLASS}]*$"
FILLED_PATTERN = f"^[^{_CONTROL_CLASS}]*[^{_CONTROL_CLASS}{_SPACE_CLASS}][^{_CONTROL_CLASS}]*$"
# One word: no spaces or control characters (usernames, tracking numbers).
WORD_CLASS = f"[^{_CONTROL_CLASS}{_SPACE_CLASS}]"


def refuse_control_characters(text: str) -> str:
    """The text unchanged, or ValidationError when it holds a control character."""
    if CONTROL.search(text):
        raise ValidationError("Must not contain control characters.")
    return text


class Str(fields.String):
    """A string without control characters, not blank (unless allow_empty), trimmed of
    SPACES. Lengths and patterns are checked on the string as sent, as the description
    declares them (TEXT_PATTERN or FILLED_PATTERN, plus the field's own)."""

    def __init__(self, *, allow_empty: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allow_empty = allow_empty

    def _deserialize(self, value, attr, data, **kwargs):
        sent = refuse_control_characters(super()._deserialize(value, attr, data, **kwargs))
        text = sent.strip(SPACES)
        if not text and not self.allow_empty:
            raise ValidationError("Must not be empty.")
        for check in self.validators:  # run again on `text` by marshmallow, after this
            if isinstance(check, (Pattern, validate.Length)):
                check(sent)
        return text
