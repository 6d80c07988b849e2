"""The live page: the report's worked steps, every number of them computed in the browser from the compiled plan.

The page is the report's lines (label = formula = numbers = value, tracer.export.html.report) in which every
number is a slot: an operand of the plan, a constant the page lets you edit, or the value a line ends with.
Python writes the page with the engine's numbers in the slots (so it reads and prints without JavaScript);
the runtime (templates/_live.js.j2) trains the network again in the browser with the plan compiled to
JavaScript (tracer.export.live.compile) whenever a given is edited, and writes every slot again. The page
needs no server and no network: the runtime, the compiled plan and the data are inside it.
"""
from __future__ import annotations

import dataclasses
import json

from markupsafe import Markup

from ...engine.record import Recording, step_sizes
from ...engine.train import epoch_orders, run
from ...errors import TracerError
from ...grading.numbers import Rounding
from ...io.atomic import write_text
from ...io.resources import render_template
from ...model.expr import Param, Ref
from ...model.notation import PROFILES, profile
from ...model.plan import Plan
from ...model.spec import spec_document
from ..html.mathml import Fmt, Renderer, to_mathml
from ..html.report import StepWriter, chosen_steps
from ..html.svg import network_figure
from .compile import compile_plan
from .student import MAX_ITEMS, student_parts

INFIX = '<mo form="infix">'  # a term's sign, spaced as an operator between two terms
CONSTANTS = {"eta": "learning_rate", "lambda": "weight_decay", "mu": "momentum"}  # Params the page edits
EDITABLE = ("learning_rate", "momentum", "weight_decay")


def write_live(spec, path, notation: str | None = None, steps: str | None = None, digits: int = 4,
               epochs: int | None = None, exercise: bool = False, rounding: Rounding | None = None) -> None:
    """Write the live page of `spec` to `path` (atomically, self-contained, deterministic)."""
    write_text(path, live_html(spec, notation=notation, steps=steps, digits=digits, epochs=epochs,
                               exercise=exercise, rounding=rounding))


def live_html(spec, notation: str | None = None, steps: str | None = None, digits: int = 4,
              epochs: int | None = None, exercise: bool = False, rounding: Rounding | None = None) -> str:
    """The live page of `spec` as one HTML string: the chosen steps written out in the notation, every given
    an input field, and the plan compiled to JavaScript that recomputes every number when one is edited; its
    student mode (open first with `exercise`) asks for each quantity of those steps and judges each answer as
    `tracer check` does under `rounding` (default: as each answer is written).

    >>> write_text("ekman.live.html", live_html(load_spec("ekman")))
    """
    Fmt(digits)  # the same check of digits as the report
    if epochs and epochs != spec.training.epochs:
        spec = spec.replace(training=dataclasses.replace(spec.training, epochs=epochs))
    n_steps = spec.training.epochs * len(step_sizes(len(spec.x), spec.batch_size))
    chosen, steps_note = chosen_steps(steps if steps is not None else spec.steps, n_steps)
    trace = run(spec, record=Recording(chosen))
    names = profile(notation, spec)
    writer = LiveStepWriter(trace, names, Fmt(digits))
    compiled = {m: writer.compiled(m) for m in sorted(set(step_sizes(len(spec.x), spec.batch_size)))}
    forward = compile_plan(Plan(spec, 1), phases=("forward", "loss"))
    plans_js = ("const TRACER_PLANS={" + ",".join(f"{m}:{c.source}" for m, c in compiled.items()) + "};\n"
                f"const TRACER_FORWARD={forward.source};\n")
    policy = rounding or Rounding()
    slots_of = lambda step: writer.compiled(len(trace.values.rows(step))).slots
    student, student_js = student_parts(spec, chosen, notation, slots_of, trace)
    if student is None and exercise:
        raise TracerError("--exercise", f"the steps shown ask for more than {MAX_ITEMS} quantities, more than a hand "
                                        "exercise; choose fewer steps (--steps 1) or a smaller network")
    if student is not None:
        student["policy"] = {"kind": policy.kind, "n": policy.n, "truncation": policy.truncation}
    data = {"digits": digits, "epochs": spec.training.epochs, "batch": spec.batch_size, "shown": chosen,
            "orders": [o.tolist() for o in epoch_orders(spec, spec.training.epochs)] if spec.training.shuffle else None,
            "plans": {m: c.data() for m, c in compiled.items()}, "forward": forward.data(), "givens": givens(spec),
            "document": spec_document(spec), "name": spec.name, "student": student, "start_student": exercise}
    return render_template(
        "live.html.j2", title=spec.title or spec.name, source=spec.source, description=spec.description,
        notation=names.profile.title, sign_note=names.profile.sign_note, steps_note=steps_note, n_steps=n_steps,
        notations=notations(trace, names, writer, chosen), constants=constant_fields(spec, names),
        data_head=data_head(spec, names), data_rows=data_rows(spec), weight_fields=weight_fields(spec, names),
        after_table=after_table(spec, names, writer, chosen),
        network=live_figure(network_figure(spec, names, writer.fmt, data["givens"]["W0"], live=True)),
        plans_js=Markup(plans_js), data_json=Markup(script_json(data)), student_js=Markup(student_js),
        exercise_items=[item["label"] for item in student["items"]] if student else [], policy=policy.describe())


def script_json(data) -> str:
    """JSON for a <script type="application/json"> element: every '<' (and '>', '&') written as a JSON escape, so
    no spec text can end the element or change how the browser reads it."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def givens(spec) -> dict:
    """What the page lets you edit, as the spec gives it: the constants, the data and the initial weights."""
    return {"P": {k: getattr(spec, k) for k in EDITABLE}, "X": spec.x.tolist(), "Y": spec.y.tolist(),
            "W0": [float(w) for l in spec.layers for w in l.weights.ravel()]}


def constant_fields(spec, names) -> list[dict]:
    """The learning rate, and momentum and weight decay where the spec uses them, as labelled input fields."""
    shown = [k for k in EDITABLE if k == "learning_rate" or getattr(spec, k)]
    symbols = {"learning_rate": to_mathml(names.label("eta")), "momentum": "<mi>μ</mi>", "weight_decay": "<mi>λ</mi>"}
    return [{"field": f"P.{k}", "label": Markup(symbols[k]), "word": k.replace("_", " "),
             "value": repr(getattr(spec, k))} for k in shown]


def data_head(spec, names) -> list[Markup]:
    return ([Markup(to_mathml(names.label("x", source=s))) for s in spec.inputs]
            + [Markup(to_mathml(names.label("target", spec.output.name, u))) for u in spec.output.units])


def data_rows(spec) -> list[list[dict]]:
    """One row of input fields per sample: its inputs, then its targets."""
    return [[{"field": f"X.{i}.{j}", "value": repr(float(v))} for j, v in enumerate(x)]
            + [{"field": f"Y.{i}.{k}", "value": repr(float(v))} for k, v in enumerate(y)]
            for i, (x, y) in enumerate(zip(spec.x, spec.y))]


def weight_fields(spec, names) -> list[dict]:
    """The initial weights, layer by layer, as labelled input fields in the order of the parameters."""
    layers, p = [], 0
    for l in spec.layers:
        fields = []
        for j, u in enumerate(l.units):
            for i, s in enumerate(l.sources):
                fields.append({"field": f"W0.{p}", "value": repr(float(l.weights[j, i])),
                               "label": Markup(to_mathml(names.label("w", l.name, u, s)))})
                p += 1
        layers.append({"name": l.name, "fields": fields})
    return layers


def after_table(spec, names, writer, chosen) -> dict:
    """The weights after each step written out: per step, the slot of each new weight in the step's plan."""
    params = spec.parameters
    head = [Markup(to_mathml(names.label("w", *p))) for p in params]
    rows = []
    for step in chosen:
        slots = writer.compiled(len(writer.trace.values.rows(step))).slots
        after = writer.trace.values.parameters(step, "w_new")
        rows.append({"step": step, "cells": [(slots[("w_new", 0, *p)], writer.fmt(w)) for p, w in zip(params, after)]})
    return {"head": head, "rows": rows}


OTHER_NOTATIONS_BYTES = 1_000_000  # the steps in the other notations are on the page while they fit this


def notations(trace, names, writer, chosen) -> list[dict]:
    """The steps written out in the page's notation, and in every other notation while the page stays small
    (the page shows one at a time; each has the same slots, so the runtime writes the same numbers into it)."""
    shown = [{"name": names.profile.name, "title": names.profile.title, "steps": [writer.step(s) for s in chosen]}]
    budget = OTHER_NOTATIONS_BYTES
    for other in PROFILES:
        if other == names.profile.name:
            continue
        other_writer = LiveStepWriter(trace, profile(other, trace.spec), writer.fmt)
        other_writer.compiled_plans = writer.compiled_plans  # the same plans, so the same slots
        steps = [other_writer.step(s) for s in chosen]
        budget -= sum(len(line) for s in steps for sec in s["sections"] for b in sec["blocks"] for line in b["lines"])
        if budget < 0:
            break
        shown.append({"name": other, "title": PROFILES[other].title, "steps": steps})
    return shown


def live_figure(figure: dict) -> dict:
    """A network figure for the live page: a diagram too big to label has no table of values (they would not
    follow an edit) but says where the numbers are."""
    if figure["rows"]:
        figure = {**figure, "rows": [], "caption": "Too many connections to label in a diagram of the page's "
                                                   "width: the numbers are in the fields and lines of the page"}
    return figure


class LiveStepWriter(StepWriter):
    """The report's step writer with every number a slot of the step's compiled plan."""

    def __init__(self, trace, names, fmt):
        super().__init__(trace, names, fmt)
        self.compiled_plans: dict = {}

    def compiled(self, m: int):
        """The plan of a step of m samples compiled to JavaScript, once."""
        if m not in self.compiled_plans:
            self.compiled_plans[m] = compile_plan(self.trace.values.plan_of(m))
        return self.compiled_plans[m]

    live = True

    def arrows(self, step: int) -> dict:
        return live_figure(super().arrows(step))

    def renderer(self, step: int, m: int, values: dict) -> Renderer:
        return LiveRenderer(self.names, self.fmt, values, self.layers, self.compiled(m).slots)


class LiveRenderer(Renderer):
    """Writes each number inside an element that names its slot and how it is written:
    data-m 'l' leading, 'p' bracketed when negative, 't+' / 't-' a term added or subtracted, 'n' appended when
    it is shown with digits enough that 1 - x is not 0."""

    def __init__(self, notation, fmt, values, layers, slots: dict):
        super().__init__(notation, fmt, values, layers)
        self.slots = slots
        self.in_term = False  # a term's number is inside the term's slot, not a slot of its own

    def number(self, e, leading: bool) -> str:
        static = super().number(e, leading)
        return static if self.in_term else self.slot(e, "l" if leading else "p", static)

    def term(self, e, sign: str) -> str:
        """The operator goes inside the slot (a change of sign changes it), spaced as between two terms
        (first in its mrow, an operator would be spaced as a prefix: 1−0.42)."""
        self.in_term = True
        try:
            static = super().term(e, sign).replace("<mo>", INFIX, 1)
            return self.slot(e, "t" + sign, static)
        finally:
            self.in_term = False

    def result(self, key: tuple) -> str:
        return self.slot(Ref(key), "l", super().result(key))

    def slot(self, e, mode: str, static: str) -> str:
        """`static` (the engine's number) inside the element the runtime rewrites; a constant the page does
        not edit (a sigmoid's gain) stays as it is."""
        if isinstance(e, Param):
            if e.name not in CONSTANTS:
                return static
            return f'<mrow data-p="{CONSTANTS[e.name]}" data-m="{mode}">{static}</mrow>'
        near_one = "n" if e.near_one else ""
        return f'<mrow data-s="{self.slots[e.key]}" data-m="{mode}{near_one}">{static}</mrow>'
