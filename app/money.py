"""Money is an int number of fen inside; these are the only conversions at the edges."""

import re
from decimal import ROUND_HALF_UP, Decimal

# Ten digits of yuan (under ¥10 billion) keep every product of price and quantity in 64 bits.
_MONEY = re.compile(r"^(-?)(\d{1,10})(?:\.(\d{1,2}))?$")
_RATE = re.compile(r"^(\d{1,3})(?:\.(\d{1,6}))?$")


class MoneyError(ValueError):
    """A money string that is not 0–2 decimals of CNY."""


def parse_fen(value: object, *, allow_negative: bool = False) -> int:
    """Parse "12", "12.5" or "12.50" into fen; raise MoneyError on anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MoneyError('Must be a decimal string such as "12.50".')
    text = str(value).strip()
    match = _MONEY.match(text)
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
    if not isinstance(value, str) or not _RATE.match(value.strip()):
        raise MoneyError('Must be a decimal string such as "0.03".')
    rate = Decimal(value.strip())
    if rate > 1:
        raise MoneyError("Must be between 0 and 1.")
    return rate


def apply_rate(fen: int, rate: Decimal) -> int:
    """rate × fen, rounded half-up to the fen."""
    return int((Decimal(fen) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
