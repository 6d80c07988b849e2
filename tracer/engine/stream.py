"""A run whose nodes, weights and updates tables are handed on a chunk of steps at a time as training goes
(`tracer run --trace`): memory holds one chunk of the recorder's arrays and tables, not the run's, so a trace
of any number of steps can be written. The tables handed on are those `run` builds in memory, in the same
order and cut at the same first non-finite value; the losses table (a few numbers per sample) is kept whole
and comes with the Trace at the end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .epochs import losses_with
from .record import Recorder, diverged_after, first_non_finite, step_tables
from .trace import Trace, weight_matrices

CHUNK_ROWS = 1_000_000  # rows of the weights table per chunk handed on (about 75 MB of table)


def chunk_steps(spec) -> int:
    """Recorded steps per chunk: as many as fill CHUNK_ROWS rows of the weights table."""
    return max(1, CHUNK_ROWS // (min(spec.batch_size, len(spec.x)) * spec.n_weights))


def estimate_bytes(spec, epochs: int, held: int) -> int:
    """Bytes a streamed run of `held` recorded steps holds: one chunk of the recorder's arrays and tables, and
    the few numbers kept per row (data row, loss, loss after the epoch, the losses table) and per step."""
    rows = held * min(spec.batch_size, len(spec.x))
    return Recorder.estimate_bytes(spec, epochs, min(chunk_steps(spec), held)) + 64 * rows + 64 * held


class Stream:
    """Hands the recorder's held steps to `sink(name, table)` whenever its arrays are full and at the end, and
    keeps each row's loss with the weights its epoch ended with (known only when the epoch ends)."""

    def __init__(self, spec, rec, sink):
        self.spec, self.rec, self.sink = spec, rec, sink
        self.kept = 0  # held steps handed on
        self.stopped: str | None = None
        self.final = None  # the weights after the step a divergence cut the trace at
        self.after = np.full(len(rec.losses), np.nan)  # each row's loss after its epoch
        self.errors: dict[int, float] = {}  # epoch -> the mean of every sample's loss after it
        rec.on_full = lambda _: self.flush()

    def flush(self) -> None:
        """Hand on the steps in the recorder's arrays, up to the first non-finite value (then nothing more)."""
        rec = self.rec
        rows, steps = rec.rows, rec.steps
        if self.stopped is not None or (steps == 0 and self.kept):
            return
        stop, why = first_non_finite(self.spec, rec, rows, steps)
        if stop is not None:
            steps, self.stopped = stop + 1, why
            rows = int(rec.first_row[rec.base + steps]) - rec.base_row
            self.final = weight_matrices(self.spec, rec.w_new[steps - 1])
        sizes, row_step, row_epoch = rec.row_keys(rec.base, rec.base + steps)
        sample = rec.sample[rec.base_row:rec.base_row + rows]
        for name, table in step_tables(self.spec, rec, rows, steps, sample, row_step, row_epoch, sizes).items():
            self.sink(name, table)
        self.kept = rec.base + steps
        rec.rows = rec.steps = 0  # handed on: the arrays are free for the next chunk

    def epoch_end(self, epoch: int, theta: np.ndarray) -> None:
        """Every held row of `epoch`: its sample's loss with the weights the epoch ended with, when the epoch's
        last step is held (as StepValues.row_losses_after_epoch has it in memory)."""
        rec = self.rec
        last = int(np.searchsorted(rec.step_ids, epoch * rec.per_epoch))
        if last == len(rec.step_ids) or rec.step_ids[last] != epoch * rec.per_epoch:
            return
        first = int(np.searchsorted(rec.step_epoch, epoch))
        rows = slice(int(rec.first_row[first]), int(rec.first_row[last + 1]))
        after = losses_with(self.spec, theta[None, :])
        self.after[rows] = after[0][rec.sample[rows]]
        self.errors[epoch] = after.mean(axis=1)[0]

    def finish(self, final: list) -> Trace:
        """The Trace of the run: its losses table whole, the other tables handed on (empty here)."""
        self.flush()
        rec = self.rec
        stopped, rows = self.stopped, int(rec.first_row[self.kept])
        held = rec.step_ids[:self.kept]
        last = int(held[-1]) if len(held) else 0
        if stopped is None and not all(np.isfinite(m).all() for m in final):
            stopped = diverged_after(last)
        _, row_step, row_epoch = rec.row_keys(0, self.kept)
        after = self.after[:rows].copy()
        after[row_epoch * rec.per_epoch > last] = np.nan  # its epoch's end is cut off
        losses = pd.DataFrame({"epoch": row_epoch, "step": row_step, "sample": rec.sample[:rows] + 1,
                               "loss": rec.losses[:rows], "loss_after_epoch": after}, copy=False)
        empty = Trace.empty(self.spec, final)
        ends = [e for e in self.errors if e * rec.per_epoch <= last]
        errors = pd.DataFrame({"epoch": np.array(ends, dtype=np.int64),
                               "loss": np.array([self.errors[e] for e in ends], dtype=float)})
        return Trace(empty.nodes, empty.weights, empty.updates, losses, spec=self.spec,
                     final=self.final if self.final is not None else final, stopped=stopped,
                     total_steps=last if self.final is not None else rec.steps_total,
                     held=held.tolist(), errors=errors)
