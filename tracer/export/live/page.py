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

import numpy as np
from markupsafe import Markup

from ...engine.record import Recording
from ...engine.train import epoch_orders, run
from ...errors import TracerError
from ...grading.compiled import update_constants
from ...grading.numbers import Rounding
from ...io.atomic import write_text
from ...io.resources import render_template
from ...model.notation import PROFILES, profile
from ...model.spec import spec_document
from ..html.mathml import Fmt, to_mathml
from ..html.svg import network_figure
from .places import document_places
from .student import MAX_ITEMS, fitting_steps, student_parts
from .worlds import WorldWriter, axes, worked_html, world_plans, world_steps, worlds
from .writer import LiveStepWriter, live_figure

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
    fmt = Fmt(digits)  # the same check of digits as the report
    if epochs and epochs != spec.training.epochs:
        spec = spec.replace(training=dataclasses.replace(spec.training, epochs=epochs))
    selection = steps if steps is not None else spec.steps
    chosen, steps_note, n_steps = world_steps(spec, selection, strict=True)  # steps the spec lacks: an error
    trace = run(spec, record=Recording(chosen))
    names = profile(notation, spec)
    writer = LiveStepWriter(trace, names, fmt)
    compiled, forward = world_plans(spec, writer)
    plans_js = ("const TRACER_PLANS={" + ",".join(f"{m}:{c.source}" for m, c in compiled.items()) + "};\n"
                f"const TRACER_FORWARD={forward.source};\n")
    policy = rounding or Rounding()
    slots_of = lambda step: writer.compiled(len(trace.values.rows(step))).slots
    asked = chosen if exercise else fitting_steps(spec, chosen)  # --exercise asks for every step shown
    student, student_js = student_parts(spec, asked, notation, slots_of, trace) if asked else (None, "")
    if student is None and exercise:
        raise TracerError("--exercise", f"the steps shown ask for more than {MAX_ITEMS} quantities, more than a hand "
                                        "exercise; choose fewer steps (--steps 1) or a smaller network")
    if student is not None:
        student["policy"] = {"kind": policy.kind, "n": policy.n, "truncation": policy.truncation}
    conventions = axes(spec)
    found = worlds(spec, conventions)
    places = document_places(spec)
    shown = {field for _, field in places}  # the givens the downloaded spec holds: an rnn's h_0 is its layer's
    packed = WorldWriter(names.profile.name, fmt, selection, figures={}).pack(found[0], writer, found)
    data = {"digits": digits, "epochs": spec.training.epochs, "batch": spec.batch_size, "shown": chosen,
            "orders": [o.tolist() for o in epoch_orders(spec, spec.training.epochs)] if spec.training.shuffle else None,
            "plans": {m: c.data() for m, c in compiled.items()}, "forward": forward.data(), "givens": givens(spec),
            "document": spec_document(spec), "places": places, "name": spec.name, "student": student,
            "start_student": exercise,
            "notation": names.profile.name, "axes": [a.data() for a in conventions], "world": found[0].key,
            "worlds": {w.key: {"changes": w.changes, **packed[w.key]} for w in found if w.key in packed}}
    data["givens"]["C"] = {a.name: found[0].choice[a.name] for a in conventions if not a.given}
    return render_template(
        "live.html.j2", title=spec.title or spec.name, source=spec.source, description=spec.description,
        notation=names.profile.title, sign_note=names.profile.sign_note,
        notations=[{"name": n, "title": PROFILES[n].title} for n in sorted(PROFILES, key=lambda n: n != names.profile.name)],
        worked=Markup(worked_html(writer, chosen, steps_note, n_steps)), constants=constant_fields(spec, names),
        menus=menu_fields(conventions, data["givens"]["C"]),
        data_head=data_head(spec, names, shown), data_rows=data_rows(spec, shown),
        data_grids=data_grids(spec, names), weight_fields=weight_fields(spec, names),
        network=live_figure(network_figure(spec, names, writer.fmt, data["givens"]["W0"], live=True)),
        plans_js=Markup(plans_js), data_json=Markup(script_json(data)), student_js=Markup(student_js),
        exercise_items=[item["label"] for item in student["items"]] if student else [], policy=policy.describe(),
        exercise_note=(f"It asks for step{'s' * (len(asked) > 1)} {', '.join(map(str, asked))} of the {len(chosen)} "
                       "written out: the others would make more than a hand exercise." if asked != chosen else ""))


def script_json(data) -> str:
    """JSON for a <script type="application/json"> element: every '<' (and '>', '&') written as a JSON escape, so
    no spec text can end the element or change how the browser reads it."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def givens(spec) -> dict:
    """What the page lets you edit, as the spec gives it: the constants, the data and the initial weights."""
    return {"P": update_constants(spec), "X": spec.x.tolist(), "Y": spec.y.tolist(),
            "W0": [float(w) for l in spec.layers for w in l.weights.ravel()]}


def constant_fields(spec, names) -> list[dict]:
    """The learning rate, momentum and weight decay as labelled input fields (a momentum or decay typed where
    the spec has none changes the plan: the page changes to its world, tracer.export.live.worlds)."""
    symbols = {"learning_rate": to_mathml(names.label("eta")), "momentum": "<mi>μ</mi>", "weight_decay": "<mi>λ</mi>"}
    return [{"field": f"P.{k}", "label": Markup(symbols[k]), "word": k.replace("_", " "),
             "value": repr(getattr(spec, k))} for k in EDITABLE]


def menu_fields(conventions, own: dict) -> list[dict]:
    """The conventions chosen from a menu (the loss's ½, the update order, online or batch) as select fields."""
    return [{"field": f"C.{a.name}", "title": a.title, "value": own[a.name],
             "options": [(o.value, o.label) for o in a.options]} for a in conventions if not a.given]


def data_head(spec, names, shown: set) -> list[Markup]:
    """The data table's heads: the inputs the data gives (`shown`: fields of the first sample), the targets."""
    return ([Markup(to_mathml(names.label("x", source=s))) for j, s in enumerate(spec.inputs) if f"X.0.{j}" in shown]
            + [Markup(to_mathml(names.label("target", spec.output.name, u))) for u in spec.output.units])


def data_rows(spec, shown: set) -> list[list[dict]]:
    """One row of input fields per sample: the inputs the data gives (in `shown`), then its targets."""
    return [[{"field": f"X.{i}.{j}", "value": repr(float(v))} for j, v in enumerate(x) if f"X.{i}.{j}" in shown]
            + [{"field": f"Y.{i}.{k}", "value": repr(float(v))} for k, v in enumerate(y)]
            for i, (x, y) in enumerate(zip(spec.x, spec.y))]


def data_grids(spec, names) -> list[dict]:
    """A network that begins with a conv: each sample's input as the image it is, a grid of fields per channel,
    then its targets; else nothing (the data table)."""
    if spec.input_shape is None:
        return []
    C, H, W = spec.input_shape
    cells = np.arange(C * H * W).reshape(C, H, W)  # the inputs' order: channel, row, column
    target = lambda u: Markup(to_mathml(names.label("target", spec.output.name, u)))
    return [{"channels": [[[{"field": f"X.{i}.{j}", "value": repr(float(x[j])), "name": spec.inputs[j]} for j in row]
                           for row in channel] for channel in cells],
             "targets": [{"field": f"Y.{i}.{k}", "value": repr(float(v)), "label": target(u)}
                         for k, (u, v) in enumerate(zip(spec.output.units, y))]}
            for i, (x, y) in enumerate(zip(spec.x, spec.y))]


def weight_fields(spec, names) -> list[dict]:
    """The initial weights, layer by layer, as labelled input fields in the order of the parameters."""
    layers, p = [], 0
    for l in spec.layers:
        fields = []
        for j, u in enumerate(l.rows):  # units, or a conv's kernels (an rnn's units)
            for i, s in enumerate(l.sources):
                fields.append({"field": f"W0.{p}", "value": repr(float(l.weights[j, i])),
                               "label": Markup(to_mathml(names.label("w", l.name, u, s)))})
                p += 1
        layers.append({"name": l.name, "fields": fields})
    return [layer for layer in layers if layer["fields"]]  # a pool has no weights
