"""One answer policy everywhere: `tracer check`, the Moodle quiz (its Cloze answers evaluated as Moodle does:
the first answer whose absolute tolerance holds the number), the Canvas quiz (the number rounded to Canvas's
four decimals in the question's unit, then its margins) and the PrairieLearn question (its server.py's
grade(), run without tracer) agree on one set of answers: the right values, the hand-rounded ones, every
classic mistake and a value just outside, each typed to the asked precision. (The Gradescope autograder runs
`tracer check` itself: tests/test_gradescope.py.)"""
from __future__ import annotations

import pytest

import tracer
from tracer.grading.check import SCORING, check_answers
from tracer.grading.exercise import Exercise
from tracer.grading.lms import canvas_scales, quiz_items
from tracer.grading.numbers import Rounding, decimals_for_significant
from tracer.grading.prairielearn import write_prairielearn
from tracer.grading.template import key_values
from test_prairielearn import run_question

pytestmark = pytest.mark.slow  # about 2,000 gradings

POLICIES = [Rounding.decimals(2), Rounding.decimals(3), Rounding.significant(3), Rounding.significant(4)]


def typed(value: float, policy: Rounding) -> float:
    """What a student types for `value` at the asked precision."""
    places = policy.n if policy.kind == "decimals" else decimals_for_significant(value, policy.n)
    return float(f"{value:.{max(places, 0)}f}") if places >= 0 else round(value, places)


def moodle_right(q: dict, number: float) -> bool:
    """Moodle's numerical answer: the first alternative (right answers first) whose tolerance holds it."""
    alternatives = [(v, m, True) for v, m in zip(q["right"], q["margins"])] + \
        [(v, m, False) for v, m, _, _ in q["wrong"]]
    return next((right for v, m, right in alternatives if abs(number - v) <= m * (1 + 1e-9)), False)


def canvas_right(q: dict, number: float, k: int) -> bool:
    """Canvas: the response in the question's unit of 10^k, kept to four decimals, within a right answer's
    margin."""
    response = round(number * 10 ** k, 4)
    return any(abs(response - v * 10 ** k) <= m * 10 ** k * (1 + 1e-9) for v, m in zip(q["right"], q["margins"]))


CASES = [(example, policy) for example in ("ekman", "mazur", "frey-online") for policy in POLICIES]


@pytest.mark.parametrize("example, policy", CASES, ids=lambda v: v if isinstance(v, str) else v.describe())
def test_check_moodle_canvas_and_prairielearn_agree(example, policy, tmp_path):
    spec = tracer.load_spec(example)
    ex = Exercise(spec, 1, None)
    items = quiz_items(ex, policy)
    scales = canvas_scales([("", ex, items)], policy)
    key = key_values(ex, policy)
    right_answers = {item.label: repr(typed(key[item.key], policy)) for item in ex.items}
    disagreements, compared, sheets = [], 0, []
    for item, q in zip(ex.items, items):
        unit = 0.5 * 10.0 ** -(policy.n if policy.kind == "decimals" else
                               decimals_for_significant(q["right"][0], policy.n))
        candidates = [*q["right"], *(v for v, _, _, _ in q["wrong"]), q["right"][0] + 3 * unit]
        for value in candidates:
            number = typed(value, policy)
            marks = check_answers(spec, {**right_answers, item.label: repr(number)}, rounding=policy)
            by_check = next(m for m in marks if m.label == item.label).status in SCORING
            verdicts = (by_check, moodle_right(q, number), canvas_right(q, number, scales.get(q["label"], 0)))
            sheets.append((ex.items.index(item), {**right_answers, item.label: repr(number)}, verdicts))
    folder = write_prairielearn(tmp_path / "question", spec, [(spec.name, ex)], policy)
    graded = run_question(folder, [{"variant": 0, "texts": {str(i): answers[it.label] for i, it in enumerate(ex.items)}}
                                   for _, answers, _ in sheets])["graded"]
    for (i, answers, verdicts), got in zip(sheets, graded):
        verdicts = (*verdicts, got["partial"][f"q{i}"]["score"] == 1.0)
        compared += 1
        if len(set(verdicts)) > 1:
            disagreements.append((ex.items[i].label, answers[ex.items[i].label], verdicts))
    assert compared > 50
    assert not disagreements, disagreements[:5]
