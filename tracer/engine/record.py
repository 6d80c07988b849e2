"""The Recorder: preallocated arrays for every value the engine computes in the steps it records, and the
Trace built once from them (its StepValues, and its four DataFrames cut at the first non-finite value).

Rows are samples processed (in training order), columns units or parameters. Only what the loop computes
is copied per step: z, a, da/dz, dE/da and delta per unit, the loss and the gradient of every parameter per
sample, and per step the weights before, the batch gradient, delta w and the new weights. Which step and
epoch a row belongs to is known up front, so it is laid out once here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import TracerError
from ..steps import select_steps
from ..model.grid import term_names
from .grids import Taps
from .memory import empty, full, repeat
from .stepview import StepValues
from .trace import Trace, labels, param_names, weight_matrices


def step_sizes(n: int, batch_size: int) -> list[int]:
    """Samples in each step of an epoch (the last minibatch may be short)."""
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


@dataclass(frozen=True)
class Recording:
    """What a run records: `steps` (None: every step; a selection text such as '1-100,last'; step numbers; an
    empty tuple: none) and `history`: also keep every step's weights after it and every sample's loss, for a
    run that records only some steps (a report's charts and a workbook's loss table cover the whole run)."""

    steps: object = None
    history: bool = False

    @classmethod
    def of(cls, record) -> "Recording":
        """`run`'s record argument as a Recording: True (every step), False (nothing), a selection text or step
        numbers (only those), or a Recording."""
        if isinstance(record, Recording):
            return record
        if isinstance(record, bool):
            return cls(None if record else ())
        if isinstance(record, str) or hasattr(record, "__iter__"):
            return cls(record)
        raise TracerError("record", f"expected True, False, steps such as '1-100,last' or step numbers, not "
                                    f"{type(record).__name__}")

    @property
    def nothing(self) -> bool:
        return isinstance(self.steps, tuple) and not self.steps

    def step_ids(self, total: int) -> np.ndarray:
        """The steps to record of a run of `total` steps, each checked to be one of them."""
        if self.steps is None:
            return np.arange(1, total + 1)
        if isinstance(self.steps, str):
            return np.array(select_steps(self.steps, total, option="--trace-steps"), dtype=np.int64)
        steps = np.unique(np.asarray(list(self.steps), dtype=np.int64))
        if len(steps) and (steps[0] < 1 or steps[-1] > total):
            raise TracerError("record", f"steps must be within 1..{total}")
        return steps


class Recorder:
    """Arrays for the recorded steps; `begin` says where a step's rows go (None: the step is not recorded).

    The arrays of values hold `capacity` recorded steps (all of them by default). A run that streams its trace
    (tracer.engine.stream) gives a smaller capacity and an `on_full(recorder)` that hands the held steps on
    before the arrays are reused: `base` is the first held step's index among the steps recorded, `base_row`
    its first row. The data row and the loss of every row recorded are kept for the whole run (a few numbers
    per sample, the losses table)."""

    def __init__(self, spec, epochs: int, recording: Recording = Recording(), capacity: int | None = None):
        n = len(spec.x)
        sizes = step_sizes(n, spec.batch_size)
        per_epoch = len(sizes)
        self.per_epoch, self.steps_total = per_epoch, epochs * per_epoch
        self.step_ids = recording.step_ids(self.steps_total)
        self.all_steps = len(self.step_ids) == self.steps_total
        size = np.array(sizes, dtype=np.int64)[(self.step_ids - 1) % per_epoch]
        self.first_row = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
        self.slot = None if self.all_steps else {int(s): k for k, s in enumerate(self.step_ids)}
        rows, held = int(self.first_row[-1]), len(self.step_ids)
        steps = held if capacity is None else max(1, min(capacity, held))
        window = int((self.first_row[steps:] - self.first_row[:held + 1 - steps]).max()) if held else 0
        self.capacity = steps
        self.step_epoch = (self.step_ids - 1) // per_epoch + 1
        widths = [len(l.units) for l in spec.layers]
        self.cols = np.cumsum([0] + widths)
        self.col_range = list(zip(self.cols[:-1].tolist(), self.cols[1:].tolist()))
        P = [l.weights.size for l in spec.layers]
        self.param_range = list(zip(np.cumsum([0] + P)[:-1].tolist(), np.cumsum(P).tolist()))
        self.bias = [l.bias for l in spec.layers]
        self.thresholds = [l.threshold for l in spec.layers]
        self.minus = spec.delta_sign < 0
        units, params = int(self.cols[-1]), sum(P)
        self.taps = [Taps(l) if l.shared else None for l in spec.layers]
        T = np.cumsum([0] + [0 if t is None else len(t.position) for t in self.taps]).tolist()
        self.tap_range = list(zip(T[:-1], T[1:]))
        self.terms = empty((window, T[-1]))  # each conv weight's gradient terms: delta times input, per position
        self.z, self.a, self.da_dz, self.dE_da, self.delta = (empty((window, units)) for _ in range(5))
        self.grads = empty((window, params))  # each sample's dE/dw = delta_j input_i (Frey eq. 1)
        self.w_old, self.grad, self.delta_w, self.w_new = (empty((steps, params)) for _ in range(4))
        self.losses = np.empty(rows)
        self.sample = np.empty(rows, np.int64)  # row of the data set, 0-based
        self.change_before: dict[int, np.ndarray] = {}  # step -> delta w of the unrecorded step before it
        self.rows = self.steps = 0  # how far the arrays are filled
        self.base = self.base_row = 0
        self.on_full = None

    def row_keys(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(samples in each, step of each row, epoch of each row) of the held steps k0..k1-1."""
        sizes = np.diff(self.first_row[k0:k1 + 1])
        return sizes, np.repeat(self.step_ids[k0:k1], sizes), np.repeat(self.step_epoch[k0:k1], sizes)

    @staticmethod
    def estimate_bytes(spec, epochs: int, steps: int | None = None) -> int:
        """Bytes a traced run will hold (the recorder's arrays and the DataFrames built from them, a conv's or rnn's
        contributions too), for all steps or `steps` of them, before allocating anything."""
        n = len(spec.x)
        per_epoch = math.ceil(n / spec.batch_size)
        steps = epochs * per_epoch if steps is None else steps
        rows = steps * min(spec.batch_size, n)
        units = sum(len(l.units) for l in spec.layers)
        params = spec.n_weights
        recorder = rows * (40 * units + 8 * params + 24) + 32 * steps * params
        tables = rows * (34 * units + 43 * params + 24) + 27 * steps * params  # keys, inputs, w, categoricals
        run = 80 * params  # the run's weights, gradients and changes, the parameters' names (measured: 1-sample nets)
        terms = rows * spec.n_terms * 84  # per term: 8 bytes recorded, 24 of values, 24 of keys, 28 of names
        return recorder + tables + run + terms

    def begin(self, step: int, epoch: int, samples: np.ndarray, theta: np.ndarray, change) -> int | None:
        """Start a step: its first row, or None when the step is not recorded; keeps the weights before it and
        the step before's change."""
        k = step - 1 if self.slot is None else self.slot.get(step)
        if k is None:
            return None
        if k - self.base == self.capacity:  # the arrays are full: hand the steps they hold on, then reuse them
            self.on_full(self)
            self.base, self.base_row, self.rows, self.steps = k, int(self.first_row[k]), 0, 0
        start = int(self.first_row[k])
        self.sample[start:start + len(samples)] = samples
        self.w_old[k - self.base] = theta
        if step > 1 and (k == 0 or self.step_ids[k - 1] != step - 1):  # momentum needs it; not recorded
            self.change_before[step] = change.copy()
        return start - self.base_row

    def loss(self, row: int, values) -> None:
        """Each sample's loss, before the update."""
        start = self.base_row + row
        self.losses[start:start + len(values)] = values

    def node(self, l: int, row: int, z, a, da_dz, dE_da, delta, a_in) -> None:
        """Copy one layer's arrays and its per-sample gradients delta_j input_i for the step starting at `row`;
        dE_da and delta are the derivatives, recorded negated where the spec's delta is -dE/dz."""
        rows, (c0, c1) = slice(row, row + len(z)), self.col_range[l]
        self.z[rows, c0:c1] = z
        self.a[rows, c0:c1] = a
        self.da_dz[rows, c0:c1] = da_dz
        if self.minus:  # Negnevitsky: the error e = −∂E/∂y and δ = −∂E/∂X
            np.negative(dE_da, out=self.dE_da[rows, c0:c1])
            np.negative(delta, out=self.delta[rows, c0:c1])
        else:
            self.dE_da[rows, c0:c1] = dE_da
            self.delta[rows, c0:c1] = delta
        p0, p1 = self.param_range[l]
        if self.taps[l] is not None:  # a conv: each shared weight's terms, and their sums over the positions
            t0, t1 = self.tap_range[l]
            terms = self.terms[rows, t0:t1]
            terms[...] = self.taps[l].terms(delta, a_in, a)
            self.grads[rows, p0:p1] = self.taps[l].sums(terms)
        if p0 == p1 or self.taps[l] is not None:
            self.rows = row + len(z)
            return
        grads = self.grads[rows, p0:p1].reshape(len(z), c1 - c0, -1)  # (samples, units, sources) view
        first = int(self.bias[l])
        if first:
            grads[:, :, 0] = -delta if self.thresholds[l] else delta  # the bias input: 1, or −1 for a threshold
        np.multiply(delta[:, :, None], a_in[:, None, :], out=grads[:, :, first:])
        self.rows = row + len(z)

    def update(self, step: int, grad, delta_w, w_new) -> None:
        """Close the step: the batch gradient, the change and the new weights."""
        k = (step - 1 if self.slot is None else self.slot[step]) - self.base
        self.grad[k] = grad
        self.delta_w[k] = delta_w
        self.w_new[k] = w_new
        self.steps = k + 1


def build_trace(spec, rec, final, history=None) -> Trace:
    """The trace of a run: nodes, weights, updates and losses of the recorded steps, in training order, and its
    StepValues (with the run's `history`, when kept)."""
    rows, steps = rec.rows, rec.steps
    stop, stopped = first_non_finite(spec, rec, rows, steps)
    if stop is not None:
        steps = stop + 1
        rows = int(rec.first_row[steps])
    elif not all(np.isfinite(m).all() for m in final):
        stopped = diverged_after(int(rec.step_ids[steps - 1]))
    values = step_values(spec, rec, rows, steps, history)
    sample, row_step, row_epoch = values.sample, values.row_step, values.row_epoch
    tables = step_tables(spec, rec, rows, steps, sample, row_step, row_epoch, values.sizes)
    losses = pd.DataFrame({"epoch": row_epoch, "step": row_step, "sample": sample + 1, "loss": rec.losses[:rows],
                           "loss_after_epoch": values.row_losses_after_epoch()}, copy=False)
    if stop is not None:
        final = weight_matrices(spec, rec.w_new[steps - 1])
    return Trace(**tables, losses=losses, spec=spec, final=final, stopped=stopped,
                 total_steps=int(rec.step_ids[steps - 1]) if stop is not None else rec.steps_total,
                 values=values)


def diverged_after(last_step: int) -> str:
    """Why a run stopped whose recorded values are finite (to `last_step`) but whose final weights are not."""
    return (f"training diverged after the last recorded step ({last_step}): the final weights are not finite; "
            "record more steps to see where, or lower the learning_rate")


def step_tables(spec, rec, rows: int, steps: int, sample, row_step, row_epoch, sizes) -> dict[str, pd.DataFrame]:
    """The nodes, weights and updates tables of the first `steps` steps in the recorder's arrays (`rows` rows):
    `sample` (0-based), `row_step` and `row_epoch` per row, `sizes` samples per step."""
    k = slice(rec.base, rec.base + steps)
    units = [u for l in spec.layers for u in l.units]
    unit_layer = [l.name for l in spec.layers for _ in l.units]
    U = len(units)
    target = full((rows, U), np.nan)
    target[:, rec.cols[-2]:] = spec.y[sample]
    nodes = pd.DataFrame({
        "epoch": repeat(row_epoch, U), "step": repeat(row_step, U), "sample": repeat(sample + 1, U),
        "layer": labels(unit_layer, rows), "unit": labels(units, rows),
        "z": rec.z[:rows].ravel(), "a": rec.a[:rows].ravel(), "da_dz": rec.da_dz[:rows].ravel(),
        "dE_da": rec.dE_da[:rows].ravel(), "delta": rec.delta[:rows].ravel(), "target": target.ravel(),
    }, copy=False)

    p_layer, p_unit, p_source = param_names(spec)
    P = len(p_layer)
    w = rec.w_old[:steps] if rows == steps else rec.w_old[np.repeat(np.arange(steps), sizes)]  # online: a view
    weights = pd.DataFrame({
        "epoch": repeat(row_epoch, P), "step": repeat(row_step, P), "sample": repeat(sample + 1, P),
        "layer": labels(p_layer, rows), "unit": labels(p_unit, rows), "source": labels(p_source, rows),
        "input": layer_inputs(spec, rec, sample, rows).ravel(), "w": w.ravel(),
        "grad": rec.grads[:rows].ravel(),
    }, copy=False)

    updates = pd.DataFrame({
        "epoch": repeat(rec.step_epoch[k], P), "step": repeat(rec.step_ids[k], P),
        "layer": labels(p_layer, steps), "unit": labels(p_unit, steps), "source": labels(p_source, steps),
        "w_old": rec.w_old[:steps].ravel(), "grad": rec.grad[:steps].ravel(),
        "delta_w": rec.delta_w[:steps].ravel(), "w_new": rec.w_new[:steps].ravel(),
    }, copy=False)
    tables = {"nodes": nodes, "weights": weights, "updates": updates}
    if any(t is not None for t in rec.taps):
        tables["contributions"] = contributions(spec, rec, rows, sample, row_step, row_epoch)
    return tables


def contributions(spec, rec, rows: int, sample, row_step, row_epoch) -> pd.DataFrame:
    """Each term of each conv weight's gradient, per sample: the delta of a position times the input cell its
    window puts under the weight (1 for a bias). A weight's grad in the weights table is the sum of its terms.
    Rows in training order, then layer, kernel, weight and position."""
    names: dict[str, list] = {"layer": [], "unit": [], "source": [], "position": [], "cell": []}
    inputs, deltas = [], []
    for l, (layer, taps) in enumerate(zip(spec.layers, rec.taps)):
        if taps is None:
            continue
        below = spec.inputs if l == 0 else spec.layers[l - 1].units
        r = layer.recurrence
        cells = r.cell_names(below, layer.units) if r is not None else (*below, "bias")
        kernels, sources, positions = zip(*term_names(layer))
        names["layer"] += [layer.name] * len(taps.weight)
        names["unit"] += kernels
        names["source"] += sources
        names["position"] += positions
        names["cell"] += [cells[c] for c in taps.cell]
        prev = spec.x[sample] if l == 0 else rec.a[:rows, rec.cols[l - 1]:rec.cols[l]]
        inputs.append(taps.cells(prev, rec.a[:rows, rec.cols[l]:rec.cols[l + 1]])[:, taps.cell])
        deltas.append(rec.delta[:rows, rec.col_range[l][0] + taps.position])
    T = len(names["layer"])
    return pd.DataFrame({
        "epoch": repeat(row_epoch, T), "step": repeat(row_step, T), "sample": repeat(sample + 1, T),
        **{column: labels(values, rows) for column, values in names.items()},
        "input": np.concatenate(inputs, axis=1).ravel(), "delta": np.concatenate(deltas, axis=1).ravel(),
        "contribution": rec.terms[:rows].ravel(),
    }, copy=False)


def step_values(spec, rec, rows: int, steps: int, history=None) -> StepValues:
    """The recorder's arrays of the first `steps` held steps (`rows` rows), by step and plan key."""
    last = int(rec.step_ids[steps - 1]) if steps else 0
    before = {s: change for s, change in rec.change_before.items() if s <= last}
    nodes = {kind: getattr(rec, kind)[:rows] for kind in ("z", "a", "da_dz", "dE_da", "delta")}
    per_step = {"w": rec.w_old[:steps], "G": rec.grad[:steps], "delta_w": rec.delta_w[:steps],
                "w_new": rec.w_new[:steps]}
    return StepValues(spec, rec.sample[:rows], rec.step_ids[:steps], rec.first_row[:steps + 1],
                      rec.step_epoch[:steps], nodes, rec.grads[:rows], rec.losses[:rows], per_step, before, history,
                      rec.terms[:rows] if any(t is not None for t in rec.taps) else None)


def layer_inputs(spec, rec, sample, rows: int) -> np.ndarray:
    """What multiplies each weight in each sample (rows x parameters): 1 for a bias (−1 for a threshold), else
    the source's value; NaN for a conv's shared weight, which multiplies a cell of every window (the
    contributions table has each)."""
    out = empty((rows, spec.n_weights))
    o = 0
    for l, layer in enumerate(spec.layers):
        if layer.shared or layer.grid is not None:
            block = out[:, o:o + layer.weights.size].reshape(rows, len(layer.rows), len(layer.sources))
            block[...] = np.nan
            if layer.bias:
                block[:, :, 0] = 1.0
            o += layer.weights.size
            continue
        prev = spec.x[sample] if l == 0 else rec.a[:rows, rec.cols[l - 1]:rec.cols[l]]
        block = out[:, o:o + layer.weights.size].reshape(rows, len(layer.units), len(layer.sources))
        if layer.bias:
            block[:, :, 0] = layer.bias_input
        block[:, :, int(layer.bias):] = prev[:, None, :]
        o += layer.weights.size
    return out


def first_non_finite(spec, rec, rows: int, steps: int) -> tuple[int | None, str | None]:
    """The first of the first `steps` steps in the recorder's arrays (its index there) with an inf/NaN in z, a,
    loss, delta or w_new, and where."""
    first = rec.first_row[rec.base:rec.base + steps + 1] - rec.base_row
    losses, sample = rec.losses[rec.base_row:], rec.sample[rec.base_row:]
    bad_rows = ~(np.isfinite(rec.z[:rows]).all(1) & np.isfinite(rec.a[:rows]).all(1)
                 & np.isfinite(rec.delta[:rows]).all(1) & np.isfinite(losses[:rows]))
    bad_steps = ~np.isfinite(rec.w_new[:steps]).all(1)
    candidates = []
    if bad_rows.any():
        candidates.append(int(np.searchsorted(first, np.argmax(bad_rows), side="right")) - 1)
    if bad_steps.any():
        candidates.append(int(np.argmax(bad_steps)))
    if not candidates:
        return None, None
    k = min(candidates)
    step, epoch = int(rec.step_ids[rec.base + k]), int(rec.step_epoch[rec.base + k])
    units = [(l.name, u) for l in spec.layers for u in l.units]
    rows_of_step = np.arange(first[k], first[k + 1])
    for qty in ("z", "a", "loss", "delta"):
        values = (losses if qty == "loss" else getattr(rec, qty))[rows_of_step]
        bad = ~np.isfinite(values)
        if bad.any():
            r, c = (np.argwhere(bad)[0] if values.ndim == 2 else (np.argmax(bad), None))
            row = rows_of_step[r]
            where = "" if c is None else f", layer {units[c][0]}, unit {units[c][1]}"
            value = values[r] if c is None else values[r, c]
            return k, (f"training diverged at epoch {epoch}, step {step}, sample {sample[row] + 1}{where}: "
                       f"{qty} = {value}; lower the learning_rate or scale the inputs")
    p_layer, p_unit, p_source = param_names(spec)
    p = int(np.argmax(~np.isfinite(rec.w_new[k])))
    return k, (f"training diverged at epoch {epoch}, step {step}, layer {p_layer[p]}, unit {p_unit[p]}: "
               f"w_new ({p_source[p]}) = {rec.w_new[k, p]}; lower the learning_rate or scale the inputs")
