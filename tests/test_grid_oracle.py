"""Conv, pool and dense layers against PyTorch's autograd in float64: 20 random setups mixing stride, padding,
channels, both kernel operations, tied maxima under both tie rules, max and mean pools and the three training
modes. Every recorded z, a, dE/da, delta, per-sample gradient, batch gradient and new weight equals what autograd
computes from the same weights and data, to a relative 1e-9.

The oracle is written here from the books' definitions, independently of the engine: a conv is F.conv2d of
the kernels (flipped first for a convolution), a first-maximum pool is F.max_pool2d (PyTorch routes a tied max
to the first cell in reading order), a shared-tie pool is the windows' values weighted by a detached mask of
their maxima (so each tied cell gets 1/count of the gradient), and each layer's parameters are leaves in the
spec's own layout (a bias column, then the kernel's cells), so autograd's gradients need no reordering.
"""
from __future__ import annotations

import numpy as np
import pytest

from tracer import parse_spec, run

SETUPS = 20
RTOL, ATOL = 1e-9, 1e-12


def random_spec(seed: int) -> dict:
    """A conv (sometimes two) -> pool -> flatten -> dense net on small integer-valued images, so that tied
    maxima and z = 0 at a ReLU occur."""
    rng = np.random.default_rng(seed)
    C, H, W = int(rng.integers(1, 3)), int(rng.integers(4, 7)), int(rng.integers(4, 7))
    layers, shape = [], (C, H, W)
    for c in range(1 + int(seed % 4 == 0)):
        K, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        if (shape[1] + 2 * padding - k) // stride + 1 < 2 or (shape[2] + 2 * padding - k) // stride + 1 < 2:
            stride, padding = 1, 1
        bias = bool(rng.integers(0, 4))
        layer = {"name": f"c{c + 1}", "type": "conv2d", "activation": str(rng.choice(["relu", "tanh", "sigmoid"])),
                 "kernel_size": k, "stride": stride, "padding": padding, "bias": bias,
                 "operation": str(rng.choice(["cross_correlation", "convolution"])),
                 "kernels": (rng.integers(-4, 5, size=(K, shape[0], k, k)) / 4).tolist()}
        if bias:
            layer["biases"] = (rng.integers(-2, 3, size=K) / 4).tolist()
        layers.append(layer)
        shape = (K, (shape[1] + 2 * padding - k) // stride + 1, (shape[2] + 2 * padding - k) // stride + 1)
    kind = str(rng.choice(["maxpool2d", "maxpool2d", "avgpool2d"]))
    size = 2 if min(shape[1:]) >= 2 else 1
    pool = {"name": "p1", "type": kind, "size": size, "stride": int(rng.integers(1, size + 1))}
    if kind == "maxpool2d":
        pool["ties"] = str(rng.choice(["first", "shared"]))
    layers.append(pool)
    cells = shape[0] * ((shape[1] - size) // pool["stride"] + 1) * ((shape[2] - size) // pool["stride"] + 1)
    outputs = int(rng.integers(1, 3))
    layers += [{"type": "flatten"},
               {"name": "out", "units": outputs, "activation": str(rng.choice(["sigmoid", "linear"])),
                "weights": rng.uniform(-0.5, 0.5, size=(outputs, cells + 1)).tolist()}]
    n = 3
    mode = str(rng.choice(["online", "batch", "minibatch"]))
    return {"name": f"grid-{seed}", "inputs": {"name": "x", "shape": [C, H, W]}, "layers": layers,
            "loss": str(rng.choice(["mse", "half_sse"])), "learning_rate": 0.1,
            "training": {"mode": mode, "epochs": 2, **({"batch_size": 2} if mode == "minibatch" else {})},
            "data": [{"x": rng.integers(0, 3, size=(C, H, W)).tolist(), "y": rng.uniform(0, 1, outputs).tolist()}
                     for _ in range(n)]}


def random_spec_1d(seed: int) -> dict:
    """A conv1d -> pool1d -> dense net on integer-valued sequences of one or two channels."""
    rng = np.random.default_rng(50 + seed)
    C, L = int(rng.integers(1, 3)), int(rng.integers(5, 9))
    K, k, stride, padding = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 3)), seed % 2
    bias = bool(rng.integers(0, 4))
    conv = {"name": "c1", "type": "conv1d", "activation": str(rng.choice(["relu", "tanh"])), "kernel_size": k,
            "stride": stride, "padding": padding, "bias": bias,
            "operation": str(rng.choice(["cross_correlation", "convolution"])),
            "kernels": (rng.integers(-4, 5, size=(K, C, k)) / 4).tolist()}
    if bias:
        conv["biases"] = (rng.integers(-2, 3, size=K) / 4).tolist()
    length = (L + 2 * padding - k) // stride + 1
    kind = str(rng.choice(["maxpool1d", "avgpool1d"]))
    pool = {"name": "p1", "type": kind, "size": 2, "stride": int(rng.integers(1, 3))}
    if kind == "maxpool1d":
        pool["ties"] = ["first", "shared"][seed // 2 % 2]
    cells = K * ((length - 2) // pool["stride"] + 1)
    return {"name": f"grid1d-{seed}", "inputs": {"name": "x", "shape": [C, L]},
            "layers": [conv, pool, {"name": "out", "units": 1, "activation": "sigmoid",
                                    "weights": rng.uniform(-0.5, 0.5, size=(1, cells + 1)).tolist()}],
            "loss": "half_sse", "learning_rate": 0.1, "training": {"mode": str(rng.choice(["online", "batch"])),
                                                                   "epochs": 2},
            "data": [{"x": rng.integers(0, 3, size=(C, L)).tolist(), "y": [float(rng.uniform())]} for _ in range(3)]}


def shared_max_pool(torch, a, size: int, stride: int):
    """Each window's max, its gradient shared equally by the tied maxima (over the last axis only for 1-D)."""
    windows = a.unfold(-1, size, stride) if a.dim() == 3 else a.unfold(2, size, stride).unfold(3, size, stride)
    flat = windows.reshape(*windows.shape[:a.dim()], -1)
    top = flat.max(dim=-1, keepdim=True).values
    mask = (flat == top).double().detach()
    return (flat * mask).sum(-1) / mask.sum(-1)


def oracle_step(torch, spec: dict, leaves: list, x: np.ndarray, y: np.ndarray):
    """One step in autograd: every layer's z and a (with their gradients kept) and the loss of the batch, with
    the spec's reduction (the mean over the batch)."""
    F = torch.nn.functional
    one_d = spec["layers"][0]["type"].endswith("1d")
    shape = spec["inputs"]["shape"]
    a = torch.from_numpy(x).reshape(len(x), *(shape if not one_d or len(shape) == 2 else [1, *shape]))
    conv, max_pool, avg_pool = (F.conv1d, F.max_pool1d, F.avg_pool1d) if one_d else (F.conv2d, F.max_pool2d,
                                                                                   F.avg_pool2d)
    zs, acts = [], []
    for layer, leaf in zip([l for l in spec["layers"] if l.get("type") != "flatten"], leaves):
        kind = layer.get("type", "dense").replace("1d", "2d")
        if kind == "conv2d":
            k = layer["kernel_size"]
            first = int(layer["bias"])
            kernel = leaf[:, first:].reshape(leaf.shape[0], a.shape[1], *([k] if one_d else [k, k]))
            if layer["operation"] == "convolution":
                kernel = kernel.flip(-1) if one_d else kernel.flip(-1, -2)
            z = conv(a, kernel, leaf[:, 0] if first else None, stride=layer["stride"], padding=layer["padding"])
        elif kind == "maxpool2d" and layer["ties"] == "first":
            z = max_pool(a, layer["size"], layer["stride"])
        elif kind == "maxpool2d":
            z = shared_max_pool(torch, a, layer["size"], layer["stride"])
        elif kind == "avgpool2d":
            z = avg_pool(a, layer["size"], layer["stride"])
        else:
            z = a.reshape(len(x), -1) @ leaf[:, 1:].T + leaf[:, 0]
        z.retain_grad()
        act = layer.get("activation", "linear")
        a = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda t: t * 1.0}[act](z)
        a.retain_grad()
        zs.append(z)
        acts.append(a)
    target = torch.from_numpy(y)
    per_sample = ((target - a) ** 2).sum(1) * (0.5 if spec["loss"] == "half_sse" else 1 / target.shape[1])
    return zs, acts, per_sample


def schedule(raw: dict, n: int) -> list[tuple[int, slice]]:
    """(step, its samples' rows) of a setup's two epochs, grouped as its training mode groups them."""
    m = {"online": 1, "batch": n, "minibatch": 2}[raw["training"]["mode"]]
    return list(enumerate([slice(s, s + m) for _ in range(2) for s in range(0, n, m)], start=1))


def check_the_update(torch, trace, step: int, leaves: list, samples: int, seed) -> None:
    """After backward(): the step's batch gradient, each sample's gradient (their mean) and the new weights equal
    autograd's, the leaves then updated by SGD as the spec's learning rate of 0.1 does."""
    update = trace.updates[trace.updates.step == step]
    learning = [leaf for leaf in leaves if leaf.numel()]  # a pool has no weights
    grads = np.concatenate([leaf.grad.numpy().ravel() for leaf in learning])
    np.testing.assert_allclose(update.grad.to_numpy(), grads, rtol=RTOL, atol=ATOL, err_msg=f"seed {seed}")
    weights = trace.weights
    sample_grads = weights[weights.step == step].grad.to_numpy().reshape(samples, -1).mean(axis=0)
    np.testing.assert_allclose(sample_grads, grads, rtol=RTOL, atol=ATOL, err_msg=f"seed {seed}")
    with torch.no_grad():
        for leaf in learning:
            leaf -= 0.1 * leaf.grad
            leaf.grad = None
    w_new = np.concatenate([leaf.detach().numpy().ravel() for leaf in leaves])
    np.testing.assert_allclose(update.w_new.to_numpy(), w_new, rtol=RTOL, atol=ATOL, err_msg=f"seed {seed}")


@pytest.mark.parametrize("seed", [*range(SETUPS), *(f"1d-{s}" for s in range(6))])
def test_every_recorded_value_equals_autograd(torch, seed):
    raw = random_spec_1d(int(seed[3:])) if isinstance(seed, str) else random_spec(seed)
    spec = parse_spec(raw)
    trace = run(spec)
    leaves = [torch.tensor(l.weights, dtype=torch.float64, requires_grad=True) for l in spec.layers]
    for step, rows_of_step in schedule(raw, len(spec.x)):
        x, y = spec.x[rows_of_step], spec.y[rows_of_step]
        zs, acts, per_sample = oracle_step(torch, raw, leaves, x, y)
        per_sample.mean().backward()  # the spec's reduction: the batch's mean gradient
        rows = trace.nodes[trace.nodes.step == step]
        for l, layer in enumerate(spec.layers):
            mine = rows[rows.layer == layer.name]
            for column, tensor, scale in (("z", zs[l], 1), ("a", acts[l], 1), ("dE_da", acts[l].grad, len(x)),
                                          ("delta", zs[l].grad, len(x))):
                theirs = (tensor.detach().reshape(len(x), -1) * scale).numpy().ravel()
                np.testing.assert_allclose(mine[column].to_numpy(), theirs, rtol=RTOL, atol=ATOL,
                                           err_msg=f"seed {seed}, step {step}, {layer.name}.{column}")
        check_the_update(torch, trace, step, leaves, len(x), seed)


def test_the_setups_mix_what_they_should():
    """The random setups cover strides, padding, channels, both operations, both tie rules with ties, and
    both pools: the oracle test above is only as good as this mix."""
    specs = [random_spec(seed) for seed in range(SETUPS)]
    convs = [l for s in specs for l in s["layers"] if l.get("type") == "conv2d"]
    pools = [l for s in specs for l in s["layers"] if l.get("type", "").endswith("pool2d")]
    assert {l["stride"] for l in convs} == {1, 2} and {l["padding"] for l in convs} == {0, 1}
    assert {l["operation"] for l in convs} == {"cross_correlation", "convolution"}
    assert {len(l["kernels"][0]) for l in convs} >= {1, 2}  # input channels
    assert {len(l["kernels"]) for l in convs} >= {1, 2, 3}
    assert {l.get("ties") for l in pools} == {"first", "shared", None}
    assert {s["training"]["mode"] for s in specs} == {"online", "batch", "minibatch"}
    tied = 0
    for s in specs:
        spec = parse_spec(s)
        pool = next(l for l in spec.layers if l.grid is not None and not l.grid.conv)
        nodes = run(spec).nodes
        below = spec.layers[spec.layers.index(pool) - 1].name
        a = nodes[nodes.layer == below].a.to_numpy().reshape(-1, len(spec.layers[spec.layers.index(pool) - 1].units))
        windows = a[:, pool.grid.window]
        tied += int(((windows == windows.max(-1, keepdims=True)).sum(-1) > 1).any())
    assert tied >= 5, "too few setups have a tied maximum"
