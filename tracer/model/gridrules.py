"""The plan's rules for grid layers: a pool's value, the gradient routed back through it, and a shared weight's
gradient summed over positions. Each holds its value (numpy, elementwise over any leading shape), spreadsheet
formula and written form together, as the dense rules do (tracer.model.rules). A conv position's net input is
the dense NetInput over its window (with the kernel's shared weights as operands) and each term of a shared
weight's gradient is the dense Grad (delta times the input cell), so they need no rule of their own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .expr import Call, Ellipsis_, Frac, Num, Ref, Tagged, add, mul
from .rules import MAX_TERMS, Arithmetic, side_by_side


@dataclass(frozen=True)
class Syntax:
    """How a formula language writes the routed gradient's parts: the window's max, equality, a conjunction, a
    value when a test holds (else 0), and a test as 1 or 0."""

    max: Callable[[list], str]
    equal: Callable[[str, str], str]
    both: Callable[[list], str]
    when: Callable[[str, str], str]
    one: Callable[[str], str]


SPREADSHEET = Syntax(max=lambda cells: f"MAX({','.join(cells)})", equal=lambda a, b: f"{a}={b}",
                     both=lambda tests: f"AND({','.join(tests)})", when=lambda test, v: f"IF({test},{v},0)",
                     one=lambda test: f"({test})")
JAVASCRIPT = Syntax(max=lambda cells: f"Math.max({','.join(cells)})", equal=lambda a, b: f"({a}=={b})",
                    both=lambda tests: f"({'&&'.join(tests)})", when=lambda test, v: f"({test}?{v}:0)",
                    one=lambda test: f"({test}?1:0)")


class PoolValue:
    """A pool position: the max (maxpool2d) or the mean (avgpool2d) of its window's cells. Operands: the cells."""

    def __init__(self, kind: str):
        self.mean = kind == "avgpool2d"

    def value(self, *cells):
        stacked = side_by_side(cells)
        return stacked.mean(axis=-1) if self.mean else stacked.max(axis=-1)

    def formula(self, *cells):
        return f"{'AVERAGE' if self.mean else 'MAX'}({','.join(cells)})"

    def js(self, *cells):
        return f"(({'+'.join(cells)})/{len(cells)})" if self.mean else f"Math.max({','.join(cells)})"

    def written(self, op, w):
        return Call("mean" if self.mean else "max", tuple(w.operand(k, op) for k in op.operands))


class Routed:
    """dE/da of a cell under a pool: the deltas of the windows that route to it (Σ over the windows holding it).
    A max routes a window's delta to its first maximum in reading order (ties: 'first', as PyTorch does) or
    shares it among the tied maxima ('shared'); a mean gives each cell 1/n of it. ('every', the whole delta to
    each tied maximum, is no convention: it is the classic mistake, tracer.grading.gridmistakes.)

    Operands: per window holding the cell, its position's delta and then the window's cells; `windows` gives each
    window's size and where the cell is in it."""

    def __init__(self, kind: str, ties: str, windows: tuple[tuple[int, int], ...]):
        self.mean, self.ties, self.windows = kind == "avgpool2d", ties, windows

    def _split(self, xs):
        at = 0
        for n, i in self.windows:
            yield xs[at], xs[at + 1:at + 1 + n], i
            at += 1 + n

    def share(self, cells, i: int):
        """The part of the window's delta that reaches cell i."""
        n = len(cells)
        if self.mean:
            return 1.0 / n
        stacked = side_by_side(cells)
        if self.ties == "first":
            return (np.argmax(stacked, axis=-1) == i).astype(float)
        top = stacked == stacked.max(axis=-1, keepdims=True)
        return top[..., i] / (1 if self.ties == "every" else top.sum(axis=-1))

    def value(self, *xs):
        total = 0.0
        for delta, cells, i in self._split(xs):
            total = total + self.share(cells, i) * delta
        return total

    def _routing(self, names, syntax) -> str:
        """The sum of what each window routes to the cell, in a spreadsheet's or JavaScript's `syntax`."""
        terms = []
        for delta, window, i in self._split(names):
            if self.mean:
                terms.append(f"{delta}/{len(window)}")
                continue
            top = syntax.max(window)
            if self.ties == "first":  # the first maximum: no cell before it reaches the max
                terms.append(syntax.when(syntax.both([syntax.equal(window[i], top),
                                                      *(f"{c}<{top}" for c in window[:i])]), delta))
            else:
                count = "1" if self.ties == "every" else "+".join(syntax.one(syntax.equal(c, top)) for c in window)
                terms.append(syntax.when(syntax.equal(window[i], top), f"{delta}/({count})"))
        return "+".join(terms) or "0"

    def formula(self, *cells):
        return self._routing(cells, SPREADSHEET)

    def js(self, *names):
        return f"({self._routing(names, JAVASCRIPT)})"

    def written(self, op, w):
        terms = []
        for delta, window, _ in self._split(op.operands):
            if self.mean:
                terms.append(mul(Frac(Num("1"), Num(str(len(window)))), w.operand(delta, op), dots=False))
            else:
                remark = "if it is the window's first max" if self.ties == "first" else "shared by the window's maxima"
                terms.append(Tagged(w.operand(delta, op), f"({remark})"))
        return add(*terms)


class PositionSum(Arithmetic):
    """A shared weight's gradient for one sample: its terms summed over the positions whose windows use it
    (the classic mistake is to take one position's). Operands: the terms (contributions)."""

    def value(self, *terms):
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def formula(self, *cells):
        return f"SUM({','.join(cells)})" if len(cells) > 1 else cells[0]

    def js(self, *names):
        return f"({'+'.join(names)})"

    def written(self, op, w):
        refs = [Ref(k) for k in op.operands]
        if len(refs) > MAX_TERMS:
            refs = refs[:MAX_TERMS - 2] + [Ellipsis_(), refs[-1]]
        return add(*refs)
