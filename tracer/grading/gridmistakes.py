"""The classic mistakes of hand-computed backpropagation through conv and pool layers, each a substitution of
one op of the plan (as tracer.grading.mistakes's): the kernel flipped or not against the layer's operation, a
tied maximum's gradient given whole to every tied cell or by the other tie rule, a mean pool's gradient not
divided among its window, and a shared weight's gradient taken from one position instead of summed.
"""
from __future__ import annotations

import dataclasses

from ..model.gridrules import PositionSum, Routed
from ..model.rules import BackSum, FirstOperand, NetInput, Scaled


def _conv(spec, op):
    """The conv layer an op's weights belong to (its own z, or the sum back-propagated through it), or None."""
    layers = {l.name: l for l in spec.layers}
    if isinstance(op.rule, NetInput) and op.kind == "z":
        layer = layers[op.layer]
    elif isinstance(op.rule, BackSum) and op.operands:
        layer = layers.get(op.operands[0][2])
    else:
        return None
    return layer if layer is not None and layer.grid is not None and layer.grid.conv else None


def flipped(operation: str):
    """The kernel read flipped (180°) where the layer reads it as given, or as given where it flips it: every
    weight of a position's window, or of a back-propagated sum, swapped for its mirror image."""
    def substitutes(op, spec):
        layer = _conv(spec, op)
        if layer is None or layer.grid.operation != operation:
            return []
        kh, kw = layer.grid.size
        first = int(layer.bias)
        mirror = {}
        for n, source in enumerate(layer.sources[first:]):
            ch, rest = divmod(n, kh * kw)
            i, j = divmod(rest, kw)
            mirror[source] = layer.sources[first + ch * kh * kw + (kh - 1 - i) * kw + (kw - 1 - j)]
        operands = tuple((*k[:4], mirror.get(k[4], k[4])) if k[0] in ("w", "w_new") and k[2] == layer.name
                         else k for k in op.operands)
        return [dataclasses.replace(op, operands=operands)] if operands != op.operands else []
    return substitutes


def tie_rule(wrong: str):
    """dE/da of a cell under a max pool by another tie rule ('every': the whole delta to each tied maximum)."""
    def substitutes(op, spec):
        if not isinstance(op.rule, Routed) or op.rule.mean or op.rule.ties == wrong:
            return []
        return [dataclasses.replace(op, rule=Routed("maxpool2d", wrong, op.rule.windows))]
    return substitutes


def mean_undivided(op, spec):
    """dE/da of a cell under a mean pool with the window's delta not divided by its n cells."""
    if not isinstance(op.rule, Routed) or not op.rule.mean or not op.rule.windows:
        return []
    return [dataclasses.replace(op, rule=Scaled(op.rule, float(op.rule.windows[0][0])))]


def one_position(op, spec):
    """A shared weight's gradient taken from one position's term instead of their sum: one substitute each."""
    if not isinstance(op.rule, PositionSum) or len(op.operands) < 2:
        return []
    return [dataclasses.replace(op, rule=FirstOperand(), operands=(term,)) for term in op.operands]


def not_through_time(op, spec):
    """dE/da of an rnn state from the layer above only: backpropagation through time cut to one step (the
    terms from the same state's next step left out)."""
    layers = {l.name: l for l in spec.layers}
    layer = layers.get(op.layer)
    if op.kind != "dE_da" or layer is None or layer.recurrence is None:
        return []
    pairs = list(zip(op.operands[::2], op.operands[1::2]))
    kept = [k for w, d in pairs if d[2] != op.layer for k in (w, d)]
    return [dataclasses.replace(op, operands=tuple(kept))] if len(kept) < len(op.operands) else []
