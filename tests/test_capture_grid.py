"""The NumPy Recorder over conv, pool and rnn layers: a student's from-scratch CNN loop (conv, ReLU, 2x2 max pool,
a dense sigmoid output), written with plain loops over the windows as course notes do, and an Elman RNN loop
with backpropagation through time, recorded unchanged and equal to the engine; their classic bugs are named
where they start."""
from __future__ import annotations

import numpy as np
import pytest

import tracer
from tracer.io.resources import find_example

from test_rnn_oracle import random_rnn
from traces import assert_same_as_the_engine


def two_kernels() -> dict:
    """Two 3x3 kernels over a 6x6 image, ReLU, a 2x2 max pool, two sigmoid outputs; four images, batches of 2."""
    rng = np.random.default_rng(7)
    kernels = rng.normal(0, 0.5, (2, 1, 3, 3)).round(2).tolist()
    return {"name": "student-cnn", "inputs": {"name": "x", "shape": [1, 6, 6]},
            "layers": [{"name": "c1", "type": "conv2d", "kernel_size": 3, "activation": "relu", "kernels": kernels,
                        "biases": [0.1, -0.1]},
                       {"name": "p1", "type": "maxpool2d", "size": 2, "stride": 2},
                       {"name": "out", "units": ["o1", "o2"], "activation": "sigmoid",
                        "weights": rng.normal(0, 0.5, (2, 9)).round(2).tolist()}],
            "loss": "half_sse", "learning_rate": 0.5,
            "training": {"mode": "minibatch", "batch_size": 2, "epochs": 2},
            "data": [{"x": rng.integers(0, 4, (1, 6, 6)).tolist(), "y": rng.uniform(0, 1, 2).round(2).tolist()}
                     for _ in range(4)]}


def student_cnn(spec, tied_to_every_max: bool = False, one_position: bool = False):
    """A course's CNN loop: z = b + Σ k x over each window, ReLU, each 2x2 window's max (the gradient back to
    its first maximum), the dense output, and the kernel's gradient summed over every position (the batch's
    mean). The flags plant two classic bugs."""
    conv, pool, out = spec.layers
    K, (C, H, Wd) = len(conv.kernels), spec.input_shape
    kernels, kernel_bias = conv.weights[:, 1:].reshape(K, C, 3, 3).copy(), conv.weights[:, 0].copy()
    W, b = out.weights[:, 1:].copy(), out.weights[:, 0].copy()
    rec = tracer.Recorder(spec)
    for x, y in tracer.batches(spec):
        B, image = len(x), x.reshape(len(x), C, H, Wd)
        Ho, Wo = H - 2, Wd - 2
        z1 = np.zeros((B, K, Ho, Wo))
        for n in range(B):
            for k in range(K):
                for r in range(Ho):
                    for c in range(Wo):
                        z1[n, k, r, c] = kernel_bias[k] + np.sum(kernels[k] * image[n, :, r:r + 3, c:c + 3])
        a1 = np.maximum(z1, 0.0)
        covered = a1[:, :, :Ho // 2 * 2, :Wo // 2 * 2]  # a last odd row or column is in no window
        pooled = covered.reshape(B, K, Ho // 2, 2, Wo // 2, 2).max(axis=(3, 5))
        flat = pooled.reshape(B, -1)
        z2 = flat @ W.T + b
        a2 = 1.0 / (1.0 + np.exp(-z2))
        rec.forward("c1", z=z1, a=a1)
        rec.forward("p1", z=pooled, a=pooled)
        rec.forward("out", z=z2, a=a2)
        delta2 = (a2 - y) * a2 * (1 - a2)
        d_pooled = (delta2 @ W).reshape(pooled.shape)
        da1 = np.zeros_like(a1)
        for n in range(B):
            for k in range(K):
                for R in range(Ho // 2):
                    for S in range(Wo // 2):
                        window = a1[n, k, 2 * R:2 * R + 2, 2 * S:2 * S + 2]
                        hits = np.argwhere(window == window.max()) if tied_to_every_max else \
                            [np.unravel_index(np.argmax(window), window.shape)]
                        for i, j in hits:
                            da1[n, k, 2 * R + i, 2 * S + j] += d_pooled[n, k, R, S]
        delta1 = da1 * (z1 > 0)
        rec.backward("out", delta=delta2)
        rec.backward("p1", delta=d_pooled)
        rec.backward("c1", delta=delta1)
        grad_kernels = np.zeros_like(kernels)
        positions = [(0, 0)] if one_position else [(r, c) for r in range(Ho) for c in range(Wo)]
        for n in range(B):
            for k in range(K):
                for r, c in positions:
                    grad_kernels[k] += delta1[n, k, r, c] * image[n, :, r:r + 3, c:c + 3]
        kernels -= spec.learning_rate * grad_kernels / B
        kernel_bias -= spec.learning_rate * delta1.sum(axis=(0, 2, 3)) / B
        W -= spec.learning_rate * delta2.T @ flat / B
        b -= spec.learning_rate * delta2.mean(axis=0)
        rec.update("c1", w_new=kernels, b_new=kernel_bias)
        rec.update("out", w_new=W, b_new=b)
    return rec.trace()


@pytest.mark.parametrize("spec", [two_kernels(), "rmit-conv-pool"], ids=["two-kernels", "rmit-conv-pool"])
def test_a_students_cnn_loop_records_equal_to_the_engine(spec):
    spec = tracer.parse_spec(spec) if isinstance(spec, dict) else tracer.load_spec(find_example(spec))
    assert_same_as_the_engine(student_cnn(spec), spec)


def test_a_tied_maximums_gradient_sent_to_every_tied_cell_is_named_at_the_second_cell():
    """rmit-conv-pool's first window holds 12 and 12: the loop that sends the gradient to both differs first at
    the second one's delta."""
    spec = tracer.load_spec(find_example("rmit-conv-pool"))
    first = tracer.diff_traces(student_cnn(spec, tied_to_every_max=True), tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["unit"]) == ("nodes", "delta", "c1[2,2]")


def test_a_kernel_gradient_from_one_position_is_named_at_the_update():
    spec = tracer.parse_spec(two_kernels())
    first = tracer.diff_traces(student_cnn(spec, one_position=True), tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["unit"]) == ("updates", "delta_w", "k1")


def test_a_pool_has_nothing_to_update():
    spec = tracer.parse_spec(two_kernels())
    rec = tracer.Recorder(spec)
    rec.forward("c1", z=np.zeros((2, 2, 4, 4)), a=np.zeros((2, 2, 4, 4)))
    with pytest.raises(tracer.TracerError, match="a pool has no weights to update"):
        rec.update("p1", w_new=np.zeros((0, 0)))


def student_rnn(spec, cut_to_one_step: bool = False):
    """A course's Elman RNN loop: z_t = b + W_x x_t + W_h h_(t-1), h_t = f(z_t), the output layer at every step
    (or the last), 1/2 SSE, and BPTT back from the last step, stopping at the spec's truncation (or, the planted
    bug, at every step); each weight's gradient summed over the time steps, the batch's mean."""
    layer, head = spec.layers
    r = layer.recurrence
    T, F, U, K = r.steps, len(r.features), len(r.units), len(head.kernels)
    first = int(layer.bias)
    b = layer.weights[:, 0].copy() if layer.bias else np.zeros(U)
    Wx, Wh = layer.weights[:, first:first + F].copy(), layer.weights[:, first + F:].copy()
    V, c = head.weights[:, int(head.bias):].copy(), head.weights[:, 0].copy() if head.bias else np.zeros(K)
    f = np.tanh if layer.activation.name == "tanh" else (lambda z: np.maximum(z, 0.0))
    df = (lambda z, h: 1 - h ** 2) if layer.activation.name == "tanh" else (lambda z, h: (z > 0) * 1.0)
    sigmoid = head.activation.name == "sigmoid"
    every = r.outputs == "every"
    rec = tracer.Recorder(spec)
    for x, y in tracer.batches(spec):
        B = len(x)
        xs = x[:, :T * F].reshape(B, T, F)  # the batch's rows end with h_0's cells
        z, hs, h = np.zeros((B, T, U)), np.zeros((B, T, U)), np.tile(r.h0, (B, 1))
        before = np.zeros((B, T, U))
        for t in range(T):
            before[:, t] = h
            z[:, t] = b + xs[:, t] @ Wx.T + h @ Wh.T
            h = hs[:, t] = f(z[:, t])
        shown = hs if every else hs[:, -1:]
        o_z = shown @ V.T + c
        o_a = 1 / (1 + np.exp(-o_z)) if sigmoid else o_z
        target = y.reshape(B, K, -1).transpose(0, 2, 1)  # the trace's o1@t1, o1@t2, ... as steps x outputs
        d_o = (o_a - target) * (o_a * (1 - o_a) if sigmoid else 1.0)
        sent = np.zeros((B, T, U))
        sent[:, T - shown.shape[1]:] = d_o @ V
        delta = np.zeros((B, T, U))
        for t in range(T - 1, -1, -1):
            later = t < T - 1 and not r.cut(t + 1) and not cut_to_one_step
            delta[:, t] = (sent[:, t] + (delta[:, t + 1] @ Wh if later else 0.0)) * df(z[:, t], hs[:, t])
        rec.forward("h", z=z, a=hs)
        rec.forward(head.name, z=o_z if every else o_z[:, 0], a=o_a if every else o_a[:, 0])
        rec.backward(head.name, delta=d_o if every else d_o[:, 0])
        rec.backward("h", delta=delta)
        b = b - spec.learning_rate * delta.sum(axis=(0, 1)) / B * layer.bias  # a layer without one keeps 0
        Wx = Wx - spec.learning_rate * np.einsum("btu,btf->uf", delta, xs) / B
        Wh = Wh - spec.learning_rate * np.einsum("btu,btj->uj", delta, before) / B
        V = V - spec.learning_rate * np.einsum("btk,btu->ku", d_o, shown) / B
        c = c - spec.learning_rate * d_o.sum(axis=(0, 1)) / B * head.bias
        rec.update("h", w_new=np.hstack([Wx, Wh]), b_new=b if layer.bias else None)
        rec.update(head.name, w_new=V, b_new=c if head.bias else None)
    return rec.trace()


def half_sse_rnn(seed: int):
    raw = random_rnn(seed)
    raw["loss"] = "half_sse"
    return tracer.parse_spec(raw)


@pytest.mark.parametrize("seed", ["yeh-rnn", 0, 1, 2, 7, 8])  # every and last, full, 1 and 2 step truncation
def test_a_students_rnn_loop_records_equal_to_the_engine(seed):
    spec = tracer.load_spec(find_example(seed)) if isinstance(seed, str) else half_sse_rnn(seed)
    assert_same_as_the_engine(student_rnn(spec), spec)


def test_backpropagation_through_time_cut_to_one_step_is_named_at_the_first_states_delta():
    """yeh-rnn: what t2 sends back to h1@t1 is W_h[1,1] δh1@t2 + W_h[2,1] δh2@t2 = 1·(−1) + 1·1 = 0, so the cut
    shows first at h2@t1 (W_h[1,2] δh1@t2 + W_h[2,2] δh2@t2 = (−1)(−1) + 1·1 = 2)."""
    spec = tracer.load_spec(find_example("yeh-rnn"))
    first = tracer.diff_traces(student_rnn(spec, cut_to_one_step=True), tracer.run(spec)).first
    assert (first["table"], first["quantity"], first["unit"]) == ("nodes", "delta", "h2@t1")
