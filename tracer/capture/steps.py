"""The steps of a user's loop, as arrays over all of them, completed as the engine defines what is missing and
turned into a Trace by the engine's own assembly (so a recorded trace and `tracer.run`'s share one layout).

Rows are the samples the loop processed, in order; NaN marks a value the loop did not give.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.grids import Recurrent, Taps, grid_step
from ..engine.record import Recorder as StepArrays
from ..engine.record import Recording, build_trace, step_sizes
from ..engine.stream import Stream, chunk_steps
from ..engine.trace import weight_matrices
from ..engine.train import Params
from ..errors import TracerError, TracerWarning
from ..model.rules import BackSum, BatchGrad, Derivative, ErrorTerm, Grad, LossDerivative, LossValue
from ..model.updates import OTHER_WEIGHTS

PER_SAMPLE = ("z", "a", "da_dz", "dE_da", "delta")


@dataclass
class Steps:
    """What a loop computed: `sizes` (samples per step), `samples` (rows of the data, 0-based, one per row
    processed), per layer `layers[l][q]` for q in PER_SAMPLE (rows x units), `loss` (rows), and per step
    `w_old`, `grad`, `w_new` (steps x parameters, in the spec's layer, unit, source order)."""

    sizes: np.ndarray
    samples: np.ndarray
    layers: list[dict]
    loss: np.ndarray
    w_old: np.ndarray
    grad: np.ndarray
    w_new: np.ndarray


class RecordedLoop:
    """What a recorder of a user's loop gives: its Trace, or that trace written to a folder. A recorder defines
    `spec`, `ready()` (refuses, in one line, a recording that cannot be traced yet) and `as_steps()`."""

    def trace(self):
        """The Trace of the steps recorded."""
        self.ready()
        return trace_of(self.spec, self.as_steps())

    def write(self, path, format: str = "csv") -> Path:
        """The trace of the steps recorded written into the folder `path`, a chunk of steps at a time: the files
        `trace().write(path)` writes, without every table in memory at once (tracer.engine.stream). Returns the
        folder. Example: rec.write("out/mine", "parquet"), then `tracer diff out/mine spec.yaml`."""
        self.ready()
        return write_steps(self.spec, self.as_steps(), path, format)


def trace_of(spec, steps: Steps, sink=None):
    """The Trace of a user's loop: its values, with what it did not give computed as the engine does. With
    `sink`, the nodes, weights and updates tables are handed to sink(name, table) a chunk of steps at a time, as
    tracer.run(spec, sink=...) does, and the Trace holds the losses table."""
    count = len(steps.w_new)
    sizes = check_sizes(spec, steps.sizes)
    first_row = np.concatenate([[0], np.cumsum(sizes)])
    step_of_row = np.repeat(np.arange(count), sizes)
    _complete(spec, steps, step_of_row, first_row, sizes)
    per_epoch = len(step_sizes(len(spec.x), spec.batch_size))
    capacity = None if sink is None else chunk_steps(spec)
    arrays = StepArrays(spec, math.ceil(count / per_epoch), Recording(range(1, count + 1)), capacity)
    arrays.steps_total = count
    final = weight_matrices(spec, steps.w_new[-1])
    if sink is None:
        _load(spec, steps, arrays, 0, count)
        return build_trace(spec, arrays, final)
    stream = Stream(spec, arrays, sink)
    for k0 in range(0, count, arrays.capacity):
        arrays.base, arrays.base_row = k0, int(first_row[k0])
        _load(spec, steps, arrays, k0, min(count, k0 + arrays.capacity))
        stream.flush()
    for end in range(per_epoch, count + 1, per_epoch):  # each whole epoch's error, with the weights it ended with
        stream.epoch_end(end // per_epoch, steps.w_new[end - 1])
    return stream.finish(final)


def write_steps(spec, steps: Steps, path, format: str = "csv") -> Path:
    """A user's loop's trace written into the folder `path` a chunk of steps at a time: the files
    write_trace(trace_of(spec, steps), path) writes, without every table in memory at once."""
    from ..io.tracewriter import trace_stream  # the files are io's; the engine's chunks go straight to them

    with trace_stream(path, format) as stream:
        stream.finish(trace_of(spec, steps, stream.sink))
    return Path(path)


def _load(spec, steps: Steps, arrays, k0: int, k1: int) -> None:
    """Steps k0..k1-1 of the loop into the recorder's arrays (whose first step is k0), as the engine records."""
    r0, r1 = int(arrays.first_row[k0]), int(arrays.first_row[k1])
    arrays.sample[r0:r1] = steps.samples[r0:r1]
    arrays.loss(0, steps.loss[r0:r1])
    x = spec.x[steps.samples[r0:r1]]
    for l, values in enumerate(steps.layers):
        a_in = x if l == 0 else steps.layers[l - 1]["a"][r0:r1]
        given = [values[q][r0:r1] for q in PER_SAMPLE]
        if spec.delta_sign < 0:  # node() takes the derivatives; the loop gave -dE/da and -dE/dz, as the spec says
            given = [-v if q in ("dE_da", "delta") else v for q, v in zip(PER_SAMPLE, given)]
        arrays.node(l, 0, *given, a_in)
    arrays.w_old[:k1 - k0] = steps.w_old[k0:k1]
    arrays.grad[:k1 - k0] = steps.grad[k0:k1]
    arrays.delta_w[:k1 - k0] = steps.w_new[k0:k1] - steps.w_old[k0:k1]
    arrays.w_new[:k1 - k0] = steps.w_new[k0:k1]
    arrays.steps = k1 - k0


def check_sizes(spec, sizes, first: int = 0) -> np.ndarray:
    """The number of samples of steps first+1, first+2, ..., which `sizes` must be: the spec's (online 1, batch
    all, mini-batches); the first step that differs is refused, naming it."""
    per_epoch = step_sizes(len(spec.x), spec.batch_size)
    expected = np.array([per_epoch[k % len(per_epoch)] for k in range(first, first + len(sizes))], dtype=np.int64)
    wrong = np.flatnonzero(np.asarray(sizes) != expected)
    if len(wrong):
        k = int(wrong[0])
        raise TracerError(f"step {first + k + 1}", f"has {int(sizes[k])} samples; the spec's training gives "
                                                   f"{int(expected[k])}: feed the batches tracer.batches(spec) gives")
    return expected


def _complete(spec, steps: Steps, step_of_row, first_row, sizes) -> None:
    """Fill the NaNs by the plan's rules on arrays: w_old from the step before, da/dz from z and a, the loss
    and dE/da at the output from the spec's loss, dE/da below from the deltas above (Frey eq. 4, through the
    weights the update order says), the batch gradient from the deltas (eqs. 1, 3)."""
    params = Params(spec)  # the initial weights, flat, and each layer's offset in them
    before = np.vstack([params.theta[None, :], steps.w_new[:-1]])
    _fill(steps.w_old, before)
    layers, last = steps.layers, len(spec.layers) - 1
    y = spec.y[steps.samples]
    for layer, values in zip(spec.layers, layers):
        if layer.grid is not None and not layer.grid.conv and np.isnan(values["z"]).any():
            _fill(values["z"], values["a"])  # a pool's value is its net input: a = z
        if np.isnan(values["da_dz"]).any():
            _fill(values["da_dz"], Derivative(layer.activation).value(values["z"], values["a"]))
    output, out = layers[last], spec.layers[last]
    if np.isnan(steps.loss).any():
        n = len(out.units)
        columns = [c[:, j] for c in (y, output["a"], output["z"]) for j in range(n)]
        _fill(steps.loss, LossValue(spec.loss, out.activation, n).value(*columns))
    if np.isnan(output["dE_da"]).any():
        _fill(output["dE_da"], LossDerivative(spec.loss, spec.delta_sign).value(y, output["a"]))
    weights = {"w": steps.w_old, "w_new": steps.w_new}
    wanted = spec.update_order.backprop_weights
    for l in range(last - 1, -1, -1):
        if not np.isnan(layers[l]["dE_da"]).any():
            continue
        if spec.layers[l + 1].grid is not None:
            _fill(layers[l]["dE_da"], _window_sums(spec, l, weights[wanted], layers, params.offsets, first_row))
        else:
            def back_sum(kind: str, l: int = l) -> np.ndarray:
                return _back_sum(spec, l, weights[kind], layers[l + 1]["delta"], params.offsets, step_of_row)
            dE_da = back_sum(wanted)
            _say_which_weights(spec, l, layers[l], dE_da, back_sum)
            _fill(layers[l]["dE_da"], dE_da)
    if np.isnan(steps.grad).any():
        _fill(steps.grad, _batch_grads(spec, steps, first_row, sizes))


def _back_sum(spec, l: int, through, delta_above, offsets, step_of_row) -> np.ndarray:
    """dE/da of layer l's units, sum_k w_kj delta_k (Frey eq. 4), through `through` (each row's step's weights)."""
    above = spec.layers[l + 1]
    W = through[:, offsets[l + 1]:offsets[l + 2]].reshape(-1, *above.weights.shape)[step_of_row]
    first = int(above.bias)
    dE_da = [BackSum().value(*[x for k in range(len(above.units)) for x in (W[:, k, first + j], delta_above[:, k])])
             for j in range(len(spec.layers[l].units))]
    return np.stack(dE_da, axis=1)


def _window_sums(spec, l: int, through, layers, offsets, first_row) -> np.ndarray:
    """dE/da of layer l's cells under the conv or pool above: each window's delta sent back through the
    kernel's weight on the cell (Frey eq. 4 over the windows) or routed as the pool's tie rule says, with each
    step's weights (the engine's own conv and pool); for an rnn's states, plus what the next time step sends."""
    layer, above = spec.layers[l], spec.layers[l + 1]
    out = np.empty_like(layers[l]["a"])
    for k in range(len(first_row) - 1):
        rows = slice(first_row[k], first_row[k + 1])
        W = through[k, offsets[l + 1]:offsets[l + 2]].reshape(above.weights.shape)
        window = grid_step(above, W, np.empty_like(W))
        window.forward(layers[l]["a"][rows])  # a pool remembers which cells each value came from
        out[rows] = window.back(layers[l + 1]["delta"][rows])
        if layer.recurrence is not None:  # and what each state's next time step sends back (BPTT)
            own = through[k, offsets[l]:offsets[l + 1]].reshape(layer.weights.shape)
            out[rows] = Recurrent(layer, own, np.empty_like(own)).from_given(out[rows], layers[l]["delta"][rows])
    return out


WEIGHTS_SAID = {"w": "the weights before the update", "w_new": "the already-updated weights"}


def _say_which_weights(spec, l: int, given: dict, dE_da: np.ndarray, back_sum) -> None:
    """A loop that gives delta but not dE/da: warn when its delta matches back-propagation through the other
    update order's weights (back_sum(kind) gives it), not the spec's (dE_da), so a diff's 'delta differs' is not
    read as a wrong derivative."""
    layer = spec.layers[l]
    if layer.activation.vector or np.isnan(given["delta"]).any():
        return
    rule = ErrorTerm(layer.activation)
    matches = lambda total: np.allclose(rule.value(total, given["da_dz"]), given["delta"], rtol=1e-9, atol=1e-12)
    wanted = spec.update_order.backprop_weights
    other = OTHER_WEIGHTS[wanted]
    if not matches(dE_da) and matches(back_sum(other)):
        order = spec.training.update_order
        warnings.warn(f"layer {layer.name}: the loop's delta back-propagates through {WEIGHTS_SAID[other]}, but "
                      f"this spec's {order} update uses {WEIGHTS_SAID[wanted]}; dE/da is filled in the spec's "
                      "way, so delta will differ from it (set training.update_order if the loop is right)",
                      TracerWarning, stacklevel=5)  # the user's call of rec.trace()


def _batch_grads(spec, steps: Steps, first_row, sizes) -> np.ndarray:
    """Each step's gradient: the Grad of each sample (delta_j input_i, Frey eq. 1) and their BatchGrad (eq. 3)."""
    x = spec.x[steps.samples]
    per_sample = []
    for l, layer in enumerate(spec.layers):
        a_in = x if l == 0 else steps.layers[l - 1]["a"]
        if layer.weights.size == 0:  # a pool
            per_sample.append(np.empty((len(a_in), 0)))
            continue
        if layer.shared:  # a conv's terms summed over its positions, an rnn's over its time steps
            taps, own = Taps(layer), steps.layers[l]["a"] if layer.recurrence is not None else None
            per_sample.append(spec.delta_sign * taps.sums(taps.terms(steps.layers[l]["delta"], a_in, own)))
            continue
        delta = steps.layers[l]["delta"][:, :, None]
        blocks = [Grad(True, layer.threshold, spec.delta_sign).value(delta)] if layer.bias else []
        blocks.append(Grad(False, False, spec.delta_sign).value(delta, a_in[:, None, :]))
        per_sample.append(np.concatenate(blocks, axis=2).reshape(len(delta), -1))
    grads = np.concatenate(per_sample, axis=1)
    out = np.empty((len(sizes), grads.shape[1]))
    mean = spec.training.reduction == "mean"
    for m in np.unique(sizes):  # the steps of each size together
        at = np.flatnonzero(sizes == m)
        rows = first_row[at][:, None] + np.arange(m)
        out[at] = BatchGrad(int(m), mean).value(*[grads[rows[:, b]] for b in range(m)]) if m > 1 else grads[rows[:, 0]]
    return out


def _fill(given: np.ndarray, computed: np.ndarray) -> None:
    """Where the loop gave NaN, the computed value."""
    missing = np.isnan(given)
    given[missing] = np.broadcast_to(computed, given.shape)[missing]
