"""Elman RNN layers against PyTorch's autograd in float64: 20 random setups mixing time steps, units, inputs,
h_0, tanh and ReLU, a loss at every step or at the last only, full and truncated BPTT and the three training
modes. Every recorded z, a, dE/da, delta, per-sample gradient, batch gradient and new weight equals what
autograd computes from the same weights and data, to a relative 1e-9; the plan evaluated equals the engine;
every gradient equals a finite difference of the loss.

The oracle is the books' recurrence written in torch, independent of the engine: z_t = b + W_x x_t + W_h h_{t-1},
h_t = f(z_t) from h_0, the state detached at every k-th step for truncated BPTT (as PyTorch users truncate it),
the output layer applied at every step (or to h_T), each layer's parameters a leaf in the spec's layout.
"""
from __future__ import annotations

import numpy as np
import pytest

from tracer import parse_spec, run

from test_grid import assert_gradients_are_finite_differences
from test_grid_oracle import check_the_update, schedule
from test_plan import assert_plan_is_the_engine

SETUPS = 20
RTOL, ATOL = 1e-9, 1e-12


def random_rnn(seed: int) -> dict:
    rng = np.random.default_rng(100 + seed)
    T, F, U, K = int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    bias = bool(rng.integers(0, 4))
    outputs = str(rng.choice(["every", "last"]))
    bptt = ["full", 1, 2][seed % 3]
    layer = {"name": "h", "type": "rnn", "units": U, "activation": str(rng.choice(["tanh", "relu"])),
             "bias": bias, "weights": rng.normal(0, 0.6, (U, F + int(bias))).round(3).tolist(),
             "recurrent": rng.normal(0, 0.6, (U, U)).round(3).tolist(),
             "h0": rng.normal(0, 0.3, U).round(3).tolist() if seed % 2 else [0.0] * U,
             "bptt": bptt, "outputs": outputs}
    out = {"name": "out", "units": K, "activation": str(rng.choice(["linear", "sigmoid"])),
           "weights": rng.normal(0, 0.6, (K, U + 1)).round(3).tolist()}
    mode = str(rng.choice(["online", "batch", "minibatch"]))
    y_shape = (T, K) if outputs == "every" else (K,)
    return {"name": f"rnn-{seed}", "inputs": {"names": [f"x{f + 1}" for f in range(F)], "steps": T},
            "layers": [layer, out], "loss": str(rng.choice(["half_sse", "sse", "mse"])), "learning_rate": 0.1,
            "training": {"mode": mode, "epochs": 2, **({"batch_size": 2} if mode == "minibatch" else {})},
            "data": [{"x": rng.normal(0, 1, (T, F)).round(2).tolist(), "y": rng.uniform(0, 1, y_shape).tolist()}
                     for _ in range(3)]}


def oracle_step(torch, raw: dict, leaves: list, x: np.ndarray, y_rows: list):
    """One step in autograd: every state's z and h, every output's z and a (gradients kept), and each sample's
    loss over its outputs (o@t in time order per output unit, as the trace orders them)."""
    layer, out = raw["layers"]
    T, F = raw["inputs"]["steps"], len(raw["inputs"]["names"])
    rnn, dense = leaves
    first = int(layer["bias"])
    b = rnn[:, 0] if first else 0.0
    Wx, Wh = rnn[:, first:first + F], rnn[:, first + F:]
    f = torch.tanh if layer["activation"] == "tanh" else torch.relu
    g = torch.sigmoid if out["activation"] == "sigmoid" else (lambda t: t * 1.0)
    xs = torch.from_numpy(x[:, :T * F]).reshape(len(x), T, F)  # the spec's x ends with h_0's cells
    h = torch.tensor(layer["h0"], dtype=torch.float64).expand(len(x), -1)
    zs, hs, oz, oa = [], [], [], []
    k = 0 if layer["bptt"] == "full" else layer["bptt"]
    for t in range(T):
        if k and t and t % k == 0:
            h = h.detach()  # truncated BPTT: no gradient into the steps before
        z = b + xs[:, t] @ Wx.T + h @ Wh.T
        z.retain_grad()
        h = f(z)
        h.retain_grad()
        zs.append(z)
        hs.append(h)
        if layer["outputs"] == "every" or t == T - 1:
            o = dense[:, 0] + h @ dense[:, 1:].T
            o.retain_grad()
            a = g(o)
            a.retain_grad()
            oz.append(o)
            oa.append(a)
    target = torch.tensor(np.array(y_rows), dtype=torch.float64).reshape(len(x), len(oa), -1)
    a_all = torch.stack(oa, dim=1)  # samples x steps x outputs
    squares = (a_all - target) ** 2
    loss = {"half_sse": 0.5 * squares.sum((1, 2)), "sse": squares.sum((1, 2)), "mse": squares.mean((1, 2))}
    return zs, hs, oz, oa, loss[raw["loss"]]


@pytest.mark.parametrize("seed", range(SETUPS))
def test_every_recorded_value_equals_autograd(torch, seed):
    raw = random_rnn(seed)
    spec = parse_spec(raw)
    trace = run(spec)
    leaves = [torch.tensor(l.weights, dtype=torch.float64, requires_grad=True) for l in spec.layers]
    for step, rows_of_step in schedule(raw, len(spec.x)):
        x = spec.x[rows_of_step]
        zs, hs, oz, oa, per_sample = oracle_step(torch, raw, leaves, x, [d["y"] for d in raw["data"][rows_of_step]])
        per_sample.mean().backward()
        rows = trace.nodes[trace.nodes.step == step]
        B = len(x)

        def grads(tensors):  # a state no loss reaches (truncated, before the last step) has no gradient: 0
            return [torch.zeros_like(t) if t.grad is None else t.grad for t in tensors]

        states = {"z": (zs, 1), "a": (hs, 1), "dE_da": (grads(hs), B), "delta": (grads(zs), B)}
        outs = {"z": (oz, 1), "a": (oa, 1), "dE_da": (grads(oa), B), "delta": (grads(oz), B)}
        for name, per_step, order in (("h", states, (0, 1, 2)), ("out", outs, (0, 2, 1))):
            mine = rows[rows.layer == name]
            for column, (tensors, scale) in per_step.items():
                # the trace's order: the states time-major (h1@t1, h2@t1, h1@t2 ...), the outputs by unit (o1@t1, o1@t2)
                stacked = torch.stack([t.detach() for t in tensors], dim=1).permute(*order)
                theirs = (stacked.reshape(B, -1) * scale).numpy().ravel()
                np.testing.assert_allclose(mine[column].to_numpy(), theirs, rtol=RTOL, atol=ATOL,
                                           err_msg=f"seed {seed}, step {step}, {name}.{column}")
        check_the_update(torch, trace, step, leaves, B, seed)


def test_the_setups_mix_what_they_should():
    specs = [random_rnn(seed) for seed in range(SETUPS)]
    rnn = [s["layers"][0] for s in specs]
    assert {r["bptt"] for r in rnn} == {"full", 1, 2} and {r["outputs"] for r in rnn} == {"every", "last"}
    assert {r["activation"] for r in rnn} == {"tanh", "relu"} and {r["bias"] for r in rnn} == {True, False}
    assert {s["inputs"]["steps"] for s in specs} >= {2, 3, 4} and {len(r["h0"]) for r in rnn} >= {1, 2, 3}
    assert {s["training"]["mode"] for s in specs} == {"online", "batch", "minibatch"}
    assert any(any(r["h0"]) for r in rnn)


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("seed", range(0, SETUPS, 3))
def test_plan_evaluated_is_the_engine(seed, order):
    raw = random_rnn(seed)
    raw["training"]["update_order"] = order
    spec = parse_spec(raw)
    trace = run(spec)
    assert_plan_is_the_engine(spec, trace, trace.values.steps())


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_every_gradient_is_the_finite_difference_of_the_loss(seed):
    raw = random_rnn(seed)
    raw["training"] = {"mode": "batch"}
    for layer in raw["layers"][:1]:
        layer["activation"] = "tanh"  # smooth: no kink for the differences to straddle
        layer["bptt"] = "full"  # the loss's own gradient (truncation leaves out terms on purpose)
    assert_gradients_are_finite_differences(parse_spec(raw))
