"""The steps of the HTML report: the plan of each chosen step written out, line by line, in sections.

Each shown op of the plan (tracer.model.writing decides which, and how each is written in the course's
notation) becomes one line: label = formula = numbers substituted = value. Lines are grouped as a person
reads them: per unit the forward lines and the backward lines, per sample of a batch its own sections, then
the batch gradient, the weight changes and the new weights; when layers are updated one at a time, each
layer's backward pass and update in turn.
"""
from __future__ import annotations

from markupsafe import Markup

from ...model.plan import Plan
from ...model.writing import Writing
from .mathml import Renderer, eq
from .svg import network_figure

SATURATED = 1e-3  # |da/dz| below this: a saturated unit (Maren's vanishing gradient)
MAX_SAMPLES = 6  # samples of one batch written out in full; the others are counted in the gradient sums


class StepWriter:
    """Writes the chosen steps of one trace in one notation."""

    def __init__(self, trace, names, fmt):
        self.trace, self.spec, self.names, self.fmt = trace, trace.spec, names, fmt
        self.layers = {l.name: l for l in self.spec.layers}
        self.plans = {}

    def writing(self, m: int) -> Writing:
        if m not in self.plans:
            self.plans[m] = Writing(Plan(self.spec, m), self.names.profile)
        return self.plans[m]

    def step(self, step: int) -> dict:
        """One step written out: its heading, its sections of lines, and Ekman's arrows of weight changes."""
        trace = self.trace
        recorded = trace.values
        samples = recorded.samples(step)
        m = len(samples)
        writing = self.writing(m)
        values = {**recorded.leaves(step), **recorded.values(step)}
        render = Renderer(self.names, self.fmt, values, self.layers)
        sections, index = [], {}
        for op in writing.plan.ops:
            if op.sample > MAX_SAMPLES or not writing.shown(op):
                continue
            title = self.title(op, writing, samples)
            if title not in index:
                index[title] = len(sections)
                sections.append({"title": title, "blocks": [], "saturated": [], "keys": {}})
            section = sections[index[title]]
            block = (op.phase, op.unit) if op.phase in ("forward", "backward") else (op.phase,)
            if block not in section["keys"]:
                section["keys"][block] = len(section["blocks"])
                section["blocks"].append({"lines": [], "saturated": False})
            target = section["blocks"][section["keys"][block]]
            target["lines"].append(self.line(op, writing, render, values))
            if op.kind == "da_dz" and self.saturated(op, values) and not target["saturated"]:
                target["saturated"] = True
                section["saturated"].append(self.names.label("a", op.layer, op.unit))
        updates = trace.updates[trace.updates["step"] == step]
        epoch = int(updates["epoch"].iloc[0])
        shown = ", ".join(str(s) for s in samples[:40]) + (" …" if m > 40 else "")
        return {"step": step, "epoch": epoch, "batch": m > 1, "n_samples": m, "sample_order": shown,
                "hidden_samples": max(0, m - MAX_SAMPLES),
                "heading": f"Step {step}, epoch {epoch}, sample{'s' * (m > 1)} {shown}",
                "sections": [{k: v for k, v in s.items() if k != "keys"} for s in sections],
                "first_forward": [line for s in sections[:1] for b in s["blocks"] for line in b["lines"]],
                "arrows": network_figure(self.spec, self.names, self.fmt, updates["w_old"].to_numpy(),
                                         updates["delta_w"].to_numpy())}

    def line(self, op, writing: Writing, render: Renderer, values: dict) -> Markup:
        """label = formula = numbers = value (w <- ... for an update written as an assignment)."""
        form = writing.written(op)
        numbers = render.numeric(form)
        if writing.assignment(op):
            label = render.label(("w",) + op.key[1:])
            return eq(label, render.symbolic(form), numbers or "", self.fmt.mn(values[op.key]), arrow=True)
        return eq(render.label(op.key), render.symbolic(form), numbers or "", self.fmt.mn(values[op.key]))

    def saturated(self, op, values: dict) -> bool:
        """A squashing unit whose derivative is close to 0: almost no error flows back through it."""
        return self.layers[op.layer].activation.saturates and abs(values[op.key]) < SATURATED

    def title(self, op, writing: Writing, samples: list) -> str:
        """The heading of the section an op belongs to."""
        per_sample = len(samples) > 1 and op.sample
        prefix = f"Sample {samples[op.sample - 1]}: " if per_sample else ""
        sequential = self.spec.update_order.sequential
        layer = f", layer {op.layer}" if sequential and op.phase not in ("forward", "loss") else ""
        if op.phase in ("forward", "loss"):
            return headed(prefix, "forward pass")
        if op.phase == "backward":
            through = ""
            if sequential and op.layer != writing.last:
                above = self.spec.layers[[l.name for l in self.spec.layers].index(op.layer) + 1].name
                through = f" (back-propagated through the new weights of layer {above}, updated above)"
            return headed(prefix, "backward pass" + layer + through)
        if op.phase == "gradients":
            return headed(prefix, "gradients" + layer)
        if op.phase == "batch":
            how = "mean" if self.spec.training.reduction == "mean" else "sum"
            return f"Gradients: {how} over the {len(samples)} samples of the batch" + layer
        if op.phase == "change":
            return "Weight changes" + layer
        return ("Weight updates" if writing.one_line_update else "New weights") + layer


def headed(prefix: str, title: str) -> str:
    """A section title under a sample's prefix ('Sample 2: forward pass'), or capitalised on its own."""
    return prefix + title if prefix else title[0].upper() + title[1:]
