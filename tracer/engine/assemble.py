"""The four DataFrames of a Trace, built once from a Recorder's arrays, cut at the first non-finite value."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .stepview import StepValues
from .trace import Trace, labels, param_names, weight_matrices


def build_trace(spec, rec, final) -> Trace:
    """The trace of a run: nodes, weights, updates and losses of the recorded steps, in training order."""
    rows, steps = rec.rows, rec.steps
    stop, stopped = first_non_finite(spec, rec, rows, steps)
    if stop is not None:
        steps = stop + 1
        rows = int(rec.first_row[steps])
    elif not all(np.isfinite(m).all() for m in final):
        stopped = (f"training diverged after the last recorded step ({int(rec.step_ids[steps - 1])}): the final "
                   "weights are not finite; record more steps to see where, or lower the learning_rate")
    sample, row_step = rec.sample[:rows], rec.row_step[:rows]
    per_step = np.diff(rec.first_row[:steps + 1])  # rows of each recorded step
    row_epoch = np.repeat(rec.step_epoch[:steps], per_step)

    units = [u for l in spec.layers for u in l.units]
    unit_layer = [l.name for l in spec.layers for _ in l.units]
    U = len(units)
    target = np.full((rows, U), np.nan)
    target[:, rec.cols[-2]:] = spec.y[sample]
    nodes = pd.DataFrame({
        "epoch": np.repeat(row_epoch, U), "step": np.repeat(row_step, U), "sample": np.repeat(sample + 1, U),
        "layer": labels(unit_layer, rows), "unit": labels(units, rows),
        "z": rec.z[:rows].ravel(), "a": rec.a[:rows].ravel(), "da_dz": rec.da_dz[:rows].ravel(),
        "dE_da": rec.dE_da[:rows].ravel(), "delta": rec.delta[:rows].ravel(), "target": target.ravel(),
    }, copy=False)

    p_layer, p_unit, p_source = param_names(spec)
    P = len(p_layer)
    step_of_row = np.repeat(np.arange(steps), per_step)
    weights = pd.DataFrame({
        "epoch": np.repeat(row_epoch, P), "step": np.repeat(row_step, P), "sample": np.repeat(sample + 1, P),
        "layer": labels(p_layer, rows), "unit": labels(p_unit, rows), "source": labels(p_source, rows),
        "input": layer_inputs(spec, rec, sample, rows).ravel(), "w": rec.w_old[step_of_row].ravel(),
        "grad": rec.grads[:rows].ravel(),
    }, copy=False)

    updates = pd.DataFrame({
        "epoch": np.repeat(rec.step_epoch[:steps], P), "step": np.repeat(rec.step_ids[:steps], P),
        "layer": labels(p_layer, steps), "unit": labels(p_unit, steps), "source": labels(p_source, steps),
        "w_old": rec.w_old[:steps].ravel(), "grad": rec.grad[:steps].ravel(),
        "delta_w": rec.delta_w[:steps].ravel(), "w_new": rec.w_new[:steps].ravel(),
    }, copy=False)
    losses = pd.DataFrame({"epoch": row_epoch, "step": row_step, "sample": sample + 1, "loss": rec.losses[:rows]},
                          copy=False)
    if stop is not None:
        final = weight_matrices(spec, rec.w_new[steps - 1])
    return Trace(nodes, weights, updates, losses, spec=spec, final=final, stopped=stopped,
                 total_steps=int(rec.step_ids[steps - 1]) if stop is not None else rec.steps_total,
                 values=step_values(spec, rec, rows, steps))


def step_values(spec, rec, rows: int, steps: int) -> StepValues:
    """The recorder's arrays of the first `steps` held steps (`rows` rows), by step and plan key."""
    last = int(rec.step_ids[steps - 1]) if steps else 0
    before = {s: change for s, change in rec.change_before.items() if s <= last}
    nodes = {kind: getattr(rec, kind)[:rows] for kind in ("z", "a", "da_dz", "dE_da", "delta")}
    per_step = {"w": rec.w_old[:steps], "G": rec.grad[:steps], "delta_w": rec.delta_w[:steps],
                "w_new": rec.w_new[:steps]}
    return StepValues(spec, rec.sample[:rows], rec.step_ids[:steps], rec.first_row[:steps + 1],
                      rec.step_epoch[:steps], nodes, rec.grads[:rows], rec.losses[:rows], per_step, before)


def layer_inputs(spec, rec, sample, rows: int) -> np.ndarray:
    """What multiplies each weight in each sample (rows x parameters): 1 for a bias, else the source's value."""
    out = np.empty((rows, spec.n_weights))
    o = 0
    for l, layer in enumerate(spec.layers):
        prev = spec.x[sample] if l == 0 else rec.a[:rows, rec.cols[l - 1]:rec.cols[l]]
        block = out[:, o:o + layer.weights.size].reshape(rows, len(layer.units), len(layer.sources))
        if layer.bias:
            block[:, :, 0] = 1.0
        block[:, :, int(layer.bias):] = prev[:, None, :]
        o += layer.weights.size
    return out


def first_non_finite(spec, rec, rows: int, steps: int) -> tuple[int | None, str | None]:
    """The first recorded step (its index) with an inf/NaN in z, a, loss, delta or w_new, and where."""
    bad_rows = ~(np.isfinite(rec.z[:rows]).all(1) & np.isfinite(rec.a[:rows]).all(1)
                 & np.isfinite(rec.delta[:rows]).all(1) & np.isfinite(rec.losses[:rows]))
    bad_steps = ~np.isfinite(rec.w_new[:steps]).all(1)
    candidates = []
    if bad_rows.any():
        candidates.append(int(np.searchsorted(rec.first_row, np.argmax(bad_rows), side="right")) - 1)
    if bad_steps.any():
        candidates.append(int(np.argmax(bad_steps)))
    if not candidates:
        return None, None
    k = min(candidates)
    step, epoch = int(rec.step_ids[k]), int(rec.step_epoch[k])
    units = [(l.name, u) for l in spec.layers for u in l.units]
    rows_of_step = np.arange(rec.first_row[k], rec.first_row[k + 1])
    for qty in ("z", "a", "loss", "delta"):
        values = (rec.losses if qty == "loss" else getattr(rec, qty))[rows_of_step]
        bad = ~np.isfinite(values)
        if bad.any():
            r, c = (np.argwhere(bad)[0] if values.ndim == 2 else (np.argmax(bad), None))
            row = rows_of_step[r]
            where = "" if c is None else f", layer {units[c][0]}, unit {units[c][1]}"
            value = values[r] if c is None else values[r, c]
            return k, (f"training diverged at epoch {epoch}, step {step}, sample {rec.sample[row] + 1}{where}: "
                       f"{qty} = {value}; lower the learning_rate or scale the inputs")
    p_layer, p_unit, p_source = param_names(spec)
    p = int(np.argmax(~np.isfinite(rec.w_new[k])))
    return k, (f"training diverged at epoch {epoch}, step {step}, layer {p_layer[p]}, unit {p_unit[p]}: "
               f"w_new ({p_source[p]}) = {rec.w_new[k, p]}; lower the learning_rate or scale the inputs")
