"""An exercise's items and classic mistakes as functions of earlier values, compiled from the plan: the
JavaScript of the live page's student mode, and the Python of a PrairieLearn question (which runs without
tracer installed).

What `tracer check` does with the plan (tracer.grading.check, tracer.grading.mistakes) these functions do
standalone: `own[i](g)` is item i's op over the values `g` gives (the student's own earlier answers, the exact
ones, or those rounded by hand), so an error is carried forward; `mistakes[i][k]` lists what a student making
mistake k writes for item i (`Plan.value_with`: the substituted op, and what follows from it computed again).
`g(r)` gives reference r: an item (0..n-1) or a given (n + its index in `leaves`); P holds the spec's
constants of the update (a mistake's other learning rate is its own number). Each function is written from the
rules' JavaScript forms; the Python is the same text read as Python (`python_expr`).
"""
from __future__ import annotations

import re

from ..model.rules import Change
from .exercise import Exercise
from .mistakes import MISTAKES, substituted


def update_constants(spec) -> dict:
    """P: the update's constants, as the compiled functions name them (P.learning_rate)."""
    return {"learning_rate": spec.learning_rate, "weight_decay": spec.weight_decay, "momentum": spec.momentum}


def js_of(rule, names) -> str:
    """A rule's JavaScript over the operands' names; an update by its own constants (a mistake's other
    learning rate is not the page's)."""
    return rule.js_own(*names) if isinstance(rule, Change) else rule.js(*names)


class JavaScript:
    """Functions as the live page's runtime calls them: function(g){...} in a closure over P."""

    @staticmethod
    def function(lines: list[tuple[str, str]], result: str) -> str:
        return "function(g){" + "".join(f"const {name}={expr};" for name, expr in lines) + f"return {result};}}"


class Python:
    """Functions as a PrairieLearn server calls them: lambda g, P: (t0 := ..., ..., result)[-1]."""

    @staticmethod
    def function(lines: list[tuple[str, str]], result: str) -> str:
        if not lines:
            return f"lambda g, P: {python_expr(result)}"
        steps = "".join(f"({name} := {python_expr(expr)}), " for name, expr in lines)
        return f"lambda g, P: ({steps}{python_expr(result)})[-1]"


class StudentCompiler:
    """The items of an exercise of `steps` of `spec` and their functions; `leaf_id(step, key)` names a given
    (the live page: its slot; PrairieLearn: the plan key) so each appears once in `leaves`."""

    def __init__(self, spec, steps, notation, leaf_id, trace=None, language=JavaScript):
        self.ex = Exercise(spec, steps, notation, trace)
        self.leaf_id, self.language = leaf_id, language
        self.index = {item.key: i for i, item in enumerate(self.ex.items)}
        self.leaves: list = []
        self.leaf_index: dict = {}

    def ref(self, step: int, k: tuple) -> int:
        """The reference of plan key `k` in `step`, as Exercise.getter reads it."""
        kind, b, layer, unit, source = k
        given = step - 1 not in self.ex.samples
        if kind in ("x", "y") or (given and kind in ("w", "delta_w_prev")):
            where = self.leaf_id(step, k)
            if where not in self.leaf_index:
                self.leaf_index[where] = len(self.leaves)
                self.leaves.append(where)
            return len(self.ex.items) + self.leaf_index[where]
        if kind == "w":
            return self.index[("w_new", step - 1, 0, layer, unit, source)]
        if kind == "delta_w_prev":
            return self.index[("delta_w", step - 1, 0, layer, unit, source)]
        return self.index[self._item_key(step, k)]

    def _item_key(self, step: int, k: tuple) -> tuple:
        """The key of the exercise's item for plan key `k` of `step`: its sample as the data's row."""
        kind, b, layer, unit, source = k
        rows = self.ex.samples[step]
        return (kind, step, rows[b - 1] if b else 0, layer, unit, source)

    def is_given(self, step: int, k: tuple) -> bool:
        """Whether g gives plan key k: an item or a given (a shared weight's terms are neither: they are
        computed from items inside the function)."""
        if k[0] in ("x", "y", "w", "delta_w_prev"):
            return True
        return step in self.ex.samples and self._item_key(step, k) in self.index

    def operand(self, step: int, k: tuple, lines: list, names: dict) -> str:
        """k as g gives it, or computed from what g gives by the plan's op (its lines added to `lines`)."""
        if k in names:
            return names[k]
        if self.is_given(step, k):
            return f"g({self.ref(step, k)})"
        op = self.ex.plans[step][k]
        expr = js_of(op.rule, [self.operand(step, o, lines, names) for o in op.operands])
        names[k] = f"t{len(names)}"
        lines.append((names[k], expr))
        return names[k]

    def own(self, item) -> str:
        """The item's op over the values g gives."""
        op, lines, names = self.ex.op(item), [], {}
        result = js_of(op.rule, [self.operand(item.step, k, lines, names) for k in op.operands])
        return self.language.function(lines, result)

    def chain(self, item, alt) -> str:
        """The item's value when `alt` computes its key instead of the plan's op (Plan.value_with)."""
        plan, step, lines, names = self.ex.plans[item.step], item.step, [], {}

        def emit(k: tuple) -> str:
            if k in names:
                return names[k]
            if k == alt.key:
                expr = js_of(alt.rule, [self.operand(step, o, lines, names) for o in alt.operands])
            elif not plan.depends(k, alt.key):
                return self.operand(step, k, lines, names)
            else:
                expr = js_of(plan[k].rule, [emit(o) for o in plan[k].operands])
            names[k] = f"t{len(names)}"
            lines.append((names[k], expr))
            return names[k]

        result = emit(self.ex.op(item).key)
        return self.language.function(lines, result)

    def mistakes(self, item) -> list[list[str]]:
        """For each mistake (MISTAKES' order), the functions of what a student making it writes
        (mistakes.each_mistake)."""
        op, spec = self.ex.op(item), self.ex.spec
        plan = self.ex.plans[item.step]
        operands = [plan[k] for k in op.operands if k in plan]
        return [[self.chain(item, alt) for alt in substituted(mistake, op, operands, spec, self.ex.substitutes)]
                for mistake in MISTAKES]


# -- the rules' JavaScript read as Python ------------------------------------------------------------------
TOKEN = re.compile(r"\s*(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[A-Za-z_][\w.]*|&&|\|\||[<>!=]=|[-+*/(),?:<>])")
PYTHON_NAMES = {"Math.exp": "_exp", "Math.tanh": "_tanh", "Math.log": "_log", "Math.max": "max", "sq": "_sq",
                "softplus": "_softplus", "&&": " and ", "||": " or "}


def python_expr(js: str) -> str:
    """A JavaScript expression of the rules' forms (arithmetic, Math.exp/tanh/log/max, sq, softplus,
    comparisons, && and (c?a:b)) as Python over the names _exp, _tanh, _log, _sq, _softplus."""
    tokens, pos = [], 0
    while pos < len(js):
        m = TOKEN.match(js, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"not a rule's JavaScript at {js[pos:pos + 20]!r}")
        tokens.append(m.group(1))
        pos = m.end()
    tree, end = _group(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced brackets in {js!r}")
    return _emit(tree)


def _group(tokens: list[str], i: int) -> tuple[list, int]:
    """Tokens up to the closing bracket, each bracketed part a nested list."""
    out = []
    while i < len(tokens) and tokens[i] != ")":
        if tokens[i] == "(":
            inner, i = _group(tokens, i + 1)
            out.append(inner)
        else:
            out.append(tokens[i])
        i += 1
    return out, i


def _emit(node: list) -> str:
    """Python text of one bracketed level: its conditional (c?a:b, the else part may hold another) first."""
    if "?" in node:
        q = node.index("?")
        depth, c = 0, q + 1
        while not (node[c] == ":" and depth == 0):
            depth += {"?": 1, ":": -1}.get(node[c], 0) if isinstance(node[c], str) else 0
            c += 1
        return f"(({_emit(node[q + 1:c])}) if ({_emit(node[:q])}) else ({_emit(node[c + 1:])}))"
    return "".join(f"({_emit(part)})" if isinstance(part, list) else PYTHON_NAMES.get(part, part) for part in node)
