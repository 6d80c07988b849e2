"""What a PyTorch model's modules mean in spec terms: the books' activations and losses that PyTorch lacks, as
small modules; `read_model` reads an `nn.Sequential` into layers, `loss_kind` a loss module and
`check_optimizer` an optimizer, refusing in one line what a spec cannot express (Adam, Nesterov momentum).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import TracerError
from ..model import activations as acts
from ..model.losses import make_loss
from .torch_grid import CONVS, GRID_MODULES, check_module

SPEC_ATTRIBUTE = "tracer_spec"  # model_from_spec leaves the spec on the model, so record() needs no spec


class GainSigmoid(nn.Module):
    """Sigmoid with gain alpha: 1 / (1 + exp(-alpha z)) (Maren eq. 6.1)."""

    def __init__(self, alpha: float):
        super().__init__()
        self.activation = acts.Sigmoid(alpha)

    def forward(self, z):
        return torch.sigmoid(self.activation.alpha * z)


class GainTanh(nn.Module):
    """a tanh(b z), as LeCun's 1.7159 tanh(2z/3)."""

    def __init__(self, a: float, b: float):
        super().__init__()
        self.activation = acts.Tanh(a, b)

    def forward(self, z):
        return self.activation.a * torch.tanh(self.activation.b * z)


class BipolarSigmoid(nn.Module):
    """The bipolar sigmoid 2 / (1 + exp(-sigma z)) - 1 (Zurada, Fausett), computed as tanh(sigma z / 2)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.activation = acts.BipolarSigmoid(sigma)

    def forward(self, z):
        return torch.tanh(0.5 * self.activation.sigma * z)


class PiecewiseLinear(nn.Module):
    """Davila's piecewise linear: 0 below xmin, m z + b between, 1 above xmax."""

    def __init__(self, xmin: float, xmax: float):
        super().__init__()
        self.activation = acts.PiecewiseLinear(xmin, xmax)

    def forward(self, z):
        act = self.activation
        middle = act.m * z + act.b
        return torch.where(z <= act.xmin, torch.zeros_like(z), torch.where(z >= act.xmax, torch.ones_like(z), middle))


class Gaussian(nn.Module):
    """Davila's gaussian bump exp(-(z - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))."""

    def __init__(self, mu: float, sigma: float):
        super().__init__()
        self.activation = acts.Gaussian(mu, sigma)

    def forward(self, z):
        act = self.activation
        return act.norm * torch.exp(-((z - act.mu) ** 2) / (2.0 * act.sigma**2))


class SSELoss(nn.Module):
    """Sum of squared errors over the outputs of each sample, with the 1/2 (Ekman, Frey, Maren) or without, or
    their mean over the outputs (`outputs_mean`, the spec's mse), then the mean or the sum over the batch."""

    def __init__(self, half: bool = True, reduction: str = "mean", outputs_mean: bool = False):
        super().__init__()
        self.half, self.reduction, self.outputs_mean = half, reduction, outputs_mean

    @property
    def spec_name(self) -> str:
        return "mse" if self.outputs_mean else "half_sse" if self.half else "sse"

    def per_sample(self, a, y):
        squares = (0.5 if self.half else 1.0) * (a - y).reshape(len(a), -1) ** 2
        return squares.mean(dim=-1) if self.outputs_mean else squares.sum(dim=-1)

    def forward(self, a, y):
        values = self.per_sample(a, y)
        return values.mean() if self.reduction == "mean" else values.sum()


class GradientFactorLoss(nn.Module):
    """A squared error whose value is the printed loss and whose gradient is factor (a - y) (the delta rule's
    eta (t - y) x): the printed SSELoss's value plus a straight-through term, zero in value, that carries the
    gradient of factor/2 sum_k (a_k - y_k)^2."""

    def __init__(self, printed: SSELoss, factor: float):
        super().__init__()
        self.printed, self.factor, self.reduction = printed, float(factor), printed.reduction

    def per_sample(self, a, y):
        return self.printed.per_sample(a, y)

    def forward(self, a, y):
        surrogate = 0.5 * self.factor * ((a - y).reshape(len(a), -1) ** 2).sum(dim=-1)
        surrogate = surrogate.mean() if self.reduction == "mean" else surrogate.sum()
        return self.printed(a, y).detach() + (surrogate - surrogate.detach())


MODULE_ACTIVATIONS = {  # PyTorch's activation modules, as the spec's activations
    nn.Sigmoid: lambda m: acts.Sigmoid(),
    nn.Tanh: lambda m: acts.Tanh(),
    nn.ReLU: lambda m: acts.ReLU(),
    nn.LeakyReLU: lambda m: acts.LeakyReLU(m.negative_slope),
    nn.Identity: lambda m: acts.Linear(),
    nn.Softmax: lambda m: acts.Softmax(),
}


@dataclass
class ModelLayer:
    """One layer of a model: its Linear module, the activation module after it (None: identity) and the
    spec's activation it computes."""

    linear: nn.Linear
    module: nn.Module | None
    activation: acts.Activation
    place: str


@dataclass(frozen=True)
class LossKind:
    """What a loss module computes, in spec terms: each sample's loss (`per_sample(output, y)`), the spec's
    loss name, the batch reduction, and the output activation the loss applies itself (logits losses)."""

    module: nn.Module
    name: str
    reduction: str
    per_output_mean: bool  # the mean is also over the outputs (MSELoss, BCELoss): each sample's loss / K
    # (the spec's mse has it; binary_cross_entropy has not)
    logits: acts.Activation | None
    gradient_factor: float | None = None  # GradientFactorLoss: the update's factor of (a - y)

    def samples_scale(self, sizes: list[int]) -> np.ndarray:
        """A column that undoes the loss's 1/B for each row of passes of `sizes` samples: per-sample values."""
        return np.repeat([float(n) if self.reduction == "mean" else 1.0 for n in sizes], sizes)[:, None]

    def from_logits(self, z: np.ndarray, y: np.ndarray) -> tuple:
        """(activation, a, dE/da) of an output whose activation the loss applies itself (logits losses)."""
        a = self.logits.f(z)
        return self.logits, a, make_loss(self.name).dE_da(y, a) / (y.shape[1] if self.per_output_mean else 1.0)

    def per_sample(self, output, y):
        m = self.module
        if isinstance(m, (SSELoss, GradientFactorLoss)):
            return m.per_sample(output, y)
        if isinstance(m, nn.CrossEntropyLoss):
            return F.cross_entropy(output, y, reduction="none")
        elementwise = {nn.MSELoss: lambda: (output - y) ** 2,
                       nn.BCELoss: lambda: F.binary_cross_entropy(output, y, reduction="none"),
                       nn.BCEWithLogitsLoss: lambda: F.binary_cross_entropy_with_logits(output, y, reduction="none")}
        values = elementwise[type(m)]().reshape(len(output), -1)  # a sequence's outputs at every time step too
        return values.mean(dim=-1) if self.per_output_mean else values.sum(dim=-1)


def loss_kind(loss_fn) -> LossKind:
    """The loss module read in spec terms, or one line saying why it cannot be traced."""
    name = type(loss_fn).__name__
    reduction = getattr(loss_fn, "reduction", None)
    if reduction not in ("mean", "sum"):
        raise TracerError(f"loss {name}", f"reduction {reduction!r} cannot be traced; use 'mean' or 'sum'")
    if getattr(loss_fn, "weight", None) is not None or getattr(loss_fn, "pos_weight", None) is not None:
        raise TracerError(f"loss {name}", "class weights cannot be traced (no spec loss weighs its outputs)")
    if getattr(loss_fn, "label_smoothing", 0.0):
        raise TracerError(f"loss {name}", "label smoothing cannot be traced")
    mean = reduction == "mean"
    if isinstance(loss_fn, GradientFactorLoss):
        printed = loss_fn.printed
        return LossKind(loss_fn, printed.spec_name, reduction, printed.outputs_mean, None, loss_fn.factor)
    if isinstance(loss_fn, SSELoss):
        return LossKind(loss_fn, loss_fn.spec_name, reduction, loss_fn.outputs_mean, None)
    kinds = {nn.MSELoss: ("mse" if mean else "sse", mean, None), nn.BCELoss: ("binary_cross_entropy", mean, None),
             nn.BCEWithLogitsLoss: ("binary_cross_entropy", mean, acts.Sigmoid()),
             nn.CrossEntropyLoss: ("cross_entropy", False, acts.Softmax())}
    if type(loss_fn) not in kinds:
        raise TracerError(f"loss {name}", "cannot be traced; use MSELoss, BCELoss, BCEWithLogitsLoss, "
                                          "CrossEntropyLoss or tracer.torch.SSELoss")
    spec_name, per_output_mean, logits = kinds[type(loss_fn)]
    return LossKind(loss_fn, spec_name, reduction, per_output_mean, logits)


def read_model(model) -> list[ModelLayer]:
    """An nn.Sequential of nn.Linear and elementwise activations as layers; anything else is refused, naming the
    module (a model this cannot express gets no trace rather than a wrong one)."""
    if not isinstance(model, nn.Sequential):
        raise TracerError(f"model {type(model).__name__}", "tracer.torch records an nn.Sequential of nn.Linear "
                                                            "layers and elementwise activations")
    layers: list[ModelLayer] = []
    modules = list(_flat(model))
    for k, (place, module) in enumerate(modules):
        if isinstance(module, nn.Flatten):  # the spec names a grid's cells in flat order already
            continue
        if isinstance(module, (nn.Linear, *GRID_MODULES)):
            if isinstance(module, GRID_MODULES):
                check_module(module, place)
            layers.append(ModelLayer(module, None, acts.Linear(), place))
            continue
        activation = _activation_of(module, place)
        if layers and isinstance(layers[-1].linear, GRID_MODULES) and not isinstance(layers[-1].linear, CONVS):
            raise TracerError(place, f"{type(module).__name__} after a pool cannot be traced: a spec's pool has no "
                                     "activation; put it before the pool")
        if not layers or layers[-1].module is not None:
            raise TracerError(place, f"{type(module).__name__} must follow an nn.Linear (one activation per layer)")
        if isinstance(module, nn.Softmax) and (k != len(modules) - 1 or module.dim not in (-1, 1, None)):
            raise TracerError(place, "Softmax is traced only at the output, over the units (dim=-1)")
        layers[-1].module, layers[-1].activation = module, activation
    if not layers:
        raise TracerError("model", "has no nn.Linear layer")
    check_untied(layers)
    return layers


def check_untied(layers: list[ModelLayer]) -> None:
    """Refuse a Linear module used twice, or a weight or bias shared between layers: a trace has one weight per
    connection, and a shared one's update would mix the layers' gradients (the diff would blame updates.grad)."""
    owner: dict[int, str] = {}
    for layer in layers:
        if id(layer.linear) in owner:
            raise TracerError(layer.place, f"is the same nn.Linear as {owner[id(layer.linear)]}: a module used twice "
                                           "cannot be traced; give each layer its own")
        owner[id(layer.linear)] = layer.place
        for name, param in layer.linear.named_parameters(recurse=False):
            if id(param) in owner:
                raise TracerError(f"{layer.place}.{name}", f"is shared with {owner[id(param)]} (tied weights), "
                                                           "which a trace cannot hold; untie them")
            owner[id(param)] = f"{layer.place}.{name}"


def _flat(model, prefix: str = "model"):
    """The modules of nested Sequentials in order, each with its place; a module used twice is listed twice
    (named_children would skip the second use, and the trace would silently drop a layer)."""
    children = [(n, m) for n, m in model.named_modules(remove_duplicate=False) if n and "." not in n]
    for name, module in children:
        place = f"{prefix}[{name}]" if name.isdigit() else f"{prefix}.{name}"
        if isinstance(module, nn.Sequential):
            yield from _flat(module, place)
        else:
            yield place, module


def _activation_of(module, place: str) -> acts.Activation:
    if isinstance(getattr(module, "activation", None), acts.Activation):
        return module.activation
    make = MODULE_ACTIVATIONS.get(type(module))
    if make is None:
        raise TracerError(place, f"{type(module).__name__} cannot be traced: tracer.torch records nn.Linear, "
                                 "Conv2d, MaxPool2d, AvgPool2d and Flatten layers and the activations Sigmoid, Tanh, "
                                 "ReLU, LeakyReLU, Identity, Softmax (output)")
    return make(module)


def check_optimizer(optimizer) -> dict:
    """Plain SGD with one learning rate, momentum and weight decay: its settings, or one line on what is not."""
    name = type(optimizer).__name__
    if type(optimizer) is not torch.optim.SGD:
        raise TracerError(f"optimizer {name}", "cannot be traced: tracer.torch records torch.optim.SGD "
                                               "(learning rate, momentum, weight decay)")
    settings = [(g["lr"], g.get("momentum", 0.0), g.get("weight_decay", 0.0)) for g in optimizer.param_groups]
    for group in optimizer.param_groups:
        for key, plain in (("nesterov", False), ("dampening", 0.0), ("maximize", False)):
            if group.get(key, plain) != plain:
                raise TracerError(f"optimizer SGD {key}", f"cannot be traced; the spec's update has no {key}")
    if len(set(settings)) != 1:
        raise TracerError("optimizer SGD", "parameter groups with different settings cannot be traced")
    lr, momentum, weight_decay = settings[0]
    return {"learning_rate": float(lr), "momentum": float(momentum), "weight_decay": float(weight_decay)}


def linear_module(layer, n_inputs: int, n_outputs: int) -> nn.Linear:
    """A dense layer's nn.Linear (float64) with the spec's weights copied in and its frozen tensors frozen: a
    threshold θ on a −1 input is the bias −θ."""
    linear = nn.Linear(n_inputs, n_outputs, bias=layer.bias, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.weights[:, int(layer.bias):]))
        if layer.bias:
            linear.bias.copy_(torch.from_numpy(layer.weights[:, 0] * layer.bias_input))
    freeze(linear, layer)
    return linear


def freeze(linear, layer) -> None:
    """requires_grad=False for a frozen bias or weight matrix; PyTorch cannot freeze part of a tensor."""
    frozen = layer.frozen
    parts = [(linear.weight, frozen[:, int(layer.bias):])] + ([(linear.bias, frozen[:, 0])] if layer.bias else [])
    for parameter, mask in parts:
        if mask.all():
            parameter.requires_grad_(False)
        elif mask.any():
            raise TracerError(f"layers[{layer.name}].frozen", "freezes part of a weight matrix; PyTorch freezes "
                                                              "whole tensors (freeze 'bias' or 'weights')")


def activation_module(act, output: bool, logits: bool):
    """The module computing a spec's activation after its Linear (None: the identity, or the loss applies it)."""
    if act.name == "softmax" and output and logits:
        return None  # CrossEntropyLoss takes the logits z and applies the softmax itself
    if act.name == "relu":
        return nn.ReLU()
    if act.name == "tanh":
        return nn.Tanh() if act.plain else GainTanh(act.a, act.b)
    if act.name == "bipolar_sigmoid":
        return BipolarSigmoid(act.sigma)
    if act.name == "sigmoid":
        return nn.Sigmoid() if act.alpha == 1.0 else GainSigmoid(act.alpha)
    if act.name == "leaky_relu":
        return nn.LeakyReLU(act.slope)
    if act.name == "linear":
        return None
    if act.name == "softmax":
        return nn.Softmax(dim=-1)
    if act.name == "piecewise_linear":
        return PiecewiseLinear(act.xmin, act.xmax)
    if act.name == "gaussian":
        return Gaussian(act.mu, act.sigma)
    raise TracerError(f"activation {act.name}", "has no gradient to train with in PyTorch (its derivative is 0)")
