"""Exercises on conv and pool layers: the key checks as correct, and each classic mistake of these layers,
planted in an otherwise correct key, is named by `tracer check`, as for dense layers (tests/test_mistakes.py).

The wrong values are computed here by hand from the specs' numbers, the way a student making the mistake
would; only the one-position term takes its delta from the engine's trace (checked against PyTorch's autograd
in tests/test_grid_oracle.py).
"""
from __future__ import annotations

import math

import pytest

import tracer
from tracer.grading.check import check_answers
from tracer.grading.exercise import Exercise

from test_grid import tiny


def key(spec) -> dict:
    ex = Exercise(spec, 1)
    return {i.label: repr(ex.exact[i.key]) for i in ex.items}


def diagnosis(spec, label: str, value: float):
    answers = key(spec)
    assert label in answers, sorted(answers)[:20]
    answers[label] = f"{value:.6f}"
    mark = {m.label: m for m in check_answers(spec, answers)}[label]
    return mark.status, mark.diagnosis


def S(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def ties(pool: str = "maxpool2d", rule: str = "first") -> dict:
    """x = [[1,3,3],[0,3,1],[2,0,1]] through a 1x1 kernel of weight 1 (c1 = x), a 2x2 pool of stride 1 and one
    sigmoid output: the centre cell 3 is a maximum of all four windows, tied in the first two."""
    pooled = {"name": "p1", "type": pool, "size": 2, "stride": 1, **({"ties": rule} if pool == "maxpool2d" else {})}
    return {"name": "ties", "inputs": {"name": "x", "shape": [1, 3, 3]},
            "layers": [{"name": "c1", "type": "conv2d", "activation": "linear", "kernel_size": 1,
                        "kernels": [[[1.0]]], "biases": [0.0]}, pooled,
                       {"name": "out", "units": ["o"], "activation": "sigmoid", "weights": [[0.1, 0.2, -0.6, 0.4, 0.5]]}],
            "loss": "half_sse", "learning_rate": 0.5,
            "data": [{"x": [[1, 3, 3], [0, 3, 1], [2, 0, 1]], "y": [1]}]}


def output_delta(z_o: float) -> float:
    a = S(z_o)
    return (a - 1) * a * (1 - a)  # half SSE, sigmoid: (a - y) a (1 - a)


MAX_DELTA = output_delta(0.1 + 0.2 * 3 - 0.6 * 3 + 0.4 * 3 + 0.5 * 3)  # every window's max is 3
MEAN_DELTA = output_delta(0.1 + 0.2 * 1.75 - 0.6 * 2.5 + 0.4 * 1.25 + 0.5 * 1.25)  # the windows' means


def test_the_key_of_a_conv_and_pool_exercise_is_all_correct():
    spec = tracer.parse_spec(tiny())
    marks = check_answers(spec, key(spec))
    assert len(marks) > 200 and all(m.status == "correct" for m in marks)
    labels = [m.label for m in marks]
    assert "z_c1[1,1,1]" in labels and "dE/dk1[2,1]" in labels and "dE/dk1[2,1] @ c1[1,2,1]" in labels


def test_a_correct_tie_answer_is_correct():
    spec = tracer.parse_spec(ties())
    assert diagnosis(spec, "dE/da_c1[2,2]", (0.4 + 0.5) * MAX_DELTA)[0] == "correct"


PLANTED = [  # (spec, label, wrong value, the mistake's name)
    (tiny(), "z_c1[1,1,1]", 0.1 + 0.4 * 1 + 0.3 * 2 - 0.2 * 0 + 0.1 * 1, "kernel flipped"),
    (dict(tiny(), layers=[dict(tiny()["layers"][0], operation="convolution"), *tiny()["layers"][1:]]),
     "z_c1[1,1,1]", 0.1 + 0.1 * 1 - 0.2 * 2 + 0.3 * 0 + 0.4 * 1, "kernel not flipped"),
    (ties(), "dE/da_c1[2,2]", (0.2 - 0.6 + 0.4 + 0.5) * MAX_DELTA, "tied max's gradient given to every tied cell"),
    (ties(), "dE/da_c1[2,2]", (0.2 / 2 - 0.6 / 3 + 0.4 + 0.5) * MAX_DELTA, "tied max's gradient shared"),
    (ties(rule="shared"), "dE/da_c1[2,2]", (0.4 + 0.5) * MAX_DELTA,
     "tied max's gradient sent to the first maximum only"),
    (ties("avgpool2d"), "dE/da_c1[2,2]", (0.2 - 0.6 + 0.4 + 0.5) * MEAN_DELTA, "mean pool's gradient not divided"),
]


@pytest.mark.parametrize("raw, label, value, name", PLANTED, ids=[p[3] for p in PLANTED])
def test_a_planted_grid_mistake_is_named(raw, label, value, name):
    assert diagnosis(tracer.parse_spec(raw), label, value) == ("wrong", name)


def test_a_shared_weights_gradient_from_one_position_is_named():
    """dE/dk1[2,1] of tiny-conv sums three non-zero terms; the one at c1[1,2,1] alone is the mistake."""
    spec = tracer.parse_spec(tiny())
    terms = tracer.run(spec).contributions
    mine = terms[(terms.unit == "k1") & (terms.source == "w[2,1]")]
    assert (mine.contribution != 0).sum() == 3
    one = float(mine[mine.position == "c1[1,2,1]"].contribution.iloc[0])
    assert one == pytest.approx(2 * mine[mine.position == "c1[1,2,1]"].delta.iloc[0])  # x[3,1] = 2
    assert diagnosis(spec, "dE/dk1[2,1]", one) == ("wrong", "shared weight's gradient from one position only")


def test_a_wrong_z_carries_forward_to_the_pool_and_the_output(tmp_path):
    """Error carried forward: with a wrong z at c1[1,1,2] (the maximum of two windows), a pool value and the
    output computed from it are judged from the student's own z."""
    spec = tracer.parse_spec(tiny())
    answers = key(spec)
    answers["z_c1[1,1,2]"] = "2.0"
    answers["a_c1[1,1,2]"] = "2.0"
    answers["z_p1[1,1,1]"] = "2.0"
    marks = {m.label: m for m in check_answers(spec, answers)}
    assert marks["z_c1[1,1,2]"].status == "wrong"
    assert marks["z_p1[1,1,1]"].status != "wrong", marks["z_p1[1,1,1]"]
