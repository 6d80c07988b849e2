"""A step of a trace in the plan's keys: its givens (the plan's leaves) and every recorded value.

The plan counts a step's samples 1..m in the order they were processed; the trace names them by their
row of the data set. These functions translate, so a plan can be evaluated on a trace's givens and
compared with the trace's values (tests, exercises, grading).
"""
from __future__ import annotations

from ..model.plan import key

NODE_KINDS = ("z", "a", "da_dz", "dE_da", "delta")


def step_samples(trace, step: int) -> list[int]:
    """The data rows (1-based) processed in `step`, in order."""
    return trace.losses.loc[trace.losses["step"] == step, "sample"].tolist()


def step_leaves(trace, step: int) -> dict:
    """The givens of a step: inputs and targets of its samples, the weights before it, the changes before."""
    spec, out = trace.spec, trace.spec.layers[-1]
    leaves = {}
    for b, d in enumerate(step_samples(trace, step), start=1):
        leaves.update({key("x", b, source=s): float(v) for s, v in zip(spec.inputs, spec.x[d - 1])})
        leaves.update({key("y", b, out.name, u): float(v) for u, v in zip(out.units, spec.y[d - 1])})
    updates = trace.updates
    before = updates[updates["step"] == step - 1]
    for r in updates[updates["step"] == step].itertuples(index=False):
        leaves[key("w", 0, str(r.layer), str(r.unit), str(r.source))] = float(r.w_old)
    prev = {(str(r.layer), str(r.unit), str(r.source)): float(r.delta_w) for r in before.itertuples(index=False)}
    weights = [k for k in leaves if k[0] == "w"]
    if not prev and step in trace.change_before:  # the step before was not recorded
        prev = {k[2:]: float(v) for k, v in zip(weights, trace.change_before[step])}
    for (_, _, layer, unit, source) in weights:
        leaves[key("delta_w_prev", 0, layer, unit, source)] = prev.get((layer, unit, source), 0.0)
    return leaves


def step_values(trace, step: int) -> dict:
    """Every value the trace recorded in `step`, by plan key (G only for steps of more than one sample)."""
    samples = step_samples(trace, step)
    position = {d: b for b, d in enumerate(samples, start=1)}
    values = {}
    nodes = trace.nodes[trace.nodes["step"] == step]
    for r in nodes.itertuples(index=False):
        for kind in NODE_KINDS:
            values[key(kind, position[r.sample], str(r.layer), str(r.unit))] = float(getattr(r, kind))
    for r in trace.losses[trace.losses["step"] == step].itertuples(index=False):
        values[key("loss", position[r.sample])] = float(r.loss)
    for r in trace.weights[trace.weights["step"] == step].itertuples(index=False):
        values[key("grad", position[r.sample], str(r.layer), str(r.unit), str(r.source))] = float(r.grad)
    for r in trace.updates[trace.updates["step"] == step].itertuples(index=False):
        where = (str(r.layer), str(r.unit), str(r.source))
        if len(samples) > 1:
            values[key("G", 0, *where)] = float(r.grad)
        values[key("delta_w", 0, *where)] = float(r.delta_w)
        values[key("w_new", 0, *where)] = float(r.w_new)
    return values
