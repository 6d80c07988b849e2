"""StepValues: the one bridge from a recorded run to the plan, a step's values by plan key.

It keeps the engine's (or a recorder's) arrays as they were recorded: rows are the samples processed in
training order, columns units or parameters in network order. The plan counts a step's samples 1..m in the
order they were processed; the trace names them by their row of the data set. StepValues translates, and owns
what partial recording means: which steps are held, the change before a held step whose step before is not
held (momentum needs it), and the history of a run that recorded only some steps. The workbook, the report,
exercises, check, the mistakes and diff read values through it; the four DataFrames are built from the same
arrays (tracer.engine.record.build_trace).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..model.grid import term_names
from ..model.plan import Plan
from .epochs import losses_after_epochs

if TYPE_CHECKING:  # pandas only for the per-epoch tables: tracer diff reads dependency_ranks without it
    import pandas as pd

NODE_KINDS = ("z", "a", "da_dz", "dE_da", "delta")
STEP_KINDS = ("w", "G", "delta_w", "w_new")  # per step: the weights before, the batch gradient, the change, after


@dataclass
class History:
    """Every sample's loss and every step's weights after it, kept for a run that records only some steps
    (a report's charts and a workbook's loss table cover the whole run)."""

    loss: np.ndarray  # every sample processed, in training order
    epoch: np.ndarray  # the epoch of each
    w_after: np.ndarray  # steps x parameters

    @classmethod
    def empty(cls, samples: int, steps: int, params: int) -> "History":
        return cls(np.empty(samples), np.empty(samples, np.int64), np.empty((steps, params)))

    def finish(self, samples: int, steps: int) -> "History":
        """The history of a run that processed `samples` samples in `steps` steps (it may stop early)."""
        return History(self.loss[:samples], self.epoch[:samples], self.w_after[:steps])


class StepValues:
    """The recorded steps of a run by plan key: `nodes[kind]` (rows x units), `grads` and `loss` per row,
    `per_step[kind]` (steps x parameters) for STEP_KINDS, the data row of every row (`sample`, 0-based), the
    step of every held step (`step_ids`) and where its rows begin (`first_row`, one more than the steps)."""

    def __init__(self, spec, sample, step_ids, first_row, epochs, nodes: dict, grads, loss, per_step: dict,
                 change_before: dict, history: History | None = None, terms=None):
        self.spec, self.sample, self.step_ids, self.first_row = spec, sample, step_ids, first_row
        self.terms = terms  # rows x every conv weight's gradient terms (tracer.engine.grids.Taps), or None
        self.epochs, self.nodes, self.grads, self.loss, self.per_step = epochs, nodes, grads, loss, per_step
        self.change_before, self.history = change_before, history
        self.index = {int(s): k for k, s in enumerate(step_ids)}
        self.sizes = np.diff(first_row)  # samples in each held step
        self.row_step, self.row_epoch = np.repeat(step_ids, self.sizes), np.repeat(epochs, self.sizes)
        self.plans: dict[int, Plan] = {}

    # the column of each unit and parameter, made when first asked (a million parameters' names take 150 MB)
    @functools.cached_property
    def unit_index(self) -> dict:
        return {(l.name, u): i for i, (l, u) in enumerate((l, u) for l in self.spec.layers for u in l.units)}

    @functools.cached_property
    def param_index(self) -> dict:
        return {p: i for i, p in enumerate(self.spec.parameters)}

    @functools.cached_property
    def term_index(self) -> dict:
        """(layer, position, weight) -> column of `terms`: the conv layers' taps in network order."""
        keys = [(layer.name, position, source) for layer in self.spec.layers if layer.shared
                for _, source, position in term_names(layer)]
        return {k: i for i, k in enumerate(keys)}

    @functools.cached_property
    def input_index(self) -> dict:
        return {s: i for i, s in enumerate(self.spec.inputs)}

    @functools.cached_property
    def output_index(self) -> dict:
        return {u: i for i, u in enumerate(self.spec.output.units)}

    # -- which steps --------------------------------------------------------------------------------
    def __contains__(self, step: int) -> bool:
        return step in self.index

    def steps(self) -> list[int]:
        """The steps held, in order."""
        return self.step_ids.tolist()

    def rows(self, step: int) -> range:
        """The rows of a held step (samples processed, in order)."""
        k = self.index[step]
        return range(int(self.first_row[k]), int(self.first_row[k + 1]))

    def samples(self, step: int) -> list[int]:
        """The data rows (1-based) processed in `step`, in order."""
        rows = self.rows(step)
        return (self.sample[rows.start:rows.stop] + 1).tolist()

    def plan(self, step: int) -> Plan:
        """The plan of a held step."""
        return self.plan_of(len(self.rows(step)))

    def plan_of(self, m: int) -> Plan:
        """The plan of a step of m samples, made once for every reader of this run."""
        if m not in self.plans:
            self.plans[m] = Plan(self.spec, m)
        return self.plans[m]

    # -- values by plan key ---------------------------------------------------------------------------
    def value(self, step: int, k: tuple) -> float:
        """The recorded value of plan key `k` in a held step, leaves included."""
        kind, b, layer, unit, source = k
        i = self.index[step]
        r = int(self.first_row[i]) + b - 1
        if kind in NODE_KINDS:
            return float(self.nodes[kind][r, self.unit_index[(layer, unit)]])
        if kind == "loss":
            return float(self.loss[r])
        if kind == "x":
            return float(self.spec.x[self.sample[r], self.input_index[source]])
        if kind == "y":
            return float(self.spec.y[self.sample[r], self.output_index[unit]])
        if kind == "contrib":
            return float(self.terms[r, self.term_index[(layer, unit, source)]])
        p = self.param_index[(layer, unit, source)]
        if kind == "grad":
            return float(self.grads[r, p])
        if kind == "delta_w_prev":
            return float(self.change_before_step(step)[p])
        return float(self.per_step[kind][i, p])

    def parameters(self, step: int, kind: str) -> np.ndarray:
        """Every parameter's `kind` (STEP_KINDS) in a held step, in the spec's layer, unit, source order."""
        return self.per_step[kind][self.index[step]]

    def layer(self, kind: str, name: str) -> np.ndarray:
        """A per-unit quantity (NODE_KINDS) of one layer over every row held: rows x the layer's units."""
        columns = [i for (layer, _), i in self.unit_index.items() if layer == name]
        return self.nodes[kind][:, columns[0]:columns[-1] + 1]

    def epoch(self, step: int) -> int:
        """The epoch of a held step."""
        return int(self.epochs[self.index[step]])

    def getter(self, step: int):
        """`get(key)` for a plan of `step`: what Plan.evaluate and Op.value take."""
        return lambda k: self.value(step, k)

    def change_before_step(self, step: int) -> np.ndarray:
        """delta w of the step before `step` (momentum's givens): recorded, kept by the recorder when the step
        before was not recorded, or zero before the first step."""
        before = self.index.get(step - 1)
        if before is not None:
            return self.per_step["delta_w"][before]
        if step in self.change_before:
            return self.change_before[step]
        return np.zeros(self.spec.n_weights)

    def leaves(self, step: int) -> dict:
        """The givens of a step: inputs and targets of its samples, the weights before it, the changes before."""
        plan = self.plan(step)
        return {k: self.value(step, k) for k in plan.leaves()}

    def values(self, step: int) -> dict:
        """Every value recorded in `step`, by plan key (G only for steps of more than one sample)."""
        return {op.key: self.value(step, op.key) for op in self.plan(step).ops}

    # -- the whole run ------------------------------------------------------------------------------
    def epoch_losses(self) -> pd.DataFrame:
        """Mean loss over the samples of each epoch: columns epoch, loss (of every epoch, with a history)."""
        if self.history is not None:
            epoch, loss = self.history.epoch, self.history.loss
        else:
            epoch, loss = self.row_epoch, self.loss
        import pandas as pd

        frame = pd.DataFrame({"epoch": epoch, "loss": loss})
        return frame.groupby("epoch", as_index=False, sort=True)["loss"].mean()

    @functools.cached_property
    def after_epochs(self) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, every sample's loss with the weights each epoch ended with: epochs x samples), for the epochs
        whose last step is held (every epoch with a history)."""
        w_after = self.history.w_after if self.history is not None else None
        return losses_after_epochs(self.spec, self.step_ids, self.per_step["w_new"], w_after)

    def row_losses_after_epoch(self) -> np.ndarray:
        """Each row's sample's loss with the weights its epoch ended with (NaN where that step is not held)."""
        epochs, losses = self.after_epochs
        out = np.full(len(self.sample), np.nan)
        if len(epochs):
            where = np.minimum(np.searchsorted(epochs, self.row_epoch), len(epochs) - 1)
            known = epochs[where] == self.row_epoch
            out[known] = losses[where[known], self.sample[known]]
        return out

    def epoch_errors(self) -> pd.DataFrame:
        """The error after each epoch: the mean over the data set of each sample's loss with the weights the epoch
        ended with (columns epoch, loss); the sum a book may print is n times it."""
        epochs, losses = self.after_epochs
        import pandas as pd

        return pd.DataFrame({"epoch": epochs, "loss": losses.mean(axis=1) if len(epochs) else np.zeros(0)})

    def weights_after(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, weights after each of them as steps x parameters): every step with a history, else the
        steps held."""
        if self.history is not None:
            return np.arange(1, len(self.history.w_after) + 1), self.history.w_after
        return self.step_ids, self.per_step["w_new"]

    def samples_processed(self) -> int:
        """Samples processed in the run (the rows held when every step is recorded)."""
        return len(self.history.loss) if self.history is not None else len(self.loss)


def dependency_ranks(spec) -> dict:
    """Where each trace quantity of each layer comes in a step, from the plan: (table, quantity, layer) ->
    (stage, is_update, rank). Sorting a step's rows by (stage, is_update, sample, rank) puts every value after
    those it depends on: `tracer diff` names the first divergence in this order, so the root cause is named."""
    plan = Plan(spec, 1)
    first: dict = {}
    for position, op in enumerate(plan.ops):
        first.setdefault((op.kind, op.layer), (op.stage, position))
    ranks = {("nodes", "target", layer.name): (0, 0, -1.0) for layer in spec.layers}
    for layer in spec.layers:
        name = layer.name
        stage, z = first[("z", name)]
        ranks[("weights", "w", name)] = (stage, 0, z - 0.5)
        ranks[("weights", "input", name)] = (stage, 0, z - 0.25)
        for kind in ("z", "a", "da_dz", "dE_da", "delta"):
            stage, at = first[(kind, name)]
            ranks[("nodes", kind, name)] = (stage, 0, float(at))
        if not layer.weights.size:  # a pool: no weights, no rows in the weights and updates tables
            continue
        stage, at = first[("grad", name)]
        ranks[("weights", "grad", name)] = (stage, 0, float(at))
        stage, change = first[("delta_w", name)]
        ranks[("updates", "w_old", name)] = (stage, 1, change - 0.5)
        ranks[("updates", "grad", name)] = (stage, 1, change - 0.25)
        ranks[("updates", "delta_w", name)] = (stage, 1, float(change))
        ranks[("updates", "w_new", name)] = (stage, 1, float(first[("w_new", name)][1]))
    stage, at = first[("loss", "")]
    ranks[("losses", "loss", "")] = (stage, 0, float(at))
    return ranks
