"""The grading inside a PrairieLearn question's server.py (`tracer template --prairielearn`): `tracer check`'s
grading (tracer.grading.check: check_answers, judge, diagnose) on the question's compiled functions instead of
the plan, with the same verdict (tracer.grading.verdict), as the live page's student mode does it in
JavaScript.

The question's server.py is tracer.grading.numbers, tracer.grading.verdict, this module, the question's data
and its functions (tracer.grading.compiled), pasted one after the other: it imports nothing of tracer, so
PrairieLearn needs no installation, and the lines marked `# pasted` are dropped.
"""
import random

import numpy as np

from .numbers import Rounding, parse_number, significant  # pasted
from .verdict import UNEXPLAINED, close, show, verdict  # pasted

# what the compiled functions call (tracer.grading.compiled.python_expr), on numpy's doubles as the engine's
_exp, _tanh, _log = np.exp, np.tanh, np.log


def _sq(x):
    return x * x


def _softplus(x):
    """log(1 + e^x) without overflow, as the engine's softplus."""
    return max(x, 0) + np.log1p(np.exp(-abs(x)))


class Constants:
    """The update's constants as the compiled functions name them (P.learning_rate)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def grade_answers(question: dict, variant: dict, texts: list, own: list, mistakes: list) -> list[dict]:
    """Marks for a student's answers (text or None per item) to one variant, in check_answers' order: rounding
    first, then errors carried forward, then the classic mistakes."""
    n, policy, rtol = len(question["items"]), Rounding(**question["policy"]), question["rtol"]
    exact, leaves, P = variant["exact"], variant["leaves"], Constants(question["constants"])
    parsed = [parse_number(t) if t is not None else None for t in texts]
    keep = 0
    if policy.kind == "written":  # the significant digits the student usually keeps, at least 2
        sig = [significant(t) for t, p in zip(texts, parsed) if p is not None]
        keep = max(2, max(sorted(set(sig)), key=sig.count) if sig else 4)
    rounded, hand = {}, []
    given = lambda r: np.float64(leaves[r - n])
    g_hand = lambda r: given(r) if r >= n else np.float64(rounded.get(r, exact[r]))
    for i in range(n):
        hand.append(float(own[i](g_hand, P)))
        rounded[i] = policy.hand(hand[i], keep)
    used, status, marks = set(), {}, []

    def g_own(r):
        if r >= n:
            return given(r)
        if parsed[r] is not None:
            used.add(r)
            return np.float64(parsed[r][0])
        return np.float64(exact[r])

    g_exact = lambda r: given(r) if r >= n else np.float64(exact[r])
    for i, label in enumerate(question["items"]):
        mark = {"label": label, "text": texts[i], "status": "", "diagnosis": "", "explain": "", "expected": exact[i]}
        if texts[i] is None:
            mark["status"] = "blank"
        elif parsed[i] is None:
            mark["status"] = "unparseable"
        else:
            used.clear()
            mark["from_own"] = float(own[i](g_own, P))
            value, written = parsed[i]
            earlier_wrong = any(status.get(k) in ("wrong", "carried forward") for k in used)
            mark["status"], mark["diagnosis"], mark["explain"] = verdict(
                value, written, policy, rtol, exact[i], hand[i], mark["from_own"], earlier_wrong,
                lambda: diagnose(value, written, policy, rtol, exact[i], question, mistakes[i], g_own, g_exact,
                                 own[i], P))
        status[i] = mark["status"]
        marks.append(mark)
    return marks


def diagnose(value, written, policy, rtol, exact, question, item_mistakes, g_own, g_exact, own, P):
    """check.diagnose on the compiled functions: the first classic mistake whose value matches, or 'not
    explained'."""
    for mistake, functions in zip(question["mistakes"], item_mistakes):
        for g in (g_own, g_exact):
            candidates = [float(f(g, P)) for f in functions]
            if any(close(value, c, rtol) or policy.same(value, c, written) for c in candidates):
                return mistake["name"], mistake["explain"]
    return UNEXPLAINED, (f"expected {show(exact)}; your earlier answers give {show(float(own(g_own, P)))}; "
                         "check this step again")


def feedback(mark: dict) -> str:
    """What the student reads beside an answer."""
    if mark["status"] == "wrong":
        return f"wrong: {mark['diagnosis']} ({mark['explain']})"
    return {"correct": "right", "rounded": "right (rounded)", "blank": "no answer", "unparseable": "not a number",
            "carried forward": "carried forward: right from your earlier answers"}[mark["status"]]


def variant_of(data: dict, count: int) -> int:
    """The student's variant, the same for a PrairieLearn variant every time (its variant_seed)."""
    return random.Random(str(data.get("variant_seed", ""))).randrange(count)
