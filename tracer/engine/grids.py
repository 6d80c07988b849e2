"""The engine's layers with windows or time steps: a conv, a pool (max or mean of windows), an rnn.

A conv layer's position reads its window's cells times its kernel's weights, and sends its delta back to the
same cells through the same weights (Frey eq. 4 over the windows). A pool remembers, per sample, which cells of
each window its value came from, and routes each position's delta back to them (the first maximum, the tied
maxima equally, or every cell 1/n for the mean). An rnn steps its states through time and its error terms back
through time. A shared weight's gradient (a conv's, an rnn's) is the sum of its terms over positions or time
steps, and the batch (Taps).
"""
from __future__ import annotations

import numpy as np


class Taps:
    """The terms of a layer's shared weights (a conv's, an rnn's): (position, cell, weight) each, in weight then
    position order (Layer.taps), and the arithmetic on them."""

    def __init__(self, layer):
        self.position, self.cell, self.weight = layer.taps()
        self.size = layer.weights.size
        self.recurrent = layer.recurrence is not None

    def cells(self, a_in: np.ndarray, a: np.ndarray | None = None) -> np.ndarray:
        """Every cell a term may read, samples x cells: the layer's inputs (h_0's among an rnn's), an rnn's own
        states, then the constant 1 of a bias."""
        parts = [a_in, a] if self.recurrent else [a_in]
        return np.concatenate(parts + [np.ones((len(a_in), 1))], axis=1)

    def terms(self, delta: np.ndarray, a_in: np.ndarray, a: np.ndarray | None = None) -> np.ndarray:
        """Each term of each shared weight's gradient, samples x taps: delta of the position times the cell
        under the weight (1 for a bias)."""
        return delta[:, self.position] * self.cells(a_in, a)[:, self.cell]

    def gradient(self, delta: np.ndarray, a_in: np.ndarray, a: np.ndarray | None, out: np.ndarray) -> None:
        """dE/dw of every shared weight into `out` (its layer's weight matrix): its terms summed over the
        positions or time steps and the batch."""
        total = self.terms(delta, a_in, a).sum(axis=0)
        out[...] = np.bincount(self.weight, weights=total, minlength=self.size).reshape(out.shape)

    def sums(self, terms: np.ndarray) -> np.ndarray:
        """Each shared weight's gradient (samples x weights): its terms summed over the positions."""
        out = np.zeros((len(terms), self.size))
        np.add.at(out, (slice(None), self.weight), terms)
        return out


class Conv:
    """A conv2d layer over its weight matrix `kernels` (kernels x (bias, cells)), a view the update changes, and
    its gradient `grads` of the same shape. Each position reads its window (a cell on the padding reads a zero),
    so the work grows with positions x window, not with positions x inputs."""

    def __init__(self, layer, kernels: np.ndarray, grads: np.ndarray):
        g = layer.grid
        self.kernels, self.grads, self.bias = kernels, grads, layer.bias
        self.taps = Taps(layer)
        self.channel, self.inputs = g.channel, g.inputs
        self.window = np.where(g.window >= 0, g.window, g.inputs)  # the padding: one zero cell past the inputs
        self.weight = g.weight + int(layer.bias)  # each window cell's column in its kernel's row

    def window_weights(self) -> np.ndarray:
        """positions x window: the current kernel weight on each window cell."""
        return self.kernels[self.channel[:, None], self.weight]

    def forward(self, a_in: np.ndarray) -> np.ndarray:
        """z of every position: its kernel's bias plus the window's cells times the kernel's weights."""
        cells = np.concatenate([a_in, np.zeros((len(a_in), 1))], axis=1)[:, self.window]
        z = np.einsum("buw,uw->bu", cells, self.window_weights())
        if self.bias:
            z += self.kernels[self.channel, 0]
        return z

    def back(self, delta: np.ndarray) -> np.ndarray:
        """dE/da of each input cell: Σ over the positions whose window reads it of the weight on it times delta."""
        n = self.inputs + 1
        terms = delta[:, :, None] * self.window_weights()[None]
        at = np.arange(len(delta))[:, None, None] * n + self.window[None]
        return np.bincount(at.ravel(), weights=terms.ravel(), minlength=len(delta) * n).reshape(len(delta), n)[:, :-1]

    def gradients(self, delta: np.ndarray, a_in: np.ndarray) -> None:
        """dE/dw of every shared weight: its terms summed over positions and the batch (into `grads`)."""
        self.taps.gradient(delta, a_in, None, self.grads)


class Pool:
    """A maxpool2d or avgpool2d layer: no weights; each position is the max or the mean of its window."""

    def __init__(self, layer):
        g = layer.grid
        self.window, self.inputs, self.kind, self.ties = g.window, g.inputs, g.kind, g.ties
        self.route = None

    def forward(self, a_in: np.ndarray) -> np.ndarray:
        """Each window's max (or mean), remembering which cells it came from for the backward pass."""
        cells = a_in[:, self.window]  # samples x positions x window
        n = cells.shape[-1]
        if self.kind == "avgpool2d":
            self.route = np.full(cells.shape, 1.0 / n)
            return cells.mean(axis=-1)
        z = cells.max(axis=-1)
        if self.ties == "first":  # the first maximum in reading order, as PyTorch's MaxPool2d routes it
            self.route = (np.arange(n) == np.argmax(cells, axis=-1)[..., None]).astype(float)
        else:  # tied maxima share the gradient equally
            hit = (cells == z[..., None]).astype(float)
            self.route = hit / hit.sum(axis=-1, keepdims=True)
        return z

    def gradients(self, delta: np.ndarray, a_in: np.ndarray) -> None:
        """A pool has no weights."""

    def back(self, delta: np.ndarray) -> np.ndarray:
        """dE/da of each input cell: the deltas of the windows routed to it (windows may overlap)."""
        out = np.zeros((len(delta), self.inputs))
        np.add.at(out, (np.arange(len(delta))[:, None, None], self.window[None]), self.route * delta[..., None])
        return out


class Recurrent:
    """An rnn layer over its weight matrix (units x (bias, inputs, units of the step before)), a view the update
    changes: the states step by step through time, and the error terms back through time (BPTT)."""

    def __init__(self, layer, weights: np.ndarray, grads: np.ndarray):
        r = layer.recurrence
        self.r, self.weights, self.grads, self.bias, self.act = r, weights, grads, layer.bias, layer.activation
        self.taps = Taps(layer)
        self.T, self.F, self.U = r.steps, len(r.features), len(r.units)
        self.states = None

    def parts(self):
        """(b, W_x, W_h) of the current weights."""
        first = int(self.bias)
        b = self.weights[:, 0] if self.bias else 0.0
        return b, self.weights[:, first:first + self.F], self.weights[:, first + self.F:]

    def forward(self, a_in: np.ndarray) -> np.ndarray:
        """z of every state: z_t = b + W_x x_t + W_h h_{t-1}, h_t = f(z_t), from h_0 (Elman)."""
        b, Wx, Wh = self.parts()
        n, T, U = len(a_in), self.T, self.U
        x = a_in[:, :T * self.F].reshape(n, T, self.F)
        z, states = np.empty((n, T, U)), np.empty((n, T, U))
        h = a_in[:, T * self.F:]  # h_0, given after the sequence
        for t in range(T):
            z[:, t] = b + x[:, t] @ Wx.T + h @ Wh.T
            h = states[:, t] = self.act.kernel(z[:, t])
        self.states = states.reshape(n, T * U)
        return z.reshape(n, T * U)

    def net_inputs(self, a_in: np.ndarray, states: np.ndarray) -> np.ndarray:
        """z of every state from given states (a recorded loop's): z_t = b + W_x x_t + W_h h_{t-1}, h_0 from a_in."""
        b, Wx, Wh = self.parts()
        n, T, U = len(a_in), self.T, self.U
        x = a_in[:, :T * self.F].reshape(n, T, self.F)
        before = np.concatenate([a_in[:, None, T * self.F:], states.reshape(n, T, U)[:, :-1]], axis=1)
        return (b + x @ Wx.T + before @ Wh.T).reshape(n, T * U)

    def through_time(self, dE_da: np.ndarray, da_dz: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dE/da, delta) of every state: dE/da is what the layer above sends plus Σ_j w_h[j,u] δ_j(t+1), back
        from the last step (but not across a truncation), and delta = dE/da · da/dz."""
        _, _, Wh = self.parts()
        n, T, U = len(dE_da), self.T, self.U
        total, slope, state = dE_da.reshape(n, T, U).copy(), da_dz.reshape(n, T, U), a.reshape(n, T, U)
        delta = np.empty((n, T, U))
        for t in range(T - 1, -1, -1):
            if t < T - 1 and not self.r.cut(t + 1):
                total[:, t] += delta[:, t + 1] @ Wh
            delta[:, t] = self.act.backward(total[:, t], slope[:, t], state[:, t])
        return total.reshape(n, T * U), delta.reshape(n, T * U)

    def from_given(self, sent: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """dE/da of every state from a loop's own error terms: what the layer above sends plus
        Σ_j w_h[j,u] δ_j(t+1) with the given δ (none across a truncation), as through_time adds them."""
        _, _, Wh = self.parts()
        n, T, U = len(sent), self.T, self.U
        total, given = sent.reshape(n, T, U).copy(), delta.reshape(n, T, U)
        for t in range(T - 1):
            if not self.r.cut(t + 1):
                total[:, t] += given[:, t + 1] @ Wh
        return total.reshape(n, T * U)

    def gradients(self, delta: np.ndarray, a_in: np.ndarray) -> None:
        """dE/dw of every shared weight: its terms summed over the time steps and the batch (into `grads`)."""
        self.taps.gradient(delta, a_in, self.states, self.grads)


def grid_step(layer, kernels: np.ndarray, grads: np.ndarray):
    """The engine's object for a grid or rnn layer, or None for a dense one."""
    if layer.recurrence is not None:
        return Recurrent(layer, kernels, grads)
    if layer.grid is None:
        return None
    return Conv(layer, kernels, grads) if layer.grid.conv else Pool(layer)
