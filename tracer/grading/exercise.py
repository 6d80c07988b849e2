"""The quantities of a hand-computation exercise, in worked-example order, and how each is computed.

An exercise is the first K steps of a spec. Each quantity (an *item*) has a label in the course's notation
(the answer key students fill in) and can be recomputed from any set of earlier values with the engine's
building blocks (the activation and loss objects), not from new mathematics: that is how `tracer check`
follows a student's own numbers (errors carried forward), traces the example with rounded intermediates,
and tries the classic mistakes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.train import run
from ..errors import TracerError
from ..model.notation import profile
from ..engine.trace import Trace


@dataclass(frozen=True)
class Item:
    """One quantity to compute by hand: kind, where (step, sample, layer, unit, source) and its label."""

    kind: str  # z, a, loss, dE_da, da_dz, delta, grad, G (batch gradient), delta_w, w_new
    step: int
    sample: int  # 0 for per-step quantities (G, delta_w, w_new)
    layer: str = ""
    unit: str = ""
    source: str = ""
    label: str = ""

    @property
    def key(self) -> tuple:
        """What identifies the item whatever the notation (labels differ between notations)."""
        return (self.kind, self.step, self.sample, self.layer, self.unit, self.source)


def exercise_trace(spec, steps: int) -> Trace:
    """The trace of just enough epochs for the first `steps` steps (XOR trains 10,000; an exercise needs 1)."""
    first = run(spec, epochs=1)
    per_epoch = first.step_count()
    if not 1 <= steps <= per_epoch * spec.training.epochs:
        raise TracerError("--steps", f"expected a number of steps from 1 to {per_epoch * spec.training.epochs}")
    return first if steps <= per_epoch else run(spec, epochs=-(-steps // per_epoch))


def exercise_items(trace: Trace, steps: int, notation: str | None = None) -> list[Item]:
    """The items of the first `steps` steps, in the order a person computes them by hand."""
    spec = trace.spec
    names = profile(notation, spec)
    # per sample: forward (z, a per unit), the loss, backward (dE/da, da/dz, delta per unit), the gradients
    per = [(kind, l.name, u, "") for l in spec.layers for u in l.units for kind in ("z", "a")]
    per.append(("loss", "", "", ""))
    per += [(kind, l.name, u, "") for l in reversed(spec.layers) for u in l.units
            for kind in ("dE_da", "da_dz", "delta")]
    per += [("grad", l.name, u, s) for l in spec.layers for u in l.units for s in l.sources]
    items = []
    for step in range(1, steps + 1):
        samples = trace.losses.loc[trace.losses["step"] == step, "sample"].tolist()
        for d in samples:
            for kind, layer, unit, source in per:
                label = names.label(kind, layer or None, unit or None, source or None)
                items.append(Item(kind, step, d, layer, unit, source, _prefix(step, steps, d, samples) + label))
        for kind in (["G"] if len(samples) > 1 else []) + ["delta_w", "w_new"]:
            for l in spec.layers:
                for u in l.units:
                    for s in l.sources:
                        label = names.label({"G": "grad"}.get(kind, kind), l.name, u, s)
                        if kind == "G":
                            label += " (batch)"
                        items.append(Item(kind, step, 0, l.name, u, s, _prefix(step, steps, 0, samples) + label))
    if len({i.label for i in items}) != len(items):
        raise TracerError("--notation", f"the {names.profile.name} notation gives two quantities of this network "
                                        "the same label; use another notation")
    return items


def _prefix(step: int, steps: int, sample: int, samples: list[int]) -> str:
    """'step 2: ' and 'sample 3: ' where an exercise has more than one."""
    out = f"step {step}: " if steps > 1 else ""
    if sample and len(samples) > 1:
        out += f"sample {sample}: "
    return out


def exact_values(trace: Trace, items: list[Item]) -> dict[tuple, float]:
    """The engine's value of every item."""
    nodes = trace.nodes.astype({"layer": str, "unit": str}).set_index(["step", "sample", "layer", "unit"])
    weights = trace.weights.astype({"layer": str, "unit": str, "source": str}) \
        .set_index(["step", "sample", "layer", "unit", "source"])
    updates = trace.updates.astype({"layer": str, "unit": str, "source": str}).set_index(["step", "layer", "unit",
                                                                                          "source"])
    losses = trace.losses.set_index(["step", "sample"])
    out = {}
    for i in items:
        if i.kind in ("z", "a", "dE_da", "da_dz", "delta"):
            out[i.key] = float(nodes.loc[(i.step, i.sample, i.layer, i.unit), i.kind])
        elif i.kind == "loss":
            out[i.key] = float(losses.loc[(i.step, i.sample), "loss"])
        elif i.kind == "grad":
            out[i.key] = float(weights.loc[(i.step, i.sample, i.layer, i.unit, i.source), "grad"])
        else:
            col = {"G": "grad", "delta_w": "delta_w", "w_new": "w_new"}[i.kind]
            out[i.key] = float(updates.loc[(i.step, i.layer, i.unit, i.source), col])
    return out


class Recompute:
    """Each item's value from earlier values (`get`), with the spec's activations, loss and update rule.

    `get(kind, step, sample, layer, unit, source)` returns the value to build on: the student's own, the
    rounded trace's, or the exact one. Mistakes in tracer.mistakes swap one ingredient of these formulas.
    Activations, derivatives, losses and output deltas are the spec's own objects; only the sums and
    products of the definitions (z = sum w x, grad = delta x, the update with decay and momentum) are
    written here, one unit at a time, and tests/test_check.py checks them against the engine's trace.
    """

    def __init__(self, spec, trace: Trace):
        self.spec = spec
        self.layers = {l.name: (k, l) for k, l in enumerate(spec.layers)}
        self.w0 = trace.updates.astype({"layer": str, "unit": str, "source": str}) \
            .set_index(["step", "layer", "unit", "source"])["w_old"]
        self.samples = trace.losses.groupby("step")["sample"].apply(list).to_dict()

    def weight(self, get, step: int, layer: str, unit: str, source: str) -> float:
        """The weight used in `step`: the initial one, or the previous step's new weight (as `get` has it)."""
        if step == 1:
            return float(self.w0.loc[(1, layer, unit, source)])
        return get("w_new", step - 1, 0, layer, unit, source)

    def input(self, get, step: int, sample: int, layer: str, source: str) -> float:
        """What multiplies a weight: 1 for the bias, an input x, or the source unit's activation."""
        if source == "bias":
            return 1.0
        k, _ = self.layers[layer]
        if k == 0:
            return float(self.spec.x[sample - 1, self.spec.inputs.index(source)])
        return get("a", step, sample, self.spec.layers[k - 1].name, source, "")

    def value(self, item: Item, get, weight=None, input_=None, da_dz=None) -> float:
        """The item's value from `get`; `weight`, `input_` and `da_dz` let a mistake replace one ingredient."""
        spec, (k, layer) = self.spec, self.layers.get(item.layer, (None, None))
        weight = weight or (lambda s, src, unit=item.unit, lay=item.layer: self.weight(get, s, lay, unit, src))
        input_ = input_ or (lambda src: self.input(get, item.step, item.sample, item.layer, src))
        kind, step, d = item.kind, item.step, item.sample
        if kind == "z":
            return sum(weight(step, s) * input_(s) for s in layer.sources)
        if kind in ("a", "da_dz"):
            z = np.array([[get("z", step, d, item.layer, u, "") for u in layer.units]])
            j = layer.units.index(item.unit)
            if kind == "a":
                return float(layer.activation.f(z)[0, j])
            a = np.array([[get("a", step, d, item.layer, u, "") for u in layer.units]])
            return float((da_dz or layer.activation.da_dz)(z, a)[0, j])
        out = spec.layers[-1]
        y = spec.y[d - 1][None, :] if d else None
        if kind == "loss":
            a = np.array([[get("a", step, d, out.name, u, "") for u in out.units]])
            z = np.array([[get("z", step, d, out.name, u, "") for u in out.units]])
            return float(spec.loss.value(y, a, z, out.activation)[0])
        if kind == "dE_da":
            if k == len(spec.layers) - 1:
                a = np.array([[get("a", step, d, out.name, u, "") for u in out.units]])
                return float(spec.loss.dE_da(y, a)[0, out.units.index(item.unit)])
            nxt = spec.layers[k + 1]  # Frey eq. (4): sum_k w_jk delta_k with the weights before the update
            return sum(weight(step, item.unit, unit=u, lay=nxt.name) * get("delta", step, d, nxt.name, u, "")
                       for u in nxt.units)
        if kind == "delta":
            row = lambda q: np.array([[get(q, step, d, item.layer, u, "") for u in layer.units]])
            a, dE_da = row("a"), row("dE_da")
            g = da_dz(row("z"), a) if da_dz else row("da_dz")
            j = layer.units.index(item.unit)
            if k == len(spec.layers) - 1:
                return float(spec.loss.output_delta(y, a, dE_da, g, layer.activation)[0, j])
            return float(layer.activation.backward(dE_da, g, a)[0, j])
        if kind == "grad":  # Frey eq. (1): delta_j times what feeds the weight
            return get("delta", step, d, item.layer, item.unit, "") * input_(item.source)
        samples = self.samples[step]
        G = (get("G", step, 0, item.layer, item.unit, item.source) if len(samples) > 1 and kind != "G" else
             sum(get("grad", step, s, item.layer, item.unit, item.source) for s in samples)
             / (len(samples) if spec.training.reduction == "mean" else 1))
        if kind == "G":
            return G
        w = weight(step, item.source)
        if kind == "delta_w":
            if layer.frozen[layer.units.index(item.unit), layer.sources.index(item.source)]:
                return 0.0
            dw = -spec.learning_rate * (G + spec.weight_decay * w)
            if spec.momentum and step > 1:
                dw += spec.momentum * get("delta_w", step - 1, 0, item.layer, item.unit, item.source)
            return dw
        return w + get("delta_w", step, 0, item.layer, item.unit, item.source)  # w_new
