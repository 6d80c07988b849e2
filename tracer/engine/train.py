"""Backpropagation that records every intermediate value: forward pass, backward pass, update.

`run(spec)` trains the network as the spec says and returns a Trace. Each step (one weight update)
processes its batch of samples layer by layer with numpy on the whole batch; the Recorder copies each
layer's arrays into preallocated arrays, and the four DataFrames are built once at the end. The step's
update follows the spec's update rule and update order (tracer.model.updates).
"""
from __future__ import annotations

import numpy as np

from ..model.spec import Spec
from .grids import Recurrent, grid_step
from .record import Recorder, Recording, build_trace, step_sizes
from .stepview import History
from .stream import Stream, chunk_steps
from .trace import Trace


class Params:
    """All weights in one flat vector (layer, unit, source order) with a matrix view per layer."""

    def __init__(self, spec: Spec, values: np.ndarray | None = None):
        shapes = [l.weights.shape for l in spec.layers]
        self.theta = np.concatenate([l.weights.ravel() for l in spec.layers]) if values is None else values
        self.offsets = np.cumsum([0] + [r * c for r, c in shapes]).tolist()
        self.matrices = [self.theta[o:o + r * c].reshape(r, c) for o, (r, c) in zip(self.offsets, shapes)]
        # W (units x inputs) and b (units) are views into theta, so updating theta updates them
        self.W = [m[:, 1:] if l.bias else m for m, l in zip(self.matrices, spec.layers)]
        self.b = [m[:, 0] if l.bias else None for m, l in zip(self.matrices, spec.layers)]


def epoch_orders(spec: Spec, epochs: int | None = None):
    """The order of the samples (rows of the data) in each epoch: as given, or shuffled by the spec's seed.
    Endless when `epochs` is None (recorders of users' loops follow it as far as the loop goes)."""
    rng = np.random.default_rng(spec.training.seed)
    epoch = 0
    while epochs is None or epoch < epochs:
        epoch += 1
        yield rng.permutation(len(spec.x)) if spec.training.shuffle else np.arange(len(spec.x))


def run(spec: Spec, epochs: int | None = None, record=True, sink=None) -> Trace:
    """Train with backpropagation and return the trace of every intermediate value.

    record: what to record (engine.record.Recording): True every step; a selection such as '1-100,last' or a
    list of step numbers, the others trained unrecorded to the same final weights bit for bit;
    Recording(steps, history=True) also keeps every step's weights after it and every sample's loss (what a
    report's charts show when only some steps are recorded); False nothing (for benchmarks), the Trace then
    has empty tables and only its final weights.
    sink: `sink(name, table)` is handed the nodes, weights and updates tables a chunk of steps at a time as
    training goes (tracer.engine.stream), so memory does not grow with the steps; a table's columns are views of
    arrays reused after the call, so write (or copy) it there. The Trace returned holds the losses table and
    the steps handed on (`held`).

    >>> run(load_spec("xor"), record=Recording("1-3,last", history=True))
    """
    recording = Recording.of(record)
    epochs = epochs or spec.training.epochs
    n, bs = len(spec.x), spec.batch_size
    layers, loss, rule = spec.layers, spec.loss, spec.update_rule
    sequential = spec.update_order.sequential
    last = len(layers) - 1
    params = Params(spec)  # a fresh copy of the initial weights
    grad = Params(spec, np.zeros_like(params.theta))
    frozen = np.concatenate([l.frozen.ravel() for l in layers])
    any_frozen = bool(frozen.any())
    velocity = np.zeros_like(params.theta)
    delta_w = np.zeros_like(params.theta)
    mean = spec.training.reduction == "mean"
    rec = None if recording.nothing else Recorder(spec, epochs, recording, None if sink is None else chunk_steps(spec))
    stream = Stream(spec, rec, sink) if sink is not None and rec is not None else None
    kept = History.empty(epochs * n, epochs * len(step_sizes(n, bs)), params.theta.size) if recording.history else None
    processed = 0  # samples, for the history
    net = [(l.activation, params.W[i], params.b[i], grad.W[i], grad.b[i]) for i, l in enumerate(layers)]
    thresholds = [l.threshold for l in layers]
    grids = [grid_step(l, params.matrices[i], grad.matrices[i]) for i, l in enumerate(layers)]  # conv, pool
    offsets = params.offsets
    step = 0

    def update(first: int, stop: int, size: int) -> None:
        """w <- w + delta_w for the parameters of layers first..stop-1 (Frey eq. 5; decay, momentum)."""
        span = slice(offsets[first], offsets[stop])
        g, theta = grad.theta[span], params.theta[span]
        if mean and size > 1:
            g /= size  # Frey eq. (3): mean over the batch
        change = rule.delta_w(g, theta, velocity[span])
        if any_frozen:
            change[frozen[span]] = 0.0
        if rule.momentum:
            velocity[span] = change
        delta_w[span] = change
        theta += change

    with np.errstate(all="ignore"):  # divergence is detected on the recorded values instead
        for epoch, order in enumerate(epoch_orders(spec, epochs), start=1):
            x_epoch, y_epoch = spec.x[order], spec.y[order]
            for start in range(0, n, bs):
                x, y = x_epoch[start:start + bs], y_epoch[start:start + bs]
                step += 1
                row = rec.begin(step, epoch, order[start:start + bs], params.theta, delta_w) if rec is not None else None
                # forward pass (Frey steps 1-4; Ekman "forward pass")
                zs, acts, a = [], [], x
                for l, (act, W, b, _, _) in enumerate(net):
                    if grids[l] is not None:  # a conv's windows times its kernels, a pool's max or mean
                        z = grids[l].forward(a)
                    else:
                        z = a @ W.T  # CS 510: z = wx + b
                        if thresholds[l]:
                            z -= b  # Negnevitsky: X = Σ x w − θ, the threshold on a fixed −1 input
                        elif b is not None:
                            z += b
                    a = act.kernel(z)  # f(z); this loop ignores floating-point warnings already
                    zs.append(z)
                    acts.append(a)
                if row is not None or kept is not None:
                    losses = loss.value(y, a, zs[-1], layers[-1].activation)
                    if row is not None:
                        rec.loss(row, losses)
                    if kept is not None:
                        kept.loss[processed:processed + len(x)] = losses
                        kept.epoch[processed:processed + len(x)] = epoch
                        processed += len(x)
                # backward pass: dE/da at the output, then back-propagated sums (Frey eq. 4)
                dE_da = loss.dE_da(y, a)
                updated = last + 1  # layers from here on are updated already
                for l in range(last, -1, -1):
                    act, W, b, gW, gb = net[l]
                    z, a = zs[l], acts[l]
                    a_in = acts[l - 1] if l else x
                    da_dz = act.da_dz(z, a)
                    if l == last:
                        delta = loss.output_delta(y, a, dE_da, da_dz, act)  # Frey rule (i)
                    elif isinstance(grids[l], Recurrent):  # and back through time
                        dE_da, delta = grids[l].through_time(dE_da, da_dz, a)
                    else:
                        delta = act.backward(dE_da, da_dz, a)  # Frey rule (ii)
                    # dE/dw_ij = delta_j a_i (Frey eq. 1), summed over the batch (eq. 3)
                    if grids[l] is not None:  # a shared weight's: summed over positions too
                        grids[l].gradients(delta, a_in)
                    else:
                        np.matmul(delta.T, a_in, out=gW)
                        if b is not None:
                            np.add.reduce(delta, axis=0, out=gb)  # dC/db = delta (CS 510)
                            if thresholds[l]:
                                np.negative(gb, out=gb)  # dE/dθ = delta · (−1)
                    if row is not None:
                        rec.node(l, row, z, a, da_dz, dE_da, delta, a_in)
                    if sequential:  # the layer below sees the new weights
                        update(l, updated, len(x))
                        updated = l
                    if l:  # sum_k w_kj delta_k: before the update unless sequential
                        dE_da = delta @ W if grids[l] is None else grids[l].back(delta)
                if updated:
                    update(0, updated, len(x))
                if row is not None:
                    rec.update(step, grad.theta, delta_w, params.theta)
                if kept is not None:
                    kept.w_after[step - 1] = params.theta
            if stream is not None:
                stream.epoch_end(epoch, params.theta)
            if not np.isfinite(params.theta).all():
                break

    final = [m.copy() for m in params.matrices]
    if stream is not None:
        return stream.finish(final)
    history = kept.finish(processed, step) if kept is not None else None
    return Trace.empty(spec, final) if rec is None else build_trace(spec, rec, final, history)
