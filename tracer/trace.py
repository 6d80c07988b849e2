"""The Trace: four pandas DataFrames (nodes, weights, updates, losses) — the public contract.

Columns (README documents each): `epoch`, `step` and `sample` count from 1; `step` is the number
of the weight update a row belongs to; `sample` is the row of the data set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NODES = ["epoch", "step", "sample", "layer", "unit", "z", "a", "da_dz", "dE_da", "delta", "target"]
WEIGHTS = ["epoch", "step", "sample", "layer", "unit", "source", "input", "w", "grad"]
UPDATES = ["epoch", "step", "layer", "unit", "source", "w_old", "grad", "delta_w", "w_new"]
LOSSES = ["epoch", "step", "sample", "loss"]
COLUMNS = {"nodes": NODES, "weights": WEIGHTS, "updates": UPDATES, "losses": LOSSES}
KEYS = {  # columns that identify a row; the rest are values
    "nodes": ["epoch", "step", "sample", "layer", "unit"],
    "weights": ["epoch", "step", "sample", "layer", "unit", "source"],
    "updates": ["epoch", "step", "layer", "unit", "source"],
    "losses": ["epoch", "step", "sample"],
}
INT_COLUMNS = ("epoch", "step", "sample")
TEXT_COLUMNS = ("layer", "unit", "source")


@dataclass
class Trace:
    """Every intermediate value of a training run, as four DataFrames.

    `spec` is the Spec that produced it (None when read from files); `final` the weight matrices
    after the last update; `stopped` says why training ended early (divergence), else None.
    """

    nodes: pd.DataFrame
    weights: pd.DataFrame
    updates: pd.DataFrame
    losses: pd.DataFrame
    spec: object = None
    final: list = field(default_factory=list)
    stopped: str | None = None

    @classmethod
    def empty(cls, spec, final) -> "Trace":
        """A trace with no rows (training run with recording off)."""
        frames = {name: pd.DataFrame({c: [] for c in cols}) for name, cols in COLUMNS.items()}
        return cls(**frames, spec=spec, final=final)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by name, in contract order."""
        return {"nodes": self.nodes, "weights": self.weights, "updates": self.updates, "losses": self.losses}

    def epoch_losses(self) -> pd.DataFrame:
        """Mean loss over the samples of each epoch: columns epoch, loss."""
        return self.losses.groupby("epoch", as_index=False, sort=True)["loss"].mean()

    def step_count(self) -> int:
        """Number of weight updates recorded."""
        return int(self.updates["step"].max()) if len(self.updates) else 0


def build_trace(spec, rec, final) -> Trace:
    """Build the four DataFrames once from a Recorder's arrays, cut at the first non-finite value."""
    rows, steps = rec.r1, rec.steps
    stop_step, stopped = _first_non_finite(spec, rec, rows, steps)
    if stop_step is not None:
        steps = stop_step
        rows = int(np.searchsorted(rec.row_step[:rows], stop_step, side="right"))
    sample, row_step = rec.sample[:rows], rec.row_step[:rows]
    row_epoch = rec.step_epoch[row_step - 1] if rows else np.empty(0, np.int64)

    units = np.array([u for l in spec.layers for u in l.units], dtype=object)
    unit_layer = np.array([l.name for l in spec.layers for _ in l.units], dtype=object)
    U = len(units)
    target = np.full((rows, U), np.nan)
    target[:, rec.cols[-2]:] = spec.y[sample]
    nodes = pd.DataFrame({
        "epoch": np.repeat(row_epoch, U), "step": np.repeat(row_step, U), "sample": np.repeat(sample + 1, U),
        "layer": np.tile(unit_layer, rows), "unit": np.tile(units, rows),
        "z": rec.z[:rows].ravel(), "a": rec.a[:rows].ravel(), "da_dz": rec.da_dz[:rows].ravel(),
        "dE_da": rec.dE_da[:rows].ravel(), "delta": rec.delta[:rows].ravel(), "target": target.ravel(),
    })

    p_layer, p_unit, p_source = _param_names(spec)
    P = len(p_layer)
    inputs, grads = [], []
    for l, layer in enumerate(spec.layers):
        prev = spec.x[sample] if l == 0 else rec.a[:rows, rec.cols[l - 1]:rec.cols[l]]
        if layer.bias:
            prev = np.concatenate([np.ones((rows, 1)), prev], axis=1)
        block = np.broadcast_to(prev[:, None, :], (rows, len(layer.units), prev.shape[1]))
        inputs.append(block.reshape(rows, -1))
        delta = rec.delta[:rows, rec.cols[l]:rec.cols[l + 1]]
        grads.append((delta[:, :, None] * block).reshape(rows, -1))  # Frey eq. (1): delta_j a_i
    weights = pd.DataFrame({
        "epoch": np.repeat(row_epoch, P), "step": np.repeat(row_step, P), "sample": np.repeat(sample + 1, P),
        "layer": np.tile(p_layer, rows), "unit": np.tile(p_unit, rows), "source": np.tile(p_source, rows),
        "input": np.concatenate(inputs, axis=1).ravel(), "w": rec.w_old[row_step - 1].ravel(),
        "grad": np.concatenate(grads, axis=1).ravel(),
    })
    del inputs, grads

    step_ids = np.arange(1, steps + 1)
    updates = pd.DataFrame({
        "epoch": np.repeat(rec.step_epoch[:steps], P), "step": np.repeat(step_ids, P),
        "layer": np.tile(p_layer, steps), "unit": np.tile(p_unit, steps), "source": np.tile(p_source, steps),
        "w_old": rec.w_old[:steps].ravel(), "grad": rec.grad[:steps].ravel(),
        "delta_w": rec.delta_w[:steps].ravel(), "w_new": rec.w_new[:steps].ravel(),
    })
    losses = pd.DataFrame({"epoch": row_epoch, "step": row_step, "sample": sample + 1, "loss": rec.loss[:rows]})
    if stop_step is not None:
        final = _matrices(spec, rec.w_new[steps - 1])
    return Trace(nodes, weights, updates, losses, spec=spec, final=final, stopped=stopped)


def _param_names(spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """layer, unit and source of every parameter, in (layer, unit, source) order."""
    layer, unit, source = [], [], []
    for l in spec.layers:
        for u in l.units:
            for s in l.sources:
                layer.append(l.name)
                unit.append(u)
                source.append(s)
    return (np.array(layer, dtype=object), np.array(unit, dtype=object), np.array(source, dtype=object))


def _matrices(spec, theta) -> list[np.ndarray]:
    """Split a flat parameter vector into the per-layer weight matrices."""
    out, o = [], 0
    for l in spec.layers:
        out.append(theta[o:o + l.weights.size].reshape(l.weights.shape).copy())
        o += l.weights.size
    return out


def _first_non_finite(spec, rec, rows: int, steps: int) -> tuple[int | None, str | None]:
    """The first step with an inf/NaN in z, a, loss, delta or w_new, and a message naming where."""
    bad_rows = ~(np.isfinite(rec.z[:rows]).all(1) & np.isfinite(rec.a[:rows]).all(1)
                 & np.isfinite(rec.delta[:rows]).all(1) & np.isfinite(rec.loss[:rows]))
    bad_steps = ~np.isfinite(rec.w_new[:steps]).all(1)
    candidates = []
    if bad_rows.any():
        candidates.append(int(rec.row_step[np.argmax(bad_rows)]))
    if bad_steps.any():
        candidates.append(int(np.argmax(bad_steps)) + 1)
    if not candidates:
        return None, None
    step = min(candidates)
    units = [(l.name, u) for l in spec.layers for u in l.units]
    rows_of_step = np.flatnonzero(rec.row_step[:rows] == step)
    for qty in ("z", "a", "loss", "delta"):
        values = getattr(rec, qty)[rows_of_step]
        bad = ~np.isfinite(values)
        if bad.any():
            r, c = (np.argwhere(bad)[0] if values.ndim == 2 else (np.argmax(bad), None))
            row = rows_of_step[r]
            where = "" if c is None else f", layer {units[c][0]}, unit {units[c][1]}"
            value = values[r] if c is None else values[r, c]
            return step, (f"training diverged at epoch {rec.step_epoch[step - 1]}, step {step}, "
                          f"sample {rec.sample[row] + 1}{where}: {qty} = {value}; "
                          "lower the learning_rate or scale the inputs")
    p_layer, p_unit, p_source = _param_names(spec)
    p = int(np.argmax(~np.isfinite(rec.w_new[step - 1])))
    return step, (f"training diverged at epoch {rec.step_epoch[step - 1]}, step {step}, layer {p_layer[p]}, "
                  f"unit {p_unit[p]}: w_new ({p_source[p]}) = {rec.w_new[step - 1, p]}; "
                  "lower the learning_rate or scale the inputs")
