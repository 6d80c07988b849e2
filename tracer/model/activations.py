"""Activation functions, each one small object holding its numpy value, the derivative as the books write it
(from the stored activation a where they do so), the spreadsheet formula and the written form (tracer.model.expr)
side by side, so they cannot drift apart. `f(z)` and `da_dz(z, a)` act on arrays (samples, units) of a layer.
"""
from __future__ import annotations

import math

import numpy as np

from .expr import ONE, TWO, Call, Frac, Mul, Neg, Num, Param, Paren, Ref, Square, Word, add, mul, one_minus, sub


def _num(x: float) -> str:
    """A parameter as spreadsheet text (shortest round-trip repr)."""
    return repr(float(x))


class Activation:
    """Base: elementwise activation; `backward` turns dE/da into delta = dE/da * da/dz."""

    name = ""
    formula = ""  # a as a function of z, as the books write it
    derivative = ""  # da/dz, as the books write it
    params: dict = {}
    param_names: tuple = ()  # the parameters a spec may give
    saturates = False  # derivative near 0 means a saturated unit (Maren's vanishing gradient)
    vector = False  # True when a_k depends on all z of the layer (softmax)

    def kernel(self, z):
        """f(z) for a caller that already ignores floating-point warnings (the engine's loop)."""
        return self.f(z)

    def backward(self, dE_da, da_dz, a):
        """delta = dE/da * da/dz (CS 510: delta^L = dC/da * h'(z); Frey rule (ii))."""
        return dE_da * da_dz

    def describe(self) -> str:
        """Name with parameters, e.g. 'sigmoid(alpha=2.0)'."""
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    def excel_backward(self, dE_da: str, da_dz: str, a: str, a_cells: tuple, dE_cells: tuple) -> str:
        """Spreadsheet text of delta for an elementwise activation: dE/da * da/dz."""
        return f"{dE_da}*{da_dz}"

    def written(self, zs: tuple, j: int, layer: str, unit: str):
        """a as the books write it: the activation's symbol applied to z (Ekman's S(z_f), tanh(z_g))."""
        return Call("act", (Ref(zs[j]),), layer)

    def written_da_dz(self, z: tuple, a: tuple):
        """da/dz as the books write it, over the keys of z and a."""
        return Word(self.derivative.removeprefix("da/dz = "))


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
        return -_softplus(-self.alpha * z)

    def log_1ma(self, z):  # ln(1 - a) = -softplus(alpha z)
        return -_softplus(self.alpha * z)

    def da_dz(self, z, a):
        da_dz = a * (1.0 - a)  # Maren eq. (6.2), from the stored activation
        return da_dz if self.alpha == 1.0 else self.alpha * da_dz

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"1/(1+EXP(-{_num(self.alpha)}*{z}))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"{_num(self.alpha)}*{a}*(1-{a})"

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
        return f"TANH({z})" if self.plain else f"{_num(self.a)}*TANH({_num(self.b)}*{z})"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"1-{a}^2" if self.plain else f"{_num(self.b)}/{_num(self.a)}*({_num(self.a)}^2-{a}^2)"

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
        return f"2/(1+EXP(-{_num(self.sigma)}*{z}))-1"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"{_num(self.sigma)}/2*(1+{a})*(1-{a})"

    def written_da_dz(self, z: tuple, a: tuple):  # (sigma/2)(1 + a)(1 - a); Fausett's 1/2 (1 + a)(1 - a)
        half = Frac(ONE if self.sigma == 1 else Param("sigma", self.sigma), TWO)
        return mul(half, Paren(add(ONE, Ref(a, near_one=True))), one_minus(Ref(a)), dots=False)


class ReLU(Activation):
    """Rectified linear unit, max(0, z) (Davila's table); derivative 0 at z = 0."""

    name = "relu"
    formula = "a = max(0, z)"
    derivative = "da/dz = 1 if z > 0 else 0"

    def f(self, z):
        return np.maximum(z, 0.0)

    def da_dz(self, z, a):
        return (z > 0).astype(float)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"MAX(0,{z})"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"IF({z}>0,1,0)"

    def written_da_dz(self, z: tuple, a: tuple):
        return Word("1 if z > 0, else 0")


class LeakyReLU(Activation):
    """Leaky ReLU: z for z > 0, slope * z otherwise."""

    name = "leaky_relu"
    formula = "a = z if z > 0 else slope z"
    derivative = "da/dz = 1 if z > 0 else slope"
    param_names = ("slope",)

    def __init__(self, slope: float = 0.01):
        self.slope = float(slope)
        self.params = {"slope": self.slope}

    def f(self, z):
        return np.where(z > 0, z, self.slope * z)

    def da_dz(self, z, a):
        return np.where(z > 0, 1.0, self.slope)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"IF({z}>0,{z},{_num(self.slope)}*{z})"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"IF({z}>0,1,{_num(self.slope)})"

    def written_da_dz(self, z: tuple, a: tuple):
        return Word(f"1 if z > 0, else {self.slope:g}")


class Linear(Activation):
    """Identity: a = z."""

    name = "linear"
    formula = "a = z"
    derivative = "da/dz = 1"

    def f(self, z):
        return z + 0.0

    def da_dz(self, z, a):
        return np.ones_like(z)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"{z}"

    def excel_da_dz(self, z: str, a: str) -> str:
        return "1"

    def written_da_dz(self, z: tuple, a: tuple):
        return Num("1")


class PiecewiseLinear(Activation):
    """Davila's piecewise linear: 0 for z <= xmin, m z + b between, 1 for z >= xmax (m, b from xmin, xmax)."""

    name = "piecewise_linear"
    formula = "a = 0 if z <= xmin; m z + b if xmin < z < xmax; 1 if z >= xmax"
    derivative = "da/dz = m if xmin < z < xmax else 0"
    param_names = ("xmin", "xmax")
    saturates = True

    def __init__(self, xmin: float = -0.5, xmax: float = 0.5):
        self.xmin, self.xmax = float(xmin), float(xmax)
        self.m = 1.0 / (self.xmax - self.xmin)
        self.b = -self.xmin * self.m
        self.params = {"xmin": self.xmin, "xmax": self.xmax}

    def f(self, z):
        return np.where(z <= self.xmin, 0.0, np.where(z >= self.xmax, 1.0, self.m * z + self.b))

    def da_dz(self, z, a):
        return np.where((z > self.xmin) & (z < self.xmax), self.m, 0.0)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        lo, hi = _num(self.xmin), _num(self.xmax)
        return f"IF({z}<={lo},0,IF({z}>={hi},1,{_num(self.m)}*{z}+{_num(self.b)}))"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"IF(AND({z}>{_num(self.xmin)},{z}<{_num(self.xmax)}),{_num(self.m)},0)"

    def written_da_dz(self, z: tuple, a: tuple):
        return Word(f"{self.m:.4g} if {self.xmin:g} < z < {self.xmax:g}, else 0")


class Gaussian(Activation):
    """Gaussian bump exp(-(z - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi)) (Davila's table)."""

    name = "gaussian"
    formula = "a = exp(-(z - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))"
    derivative = "da/dz = -(z - mu) / sigma^2 * a"
    param_names = ("mu", "sigma")

    def __init__(self, mu: float = 0.0, sigma: float = 1.0):
        self.mu, self.sigma = float(mu), float(sigma)
        self.norm = 1.0 / (self.sigma * math.sqrt(2.0 * math.pi))
        self.params = {"mu": self.mu, "sigma": self.sigma}

    def f(self, z):
        return self.norm * np.exp(-((z - self.mu) ** 2) / (2.0 * self.sigma**2))

    def da_dz(self, z, a):
        return -(z - self.mu) / self.sigma**2 * a

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        mu, s = _num(self.mu), _num(self.sigma)
        return f"EXP(-(({z}-{mu})^2)/(2*{s}^2))/({s}*SQRT(2*PI()))"  # spreadsheets raise -x^2 as (-x)^2

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"-({z}-{_num(self.mu)})/{_num(self.sigma)}^2*{a}"

    def written_da_dz(self, z: tuple, a: tuple):
        """-(z - mu) / sigma^2 a (Davila's table)."""
        top = Neg(Paren(sub(Ref(z), Param("mu", self.mu))))
        return mul(Frac(top, Square(Param("sigma", self.sigma))), Ref(a))


class Threshold(Activation):
    """Unit step, 1 for z >= 0 else 0 (Davila's table): forward only, its derivative is 0."""

    name = "threshold"
    formula = "a = 1 if z >= 0 else 0"
    derivative = "da/dz = 0"
    saturates = True

    def f(self, z):
        return (z >= 0).astype(float)

    def da_dz(self, z, a):
        return np.zeros_like(z)

    def excel(self, z: str, zs: tuple[str, ...] = ()) -> str:
        return f"IF({z}>=0,1,0)"

    def excel_da_dz(self, z: str, a: str) -> str:
        return "0"

    def written_da_dz(self, z: tuple, a: tuple):
        return Num("0")


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


def _softplus(x):
    """ln(1 + e^x) without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


ACTIVATIONS = {
    cls.name: cls
    for cls in (Sigmoid, Tanh, BipolarSigmoid, ReLU, LeakyReLU, Linear, PiecewiseLinear, Gaussian, Threshold, Softmax)
}
ALIASES = {"logistic": "sigmoid", "bipolar": "bipolar_sigmoid", "identity": "linear", "step": "threshold", "piecewise": "piecewise_linear"}
PARAM_ALIASES = {"beta": "alpha"}  # Davila writes the sigmoid's gain as beta


def make_activation(name: str, **params) -> Activation:
    """The activation called `name` (or an alias) with its parameters bound."""
    cls = ACTIVATIONS[ALIASES.get(name, name)]
    params = {PARAM_ALIASES.get(k, k): v for k, v in params.items()}
    return cls(**params)
