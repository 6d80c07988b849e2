"""The plan compiled to JavaScript: every op's `js` form assigned to one slot of an array, in the plan's order.

A compiled plan is one function `function(v, P)`: the page's runtime puts a step's givens into their slots
(`leaves`), calls it, and reads the step's new weights, changes and losses from their slots. P holds the
editable constants (learning_rate, weight_decay, momentum) that the update rule's JavaScript names. Nothing
here computes a number: the arithmetic is the rules' own `js` forms (tracer.model.rules), in the order their
`value` computes, so the page's numbers equal the engine's to the last bits.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...model.plan import LEAVES, Plan

LEAF_CODES = {"x": 0, "y": 1, "w": 2, "delta_w_prev": 3}  # the runtime's sources of a given


@dataclass(frozen=True)
class CompiledPlan:
    """One plan as JavaScript: `source` fills slots 0..size-1 from the leaves' slots; `slots` maps plan keys."""

    m: int
    slots: dict
    source: str
    leaves: list  # [slot, LEAF_CODES[kind], sample 1..m, index of the input, output or parameter]
    w_new: list  # the slot of each parameter's new weight (spec order), or empty for a forward plan
    delta_w: list
    loss: list  # the slot of each sample's loss

    def data(self) -> dict:
        """What the runtime reads besides the function."""
        return {"size": len(self.slots), "leaves": self.leaves, "w_new": self.w_new, "delta_w": self.delta_w,
                "loss": self.loss}


def compile_plan(plan: Plan, phases: tuple = ()) -> CompiledPlan:
    """The ops of `plan` (only those of `phases` when given: ('forward', 'loss') for the error after an epoch)
    as one JavaScript function over a slot array."""
    spec = plan.spec
    ops = [op for op in plan.ops if not phases or op.phase in phases]
    leaves = list(dict.fromkeys(k for op in ops for k in op.operands if k[0] in LEAVES))
    slots = {k: i for i, k in enumerate(leaves + [op.key for op in ops])}
    name = {k: f"v[{i}]" for k, i in slots.items()}
    body = "".join(f"{name[op.key]}={op.rule.js(*(name[k] for k in op.operands))};\n" for op in ops)
    params = spec.parameters
    param_index = {p: i for i, p in enumerate(params)}
    inputs = {s: i for i, s in enumerate(spec.inputs)}
    outputs = {u: i for i, u in enumerate(spec.output.units)}

    def index(k: tuple) -> int:
        kind, _, layer, unit, source = k
        return inputs[source] if kind == "x" else outputs[unit] if kind == "y" else param_index[(layer, unit, source)]

    has_update = any(op.kind == "w_new" for op in ops)
    return CompiledPlan(
        m=plan.m, slots=slots, source="function(v,P){\n" + body + "}",
        leaves=[[slots[k], LEAF_CODES[k[0]], k[1], index(k)] for k in leaves],
        w_new=[slots[("w_new", 0, *p)] for p in params] if has_update else [],
        delta_w=[slots[("delta_w", 0, *p)] for p in params] if has_update else [],
        loss=[slots[("loss", b, "", "", "")] for b in range(1, plan.m + 1)])
