"""The Trace: four pandas DataFrames (nodes, weights, updates, losses) — the public contract.

Columns (README documents each): `epoch`, `step` and `sample` count from 1; `step` is the number
of the weight update a row belongs to; `sample` is the row of the data set.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import TracerError
from .memory import tile

from .tables import (COLUMNS, CONTRIBUTIONS, INT_COLUMNS, KEYS, LOSSES, NODES, TEXT_COLUMNS, UPDATES,  # noqa: F401
                     WEIGHTS)


@dataclass
class Trace:
    """Every intermediate value of a training run, as four DataFrames.

    `spec` is the Spec that produced it (None when read from files); `final` the weight matrices
    after the last update; `stopped` says why training ended early (divergence), else None;
    `total_steps` the steps of the run, of which the tables may hold only some (`recorded_steps`);
    `values` the recorded arrays by step and plan key (tracer.engine.stepview.StepValues; None when read
    from files): what every exporter and grader reads, with the partial-recording facts; `held` the steps of a
    run whose tables were handed on as it went (tracer.engine.stream; its nodes, weights and updates here are
    empty) and `errors` its error after each epoch (see epoch_errors), else None.
    """

    nodes: pd.DataFrame
    weights: pd.DataFrame
    updates: pd.DataFrame
    losses: pd.DataFrame
    spec: object = None
    final: list = field(default_factory=list)
    stopped: str | None = None
    total_steps: int | None = None
    values: object = None  # StepValues
    held: list | None = None
    errors: pd.DataFrame | None = None
    contributions: pd.DataFrame | None = None  # each conv weight's gradient terms (CONTRIBUTIONS), else None

    @classmethod
    def empty(cls, spec, final) -> "Trace":
        """A trace with no rows (training run with recording off)."""
        frames = {name: pd.DataFrame({c: [] for c in cols}) for name, cols in COLUMNS.items()}
        return cls(**frames, spec=spec, final=final)

    def write(self, path, format: str = "csv") -> list:
        """The four tables and trace.json written into the folder `path`, whole, for `tracer diff`; the same as
        `tracer.write_trace(trace, path, format)`. Example: trace.write("out/mine", format="parquet")."""
        from ..io.tracewriter import write_trace  # the files are io's: the trace only hands itself over

        return write_trace(self, path, format)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by name, in contract order, and the contributions table of a net with conv layers."""
        tables = {"nodes": self.nodes, "weights": self.weights, "updates": self.updates, "losses": self.losses}
        if self.contributions is not None:
            tables["contributions"] = self.contributions
        return tables

    def recorded_steps(self) -> list[int]:
        """The steps the tables hold (all of them unless the run recorded only some)."""
        if self.held is not None:
            return self.held
        return sorted(pd.unique(self.updates["step"]).tolist()) if len(self.updates) else []

    @property
    def partial(self) -> bool:
        """True when the tables hold only some of the run's steps."""
        return self.total_steps is not None and len(self.recorded_steps()) < self.total_steps

    def step_count(self) -> int:
        """Number of weight updates recorded."""
        if self.held is not None:
            return self.held[-1] if self.held else 0
        return int(self.updates["step"].max()) if len(self.updates) else 0

    @property
    def streamed(self) -> bool:
        """True for the Trace of a run that handed its nodes, weights and updates on as it went (sink=): they
        are in the folder they were written to, not here."""
        return self.held is not None

    def whole(self, place: str) -> "Trace":
        """This trace, refused in one line naming `place` when its tables were streamed away."""
        if self.streamed:
            raise TracerError(place, "this run's tables were written to a folder as it trained (run(spec, sink=)); "
                                     "give that folder instead (tracer.load_trace reads it)")
        return self

    @property
    def history(self):
        """Every step's weights and every sample's loss of a run that recorded only some steps, else None."""
        return self.values.history if self.values is not None else None

    def epoch_losses(self) -> pd.DataFrame:
        """Mean loss over the samples of each epoch (columns epoch, loss): of every epoch when the run kept a
        history, else of the rows held."""
        if self.values is not None:
            return self.values.epoch_losses()
        return self.losses.groupby("epoch", as_index=False, sort=True)["loss"].mean()

    def epoch_errors(self) -> pd.DataFrame:
        """The error after each epoch whose last step is held (columns epoch, loss): the mean over the data set
        of each sample's loss with the weights the epoch ended with."""
        if self.values is not None:
            return self.values.epoch_errors()
        return self.errors if self.errors is not None else pd.DataFrame({"epoch": [], "loss": []})


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


def labels(names: list[str], repeats: int) -> pd.Categorical:
    """A text column that repeats `names` `repeats` times, stored as a categorical (one byte per row).

    Categories are in network order (first appearance), so sorting by unit sorts in network order.
    """
    position = {n: i for i, n in enumerate(dict.fromkeys(names))}  # a dict: .index() was quadratic in the size
    codes = np.array([position[n] for n in names], dtype=np.int8 if len(position) < 128 else np.int32)
    return pd.Categorical.from_codes(tile(codes, repeats), dtype=category_type(tuple(position)), validate=False)


@functools.lru_cache(maxsize=64)
def category_type(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The type of a text column with these categories, made once per network (checking the categories costs
    more than building a small trace's column; the codes above are in range by construction)."""
    return pd.CategoricalDtype(list(categories))


def param_names(spec) -> tuple[list, list, list]:
    """layer, unit and source of every parameter, in (layer, unit, source) order."""
    layer, unit, source = [], [], []
    for l in spec.layers:
        for u in l.rows:
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
