"""HTML report: the computation written out step by step in a course's notation, with the network drawn.

`report_data` prepares plain data (strings, numbers, lists, and MathML/SVG fragments in which every
spec-derived text is escaped); the Jinja2 template templates/report.html.j2 only lays it out. Every number
comes from the trace; every formula from the plan (tracer.model.plan) as the notation writes it
(tracer.model.writing), so the names, the order of the factors, where the minus sign goes and how the
update is written follow the course while the values stay the same.

Each shown op of a chosen step (tracer.model.writing decides which, and how each is written in the course's
notation) becomes one line, written by StepWriter: label = formula = numbers substituted = value. Lines are
grouped as a person reads them: per unit the forward lines and the backward lines, per sample of a batch its
own sections, then the batch gradient, the weight changes and the new weights; when layers are updated one at
a time, each layer's backward pass and update in turn.
"""
from __future__ import annotations

from html import escape

import numpy as np
from markupsafe import Markup

from ...errors import TracerError
from ...io.atomic import write_text
from ...io.resources import render_template
from ...model.notation import profile
from ...model.plan import Plan, key
from ...model.writing import Writing
from ...steps import select_steps
from .mathml import Fmt, Renderer, eq, to_mathml
from .gridsvg import step_grids
from .svg import loss_chart, network_figure, weights_chart

MAX_TABLE_STEPS = 60  # the weights-per-step table lists at most this many steps (the chosen ones first)
TABLE_COLUMNS = 8  # weights per table: a table fits a printed page and a projector
PAPER_CSS = {"a4": "A4", "letter": "letter"}  # --paper: the page size the report prints on
DEFAULT_ALL = 50  # without a selection, runs up to this many steps are written out in full
MAX_WRITTEN = 100  # never more steps than this written out in full (about 20 kB each for xor: 2 MB)
SATURATED = 1e-3  # |da/dz| below this: a saturated unit (Maren's vanishing gradient)
MAX_SAMPLES = 6  # samples of one batch written out in full; the others are counted in the gradient sums

def write_report(trace, path, notation: str | None = None, steps: str | None = None, digits: int = 4,
                 paper: str = "a4") -> None:
    """Write the HTML report of a trace to `path` (atomically, self-contained, deterministic); `paper` (a4 or
    letter) is the page size it prints on."""
    write_text(path, render_report(trace, notation=notation, steps=steps, digits=digits, paper=paper))


def render_report(trace, notation: str | None = None, steps: str | None = None, digits: int = 4,
                  paper: str = "a4") -> str:
    """The report as one HTML string: setup, the chosen steps written out, the run across the steps."""
    if paper not in PAPER_CSS:
        raise TracerError("--paper", f"unknown paper {paper!r}; use {' or '.join(PAPER_CSS)}")
    return render_template("report.html.j2", paper_css=PAPER_CSS[paper], **report_data(trace, notation, steps, digits))


def summary_html(trace) -> str:
    """A small report for Jupyter (Trace._repr_html_): setup, network, loss curve and the first step.

    A trace read from CSV files has no spec to write formulas from: then only the size of its tables.
    """
    if trace.spec is None:
        rows = "".join(f"<tr><th>{escape(n)}</th><td>{len(t)} rows</td></tr>" for n, t in trace.tables.items())
        return f'<div class="tracer-summary"><strong>Trace</strong> ({trace.step_count()} steps)<table>{rows}</table></div>'
    return render_template("summary.html.j2", **report_data(trace, None, "1", 4))


ARROWS_NOTE = ("Green arrows: the weight increases; red: it decreases; the width shows the size of the change (as in "
               "Ekman's Figure 3-7).")


def report_data(trace, notation: str | None, steps: str | None, digits: int) -> dict:
    """Everything the template shows, prepared: setup, chosen steps, charts and the weights table."""
    spec = trace.spec
    names = profile(notation, spec)
    fmt = Fmt(digits)
    n_steps = trace.total_steps or trace.step_count()
    chosen, steps_note = chosen_steps(steps if steps is not None else spec.steps, n_steps)
    chosen = [s for s in chosen if s in set(trace.recorded_steps())] if trace.partial else chosen
    after_steps, w_after = trace.values.weights_after()
    params = spec.parameters
    initial = np.concatenate([l.weights.ravel() for l in spec.layers])
    per_epoch, after_epochs = trace.values.epoch_losses(), trace.values.epoch_errors()
    writer = StepWriter(trace, names, fmt)
    return {
        "title": spec.title or spec.name, "name": spec.name, "source": spec.source, "description": spec.description,
        "notation": names.profile.title, "sign_note": names.profile.sign_note, "delta_word": names.profile.delta_word,
        "setup": setup_rows(spec, names, fmt),
        "data_head": [Markup(to_mathml(names.label("x", source=s))) for s in spec.inputs]
                     + [Markup(to_mathml(names.label("target", spec.output.name, u))) for u in spec.output.units],
        "data_rows": data_rows(spec, fmt),
        "data_note": "" if len(spec.x) <= MAX_TABLE_STEPS else f"first {MAX_TABLE_STEPS} of {len(spec.x)} samples",
        "network": network_figure(spec, names, fmt, initial),
        "loss_formula": loss_formula(spec, names, fmt),
        "update_formula": Markup(f"<math>{to_mathml(names.profile.update)}</math>"),
        "n_steps": n_steps, "chosen": chosen, "steps_note": steps_note,
        "steps": [writer.step(s) for s in chosen],
        "loss_chart": Markup(loss_chart(per_epoch, after_epochs, names.label("loss"))) if len(per_epoch) else "",
        "loss_note": loss_note(after_epochs, fmt),
        "weights_chart": Markup(weights_chart(initial, after_steps, w_after, params, names)) if n_steps else "",
        "weights_table": weights_table(after_steps, w_after, chosen, params, names, fmt),
        "stopped": trace.stopped,
    }


def loss_note(after_epochs, fmt, most: int = 10) -> str:
    """What the two lines of the loss chart are, with the error after each epoch when there are few epochs."""
    if not len(after_epochs):
        return ""
    text = ("During the epoch: the mean of the losses recorded before each update. After the epoch: the mean "
            "loss of every sample with the weights the epoch ended with, the error a book prints after epoch k")
    if len(after_epochs) <= most:
        shown = fmt.column(after_epochs["loss"])
        text += " (" + "; ".join(f"epoch {int(e)}: {v}" for e, v in zip(after_epochs["epoch"], shown)) + ")"
    return text + "."


def chosen_steps(selection: str | None, n_steps: int) -> tuple[list[int], str]:
    """The steps written out, and a note when a long run is cut down so the page stays small.

    No selection and more than DEFAULT_ALL steps: the first three and the last. A selection of more than
    MAX_WRITTEN steps: its first MAX_WRITTEN. Every step stays in the charts, the table and the trace CSV.
    """
    if not n_steps:
        return [], ""
    if not (selection or "").strip() and n_steps > DEFAULT_ALL:
        chosen = select_steps("1-3,last", n_steps)
        return chosen, (f"{n_steps} steps: steps 1-3 and the last are written out (choose others with --steps "
                        "or the spec's steps:)")
    chosen = select_steps(selection, n_steps)
    if len(chosen) > MAX_WRITTEN:
        return chosen[:MAX_WRITTEN], (f"{len(chosen)} steps chosen: the first {MAX_WRITTEN} are written out, "
                                      "so the page stays small")
    return chosen, ""


def setup_rows(spec, names, fmt) -> list[tuple[str, str]]:
    """Label / value rows describing the network and training."""
    layers = "; ".join(f"{l.name}: {len(l.units)} unit(s) ({l.described_units}), {l.activation.describe()}"
                       f"{'' if l.bias_kind == 'bias' else ', ' + l.bias_kind}"
                       f"{', frozen ' + str(int(l.frozen.sum())) if l.frozen.any() else ''}"
                       for l in spec.layers)
    order = spec.update_order
    rows = [("inputs", ", ".join(spec.inputs)), ("layers", layers),
            ("loss", f"{spec.loss.name}: {spec.loss.formula}"),
            (f"learning rate {names.label('eta')}", fmt(spec.learning_rate)),
            ("training", f"{spec.training.mode}, {spec.training.epochs} epoch(s), {spec.batch_size} sample(s) per "
                         f"update, gradient = {spec.training.reduction} over the batch"
                         f"{', shuffled (seed ' + str(spec.training.seed) + ')' if spec.training.shuffle else ''}"),
            ("update order", f"{order.name}: {order.description}")]
    if spec.weight_decay:
        rows.append(("weight decay λ", fmt(spec.weight_decay)))
    if spec.momentum:
        rows.append(("momentum μ", fmt(spec.momentum)))
    return rows


def loss_formula(spec, names, fmt) -> Markup:
    """The loss of one sample as the chosen source writes it (with or without the 1/2)."""
    writing = Writing(Plan(spec, 1), names.profile)
    op = writing.plan[key("loss", 1)]
    render = Renderer(names, fmt, {}, {l.name: l for l in spec.layers})
    return eq(render.label(op.key), render.symbolic(writing.written(op)))


def data_rows(spec, fmt) -> list[list[str]]:
    """The first MAX_TABLE_STEPS samples, inputs then targets, one number format per column."""
    shown = np.hstack([spec.x[:MAX_TABLE_STEPS], spec.y[:MAX_TABLE_STEPS]])
    columns = [fmt.column(shown[:, c]) for c in range(shown.shape[1])]
    return [list(row) for row in zip(*columns)]


def weights_table(after_steps, w_after, chosen, params, names, fmt) -> dict:
    """The weights after each step: all steps when few, else the chosen ones and evenly spaced others; in
    groups of at most TABLE_COLUMNS weights, so a table fits a page and a projector."""
    n = len(after_steps)
    if n <= MAX_TABLE_STEPS:
        rows = list(range(n))
    else:
        spaced = np.linspace(0, n - 1, MAX_TABLE_STEPS - min(len(chosen), MAX_TABLE_STEPS // 2)).round()
        at = {int(s): i for i, s in enumerate(after_steps)}
        rows = sorted({at[s] for s in chosen[:MAX_TABLE_STEPS // 2] if s in at} | set(spaced.astype(int).tolist()))
    head = [Markup(to_mathml(names.label("w", *prm))) for prm in params]
    columns = [fmt.column(w_after[rows, p]) for p in range(len(params))]  # one number format per column
    groups = [{"head": head[c:c + TABLE_COLUMNS],
               "rows": [(int(after_steps[i]), [col[r] for col in columns[c:c + TABLE_COLUMNS]])
                        for r, i in enumerate(rows)]}
              for c in range(0, len(params), TABLE_COLUMNS)]
    return {"groups": groups,
            "note": "" if len(rows) == n else f"{len(rows)} of {n} steps shown (the chosen steps and "
                                              f"evenly spaced others); the trace files have every step"}


class StepWriter:
    """Writes the chosen steps of one trace in one notation."""

    live = False  # figures whose connections name their parameter, for the live page to rewrite

    def __init__(self, trace, names, fmt):
        self.trace, self.spec, self.names, self.fmt = trace, trace.spec, names, fmt
        self.layers = {l.name: l for l in self.spec.layers}
        self.plans = {}

    def writing(self, m: int) -> Writing:
        if m not in self.plans:
            self.plans[m] = Writing(self.trace.values.plan_of(m), self.names.profile)
        return self.plans[m]

    def step(self, step: int) -> dict:
        """One step written out: its heading, its sections of lines, and Ekman's arrows of weight changes."""
        trace = self.trace
        recorded = trace.values
        samples = recorded.samples(step)
        m = len(samples)
        writing = self.writing(m)
        values = {**recorded.leaves(step), **recorded.values(step)}
        render = self.renderer(step, m, values)
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
            target["lines"].append(self.line(op, writing, render))
            if op.kind == "da_dz" and self.saturated(op, values) and not target["saturated"]:
                target["saturated"] = True
                section["saturated"].append(self.names.label("a", op.layer, op.unit))
        epoch = recorded.epoch(step)
        shown = ", ".join(str(s) for s in samples[:40]) + (" …" if m > 40 else "")
        return {"step": step, "epoch": epoch, "batch": m > 1, "n_samples": m, "sample_order": shown,
                "hidden_samples": max(0, m - MAX_SAMPLES),
                "heading": f"Step {step}, epoch {epoch}, sample{'s' * (m > 1)} {shown}",
                "sections": [{k: v for k, v in s.items() if k != "keys"} for s in sections],
                "first_forward": [line for s in sections[:1] for b in s["blocks"] for line in b["lines"]],
                "grids": step_grids(self.spec, values.__getitem__, self.fmt) if self.spec.grids else [],
                "arrows": self.arrows(step), "arrows_note": ARROWS_NOTE if not self.spec.grids else ""}

    def arrows(self, step: int):
        """The network with the step's weight changes as arrows (Ekman's Figure 3-7)."""
        recorded = self.trace.values
        return network_figure(self.spec, self.names, self.fmt, recorded.parameters(step, "w"),
                              recorded.parameters(step, "delta_w"), live=self.live)

    def renderer(self, step: int, m: int, values: dict) -> Renderer:
        """What writes the lines of `step` (m samples) with its values."""
        return Renderer(self.names, self.fmt, values, self.layers)

    def line(self, op, writing: Writing, render: Renderer) -> Markup:
        """label = formula = numbers = value (w <- ... for an update written as an assignment)."""
        form = writing.written(op)
        numbers = render.numeric(form)
        if writing.assignment(op):
            label = render.label(("w",) + op.key[1:])
            return eq(label, render.symbolic(form), numbers or "", render.result(op.key), arrow=True)
        return eq(render.label(op.key), render.symbolic(form), numbers or "", render.result(op.key))

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
