"""Compare a computed value with a number as a source document prints it (rounded to its digits)."""
from __future__ import annotations

from decimal import Decimal


def printed_digits(text: str) -> int:
    """Decimal places a printed number shows: '0.0066' -> 4, '-0.14' -> 2."""
    return max(0, -Decimal(text).as_tuple().exponent)


def matches_printed(value: float, text: str) -> bool:
    """True when `value` rounded half away from zero to the printed decimals reads as `text`."""
    digits = printed_digits(text)
    printed = Decimal(text)
    return abs(Decimal(repr(float(value))) - printed) <= Decimal(5) * Decimal(10) ** (-digits - 1)
