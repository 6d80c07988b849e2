"""PyTorch's conv and pool modules in spec terms, both ways: nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d (and
nn.Flatten, which the spec's cell names make a no-op) built from a spec's grid layers, read back as spec layers,
and checked against them before a loop is recorded. A module the spec cannot express (dilation, groups, a
padding mode other than zeros, unequal strides, a pool with padding or ceil_mode) is refused in one line.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import TracerError

GRID_MODULES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _one(value, what: str, place: str) -> int:
    """A stride or padding PyTorch gives as n or (n, n): n; (a, b) with a != b is refused."""
    values = value if isinstance(value, tuple) else (value, value)
    if isinstance(values[0], str) or values[0] != values[1]:
        raise TracerError(place, f"{what}={value!r} cannot be traced: give one {what} for both axes")
    return int(values[0])


def _size(value) -> list[int]:
    values = value if isinstance(value, tuple) else (value, value)
    return [int(values[0]), int(values[1])]


def check_module(module, place: str) -> None:
    """Refuse what a spec's grid layer cannot express."""
    if isinstance(module, nn.Conv2d):
        if _size(module.dilation) != [1, 1] or module.groups != 1 or module.padding_mode != "zeros":
            raise TracerError(place, "Conv2d with dilation, groups or a padding mode other than zeros cannot be "
                                     "traced")
        _one(module.stride, "stride", place)
        _one(module.padding, "padding", place)
        return
    if _size(module.padding) != [0, 0] or module.ceil_mode or (isinstance(module, nn.MaxPool2d) and
                                                                  (module.dilation not in (1, (1, 1))
                                                                   or module.return_indices)):
        raise TracerError(place, f"{type(module).__name__} with padding, ceil_mode, dilation or return_indices "
                                 "cannot be traced")
    stride = module.stride if module.stride is not None else module.kernel_size
    _one(stride, "stride", place)
    if isinstance(module, nn.AvgPool2d) and module.divisor_override is not None:
        raise TracerError(place, "AvgPool2d with divisor_override cannot be traced")


def grid_entry(module, name: str, activation, place: str) -> dict:
    """The spec's layer for a conv or pool module with its current weights (spec_from_model)."""
    check_module(module, place)
    if isinstance(module, nn.Conv2d):
        kernels = module.weight.detach().double()
        entry = {"name": name, "type": "conv2d", "activation": activation, "kernel_size": _size(module.kernel_size),
                 "stride": _one(module.stride, "stride", place), "padding": _one(module.padding, "padding", place),
                 "bias": module.bias is not None, "kernels": kernels.tolist()}
        if module.bias is not None:
            entry["biases"] = module.bias.detach().double().tolist()
        frozen = [part for part, t in (("bias", module.bias), ("weights", module.weight))
                  if t is not None and not t.requires_grad]
        if frozen:
            entry["frozen"] = True if len(frozen) == 2 or module.bias is None else frozen[0]
        return entry
    stride = module.stride if module.stride is not None else module.kernel_size
    entry = {"name": name, "type": "maxpool2d" if isinstance(module, nn.MaxPool2d) else "avgpool2d",
             "size": _size(module.kernel_size), "stride": _one(stride, "stride", place)}
    return {**entry, "ties": "first"} if isinstance(module, nn.MaxPool2d) else entry  # PyTorch's tie rule


def grid_module(layer):
    """The float64 module of a spec's grid layer, its kernels copied in (flipped for a convolution, which
    nn.Conv2d computes as the cross-correlation with the flipped kernel)."""
    g = layer.grid
    if g.conv:
        conv = nn.Conv2d(g.in_shape[0], len(layer.kernels), g.size, stride=g.stride, padding=g.padding, bias=layer.bias,
                         dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(kernel_tensor(layer, torch.from_numpy(layer.weights[:, int(layer.bias):])))
            if layer.bias:
                conv.bias.copy_(torch.from_numpy(layer.weights[:, 0]))
        return conv
    if g.kind == "maxpool2d":
        if g.ties != "first":
            raise TracerError(f"layers[{layer.name}].ties", "PyTorch's MaxPool2d sends a tied maximum's gradient to "
                                                            "the first maximum; use ties: first")
        return nn.MaxPool2d(g.size, g.stride)
    return nn.AvgPool2d(g.size, g.stride)


def kernel_tensor(layer, cells):
    """A conv layer's kernels (rows of C*kh*kw cells, any leading axes) as nn.Conv2d holds them, and back (a
    flip is its own inverse)."""
    g = layer.grid
    C, (kh, kw) = g.in_shape[0], g.size
    kernels = cells.reshape(*cells.shape[:-1], C, kh, kw)
    if g.operation == "convolution":
        kernels = kernels.flip(-1, -2)
    return kernels


def check_grid(module, want, place: str) -> None:
    """A grid module against the spec's layer: the same kind, window, stride, padding and channels."""
    g = want.grid
    if g is None or not isinstance(module, {"conv2d": nn.Conv2d, "maxpool2d": nn.MaxPool2d,
                                            "avgpool2d": nn.AvgPool2d}[g.kind]):
        raise TracerError(place, f"is {type(module).__name__}; the spec's layer {want.name!r} is "
                                 f"{g.kind if g is not None else 'dense'}")
    check_module(module, place)
    stride = module.stride if getattr(module, "stride", None) is not None else module.kernel_size
    got = [_size(module.kernel_size), _one(stride, "stride", place)]
    expected = [list(g.size), g.stride]
    if g.conv:
        got += [_one(module.padding, "padding", place), module.in_channels, module.out_channels,
                module.bias is not None]
        expected += [g.padding, g.in_shape[0], g.out_shape[0], want.bias]
    elif g.kind == "maxpool2d" and g.ties != "first":
        raise TracerError(f"layers[{want.name}].ties", "PyTorch's MaxPool2d sends a tied maximum's gradient to the "
                                                       "first maximum; record against a spec with ties: first")
    if got != expected:
        raise TracerError(place, f"has kernel size, stride{', padding, channels in and out, bias' if g.conv else ''} "
                                 f"{got}; the spec's layer {want.name!r} has {expected}")
