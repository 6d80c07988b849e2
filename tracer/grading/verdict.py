"""The verdict on one number a student wrote, as every grader of this project gives it: rounding first, then
errors carried forward, then the classic mistakes.

`tracer check` (tracer.grading.check) calls it with the plan's values; a PrairieLearn question's server.py
(tracer.grading.prairielearn) holds this module pasted after tracer.grading.numbers, so it imports nothing else
of tracer (the line marked `# pasted` is dropped there). The live page's student mode is its JavaScript twin
(templates/_student.js.j2).
"""
import math

from .numbers import round_half_up, rounded_in_stages, truncated  # pasted

SCORING = ("correct", "rounded", "carried forward")  # the statuses that score
UNEXPLAINED = "not explained by a known mistake"
TRUNCATED = "truncated instead of rounded"
TOO_FEW_DIGITS = "rounded to too few digits"


def close(value: float, target: float, rtol: float) -> bool:
    """Within the relative tolerance of a grading without a policy."""
    return math.isfinite(target) and abs(value - target) <= rtol * abs(target) + 1e-12


def show(v: float) -> str:
    """A value in a verdict's explanation."""
    return f"{v:.6g}"


def rounding_explains(value: float, written: int, exact: float, hand: float, policy) -> bool:
    """Without a policy: between the exact value and the hand-rounded one (widened by half a unit of what
    the student wrote), or the exact value rounded by hand in stages (Ekman's y_g)."""
    places = policy.places(exact, written)
    half = 0.5 * 10.0 ** -places * (1 + 1e-9)
    lo, hi = sorted((exact, hand))
    return lo - half <= value <= hi + half or rounded_in_stages(value, places, exact)


def verdict(value: float, written: int, policy, rtol: float, exact: float, hand: float, from_own: float,
            earlier_wrong: bool, diagnose) -> tuple[str, str, str]:
    """(status, diagnosis, explanation) of `value` written with `written` decimals, against the exact value,
    the hand computation (`hand`) and what the student's own earlier values give (`from_own`, carried forward
    when an earlier answer was wrong); `diagnose()` gives (diagnosis, explanation) when nothing else explains
    a wrong value."""
    if policy.kind == "written":  # to the digits written, or to rtol
        same = lambda target: close(value, target, rtol) or policy.same(value, target, written)
    else:  # the class's policy alone, as every export grades it (half a unit of the last place kept)
        same = lambda target: policy.same(value, target, written)
    if same(exact) or (policy.kind != "written" and same(hand)):
        return "correct", "", ""
    if policy.kind == "written" and rounding_explains(value, written, exact, hand, policy):
        return "rounded", "", ""
    if same(from_own):  # from the student's own values: rounding if those were accepted
        return ("carried forward" if earlier_wrong else "rounded" if policy.kind == "written" else "correct"), "", ""
    places = max(written, 0)
    targets = [t for t in (exact, hand, from_own) if t is not None and math.isfinite(t)]
    cut = next((t for t in targets if truncated(value, t, places)), None)
    if any(abs(value - round(t, places)) <= 0.5 * 10.0 ** -places * (1 + 1e-9) for t in targets):
        return "wrong", TOO_FEW_DIGITS, (f"{show(exact)} rounded to {places} decimal{'s' * (places != 1)} is "
                                         f"{value:g}, but the class rounds to {policy.describe()}")
    if cut is not None:  # named whether or not the class accepts it
        status = "rounded" if policy.truncation and places >= policy.places(cut, written) else "wrong"
        return status, TRUNCATED, (f"{show(cut)} is {round_half_up(cut, places):.{places}f} rounded to {places} "
                                   f"decimal{'s' * (places != 1)}; {value:.{places}f} cuts it off" +
                                   ("; the class accepts that" if status == "rounded" else ""))
    return ("wrong", *diagnose())
