"""The API's input fields accept exactly what the OpenAPI description declares of them.

A client (or a fuzzer) that builds requests from the description must never be refused for
form, and must be refused for anything the description rules out. These properties compare
each field's verdict with the declared pattern and lengths, read as JSON Schema reads them
(the whole string, code points).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, validate

from app import money
from app.api.fields import (
    FILLED_PATTERN,
    SPACES,
    TEXT_PATTERN,
    Money,
    QueryBool,
    QueryInt,
    Rate,
    Str,
    StrictInt,
)
from app.api.schemas import CODE, USERNAME

# Text near the edges: spaces of every kind, control characters, digits of other scripts.
EDGY = st.text(
    alphabet=st.sampled_from(
        list("aZ09-_. ,\t\n\r\x00\x01\x1f\x7f\x85\xa0\u3000\ufeff\u2028标٣")
        + [chr(0x2000 + i) for i in range(12)]
    ),
    max_size=12,
)
NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789.-+ e٣")), max_size=14)


def _accepts(field, value) -> bool:
    class One(Schema):
        x = field

    try:
        One().load({"x": value})
    except ValidationError:
        return False
    return True


def _declared(pattern: str, value: str, min_length: int = 0, max_length: int | None = None):
    fits = min_length <= len(value) <= (max_length if max_length is not None else len(value))
    return fits and re.fullmatch(pattern, value) is not None


@settings(max_examples=300)
@given(EDGY)
def test_a_text_field_accepts_what_its_pattern_and_lengths_say(value):
    assert _accepts(Str(), value) == _declared(FILLED_PATTERN, value, min_length=1)
    assert _accepts(Str(allow_empty=True), value) == _declared(TEXT_PATTERN, value)
    limited = Str(validate=validate.Length(max=5))
    assert _accepts(limited, value) == _declared(FILLED_PATTERN, value, 1, 5)


@settings(max_examples=300)
@given(EDGY)
def test_a_code_or_username_is_checked_whole_as_sent(value):
    assert _accepts(Str(validate=CODE), value) == _declared(CODE.regex.pattern, value, 1)
    assert _accepts(Str(validate=USERNAME), value) == _declared(USERNAME.regex.pattern, value, 1)


@pytest.mark.parametrize("value", ["SH001\n", " SH001", "SH001 "])
def test_a_code_with_a_space_or_line_break_around_it_is_refused(value):
    assert not _accepts(Str(validate=CODE), value)


def test_a_text_is_trimmed_of_every_kind_of_space():
    class One(Schema):
        x = Str()

    assert One().load({"x": "\u3000\ufeff 门店 \xa0\n"})["x"] == "门店"
    assert set(SPACES) >= {" ", "\t", "\n", "\u3000", "\xa0", "\ufeff"}


MONEY_FIELDS = [
    (Money(), money.MONEY_PATTERN),
    (Money(allow_negative=True), money.SIGNED_MONEY_PATTERN),
    (Money(nonzero=True), money.POSITIVE_MONEY_PATTERN),
    (Money(allow_negative=True, nonzero=True), money.NONZERO_MONEY_PATTERN),
]


@settings(max_examples=400)
@given(NUMBERISH)
def test_a_money_field_accepts_exactly_its_pattern(value):
    for field, pattern in MONEY_FIELDS:
        assert _accepts(field, value) == _declared(pattern, value), (pattern, value)


@pytest.mark.parametrize(
    ("field", "value", "fen"),
    [
        (Money(), "007.5", 750),
        (Money(), "0", 0),
        (Money(nonzero=True), "0.01", 1),
        (Money(allow_negative=True, nonzero=True), "-0.10", -10),
        (Money(), "9999999999.99", 999_999_999_999),
    ],
)
def test_money_in_its_pattern_is_read_as_fen(field, value, fen):
    class One(Schema):
        x = field

    assert One().load({"x": value})["x"] == fen


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (Money(), "-1", "Must not be negative."),
        (Money(nonzero=True), "0.00", "Must be more than zero."),
        (Money(allow_negative=True, nonzero=True), "-0", "Must not be zero."),
        (Money(), "١٢", "at most two decimals"),
        (Money(), " 12", "at most two decimals"),
    ],
)
def test_money_outside_its_pattern_says_why(field, value, message):
    class One(Schema):
        x = field

    with pytest.raises(ValidationError) as caught:
        One().load({"x": value})
    assert message in caught.value.messages["x"][0]


@settings(max_examples=300)
@given(NUMBERISH)
def test_a_rate_accepts_exactly_its_pattern(value):
    assert _accepts(Rate(), value) == _declared(money.RATE_PATTERN, value)


@pytest.mark.parametrize("value", [3, 3.0, -2.0, 2**31 - 1])
def test_an_integer_is_any_json_number_without_a_fraction(value):
    assert _accepts(StrictInt(), value)


@pytest.mark.parametrize("value", [3.5, True, "3", None, 2**31, 1e300, float("nan")])
def test_anything_else_is_not_an_integer(value):
    assert not _accepts(StrictInt(), value)


@pytest.mark.parametrize("value", ["7", "-2", "0010"])
def test_a_query_integer_is_ascii_digits(value):
    assert _accepts(QueryInt(), value)


@pytest.mark.parametrize("value", [" 7 ", "+3", "1_0", "٣", "7.0", "", "1e3"])
def test_a_query_integer_refuses_what_int_would_read(value):
    assert not _accepts(QueryInt(), value)


@pytest.mark.parametrize(
    ("field", "value", "read"),
    [
        (QueryBool(), "true", True),
        (QueryBool(), "false", False),
        (QueryBool(blank=True), "", None),
        (QueryBool(truthy=("true", "1"), falsy=("false", "0")), "0", False),
    ],
)
def test_a_query_boolean_is_one_of_its_spellings(field, value, read):
    class One(Schema):
        x = field

    assert One().load({"x": value})["x"] is read


@pytest.mark.parametrize("value", ["True", "yes", "on", "t", "1", "", " true"])
def test_a_query_boolean_refuses_other_words(value):
    assert not _accepts(QueryBool(), value)
