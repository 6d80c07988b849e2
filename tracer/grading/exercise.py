"""The quantities of a hand-computation exercise, in worked-example order, and how each is recomputed.

An exercise is some steps of a spec (the first K, or a selection such as '1-3,last'). Its items are the ops of
the plan of each step
(tracer.model.plan), named by data row instead of position in the batch and labelled in the course's
notation (the answer key students fill in). Each item is recomputed from any set of earlier values by its
op's rule: that is how `tracer check` follows a student's own numbers (errors carried forward), traces the
example with rounded intermediates, and tries the classic mistakes (a substituted op, tracer.grading.mistakes).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..engine.record import step_sizes
from ..engine.train import run
from ..errors import TracerError
from ..model.notation import profile
from ..model.plan import key
from ..steps import select_steps


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


MAX_STEPS = 100  # steps of one exercise: a hand computation, not a training run


def exercise_steps(spec, steps) -> list[int]:
    """The steps of an exercise: a count K (steps 1..K), step numbers, or a selection text ('1-3,last')."""
    per_epoch = len(step_sizes(len(spec.x), spec.batch_size))
    total = per_epoch * spec.training.epochs
    if isinstance(steps, str) and steps.strip().isdigit():
        steps = int(steps)
    if isinstance(steps, int):
        if not 1 <= steps <= total:
            raise TracerError("--steps", f"expected a number of steps from 1 to {total}, or steps such as 1-3,last")
        chosen = list(range(1, steps + 1))
    elif isinstance(steps, str):
        chosen = select_steps(steps, total)
    else:
        chosen = sorted(set(int(s) for s in steps))
        if not chosen or chosen[0] < 1 or chosen[-1] > total:
            raise TracerError("--steps", f"steps must be within 1..{total}")
    if len(chosen) > MAX_STEPS:
        raise TracerError("--steps", f"{len(chosen)} steps is more than an exercise's {MAX_STEPS}; choose fewer")
    return chosen


def exercise_trace(spec, steps):
    """The trace of just enough epochs for the exercise's steps (XOR trains 10,000; an exercise needs 1)."""
    chosen = exercise_steps(spec, steps)
    per_epoch = len(step_sizes(len(spec.x), spec.batch_size))
    return run(spec, epochs=-(-chosen[-1] // per_epoch), record=chosen)


class Exercise:
    """The first `steps` steps of a spec as items to compute by hand, each with the op that computes it."""

    def __init__(self, spec, steps, notation: str | None = None, trace=None):
        self.spec, self.steps = spec, exercise_steps(spec, steps)
        self.trace = trace if trace is not None else exercise_trace(spec, self.steps)
        self.names = profile(notation, spec)
        self.recorded = self.trace.values  # the engine's values by step and plan key
        self.samples = {s: self.recorded.samples(s) for s in self.steps}
        self.plans = {s: self.recorded.plan(s) for s in self.steps}
        self.items = [self._item(s, op) for s in self.steps for op in self.plans[s].ops]
        if len({i.label for i in self.items}) != len(self.items):
            raise TracerError("--notation", f"the {self.names.profile.name} notation gives two quantities of this "
                                            "network the same label; use another notation")
        self.exact = self._exact()
        self.substitutes: dict = {}  # the classic mistakes' ops, made once per exercise (mistakes.substitutes)

    def _item(self, step: int, op) -> Item:
        rows = self.samples[step]
        sample = rows[op.sample - 1] if op.sample else 0
        label = self.names.label({"G": "grad"}.get(op.kind, op.kind), op.layer or None, op.unit or None,
                                 op.source or None)
        if op.kind == "G":
            label += " (batch)"
        prefix = f"step {step}: " if len(self.steps) > 1 else ""
        if sample and len(rows) > 1:
            prefix += f"sample {sample}: "
        return Item(op.kind, step, sample, op.layer, op.unit, op.source, prefix + label)

    def _exact(self) -> dict[tuple, float]:
        """The engine's value of every item."""
        return {item.key: self.recorded.value(item.step, self.plan_key(item)) for item in self.items}

    def plan_key(self, item: Item) -> tuple:
        """The item's key in the plan of its step (samples by position in the batch)."""
        b = self.samples[item.step].index(item.sample) + 1 if item.sample else 0
        return key(item.kind, b, item.layer, item.unit, item.source)

    def op(self, item: Item):
        """The op of the plan that computes the item."""
        return self.plans[item.step][self.plan_key(item)]

    def getter(self, step: int, get):
        """A plan's `get` for `step` from an item-style `get(kind, step, sample, layer, unit, source)`."""
        rows, given = self.samples[step], step - 1 not in self.samples

        def plan_get(k: tuple) -> float:
            kind, b, layer, unit, source = k
            if kind in ("x", "y") or (given and kind in ("w", "delta_w_prev")):
                return self.recorded.value(step, k)
            if kind == "w":
                return get("w_new", step - 1, 0, layer, unit, source)
            if kind == "delta_w_prev":
                return get("delta_w", step - 1, 0, layer, unit, source)
            return get(kind, step, rows[b - 1] if b else 0, layer, unit, source)
        return plan_get

    def given(self, step: int, kind: str, layer: str, unit: str, source: str) -> float:
        """What the exercise gives before a step whose step before is not in it: its weights, and (momentum) the
        change of the step before."""
        return self.recorded.value(step, key(kind, 0, layer, unit, source))

    def value(self, item: Item, get, op=None) -> float:
        """The item recomputed from earlier values `get` (the student's, rounded, or exact); `op` may replace
        the item's own op (a mistake substituted)."""
        return float((op or self.op(item)).value(self.getter(item.step, get)))


def given_rows(ex: Exercise, names) -> list[tuple[str, object]]:
    """What the student is given: network, loss, update, the samples used and the weights before the steps."""
    spec = ex.spec
    rows = [(f"layer {l.name}", f"units {l.described_units}; activation {l.activation.describe()}; {l.bias_kind}")
            for l in spec.layers]
    rows += [("loss", spec.loss.formula), ("update", names.profile.update),
             ("training", f"{spec.training.mode}, batch size {spec.batch_size}, {spec.training.update_order} update"),
             (names.label("eta", None, None), spec.learning_rate)]
    if spec.weight_decay:
        rows.append(("weight decay", spec.weight_decay))
    if spec.momentum:
        rows.append(("momentum", spec.momentum))
    for d in sorted({d for s in ex.steps for d in ex.samples[s]}):
        rows += [(f"sample {d}: {names.label('x', None, None, s)}", v) for s, v in zip(spec.inputs, spec.x[d - 1])]
        rows += [(f"sample {d}: {names.label('target', spec.output.name, u)}", v)
                 for u, v in zip(spec.output.units, spec.y[d - 1])]
    starts = [s for s in ex.steps if s - 1 not in ex.steps]
    for s in starts:
        before = "" if starts == [1] else f"before step {s}: "
        for l in spec.layers:
            for j, u in enumerate(l.rows):
                for i, src in enumerate(l.sources):
                    fixed = " (kept fixed)" if l.frozen[j, i] else ""
                    rows.append((before + names.label("w", l.name, u, src) + fixed, ex.given(s, "w", l.name, u, src)))
                    if spec.momentum and s > 1:
                        rows.append((f"change of step {s - 1}: " + names.label("delta_w", l.name, u, src),
                                     ex.given(s, "delta_w_prev", l.name, u, src)))
    return rows
