"""The operations of the plan: each rule holds its value (numpy), spreadsheet formula, JavaScript and written
form together.

A rule is applied to the operands of its op, in the op's order: `value(*numbers)` (floats or numpy arrays
of one shape, elementwise), `formula(*cells)` (spreadsheet text over the operands' cells), `js(*names)`
(a JavaScript expression over the operands' names, computed in the order `value` computes, for the live page)
and `written(op, w)` (a tracer.model.expr tree; `w.operand(key, op)` gives an operand as the notation writes it:
its label, or its own written form where the notation substitutes it). The activations, losses and the
update rule supply their own parts (tracer.model.activations, losses, updates).
"""
from __future__ import annotations

import numpy as np

from .expr import ONE, Add, Either, Ellipsis_, Frac, Neg, Num, Paren, Ref, Sum, Tagged, add, mul

MAX_TERMS = 8  # terms of a batch sum written out before "..."


def side_by_side(xs) -> np.ndarray:
    """Operands side by side on the last axis: what the loss and softmax code sums over."""
    return np.stack(np.broadcast_arrays(*[np.asarray(x, float) for x in xs]), axis=-1)


class Arithmetic:
    """A rule whose spreadsheet formula is plain arithmetic (+, *, /, brackets): its JavaScript is the same
    text, bracketed so it composes."""

    def js(self, *names):
        return f"({self.formula(*names)})"


class NetInput(Arithmetic):
    """z = b + sum_i w_i x_i (CS 510: z = wx + b; Frey: h_j = sum_i x_i v_ij), or with a threshold
    z = sum_i w_i x_i - θ (Negnevitsky: θ on a fixed −1 input). Operands: b or θ?, w1, x1, w2, x2..."""

    def __init__(self, bias: bool, threshold: bool = False):
        self.bias, self.threshold = bias, threshold

    def _parts(self, xs):
        first = (xs[0],) if self.bias else ()
        rest = xs[1:] if self.bias else xs
        return first, list(zip(rest[::2], rest[1::2]))

    def value(self, *xs):
        bias, pairs = self._parts(xs)
        total = (-bias[0] if self.threshold else bias[0]) if bias else 0.0
        for w, x in pairs:
            total = total + w * x
        return total

    def formula(self, *cells):
        bias, pairs = self._parts(cells)
        return ("-" if self.threshold else "") + "+".join([*bias, *(f"{w}*{x}" for w, x in pairs)])

    def written(self, op, w):
        bias, pairs = self._parts(op.operands)
        products = [mul(w.operand(wk, op), w.operand(xk, op), dots=False) for wk, xk in pairs]
        if self.threshold:  # X = x1 w1 + x2 w2 − θ
            return Add(tuple(("+", t) for t in products) + (("-", w.operand(bias[0], op)),))
        return add(*[w.operand(k, op) for k in bias], *products)


class Activate:
    """a_j = f(z): the layer's activation (all of the layer's z for softmax)."""

    def __init__(self, act, j: int):
        self.act, self.j = act, j

    def value(self, *zs):
        return self.act.f(side_by_side(zs))[..., self.j if self.act.vector else 0]

    def formula(self, *cells):
        return self.act.excel(cells[self.j if self.act.vector else 0], cells)

    def js(self, *names):
        return self.act.js(names[self.j if self.act.vector else 0], names)

    def written(self, op, w):
        return self.act.written(op.operands, self.j if self.act.vector else 0, op.layer, op.unit)


class Derivative:
    """da/dz, from z and the stored a where the books do so (Maren eq. 6.2). Operands: z, a."""

    def __init__(self, act):
        self.act = act

    def value(self, z, a):
        return self.act.da_dz(np.asarray(z, float), np.asarray(a, float))

    def formula(self, z, a):
        return self.act.excel_da_dz(z, a)

    def js(self, z, a):
        return self.act.js_da_dz(z, a)

    def written(self, op, w):
        return self.act.written_da_dz(*op.operands)


class LossValue:
    """One sample's loss. Operands: the targets, then the output activations, then the output net inputs."""

    def __init__(self, loss, act, outputs: int):
        self.loss, self.act, self.n = loss, act, outputs

    def value(self, *xs):
        n = self.n
        return self.loss.value(side_by_side(xs[:n]), side_by_side(xs[n:2 * n]), side_by_side(xs[2 * n:]), self.act)

    def formula(self, *cells):
        return self.loss.excel(list(zip(cells[:self.n], cells[self.n:2 * self.n])))

    def js(self, *names):
        n = self.n
        return self.loss.js(names[:n], names[n:2 * n], names[2 * n:], self.act)

    def written(self, op, w):
        n = self.n
        return self.loss.written_value(list(zip(op.operands[:n], op.operands[n:2 * n])), w.notation)


class LossDerivative:
    """dE/dyhat of an output unit, or (delta_sign -1) the error e = -dE/dyhat (Negnevitsky: e = y_d - y).
    Operands: y, a."""

    def __init__(self, loss, sign: float = 1.0):
        self.loss, self.sign = loss, sign

    def value(self, y, a):
        dE_da = self.loss.dE_da(np.asarray(y, float), np.asarray(a, float))
        return -dE_da if self.sign < 0 else dE_da

    def formula(self, y, a):
        return f"-({self.loss.excel_dE_da(y, a)})" if self.sign < 0 else self.loss.excel_dE_da(y, a)

    def js(self, y, a):
        return f"(-{self.loss.js_dE_da(y, a)})" if self.sign < 0 else self.loss.js_dE_da(y, a)

    def written(self, op, w):
        if self.sign < 0:
            return self.loss.written_error(*op.operands, w.notation)
        return self.loss.written_dE_da(*op.operands, w.notation)


class BackSum(Arithmetic):
    """dE/da_j = sum_k w_kj delta_k (Frey eq. 4). Operands: w_1k, delta_1, w_2k, delta_2 ..."""

    def value(self, *xs):
        total = 0.0
        for w, d in zip(xs[::2], xs[1::2]):
            total = total + w * d
        return total

    def formula(self, *cells):
        return "+".join(f"{a}*{b}" for a, b in zip(cells[::2], cells[1::2])) or "0"

    def written(self, op, w):
        pairs = zip(op.operands[::2], op.operands[1::2])
        order = w.notation.sum_terms  # ('w', 'delta') or Frey's ('delta', 'w')
        return add(*[mul(*[w.operand(wk if f == "w" else dk, op) for f in order]) for wk, dk in pairs])


class ErrorTerm(Arithmetic):
    """delta = dE/da * da/dz (CS 510: delta^L = dC/da h'(z); Frey rules i, ii): the activation's own backward.
    Operands: dE_da, da_dz."""

    def __init__(self, act):
        self.act = act

    def value(self, dE_da, da_dz):
        return self.act.backward(dE_da, da_dz, None)  # elementwise: no a needed

    def formula(self, dE_da, da_dz):
        return f"{dE_da}*{da_dz}"

    def written(self, op, w):
        order = w.notation.output_delta if w.role(op) == "output" else w.notation.hidden_delta
        factors = dict(zip(("dE_da", "da_dz"), op.operands))
        return mul(*[w.operand(factors[f], op) for f in order])


class SoftmaxErrorTerm:
    """delta_j = a_j (dE/da_j - sum_k a_k dE/da_k): the full Jacobian, the activation's own backward.
    Operands: dE_j, a_j, a_1..a_n, dE_1..dE_n."""

    def __init__(self, act, n: int, j: int):
        self.act, self.n, self.j = act, n, j

    def value(self, dE_j, a_j, *rest):
        a, dE = side_by_side(rest[:self.n]), side_by_side(rest[self.n:])
        return self.act.backward(dE, None, a)[..., self.j]

    def formula(self, dE_j, a_j, *rest):
        return self.act.excel_backward(dE_j, "", a_j, rest[:self.n], rest[self.n:])

    def js(self, dE_j, a_j, *rest):
        return self.act.js_backward(dE_j, a_j, rest[:self.n], rest[self.n:])

    def written(self, op, w):
        dE_j, a_j, *rest = op.operands
        return self.act.written_backward(dE_j, a_j, tuple(rest[:self.n]), tuple(rest[self.n:]))


class FusedErrorTerm:
    """The output error term of a cross-entropy, where the derivatives cancel: the loss's own output delta.
    Operands: y_j, a_j, y_1..y_n."""

    def __init__(self, loss, act, j: int, one_hot: bool, sign: float = 1.0):
        self.loss, self.act, self.j, self.one_hot, self.sign = loss, act, j, one_hot, sign

    def value(self, y_j, a_j, *ys):
        y = side_by_side(ys)
        a = np.broadcast_to(np.asarray(a_j, float)[..., None], y.shape)  # only a_j is needed at unit j
        delta = self.loss.output_delta(y, a, None, None, self.act)[..., self.j]
        return -delta if self.sign < 0 else delta

    def formula(self, y_j, a_j, *ys):
        text = self.loss.excel_output_delta(y_j, a_j, ys, self.act)
        return f"-({text})" if self.sign < 0 else text

    def js(self, y_j, a_j, *ys):
        text = self.loss.js_output_delta(y_j, a_j, ys, self.act)
        return f"(-{text})" if self.sign < 0 else text

    def written(self, op, w):
        y_j, a_j, *ys = op.operands
        delta = self.loss.written_output_delta(y_j, a_j, None if self.one_hot else tuple(ys), self.act)
        return Neg(Paren(delta)) if self.sign < 0 else delta


class Grad(Arithmetic):
    """dE/dw_ij = delta_j x_i for one sample (Frey eq. 1); the bias input is 1, a threshold's −1; where delta is
    -dE/dz (delta_sign -1), dE/dw_ij = -delta_j x_i. Operands: delta[, input]."""

    def __init__(self, bias: bool, threshold: bool = False, sign: float = 1.0):
        self.bias, self.threshold, self.minus = bias, bias and threshold, sign < 0
        self.negated = self.minus != self.threshold  # the product's sign: (−1) input, −delta, or both (+)

    def value(self, delta, x=1.0):
        product = delta if self.bias else delta * x
        return -product if self.negated else product

    def formula(self, delta, x=None):
        product = delta if self.bias else f"{delta}*{x}"
        return f"-{product}" if self.negated else product

    def written(self, op, w):
        one = Paren(Num("−1")) if self.threshold else ONE
        parts = {"delta": w.operand(op.operands[0], op), "input": one if self.bias else w.operand(op.operands[1], op)}
        product = mul(*[parts[f] for f in w.notation.factors(w.role(op))])
        return Neg(product) if self.minus else product


class BatchGrad(Arithmetic):
    """A batch's gradient: the mean (Frey eq. 3, Davila) or the sum of its samples' gradients."""

    def __init__(self, m: int, mean: bool):
        self.m, self.mean = m, mean

    def value(self, *grads):
        total = grads[0]
        for g in grads[1:]:
            total = total + g
        return total / self.m if self.mean else total

    def formula(self, *cells):
        total = "(" + "+".join(cells) + ")"
        return f"{total}/{self.m}" if self.mean else total

    def written(self, op, w):
        scale = (Frac(ONE, Num(str(self.m))),) if self.mean else ()
        refs = [Ref(k) for k in op.operands]
        if len(refs) > MAX_TERMS:
            refs = refs[:MAX_TERMS - 2] + [Ellipsis_(), refs[-1]]
        return Either(mul(*scale, Sum(Ref(op.operands[0]), self.m), dots=False),
                      mul(*scale, Paren(add(*refs)), dots=False))


class Change:
    """delta_w by the update rule (descent, weight decay, momentum); 0 for a frozen parameter.
    Operands: G, w[, delta_w of the step before]."""

    def __init__(self, rule, frozen: bool):
        self.rule, self.frozen = rule, frozen

    def value(self, G, w, prev=0.0):
        return np.zeros(np.shape(G)) if self.frozen else self.rule.delta_w(G, w, prev)

    def formula(self, G, w, prev=None):
        return "0" if self.frozen else self.rule.formula(G, w, prev)

    def js(self, G, w, prev=None):
        return "0" if self.frozen else self.rule.js(G, w, prev)

    def js_own(self, G, w, prev=None):
        """As `js`, with the rule's own constants (a mistake's other learning rate) instead of the page's."""
        return "0" if self.frozen else self.rule.js(G, w, prev, own=True)

    def written(self, op, w):
        if self.frozen:
            return Num("0")
        G, weight, *prev = op.operands
        return self.rule.written_change(w.operand(G, op), Ref(weight), Ref(prev[0]) if prev else None)


class NewWeight(Arithmetic):
    """w_new = w + delta_w (a frozen parameter keeps w). Operands: w, delta_w."""

    def __init__(self, rule, frozen: bool):
        self.rule, self.frozen = rule, frozen

    def value(self, w, delta_w):
        return w + delta_w

    def formula(self, w, delta_w):
        return f"{w}+{delta_w}"

    def written(self, op, w):
        weight, change = op.operands
        if self.frozen:
            return Tagged(Ref(weight), "(frozen)")
        if w.notation.update_form == "decay" and self.rule.weight_decay and not self.rule.momentum:
            change_op = w.plan[change]  # CS 510: w <- (1 - alpha) w - alpha a delta
            return self.rule.written_decayed(Ref(weight), w.operand(change_op.operands[0], change_op))
        return add(Ref(weight), w.operand(change, op))



class Scaled:
    """Another rule's value times a constant: a factor lost, doubled or its sign flipped (the classic mistakes
    of tracer.grading.mistakes, which need only values)."""

    def __init__(self, rule, factor: float):
        self.rule, self.factor = rule, factor

    def value(self, *xs):
        return self.factor * self.rule.value(*xs)

    def js(self, *names):
        return f"({self.factor!r}*{self.rule.js(*names)})"


class FirstOperand:
    """The first operand as it is: a factor left out of a product (an error term without da/dz)."""

    def value(self, first, *rest):
        return first

    def js(self, first, *rest):
        return first
