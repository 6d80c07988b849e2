"""Backpropagation that records every intermediate value: forward pass, backward pass, update.

`run(spec)` trains the network as the spec says and returns a Trace. Each step (one weight
update) processes its batch of samples layer by layer with numpy; the recorder copies each
layer's arrays into preallocated arrays, and the four DataFrames are built once at the end.
"""
from __future__ import annotations

import math

import numpy as np

from ..model.spec import Spec
from .trace import Trace, build_trace


class Params:
    """All weights in one flat vector (layer, unit, source order) with a matrix view per layer."""

    def __init__(self, spec: Spec, values: np.ndarray | None = None):
        shapes = [l.weights.shape for l in spec.layers]
        self.theta = np.concatenate([l.weights.ravel() for l in spec.layers]) if values is None else values
        self.offsets = np.cumsum([0] + [r * c for r, c in shapes])
        self.matrices = [self.theta[o:o + r * c].reshape(r, c) for o, (r, c) in zip(self.offsets, shapes)]
        # W (units x inputs) and b (units) are views into theta, so updating theta updates them
        self.W = [m[:, 1:] if l.bias else m for m, l in zip(self.matrices, spec.layers)]
        self.b = [m[:, 0] if l.bias else None for m, l in zip(self.matrices, spec.layers)]


def forward(spec: Spec, weights: list[np.ndarray], x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(z, a) of every layer for inputs x (samples x inputs), with the given weight matrices."""
    out, a = [], np.asarray(x, float)
    for layer, m in zip(spec.layers, weights):
        W, b = (m[:, 1:], m[:, 0]) if layer.bias else (m, 0.0)
        z = a @ W.T + b  # CS 510: z = wx + b; Frey step 1: h_j = sum_i x_i v_ij
        a = layer.activation.f(z)  # Frey step 2: a_j = g(h_j)
        out.append((z, a))
    return out


def run(spec: Spec, epochs: int | None = None, record: bool = True) -> Trace:
    """Train with backpropagation and return the trace of every intermediate value.

    With record=False nothing is recorded (for benchmarks); the Trace then has empty tables
    and only its final weights.
    """
    epochs = epochs or spec.training.epochs
    n, bs = len(spec.x), spec.batch_size
    layers, loss = spec.layers, spec.loss
    last = len(layers) - 1
    params = Params(spec)  # a fresh copy of the initial weights
    grad = Params(spec, np.zeros_like(params.theta))
    frozen = np.flatnonzero(np.concatenate([l.frozen.ravel() for l in layers]))
    eta, lam, mu = spec.learning_rate, spec.weight_decay, spec.momentum
    velocity = np.zeros_like(params.theta)
    mean = spec.training.reduction == "mean"
    order_rng = np.random.default_rng(spec.training.seed)
    rec = Recorder(spec, epochs, params.theta) if record else None
    net = [(l.activation, params.W[i], params.b[i], grad.W[i], grad.b[i]) for i, l in enumerate(layers)]
    step = 0

    with np.errstate(all="ignore"):  # divergence is detected on the recorded values instead
        for epoch in range(1, epochs + 1):
            order = order_rng.permutation(n) if spec.training.shuffle else np.arange(n)
            x_epoch, y_epoch = spec.x[order], spec.y[order]
            if rec is not None:
                rec.epoch(epoch, order)
            for start in range(0, n, bs):
                x, y = x_epoch[start:start + bs], y_epoch[start:start + bs]
                row = (epoch - 1) * n + start  # first recorded row of this step
                step += 1
                # forward pass (Frey steps 1-4; Ekman "forward pass")
                zs, acts, a = [], [], x
                for act, W, b, _, _ in net:
                    z = a @ W.T  # CS 510: z = wx + b
                    if b is not None:
                        z += b
                    a = act.f(z)
                    zs.append(z)
                    acts.append(a)
                # backward pass: dE/da at the output, then back-propagated sums (Frey eq. 4)
                dE_da = loss.dE_da(y, a)
                for l in range(last, -1, -1):
                    act, W, b, gW, gb = net[l]
                    z, a = zs[l], acts[l]
                    da_dz = act.da_dz(z, a)
                    if l == last:
                        delta = loss.output_delta(y, a, dE_da, da_dz, act)  # Frey rule (i)
                    else:
                        delta = act.backward(dE_da, da_dz, a)  # Frey rule (ii)
                    # dE/dw_ij = delta_j a_i (Frey eq. 1), summed over the batch (eq. 3)
                    np.matmul(delta.T, acts[l - 1] if l else x, out=gW)
                    if b is not None:
                        np.add.reduce(delta, axis=0, out=gb)  # dC/db = delta (CS 510)
                    if rec is not None:
                        rec.node(l, row, z, a, da_dz, dE_da, delta)
                    if l:
                        dE_da = delta @ W  # sum_k w_kj delta_k, with the weights before the update
                if mean and len(x) > 1:
                    grad.theta /= len(x)  # Frey eq. (3): mean over the batch
                # update: w <- w - eta dE/dw (Frey eq. 5); weight decay gives CS 510's (1 - alpha) w
                delta_w = -eta * (grad.theta + lam * params.theta if lam else grad.theta)
                if mu:
                    velocity *= mu
                    velocity += delta_w
                    delta_w = velocity.copy()
                if frozen.size:
                    delta_w[frozen] = 0.0
                    velocity[frozen] = 0.0
                params.theta += delta_w
                if rec is not None:
                    rec.update(step, grad.theta, delta_w, params.theta)
            if not np.isfinite(params.theta).all():
                break

    final = [m.copy() for m in params.matrices]
    if rec is None:
        return Trace.empty(spec, final)
    return build_trace(spec, rec, final)


class Recorder:
    """Preallocated arrays for every recorded value: rows are samples processed, columns units/params.

    Only what the loop computes is copied per step; the bookkeeping (which step and epoch a row belongs
    to, w_old = the previous step's w_new) and the losses are derived once, vectorised, by build_trace.
    """

    def __init__(self, spec: Spec, epochs: int, theta: np.ndarray):
        n, bs = len(spec.x), spec.batch_size
        steps_per_epoch = math.ceil(n / bs)
        rows, steps = epochs * n, epochs * steps_per_epoch
        widths = [len(l.units) for l in spec.layers]
        self.cols = np.cumsum([0] + widths)
        self.col_range = list(zip(self.cols[:-1].tolist(), self.cols[1:].tolist()))
        units = self.cols[-1]
        self.z, self.a, self.da_dz, self.dE_da, self.delta = (np.empty((rows, units)) for _ in range(5))
        self.sample = np.empty(rows, np.int64)  # row of the data set, 0-based
        position = np.arange(rows)
        self.row_step = (position // n) * steps_per_epoch + (position % n) // bs + 1
        self.step_epoch = np.arange(steps) // steps_per_epoch + 1
        self.theta0 = theta.copy()
        self.grad, self.delta_w, self.w_new = (np.empty((steps, theta.size)) for _ in range(3))
        self.n = n
        self.rows = self.steps = 0  # how far recording got

    def epoch(self, epoch: int, order: np.ndarray) -> None:
        """The order in which this epoch visits the samples."""
        self.sample[(epoch - 1) * self.n:epoch * self.n] = order

    def node(self, l: int, row: int, z, a, da_dz, dE_da, delta) -> None:
        """Copy one layer's arrays for the step whose first row is `row`."""
        rows, (c0, c1) = slice(row, row + len(z)), self.col_range[l]
        self.z[rows, c0:c1] = z
        self.a[rows, c0:c1] = a
        self.da_dz[rows, c0:c1] = da_dz
        self.dE_da[rows, c0:c1] = dE_da
        self.delta[rows, c0:c1] = delta
        self.rows = row + len(z)

    def update(self, step: int, grad, delta_w, w_new) -> None:
        """Close the step: the aggregated gradient, the change and the new weights."""
        s = step - 1
        self.grad[s] = grad
        self.delta_w[s] = delta_w
        self.w_new[s] = w_new
        self.steps = step

    def w_old(self, steps: int) -> np.ndarray:
        """The weights before each step: the initial weights, then each step's predecessor's w_new."""
        return np.concatenate([self.theta0[None, :], self.w_new[:steps - 1]]) if steps else self.w_new[:0]
