"""The conventions a live page switches: the ½ of the loss, the update order, online or batch updates, and
whether momentum and weight decay are in the update at all.

Each changes the plan (its ops, written forms and slots), not only a number, so the page holds a *world* per
combination the spec allows: the spec's document with the convention changed, read back by parse_spec (a
combination the spec rules out is not offered). A world is its plans compiled to JavaScript and its steps
written out in each notation, packed (JSON, gzip, base64) for the browser to unpack when the world is
chosen. Its lines are written from its plans and its schedule with every value unknown
(tracer.engine.schedule): the browser computes the numbers, and training every world here too would only
cost time. The page's own world and notation is written with the engine's numbers (tracer.export.live.page).
"""
from __future__ import annotations

import base64
import copy
import gzip
import itertools
import json
from dataclasses import dataclass

from ...engine.record import step_sizes
from ...engine.schedule import unknown_steps
from ...errors import SpecError, TracerError
from ...io.resources import render_template
from ...model.notation import PROFILES, profile
from ...model.plan import Plan
from ...model.spec import parse_spec, spec_document
from ...model.updates import UPDATE_ORDERS
from ..html.report import chosen_steps
from .compile import compile_plan
from .writer import LiveStepWriter, Steps

WORLD_BYTES = 8_000_000  # the lines of other worlds and notations a page holds (about 440 KB packed)
SOME = 0.5  # the momentum or decay a world that has one is written with: the page's field gives the number


@dataclass(frozen=True)
class Option:
    """One choice of a convention: its name in the link, its words in the menu, what it sets in the spec's
    document; `at`: for a constant's switch, the value that chooses it (None: any other)."""

    value: str
    label: str
    change: dict
    at: float | None = None


@dataclass(frozen=True)
class Axis:
    """A convention the page switches: a menu (`given` empty) or a constant whose field chooses the option."""

    name: str
    title: str
    options: tuple
    given: str = ""

    def data(self) -> dict:
        return {"name": self.name, "title": self.title, "given": self.given,
                "options": [{"value": o.value, "label": o.label, "at": o.at} for o in self.options]}


def axes(spec) -> list[Axis]:
    """The conventions this spec's page switches: the ½ of a squared error, the update order of a network of
    layers, online or batch (and the spec's mini-batches) of more than one sample, momentum and decay."""
    out = []
    if spec.loss.name in ("half_sse", "sse") and spec.loss.gradient_factor is None:
        out.append(Axis("loss", "Loss", (Option("half_sse", "E = ½ Σ (t − y)²", {"loss": "half_sse"}),
                                         Option("sse", "E = Σ (t − y)², no ½", {"loss": "sse"}))))
    if len(spec.layers) > 1:
        out.append(Axis("order", "Update order", tuple(Option(o.name, o.name, {"training.update_order": o.name})
                                                        for o in UPDATE_ORDERS.values())))
    n = len(spec.x)
    if n > 1:
        modes = [Option("online", "online: a sample a step", {"training.mode": "online"})]
        if spec.training.mode == "minibatch":
            b = spec.training.batch_size
            modes.append(Option("minibatch", f"mini-batches of {b}",
                                {"training.mode": "minibatch", "training.batch_size": b}))
        modes.append(Option("batch", f"batch: all {n} samples a step", {"training.mode": "batch"}))
        out.append(Axis("mode", "Updates", tuple(modes)))
    out.append(Axis("momentum", "momentum", (Option("off", "", {"momentum": 0.0}, at=0.0),
                                             Option("on", "", {"momentum": spec.momentum or SOME})), "momentum"))
    decay = [Option("off", "", {"weight_decay": 0.0}, at=0.0)]
    if spec.weight_decay == 1:  # CS 510 writes decay 1 as (1 - alpha) w: another written form
        decay.append(Option("one", "", {"weight_decay": 1.0}, at=1.0))
    decay.append(Option("on", "", {"weight_decay": spec.weight_decay if spec.weight_decay not in (0, 1) else SOME}))
    out.append(Axis("decay", "weight decay", tuple(decay), "weight_decay"))
    return out


def own_choice(spec, conventions: list[Axis]) -> dict:
    """The option of each convention that the spec itself takes."""
    document = spec_document(spec)
    return {a.name: next(o.value for o in a.options if all(lookup(document, k) == v for k, v in o.change.items()))
            for a in conventions}


def lookup(document: dict, path: str):
    """The value at a dotted path of a spec's document ('training.mode'), or None."""
    value = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass
class World:
    """The spec with some conventions changed."""

    choice: dict
    spec: object
    key: str
    changes: dict  # what Download spec sets in the document


def worlds(spec, conventions: list[Axis]) -> list[World]:
    """Every combination of the conventions that the spec allows, the spec's own first, then by how many
    conventions differ from the spec's."""
    own, base = own_choice(spec, conventions), spec_document(spec)
    found = []
    for options in itertools.product(*(a.options for a in conventions)):
        choice = {a.name: o.value for a, o in zip(conventions, options)}
        document = copy.deepcopy(base)
        changes = {k: v for o in options for k, v in o.change.items()}
        for path, value in changes.items():
            *parents, last = path.split(".")
            holder = document
            for part in parents:
                holder = holder.setdefault(part, {})
            holder[last] = value
        try:
            world_spec = spec if choice == own else parse_spec(document)
        except SpecError:
            continue
        found.append(World(choice, world_spec, key_of(choice, conventions), changes))
    return sorted(found, key=lambda w: sum(w.choice[k] != own[k] for k in own))


def key_of(choice: dict, conventions: list[Axis]) -> str:
    return "|".join(choice[a.name] for a in conventions)


def world_steps(world_spec, selection: str | None, strict: bool = False) -> tuple[list[int], str, int]:
    """The steps a world writes out, the note on them and the steps of its run: the page's selection, or (not
    `strict`: another world than the spec's) the default where it names steps this world does not have (a batch
    run has fewer steps than the spec's online run)."""
    n_steps = world_spec.training.epochs * len(step_sizes(len(world_spec.x), world_spec.batch_size))
    try:
        chosen, note = chosen_steps(selection, n_steps)
    except TracerError:
        if strict:
            raise
        chosen, note = chosen_steps("", n_steps)
    return chosen, note, n_steps


def world_plans(world_spec, writer) -> tuple[dict, object]:
    """A world's plans compiled: one for each batch size of its steps, and the forward pass and loss alone (the
    error after each epoch)."""
    sizes = sorted(set(step_sizes(len(world_spec.x), world_spec.batch_size)))
    return {m: writer.compiled(m) for m in sizes}, compile_plan(Plan(world_spec, 1), phases=("forward", "loss"))


class WorldWriter:
    """Each world's plans and steps, in as many notations as fit WORLD_BYTES (in the order of `rank`); the
    page's own world and notation is in the page itself."""

    def __init__(self, page_notation: str, fmt, selection: str | None, figures: dict):
        self.page_notation, self.fmt, self.selection, self.figures = page_notation, fmt, selection, figures
        self.budget = WORLD_BYTES

    def pack(self, own: World, own_writer, found: list[World]) -> dict:
        """{world key: {notations: the notations it is written in, packed: its plans and steps}} for the page's
        data, of each world written in at least one notation."""
        content = {w.key: {"notations": {}} for w in found}
        writers, schedules = {own.key: own_writer}, {}
        if own_writer.trace.values.steps():  # the page's figure of changes, placed for the engine's numbers
            self.figures[self.page_notation] = own_writer.arrows(own_writer.trace.values.steps()[0])
        for w in found:
            schedules[w.key] = world_steps(w.spec, self.selection)
            if w.key != own.key:
                writers[w.key] = LiveStepWriter(Steps(w.spec, unknown_steps(w.spec, schedules[w.key][0])),
                                                profile(self.page_notation, w.spec), self.fmt, figures=self.figures)
                content[w.key].update(self.plans(w.spec, writers[w.key], *schedules[w.key]))
        for w, name in sorted(((w, n) for w in found for n in PROFILES), key=lambda wn: self.rank(own, *wn)):
            if (w.key, name) == (own.key, self.page_notation):
                continue
            other = LiveStepWriter(writers[w.key].trace, profile(name, w.spec), self.fmt,
                                   writers[w.key].compiled_plans, self.figures)
            html = worked_html(other, *schedules[w.key])
            self.budget -= len(html)
            if self.budget < 0:
                break
            content[w.key]["notations"][name] = html
        content[own.key]["notations"][self.page_notation] = None  # in the page itself
        return {key: {"notations": list(c["notations"]),
                      "packed": pack({**c, "notations": {k: v for k, v in c["notations"].items() if v is not None}})}
                for key, c in content.items() if c["notations"]}

    def rank(self, own: World, w: World, notation: str) -> tuple:
        """Which (world, notation) the page holds first: the spec's in every notation, every combination of
        the menus in the page's notation, a momentum or decay added or removed, then the rest."""
        constants_changed = any(w.choice[a] != own.choice[a] for a in ("momentum", "decay"))
        page_notation = notation == self.page_notation
        first = 0 if w is own else 1 if page_notation and not constants_changed else 2 if page_notation else 3
        return first, sum(w.choice[k] != own.choice[k] for k in own.choice), list(PROFILES).index(notation)

    @staticmethod
    def plans(world_spec, writer, chosen, note, n_steps) -> dict:
        """A world's compiled plans and schedule: what the runtime trains it with."""
        compiled, forward = world_plans(world_spec, writer)
        return {"plans": {m: {**c.data(), "source": c.source} for m, c in compiled.items()},
                "forward": {**forward.data(), "source": forward.source}, "batch": world_spec.batch_size,
                "shown": chosen, "n_steps": n_steps, "steps_note": note}


def worked_html(writer, chosen: list[int], steps_note: str, n_steps: int) -> str:
    """The page's #worked: the steps written out, the loss chart's place and the weights after each step."""
    return render_template("_live_worked.html.j2", steps=[writer.step(s) for s in chosen], n_steps=n_steps,
                           steps_note=steps_note, after_table=writer.after_table(chosen))


def pack(content: dict) -> str:
    """JSON, gzip (no time stamp: the same page gives the same bytes), base64: what the page unpacks with the
    browser's DecompressionStream."""
    text = json.dumps(content, separators=(",", ":"), allow_nan=False)
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode("ascii")
