"""PyTorch's conv and pool modules in spec terms, both ways: nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, their 1-D
forms (and nn.Flatten, which the spec's cell names make a no-op) built from a spec's grid layers, read back as spec layers,
and checked against them before a loop is recorded. A module the spec cannot express (dilation, groups, a
padding mode other than zeros, unequal strides, a pool with padding or ceil_mode) is refused in one line.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import TracerError

CONVS, MAX_POOLS, AVG_POOLS = (nn.Conv1d, nn.Conv2d), (nn.MaxPool1d, nn.MaxPool2d), (nn.AvgPool1d, nn.AvgPool2d)
GRID_MODULES = (*CONVS, *MAX_POOLS, *AVG_POOLS)
ONE_D = (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d)
SPEC_TYPES = {nn.Conv2d: "conv2d", nn.MaxPool2d: "maxpool2d", nn.AvgPool2d: "avgpool2d", nn.Conv1d: "conv1d",
              nn.MaxPool1d: "maxpool1d", nn.AvgPool1d: "avgpool1d"}


def _one(value, what: str, place: str) -> int:
    """A stride or padding PyTorch gives as n, (n,) or (n, n): n; (a, b) with a != b is refused."""
    values = value if isinstance(value, tuple) else (value,)
    if isinstance(values[0], str) or len(set(values)) != 1:
        raise TracerError(place, f"{what}={value!r} cannot be traced: give one {what} for both axes")
    return int(values[0])


def _size(value, module=None):
    """A window's size as the spec writes it: [rows, columns], or n for a 1-D module."""
    values = value if isinstance(value, tuple) else (value,) if isinstance(module, ONE_D) else (value, value)
    return int(values[0]) if isinstance(module, ONE_D) else [int(values[0]), int(values[1])]


def _stride(module):
    """A module's stride as PyTorch holds it; a pool's default is its window."""
    return module.stride if getattr(module, "stride", None) is not None else module.kernel_size


def _first_ties(layer, fix: str) -> None:
    """Refuse a spec's max pool whose tied maxima share the gradient: PyTorch gives it to the first one."""
    if layer.grid.kind == "maxpool2d" and layer.grid.ties != "first":
        raise TracerError(f"layers[{layer.name}].ties", "PyTorch's MaxPool2d sends a tied maximum's gradient to the "
                                                        f"first maximum; {fix}")


def check_module(module, place: str) -> None:
    """Refuse what a spec's grid layer cannot express."""
    if isinstance(module, CONVS):
        if set(module.dilation) != {1} or module.groups != 1 or module.padding_mode != "zeros":
            raise TracerError(place, "Conv2d with dilation, groups or a padding mode other than zeros cannot be "
                                     "traced")
        _one(module.stride, "stride", place)
        _one(module.padding, "padding", place)
        return
    padding = module.padding if isinstance(module.padding, tuple) else (module.padding,)
    if set(padding) != {0} or module.ceil_mode or (isinstance(module, MAX_POOLS) and
                                                   (module.dilation not in (1, (1,), (1, 1)) or module.return_indices)):
        raise TracerError(place, f"{type(module).__name__} with padding, ceil_mode, dilation or return_indices "
                                 "cannot be traced")
    _one(_stride(module), "stride", place)
    if isinstance(module, nn.AvgPool2d) and module.divisor_override is not None:
        raise TracerError(place, "AvgPool2d with divisor_override cannot be traced")


def grid_entry(module, name: str, activation, place: str) -> dict:
    """The spec's layer for a conv or pool module with its current weights (spec_from_model)."""
    check_module(module, place)
    if isinstance(module, CONVS):
        kernels = module.weight.detach().double()
        entry = {"name": name, "type": SPEC_TYPES[type(module)], "activation": activation,
                 "kernel_size": _size(module.kernel_size, module),
                 "stride": _one(module.stride, "stride", place), "padding": _one(module.padding, "padding", place),
                 "bias": module.bias is not None, "kernels": kernels.tolist()}
        if module.bias is not None:
            entry["biases"] = module.bias.detach().double().tolist()
        frozen = [part for part, t in (("bias", module.bias), ("weights", module.weight))
                  if t is not None and not t.requires_grad]
        if frozen:
            entry["frozen"] = True if len(frozen) == 2 or module.bias is None else frozen[0]
        return entry
    entry = {"name": name, "type": SPEC_TYPES[type(module)], "size": _size(module.kernel_size, module),
             "stride": _one(_stride(module), "stride", place)}
    return {**entry, "ties": "first"} if isinstance(module, MAX_POOLS) else entry  # PyTorch's tie rule


def grid_module(layer):
    """The float64 module of a spec's grid layer, its kernels copied in (flipped for a convolution, which
    nn.Conv2d computes as the cross-correlation with the flipped kernel)."""
    g = layer.grid
    one_d = g.dims == 1
    if g.conv:
        make = nn.Conv1d if one_d else nn.Conv2d
        conv = make(g.in_shape[0], len(layer.kernels), g.size[1] if one_d else g.size, stride=g.stride,
                    padding=g.padding, bias=layer.bias, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(kernel_tensor(layer, torch.from_numpy(layer.weights[:, int(layer.bias):])))
            if layer.bias:
                conv.bias.copy_(torch.from_numpy(layer.weights[:, 0]))
        return conv
    _first_ties(layer, "use ties: first")
    if g.kind == "maxpool2d":
        return nn.MaxPool1d(g.size[1], g.stride) if one_d else nn.MaxPool2d(g.size, g.stride)
    return nn.AvgPool1d(g.size[1], g.stride) if one_d else nn.AvgPool2d(g.size, g.stride)


def kernel_tensor(layer, cells):
    """A conv layer's kernels (rows of C*kh*kw cells, any leading axes) as nn.Conv2d holds them, and back (a
    flip is its own inverse)."""
    g = layer.grid
    C, (kh, kw) = g.in_shape[0], g.size
    if g.dims == 1:
        kernels = cells.reshape(*cells.shape[:-1], C, kw)
        return kernels.flip(-1) if g.operation == "convolution" else kernels
    kernels = cells.reshape(*cells.shape[:-1], C, kh, kw)
    return kernels.flip(-1, -2) if g.operation == "convolution" else kernels


def check_grid(module, want, place: str) -> None:
    """A grid module against the spec's layer: the same kind, window, stride, padding and channels."""
    g = want.grid
    if g is None or SPEC_TYPES.get(type(module)) != g.name:
        raise TracerError(place, f"is {type(module).__name__}; the spec's layer {want.name!r} is "
                                 f"{g.name if g is not None else 'dense'}")
    check_module(module, place)
    _first_ties(want, "record against a spec with ties: first")
    got = [_size(module.kernel_size, module), _one(_stride(module), "stride", place)]
    expected = [g.size[1] if g.dims == 1 else list(g.size), g.stride]
    if g.conv:
        got += [_one(module.padding, "padding", place), module.in_channels, module.out_channels,
                module.bias is not None]
        expected += [g.padding, g.in_shape[0], g.out_shape[0], want.bias]
    if got != expected:
        raise TracerError(place, f"has kernel size, stride{', padding, channels in and out, bias' if g.conv else ''} "
                                 f"{got}; the spec's layer {want.name!r} has {expected}")
