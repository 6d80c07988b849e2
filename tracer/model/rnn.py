"""Recurrent (Elman) layers: h_t = f(W_x x_t + W_h h_{t-1} + b) over a sequence, h_0 given, unrolled in time.

h_0 is given as the layer's `h0` and becomes inputs of its own after the sequence's (h1@t0, h2@t0, ...), the same
in every sample: the plan, the workbook and the exercises take it as they take any given.

A sequence spec names its inputs per time step (`inputs: {names: [x1], steps: 3}` gives x1@t1, x1@t2, x1@t3)
and starts with an `rnn` layer; its units are the states h1@t1, h2@t1, h1@t2, ... and its parameters are one
set shared by every time step: per unit the bias, a weight per input and a weight per unit of the step before
(sources bias, x1, ..., h1, ...). The layer after it is dense, applied with the same weights at every time step
(`outputs: every`, a loss at each step) or to the last state only (`outputs: last`): a conv over time
(tracer.model.grid), so its gradient's terms per time step come as a conv's do. Backpropagation through time
runs the whole sequence back (`bptt: full`) or stops at every k-th step (`bptt: k`, as detaching the state
every k steps does in PyTorch).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from .fields import MAX_NAMES, activation_of, boolean, draw, name, names_of, no_unknown, number, required, whole
from .grid import Grid

MAX_TERMS = 10_000_000  # states x weights of one unit: what each sample's forward pass and trace hold
RNN_KEYS = {"name", "type", "units", "activation", "weights", "recurrent", "bias", "h0", "bptt", "outputs", "init",
            "frozen"}
MAX_STEPS = 1000


@dataclass(frozen=True)
class Recurrence:
    """An rnn layer's unrolling: `steps` time steps of `features` inputs each, its base `units`, the initial
    state `h0`, BPTT truncation `bptt` (0: the whole sequence) and which states the next layer reads."""

    steps: int
    features: tuple[str, ...]
    units: tuple[str, ...]
    h0: tuple[float, ...]
    bptt: int = 0
    outputs: str = "every"

    def cut(self, t: int) -> bool:
        """Whether the gradient stops between step t (0-based) and the step before it."""
        return bool(self.bptt) and t % self.bptt == 0

    @property
    def cells(self) -> int:
        """The cells a term may read: the inputs (T x F), h_0 (U: given like inputs, h1@t0 ...), then the states
        (T x U); the constant 1 of a bias is the next index."""
        T, F, U = self.steps, len(self.features), len(self.units)
        return T * F + U + T * U

    @property
    def initial(self) -> tuple[str, ...]:
        """The names of h_0's cells, the givens after the inputs: h1@t0, h2@t0, ..."""
        return tuple(f"{u}@t0" for u in self.units)

    def taps(self, bias: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position, cell, weight) of every term of the states' net inputs, weight by weight and then in time
        order: the terms each shared weight's gradient sums (tracer.model.grid.Grid.taps's layout)."""
        T, F, U = self.steps, len(self.features), len(self.units)
        cols = int(bias) + F + U
        pos, cell, weight = [], [], []
        for t in range(T):
            for u in range(U):
                p = t * U + u
                row = u * cols
                if bias:
                    pos.append(p), cell.append(self.cells), weight.append(row)
                for f in range(F):
                    pos.append(p), cell.append(t * F + f), weight.append(row + int(bias) + f)
                for j in range(U):
                    before = T * F + U + (t - 1) * U + j if t else T * F + j
                    pos.append(p), cell.append(before), weight.append(row + int(bias) + F + j)
        pos, cell, weight = np.array(pos), np.array(cell), np.array(weight)
        order = np.lexsort((pos, weight))
        return pos[order], cell[order], weight[order]

    def cell_names(self, inputs: tuple[str, ...], states: tuple[str, ...]) -> tuple[str, ...]:
        """The names of the cells a term reads, in taps's layout (`inputs` with h_0's), and 'bias' for the 1."""
        return (*inputs, *states, "bias")


def sequence_inputs(raw: dict) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """(input names per time step, steps, features) of `inputs: {names: [x1, x2], steps: T}`."""
    no_unknown(raw, {"names", "steps"}, "inputs")
    features = names_of(required(raw, "names", "inputs"), "inputs.names", "x")
    steps = whole(required(raw, "steps", "inputs"), "inputs.steps", maximum=MAX_STEPS)
    if steps * len(features) > MAX_NAMES:
        raise SpecError("inputs", f"{steps * len(features):,} inputs over the steps is more than the limit of "
                                  f"{MAX_NAMES:,}; use fewer steps or inputs")
    return tuple(f"{f}@t{t + 1}" for t in range(steps) for f in features), steps, features


def rnn_layer_of(raw: dict, place: str, index: int, steps: int | None, features, init, rng) -> dict:
    """The fields of an rnn layer (tracer.model.spec.Layer's), which must read a sequence of inputs."""
    if steps is None:
        raise SpecError(f"{place}.type", "an rnn layer reads a sequence: give inputs as {names: [x1], steps: 3} "
                                         "and put the rnn layer first")
    no_unknown(raw, RNN_KEYS, place)
    layer_name = name(raw.get("name", f"L{index + 1}"), f"{place}.name")
    units = names_of(required(raw, "units", place), f"{place}.units", layer_name[:1].lower() or "h")
    activation = activation_of(required(raw, "activation", place), f"{place}.activation")
    if activation.vector:
        raise SpecError(f"{place}.activation", "softmax is supported on the output layer only")
    bias = boolean(raw.get("bias", True), f"{place}.bias")
    sources = (("bias",) if bias else ()) + tuple(features) + tuple(units)
    U = len(units)
    if steps * U * len(sources) > MAX_TERMS:
        raise SpecError(f"{place}.units", f"{steps:,} steps x {U:,} units x {len(sources):,} weights is more than "
                                          f"the limit of {MAX_TERMS:,} terms; use fewer steps or units")
    if "weights" in raw or "recurrent" in raw:
        given = rows_of(required(raw, "weights", place), f"{place}.weights", U, int(bias) + len(features),
                        "bias and a weight per input" if bias else "a weight per input")
        recurrent = rows_of(required(raw, "recurrent", place), f"{place}.recurrent", U, U,
                            "a weight per unit of the step before")
        weights = np.concatenate([given, recurrent], axis=1)
    else:
        weights = draw(raw.get("init", init), f"{place}.init", U, sources, bias, rng)
    h0 = raw.get("h0", [0.0] * U)
    if not isinstance(h0, list) or len(h0) != U:
        raise SpecError(f"{place}.h0", f"expected {U} number{'s' * (U != 1)} (the state before the first step)")
    bptt = raw.get("bptt", "full")
    bptt = 0 if bptt == "full" else whole(bptt, f"{place}.bptt", maximum=MAX_STEPS)
    outputs = str(raw.get("outputs", "every"))
    if outputs not in ("every", "last"):
        raise SpecError(f"{place}.outputs", "expected every (the next layer at every time step, a loss at each) or "
                                            "last (the next layer reads the last state only)")
    frozen = np.full(weights.shape, boolean(raw.get("frozen", False), f"{place}.frozen"))
    recurrence = Recurrence(steps, tuple(features), units, tuple(number(v, f"{place}.h0[{i}]")
                                                                 for i, v in enumerate(h0)), bptt, outputs)
    states = tuple(f"{u}@t{t + 1}" for t in range(steps) for u in units)
    return dict(name=layer_name, units=states, activation=activation, bias=bias, sources=sources, weights=weights,
                frozen=frozen, kernels=units, recurrence=recurrence)


def rows_of(raw, place: str, n_rows: int, n_cols: int, what: str) -> np.ndarray:
    if not isinstance(raw, list) or len(raw) != n_rows:
        raise SpecError(place, f"expected {n_rows} row{'s' * (n_rows != 1)} (one per unit)")
    for j, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != n_cols:
            raise SpecError(f"{place}[{j}]", f"expected {n_cols} number{'s' * (n_cols != 1)} ({what})")
    return np.array([[number(v, f"{place}[{j}][{k}]") for k, v in enumerate(row)] for j, row in enumerate(raw)])


def over_time(dense, recurrence: Recurrence, last: bool, place: str) -> dict:
    """The dense layer after an rnn layer as a conv over time: its weights applied to the states of every time
    step (`outputs: every`, units o@t1, o@t2, ...) or of the last one (`outputs: last`, units as named)."""
    T, U = recurrence.steps, len(recurrence.units)
    every = recurrence.outputs == "every"
    if every and not last:
        raise SpecError(place, "with outputs: every the layer after the rnn layer is the output layer (one at every "
                               "time step); use outputs: last for more layers")
    if dense.threshold:  # each time step's term reads the bias cell as +1, as a conv's does
        raise SpecError(f"{place}.bias", "a threshold on the layer after an rnn layer is not supported; use bias: true "
                                         "(the threshold θ is the bias −θ)")
    grid = Grid("conv2d", (1, T, U), (len(dense.units), T if every else 1, 1), (1, U), start=0 if every else T - 1,
                time=True)
    units = tuple(f"{u}@t{t + 1}" for u in dense.units for t in range(T)) if every else dense.units
    return dict(name=dense.name, units=units, activation=dense.activation, bias=dense.bias, sources=dense.sources,
                weights=dense.weights, frozen=dense.frozen, grid=grid,
                kernels=dense.units)


def rnn_document(layer, activation) -> dict:
    """The spec mapping parse_spec reads back as this rnn layer (spec_document's part for it)."""
    r = layer.recurrence
    split = int(layer.bias) + len(r.features)
    out = {"name": layer.name, "type": "rnn", "units": list(r.units), "activation": activation, "bias": layer.bias,
           "weights": layer.weights[:, :split].tolist(), "recurrent": layer.weights[:, split:].tolist(),
           "h0": list(r.h0), "bptt": r.bptt or "full", "outputs": r.outputs}
    return {**out, "frozen": True} if layer.frozen.all() and layer.frozen.size else out


def targets_by_step(y, recurrence: Recurrence) -> list:
    """A sample's targets of outputs at every time step as the spec gives them: a row per time step."""
    return np.asarray(y).reshape(-1, recurrence.steps).T.tolist()
