"""Record your own backpropagation (a from-scratch NumPy loop) into the four tables of a Trace.

Feed the spec's samples in its training order (`batches(spec)`) and tell the recorder, each step, what every
layer computed; then `trace()` gives the tables `tracer.run(spec)` gives, so `diff_traces` names the first
value where your code and the engine part:

    rec = tracer.Recorder(spec)
    for x, y in tracer.batches(spec):
        ...                                  # your forward pass
        rec.forward("H", z=z1, a=a1)         # a layer by name (or index): samples x units
        ...                                  # your backward pass
        rec.backward("H", delta=d1)          # dE/dz of each sample, before any 1/B of the batch
        ...                                  # your update
        rec.update("H", w_new=W1, b_new=b1)  # units x inputs, and the bias (units) if the layer has one
    trace = rec.trace()

What you do not give is computed as the engine defines it, from what you gave: the loss from your output,
da/dz from your z and a, dE/da from your deltas (output: the loss's derivative), the batch gradient from
your deltas and inputs (summed or averaged as the spec says), delta w as w_new - w_old. Conv and pool layers
take arrays of samples x channels x rows x columns, a conv's kernels as kernels x channels x rows x columns; a
pool has no update. An rnn layer takes samples x time steps x units, and its w_new as [W_x W_h].
"""
from __future__ import annotations

import numpy as np

from ..engine.train import epoch_orders
from ..errors import TracerError
from .steps import PER_SAMPLE, RecordedLoop, Steps, check_sizes


def numbers(value, place: str) -> np.ndarray:
    """A loop's values as a float64 array (a copy), or a one-line refusal of ragged lists and text."""
    try:
        return np.array(value, dtype=float)
    except (ValueError, TypeError):
        raise TracerError(place, "expected numbers in a rectangular array (a NumPy array, a tensor's .numpy(), or "
                                 "equal-length lists)") from None


def step_rows(spec, epochs: int | None = None):
    """The rows of the data (0-based) each step processes, in the order `tracer.run(spec)` trains in (shuffled
    by its seed if it shuffles); endless when `epochs` is None."""
    bs = spec.batch_size
    for order in epoch_orders(spec, epochs):
        for start in range(0, len(order), bs):
            yield order[start:start + bs]


def batches(spec, epochs: int | None = None):
    """(x, y) of each step, as numpy arrays (samples x inputs, samples x outputs), in the spec's training order:
    the order `tracer.run(spec)` trains in (shuffled by its seed if it shuffles)."""
    for rows in step_rows(spec, epochs or spec.training.epochs):
        yield spec.x[rows], spec.y[rows]


class Recorder(RecordedLoop):
    """Collects what a user's loop computed, step by step, and builds the Trace the engine would build."""

    def __init__(self, spec):
        self.spec = spec
        self.names = [l.name for l in spec.layers]
        self.expected = step_rows(spec)
        self.steps: list[dict] = []  # closed steps
        self.current: dict | None = None

    def step(self, samples) -> None:
        """Start a step with these samples (1-based rows of the data). Optional: without it, each step takes
        the next batch of `batches(spec)`."""
        self._close_if_done()
        if self.current is not None:
            raise TracerError("Recorder.step", f"step {len(self.steps) + 1} is not finished: {self._missing()}")
        rows = np.asarray(samples, dtype=np.int64).ravel() - 1
        if len(rows) == 0 or rows.min() < 0 or rows.max() >= len(self.spec.x):
            raise TracerError("Recorder.step", f"samples must be rows 1..{len(self.spec.x)} of the data")
        self.current = self._new_step(rows)

    def forward(self, layer, z, a, da_dz=None, loss=None) -> None:
        """What a layer computed in the forward pass: z and a (samples x units); optionally da/dz, and for
        the output layer each sample's loss."""
        self._close_if_done()
        if self.current is None:
            self.current = self._new_step(next(self.expected))
        l = self._layer(layer)
        values = {"z": z, "a": a, "da_dz": da_dz}
        self._put(l, "forward", {k: self._rows(v, k, l) for k, v in values.items() if v is not None})
        if loss is not None:
            self.current["loss"] = self._rows(loss, "loss", l, width=1).ravel()

    def backward(self, layer, delta, dE_da=None) -> None:
        """What a layer computed in the backward pass: delta = dE/dz of each sample (samples x units), before
        the batch's 1/B (-dE/dz where the spec says `delta: -dE/dz`); optionally dE/da (then -dE/da, the error)."""
        l = self._layer(layer, "backward")
        values = {"delta": delta, "dE_da": dE_da}
        self._put(l, "backward", {k: self._rows(v, k, l) for k, v in values.items() if v is not None})

    def update(self, layer, w_new, b_new=None, grad=None, w_old=None) -> None:
        """A layer's weights after the step: w_new (units x inputs, or units x (1 + inputs) with the bias in
        column 0; a conv's kernels x channels x rows x columns) and b_new (units, or kernels) if given apart.
        Optionally the batch gradient as the update used it (NaN where unknown), and the weights before the step
        when they are not the last step's w_new. A pool has none: it needs no update."""
        l = self._layer(layer, "update")
        if self.spec.layers[l].weights.size == 0:
            raise TracerError(f"layer {self.names[l]!r}", "a pool has no weights to update; update the other layers")
        values = {"w_new": self._matrix(w_new, b_new, l, "w_new")}
        if grad is not None:
            values["grad"] = self._matrix(grad, None, l, "grad")
        if w_old is not None:
            values["w_old"] = self._matrix(w_old, None, l, "w_old")
        self._put(l, "update", values)

    def ready(self) -> None:
        """Refuse a trace of steps not all finished, or of none (every step must be complete)."""
        self._close_if_done()
        if self.current is not None:
            raise TracerError("Recorder.trace", f"step {len(self.steps) + 1} is not finished: {self._missing()}")
        if not self.steps:
            raise TracerError("Recorder.trace", "no step was recorded")

    def as_steps(self) -> Steps:
        """The recorded steps as arrays over all of them, NaN where the loop gave nothing."""
        steps, n = self.steps, len(self.names)

        def rows(part: str, l: int, q: str) -> np.ndarray:
            width = len(self.spec.layers[l].units)
            return np.concatenate([np.full((len(s["samples"]), width), np.nan) if s[part][l].get(q) is None
                                   else s[part][l][q] for s in steps])

        def per_step(q: str) -> np.ndarray:
            return np.array([np.concatenate([np.full(layer.weights.size, np.nan) if u.get(q) is None
                                             else u[q].ravel() for u, layer in zip(s["update"], self.spec.layers)])
                             for s in steps])

        layers = [{q: rows("forward" if q in ("z", "a", "da_dz") else "backward", l, q) for q in PER_SAMPLE}
                  for l in range(n)]
        loss = np.concatenate([s["loss"] if s["loss"] is not None else np.full(len(s["samples"]), np.nan)
                               for s in steps])
        return Steps(np.array([len(s["samples"]) for s in steps]), np.concatenate([s["samples"] for s in steps]),
                     layers, loss, per_step("w_old"), per_step("grad"), per_step("w_new"))

    # one step

    def _new_step(self, rows) -> dict:
        check_sizes(self.spec, [len(rows)], first=len(self.steps))
        n = len(self.names)
        updated = [{} if layer.weights.size == 0 else None for layer in self.spec.layers]  # a pool has no weights
        return {"samples": rows, "loss": None, "forward": [None] * n, "backward": [None] * n, "update": updated}

    def _put(self, l: int, part: str, values: dict) -> None:
        if self.current is None:
            raise TracerError(f"layer {self.names[l]!r}", f"{part} before any forward pass of this step")
        if self.current[part][l] is not None:
            raise TracerError(f"layer {self.names[l]!r}", f"{part} recorded twice in step {len(self.steps) + 1}; "
                                                          "record each layer once per step, then update every layer")
        self.current[part][l] = values

    def _close_if_done(self) -> None:
        if self.current is not None and all(u is not None for u in self.current["update"]):
            missing = self._missing()
            if missing:
                raise TracerError(f"step {len(self.steps) + 1}", f"every layer was updated but {missing}")
            self.steps.append(self.current)
            self.current = None

    def _missing(self) -> str:
        for part in ("forward", "backward", "update"):
            for l, done in enumerate(self.current[part]):
                if done is None:
                    return f"layer {self.names[l]!r} has no {part}"
        return ""

    # checking what the user gave

    def _layer(self, layer, part: str | None = None) -> int:
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool) and 0 <= layer < len(self.names):
            l = int(layer)
        elif layer in self.names:
            l = self.names.index(layer)
        else:
            raise TracerError(f"layer {layer!r}", f"not a layer of the spec; its layers: {', '.join(self.names)} "
                                                  f"(or 0..{len(self.names) - 1})")
        if part is not None:
            self._close_if_done()
            if self.current is None:
                raise TracerError(f"layer {self.names[l]!r}", f"{part} before any forward pass of this step")
        return l

    def _rows(self, value, name: str, l: int, width: int | None = None) -> np.ndarray:
        """samples x units as float64; one sample may come as a vector or a column."""
        B = len(self.current["samples"])
        width = len(self.spec.layers[l].units) if width is None else width
        array = numbers(value, f"layer {self.names[l]!r}: {name}")  # a copy: the loop may reuse its arrays
        grid = self.spec.layers[l].grid
        if grid is not None and grid.time and array.ndim == 3 and array.shape[1:] == grid.out_shape[1::-1]:
            array = array.transpose(0, 2, 1)  # outputs at every time step: o1@t1, o1@t2, ... as the trace orders them
        if array.ndim > 2 and array.shape[0] == B and np.prod(array.shape[1:]) == width:
            array = array.reshape(B, width)  # a conv's or pool's samples x channels x rows x columns, states per step
        if array.ndim == 1 and B == 1 and array.size == width or array.shape == (width, 1) and B == 1:
            array = array.reshape(1, width)
        elif array.ndim == 1 and width == 1 and array.size == B:
            array = array.reshape(B, 1)
        if array.shape != (B, width):
            hint = " (transpose it with .T)" if array.shape == (width, B) else ""
            raise TracerError(f"layer {self.names[l]!r}: {name}", f"has shape {array.shape}; expected ({B}, {width}):"
                                                                  f" {B} sample(s) x {width} unit(s){hint}")
        return array

    def _matrix(self, w, b, l: int, name: str) -> np.ndarray:
        """A layer's weight matrix as the spec holds it: units x sources, the bias (if any) in column 0."""
        layer = self.spec.layers[l]
        units, inputs = len(layer.rows), len(layer.sources) - int(layer.bias)  # a conv's rows: its kernels
        place = f"layer {layer.name!r}: {name}"
        w = numbers(w, place)
        if w.ndim > 2 and w.shape[0] == units:
            w = w.reshape(units, -1)  # kernels x channels x rows x columns
        if b is not None:
            if not layer.bias:
                raise TracerError(place, "b_new given but the layer has no bias")
            b = numbers(b, f"{place} b_new").ravel()
            if b.shape != (units,):
                raise TracerError(place, f"b_new has {b.size} values; expected {units} (one per unit)")
            if w.shape != (units, inputs):
                raise TracerError(place, f"has shape {w.shape}; expected ({units}, {inputs}): units x inputs"
                                         + (" (transpose it with .T)" if w.shape == (inputs, units) else ""))
            return np.concatenate([b[:, None], w], axis=1)
        if w.shape == (units, len(layer.sources)):
            return w.copy()
        if layer.bias and w.shape == (units, inputs):
            raise TracerError(place, f"the layer has a bias: give b_new too, or w_new as ({units}, {inputs + 1}) "
                                     "with the bias in column 0")
        expected = f"({units}, {len(layer.sources)}): units x ({'bias, ' if layer.bias else ''}inputs)"
        hint = " (transpose it with .T)" if w.shape[::-1] in ((units, inputs), (units, len(layer.sources))) else ""
        raise TracerError(place, f"has shape {w.shape}; expected {expected}{hint}")
