"""Every activation and every loss against central finite differences.

Two levels: each activation's da/dz (written the book's way, often from a) against (f(z+h) - f(z-h)) / 2h,
and the engine's whole gradient dE/dw for every activation x loss pairing against central differences of
the loss over the weights (relative error <= 1e-6).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tracer
from tracer.model.activations import make_activation
from tracer.model.losses import LOSSES

ELEMENTWISE = [
    ("sigmoid", {}), ("sigmoid", {"alpha": 2.0}), ("sigmoid", {"beta": 0.5}), ("tanh", {}), ("relu", {}),
    ("leaky_relu", {"slope": 0.1}), ("linear", {}), ("piecewise_linear", {"xmin": -1.0, "xmax": 2.0}),
    ("gaussian", {"mu": 0.2, "sigma": 0.8}), ("threshold", {}), ("tanh", {"a": 1.7159, "b": 2 / 3}),
    ("bipolar_sigmoid", {}), ("bipolar_sigmoid", {"sigma": 2.5}),
]
Z = np.array([[-2.3, -0.7, -0.13, 0.04, 0.45, 1.7, 3.1]])  # away from every kink


def ids(cases):
    return [f"{n}({','.join(f'{k}={v}' for k, v in p.items())})" for n, p in cases]


@pytest.mark.parametrize("name, params", ELEMENTWISE, ids=ids(ELEMENTWISE))
def test_activation_derivative(name, params):
    act = make_activation(name, **params)
    h = 1e-6
    numeric = (act.f(Z + h) - act.f(Z - h)) / (2 * h)
    analytic = act.da_dz(Z, act.f(Z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_softmax_backward_is_the_full_jacobian():
    act = make_activation("softmax")
    z = np.array([[0.3, -1.2, 2.0]])
    g = np.array([[0.7, -0.4, 1.1]])  # an arbitrary dE/da
    h = 1e-6
    numeric = [((act.f(z + h * e) - act.f(z - h * e)) / (2 * h) * g).sum() for e in np.eye(3)]
    np.testing.assert_allclose(act.backward(g, act.da_dz(z, act.f(z)), act.f(z))[0], numeric, rtol=1e-7)


def network(hidden, hidden_params, output, output_params, loss, n_out=2, bias=True, delta="dE/dz"):
    """A 2-3-n network in batch mode over 3 samples, one step: updates.grad is dE/dw of the mean loss."""
    rng = np.random.default_rng(11)
    y = rng.uniform(0.1, 0.9, size=(3, n_out))
    if loss == "cross_entropy":
        y = y / y.sum(axis=1, keepdims=True)
    return tracer.parse_spec({
        "name": "fd", "inputs": 2,
        "layers": [
            {"name": "H", "units": 3, "activation": {"name": hidden, **hidden_params}, "bias": bias,
             "weights": rng.uniform(-0.8, 0.8, size=(3, 3)).tolist()},
            {"name": "O", "units": n_out, "activation": {"name": output, **output_params}, "bias": bias,
             "weights": rng.uniform(-0.8, 0.8, size=(n_out, 4)).tolist()},
        ],
        "delta": delta, "loss": loss, "learning_rate": 0.1, "training": {"mode": "batch", "epochs": 1},
        "data": [{"x": x, "y": t} for x, t in zip(rng.uniform(-1, 1, size=(3, 2)).tolist(), y.tolist())],
    })


def mean_loss(spec, theta):
    weights, o = [], 0
    for layer in spec.layers:
        weights.append(theta[o:o + layer.weights.size].reshape(layer.weights.shape))
        o += layer.weights.size
    (_, _), (z, a) = tracer.forward(spec, weights, spec.x)
    return spec.loss.value(spec.y, a, z, spec.layers[-1].activation).mean()


def check_gradient(spec):
    trace = tracer.run(spec)
    theta = np.concatenate([l.weights.ravel() for l in spec.layers])
    h = 1e-6
    numeric = np.array([(mean_loss(spec, theta + h * e) - mean_loss(spec, theta - h * e)) / (2 * h)
                        for e in np.eye(theta.size)])
    analytic = trace.updates["grad"].to_numpy()
    scale = np.abs(numeric).max()
    assert scale > 0  # a check of something: every pairing here has a gradient
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6 * scale + 1e-12)


SMOOTH_OUT = [(o, op) for o, op in ELEMENTWISE if o != "threshold"]  # a step output has no gradient to check
PAIRS = ([(h, hp, o, op, loss) for h, hp in ELEMENTWISE for o, op in SMOOTH_OUT for loss in ("half_sse", "sse", "mse")]
         + [(h, hp, "sigmoid", op, "binary_cross_entropy") for h, hp in ELEMENTWISE
            for op in ({}, {"alpha": 2.0})]
         + [(h, hp, "softmax", {}, loss) for h, hp in ELEMENTWISE for loss in ("cross_entropy", "half_sse", "sse")])


@pytest.mark.parametrize("hidden, hp, output, op, loss", PAIRS,
                         ids=[f"{h}{hp or ''}-{o}{op or ''}-{l}" for h, hp, o, op, l in PAIRS])
def test_gradient_against_finite_differences(hidden, hp, output, op, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tracer.TracerWarning)  # threshold, softmax without cross-entropy
        spec = network(hidden, hp, output, op, loss, n_out=3 if output == "softmax" else 2)
    check_gradient(spec)


@pytest.mark.parametrize("loss", ["half_sse", "sse"])
def test_a_threshold_output_learns_nothing_and_says_so(loss):
    """The step function's derivative is 0 wherever it is defined, so a threshold output layer passes no error
    back: the run warns, the loss stays above 0, and every gradient of the run is exactly 0."""
    with pytest.warns(tracer.TracerWarning, match="threshold"):
        spec = network("sigmoid", {}, "threshold", {}, loss, n_out=2)
    trace = tracer.run(spec)
    assert (trace.losses["loss"] > 0).all()
    assert (trace.updates["grad"] == 0).all() and (trace.nodes["delta"] == 0).all()


def test_every_loss_is_covered():
    assert {p[4] for p in PAIRS} == set(LOSSES)


THRESHOLD_CASES = [("sigmoid", "half_sse"), ("tanh", "sse"), ("linear", "mse"), ("sigmoid", "binary_cross_entropy"),
                   ("softmax", "cross_entropy")]


@pytest.mark.parametrize("delta", ["dE/dz", "-dE/dz"])
@pytest.mark.parametrize("output, loss", THRESHOLD_CASES, ids=[f"{o}-{l}" for o, l in THRESHOLD_CASES])
def test_thresholds_and_delta_as_minus_dE_dz_against_finite_differences(output, loss, delta):
    """Thresholds θ on a −1 input (bias: threshold) and δ = −∂E/∂z (delta: -dE/dz): updates.grad is still ∂E/∂w
    of the loss, θ's included; the recorded delta is ∓∂E/∂z, so grad = ±delta · input."""
    spec = network("tanh", {}, output, {}, loss, n_out=3 if output == "softmax" else 2, bias="threshold",
                   delta=delta)
    check_gradient(spec)
    plain = network("tanh", {}, output, {}, loss, n_out=3 if output == "softmax" else 2)
    recorded = tracer.run(spec).nodes.delta.to_numpy()
    # the same network with biases b = −θ has the same z, so its delta is ∂E/∂z
    biases = plain.with_weights([np.column_stack([-l.weights[:, 0], l.weights[:, 1:]]) for l in plain.layers])
    dE_dz = tracer.run(biases).nodes.delta.to_numpy()
    np.testing.assert_allclose(recorded, spec.delta_sign * dE_dz, rtol=1e-12, atol=1e-15)
