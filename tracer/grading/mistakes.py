"""The classic mistakes of hand-computed backpropagation, each a substitution of one op of the plan.

A mistake gives, for an op of the plan, the ops a student making it would compute instead (the same key
with another rule or other operands), or none where it cannot apply. A wrong answer is explained by a
mistake when the item's own op substituted, or the item computed from a substituted operand, gives it:
a wrong derivative shows in da/dz and in the error term built from it. `tracer check` names the first
mistake that explains an answer; the LMS exports offer each mistake's value as a wrong answer with its name.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from ..model.squashing import Sigmoid, Tanh
from ..model.rules import (BackSum, Change, Derivative, ErrorTerm, FirstOperand, Grad, LossDerivative, LossValue,
                           NetInput, Scaled)
from ..model.updates import OTHER_WEIGHTS
from .gridmistakes import flipped, mean_undivided, not_through_time, one_position, tie_rule


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: its name, a one-line explanation for the student, and its substitutes of an op."""

    name: str
    explain: str
    substitutes: Callable  # (op, spec) -> list of ops
    through_operands: bool = True  # also explains a quantity computed from a substituted operand


def _derivative_missing(op, spec):
    """An error term without the factor da/dz, as if the unit were linear."""
    return [dataclasses.replace(op, rule=FirstOperand())] if isinstance(op.rule, ErrorTerm) else []


def _derivative(name: str, other):
    """da/dz of a `name` layer by another rule: other(act) gives (rule, operands) or None where it cannot apply."""
    def substitutes(op, spec):
        if isinstance(op.rule, Derivative) and op.rule.act.name == name:
            alt = other(op.rule.act, op.operands)
            return [dataclasses.replace(op, rule=alt[0], operands=alt[1])] if alt is not None else []
        return []
    return substitutes


def _loss_scaled(factor_of: Callable):
    """The loss, and its derivative at the output, multiplied by a factor: a 1/2 dropped or doubled, the mean
    over the outputs left out. factor_of(loss) gives the factor, or None where the mistake cannot apply."""
    def substitutes(op, spec):
        factor = factor_of(spec.loss)
        if factor is not None and isinstance(op.rule, (LossValue, LossDerivative)):
            return [dataclasses.replace(op, rule=Scaled(op.rule, factor))]
        return []
    return substitutes


def _change(learning_rate):
    """delta_w by the course's update rule with another learning rate, learning_rate(eta), for a parameter
    that learns: momentum and weight decay apply as to the right value."""
    def substitutes(op, spec):
        if isinstance(op.rule, Change) and not op.rule.frozen:
            rule = op.rule.rule
            wrong = dataclasses.replace(rule, learning_rate=learning_rate(rule.learning_rate))
            return [dataclasses.replace(op, rule=Change(wrong, False))]
        return []
    return substitutes


def _frozen_bias(op, spec):
    """A frozen bias updated anyway, or a learning bias left as it is."""
    if not isinstance(op.rule, Change) or op.source != "bias":
        return []
    return [dataclasses.replace(op, rule=Change(op.rule.rule, not op.rule.frozen))]


def _threshold_added(op, spec):
    """A threshold θ taken as a bias, on an input of +1 instead of −1: X = Σ x w + θ, and ∂E/∂θ without its −1."""
    if isinstance(op.rule, NetInput) and op.rule.threshold:
        return [dataclasses.replace(op, rule=NetInput(op.rule.bias))]
    if isinstance(op.rule, Grad) and op.rule.threshold:
        return [dataclasses.replace(op, rule=Grad(True, False, -1.0 if op.rule.minus else 1.0))]
    return []


def _other_order(wanted: str):
    """A hidden error term back-propagated through the weights of the other update order."""
    def substitutes(op, spec):
        if not isinstance(op.rule, BackSum) or spec.update_order.backprop_weights != wanted:
            return []
        swapped = tuple((OTHER_WEIGHTS[k[0]], *k[1:]) if i % 2 == 0 else k for i, k in enumerate(op.operands))
        return [dataclasses.replace(op, operands=swapped)]
    return substitutes


def _other_unit(op, spec):
    """z with another unit's weights, a hidden error term through another unit's outgoing weights, or a
    gradient with another source's input: one substitute per other unit or source."""
    layers = {l.name: l for l in spec.layers}
    if isinstance(op.rule, NetInput):
        layer = layers[op.layer]
        own = next((k[3] for k in op.operands if k[0] == "w"), None)  # a conv position's: its kernel's
        return [dataclasses.replace(op, operands=tuple((k[0], k[1], k[2], other, k[4]) if k[0] == "w" else k
                                                       for k in op.operands))
                for other in layer.rows if other not in (op.unit, own)]
    if isinstance(op.rule, BackSum) and op.operands and layers[op.operands[0][2]].grid is not None:
        return []  # through a conv's shared weights: "kernel flipped" says what goes wrong there
    if isinstance(op.rule, BackSum):
        layer = layers[op.layer]
        return [dataclasses.replace(op, operands=tuple((*k[:4], other) if i % 2 == 0 else k
                                                       for i, k in enumerate(op.operands)))
                for other in layer.units if other != op.unit]
    if op.kind == "grad" and isinstance(op.rule, Grad) and len(op.operands) == 2:  # dense (a shared one sums)
        delta, source = op.operands
        others = [s for s in layers[op.layer].sources if s not in ("bias", op.source)]
        return [dataclasses.replace(op, operands=(delta, (*source[:-1], s) if source[0] == "x"
                                                  else (*source[:3], s, source[4]))) for s in others]
    return []


def _sign_flipped(op, spec):
    """Any quantity with the opposite sign (Ekman: the minus of -(y - f) is easily lost)."""
    return [dataclasses.replace(op, rule=Scaled(op.rule, -1.0))]


MISTAKES = [  # tried in this order; the first that explains a wrong answer names it
    Mistake("activation derivative missing", "the error term lacks the factor da/dz", _derivative_missing),
    Mistake("sigmoid derivative taken as z(1-z)", "the sigmoid's derivative is a(1-a), computed from the "
            "activation a, not from the net input z",
            _derivative("sigmoid", lambda act, za: (Derivative(act), (za[0], za[0])))),
    Mistake("tanh derivative used for a sigmoid", "1 - a^2 is the derivative of tanh; the sigmoid's is a(1-a)",
            _derivative("sigmoid", lambda act, za: (Derivative(Tanh()), za))),
    Mistake("sigmoid derivative used for tanh", "a(1-a) is the sigmoid's derivative; tanh's is 1 - a^2",
            _derivative("tanh", lambda act, za: (Derivative(Sigmoid()), za))),
    Mistake("gain alpha missing", "with gain alpha the sigmoid's derivative is alpha a(1-a) (Maren eq. 6.2)",
            _derivative("sigmoid", lambda act, za: (Derivative(Sigmoid()), za) if act.alpha != 1 else None)),
    Mistake("1/2 of the loss dropped", "E = 1/2 sum (y - yhat)^2: the 1/2 was left out, doubling the value",
            _loss_scaled(lambda loss: 2.0 if loss.half else None)),
    Mistake("1/2 of the loss doubled", "the 1/2 was applied twice (or added to a loss that has none)",
            _loss_scaled(lambda loss: 0.5 if loss.squared_error else None)),
    Mistake("mean over the outputs left out", "E = 1/K sum (y - yhat)^2 averages over the K outputs: the sum was "
            "taken instead", _loss_scaled(lambda loss: float(loss.outputs) if loss.mean_over_outputs and
                                          loss.outputs > 1 else None)),
    # before the update's mistakes: for a threshold, Δθ with its sign flipped is this one, said more exactly
    Mistake("threshold added instead of subtracted", "a threshold sits on a fixed input of −1: X = Σ x w − θ, and "
            "Δθ = α (−1) δ", _threshold_added),
    Mistake("learning rate not applied", "delta w = -eta dE/dw: the learning rate factor is missing",
            _change(lambda eta: 1.0)),
    Mistake("update added instead of subtracted", "gradient descent subtracts eta dE/dw",
            _change(lambda eta: -eta)),
    Mistake("hidden error term with the already-updated weights", "back-propagate with the weights before the "
            "update (w_old), not the new ones", _other_order("w")),
    Mistake("hidden error term with the weights before the update", "in this course each layer is updated as soon "
            "as its gradient is known: back-propagate through the new weights", _other_order("w_new")),
    Mistake("frozen bias treated wrongly", "a frozen bias stays as it is, a learning bias is updated like any weight",
            _frozen_bias),
    Mistake("kernel not flipped", "this layer computes a convolution: the kernel is flipped (rotated 180°) before "
            "it slides over the input", flipped("convolution")),
    Mistake("kernel flipped", "this layer computes a cross-correlation (PyTorch's Conv2d): the kernel slides over "
            "the input as given, not flipped", flipped("cross_correlation")),
    Mistake("tied max's gradient given to every tied cell", "a max routes its window's delta once: to the first "
            "maximum, or shared among tied maxima, never whole to each of them", tie_rule("every")),
    Mistake("tied max's gradient shared", "in this course a tied max sends its window's delta to the first "
            "maximum in reading order only (as PyTorch does)", tie_rule("shared")),
    Mistake("tied max's gradient sent to the first maximum only", "in this course the tied maxima of a window "
            "share its delta equally", tie_rule("first")),
    Mistake("mean pool's gradient not divided", "a mean pool gives each cell of its window 1/n of the window's "
            "delta", mean_undivided),
    Mistake("shared weight's gradient from one position only", "a kernel weight is used at every position (an rnn's "
            "weight at every time step): its gradient is the sum of delta x input over all of them", one_position),
    Mistake("backpropagation through time cut to one step", "an rnn state's dE/da also takes the next step's "
            "deltas through the recurrent weights: Σ_j w_h[j,u] δ_j(t+1)", not_through_time),
    Mistake("input or weight of a different unit used", "each unit's net input uses its own weights, and each "
            "gradient its own input", _other_unit),
    # last: the most general explanation (for an update, "added instead of subtracted" says more)
    Mistake("sign flipped", "the value has the opposite sign", _sign_flipped, through_operands=False),
]


def substitutes(mistake: Mistake, op, spec, known: dict) -> list:
    """The mistake's substitutes of a plan's op, made once per op (`known` keeps them: an op is an operand of
    many; by identity, as steps of different sizes have different plans)."""
    where = (mistake.name, id(op))
    if where not in known:
        known[where] = mistake.substitutes(op, spec)
    return known[where]


def substituted(mistake: Mistake, op, operands: list, spec, known: dict) -> list:
    """The ops a student making `mistake` computes instead of `op`: op itself substituted, or (through_operands)
    one of its operands' ops (`operands`, as op's plan holds them)."""
    ops = [op] + (operands if mistake.through_operands else [])
    return [alt for o in ops for alt in substitutes(mistake, o, spec, known)]


def mistake_values(mistake: Mistake, exercise, item, get) -> list[float]:
    """What a student making `mistake` writes for `item`, from earlier values `get`: the plan with the item's
    op substituted, or with one of its operands' ops substituted (what follows from it computed again)."""
    return next(each_mistake(exercise, item, get, [mistake]))[1]


def each_mistake(exercise, item, get, mistakes: list[Mistake] = MISTAKES):
    """(mistake, what a student making it writes for `item`) for each mistake, the item's op and getter made
    once and each op's substitutes once per exercise (`exercise.substitutes`); a mistake whose values cannot be
    computed here (a division by zero, an overflow) gives none."""
    op, spec = exercise.op(item), exercise.spec
    plan = exercise.plans[item.step]
    plan_get = exercise.getter(item.step, get)
    operands = [plan[k] for k in op.operands if k in plan]
    for mistake in mistakes:
        try:
            values = [float(plan.value_with(plan_get, alt, op.key))
                      for alt in substituted(mistake, op, operands, spec, exercise.substitutes)]
        except (KeyError, ValueError, ZeroDivisionError, IndexError, OverflowError):
            values = []
        yield mistake, values
