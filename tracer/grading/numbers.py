"""Numbers as students write them, and how a class rounds.

A class rounds in one of three ways: to N decimals (`--round N`), to N significant digits (`--sig N`), or,
without a policy, as each answer is written (the digits it shows, at least two significant ones, so that
'0' is not 0.014). A value is the same as another under the policy when both round to the same number; a
hand computation rounds every intermediate the same way.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

MAX_DECIMALS = 17  # more decimals than a double carries are not information
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,4})?")


def to_decimal(text: str | None) -> Decimal | None:
    """The number a student wrote as a Decimal ('−0,066' -> Decimal('-0.066')); None if not a number."""
    if text is None:
        return None
    t = text.strip().replace("−", "-").replace("–", "-").replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    if len(t) > 60 or not NUMBER.fullmatch(t):
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def parse_number(text: str | None) -> tuple[float, int] | None:
    """The number a student wrote and its decimal places ('−0,066' -> (-0.066, 3)); None if not a number."""
    d = to_decimal(text)
    if d is None:
        return None
    return float(d), min(MAX_DECIMALS, max(0, -d.as_tuple().exponent))  # 1e999 is a number: inf, and wrong


def significant(text: str | None) -> int:
    """Significant digits a student wrote ('-0.0060' -> 2, '0.42' -> 2, '12.5' -> 3); 0 if not a number."""
    d = to_decimal(text)
    if d is None:
        return 0
    digits = d.as_tuple().digits
    return max(1, len(digits) - next((k for k, x in enumerate(digits) if x), len(digits)))


def round_half_up(value: float, decimals: int) -> float:
    """Round as by hand: halves away from zero (2.345 -> 2.35), on the decimal text of the double."""
    if not math.isfinite(value):
        return value
    decimals = max(-300, min(MAX_DECIMALS, decimals))
    try:
        return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return value


def decimals_for_significant(value: float, n: int) -> int:
    """Decimals that keep n significant digits of value."""
    if not value or not math.isfinite(value):
        return n
    return n - 1 - math.floor(math.log10(abs(value)))


TRUNCATION = ", truncation accepted"


def truncated(value: float, target: float, places: int) -> bool:
    """The value is the target cut off after `places` decimals where rounding would give another number
    (0.129 for 0.12987 at 3 decimals), on the decimal text of the double; a value within half a unit of the
    target is a rounding (a tie rounded down), not a cut."""
    if not math.isfinite(target) or places > MAX_DECIMALS:
        return False
    exact = Decimal(repr(float(target)))
    unit = Decimal(1).scaleb(-places)
    if abs(Decimal(repr(float(value))) - exact) <= unit / 2:
        return False
    cut = exact.quantize(unit, rounding=ROUND_DOWN)
    return cut != exact.quantize(unit, rounding=ROUND_HALF_UP) and abs(Decimal(repr(float(value))) - cut) < unit / 1000


@dataclass(frozen=True)
class Rounding:
    """How answers are rounded: 'decimals' (N), 'significant' (N), or 'written' (as each answer shows)."""

    kind: str = "written"
    n: int = 0
    truncation: bool = False  # a value cut off instead of rounded counts as right (it is named either way)

    @classmethod
    def decimals(cls, n: int, truncation: bool = False) -> "Rounding":
        return cls("decimals", n, truncation)

    @classmethod
    def significant(cls, n: int, truncation: bool = False) -> "Rounding":
        return cls("significant", n, truncation)

    def places(self, target: float, written: int) -> int:
        """Decimals a value near `target` is compared to: the policy's, or (written) those the answer shows,
        with at least two significant digits of the target."""
        if self.kind == "decimals":
            return self.n
        if self.kind == "significant":
            return decimals_for_significant(target, self.n)
        return max(written, decimals_for_significant(target, 2)) if target and math.isfinite(target) else written

    def same(self, value: float, target: float, written: int) -> bool:
        """The answer is the target rounded as the class rounds (within half a unit of the last place kept)."""
        if not math.isfinite(target):
            return False
        half = 0.5 * 10.0 ** -self.places(target, written)
        return abs(value - target) <= half * (1 + 1e-9) + 1e-15 * abs(target)

    def hand(self, value: float, keep: int) -> float:
        """An intermediate written down by hand: rounded to the policy, or (written) to `keep` significant digits."""
        if self.kind == "decimals":
            return round_half_up(value, self.n)
        return round_half_up(value, decimals_for_significant(value, self.n if self.kind == "significant" else keep))

    @classmethod
    def parse(cls, text) -> "Rounding | None":
        """A policy as describe() writes it ('3 decimals', '4 significant digits'), as an exercise carries it;
        None for any other text (as written)."""
        found = re.fullmatch(rf"\s*(\d{{1,2}}) (decimal|significant digit)s?({re.escape(TRUNCATION)})?\s*",
                             str(text or ""))
        if found is None:
            return None
        n, truncation = int(found.group(1)), bool(found.group(3))
        return cls.decimals(n, truncation) if found.group(2) == "decimal" else cls.significant(n, truncation)

    def describe(self) -> str:
        if self.kind == "decimals":
            return f"{self.n} decimal{'s' * (self.n != 1)}" + TRUNCATION * self.truncation
        if self.kind == "significant":
            return f"{self.n} significant digit{'s' * (self.n != 1)}" + TRUNCATION * self.truncation
        return "the digits each answer shows (at least 2 significant)"


def rounded_in_stages(value: float, places: int, target: float) -> bool:
    """The written value is the target rounded by hand in stages, one decimal at a time from up to three more
    decimals (-0.24492 -> -0.245 -> -0.25: Ekman's y_g), rounding halves away from zero."""
    if not math.isfinite(target) or not math.isfinite(value) or places > MAX_DECIMALS:
        return False
    try:
        wanted = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        for extra in (1, 2, 3):
            x = Decimal(repr(target))
            for p in range(places + extra, places - 1, -1):
                x = x.quantize(Decimal(1).scaleb(-p), rounding=ROUND_HALF_UP)
            if x == wanted:
                return True
    except InvalidOperation:
        return False
    return False
