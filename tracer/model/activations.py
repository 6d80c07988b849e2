"""Activation functions by name: the squashing ones (tracer.model.squashing) and those made of pieces
(tracer.model.piecewise), each holding its value, derivative, spreadsheet, JavaScript and written forms."""
from __future__ import annotations

from .activation_base import Activation
from .piecewise import Gaussian, LeakyReLU, Linear, PiecewiseLinear, ReLU, Threshold
from .squashing import BipolarSigmoid, Sigmoid, Softmax, Tanh

__all__ = ["Activation", "ACTIVATIONS", "ALIASES", "PARAM_ALIASES", "make_activation"]

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
