"""Ekman, Learning Deep Learning, ch. 3: every number of the printed worked example (004_...txt)."""
from __future__ import annotations

import pytest

from printed import matches_printed
from traces import example_trace


@pytest.fixture(scope="module")
def trace():
    return example_trace("ekman")


def node(trace, unit, column):
    return trace.nodes.loc[trace.nodes["unit"] == unit, column].item()


def update(trace, unit, source, column):
    u = trace.updates
    return u.loc[(u["unit"] == unit) & (u["source"] == source), column].item()


def test_forward_pass(trace):
    # z_g = 0.3 + 0.6*(-0.9) + (-0.1)*0.1 = -0.25 exactly; the book prints y_g = tanh(z_g) "~ -0.25" and later
    # uses -0.24 in the error term of g: tanh(-0.25) = -0.2449, which is -0.24 to two decimals.
    assert node(trace, "g", "z") == pytest.approx(-0.25, abs=1e-15)
    assert matches_printed(node(trace, "g", "a"), "-0.24")
    assert abs(node(trace, "g", "a") - (-0.25)) < 0.01
    assert matches_printed(node(trace, "f", "a"), "0.42")  # y_f = S(-0.2 + 0.5 y_g)
    assert matches_printed(trace.losses["loss"].item(), "0.17")  # MSE = (1.0 - 0.42)^2 / 2


def test_backward_pass(trace):
    assert matches_printed(node(trace, "f", "dE_da"), "-0.58")  # MSE' = -(y - y_f)
    assert matches_printed(node(trace, "f", "delta"), "-0.14")  # error term f = MSE' y_f (1 - y_f)
    assert matches_printed(node(trace, "g", "dE_da"), "-0.07")  # error term f * w_gf1 = -0.14 * 0.5
    assert matches_printed(node(trace, "g", "delta"), "-0.066")  # error term g
    assert node(trace, "f", "da_dz") == pytest.approx(0.4200765 * (1 - 0.4200765), rel=1e-6)  # S (1 - S)
    assert node(trace, "g", "da_dz") == pytest.approx(1 - node(trace, "g", "a") ** 2, rel=1e-15)  # 1 - tanh^2


@pytest.mark.parametrize("unit, source, delta_w, w_new", [
    ("g", "bias", "0.0066", "0.3066"),
    ("g", "x1", "-0.0060", "0.5940"),
    ("g", "x2", "0.00066", "-0.0993"),
    ("f", "bias", "0.014", "-0.1859"),
    ("f", "g", "-0.0035", "0.4965"),
])
def test_weight_adjustment(trace, unit, source, delta_w, w_new):
    assert matches_printed(update(trace, unit, source, "delta_w"), delta_w)
    assert matches_printed(update(trace, unit, source, "w_new"), w_new)


def test_iterations_continue_from_the_new_weights():
    """The companion spreadsheet's rows: each iteration starts from the previous row's new weights."""
    trace = example_trace("ekman-iterations")
    u = trace.updates
    assert trace.step_count() == 20
    for step in range(2, 21):
        before = u.loc[u["step"] == step, "w_old"].to_numpy()
        after_previous = u.loc[u["step"] == step - 1, "w_new"].to_numpy()
        assert (before == after_previous).all()
    first = trace.updates[trace.updates["step"] == 1]
    assert matches_printed(first.loc[first["source"] == "x1", "w_new"].item(), "0.5940")
    losses = trace.losses["loss"].to_numpy()
    assert (losses[1:] < losses[:-1]).all()  # one example, small steps: the loss falls every iteration
