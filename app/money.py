"""Money is an int number of fen inside; these are the only conversions at the edges."""

import re
from decimal import ROUND_HALF_UP, Decimal

# Ten significant digits of yuan (under ¥10 billion) keep every product of price and quantity
# in 64 bits. ASCII digits only (int() would also read "١٢"); the API declares these patterns.
_YUAN = r"(?:0+|0*[1-9][0-9]{0,9})"
_CENTS = r"(?:\.[0-9]{1,2})?"
_ABOVE_ZERO = rf"(?:0*[1-9][0-9]{{0,9}}{_CENTS}|0+\.(?:0[1-9]|[1-9][0-9]?))"
MONEY_PATTERN = rf"^{_YUAN}{_CENTS}$"
SIGNED_MONEY_PATTERN = rf"^-?{_YUAN}{_CENTS}$"
POSITIVE_MONEY_PATTERN = rf"^{_ABOVE_ZERO}$"
NONZERO_MONEY_PATTERN = rf"^-?{_ABOVE_ZERO}$"
_MONEY = re.compile(r"(-?)(0+|0*[1-9][0-9]{0,9})(?:\.([0-9]{1,2}))?")
# A ratio from 0 to 1 with at most six decimals.
RATE_PATTERN = r"^(?:0+(?:\.[0-9]{1,6})?|0*1(?:\.0{1,6})?)$"
_RATE = re.compile(RATE_PATTERN)
_DECIMAL = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")


class MoneyError(ValueError):
    """A money string that is not 0–2 decimals of CNY."""


def parse_fen(value: object, *, allow_negative: bool = False) -> int:
    """Parse "12", "12.5" or "12.50" into fen; raise MoneyError on anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MoneyError('Must be a decimal string such as "12.50".')
    text = str(value).strip()
    match = _MONEY.fullmatch(text)
    if not match:
        raise MoneyError('Must be a number with at most two decimals, such as "12.50".')
    sign, yuan, frac = match.groups()
    if sign and not allow_negative:
        raise MoneyError("Must not be negative.")
    fen = int(yuan) * 100 + int((frac or "0").ljust(2, "0"))
    return -fen if sign else fen


def format_fen(fen: int) -> str:
    """Fen as the API's two-decimal string: 128000 -> "1280.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def display_fen(fen: int) -> str:
    """Fen as shown in pages: 123450 -> "¥1,234.50"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def parse_rate(value: object) -> Decimal:
    """A ratio such as "0.03" (0 ≤ rate ≤ 1, at most six decimals)."""
    text = value.strip() if isinstance(value, str) else ""
    if _RATE.fullmatch(text):
        return Decimal(text)
    if _DECIMAL.fullmatch(text):
        raise MoneyError("Must be between 0 and 1, with at most six decimals.")
    raise MoneyError('Must be a decimal string such as "0.03".')


def apply_rate(fen: int, rate: Decimal) -> int:
    """rate × fen, rounded half-up to the fen."""
    return int((Decimal(fen) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
