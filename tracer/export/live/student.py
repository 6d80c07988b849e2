"""Student mode of the live page: the exercise's items, each recomputed from any earlier values, and each classic
mistake's value, compiled to JavaScript from the plan and from the mistakes' substitutions of it.

What `tracer check` does in Python (tracer.grading.check, tracer.grading.mistakes) the page does with these
functions: `own[i](g)` is item i's op over the values `g` gives (the student's own earlier answers, the exact
ones, or those rounded by hand), so an error is carried forward; `mistakes[i][k]` lists what a student making
mistake k writes for item i (`Plan.value_with`: the substituted op, and what follows from it computed again).
`g(r)` gives reference r: an item (0..n-1) or a given of the page (n + the index of `leaves`); P, the
constants of the update, are the spec's (student mode works on the spec's givens), and a mistake's other
learning rate is its own number.
"""
from __future__ import annotations

import json

from ...engine.record import step_sizes
from ...grading.check import TOO_FEW_DIGITS, TRUNCATED, UNEXPLAINED
from ...grading.exercise import Exercise
from ...grading.mistakes import MISTAKES, substitutes
from ...model.plan import Plan
from ...model.rules import Change
from ...options import CHECK_RTOL


def js_of(rule, names) -> str:
    """A rule's JavaScript over the operands' names; an update by its own constants (a mistake's other
    learning rate is not the page's)."""
    return rule.js_own(*names) if isinstance(rule, Change) else rule.js(*names)


class StudentCompiler:
    """The items of an exercise of `steps` of `spec` and their functions, over the slots of the page's plans."""

    def __init__(self, spec, steps: list[int], notation, slots_of, trace=None):
        self.ex = Exercise(spec, steps, notation, trace)
        self.slots_of = slots_of  # step -> the slots of the compiled plan of that step
        self.index = {item.key: i for i, item in enumerate(self.ex.items)}
        self.leaves: list = []
        self.leaf_index: dict = {}
        self.known: dict = {}  # the mistakes' substitutes, made once per op

    def ref(self, step: int, k: tuple) -> int:
        """The reference of plan key `k` in `step`, as Exercise.getter reads it."""
        kind, b, layer, unit, source = k
        given = step - 1 not in self.ex.samples
        if kind in ("x", "y") or (given and kind in ("w", "delta_w_prev")):
            where = (step, self.slots_of(step)[k])
            if where not in self.leaf_index:
                self.leaf_index[where] = len(self.leaves)
                self.leaves.append(list(where))
            return len(self.ex.items) + self.leaf_index[where]
        if kind == "w":
            return self.index[("w_new", step - 1, 0, layer, unit, source)]
        if kind == "delta_w_prev":
            return self.index[("delta_w", step - 1, 0, layer, unit, source)]
        rows = self.ex.samples[step]
        return self.index[(kind, step, rows[b - 1] if b else 0, layer, unit, source)]

    def own(self, item) -> str:
        """The item's op over the values g gives."""
        op = self.ex.op(item)
        return f"function(g){{return {js_of(op.rule, [f'g({self.ref(item.step, k)})' for k in op.operands])};}}"

    def chain(self, item, alt) -> str:
        """The item's value when `alt` computes its key instead of the plan's op (Plan.value_with)."""
        plan, step, lines, names = self.ex.plans[item.step], item.step, [], {}

        def emit(k: tuple) -> str:
            if k in names:
                return names[k]
            if k == alt.key:
                expr = js_of(alt.rule, [f"g({self.ref(step, o)})" for o in alt.operands])
            elif not plan.depends(k, alt.key):
                return f"g({self.ref(step, k)})"
            else:
                expr = js_of(plan[k].rule, [emit(o) for o in plan[k].operands])
            names[k] = f"t{len(names)}"
            lines.append(f"const {names[k]}={expr};")
            return names[k]

        result = emit(self.ex.op(item).key)
        return "function(g){" + "".join(lines) + f"return {result};}}"

    def mistakes(self, item) -> list[list[str]]:
        """For each mistake (MISTAKES' order), the functions of what a student making it writes
        (mistakes.each_mistake)."""
        op, spec = self.ex.op(item), self.ex.spec
        plan = self.ex.plans[item.step]
        operands = [plan[k] for k in op.operands if k in plan]
        out = []
        for mistake in MISTAKES:
            ops = [op] + (operands if mistake.through_operands else [])
            out.append([self.chain(item, alt) for o in ops for alt in substitutes(mistake, o, spec, self.known)])
        return out


MAX_ITEMS = 400  # quantities of a hand exercise; beyond, the page has no student mode (its functions grow fast)


def exercise_size(spec, steps: list[int]) -> int:
    """The quantities an exercise of `steps` asks for: the ops of each step's plan."""
    sizes = step_sizes(len(spec.x), spec.batch_size)
    return sum(len(Plan(spec, sizes[(s - 1) % len(sizes)]).ops) for s in steps)


def exercise_steps(spec, steps: list[int]) -> list[int]:
    """The first of `steps` whose quantities fit a hand exercise: what student mode asks for on a page that
    writes out more (frey-online's 8 steps: the first 5)."""
    asked, size = [], 0
    for step in steps:
        size += exercise_size(spec, [step])
        if size > MAX_ITEMS:
            break
        asked.append(step)
    return asked


def student_parts(spec, steps: list[int], notation, slots_of, trace=None) -> tuple[dict | None, str]:
    """(the data of student mode, the JavaScript of its functions) for the exercise of `steps` (of `trace`, a run
    that recorded them, when there is one); (None, '') when it asks for more than MAX_ITEMS quantities."""
    if exercise_size(spec, steps) > MAX_ITEMS:
        return None, ""
    c = StudentCompiler(spec, steps, notation, slots_of, trace)
    items = c.ex.items
    own = ",\n".join(c.own(item) for item in items)
    mistakes = ",\n".join("[" + ",".join("[" + ",".join(fs) + "]" for fs in c.mistakes(item)) + "]" for item in items)
    data = {"items": [{"label": item.label, "step": item.step,
                       "slot": c.slots_of(item.step)[c.ex.plan_key(item)]} for item in items],
            "leaves": c.leaves, "steps": c.ex.steps,
            "mistakes": [{"name": m.name, "explain": m.explain} for m in MISTAKES],
            "words": {"unexplained": UNEXPLAINED, "truncated": TRUNCATED, "too_few": TOO_FEW_DIGITS},
            "rtol": CHECK_RTOL, "notation": c.ex.names.profile.name}
    constants = {k: getattr(spec, k) for k in ("learning_rate", "weight_decay", "momentum")}  # the spec's givens
    return data, (f"const [TRACER_OWN, TRACER_MISTAKES] = (function(P){{return [[\n{own}],\n[\n{mistakes}]];}})"
                  f"({json.dumps(constants)});\n")
