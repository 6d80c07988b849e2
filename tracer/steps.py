"""Which steps a report shows: `--steps 1-3,last` style selections."""
from __future__ import annotations

from .errors import TracerError


def select_steps(text: str | None, n_steps: int, option: str = "--steps") -> list[int]:
    """Steps (1-based) chosen by text like '1-3,last', '1,5,-1' or 'all'/'' (every step).

    Negative numbers count from the end (-1 is the last step); out-of-range numbers are an error.
    """
    if n_steps <= 0:
        return []
    if text is None or text.strip() in ("", "all"):
        return list(range(1, n_steps + 1))
    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-") if not part.startswith("-") else (part, "", "")
        try:
            first = _step(lo, n_steps)
            last = _step(hi, n_steps) if sep else first
        except ValueError:
            raise TracerError(option, f"{part!r} is not a step; use e.g. '1-3,last' or '1,5,-1'") from None
        if not (1 <= first <= n_steps and 1 <= last <= n_steps) or first > last:
            raise TracerError(option, f"{part!r} is outside 1..{n_steps} (the trace has {n_steps} steps)")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def _step(text: str, n_steps: int) -> int:
    text = text.strip()
    if text in ("last", "end"):
        return n_steps
    if text == "first":
        return 1
    value = int(text)
    return n_steps + 1 + value if value < 0 else value


def describe_steps(steps: list[int]) -> str:
    """Step numbers as a selection text: [1, 2, 3, 7] -> '1-3,7' (the inverse of select_steps)."""
    parts, start = [], None
    for i, s in enumerate(steps):
        if start is None:
            start = s
        if i + 1 == len(steps) or steps[i + 1] != s + 1:
            parts.append(str(s) if s == start else f"{start}-{s}")
            start = None
    return ",".join(parts)
