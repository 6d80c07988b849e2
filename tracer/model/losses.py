"""Loss functions per sample, summed over the output units: value, dE/dyhat as the books write it, Excel text.

`value(y, a, z, act)` and `dE_da(y, a)` act on arrays of shape (samples, output units);
`value` returns one loss per sample. The `written_*` methods give the forms the books write
(tracer.model.expr), over the keys of y and a, in a notation's conventions (the error as y - a or
a - y, the 1/2 in front or as /2). Cross-entropies use the output activation's log (from z),
so a saturated unit gives a large finite loss, not ln 0.
"""
from __future__ import annotations

import numpy as np

from .expr import ONE, TWO, Call, Frac, Neg, Num, Param, Paren, Ref, Square, add, mul, one_minus, sub


class Loss:
    """Base: the output layer's delta is dE/da * da/dz unless the pair has a simpler exact form."""

    name = ""
    formula = ""
    derivative = ""
    needs = None  # the output activation this loss requires, if any
    squared_error = False  # sum of squared differences (with or without 1/2)
    half = False  # the 1/2 in front: its derivative loses the 2
    mean_over_outputs = False  # divided by the number of outputs K (PyTorch's MSELoss)
    outputs = 1  # K, the number of output units
    gradient_factor = None  # the update's factor of (yhat - y) where the spec gives it apart (GradientFactor)

    def written_output_delta(self, y: tuple, a: tuple, y_all: tuple, act):
        """The fused output error term, or None when delta is dE/da times da/dz."""
        return None

    def output_delta(self, y, a, dE_da, da_dz, act):
        """delta at the output layer (CS 510: delta^L = dC/da^L h'(z^L))."""
        return act.backward(dE_da, da_dz, a)

    def excel_output_delta(self, y: str, a: str, y_cells: tuple, act) -> str | None:
        """Spreadsheet text of a fused output delta, or None to use the activation's backward."""
        return None

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        """One sample's loss as JavaScript over the text of the targets, outputs and output net inputs, in the
        order `value` computes it (tracer.export.live)."""
        raise NotImplementedError

    def js_dE_da(self, y: str, a: str) -> str:
        """dE/dyhat as JavaScript, as `dE_da`."""
        raise NotImplementedError

    def written_error(self, y: tuple, a: tuple, notation):
        """The error -dE/dyhat, where delta is -dE/dz (spec `delta: -dE/dz`): the derivative negated."""
        return Neg(Paren(self.written_dE_da(y, a, notation)))


class HalfSSE(Loss):
    """E = 1/2 sum_k (y_k - yhat_k)^2: Ekman, Frey, Maren (SSE), CS 510 (with mean over samples)."""

    name = "half_sse"
    squared_error = half = True
    formula = "E = 1/2 sum_k (y_k - yhat_k)^2"
    derivative = "dE/dyhat_k = -(y_k - yhat_k)"  # Ekman: MSE' = -(y - y_f); Frey eq. (10): yhat - y

    def value(self, y, a, z=None, act=None):
        return 0.5 * ((y - a) ** 2).sum(axis=-1)

    def dE_da(self, y, a):
        return -(y - a)

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return "0.5*(" + "+".join(f"({y}-{a})^2" for y, a in pairs) + ")"

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"-({y}-{a})"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        return "(0.5*(" + "+".join(f"sq({y}-{a})" for y, a in zip(ys, as_)) + "))"

    def js_dE_da(self, y: str, a: str) -> str:
        return f"(-({y}-{a}))"

    def written_value(self, pairs: list, notation):
        """1/2 sum (y - yhat)^2 (Frey, Maren eq. 6.5) or (y - yhat)^2/2 (Ekman)."""
        terms = [Square(_error(notation, y, a)) for y, a in pairs]
        body = add(*terms)
        if notation.half == "/2":
            return Frac(body, TWO)
        return mul(Frac(ONE, TWO), Paren(body) if len(terms) > 1 else body, dots=False)

    def written_dE_da(self, y: tuple, a: tuple, notation):
        """-(y - yhat) (Ekman's MSE', Maren's -E_o) or yhat - y (Frey eq. 10, CS 510)."""
        if notation.error_form == "-(y-a)":
            return Neg(Paren(sub(Ref(y), Ref(a))))
        return sub(Ref(a), Ref(y))

    def written_error(self, y: tuple, a: tuple, notation):
        """e = y - yhat (Negnevitsky: e_k = y_d,k - y_k)."""
        return sub(Ref(y), Ref(a))


class SSE(Loss):
    """E = sum_k (y_k - yhat_k)^2 with no 1/2: Davila's C = (a^L - y)^2, so dC/da = 2(a - y)."""

    name = "sse"
    squared_error = True
    formula = "E = sum_k (y_k - yhat_k)^2"
    derivative = "dE/dyhat_k = 2 (yhat_k - y_k)"  # Davila: dC/da^L = 2(a^L - y)

    def value(self, y, a, z=None, act=None):
        return ((y - a) ** 2).sum(axis=-1)

    def dE_da(self, y, a):
        return 2.0 * (a - y)

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return "+".join(f"({y}-{a})^2" for y, a in pairs)

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"2*({a}-{y})"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        return "(" + "+".join(f"sq({y}-{a})" for y, a in zip(ys, as_)) + ")"

    def js_dE_da(self, y: str, a: str) -> str:
        return f"(2*({a}-{y}))"

    def written_value(self, pairs: list, notation):
        """sum (y - yhat)^2, no 1/2 (Davila's C = (a^L - y)^2)."""
        return add(*[Square(_error(notation, y, a)) for y, a in pairs])

    def written_dE_da(self, y: tuple, a: tuple, notation):
        """2(yhat - y) (Davila)."""
        return mul(TWO, Paren(sub(Ref(a), Ref(y))), dots=False)


class MSE(Loss):
    """E = (1/K) sum_k (y_k - yhat_k)^2, the mean over the K outputs, as PyTorch's nn.MSELoss() computes it."""

    name = "mse"
    squared_error = mean_over_outputs = True
    formula = "E = 1/K sum_k (y_k - yhat_k)^2"
    derivative = "dE/dyhat_k = 2/K (yhat_k - y_k)"

    def __init__(self, outputs: int = 1):
        self.outputs = outputs

    def value(self, y, a, z=None, act=None):
        return ((y - a) ** 2).mean(axis=-1)

    def dE_da(self, y, a):
        return 2.0 / self.outputs * (a - y)

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return "(" + "+".join(f"({y}-{a})^2" for y, a in pairs) + f")/{self.outputs}"

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"2/{self.outputs}*({a}-{y})"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        return "((" + "+".join(f"sq({y}-{a})" for y, a in zip(ys, as_)) + f")/{self.outputs})"

    def js_dE_da(self, y: str, a: str) -> str:
        return f"(2/{self.outputs}*({a}-{y}))"

    def written_value(self, pairs: list, notation):
        """1/K sum (y - yhat)^2, with K the number of outputs."""
        terms = [Square(_error(notation, y, a)) for y, a in pairs]
        return mul(Frac(ONE, Num(str(self.outputs))), Paren(add(*terms)) if len(terms) > 1 else add(*terms), dots=False)

    def written_dE_da(self, y: tuple, a: tuple, notation):
        """2/K (yhat - y)."""
        return mul(Frac(TWO, Num(str(self.outputs))), Paren(sub(Ref(a), Ref(y))), dots=False)


class BinaryCrossEntropy(Loss):
    """E = -sum_k [y_k ln yhat_k + (1 - y_k) ln(1 - yhat_k)] on sigmoid outputs (Davila)."""

    name = "binary_cross_entropy"
    formula = "E = -sum_k [y_k ln yhat_k + (1 - y_k) ln(1 - yhat_k)]"
    derivative = "dE/dyhat_k = (yhat_k - y_k) / (yhat_k (1 - yhat_k))"
    needs = "sigmoid"

    def value(self, y, a, z=None, act=None):
        return -(y * act.log_a(z) + (1.0 - y) * act.log_1ma(z)).sum(axis=-1)

    def dE_da(self, y, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (a - y) / (a * (1.0 - a))

    def output_delta(self, y, a, dE_da, da_dz, act):
        """With a sigmoid of gain alpha the factors a(1 - a) cancel: delta = alpha (yhat - y)."""
        return act.alpha * (a - y)

    def excel_output_delta(self, y: str, a: str, y_cells: tuple, act) -> str:
        return f"{act.alpha!r}*({a}-{y})"

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return "-(" + "+".join(f"{y}*LN({a})+(1-{y})*LN(1-{a})" for y, a in pairs) + ")"

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"({a}-{y})/({a}*(1-{a}))"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        terms = [f"({y}*{act.js_log_a(z)}+(1-{y})*{act.js_log_1ma(z)})" for y, z in zip(ys, zs)]
        return "(-(" + "+".join(terms) + "))"

    def js_dE_da(self, y: str, a: str) -> str:
        return f"(({a}-{y})/({a}*(1-{a})))"

    def js_output_delta(self, y: str, a: str, ys: tuple, act) -> str:
        return f"({act.alpha!r}*({a}-{y}))"

    def written_value(self, pairs: list, notation):
        """-[y ln yhat + (1 - y) ln(1 - yhat)]."""
        terms = [add(mul(Ref(y), Call("ln", (Ref(a),)), dots=False),
                     mul(Paren(sub(ONE, Ref(y))), Call("ln", (Paren(sub(ONE, Ref(a))),)), dots=False))
                 for y, a in pairs]
        return Neg(Paren(add(*terms), "["))

    def written_dE_da(self, y: tuple, a: tuple, notation):
        return Frac(sub(Ref(a), Ref(y)), mul(Ref(a), one_minus(Ref(a)), dots=False))

    def written_output_delta(self, y: tuple, a: tuple, y_all: tuple, act):
        """alpha (yhat - y): the a(1 - a) of the sigmoid cancel."""
        if act.alpha != 1:
            return mul(Param("alpha", act.alpha), Paren(sub(Ref(a), Ref(y))), dots=False)
        return sub(Ref(a), Ref(y))


class CrossEntropy(Loss):
    """E = -sum_k y_k ln yhat_k on a softmax output layer."""

    name = "cross_entropy"
    formula = "E = -sum_k y_k ln yhat_k"
    derivative = "dE/dyhat_k = -y_k / yhat_k"
    needs = "softmax"

    def value(self, y, a, z=None, act=None):
        return -(y * act.log_a(z)).sum(axis=-1)

    def dE_da(self, y, a):
        out = np.zeros_like(a)
        np.divide(-y, a, out=out, where=y != 0)
        return out

    def output_delta(self, y, a, dE_da, da_dz, act):
        """Softmax Jacobian times -y/a: delta_k = yhat_k sum_j y_j - y_k (= yhat_k - y_k for one-hot y)."""
        return a * y.sum(axis=-1, keepdims=True) - y

    def excel_output_delta(self, y: str, a: str, y_cells: tuple, act) -> str:
        return f"{a}*(" + "+".join(y_cells) + f")-{y}"

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return "-(" + "+".join(f"{y}*LN({a})" for y, a in pairs) + ")"

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"IF({y}=0,0,-{y}/{a})"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        return "(-(" + "+".join(f"{y}*{act.js_log_a(z, zs)}" for y, z in zip(ys, zs)) + "))"

    def js_dE_da(self, y: str, a: str) -> str:
        return f"({y}!=0?-{y}/{a}:0)"

    def js_output_delta(self, y: str, a: str, ys: tuple, act) -> str:
        return f"({a}*(" + "+".join(ys) + f")-{y})"

    def written_value(self, pairs: list, notation):
        """-[sum y ln yhat]."""
        return Neg(Paren(add(*[mul(Ref(y), Call("ln", (Ref(a),)), dots=False) for y, a in pairs]), "["))

    def written_dE_da(self, y: tuple, a: tuple, notation):
        return Neg(Frac(Ref(y), Ref(a)))

    def written_output_delta(self, y: tuple, a: tuple, y_all: tuple, act):
        """yhat - y for one-hot targets; yhat (sum_j y_j) - y otherwise."""
        if y_all is None:
            return sub(Ref(a), Ref(y))
        return sub(mul(Ref(a), Paren(add(*[Ref(k) for k in y_all]))), Ref(y))


class GradientFactor(Loss):
    """A squared error printed as its source prints it, with the update's factor in front of (yhat - y) given
    apart: the delta rule (Widrow-Hoff, Adaline) prints (t - y)^2 but updates by eta (t - y) x, the 2 of the
    derivative left out. value and its forms are the printed loss's; dE/dyhat is factor (yhat - y)."""

    squared_error = True

    def __init__(self, printed: Loss, factor: float):
        self.printed = printed
        self.factor = self.gradient_factor = float(factor)
        self.name, self.outputs = printed.name, printed.outputs
        self.mean_over_outputs = printed.mean_over_outputs
        self.formula = f"{printed.formula}; the update uses dE/dyhat_k = {self.factor:g} (yhat_k - y_k)"
        self.derivative = f"dE/dyhat_k = {self.factor:g} (yhat_k - y_k) (gradient_factor)"

    def value(self, y, a, z=None, act=None):
        return self.printed.value(y, a, z, act)

    def dE_da(self, y, a):
        return self.factor * (a - y)

    def excel(self, pairs: list[tuple[str, str]]) -> str:
        return self.printed.excel(pairs)

    def excel_dE_da(self, y: str, a: str) -> str:
        return f"{self.factor!r}*({a}-{y})"

    def js(self, ys: tuple, as_: tuple, zs: tuple, act) -> str:
        return self.printed.js(ys, as_, zs, act)

    def js_dE_da(self, y: str, a: str) -> str:
        return f"({self.factor!r}*({a}-{y}))"

    def written_value(self, pairs: list, notation):
        return self.printed.written_value(pairs, notation)

    def written_dE_da(self, y: tuple, a: tuple, notation):
        """yhat - y (or -(y - yhat)) as the notation writes the error, with the factor in front unless it is 1."""
        if self.factor == 1:
            return HalfSSE().written_dE_da(y, a, notation)
        return mul(Num(f"{self.factor:g}"), Paren(sub(Ref(a), Ref(y))), dots=False)


def _error(notation, y: tuple, a: tuple):
    """(y - yhat) or (yhat - y), as the notation orders the error."""
    first, second = (a, y) if notation.error_form == "a-y" else (y, a)
    return Paren(sub(Ref(first), Ref(second)))


LOSSES = {cls.name: cls for cls in (HalfSSE, SSE, MSE, BinaryCrossEntropy, CrossEntropy)}


def make_loss(name: str, outputs: int = 1) -> Loss:
    """The loss called `name` over `outputs` output units (the mean over the outputs needs their number)."""
    cls = LOSSES[name]
    return cls(outputs) if cls.mean_over_outputs else cls()
