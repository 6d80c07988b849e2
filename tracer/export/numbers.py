"""How many decimals a column of numbers is shown with: one number format per column, in every exporter."""
from __future__ import annotations

import math


def decimals_for(values, digits: int) -> int:
    """Decimals that show `digits` significant digits of the largest value, so a column has one format."""
    top = max((abs(float(v)) for v in values if v == v and abs(float(v)) != math.inf), default=0.0)
    if top == 0:
        return digits
    return max(0, min(15, digits - 1 - math.floor(math.log10(top))))


def column_decimals(values, digits: int) -> int:
    """decimals_for, except that a column of whole numbers (data given as 0 and 1) is shown as whole numbers."""
    values = [float(v) for v in values]
    if all(math.isfinite(v) and v == round(v) for v in values):
        return 0
    return decimals_for(values, digits)
