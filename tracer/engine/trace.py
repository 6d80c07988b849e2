"""The Trace: four pandas DataFrames (nodes, weights, updates, losses) — the public contract.

Columns (README documents each): `epoch`, `step` and `sample` count from 1; `step` is the number
of the weight update a row belongs to; `sample` is the row of the data set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import TracerError

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


def typed(df: pd.DataFrame, place: str) -> pd.DataFrame:
    """Contract dtypes for a table from elsewhere: exact integer keys, text keys, float values (NaN if empty)."""
    out = df.copy(deep=False)
    for c in df.columns:
        s = df[c]
        if c in INT_COLUMNS:
            if s.dtype.kind in "iu":
                out[c] = s if s.dtype == np.int64 else s.astype("int64")
                continue
            values = pd.to_numeric(s, errors="coerce").to_numpy(float)
            whole = np.isfinite(values) & (values == np.round(values))
            if not whole.all():
                raise TracerError(place, f"column {c!r} must hold whole numbers (a key), found {s[~whole].iloc[0]!r}")
            out[c] = values.astype("int64")
        elif c in TEXT_COLUMNS:
            if s.isna().any():
                raise TracerError(place, f"column {c!r} is a key and has empty cells")
            if not (isinstance(s.dtype, pd.CategoricalDtype) and all(isinstance(v, str) for v in s.cat.categories)):
                out[c] = s.astype(str)
        elif s.dtype != np.float64:
            try:
                out[c] = pd.to_numeric(s.where(s.notna(), np.nan)).astype("float64")
            except (ValueError, TypeError):
                raise TracerError(place, f"column {c!r} must hold numbers") from None
    return out


def build_trace(spec, rec, final) -> Trace:
    """Build the four DataFrames once from a Recorder's arrays, cut at the first non-finite value."""
    rows, steps = rec.rows, rec.steps
    loss = _losses(spec, rec, rows)
    stop_step, stopped = _first_non_finite(spec, rec, loss, rows, steps)
    if stop_step is not None:
        steps = stop_step
        rows = int(np.searchsorted(rec.row_step[:rows], stop_step, side="right"))
    sample, row_step = rec.sample[:rows], rec.row_step[:rows]
    row_epoch = rec.step_epoch[row_step - 1] if rows else np.empty(0, np.int64)

    units = [u for l in spec.layers for u in l.units]
    unit_layer = [l.name for l in spec.layers for _ in l.units]
    U = len(units)
    target = np.full((rows, U), np.nan)
    target[:, rec.cols[-2]:] = spec.y[sample]
    nodes = pd.DataFrame({
        "epoch": np.repeat(row_epoch, U), "step": np.repeat(row_step, U), "sample": np.repeat(sample + 1, U),
        "layer": _labels(unit_layer, rows), "unit": _labels(units, rows),
        "z": rec.z[:rows].ravel(), "a": rec.a[:rows].ravel(), "da_dz": rec.da_dz[:rows].ravel(),
        "dE_da": rec.dE_da[:rows].ravel(), "delta": rec.delta[:rows].ravel(), "target": target.ravel(),
    }, copy=False)

    p_layer, p_unit, p_source = _param_names(spec)
    P = len(p_layer)
    w_old = rec.w_old(steps)
    inputs, grads = np.empty((rows, P)), np.empty((rows, P))
    o = 0
    for l, layer in enumerate(spec.layers):
        prev = spec.x[sample] if l == 0 else rec.a[:rows, rec.cols[l - 1]:rec.cols[l]]
        k = len(layer.sources)
        for j in range(len(layer.units)):
            cols = slice(o + int(layer.bias), o + k)
            inputs[:, o:o + k][:, :int(layer.bias)] = 1.0
            inputs[:, cols] = prev
            delta_j = rec.delta[:rows, rec.cols[l] + j, None]
            np.multiply(delta_j, inputs[:, o:o + k], out=grads[:, o:o + k])  # Frey eq. (1): delta_j a_i
            o += k
    weights = pd.DataFrame({
        "epoch": np.repeat(row_epoch, P), "step": np.repeat(row_step, P), "sample": np.repeat(sample + 1, P),
        "layer": _labels(p_layer, rows), "unit": _labels(p_unit, rows), "source": _labels(p_source, rows),
        "input": inputs.ravel(), "w": w_old[row_step - 1].ravel(), "grad": grads.ravel(),
    }, copy=False)
    del inputs, grads

    step_ids = np.arange(1, steps + 1)
    updates = pd.DataFrame({
        "epoch": np.repeat(rec.step_epoch[:steps], P), "step": np.repeat(step_ids, P),
        "layer": _labels(p_layer, steps), "unit": _labels(p_unit, steps), "source": _labels(p_source, steps),
        "w_old": w_old.ravel(), "grad": rec.grad[:steps].ravel(),
        "delta_w": rec.delta_w[:steps].ravel(), "w_new": rec.w_new[:steps].ravel(),
    }, copy=False)
    losses = pd.DataFrame({"epoch": row_epoch, "step": row_step, "sample": sample + 1, "loss": loss[:rows]},
                          copy=False)
    if stop_step is not None:
        final = weight_matrices(spec, rec.w_new[steps - 1])
    return Trace(nodes, weights, updates, losses, spec=spec, final=final, stopped=stopped)


def _labels(names: list[str], repeats: int) -> pd.Categorical:
    """A text column that repeats `names` `repeats` times, stored as a categorical (one byte per row).

    Categories are in network order (first appearance), so sorting by unit sorts in network order.
    """
    categories = list(dict.fromkeys(names))
    codes = np.array([categories.index(n) for n in names], dtype=np.int8 if len(categories) < 128 else np.int32)
    return pd.Categorical.from_codes(np.tile(codes, repeats), categories=categories)


def _param_names(spec) -> tuple[list, list, list]:
    """layer, unit and source of every parameter, in (layer, unit, source) order."""
    layer, unit, source = [], [], []
    for l in spec.layers:
        for u in l.units:
            for s in l.sources:
                layer.append(l.name)
                unit.append(u)
                source.append(s)
    return layer, unit, source


def weight_matrices(spec, theta) -> list[np.ndarray]:
    """Split a flat parameter vector into the per-layer weight matrices."""
    out, o = [], 0
    for l in spec.layers:
        out.append(theta[o:o + l.weights.size].reshape(l.weights.shape).copy())
        o += l.weights.size
    return out


def _losses(spec, rec, rows: int) -> np.ndarray:
    """Each recorded sample's loss, from its output-layer z and a and its target (before the update)."""
    c0 = rec.cols[-2]
    out = spec.layers[-1].activation
    with np.errstate(all="ignore"):
        return spec.loss.value(spec.y[rec.sample[:rows]], rec.a[:rows, c0:], rec.z[:rows, c0:], out)


def _first_non_finite(spec, rec, loss, rows: int, steps: int) -> tuple[int | None, str | None]:
    """The first step with an inf/NaN in z, a, loss, delta or w_new, and a message naming where."""
    bad_rows = ~(np.isfinite(rec.z[:rows]).all(1) & np.isfinite(rec.a[:rows]).all(1)
                 & np.isfinite(rec.delta[:rows]).all(1) & np.isfinite(loss[:rows]))
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
        values = (loss if qty == "loss" else getattr(rec, qty))[rows_of_step]
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
