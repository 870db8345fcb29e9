"""Money crosses the edge as strings and lives inside as integer fen."""

from decimal import Decimal

import pytest

from app.money import MoneyError, apply_rate, display_fen, format_fen, parse_fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0", 0), ("12", 1200), ("12.5", 1250), ("12.50", 1250), ("0.01", 1), ("1280.00", 128000)],
)
def test_parse_accepts_zero_to_two_decimals(text, fen):
    assert parse_fen(text) == fen


@pytest.mark.parametrize("text", ["12.345", "abc", "", "1e3", "12.", ".5", "1,000", " - 1", "NaN"])
def test_parse_refuses_anything_else(text):
    with pytest.raises(MoneyError):
        parse_fen(text)


def test_parse_refuses_floats_and_booleans():
    with pytest.raises(MoneyError):
        parse_fen(12.5)
    with pytest.raises(MoneyError):
        parse_fen(True)


def test_negative_only_where_allowed():
    with pytest.raises(MoneyError):
        parse_fen("-5.00")
    assert parse_fen("-5.00", allow_negative=True) == -500


def test_format_always_two_decimals():
    assert format_fen(128000) == "1280.00"
    assert format_fen(5) == "0.05"
    assert format_fen(-500) == "-5.00"


def test_display_groups_thousands_with_a_yuan_sign():
    assert display_fen(123450) == "¥1,234.50"
    assert display_fen(-99) == "-¥0.99"


@pytest.mark.parametrize(
    ("fen", "rate", "result"), [(150, "0.03", 5), (149, "0.03", 4), (50, "0.01", 1)]
)
def test_rates_round_half_up_to_the_fen(fen, rate, result):
    # 150 × 0.03 = 4.5 → 5; 149 × 0.03 = 4.47 → 4; 50 × 0.01 = 0.5 → 1
    assert apply_rate(fen, Decimal(rate)) == result
