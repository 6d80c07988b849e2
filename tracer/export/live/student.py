"""Student mode of the live page: the exercise's items and classic mistakes compiled to JavaScript
(tracer.grading.compiled), each given a slot of the page's plans; P, the constants of the update, are the
spec's (student mode works on the spec's givens).
"""
from __future__ import annotations

import json

from ...engine.record import step_sizes
from ...grading.verdict import TOO_FEW_DIGITS, TRUNCATED, UNEXPLAINED
from ...grading.compiled import StudentCompiler, update_constants
from ...grading.mistakes import MISTAKES
from ...model.plan import Plan
from ...options import CHECK_RTOL

MAX_ITEMS = 400  # quantities of a hand exercise; beyond, the page has no student mode (its functions grow fast)


def exercise_size(spec, steps: list[int]) -> int:
    """The quantities an exercise of `steps` asks for: the ops of each step's plan."""
    sizes = step_sizes(len(spec.x), spec.batch_size)
    return sum(len(Plan(spec, sizes[(s - 1) % len(sizes)]).ops) for s in steps)


def fitting_steps(spec, steps: list[int]) -> list[int]:
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
    c = StudentCompiler(spec, steps, notation, lambda step, k: (step, slots_of(step)[k]), trace)
    items = c.ex.items
    own = ",\n".join(c.own(item) for item in items)
    mistakes = ",\n".join("[" + ",".join("[" + ",".join(fs) + "]" for fs in c.mistakes(item)) + "]" for item in items)
    data = {"items": [{"label": item.label, "step": item.step,
                       "slot": slots_of(item.step)[c.ex.plan_key(item)]} for item in items],
            "leaves": [list(leaf) for leaf in c.leaves], "steps": c.ex.steps,
            "mistakes": [{"name": m.name, "explain": m.explain} for m in MISTAKES],
            "words": {"unexplained": UNEXPLAINED, "truncated": TRUNCATED, "too_few": TOO_FEW_DIGITS},
            "rtol": CHECK_RTOL, "notation": c.ex.names.profile.name}
    return data, (f"const [TRACER_OWN, TRACER_MISTAKES] = (function(P){{return [[\n{own}],\n[\n{mistakes}]];}})"
                  f"({json.dumps(update_constants(spec))});\n")  # the spec's constants: student mode's givens
