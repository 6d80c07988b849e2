"""A run's schedule without the run: which samples each step processes and in which epoch, every value unknown.

The live page writes the steps of a spec's other conventions (tracer.export.live.worlds) from this step view:
their lines name the plan's slots, and the browser computes the numbers, so training each convention here too
would only cost time (xor's 40,000 steps take 2 s a convention).
"""
from __future__ import annotations

import numpy as np

from .record import step_sizes
from .stepview import NODE_KINDS, STEP_KINDS, StepValues
from .train import epoch_orders


def unknown_steps(spec, steps: list[int]) -> StepValues:
    """The step view of `steps` of a run of `spec`: the engine's schedule (shuffled as the spec's seed
    shuffles), every recorded value NaN."""
    sizes = step_sizes(len(spec.x), spec.batch_size)
    starts = np.cumsum([0] + sizes)
    wanted = sorted(set(steps))
    epoch_of = lambda step: (step - 1) // len(sizes) + 1
    shuffled = {}  # the orders of the epochs wanted; unshuffled, every epoch is in the data's order
    if spec.training.shuffle and wanted:
        needed = {epoch_of(s) for s in wanted}
        shuffled = {e: order for e, order in enumerate(epoch_orders(spec, max(needed)), start=1) if e in needed}
    in_order = np.arange(len(spec.x))
    sample, first_row, epochs = [], [0], []
    for step in wanted:
        at = (step - 1) % len(sizes)
        sample.extend(shuffled.get(epoch_of(step), in_order)[starts[at]:starts[at + 1]].tolist())
        first_row.append(len(sample))
        epochs.append(epoch_of(step))
    rows, units, params = len(sample), sum(len(l.units) for l in spec.layers), spec.n_weights
    terms = spec.n_terms  # a conv's or rnn's gradient terms
    unknown = lambda *shape: np.full(shape, np.nan)
    return StepValues(spec, np.array(sample, dtype=np.int64), np.array(wanted, dtype=np.int64),
                      np.array(first_row, dtype=np.int64), np.array(epochs, dtype=np.int64),
                      {kind: unknown(rows, units) for kind in NODE_KINDS}, unknown(rows, params), unknown(rows),
                      {kind: unknown(len(wanted), params) for kind in STEP_KINDS},
                      {s: unknown(params) for s in wanted}, terms=unknown(rows, terms) if terms else None)
