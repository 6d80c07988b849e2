"""The plan's ops for grid layers (tracer.model.plan builds the rest): a conv position's net input over its
window, a pool position's max or mean, dE/da of a cell routed back through the windows that read it, and each
shared weight's gradient as the sum of its terms over the positions (each term an op of its own, kind
'contrib', so a student can check every one).
"""
from __future__ import annotations

import functools

from .grid import term_names
from .gridrules import PoolValue, PositionSum, Routed
from .keys import key
from .rules import Activate, BackSum, Grad, NetInput


@functools.lru_cache(maxsize=32)
def readers(grid) -> tuple[tuple[tuple[int, int], ...], ...]:
    """For each input cell, the (position, window slot) of every window that reads it, in position order."""
    out: list[list] = [[] for _ in range(grid.inputs)]
    for p, row in enumerate(grid.window.tolist()):
        for slot, cell in enumerate(row):
            if cell >= 0:
                out[cell].append((p, slot))
    return tuple(tuple(r) for r in out)


def forward_ops(layer, b: int, source_keys: list[tuple], op) -> list:
    """z and a of every position of a grid layer for sample b; `source_keys` are the keys of the cells below,
    `op(key, rule, operands)` makes an op of the forward phase."""
    g, out = layer.grid, []
    for p, u in enumerate(layer.units):
        z = key("z", b, layer.name, u)
        cells = [(slot, c) for slot, c in enumerate(g.window[p].tolist()) if c >= 0]
        if g.conv:
            kernel = layer.kernels[g.channel[p]]
            operands = [key("w", 0, layer.name, kernel, "bias")] if layer.bias else []
            for slot, c in cells:
                source = layer.sources[int(layer.bias) + int(g.weight[p, slot])]
                operands += [key("w", 0, layer.name, kernel, source), source_keys[c]]
            out.append(op(z, NetInput(layer.bias), tuple(operands)))
        else:
            out.append(op(z, PoolValue(g.kind), tuple(source_keys[c] for _, c in cells)))
        out.append(op(key("a", b, layer.name, u), Activate(layer.activation, 0), (z,)))
    return out


def back_operands(above, cell: int, b: int, back_w: str, source_keys: list[tuple]) -> tuple:
    """(rule, operands) of dE/da of cell `cell` of the layer below the grid layer `above`: through a conv, the
    weights its windows put on the cell times their deltas (Frey eq. 4 over shared weights); through a pool, the
    windows' deltas routed to it."""
    g = above.grid
    windows = readers(g)[cell]
    if g.conv:
        operands = []
        for p, slot in windows:
            kernel = above.kernels[g.channel[p]]
            source = above.sources[int(above.bias) + int(g.weight[p, slot])]
            operands += [key(back_w, 0, above.name, kernel, source),
                         key("delta", b, above.name, above.units[p])]
        return BackSum(), tuple(operands)
    operands, sizes = [], []
    for p, slot in windows:
        cells = [c for c in g.window[p].tolist() if c >= 0]
        operands += [key("delta", b, above.name, above.units[p]), *(source_keys[c] for c in cells)]
        sizes.append((len(cells), cells.index(cell)))
    return Routed(g.kind, g.ties, tuple(sizes)), tuple(operands)


def rnn_forward_ops(layer, b: int, source_keys: list[tuple], op) -> list:
    """z and a of every state of an rnn layer for sample b, step by step: z = b + Σ w x_t + Σ w h_{t-1}, with
    the givens h_0 (after the sequence's inputs) before the first step."""
    r, out = layer.recurrence, []
    F = len(r.features)
    for t in range(r.steps):
        for u in r.units:
            operands = [key("w", 0, layer.name, u, "bias")] if layer.bias else []
            for f, feature in enumerate(r.features):
                operands += [key("w", 0, layer.name, u, feature), source_keys[t * F + f]]
            for j in r.units:
                before = key("a", b, layer.name, f"{j}@t{t}") if t else source_keys[r.steps * F + r.units.index(j)]
                operands += [key("w", 0, layer.name, u, j), before]
            z = key("z", b, layer.name, f"{u}@t{t + 1}")
            out.append(op(z, NetInput(layer.bias), tuple(operands)))
            out.append(op(key("a", b, layer.name, f"{u}@t{t + 1}"), Activate(layer.activation, 0), (z,)))
    return out


def recurrent_operands(layer, state: int, b: int) -> tuple:
    """The pairs (w_h[j,u], delta of j at the next step) that back-propagation through time adds to dE/da of
    state `state` (u at step t): none at the last step, or where the next step is cut off (bptt: k)."""
    r = layer.recurrence
    t, u = divmod(state, len(r.units))
    if t == r.steps - 1 or r.cut(t + 1):
        return ()
    return tuple(k for j in r.units for k in (key("w", 0, layer.name, j, r.units[u]),
                                               key("delta", b, layer.name, f"{j}@t{t + 2}")))


def cell_keys(layer, b: int, source_keys: list[tuple]) -> list:
    """The keys of the cells a shared weight's terms read, in Layer.taps's layout (the constant 1 last)."""
    own = [key("a", b, layer.name, u) for u in layer.units] if layer.recurrence is not None else []
    return [*source_keys, *own, None]


def gradient_ops(layer, b: int, source_keys: list[tuple], sign: float, op) -> list:
    """Each term of each shared weight's gradient for sample b (delta of a position, or a state, times the
    cell under the weight, kind 'contrib'), then each weight's gradient, their sum. A pool has none."""
    if not layer.shared:
        return []
    _, cell, _ = layer.taps()
    source_keys = cell_keys(layer, b, source_keys)
    terms: dict[tuple, list] = {}
    out = []
    for c, (row, source, position) in zip(cell.tolist(), term_names(layer)):
        term = key("contrib", b, layer.name, position, source)
        delta = key("delta", b, layer.name, position)
        bias = source == "bias"
        out.append(op(term, Grad(bias, False, sign), (delta,) if bias else (delta, source_keys[c])))
        terms.setdefault((row, source), []).append(term)
    for (row, source), keys in terms.items():
        out.append(op(key("grad", b, layer.name, row, source), PositionSum(), tuple(keys)))
    return out
