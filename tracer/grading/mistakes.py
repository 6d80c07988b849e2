"""The classic mistakes of hand-computed backpropagation, each as the wrong value it would produce.

A mistake is a name and a small function: given an item and the student's earlier values (`get`), it
returns what a student making that mistake would write for the item, by swapping one ingredient of the
engine's computation (tracer.exercise.Recompute), or None when the mistake cannot apply there.
`tracer check` names the first mistake whose value matches a wrong answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .exercise import Item, Recompute


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: its name, a one-line explanation for the student, and the wrong value it gives."""

    name: str
    explain: str
    value: Callable  # (item, recompute, get) -> float | None


def _sign_flipped(item: Item, rc: Recompute, get):
    """Any quantity with the opposite sign (Ekman: the minus of -(y - f) is easily lost)."""
    return -rc.value(item, get)


def _derivative_missing(item: Item, rc: Recompute, get):
    """An error term without the factor da/dz (as if the unit were linear)."""
    if item.kind != "delta":
        return None
    return rc.value(item, get, da_dz=lambda z, a: np.ones_like(z)) if not _fused(item, rc) else None


def _fused(item: Item, rc: Recompute) -> bool:
    """Output deltas of the cross-entropies skip the activation derivative by design."""
    return item.layer == rc.spec.layers[-1].name and rc.spec.loss.needs is not None


def _activation(item: Item, rc: Recompute):
    """The activation object of the item's layer (None for the loss)."""
    return rc.layers[item.layer][1].activation if item.layer in rc.layers else None


def _with_derivative(fn):
    """A mistake in da/dz: wrong for the derivative itself and for the delta built from it."""
    def value(item: Item, rc: Recompute, get):
        act = _activation(item, rc)
        if act is None or item.kind not in ("da_dz", "delta") or fn(act) is None or _fused(item, rc):
            return None
        return rc.value(item, get, da_dz=fn(act))
    return value


def _alpha(act) -> float:
    """The sigmoid's gain (1 for activations without one)."""
    return getattr(act, "alpha", 1.0)


HALF = {"half_sse": True, "sse": False}  # squared-error losses: whether the source writes the 1/2


def _loss_scaled(factor: float, losses: tuple):
    """The loss (and what follows from it at the output) multiplied by a factor: a 1/2 dropped or doubled."""
    def value(item: Item, rc: Recompute, get):
        if rc.spec.loss.name not in losses:
            return None
        out = rc.spec.layers[-1].name
        if item.kind == "loss" or (item.kind in ("dE_da", "delta") and item.layer == out):
            return factor * rc.value(item, get)
        return None
    return value


def _update(transform):
    """A mistake in the update rule, applied to delta_w (and to w_new through it)."""
    def value(item: Item, rc: Recompute, get):
        if item.kind not in ("delta_w", "w_new"):
            return None
        spec = rc.spec
        G_item = Item("G", item.step, 0, item.layer, item.unit, item.source)
        G = rc.value(G_item, get)
        w = rc.weight(get, item.step, item.layer, item.unit, item.source)
        dw = transform(spec, G, w)
        return dw if item.kind == "delta_w" else w + dw
    return value


def _updated_weights_for_hidden_error(item: Item, rc: Recompute, get):
    """Hidden error terms computed with the weights after the update (w_new) instead of before."""
    k = rc.layers[item.layer][0] if item.layer in rc.layers else None
    if k is None or k == len(rc.spec.layers) - 1 or item.kind not in ("dE_da", "delta"):
        return None

    def new_weight(step, src, unit, lay):
        return get("w_new", step, 0, lay, unit, src)

    if item.kind == "dE_da":
        return rc.value(item, get, weight=new_weight)
    dE_item = Item("dE_da", item.step, item.sample, item.layer, item.unit)
    wrong = rc.value(dE_item, get, weight=new_weight)
    return rc.value(item, lambda kind, *key: wrong if (kind, *key) == dE_item.key else get(kind, *key))


def _bias_frozen_ignored(item: Item, rc: Recompute, get):
    """A frozen bias updated anyway, or a bias that should learn left unchanged."""
    if item.source != "bias" or item.kind not in ("delta_w", "w_new"):
        return None
    layer = rc.layers[item.layer][1]
    frozen = layer.frozen[layer.units.index(item.unit), 0]
    w = rc.weight(get, item.step, item.layer, item.unit, "bias")
    if frozen:
        G = rc.value(Item("G", item.step, 0, item.layer, item.unit, "bias"), get)
        dw = -rc.spec.learning_rate * G
    else:
        dw = 0.0
    return dw if item.kind == "delta_w" else w + dw


def _other_unit(item: Item, rc: Recompute, get):
    """z computed with the weights of another unit of the layer, a hidden error term back-propagated through
    another unit's outgoing weights, or a gradient with another source's input: one value per other unit."""
    layer = rc.layers[item.layer][1] if item.layer in rc.layers else None
    if item.kind == "z":
        others = [u for u in layer.units if u != item.unit]
        return [rc.value(item, get, weight=lambda s, src, unit=o, lay=item.layer: rc.weight(get, s, lay, unit, src))
                for o in others] or None
    if item.kind == "dE_da" and item.layer != rc.spec.layers[-1].name:
        return [rc.value(item, get, weight=lambda s, src, unit, lay, o=o: rc.weight(get, s, lay, unit, o))
                for o in layer.units if o != item.unit] or None
    if item.kind == "grad":
        return [rc.value(item, get, input_=lambda src, o=o: rc.input(get, item.step, item.sample, item.layer, o))
                for o in layer.sources if o != item.source] or None
    return None


MISTAKES = [  # tried in this order; the first that explains a wrong answer names it
    Mistake("activation derivative missing", "the error term lacks the factor da/dz", _derivative_missing),
    Mistake("sigmoid derivative taken as z(1-z)", "the sigmoid's derivative is a(1-a), computed from the "
            "activation a, not from the net input z",
            _with_derivative(lambda act: (lambda z, a: _alpha(act) * z * (1 - z)) if act.name == "sigmoid" else None)),
    Mistake("tanh derivative used for a sigmoid", "1 - a^2 is the derivative of tanh; the sigmoid's is a(1-a)",
            _with_derivative(lambda act: (lambda z, a: 1 - a * a) if act.name == "sigmoid" else None)),
    Mistake("sigmoid derivative used for tanh", "a(1-a) is the sigmoid's derivative; tanh's is 1 - a^2",
            _with_derivative(lambda act: (lambda z, a: a * (1 - a)) if act.name == "tanh" else None)),
    Mistake("gain alpha missing", "with gain alpha the sigmoid's derivative is alpha a(1-a) (Maren eq. 6.2)",
            _with_derivative(lambda act: (lambda z, a: a * (1 - a)) if act.name == "sigmoid" and act.alpha != 1
                             else None)),
    Mistake("1/2 of the loss dropped", "E = 1/2 sum (y - yhat)^2: the 1/2 was left out, doubling the value",
            _loss_scaled(2.0, tuple(k for k, half in HALF.items() if half))),
    Mistake("1/2 of the loss doubled", "the 1/2 was applied twice (or added to a loss that has none)",
            _loss_scaled(0.5, tuple(HALF))),
    Mistake("learning rate not applied", "delta w = -eta dE/dw: the learning rate factor is missing",
            _update(lambda spec, G, w: -G)),
    Mistake("update added instead of subtracted", "gradient descent subtracts eta dE/dw",
            _update(lambda spec, G, w: spec.learning_rate * (G + spec.weight_decay * w))),
    Mistake("hidden error term with the already-updated weights", "back-propagate with the weights before the "
            "update (w_old), not the new ones", _updated_weights_for_hidden_error),
    Mistake("frozen bias treated wrongly", "a frozen bias stays as it is, a learning bias is updated like any weight",
            _bias_frozen_ignored),
    Mistake("input or weight of a different unit used", "each unit's net input uses its own weights, and each "
            "gradient its own input", _other_unit),
    # last: the most general explanation (for an update, "added instead of subtracted" says more)
    Mistake("sign flipped", "the value has the opposite sign", _sign_flipped),
]
