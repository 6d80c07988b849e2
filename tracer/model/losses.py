"""Loss functions per sample, summed over the output units: value, dE/dyhat as the books write it, Excel text.

`value(y, a, z, act)` and `dE_da(y, a)` act on arrays of shape (samples, output units);
`value` returns one loss per sample. Cross-entropies use the output activation's log (from z),
so a saturated unit gives a large finite loss, not ln 0.
"""
from __future__ import annotations

import numpy as np


class Loss:
    """Base: the output layer's delta is dE/da * da/dz unless the pair has a simpler exact form."""

    name = ""
    formula = ""
    derivative = ""
    needs = None  # the output activation this loss requires, if any

    def output_delta(self, y, a, dE_da, da_dz, act):
        """delta at the output layer (CS 510: delta^L = dC/da^L h'(z^L))."""
        return act.backward(dE_da, da_dz, a)

    def excel_output_delta(self, y: str, a: str, y_cells: tuple, act) -> str | None:
        """Spreadsheet text of a fused output delta, or None to use the activation's backward."""
        return None


class HalfSSE(Loss):
    """E = 1/2 sum_k (y_k - yhat_k)^2: Ekman, Frey, Maren (SSE), CS 510 (with mean over samples)."""

    name = "half_sse"
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


class SSE(Loss):
    """E = sum_k (y_k - yhat_k)^2 with no 1/2: Davila's C = (a^L - y)^2, so dC/da = 2(a - y)."""

    name = "sse"
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


LOSSES = {cls.name: cls for cls in (HalfSSE, SSE, BinaryCrossEntropy, CrossEntropy)}


def make_loss(name: str) -> Loss:
    """The loss called `name`."""
    return LOSSES[name]()
