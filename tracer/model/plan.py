"""The plan: the worked example of one step as data, the one description of the computation.

A plan lists the operations of a step in the order a person computes them by hand. Each op names the
quantity it gives (a key: kind, sample, layer, unit, source), the rule that computes it
(tracer.model.rules: value, spreadsheet formula and written form side by side) and its operands (keys).
The keys of a step's givens are leaves: 'x' and 'y' (the inputs and targets of each sample), 'w' (the
weights before the step) and 'delta_w_prev' (the step before's changes, for momentum).

Samples are counted 1..m within the step; step quantities (G, delta_w, w_new, and the leaves w and
delta_w_prev) have sample 0. The engine computes the same thing vectorised; a test evaluates every plan
against it. The workbook's formulas, the report's lines, the exercise items and check's recomputation,
the classic mistakes (a substitution of one op) and diff's dependency order (tracer.engine.stepview) all
come from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keys import key
from .gridplan import back_operands, forward_ops, gradient_ops, recurrent_operands, rnn_forward_ops
from .rules import (Activate, BackSum, BatchGrad, Change, Derivative, ErrorTerm, FusedErrorTerm, Grad, LossDerivative,
                    LossValue, NetInput, NewWeight, SoftmaxErrorTerm)

LEAVES = ("x", "y", "w", "delta_w_prev")
PHASES = ("forward", "loss", "backward", "gradients", "batch", "change", "new")


@dataclass(frozen=True)
class Op:
    """One operation: the quantity `key` is `rule` applied to the values of `operands`.

    phase: forward, loss, backward, gradients, batch, change or new; stage: the layer block it belongs to
    when layers are updated one at a time (0 throughout in the simultaneous order).
    """

    key: tuple
    rule: object
    operands: tuple
    phase: str
    stage: int = 0

    kind = property(lambda self: self.key[0])
    sample = property(lambda self: self.key[1])
    layer = property(lambda self: self.key[2])
    unit = property(lambda self: self.key[3])
    source = property(lambda self: self.key[4])

    def value(self, get):
        """The rule applied to the operands' values, `get(key)` giving each."""
        return self.rule.value(*[get(k) for k in self.operands])


class Plan:
    """The ops of one step of `spec` with `m` samples, in hand-computation order."""

    def __init__(self, spec, m: int):
        self.spec, self.m = spec, m
        self.ops = _build(spec, m)
        self.by_key = {op.key: op for op in self.ops}
        consumers: dict = {}
        for op in self.ops:
            for k in op.operands:
                consumers.setdefault(k, []).append(op)
        self.consumers = consumers
        self.position = {op.key: i for i, op in enumerate(self.ops)}
        self.computed_from: dict = {}  # (key, other) -> whether key is computed from other

    def value_with(self, get, substitute: Op, wanted: tuple) -> float:
        """`wanted` when `substitute` computes its key instead of the plan's op (one classic mistake): the ops
        computed from it are evaluated again, every other value comes from `get`."""
        changed = {substitute.key: substitute.value(get)}

        def value(k: tuple):
            if k not in changed:
                if not self.depends(k, substitute.key):
                    return get(k)
                changed[k] = self.by_key[k].value(value)
            return changed[k]
        return value(wanted)

    def depends(self, k: tuple, other: tuple) -> bool:
        """Whether quantity `k` is computed from `other`, directly or through other ops."""
        if k == other:
            return True
        if k not in self.position or self.position[k] < self.position[other]:
            return False
        if (k, other) not in self.computed_from:
            self.computed_from[(k, other)] = any(self.depends(o, other) for o in self.by_key[k].operands)
        return self.computed_from[(k, other)]

    def leaves(self) -> list[tuple]:
        """The keys of the step's givens, in the order the ops first use them."""
        return list(dict.fromkeys(k for op in self.ops for k in op.operands if k[0] in LEAVES))

    def __getitem__(self, key) -> Op:
        return self.by_key[key]

    def __contains__(self, key) -> bool:
        return key in self.by_key

    def evaluate(self, leaves: dict, substitute: Op | None = None) -> dict:
        """Every quantity of the step from its leaves (numbers, or numpy arrays of one shape); `substitute`
        computes its key instead of the plan's op (a classic mistake), and everything after follows it."""
        values = dict(leaves)
        for op in self.ops:
            if substitute is not None and op.key == substitute.key:
                op = substitute
            values[op.key] = op.value(values.__getitem__)
        return values


def _build(spec, m: int) -> list[Op]:
    layers, last = spec.layers, len(spec.layers) - 1
    out = layers[-1]
    rule = spec.update_rule
    sequential = spec.update_order.sequential
    back_w = spec.update_order.backprop_weights
    one_hot = bool(np.allclose(spec.y.sum(axis=1), 1.0))
    ops: list[Op] = []

    def source_key(k: int, b: int, s: str) -> tuple:
        return key("x", b, source=s) if k == 0 else key("a", b, layers[k - 1].name, s)

    def below(k: int, b: int) -> list[tuple]:
        """The keys of the cells layer k reads for sample b (inputs, or the layer before's activations)."""
        return [source_key(k, b, s) for s in (spec.inputs if k == 0 else layers[k - 1].units)]

    def make(key_, rule, operands) -> Op:
        return Op(key_, rule, operands, "forward")

    def forward(b: int) -> None:
        for k, layer in enumerate(layers):
            if layer.recurrence is not None:  # step by step through time (tracer.model.gridplan)
                ops.extend(rnn_forward_ops(layer, b, below(k, b), make))
                continue
            if layer.grid is not None:  # a conv's windows or a pool's
                ops.extend(forward_ops(layer, b, below(k, b), make))
                continue
            zs = tuple(key("z", b, layer.name, u) for u in layer.units)
            for j, u in enumerate(layer.units):
                operands = [key("w", 0, layer.name, u, "bias")] if layer.bias else []
                for s in layer.sources[int(layer.bias):]:
                    operands += [key("w", 0, layer.name, u, s), source_key(k, b, s)]
                ops.append(Op(zs[j], NetInput(layer.bias, layer.threshold), tuple(operands), "forward"))
                if not layer.activation.vector:
                    ops.append(Op(key("a", b, layer.name, u), Activate(layer.activation, 0), (zs[j],), "forward"))
            if layer.activation.vector:
                ops.extend(Op(key("a", b, layer.name, u), Activate(layer.activation, j), zs, "forward")
                           for j, u in enumerate(layer.units))
        ys = tuple(key("y", b, out.name, u) for u in out.units)
        a_out = tuple(key("a", b, out.name, u) for u in out.units)
        z_out = tuple(key("z", b, out.name, u) for u in out.units)
        ops.append(Op(key("loss", b), LossValue(spec.loss, out.activation, len(ys)), ys + a_out + z_out, "loss"))

    def backward(k: int, b: int, stage: int) -> None:
        layer, name = layers[k], layers[k].name
        per_unit = []
        units = list(enumerate(layer.units))
        for j, u in (reversed(units) if layer.recurrence is not None else units):  # BPTT: from the last step
            if k == last:
                dE = Op(key("dE_da", b, name, u), LossDerivative(spec.loss, spec.delta_sign),
                        (key("y", b, name, u), key("a", b, name, u)), "backward", stage)
            elif layers[k + 1].grid is not None:  # through the windows that read this unit
                rule, operands = back_operands(layers[k + 1], j, b, back_w, below(k + 1, b))
                if layer.recurrence is not None:  # and through time, from the same state at the next step
                    operands += recurrent_operands(layer, j, b)
                dE = Op(key("dE_da", b, name, u), rule, operands, "backward", stage)
            else:  # Frey eq. (4), through the weights before the step (or after, when sequential)
                nxt = layers[k + 1]
                operands = [x for v in nxt.units for x in (key(back_w, 0, nxt.name, v, u), key("delta", b, nxt.name, v))]
                dE = Op(key("dE_da", b, name, u), BackSum(), tuple(operands), "backward", stage)
            da = Op(key("da_dz", b, name, u), Derivative(layer.activation), (key("z", b, name, u), key("a", b, name, u)),
                    "backward", stage)
            per_unit.append((dE, da, error_term(k, b, j, u, stage)))
        if layer.activation.vector:  # each delta needs every dE/da of the layer
            ops.extend([p[0] for p in per_unit] + [p[1] for p in per_unit] + [p[2] for p in per_unit])
        else:
            ops.extend(op for p in per_unit for op in p)

    def error_term(k: int, b: int, j: int, u: str, stage: int) -> Op:
        layer, name = layers[k], layers[k].name
        if k == last and spec.loss.needs is not None:  # cross-entropies: the derivatives cancel
            ys = tuple(key("y", b, name, v) for v in layer.units)
            fused = FusedErrorTerm(spec.loss, layer.activation, j, one_hot, spec.delta_sign)
            return Op(key("delta", b, name, u), fused, (ys[j], key("a", b, name, u), *ys), "backward", stage)
        if layer.activation.vector:
            a_all = tuple(key("a", b, name, v) for v in layer.units)
            dE_all = tuple(key("dE_da", b, name, v) for v in layer.units)
            return Op(key("delta", b, name, u), SoftmaxErrorTerm(layer.activation, len(a_all), j),
                      (key("dE_da", b, name, u), key("a", b, name, u), *a_all, *dE_all), "backward", stage)
        return Op(key("delta", b, name, u), ErrorTerm(layer.activation),
                  (key("dE_da", b, name, u), key("da_dz", b, name, u)),
                  "backward", stage)

    def gradients(k: int, b: int, stage: int) -> None:
        layer = layers[k]
        if layer.grid is not None or layer.shared:  # each shared weight's terms, then their sum
            ops.extend(gradient_ops(layer, b, below(k, b), spec.delta_sign,
                                    lambda key_, rule, operands: Op(key_, rule, operands, "gradients", stage)))
            return
        for u in layer.units:
            for s in layer.sources:
                delta = key("delta", b, layer.name, u)
                operands = (delta,) if s == "bias" else (delta, source_key(k, b, s))
                grad = Grad(s == "bias", layer.threshold, spec.delta_sign)
                ops.append(Op(key("grad", b, layer.name, u, s), grad, operands, "gradients", stage))

    def update(ks: list[int], stage: int) -> None:
        params = [(layers[k], j, u, i, s) for k in ks for j, u in enumerate(layers[k].rows)
                  for i, s in enumerate(layers[k].sources)]
        if m > 1:
            ops.extend(Op(key("G", 0, l.name, u, s), BatchGrad(m, spec.training.reduction == "mean"),
                          tuple(key("grad", b, l.name, u, s) for b in range(1, m + 1)), "batch", stage)
                       for l, j, u, i, s in params)
        for l, j, u, i, s in params:
            G = key("G" if m > 1 else "grad", 0 if m > 1 else 1, l.name, u, s)
            prev = (key("delta_w_prev", 0, l.name, u, s),) if rule.momentum else ()
            ops.append(Op(key("delta_w", 0, l.name, u, s), Change(rule, bool(l.frozen[j, i])),
                          (G, key("w", 0, l.name, u, s), *prev), "change", stage))
        ops.extend(Op(key("w_new", 0, l.name, u, s), NewWeight(rule, bool(l.frozen[j, i])),
                      (key("w", 0, l.name, u, s), key("delta_w", 0, l.name, u, s)), "new", stage)
                   for l, j, u, i, s in params)

    if sequential:  # forward for every sample, then each layer from the output: backward, gradients, update
        for b in range(1, m + 1):
            forward(b)
        for stage, k in enumerate(range(last, -1, -1)):
            for b in range(1, m + 1):
                backward(k, b, stage)
                gradients(k, b, stage)
            update([k], stage)
    else:  # each sample through, then the update of every layer (Frey eq. 3-5)
        for b in range(1, m + 1):
            forward(b)
            for k in range(last, -1, -1):
                backward(k, b, 0)
            for k in range(len(layers)):
                gradients(k, b, 0)
        update(list(range(len(layers))), 0)
    return ops
