"""The spec's grid layers and grid inputs, validated: conv2d, maxpool2d, avgpool2d and flatten.

`inputs: {name: x, shape: [channels, height, width]}` makes a grid of inputs named x[r,c] (x[ch,r,c] for
several channels), each sample's x given as nested rows or flat. A conv2d layer gives its kernels as
`kernels` (one per output channel: rows of weights per input channel) and `biases`; a pool gives `size` and
`stride`. Errors name the place and the fix, as for dense layers (tracer.model.fields).
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .activations import make_activation
from .fields import MAX_NAMES, activation_of, boolean, draw, flat_cells, name, no_unknown, number, required, whole
from .grid import KINDS, OPERATIONS, TIE_RULES, Grid, cell_names, kernel_names, out_size, weight_names

GRID_KINDS = (*KINDS, "conv1d", "maxpool1d", "avgpool1d", "flatten")
CONV_KEYS = {"name", "type", "activation", "out_channels", "kernel_size", "stride", "padding", "operation",
             "kernels", "bias", "biases", "init", "frozen"}
POOL_KEYS = {"name", "type", "size", "stride", "ties"}
MAX_SIDE = 1000  # rows or columns of a grid
MAX_TERMS = 10_000_000  # a layer's positions x window cells: what each sample's forward pass and trace hold


def limited(count: int, place: str, what: str, limit: int = MAX_NAMES) -> int:
    """A grid's number of cells (or terms), refused in one line past `limit` before anything is allocated."""
    if count > limit:
        raise SpecError(place, f"{count:,} {what} is more than the limit of {limit:,}; make the grid smaller")
    return count


def input_shape_of(raw, place: str = "inputs", dims: int = 2) -> tuple[str, tuple[int, int, int]]:
    """(name, (channels, height, width)) of `inputs: {name: x, shape: [C, H, W]}` ([H, W]: one channel); before
    a 1-D layer (dims 1) the shape is [C, L] or [L], held as (C, 1, L)."""
    no_unknown(raw, {"name", "shape"}, place)
    prefix = name(raw.get("name", "x"), f"{place}.name")
    shape = required(raw, "shape", place)
    if not isinstance(shape, list) or len(shape) not in ((1, 2) if dims == 1 else (2, 3)):
        raise SpecError(f"{place}.shape", "expected [length] or [channels, length] before a 1-D layer" if dims == 1
                        else "expected [height, width] or [channels, height, width]")
    sizes = [whole(v, f"{place}.shape[{i}]", maximum=MAX_SIDE) for i, v in enumerate(shape)]
    limited(int(np.prod(sizes)), f"{place}.shape", "cells")
    if dims == 1:
        return prefix, (sizes[0] if len(sizes) == 2 else 1, 1, sizes[-1])
    return prefix, tuple([1] * (3 - len(sizes)) + sizes)


def grid_layer_of(raw: dict, place: str, index: int, shape, init, rng) -> dict:
    """The fields of a conv2d or pool layer (tracer.model.spec.Layer's) reading a grid of `shape` (channels,
    height, width; None: the layer before is not a grid, which only a dense layer may follow)."""
    dims = 1 if raw["type"].endswith("1d") else 2
    kind = raw["type"].replace("1d", "2d")
    if shape is None:
        raise SpecError(f"{place}.type", f"a {kind} layer reads a grid: give inputs as {{name: x, shape: [C, H, W]}} "
                                         "and put grid layers before the dense ones")
    if dims == 1 and shape[1] != 1:
        raise SpecError(f"{place}.type", f"a {raw['type']} layer reads one row of cells; the layer before gives "
                                         f"{shape[1]} rows (use a 2-D layer)")
    no_unknown(raw, CONV_KEYS if kind == "conv2d" else POOL_KEYS, place)
    layer_name = name(raw.get("name", f"L{index + 1}"), f"{place}.name")
    if kind == "conv2d":
        return conv_layer(raw, place, layer_name, shape, init, rng, dims)
    size = pair(required(raw, "size", place), f"{place}.size", dims)
    stride = whole(raw.get("stride", size[1] if dims == 1 else size[0]), f"{place}.stride", maximum=MAX_SIDE)
    ties = str(raw.get("ties", "first"))
    if ties not in TIE_RULES or (ties != "first" and kind != "maxpool2d"):
        raise SpecError(f"{place}.ties", f"expected {' or '.join(TIE_RULES)} (a max pool's tied maximum: the first "
                                         "in reading order gets the gradient, or the tied cells share it)")
    grid = Grid(kind, shape, (shape[0], *window_counts(shape, size, stride, 0, place, dims)), size, stride, ties=ties,
                dims=dims)
    empty = np.zeros((0, 0))
    return dict(name=layer_name, units=cell_names(layer_name, grid.out_shape, dims),
                activation=make_activation("linear"),
                bias=False, sources=(), weights=empty, frozen=empty.astype(bool), grid=grid)


def conv_layer(raw: dict, place: str, layer_name: str, shape, init, rng, dims: int = 2) -> dict:
    """A conv2d layer: its kernels (given, or drawn by init) and a bias per kernel."""
    activation = activation_of(required(raw, "activation", place), f"{place}.activation")
    if activation.vector:
        raise SpecError(f"{place}.activation", "softmax is supported on the output layer only")
    size = pair(required(raw, "kernel_size", place), f"{place}.kernel_size", dims)
    stride = whole(raw.get("stride", 1), f"{place}.stride", maximum=MAX_SIDE)
    padding = whole(raw.get("padding", 0), f"{place}.padding", 0, maximum=MAX_SIDE)
    operation = str(raw.get("operation", "cross_correlation"))
    if operation not in OPERATIONS:
        raise SpecError(f"{place}.operation", f"expected {' or '.join(OPERATIONS)} (the kernel flipped), got "
                                              f"{operation[:40]!r}")
    bias = boolean(raw.get("bias", True), f"{place}.bias")
    given = raw.get("kernels")
    count = len(given) if isinstance(given, list) else None
    K = whole(raw.get("out_channels", count or 1), f"{place}.out_channels", maximum=MAX_SIDE)
    grid = Grid("conv2d", shape, (K, *window_counts(shape, size, stride, padding, place, dims, K)), size, stride,
                padding, operation, dims=dims)
    sources = (("bias",) if bias else ()) + weight_names(grid)
    if given is None:
        if "biases" in raw:
            raise SpecError(f"{place}.biases", "give the kernels too, or neither (init draws both)")
        weights = draw(raw.get("init", init), f"{place}.init", K, sources, bias, rng)
    else:
        weights = kernels_of(raw, place, grid, K, bias)
    frozen = raw.get("frozen", False)
    mask = np.zeros(weights.shape, bool)
    if frozen in (True, "all"):
        mask[:] = True
    elif frozen in ("bias", "weights") and bias:
        mask[:, :1] = frozen == "bias"
        mask[:, 1:] = frozen == "weights"
    elif frozen is not False:
        raise SpecError(f"{place}.frozen", "expected true, false, 'bias' or 'weights' (a conv's weights are shared)")
    return dict(name=layer_name, units=cell_names(layer_name, grid.out_shape, dims), activation=activation, bias=bias,
                sources=sources, weights=weights, frozen=mask, grid=grid, kernels=kernel_names(K))


def kernels_of(raw: dict, place: str, grid: Grid, K: int, bias: bool) -> np.ndarray:
    """The given kernels (K of them, each [channel][row][column], or [row][column] for one channel) with their
    biases, as rows: bias first, then the cells in channel, row, column order."""
    C, (kh, kw) = grid.in_shape[0], grid.size
    kernels = raw["kernels"]
    if not isinstance(kernels, list) or len(kernels) != K:
        raise SpecError(f"{place}.kernels", f"expected {K} kernel{'s' * (K != 1)} (one per output channel)")
    rows = []
    for k, kernel in enumerate(kernels):
        where = f"{place}.kernels[{k}]"
        cells = flat_cells(kernel, where)
        if not isinstance(cells, list) or len(cells) != C * kh * kw:
            rows_text = f"{C} channel{'s' * (C != 1)} of " if C > 1 else ""
            raise SpecError(where, f"expected {rows_text}{kh} rows of {kw} weights")
        rows.append([number(v, f"{where}[{i}]") for i, v in enumerate(cells)])
    if bias:
        biases = required(raw, "biases", place)
        if not isinstance(biases, list) or len(biases) != K:
            raise SpecError(f"{place}.biases", f"expected {K} number{'s' * (K != 1)} (a bias per kernel), or "
                                               "bias: false")
        rows = [[number(b, f"{place}.biases[{k}]"), *r] for k, (b, r) in enumerate(zip(biases, rows))]
    elif "biases" in raw:
        raise SpecError(f"{place}.biases", "this layer has bias: false; remove the biases or the bias: false")
    return np.array(rows, float)


def pair(value, place: str, dims: int = 2) -> tuple[int, int]:
    """A window's size: n (square) or [rows, columns]; a 1-D window's n, as (1, n)."""
    if dims == 1:
        return 1, whole(value, place, maximum=MAX_SIDE)
    if isinstance(value, list) and len(value) == 2:
        return tuple(whole(v, f"{place}[{i}]", maximum=MAX_SIDE) for i, v in enumerate(value))
    n = whole(value, place, maximum=MAX_SIDE)
    return n, n


def window_counts(shape, size, stride: int, padding: int, place: str, dims: int = 2, channels: int | None = None
                  ) -> tuple[int, int]:
    """(rows, columns) of positions: the window must fit the padded grid at least once (a 1-D grid: one row);
    `channels` out (a conv's kernels; a pool keeps the grid's)."""
    _, H, W = shape
    Ho = 1 if dims == 1 else out_size(H, size[0], stride, padding)
    Wo = out_size(W, size[1], stride, padding)
    if Ho < 1 or Wo < 1:
        raise SpecError(place, f"a {size[0]}x{size[1]} window does not fit the {H}x{W} grid"
                               f"{f' padded by {padding}' if padding else ''}; make it smaller")
    channels = shape[0] if channels is None else channels
    limited(channels * Ho * Wo, place, "positions over all channels")
    limited(channels * Ho * Wo * shape[0] * size[0] * size[1], place, "window cells over all positions", MAX_TERMS)
    return Ho, Wo


def activation_document(act):
    """An activation as a spec writes it: its name, or {name, parameters}."""
    return {"name": act.name, **act.params} if act.params else act.name


def grid_document(layer) -> dict:
    """The spec mapping parse_spec reads back as this grid layer (spec_document's part for it)."""
    g = layer.grid
    size = g.size[1] if g.dims == 1 else list(g.size)
    if not g.conv:
        out = {"name": layer.name, "type": g.name, "size": size, "stride": g.stride}
        return {**out, "ties": g.ties} if g.kind == "maxpool2d" else out
    C, (kh, kw) = g.in_shape[0], g.size
    cells = layer.weights[:, int(layer.bias):].reshape(len(layer.kernels), C, kh * kw if g.dims == 1 else kh, -1)
    if g.dims == 1:
        cells = cells[..., 0]
    out = {"name": layer.name, "type": g.name, "activation": activation_document(layer.activation),
           "out_channels": len(layer.kernels), "kernel_size": size, "stride": g.stride,
           "padding": g.padding, "operation": g.operation, "bias": layer.bias,
           "kernels": (cells[:, 0] if C == 1 else cells).tolist()}
    if layer.bias:
        out["biases"] = layer.weights[:, 0].tolist()
    frozen = layer.frozen
    if frozen.any():
        out["frozen"] = True if frozen.all() else "bias" if frozen[:, 0].all() else "weights"
    return out
