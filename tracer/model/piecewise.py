"""The activations made of pieces: ReLU, leaky ReLU, linear, piecewise linear, the threshold, and Davila's
Gaussian bump (tracer.model.activation_base)."""
from __future__ import annotations

import math

import numpy as np

from .activation_base import Activation, js_num, num_text
from .expr import Frac, Neg, Num, Param, Paren, Ref, Square, Word, mul, sub


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

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"Math.max({z},0)"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"({z}>0?1:0)"

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
        return f"IF({z}>0,{z},{num_text(self.slope)}*{z})"

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"({z}>0?{z}:{js_num(self.slope)}*{z})"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"({z}>0?1:{js_num(self.slope)})"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"IF({z}>0,1,{num_text(self.slope)})"

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

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"({z}+0)"

    def js_da_dz(self, z: str, a: str) -> str:
        return "1"

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
        lo, hi = num_text(self.xmin), num_text(self.xmax)
        return f"IF({z}<={lo},0,IF({z}>={hi},1,{num_text(self.m)}*{z}+{num_text(self.b)}))"

    def js(self, z: str, zs: tuple = ()) -> str:
        lo, hi = js_num(self.xmin), js_num(self.xmax)
        return f"({z}<={lo}?0:({z}>={hi}?1:{js_num(self.m)}*{z}+{js_num(self.b)}))"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"(({z}>{js_num(self.xmin)}&&{z}<{js_num(self.xmax)})?{js_num(self.m)}:0)"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"IF(AND({z}>{num_text(self.xmin)},{z}<{num_text(self.xmax)}),{num_text(self.m)},0)"

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
        mu, s = num_text(self.mu), num_text(self.sigma)
        return f"EXP(-(({z}-{mu})^2)/(2*{s}^2))/({s}*SQRT(2*PI()))"  # spreadsheets raise -x^2 as (-x)^2

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"({js_num(self.norm)}*Math.exp(-sq({z}-{js_num(self.mu)})/{js_num(2.0 * self.sigma**2)}))"

    def js_da_dz(self, z: str, a: str) -> str:
        return f"(-({z}-{js_num(self.mu)})/{js_num(self.sigma**2)}*{a})"

    def excel_da_dz(self, z: str, a: str) -> str:
        return f"-({z}-{num_text(self.mu)})/{num_text(self.sigma)}^2*{a}"

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

    def js(self, z: str, zs: tuple = ()) -> str:
        return f"({z}>=0?1:0)"

    def js_da_dz(self, z: str, a: str) -> str:
        return "0"

    def excel_da_dz(self, z: str, a: str) -> str:
        return "0"

    def written_da_dz(self, z: tuple, a: tuple):
        return Num("0")


