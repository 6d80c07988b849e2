"""The activation base: a small object holding its numpy value, the derivative as the books write it (from the
stored activation a where they do so), the spreadsheet formula, the JavaScript form of the live page and the
written form (tracer.model.expr) side by side, so they cannot drift apart. `f(z)` and `da_dz(z, a)` act on
arrays (samples, units) of a layer; the spreadsheet and JavaScript forms on the text of their operands.
"""
from __future__ import annotations

import numpy as np

from .expr import Call, Ref, Word


def num_text(x: float) -> str:
    """A parameter as spreadsheet text (shortest round-trip repr)."""
    return repr(float(x))


def js_num(x: float) -> str:
    """A parameter as JavaScript text: its shortest round-trip repr, bracketed when negative."""
    text = repr(float(x))
    return f"({text})" if x < 0 else text


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

    def js(self, z: str, zs: tuple) -> str:
        """a as JavaScript over the text of z (and of every z of the layer), in the order `f` computes it, so
        the live page's numbers equal the engine's to the last bits (tracer.export.live)."""
        raise NotImplementedError

    def js_da_dz(self, z: str, a: str) -> str:
        """da/dz as JavaScript, in the order `da_dz` computes it."""
        raise NotImplementedError

    def written(self, zs: tuple, j: int, layer: str, unit: str):
        """a as the books write it: the activation's symbol applied to z (Ekman's S(z_f), tanh(z_g))."""
        return Call("act", (Ref(zs[j]),), layer)

    def written_da_dz(self, z: tuple, a: tuple):
        """da/dz as the books write it, over the keys of z and a."""
        return Word(self.derivative.removeprefix("da/dz = "))


def softplus(x):
    """ln(1 + e^x) without overflow."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))

