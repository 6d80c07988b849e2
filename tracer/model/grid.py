"""Grid layers: a convolution or a pooling over a (channels, height, width) grid, described by index arrays.

A conv2d layer is a dense layer whose weights are shared: each output position's net input is its kernel's
bias plus the window's cells times the kernel's weights, z[k,r,c] = b_k + Σ w[k,ch,i,j] x[ch, r·s+i−p, c·s+j−p]
(cross-correlation, as PyTorch's Conv2d computes it; a convolution flips the kernel first). A pool layer takes
the max or the mean of each window of one channel. `Grid` says which input cell and which kernel weight each
position's window uses; the engine (tracer.engine.grids) and the plan read it, so neither repeats the geometry.
Cells and positions are numbered from 1 in names, as a hand calculation numbers them: x[2,3], c1[1,2,1].
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

KINDS = ("conv2d", "maxpool2d", "avgpool2d")
OPERATIONS = ("cross_correlation", "convolution")  # the kernel as given, or flipped (a stated convention)
TIE_RULES = ("first", "shared")  # a tied max: the first maximum in reading order gets the gradient, or all equally


def cell_names(prefix: str, shape: tuple[int, int, int], dims: int = 2) -> tuple[str, ...]:
    """The names of a grid's cells in channel, row, column order (PyTorch's flatten order): x[r,c] for one
    channel, x[ch,r,c] for several; a 1-D grid's (one row) x[i] and x[ch,i]."""
    C, H, W = shape
    if dims == 1:
        return tuple(f"{prefix}[{i + 1}]" if C == 1 else f"{prefix}[{ch + 1},{i + 1}]" for ch in range(C)
                     for i in range(W))
    if C == 1:
        return tuple(f"{prefix}[{r + 1},{c + 1}]" for r in range(H) for c in range(W))
    return tuple(f"{prefix}[{ch + 1},{r + 1},{c + 1}]" for ch in range(C) for r in range(H) for c in range(W))


def out_size(n: int, size: int, stride: int, padding: int) -> int:
    """Positions along one axis: (n + 2p − size) // s + 1 (PyTorch's Conv2d and MaxPool2d)."""
    return (n + 2 * padding - size) // stride + 1


@dataclass(frozen=True)
class Grid:
    """Where a grid layer's windows lie: kind (KINDS), the input and output shapes (channels, height, width),
    the window's size (rows, columns), stride and zero padding; a conv's operation and a max pool's tie rule."""

    kind: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    size: tuple[int, int]
    stride: int = 1
    padding: int = 0
    operation: str = "cross_correlation"
    ties: str = "first"
    start: int = 0  # the row of the first window (a dense layer over an rnn's last state starts at the last row)
    time: bool = False  # a dense layer applied over an rnn layer's time steps (tracer.model.rnn.over_time)
    dims: int = 2  # 1: a conv1d or pool1d over (channels, 1, length), padded along the length only

    @property
    def name(self) -> str:
        """The layer's type as a spec writes it: conv2d, maxpool1d, ..."""
        return self.kind.replace("2d", "1d") if self.dims == 1 else self.kind

    @property
    def conv(self) -> bool:
        return self.kind == "conv2d"

    @property
    def units(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def inputs(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def kernel_cells(self) -> int:
        """Weights of one kernel, its bias aside: every input channel's window (a pool's window: one channel)."""
        kh, kw = self.size
        return (self.in_shape[0] if self.conv else 1) * kh * kw

    def describe(self, names: tuple[str, ...]) -> str:
        """The layer in words, its positions' names `names` first and last: what an overview lists."""
        (C, H, W), (K, Ho, Wo), (kh, kw) = self.in_shape, self.out_shape, self.size
        if self.time:
            when = "at every time step" if Ho > 1 else "to the last time step's state"
            return f"dense, the same weights applied {when}: {names[0]} .. {names[-1]}"
        one = self.dims == 1
        size, given, out = (f"{kw}", f"{C}x{W}", f"{K}x{Wo}") if one else (f"{kh}x{kw}", f"{C}x{H}x{W}", f"{K}x{Ho}x{Wo}")
        if self.conv:
            what = (f"{K} kernel{'s' * (K != 1)} of {size} over {given}, stride {self.stride}, padding "
                    f"{self.padding}, {self.operation.replace('_', '-')}")
        else:
            what = f"{size} windows, stride {self.stride}" + (f", ties: {self.ties}" if self.kind == "maxpool2d"
                                                               else "")
        return f"{self.name}: {what} -> {out} positions {names[0]} .. {names[-1]}"

    @functools.cached_property
    def channel(self) -> np.ndarray:
        """The output channel (kernel) of each position."""
        K, Ho, Wo = self.out_shape
        return np.repeat(np.arange(K), Ho * Wo)

    @functools.cached_property
    def window(self) -> np.ndarray:
        """positions x window cells: the input cell each window cell reads (flat, channel-major), −1 where the
        window lies on the zero padding. A conv's window spans every input channel, a pool's only its own."""
        C, H, W = self.in_shape
        K, Ho, Wo = self.out_shape
        kh, kw = self.size
        k, r, c = (a.ravel() for a in np.meshgrid(np.arange(K), np.arange(Ho), np.arange(Wo), indexing="ij"))
        chans = np.arange(C) if self.conv else None
        ch, i, j = (a.ravel() for a in np.meshgrid(chans if self.conv else [0], np.arange(kh), np.arange(kw),
                                                   indexing="ij"))
        rows = self.start + r[:, None] * self.stride + i[None, :] - (self.padding if self.dims == 2 else 0)
        cols = c[:, None] * self.stride + j[None, :] - self.padding
        channel = np.broadcast_to(ch[None, :], rows.shape) if self.conv else np.broadcast_to(k[:, None], rows.shape)
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        return np.where(inside, channel * H * W + rows * W + cols, -1)

    @functools.cached_property
    def weight(self) -> np.ndarray:
        """positions x window cells: the kernel weight (0-based, bias aside) that multiplies each window cell;
        a convolution reads the kernel flipped (Goodfellow et al. eq. 9.4 against 9.6)."""
        kh, kw = self.size
        n_ch = self.kernel_cells // (kh * kw)
        ch, i, j = (a.ravel() for a in np.meshgrid(np.arange(n_ch), np.arange(kh), np.arange(kw), indexing="ij"))
        if self.operation == "convolution":
            i, j = kh - 1 - i, kw - 1 - j
        return np.broadcast_to((ch * kh * kw + i * kw + j)[None, :], (self.units, self.kernel_cells))

    def taps(self, bias: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, input cell, weight) of every term of a conv layer's net inputs, in weight then position
        order: the terms a shared weight's gradient sums. A weight is a column of its kernel's row in the layer's
        weights (the bias first, when there is one) flattened; the bias's input cell is `inputs`, the constant 1.
        Window cells on the zero padding are no terms."""
        cols = self.kernel_cells + int(bias)
        position = np.broadcast_to(np.arange(self.units)[:, None], self.window.shape)
        on = self.window >= 0
        pos, cell = position[on], self.window[on]
        weight = self.channel[pos] * cols + int(bias) + self.weight[on]
        if bias:
            units = np.arange(self.units)
            pos = np.concatenate([units, pos])
            cell = np.concatenate([np.full(self.units, self.inputs), cell])
            weight = np.concatenate([self.channel * cols, weight])
        order = np.lexsort((pos, weight))
        return pos[order], cell[order], weight[order]


def term_names(layer) -> list[tuple[str, str, str]]:
    """(row, source, position) of each term of a conv's or rnn's shared weights, in Layer.taps's order: the
    weight (k1, w[2,1]) and the position or state whose delta the term takes (c1[1,2,1], h1@t2)."""
    position, _, weight = layer.taps()
    width = len(layer.sources)
    return [(layer.rows[w // width], layer.sources[w % width], layer.units[p])
            for p, w in zip(position.tolist(), weight.tolist())]


def routed_cells(grid: Grid, cells: np.ndarray) -> set[int]:
    """The input cells a pool's gradient goes back to for one sample's `cells` (flat): each window's first
    maximum, every tied maximum (ties: shared), or every cell of a window (a mean)."""
    windows = cells[grid.window]
    if grid.kind == "avgpool2d":
        return set(grid.window.ravel().tolist())
    if grid.ties == "first":
        return set(grid.window[np.arange(len(windows)), np.argmax(windows, axis=1)].tolist())
    return set(grid.window[windows == windows.max(axis=1, keepdims=True)].tolist())


def kernel_names(kernels: int) -> tuple[str, ...]:
    """The rows of a conv layer's weights: one kernel per output channel."""
    return tuple(f"k{k + 1}" for k in range(kernels))


def weight_names(grid: Grid) -> tuple[str, ...]:
    """A kernel's weights by cell: w[i,j] for one input channel, w[ch,i,j] for several."""
    kh, kw = grid.size
    return cell_names("w", (grid.kernel_cells // (kh * kw), kh, kw), grid.dims)
