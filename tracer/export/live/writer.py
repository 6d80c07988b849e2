"""The live page's worked steps: the report's lines (tracer.export.html.report) with every number a slot of the
step's compiled plan, and the table of the weights after each step.

A slot is an element that names its place in the compiled plan's array (data-s) or a constant the page edits
(data-p), and how its number is written (data-m); the runtime (templates/_live.js.j2) writes the numbers the
browser computes into them. Python writes the engine's numbers first, so the spec's own page reads and prints
without JavaScript.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from ...model.expr import Param, Ref
from ..html.mathml import Renderer, to_mathml
from ..html.report import StepWriter
from .compile import compile_plan

INFIX = '<mo form="infix">'  # a term's sign, spaced as an operator between two terms
CONSTANTS = {"eta": "learning_rate", "lambda": "weight_decay", "mu": "momentum"}  # Params the page edits


@dataclass(frozen=True)
class Steps:
    """What a step writer reads of a run: the spec, and its step view (recorded, or only scheduled)."""

    spec: object
    values: object


class LiveStepWriter(StepWriter):
    """The report's step writer with every number a slot of the step's compiled plan; `figures`, when given,
    keeps one figure of weight changes per notation for every step (the runtime redraws it for each step, so
    the labels are placed once instead of for every step and convention)."""

    live = True

    def __init__(self, trace, names, fmt, compiled_plans: dict | None = None, figures: dict | None = None):
        super().__init__(trace, names, fmt)
        self.compiled_plans = {} if compiled_plans is None else compiled_plans
        self.figures = figures

    def compiled(self, m: int):
        """The plan of a step of m samples compiled to JavaScript, once."""
        if m not in self.compiled_plans:
            self.compiled_plans[m] = compile_plan(self.trace.values.plan_of(m))
        return self.compiled_plans[m]

    def arrows(self, step: int) -> dict:
        if self.figures is None:
            return live_figure(super().arrows(step))
        name = self.names.profile.name
        if name not in self.figures:
            self.figures[name] = live_figure(super().arrows(step))
        return self.figures[name]

    def renderer(self, step: int, m: int, values: dict) -> Renderer:
        return LiveRenderer(self.names, self.fmt, values, self.layers, self.compiled(m).slots)

    def after_table(self, steps: list[int]) -> dict:
        """The weights after each step written out: per step, the slot of each new weight in the step's plan."""
        params = self.spec.parameters
        head = [Markup(to_mathml(self.names.label("w", *p))) for p in params]
        rows = []
        for step in steps:
            slots = self.compiled(len(self.trace.values.rows(step))).slots
            after = self.trace.values.parameters(step, "w_new")
            rows.append({"step": step, "cells": [(slots[("w_new", 0, *p)], self.fmt(w)) for p, w in zip(params, after)]})
        return {"head": head, "rows": rows}


def live_figure(figure: dict) -> dict:
    """A network figure for the live page: a diagram whose weights are in a table beside it (too many connections
    to label, or a conv's or rnn's layers drawn as blocks) has no table (it would not follow an edit) but says
    where the numbers are."""
    if figure["rows"]:
        figure = {**figure, "rows": [], "caption": "The weights of this diagram are in the fields above, and every "
                                                   "number computed from them in the lines below"}
    return figure


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
