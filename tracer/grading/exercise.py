"""The quantities of a hand-computation exercise, in worked-example order, and how each is recomputed.

An exercise is the first K steps of a spec. Its items are the ops of the plan of each step
(tracer.model.plan), named by data row instead of position in the batch and labelled in the course's
notation (the answer key students fill in). Each item is recomputed from any set of earlier values by its
op's rule: that is how `tracer check` follows a student's own numbers (errors carried forward), traces the
example with rounded intermediates, and tries the classic mistakes (a substituted op, tracer.grading.mistakes).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..engine.stepview import step_samples, step_values
from ..engine.train import run
from ..errors import TracerError
from ..model.notation import profile
from ..model.plan import Plan, key


@dataclass(frozen=True)
class Item:
    """One quantity to compute by hand: kind, where (step, sample, layer, unit, source) and its label."""

    kind: str  # z, a, loss, dE_da, da_dz, delta, grad, G (batch gradient), delta_w, w_new
    step: int
    sample: int  # the row of the data set; 0 for per-step quantities (G, delta_w, w_new)
    layer: str = ""
    unit: str = ""
    source: str = ""
    label: str = ""

    @property
    def key(self) -> tuple:
        """What identifies the item whatever the notation (labels differ between notations)."""
        return (self.kind, self.step, self.sample, self.layer, self.unit, self.source)


def exercise_trace(spec, steps: int):
    """The trace of just enough epochs for the first `steps` steps (XOR trains 10,000; an exercise needs 1)."""
    first = run(spec, epochs=1)
    per_epoch = first.step_count()
    if not 1 <= steps <= per_epoch * spec.training.epochs:
        raise TracerError("--steps", f"expected a number of steps from 1 to {per_epoch * spec.training.epochs}")
    return first if steps <= per_epoch else run(spec, epochs=-(-steps // per_epoch))


class Exercise:
    """The first `steps` steps of a spec as items to compute by hand, each with the op that computes it."""

    def __init__(self, spec, steps: int, notation: str | None = None, trace=None):
        self.spec, self.steps = spec, steps
        self.trace = trace if trace is not None else exercise_trace(spec, steps)
        self.names = profile(notation, spec)
        self.samples = {s: step_samples(self.trace, s) for s in range(1, steps + 1)}
        self.plans = {s: Plan(spec, len(rows)) for s, rows in self.samples.items()}
        self.items = [self._item(s, op) for s in range(1, steps + 1) for op in self.plans[s].ops]
        if len({i.label for i in self.items}) != len(self.items):
            raise TracerError("--notation", f"the {self.names.profile.name} notation gives two quantities of this "
                                            "network the same label; use another notation")
        self.exact = self._exact()

    def _item(self, step: int, op) -> Item:
        rows = self.samples[step]
        sample = rows[op.sample - 1] if op.sample else 0
        label = self.names.label({"G": "grad"}.get(op.kind, op.kind), op.layer or None, op.unit or None,
                                 op.source or None)
        if op.kind == "G":
            label += " (batch)"
        prefix = f"step {step}: " if self.steps > 1 else ""
        if sample and len(rows) > 1:
            prefix += f"sample {sample}: "
        return Item(op.kind, step, sample, op.layer, op.unit, op.source, prefix + label)

    def _exact(self) -> dict[tuple, float]:
        """The engine's value of every item."""
        out = {}
        for s in range(1, self.steps + 1):
            values = step_values(self.trace, s)
            for item in (i for i in self.items if i.step == s):
                out[item.key] = values[self.plan_key(item)]
        return out

    def plan_key(self, item: Item) -> tuple:
        """The item's key in the plan of its step (samples by position in the batch)."""
        b = self.samples[item.step].index(item.sample) + 1 if item.sample else 0
        return key(item.kind, b, item.layer, item.unit, item.source)

    def op(self, item: Item):
        """The op of the plan that computes the item."""
        return self.plans[item.step][self.plan_key(item)]

    def getter(self, step: int, get):
        """A plan's `get` for `step` from an item-style `get(kind, step, sample, layer, unit, source)`."""
        spec, rows = self.spec, self.samples[step]

        def plan_get(k: tuple) -> float:
            kind, b, layer, unit, source = k
            if kind == "x":
                return float(spec.x[rows[b - 1] - 1, spec.inputs.index(source)])
            if kind == "y":
                return float(spec.y[rows[b - 1] - 1, spec.output.units.index(unit)])
            if kind == "w":
                return self.initial(layer, unit, source) if step == 1 else get("w_new", step - 1, 0, layer, unit, source)
            if kind == "delta_w_prev":
                return 0.0 if step == 1 else get("delta_w", step - 1, 0, layer, unit, source)
            return get(kind, step, rows[b - 1] if b else 0, layer, unit, source)
        return plan_get

    def initial(self, layer: str, unit: str, source: str) -> float:
        """An initial weight, as the exercise gives it."""
        l = next(l for l in self.spec.layers if l.name == layer)
        return float(l.weights[l.units.index(unit), l.sources.index(source)])

    def value(self, item: Item, get, op=None) -> float:
        """The item recomputed from earlier values `get` (the student's, rounded, or exact); `op` may replace
        the item's own op (a mistake substituted)."""
        return float((op or self.op(item)).value(self.getter(item.step, get)))
