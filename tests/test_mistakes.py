"""Each classic mistake, planted in an otherwise correct key, is diagnosed by its name.

Every wrong value is computed here by hand, the way a student making the mistake would, from the printed
numbers of the sources (Ekman 004_...txt: w_xg = 0.3, 0.6, -0.1; w_gf = -0.2, 0.5; x = -0.9, 0.1; y = 1;
lr = 0.1; Maren's gain alpha = 2; Frey's 2-3-2 sigmoid network), never by calling tracer.mistakes.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.grading.check import check_answers
from tracer.grading.exercise import Exercise
from tracer.grading.mistakes import MISTAKES, mistake_values
from tracer.io.resources import find_example

EKMAN = tracer.load_spec(find_example("ekman"))
FREY = tracer.load_spec(find_example("frey-online"))


def key(spec, steps=1):
    """The correct answers of an exercise, as a student would type them (full precision)."""
    ex = Exercise(spec, steps)
    return {i.label: repr(ex.exact[i.key]) for i in ex.items}


def diagnosis(spec, label, value, steps=1):
    """Plant `value` for `label` in the key; the verdict and the diagnosis of that answer."""
    answers = key(spec, steps)
    assert label in answers, sorted(answers)
    answers[label] = f"{value:.6f}"
    mark = {m.label: m for m in check_answers(spec, answers)}[label]
    return mark.status, mark.diagnosis


def S(z):
    return 1 / (1 + math.exp(-z))


# Ekman by hand: z_g = 0.3 + 0.6 (-0.9) - 0.1 (0.1), y_g = tanh(z_g), z_f = -0.2 + 0.5 y_g, y_f = S(z_f)
Z_G = 0.3 + 0.6 * -0.9 + -0.1 * 0.1
Y_G = math.tanh(Z_G)
Z_F = -0.2 + 0.5 * Y_G
Y_F = S(Z_F)
ERR_F = -(1.0 - Y_F) * Y_F * (1 - Y_F)
ERR_G = ERR_F * 0.5 * (1 - Y_G ** 2)
W_GF1_NEW = 0.5 - 0.1 * ERR_F * Y_G

EKMAN_PLANTED = [  # (label, wrong value as a student computes it, the mistake's name)
    ("error term g", -ERR_G, "sign flipped"),
    ("MSE'", 1.0 - Y_F, "sign flipped"),  # Ekman: "Note the negative sign for -(y - f)"
    ("error term f", -(1.0 - Y_F), "activation derivative missing"),
    ("y'_f", Z_F * (1 - Z_F), "sigmoid derivative taken as z(1-z)"),
    ("error term f", -(1.0 - Y_F) * Z_F * (1 - Z_F), "sigmoid derivative taken as z(1-z)"),
    ("y'_f", 1 - Y_F ** 2, "tanh derivative used for a sigmoid"),
    ("y'_g", Y_G * (1 - Y_G), "sigmoid derivative used for tanh"),
    ("error term g", ERR_F * 0.5 * Y_G * (1 - Y_G), "sigmoid derivative used for tanh"),
    ("MSE", (1.0 - Y_F) ** 2, "1/2 of the loss dropped"),
    ("MSE", (1.0 - Y_F) ** 2 / 4, "1/2 of the loss doubled"),
    ("Δw_xg0", -ERR_G, "learning rate not applied"),
    ("w_gf0 new", -0.2 - ERR_F, "learning rate not applied"),
    ("Δw_xg1", 0.1 * ERR_G * -0.9, "update added instead of subtracted"),
    ("w_gf1 new", 0.5 + 0.1 * ERR_F * Y_G, "update added instead of subtracted"),
    ("dE/dy_g", W_GF1_NEW * ERR_F, "hidden error term with the already-updated weights"),
    ("error term g", W_GF1_NEW * ERR_F * (1 - Y_G ** 2), "hidden error term with the already-updated weights"),
    ("Δw_gf0", 0.0, "frozen bias treated wrongly"),  # a learning bias left unchanged
    ("dE/dw_xg1", ERR_G * 0.1, "input or weight of a different unit used"),  # x2 instead of x1
]


@pytest.mark.parametrize("label, value, name", EKMAN_PLANTED, ids=[f"{n}: {l}" for l, _, n in EKMAN_PLANTED])
def test_planted_mistake_in_ekman_is_diagnosed_by_name(label, value, name):
    assert diagnosis(EKMAN, label, value) == ("wrong", name)


def test_missing_gain_alpha_in_maren():
    spec = tracer.load_spec(find_example("maren"))
    h0 = 1 / (1 + math.exp(-2.0 * (0.5 * 0.2 - 0.4 * 0.9)))  # H_0 = S(alpha sum w I), alpha = 2, no bias
    assert diagnosis(spec, "αH_0(1-H_0)", h0 * (1 - h0)) == ("wrong", "gain alpha missing")


def test_frozen_bias_updated_anyway(tmp_path):
    spec_file = tmp_path / "ekman-fixed-bias.yaml"
    text = find_example("ekman").read_text()
    spec_file.write_text(text.replace("activation: tanh", "activation: tanh\n    frozen: bias"))
    spec = tracer.load_spec(spec_file)
    assert float(key(spec)["Δw_xg0"]) == 0.0
    assert diagnosis(spec, "Δw_xg0", -0.1 * ERR_G) == ("wrong", "frozen bias treated wrongly")
    assert diagnosis(spec, "w_xg0 new", 0.3 - 0.1 * ERR_G) == ("wrong", "frozen bias treated wrongly")


def test_half_added_to_a_loss_without_one():
    """Davila's C = (a - y)^2 has no 1/2; writing one in halves the loss."""
    spec = tracer.load_spec(find_example("davila-sse"))
    trace = tracer.run(spec, epochs=1)
    loss = next(i.label for i in Exercise(spec, 1).items if i.kind == "loss")
    assert diagnosis(spec, loss, float(trace.losses["loss"][0]) / 2) == ("wrong", "1/2 of the loss doubled")


# Frey's 2-3-2 network by hand, sample 1 (x = 0, 1; y = 1, 0), weights from examples/frey-online.yaml
V = [[0.1, 0.4, -0.3], [-0.2, 0.2, 0.5], [0.05, -0.6, 0.3]]  # v_0j, v_1j, v_2j per hidden unit j
W = [[0.2, 0.3, -0.5, 0.4], [-0.1, -0.4, 0.6, 0.1]]  # w_0k, w_1k, w_2k, w_3k per output unit k
X, Y = [0.0, 1.0], [1.0, 0.0]
H = [v[0] + v[1] * X[0] + v[2] * X[1] for v in V]
A = [S(h) for h in H]
YHAT = [S(w[0] + sum(wj * a for wj, a in zip(w[1:], A))) for w in W]
D_OUT = [(yh - y) * yh * (1 - yh) for yh, y in zip(YHAT, Y)]  # Frey eq. (10) times g'(h)
ETA = 0.5


def test_frey_net_input_with_another_units_weights():
    h1_with_v2 = V[1][0] + V[1][1] * X[0] + V[1][2] * X[1]  # unit 1's z from unit 2's weights
    assert diagnosis(FREY, "h_1^h", h1_with_v2) == ("wrong", "input or weight of a different unit used")


def test_frey_hidden_error_through_another_units_outgoing_weights():
    wrong = D_OUT[0] * W[0][2] + D_OUT[1] * W[1][2]  # for hidden unit 1, w_2k (unit 2's) instead of w_1k
    assert diagnosis(FREY, "Σ_k δ_k w_1k", wrong) == ("wrong", "input or weight of a different unit used")


def test_frey_hidden_error_with_already_updated_weights():
    """The classic of public code: update the output weights first, then back-propagate through them."""
    w_new = [[W[k][1] - ETA * D_OUT[k] * A[0]] for k in range(2)]  # w_1k after the update
    wrong = D_OUT[0] * w_new[0][0] + D_OUT[1] * w_new[1][0]
    assert diagnosis(FREY, "Σ_k δ_k w_1k", wrong) == ("wrong", "hidden error term with the already-updated weights")


def test_frey_second_step_learning_rate_missing():
    """In step 2 the update builds on the student's step-1 weights; the mistake is still named."""
    answers = key(FREY, steps=2)
    grad = float(answers["step 2: ∂E/∂w_01"])
    w01 = float(answers["step 1: w_01 new"])
    answers["step 2: w_01 new"] = f"{w01 - grad:.6f}"
    mark = {m.label: m for m in check_answers(FREY, answers)}["step 2: w_01 new"]
    assert (mark.status, mark.diagnosis) == ("wrong", "learning rate not applied")


MAZUR = tracer.load_spec(find_example("mazur"))
MAZUR_SEQUENTIAL = tracer.load_spec(find_example("mazur-sequential"))


def test_mazur_printed_hidden_error_is_right_simultaneous_and_a_mistake_sequential():
    """Mazur prints dE_total/dout_h1 = 0.036350306, back-propagated through "the original weights, not the
    updated weights": right in the simultaneous order, the named mistake where the course updates each layer
    first (update_order: sequential); and the sequential value is the mistake the other way round."""
    assert diagnosis(MAZUR, "dE/da_h1", 0.036350306)[0] == "correct"
    assert diagnosis(MAZUR_SEQUENTIAL, "dE/da_h1", 0.036350306) == \
        ("wrong", "hidden error term with the weights before the update")
    sequential = Exercise(MAZUR_SEQUENTIAL, 1)
    value = next(sequential.exact[i.key] for i in sequential.items if i.label == "dE/da_h1")
    assert diagnosis(MAZUR, "dE/da_h1", value) == ("wrong", "hidden error term with the already-updated weights")


def test_an_unexplained_wrong_value_gets_no_diagnosis():
    assert diagnosis(EKMAN, "error term f", -0.3) == ("wrong", "not explained by a known mistake")


def test_the_sum_instead_of_the_mean_over_the_outputs_is_named():
    """mse = (1/K) sum (y - yhat)^2 (PyTorch's MSELoss): the sum over Mazur's K = 2 outputs doubles E and
    dE/da, 2 (a - y) instead of (2/K)(a - y)."""
    spec = tracer.load_spec(find_example("mazur-mse"))
    assert diagnosis(spec, "E", 2 * 0.298371109) == ("wrong", "mean over the outputs left out")
    a_o1 = 0.75136507  # Mazur's out_o1
    assert diagnosis(spec, "dE/da_o1", 2 * (a_o1 - 0.01)) == ("wrong", "mean over the outputs left out")


def test_every_mistake_is_planted_by_some_test():
    from test_grid_grading import PLANTED as GRID_PLANTED

    planted = {name for _, _, name in EKMAN_PLANTED} | {p[3] for p in GRID_PLANTED} | {
        "gain alpha missing", "1/2 of the loss doubled", "mean over the outputs left out",
        "frozen bias treated wrongly", "hidden error term with the weights before the update", "threshold added instead of subtracted",
        "shared weight's gradient from one position only",  # test_grid_grading.py, a test of its own
        "backpropagation through time cut to one step"}  # test_rnn.py
    assert planted == {m.name for m in MISTAKES}


def test_a_threshold_added_as_a_bias_is_named_in_the_net_input_and_in_delta_theta():
    """Negnevitsky's X_3 = x1 w13 + x2 w23 − θ3 = 0.1; with +θ3 (the −1 input taken as +1) a student writes
    1.7, and Δθ3 = α · (+1) · δ3 = 0.0038 where the book has −0.0038."""
    spec = tracer.load_spec(find_example("negnevitsky"))
    assert diagnosis(spec, "X_3", 1 * 0.5 + 1 * 0.4 + 0.8) == ("wrong", "threshold added instead of subtracted")
    y3 = S(0.1)
    y5 = S(y3 * -1.2 + S(2.0) * 1.1 - 0.3)
    delta3 = y3 * (1 - y3) * (y5 * (1 - y5) * (0 - y5)) * -1.2  # the book's δ3 = 0.0381
    assert diagnosis(spec, "Δθ_3", 0.1 * 1 * delta3) == ("wrong", "threshold added instead of subtracted")


# -- under momentum and weight decay: Ekman's net over two steps, by hand ---------------------------------------
def ekman_by_hand(steps: int, mu: float = 0.0, lam: float = 0.0) -> list[dict]:
    """Ekman's two neurons trained `steps` steps on the one example with delta_w = mu delta_w_prev - lr (G +
    lambda w): per step the weights before, the gradients and the changes (w_xg0..2, then w_gf0..1)."""
    w, prev, out = [0.3, 0.6, -0.1, -0.2, 0.5], [0.0] * 5, []
    x1, x2 = -0.9, 0.1
    for _ in range(steps):
        y_g = math.tanh(w[0] + w[1] * x1 + w[2] * x2)
        y_f = S(w[3] + w[4] * y_g)
        err_f = -(1.0 - y_f) * y_f * (1 - y_f)
        err_g = err_f * w[4] * (1 - y_g ** 2)
        G = [err_g, err_g * x1, err_g * x2, err_f, err_f * y_g]
        change = [mu * p - 0.1 * (g + lam * wi) for p, g, wi in zip(prev, G, w)]
        out.append({"w": list(w), "G": G, "change": change})
        w, prev = [wi + c for wi, c in zip(w, change)], change
    return out


def ekman_variant(tmp_path, momentum: float = 0.0, weight_decay: float = 0.0):
    text = find_example("ekman").read_text().replace("epochs: 1", "epochs: 2")
    path = tmp_path / "ekman-variant.yaml"
    path.write_text(text + f"momentum: {momentum}\nweight_decay: {weight_decay}\n")
    return tracer.load_spec(path)


def test_update_added_at_step_2_under_momentum_keeps_the_momentum(tmp_path):
    """The live bug of issue 20: delta_w was rewritten as eta G, losing mu delta_w_prev."""
    spec = ekman_variant(tmp_path, momentum=0.9)
    step1, step2 = ekman_by_hand(2, mu=0.9)
    assert float(key(spec, 2)["step 2: Δw_gf1"]) == pytest.approx(step2["change"][4], rel=1e-12)
    added = 0.9 * step1["change"][4] + 0.1 * step2["G"][4]
    assert diagnosis(spec, "step 2: Δw_gf1", added, steps=2) == ("wrong", "update added instead of subtracted")
    forgot_eta = 0.9 * step1["change"][4] - step2["G"][4]
    assert diagnosis(spec, "step 2: Δw_gf1", forgot_eta, steps=2) == ("wrong", "learning rate not applied")


def test_update_mistakes_under_weight_decay_keep_the_decay(tmp_path):
    spec = ekman_variant(tmp_path, weight_decay=0.01)
    step1, step2 = ekman_by_hand(2, lam=0.01)
    added = 0.1 * (step2["G"][1] + 0.01 * step2["w"][1])
    assert diagnosis(spec, "step 2: Δw_xg1", added, steps=2) == ("wrong", "update added instead of subtracted")
    forgot_eta = -(step1["G"][3] + 0.01 * step1["w"][3])
    assert diagnosis(spec, "step 1: Δw_gf0", forgot_eta, steps=2) == ("wrong", "learning rate not applied")


@pytest.mark.parametrize("name", ["frey-batch", "frey-minibatch"])
def test_update_mistakes_in_a_batch_use_the_batch_gradient(name):
    """Batch and mini-batch: the change comes from the batch's mean gradient (Frey eq. 3), typed as the key's."""
    spec = tracer.load_spec(find_example(name))
    answers = key(spec, 2)
    G = float(answers["step 2: ∂E/∂w_01 (batch)"])
    answers["step 2: Δw_01"] = f"{0.5 * G:.9f}"  # + eta G
    answers["step 2: w_01 new"] = f"{float(answers['step 1: w_01 new']) - G:.9f}"  # w - G
    marks = {m.label: m for m in check_answers(spec, answers)}
    assert (marks["step 2: Δw_01"].status, marks["step 2: Δw_01"].diagnosis) == \
        ("wrong", "update added instead of subtracted")
    assert (marks["step 2: w_01 new"].status, marks["step 2: w_01 new"].diagnosis) == \
        ("wrong", "learning rate not applied")


# -- every mistake is one op of the plan substituted ----------------------------------------------------------
BASES = ["ekman", "frey-online", "mazur", "maren", "davila-sse", "softmax-classifier", "cs510"]
TRAINING = {"online": {"mode": "online"}, "batch": {"mode": "batch"},
            "minibatch": {"mode": "minibatch", "batch_size": 2}}


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), training=st.sampled_from(sorted(TRAINING)),
       order=st.sampled_from(["simultaneous", "sequential"]), momentum=st.sampled_from([0.0, 0.9]),
       decay=st.sampled_from([0.0, 0.01]))
def test_every_mistake_is_the_plan_with_one_op_substituted(base, training, order, momentum, decay):
    spec = tracer.load_spec(find_example(base))
    training = dataclasses.replace(spec.training, update_order=order, epochs=2, **TRAINING[training])
    spec = spec.replace(x=spec.x[:3], y=spec.y[:3], momentum=momentum, weight_decay=decay, training=training)
    ex = Exercise(spec, 2)
    exact = lambda kind, *where: ex.exact[(kind, *where)]
    step = ex.steps[-1]  # the last step: after momentum's first change
    plan = ex.plans[step]
    # every value of the step as the plan computes it; a substitute may use a value computed after it (the
    # weights after the update), which is then the right one
    right = plan.evaluate(ex.trace.values.leaves(step))
    for item in (i for i in ex.items if i.step == step):
        op = ex.op(item)
        for mistake in MISTAKES:
            ops = [op] + [plan[k] for k in (op.operands if mistake.through_operands else ()) if k in plan]
            expected = [plan.evaluate(right, alt)[op.key] for o in ops for alt in mistake.substitutes(o, spec)]
            got = mistake_values(mistake, ex, item, exact)
            assert np.allclose(got, expected, rtol=1e-9, atol=1e-12), (mistake.name, item.label, got, expected)
