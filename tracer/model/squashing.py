"""The squashing activations: the logistic sigmoid, tanh, the bipolar sigmoid and softmax (tracer.model.activation_base)."""
from __future__ import annotations

import numpy as np

from .activation_base import Activation, js_num, num_text, softplus
from .expr import ONE, TWO, Call, Frac, Mul, Num, Param, Paren, Ref, Square, add, mul, one_minus, sub


class Sigmoid(Activation):
    """Logistic sigmoid with gain alpha (Maren eq. 6.1; Davila's beta); alpha = 1 is Ekman's S."""

    name = "sigmoid"
    formula = "a = 1 / (1 + exp(-alpha z))"
    derivative = "da/dz = alpha a (1 - a)"  # Maren eq. (6.2)
    param_names = ("alpha",)
    saturates = True

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)
        self.params = {"alpha": self.alpha}

    def f(self, z):
        """The book's 1/(1 + e^(-alpha z)); where e^(-alpha z) overflows to inf, a is its limit 0, no warning."""
        with np.errstate(over="ignore"):
            return self.kernel(z)

    def kernel(self, z):
        return 1.0 / (1.0 + np.exp(-z if self.alpha == 1.0 else -self.alpha * z))

    def log_a(self, z):  # ln a = -softplus(-alpha z), stable for cross-entropy
        return -softplus(-self.alpha * z)

    def log_1ma(self, z):  # ln(1 - a) = -softplus(alpha z)
        return -softplus(self.alpha * z)

    def da_dz(self, z, a):
        da_dz = a * (1.0 - a)  # Maren eq. (6.2), from the stored activation
        return da_dz if self.alpha == 1.0 else self.alpha * da_dz

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"1/(1+EXP(-{num_text(self.alpha)}*{z}))"

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"(1/(1+Math.exp(-{z})))" if self.alpha == 1.0 else f"(1/(1+Math.exp(-{js_num(self.alpha)}*{z})))"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"({a}*(1-{a}))" if self.alpha == 1.0 else f"({js_num(self.alpha)}*({a}*(1-{a})))"

    def js_log_a(self, z: str, zs: tuple = ()) -> str:
        return f"(-softplus(-{js_num(self.alpha)}*{z}))"

    def js_log_1ma(self, z: str) -> str:
        return f"(-softplus({js_num(self.alpha)}*{z}))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"{num_text(self.alpha)}*{a}*(1-{a})"

    def written_da_dz(self, z: tuple, a: tuple):
        """a(1 - a), with the gain in front when it is not 1 (Maren eq. 6.2)."""
        gain = (Param("alpha", self.alpha),) if self.alpha != 1 else ()
        return Mul((*gain, Ref(a, near_one=True), one_minus(Ref(a))), dots=False)


class Tanh(Activation):
    """Hyperbolic tangent (Ekman's neuron G; CS 510), with gains a tanh(b z) as LeCun's 1.7159 tanh(2z/3)."""

    name = "tanh"
    formula = "a = tanh(z)"
    derivative = "da/dz = 1 - a^2"  # Ekman: (1 - tanh^2); CS 510
    param_names = ("a", "b")
    saturates = True

    def __init__(self, a: float = 1.0, b: float = 1.0):
        self.a, self.b = float(a), float(b)
        self.plain = self.a == 1.0 and self.b == 1.0
        self.params = {} if self.plain else {"a": self.a, "b": self.b}
        if not self.plain:  # the gains written as numbers: the unit's output is a, too
            self.formula = f"a = {self.a:g} tanh({self.b:g} z)"
            self.derivative = f"da/dz = ({self.b:g}/{self.a:g})({self.a:g}^2 - a^2)"

    def f(self, z):
        return np.tanh(z) if self.plain else self.a * np.tanh(self.b * z)

    def da_dz(self, z, a):
        if self.plain:
            return 1.0 - a * a
        return self.b / self.a * (self.a * self.a - a * a)  # d/dz A tanh(bz) = A b (1 - tanh^2), from a

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"TANH({z})" if self.plain else f"{num_text(self.a)}*TANH({num_text(self.b)}*{z})"

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"Math.tanh({z})" if self.plain else f"({js_num(self.a)}*Math.tanh({js_num(self.b)}*{z}))"

    def js_da_dz(self, z: str, a: str) -> str:
        if self.plain:
            return f"(1-{a}*{a})"
        return f"({js_num(self.b)}/{js_num(self.a)}*({js_num(self.a)}*{js_num(self.a)}-{a}*{a}))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"1-{a}^2" if self.plain else f"{num_text(self.b)}/{num_text(self.a)}*({num_text(self.a)}^2-{a}^2)"

    def written_da_dz(self, z: tuple, a: tuple):  # Ekman's 1 - tanh^2; (b/a)(a^2 - y^2) with gains
        if self.plain:
            return sub(ONE, Square(Ref(a, near_one=True)))
        a_gain, b_gain = Num(f"{self.a:g}"), Num(f"{self.b:g}")
        return mul(Frac(b_gain, a_gain), Paren(sub(Square(a_gain), Square(Ref(a, near_one=True)))), dots=False)


class BipolarSigmoid(Activation):
    """2 / (1 + e^(-sigma z)) - 1 with steepness sigma (Zurada's continuous bipolar function, Fausett)."""

    name = "bipolar_sigmoid"
    formula = "a = 2 / (1 + exp(-sigma z)) - 1"
    derivative = "da/dz = (sigma/2)(1 + a)(1 - a)"
    param_names = ("sigma",)
    saturates = True

    def __init__(self, sigma: float = 1.0):
        self.sigma = float(sigma)
        self.params = {"sigma": self.sigma}

    def f(self, z):  # tanh(sigma z / 2): the same function, without 2/(1 + e^(-sigma z)) - 1's cancellation at 0
        return np.tanh(0.5 * self.sigma * z)

    def da_dz(self, z, a):
        return 0.5 * self.sigma * (1.0 + a) * (1.0 - a)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"2/(1+EXP(-{num_text(self.sigma)}*{z}))-1"

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"Math.tanh(0.5*{js_num(self.sigma)}*{z})"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"(0.5*{js_num(self.sigma)}*(1+{a})*(1-{a}))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"{num_text(self.sigma)}/2*(1+{a})*(1-{a})"

    def written_da_dz(self, z: tuple, a: tuple):  # (sigma/2)(1 + a)(1 - a); Fausett's 1/2 (1 + a)(1 - a)
        half = Frac(ONE if self.sigma == 1 else Param("sigma", self.sigma), TWO)
        return mul(half, Paren(add(ONE, Ref(a, near_one=True))), one_minus(Ref(a)), dots=False)



class Softmax(Activation):
    """Softmax over the units of a layer; da_dz records the Jacobian's diagonal a(1 - a)."""

    name = "softmax"
    formula = "a_k = exp(z_k) / sum_j exp(z_j)"
    derivative = "da_k/dz_j = a_k (1[k = j] - a_j); recorded: a_k (1 - a_k)"
    vector = True

    def f(self, z):
        """Stable: shift by the row maximum, so no overflow for |z| up to 1e300."""
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def log_a(self, z):
        """ln a_k = z_k - logsumexp(z), stable for cross-entropy."""
        m = z.max(axis=-1, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))

    def da_dz(self, z, a):
        return a * (1.0 - a)

    def backward(self, dE_da, da_dz, a):
        """delta_k = a_k (dE/da_k - sum_j a_j dE/da_j): the full Jacobian, not its diagonal."""
        return a * (dE_da - (a * dE_da).sum(axis=-1, keepdims=True))

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        """zs: the cells of the layer's z, listed, never a range (see tracer.xlsx on ranges)."""
        top = f"MAX({','.join(zs)})"
        return f"EXP({z}-{top})/(" + "+".join(f"EXP({c}-{top})" for c in zs) + ")"

    def excel_backward(self, dE_da: str, da_dz: str, a: str, a_cells: tuple, dE_cells: tuple) -> str:
        """delta_k = a_k (dE/da_k - sum_j a_j dE/da_j), as `backward`."""
        return f"{a}*({dE_da}-(" + "+".join(f"{x}*{d}" for x, d in zip(a_cells, dE_cells)) + "))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"{a}*(1-{a})"

    def js(self, z: str, zs: tuple = ()) -> str:
        top = f"Math.max({','.join(zs)})"
        return f"(Math.exp({z}-{top})/(" + "+".join(f"Math.exp({c}-{top})" for c in zs) + "))"

    def js_log_a(self, z: str, zs: tuple = ()) -> str:
        top = f"Math.max({','.join(zs)})"
        return f"({z}-{top}-Math.log(" + "+".join(f"Math.exp({c}-{top})" for c in zs) + "))"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"({a}*(1-{a}))"

    def js_backward(self, dE_da: str, a: str, a_all: tuple, dE_all: tuple) -> str:
        """delta_k = a_k (dE/da_k - sum_j a_j dE/da_j), as `backward`."""
        return f"({a}*({dE_da}-(" + "+".join(f"{x}*{d}" for x, d in zip(a_all, dE_all)) + ")))"

    def written(self, zs: tuple, j: int, layer: str, unit: str):
        """softmax(z_1, ..., z_n) with the unit as a subscript."""
        return Call("act", tuple(Ref(z) for z in zs), layer, sub=unit)

    def written_da_dz(self, z: tuple, a: tuple):
        """The Jacobian's diagonal a(1 - a)."""
        return Mul((Ref(a, near_one=True), one_minus(Ref(a))), dots=False)

    def written_backward(self, dE_da: tuple, a: tuple, a_all: tuple, dE_all: tuple):
        """delta_k = a_k (dE/da_k - sum_j a_j dE/da_j)."""
        total = Paren(add(*[mul(Ref(x), Ref(y)) for x, y in zip(a_all, dE_all)]))
        return mul(Ref(a), Paren(sub(Ref(dE_da), total)), dots=False)


