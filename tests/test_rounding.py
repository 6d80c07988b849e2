"""Grading never blames a student for rounding: policies (--round N, --sig N), keys computed by hand, every
wrong answer with a why, labels however they are typed."""
from __future__ import annotations

import math

import pytest

import tracer
from tracer.grading.check import check_answers, check_file
from tracer.grading.verdict import TOO_FEW_DIGITS, UNEXPLAINED
from tracer.grading.exercise import Exercise
from tracer.grading.numbers import Rounding, round_half_up
from tracer.grading.template import key_values, write_exercise
from tracer.io.resources import example_paths, find_example

EKMAN = tracer.load_spec(find_example("ekman"))


def rounded_key(spec, decimals=None, sig=None, steps=1):
    ex = Exercise(spec, steps)
    if decimals is not None:
        return {i.label: f"{round_half_up(ex.exact[i.key], decimals):.{decimals}f}" for i in ex.items}
    return {i.label: f"{ex.exact[i.key]:.{sig}g}" for i in ex.items}


def test_a_two_decimal_key_is_all_correct_with_round_2_and_never_a_mistake_without():
    """The instructor's report: a key rounded to 2 decimals scored 18/26 with 'activation derivative missing'."""
    answers = rounded_key(EKMAN, decimals=2)
    marks = check_answers(EKMAN, answers, rounding=Rounding.decimals(2))
    assert [m.status for m in marks].count("correct") == len(marks) == 26
    default = {m.label: m for m in check_answers(EKMAN, answers)}
    assert answers["error term g"] == "-0.07" and default["error term g"].diagnosis == TOO_FEW_DIGITS
    assert all(m.diagnosis in ("", TOO_FEW_DIGITS) for m in default.values()), \
        [(m.label, m.answer, m.diagnosis) for m in default.values() if m.diagnosis not in ("", TOO_FEW_DIGITS)]


@pytest.mark.parametrize("example", [p.stem for p in example_paths()])
def test_rounded_answers_are_never_diagnosed_as_mistakes(example):
    """Over every bundled example: keys rounded to 2 and 3 decimals and to 2 and 3 significant digits are all
    correct under the matching policy, and without a policy no rounded answer is named a mistake."""
    spec = tracer.load_spec(find_example(example))
    for kwargs, policy in (({"decimals": 2}, Rounding.decimals(2)), ({"decimals": 3}, Rounding.decimals(3)),
                           ({"sig": 2}, Rounding.significant(2)), ({"sig": 3}, Rounding.significant(3))):
        answers = rounded_key(spec, **kwargs)
        marks = check_answers(spec, answers, rounding=policy)
        assert all(m.status == "correct" for m in marks), (example, kwargs, [(m.label, m.answer, m.expected)
                                                                            for m in marks if m.status != "correct"][:3])
        for m in check_answers(spec, answers):
            assert m.diagnosis in ("", TOO_FEW_DIGITS), (example, kwargs, m.label, m.answer, m.diagnosis)


def test_keys_computed_by_hand_round_every_intermediate(tmp_path):
    """template --round 4: each value from the rounded values before it, as a person with a calculator gets them
    (computed here by a plain loop over Ekman's network), next to the exact value; graded all correct."""
    r = lambda v: round_half_up(v, 4)
    z_g = r(0.3 + 0.6 * -0.9 + -0.1 * 0.1)
    y_g = r(math.tanh(z_g))
    z_f = r(-0.2 + 0.5 * y_g)
    y_f = r(1 / (1 + math.exp(-z_f)))
    d_f = r(r(-(1.0 - y_f)) * r(y_f * (1 - y_f)))
    d_g = r(r(d_f * 0.5) * r(1 - y_g ** 2))
    keys = key_values(Exercise(EKMAN, 1), Rounding.decimals(4))
    ex = Exercise(EKMAN, 1)
    by_label = {i.label: keys[i.key] for i in ex.items}
    assert (by_label["z_g"], by_label["y_g"], by_label["y_f"], by_label["error term f"],
            by_label["error term g"]) == (z_g, y_g, y_f, d_f, d_g)
    exact = {i.label: ex.exact[i.key] for i in ex.items}
    assert by_label["error term g"] != round_half_up(exact["error term g"], 4)  # rounding midway shows
    write_exercise(EKMAN, tmp_path / "key.xlsx", key=True, rounding=Rounding.decimals(4))
    assert check_file(EKMAN, tmp_path / "key.xlsx", rounding=Rounding.decimals(4)).all_correct


def test_every_wrong_answer_has_a_why():
    answers = rounded_key(EKMAN, sig=6)
    answers["error term f"] = "-0.3"  # no known mistake gives this
    mark = {m.label: m for m in check_answers(EKMAN, answers)}["error term f"]
    assert mark.status == "wrong" and mark.diagnosis == UNEXPLAINED
    assert "expected -0.141" in mark.explain and "your earlier answers give -0.141" in mark.explain


def test_labels_are_matched_as_written_and_unknown_ones_are_named(tmp_path):
    """Exactly, but for spaces around a label and a typographic minus or prime typed in ASCII; another case or
    inner spacing is another label (a network may have units g and G)."""
    answers = rounded_key(EKMAN, sig=6)
    answers["  error term f "] = answers.pop("error term f")
    answers["y′_f"] = answers.pop("y'_f")
    answers["Error Term  F"] = "1"
    answers["zq"] = "1"
    path = tmp_path / "a.csv"
    path.write_text("quantity,value\n" + "".join(f"{k},{v}\n" for k, v in answers.items()), encoding="utf-8")
    result = check_file(EKMAN, path)
    status = {m.label: m.status for m in result.marks}
    assert status["error term f"] == "correct" and status["y'_f"] == "correct"
    assert "unknown label 'zq': not a quantity of this exercise; did you mean 'z_g'?" in result.problems
    assert any(p.startswith("unknown label 'Error Term  F'") for p in result.problems)
    assert not any(m.status == "blank" for m in result.marks)
