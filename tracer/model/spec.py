"""Spec files (YAML or JSON): one network, its initial weights, its data and training settings, validated.

Every problem is a SpecError naming the place (`layers[1].weights[0]`) and the fix, so the CLI
can print one line. The validated Spec holds numpy arrays and activation/loss objects; it knows
nothing of output formats.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SpecError
from .activations import Activation
from .fields import (INIT_KEYS, MAX_EPOCHS, MAX_SAMPLES, activation_of, boolean, data_of, distinct_spellings, draw,
                     frozen_of, loss_of, names_of, no_unknown, number, required, slug, text, warn, whole)
from .fields import name as fields_name
from .grid import Grid, cell_names
from .rnn import Recurrence, over_time, rnn_document, rnn_layer_of, sequence_inputs, targets_by_step
from .gridspec import GRID_KINDS, activation_document, grid_document, grid_layer_of, input_shape_of
from .losses import Loss
from .notation import PROFILES
from .updates import UPDATE_ORDERS, UpdateOrder, UpdateRule

NOTATIONS = tuple(PROFILES)  # the notation names a spec may give: one per profile, listed once (model.notation)
MODES = ("online", "batch", "minibatch")
TOP_KEYS = {
    "name", "title", "source", "notation", "inputs", "layers", "loss", "learning_rate",
    "weight_decay", "momentum", "training", "data", "init", "description", "steps", "delta",
}
DELTA_FORMS = {"dE/dz": 1.0, "-dE/dz": -1.0}  # what the spec's delta is: the error term's sign convention
LAYER_KEYS = {"name", "type", "units", "activation", "weights", "bias", "frozen", "init"}
TRAINING_KEYS = {"mode", "epochs", "batch_size", "shuffle", "seed", "reduction", "update_order"}


@dataclass(frozen=True)
class Layer:
    """One layer: its units, activation and weight matrix (bias in column 0 when it has one)."""

    name: str
    units: tuple[str, ...]
    activation: Activation
    bias: bool
    sources: tuple[str, ...]  # column names of `weights`: 'bias' first (if any), then inputs
    weights: np.ndarray  # shape (units, len(sources))
    frozen: np.ndarray  # bool, same shape: parameters that never change
    bias_input: float = 1.0  # what the bias multiplies: 1, or -1 for a threshold θ (`bias: threshold`)
    grid: Grid | None = None  # a conv2d or pool layer's windows (tracer.model.grid); None for a dense layer
    kernels: tuple[str, ...] = ()  # the rows of shared weights: a conv's kernels, an rnn's units (its units are
    #                                positions or time steps)
    recurrence: Recurrence | None = None  # an rnn layer's unrolling in time (tracer.model.rnn)

    @property
    def rows(self) -> tuple[str, ...]:
        """The names of the weight matrix's rows: the units of a dense layer, the kernels of a conv layer, the
        units of an rnn layer (shared by its time steps)."""
        return self.kernels if self.kernels else self.units

    @property
    def shared(self) -> bool:
        """Whether the layer's weights are shared by several positions or time steps (a conv, an rnn)."""
        return bool(self.kernels)

    def taps(self) -> tuple:
        """(position, cell, weight) of every term of a shared weight's gradient (tracer.model.grid, rnn)."""
        return self.recurrence.taps(self.bias) if self.recurrence is not None else self.grid.taps(self.bias)

    @property
    def threshold(self) -> bool:
        """The bias is a threshold θ on a fixed −1 input (Negnevitsky: X = Σ x w − θ), shown with its own
        sign."""
        return self.bias_input < 0

    @property
    def described_units(self) -> str:
        """The units as an overview lists them: their names, or a grid layer's windows and positions in words."""
        return self.grid.describe(self.units) if self.grid is not None else ", ".join(self.units)

    @property
    def bias_kind(self) -> str:
        """The layer's bias in words, as reports and exercises say it."""
        return "threshold on a −1 input" if self.threshold else "bias" if self.bias else "no bias"

    @property
    def n_inputs(self) -> int:
        return len(self.sources) - int(self.bias)


@dataclass(frozen=True)
class Training:
    """How samples are grouped into weight updates (Frey: online, batch, mini-batch)."""

    mode: str = "online"
    epochs: int = 1
    batch_size: int = 1
    shuffle: bool = False
    seed: int = 0
    reduction: str = "mean"  # a batch's gradient: mean (Frey eq. 3, Davila) or sum
    update_order: str = "simultaneous"  # or sequential: each layer updated as soon as its gradient is known


@dataclass(frozen=True)
class Spec:
    """A validated spec: network, data and training settings."""

    name: str
    inputs: tuple[str, ...]
    layers: tuple[Layer, ...]
    loss: Loss
    learning_rate: float
    x: np.ndarray  # (samples, inputs)
    y: np.ndarray  # (samples, output units)
    training: Training = Training()
    weight_decay: float = 0.0
    momentum: float = 0.0
    title: str = ""
    source: str = ""
    description: str = ""
    notation: str = "generic"
    path: Path | None = None
    init: dict = field(default_factory=dict)  # how random initial weights were drawn, if they were
    steps: str = ""  # which steps reports show by default ('' = all)
    delta_sign: float = 1.0  # delta = dE/dz (1), or -dE/dz (-1): Negnevitsky's δ = y(1 − y) e, Δw = α y δ
    input_shape: tuple[int, int, int] | None = None  # (channels, height, width) of a grid of inputs

    @property
    def grids(self) -> bool:
        """Whether the network has conv, pool or rnn layers."""
        return any(l.grid is not None or l.recurrence is not None for l in self.layers)

    @property
    def output(self) -> Layer:
        return self.layers[-1]

    @property
    def parameters(self) -> list[tuple[str, str, str]]:
        """(layer, unit, source) of every parameter, in the order of the flat weight vector."""
        return [(l.name, u, s) for l in self.layers for u in l.rows for s in l.sources]

    @property
    def n_weights(self) -> int:
        """Every weight of the network, biases included: its connections."""
        return sum(l.weights.size for l in self.layers)

    @property
    def n_terms(self) -> int:
        """Terms of the shared weights' gradients per sample (the contributions table's rows per sample)."""
        return sum(len(l.taps()[0]) for l in self.layers if l.shared)

    @property
    def batch_size(self) -> int:
        """Samples per weight update."""
        return {"online": 1, "batch": len(self.x)}.get(self.training.mode, self.training.batch_size)

    @property
    def update_rule(self) -> UpdateRule:
        """delta_w = mu delta_w_prev - eta (G + lambda w)."""
        return UpdateRule(self.learning_rate, self.weight_decay, self.momentum)

    @property
    def update_order(self) -> UpdateOrder:
        """Simultaneous (weights before the step throughout) or sequential (layer by layer)."""
        return UPDATE_ORDERS[self.training.update_order]

    def replace(self, **changes) -> "Spec":
        """A copy with some fields changed (e.g. learning_rate), for experiments and tests."""
        return dataclasses.replace(self, **changes)

    def with_weights(self, weights: list[np.ndarray]) -> "Spec":
        """A copy with other initial weights, one matrix per layer."""
        layers = tuple(dataclasses.replace(l, weights=np.array(w, float)) for l, w in zip(self.layers, weights))
        return dataclasses.replace(self, layers=layers)


def spec_document(spec: Spec) -> dict:
    """The mapping parse_spec reads back as this spec: weights given, data inline, defaults spelled out (the live
    page's "Download spec" writes it as YAML)."""
    loss = spec.loss.name if spec.loss.gradient_factor is None else {"name": spec.loss.name,
                                                                       "gradient_factor": spec.loss.gradient_factor}
    t = spec.training
    training = {"mode": t.mode, "epochs": t.epochs, "shuffle": t.shuffle, "seed": t.seed, "reduction": t.reduction,
                "update_order": t.update_order}
    if t.mode == "minibatch":
        training["batch_size"] = t.batch_size
    layers = [rnn_document(l, activation_document(l.activation)) if l.recurrence is not None else
              grid_document(l) if l.grid is not None and not l.grid.time else
              {"name": l.name, "units": list(l.rows), "activation": activation_document(l.activation),
               "bias": "threshold" if l.threshold else l.bias, "weights": l.weights.tolist(),
               "frozen": l.frozen.tolist()} for l in spec.layers]
    inputs = list(spec.inputs)
    data = [{"x": x, "y": y} for x, y in zip(spec.x.tolist(), spec.y.tolist())]
    r = spec.layers[0].recurrence
    if r is not None:  # the inputs without h_0's cells, which the layer's h0 gives
        inputs = {"names": list(r.features), "steps": r.steps}
        x = spec.x[:, :len(spec.x[0]) - len(r.units)].tolist()
        y = [targets_by_step(row, r) for row in spec.y] if r.outputs == "every" else spec.y.tolist()
        data = [{"x": xr, "y": yr} for xr, yr in zip(x, y)]
    if spec.input_shape is not None:
        C, H, W = spec.input_shape
        one_d = spec.layers[0].grid.dims == 1
        inputs = {"name": spec.inputs[0].split("[")[0], "shape": [C, W] if one_d else [C, H, W]}
        flat = next((i for i, l in enumerate(spec.layers) if l.grid is None), None)
        if flat is not None:
            layers.insert(flat, {"type": "flatten"})
    document = {"name": spec.name, "title": spec.title, "source": spec.source, "description": spec.description,
                "notation": spec.notation, "inputs": inputs, "layers": layers, "loss": loss,
                "learning_rate": spec.learning_rate, "weight_decay": spec.weight_decay, "momentum": spec.momentum,
                "training": training, "steps": spec.steps, "delta": "-dE/dz" if spec.delta_sign < 0 else "",
                "data": data}
    return {k: v for k, v in document.items() if v != ""}


def parse_spec(raw, base: Path = Path("."), path: Path | None = None, read_csv=None) -> Spec:
    """Validate a spec given as a dict (as read from YAML/JSON); CSV data paths are relative to `base` and read
    by `read_csv` (tracer.load_spec passes the safe CSV reader)."""
    if not isinstance(raw, dict):
        raise SpecError("", "a spec must be a mapping with keys name, inputs, layers, loss, learning_rate, data")
    no_unknown(raw, TOP_KEYS, "")
    name = slug(required(raw, "name", ""), "name")
    first = raw.get("layers")[0] if isinstance(raw.get("layers"), list) and raw["layers"] else None
    inputs, shape, sequence = inputs_of(required(raw, "inputs", ""), first.get("type", "") if isinstance(first, dict)
                                        else "")
    training = training_of(raw.get("training", {}) or {})
    x, y = data_of(required(raw, "data", ""), base, len(inputs), read_csv, grid=shape is not None or bool(sequence))
    init = raw.get("init")
    if isinstance(init, dict):
        no_unknown(init, INIT_KEYS, "init")
    rng = np.random.default_rng(whole(init.get("seed", 0), "init.seed", 0, maximum=2**63 - 1)
                                if isinstance(init, dict) else 0)
    layers = layers_of(required(raw, "layers", ""), inputs, init, rng, shape, sequence)
    if sequence:  # h_0 given after the sequence, like inputs of every sample
        r = layers[0].recurrence
        inputs += r.initial
        x = np.hstack([x, np.broadcast_to(np.array(r.h0), (len(x), len(r.h0)))])
    if sequence and layers[0].recurrence.outputs == "every" and y.shape[1] == len(layers[-1].units):
        T = sequence[0]  # given as a row per time step: the output layer's units are o@t1, o@t2, ... per unit
        y = y.reshape(len(y), T, -1).transpose(0, 2, 1).reshape(len(y), -1)
    if y.shape[1] != len(layers[-1].units):
        n = len(layers[-1].units)
        raise SpecError("data[0].y", f"expected {n} target value{'s' * (n != 1)} (one per output unit), got {y.shape[1]}")
    loss = loss_of(required(raw, "loss", ""), layers[-1])
    if training.mode == "minibatch" and training.batch_size > len(x):
        raise SpecError("training.batch_size", f"{training.batch_size} is more than the {len(x)} samples; lower it")
    notation = text(raw.get("notation", "generic"), "notation")
    if notation not in NOTATIONS:
        raise SpecError("notation", f"unknown notation {notation!r}; use one of {', '.join(NOTATIONS)}")
    if loss.name == "cross_entropy" and not np.allclose(y.sum(axis=1), 1.0):
        warn("data: cross_entropy targets usually sum to 1 per sample (one-hot); delta uses yhat*sum(y) - y")
    return Spec(
        name=name, inputs=inputs, layers=layers, loss=loss,
        learning_rate=number(required(raw, "learning_rate", ""), "learning_rate", positive=True),
        x=x, y=y, training=training,
        weight_decay=number(raw.get("weight_decay", 0.0), "weight_decay", minimum=0.0),
        momentum=number(raw.get("momentum", 0.0), "momentum", minimum=0.0),
        title=text(raw.get("title", ""), "title"), source=text(raw.get("source", ""), "source"),
        description=text(raw.get("description", ""), "description"), notation=notation, path=path,
        init=dict(raw["init"]) if isinstance(raw.get("init"), dict) else {},
        steps=text(raw.get("steps", ""), "steps"), delta_sign=delta_sign_of(raw.get("delta", "dE/dz")),
        input_shape=shape,
    )


def inputs_of(raw, first_type: str = "") -> tuple[tuple[str, ...], tuple[int, int, int] | None, tuple | None]:
    """The inputs' names; for a grid of inputs ({name: x, shape: [C, H, W]}) its shape; for a sequence
    ({names: [x1], steps: T}) its (steps, features)."""
    if isinstance(raw, dict) and "steps" in raw:
        names, steps, features = sequence_inputs(raw)
        return names, None, (steps, features)
    if isinstance(raw, dict):
        dims = 1 if str(first_type).endswith("1d") else 2  # [C, L] before a 1-D layer
        prefix, shape = input_shape_of(raw, dims=dims)
        return cell_names(prefix, shape, dims), shape, None
    return names_of(raw, "inputs", "x"), None, None


def delta_sign_of(raw) -> float:
    """The error term's sign convention: delta = dE/dz (the default) or -dE/dz."""
    form = str(raw).replace("−", "-").replace("∂", "d").replace(" ", "")
    if form not in DELTA_FORMS:
        raise SpecError("delta", f"expected dE/dz (the default) or -dE/dz (δ = −∂E/∂z, as texts that update "
                                 f"w + α y δ write it), got {str(raw)[:40]!r}")
    return DELTA_FORMS[form]


def training_of(raw) -> Training:
    if not isinstance(raw, dict):
        raise SpecError("training", "expected a mapping such as {mode: online, epochs: 1}")
    no_unknown(raw, TRAINING_KEYS, "training")
    mode = text(raw.get("mode", "online"), "training.mode")
    if mode not in MODES:
        raise SpecError("training.mode", f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "minibatch" and "batch_size" not in raw:
        raise SpecError("training.batch_size", "minibatch mode needs a batch_size")
    reduction = str(raw.get("reduction", "mean"))
    if reduction not in ("mean", "sum"):
        raise SpecError("training.reduction", f"unknown reduction {reduction!r}; use mean or sum")
    order = str(raw.get("update_order", "simultaneous"))
    if order not in UPDATE_ORDERS:
        raise SpecError("training.update_order", f"unknown update order {order!r}; use {' or '.join(UPDATE_ORDERS)}")
    return Training(
        mode=mode,
        epochs=whole(raw.get("epochs", 1), "training.epochs", maximum=MAX_EPOCHS),
        batch_size=whole(raw.get("batch_size", 1), "training.batch_size", maximum=MAX_SAMPLES),
        shuffle=boolean(raw.get("shuffle", False), "training.shuffle"),
        seed=whole(raw.get("seed", 0), "training.seed", 0, maximum=2**63 - 1),
        reduction=reduction,
        update_order=order,
    )


def layers_of(raw, inputs: tuple[str, ...], init, rng, shape=None, sequence=None) -> tuple[Layer, ...]:
    """The layers in order; grid layers (conv2d, pools) read the grid before them, a flatten passes it on to the
    dense layers as a list of cells (the cells' names are already flat)."""
    if not isinstance(raw, list) or not raw:
        raise SpecError("layers", "expected a list of layers, the output layer last")
    layers, previous, seen = [], inputs, set(inputs)
    for i, lraw in enumerate(raw):
        kind = lraw.get("type", "dense") if isinstance(lraw, dict) else "dense"
        if kind not in ("dense", "rnn", *GRID_KINDS):
            raise SpecError(f"layers[{i}].type", f"unknown layer type {str(kind)[:40]!r}; use dense, "
                                                 f"{', '.join(GRID_KINDS)}")
        if kind == "flatten":  # the cells go on as a list: only dense layers may follow
            no_unknown(lraw, {"type", "name"}, f"layers[{i}]")
            shape = None
            continue
        if kind == "rnn":
            if i:
                raise SpecError(f"layers[{i}].type", "an rnn layer reads the sequence of inputs: make it the first layer")
            steps, features = sequence if sequence else (None, ())
            layer = Layer(**rnn_layer_of(lraw, f"layers[{i}]", i, steps, features, init, rng))
        elif kind == "dense" and layers and layers[-1].recurrence is not None:  # applied over the time steps
            dense = layer_of(lraw, f"layers[{i}]", i, layers[-1].rows, init, rng, last=i == len(raw) - 1)
            layer = Layer(**over_time(dense, layers[-1].recurrence, i == len(raw) - 1, f"layers[{i}]"))
        elif sequence and not layers:
            raise SpecError(f"layers[{i}].type", "a sequence of inputs is read by an rnn layer first")
        elif kind == "dense":
            layer = layer_of(lraw, f"layers[{i}]", i, previous, init, rng, last=i == len(raw) - 1)
            shape = None
        else:
            layer = Layer(**grid_layer_of(lraw, f"layers[{i}]", i, shape, init, rng))
            shape = layer.grid.out_shape
        clash = seen.intersection(layer.units)
        if clash:
            raise SpecError(f"layers[{i}].units", f"name {sorted(clash)[0]!r} is used twice in the network; names must be unique")
        if layer.name in {l.name for l in layers}:
            raise SpecError(f"layers[{i}].name", f"layer name {layer.name!r} is used twice")
        seen.update(layer.units)
        layers.append(layer)
        previous = layer.units
    distinct_spellings([(f"inputs[{k}]", n) for k, n in enumerate(inputs)] +
                       [(f"layers[{i}].units[{k}]", u) for i, l in enumerate(layers) for k, u in enumerate(l.units)] +
                       [(f"layers[{i}].name", l.name) for i, l in enumerate(layers)])
    return tuple(layers)


def layer_of(raw, place: str, index: int, sources: tuple[str, ...], init, rng, last: bool) -> Layer:
    if not isinstance(raw, dict):
        raise SpecError(place, "expected a mapping with units, activation and weights")
    no_unknown(raw, LAYER_KEYS, place)
    name = fields_name(raw.get("name", f"L{index + 1}"), f"{place}.name")
    units = names_of(required(raw, "units", place), f"{place}.units", name)
    activation = activation_of(required(raw, "activation", place), f"{place}.activation")
    if activation.vector and not last:
        raise SpecError(f"{place}.activation", "softmax is supported on the output layer only")
    if activation.name == "threshold":
        warn(f"{place}.activation: threshold has derivative 0 everywhere, so no error flows back "
              "through it and the weights before it never change (forward only)")
    threshold = raw.get("bias") == "threshold"
    if not threshold and not isinstance(raw.get("bias", True), bool):
        raise SpecError(f"{place}.bias", f"expected true, false or threshold (a θ on a fixed −1 input), got "
                                         f"{str(raw['bias'])[:40]!r}")
    bias = threshold or raw.get("bias", True)
    cols = (("bias",) if bias else ()) + tuple(sources)
    if "weights" in raw:
        weights = weights_of(raw["weights"], f"{place}.weights", len(units), cols, bias)
    else:
        weights = draw(raw.get("init", init), f"{place}.init", len(units), cols, bias, rng)
    frozen = frozen_of(raw.get("frozen", False), f"{place}.frozen", weights.shape, cols)
    return Layer(name=name, units=units, activation=activation, bias=bias, sources=cols,
                 weights=weights, frozen=frozen, bias_input=-1.0 if threshold else 1.0)


def weights_of(raw, place: str, n_units: int, cols: tuple[str, ...], bias: bool) -> np.ndarray:
    """A layer's given weights: a row per unit, a number per source (the bias first when it has one)."""
    if not isinstance(raw, list) or len(raw) != n_units:
        got = len(raw) if isinstance(raw, list) else "no list"
        raise SpecError(place, f"expected {n_units} row{'s' * (n_units != 1)} (one per unit), got {got}")
    n_in = len(cols) - int(bias)
    want = f"bias + {n_in} input{'s' * (n_in != 1)}" if bias else f"{n_in} input{'s' * (n_in != 1)}, no bias"
    rows = []
    for j, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != len(cols):
            got = len(row) if isinstance(row, list) else 1
            raise SpecError(f"{place}[{j}]", f"expected {len(cols)} numbers ({want}), got {got}")
        rows.append([number(v, f"{place}[{j}][{k}]") for k, v in enumerate(row)])
    return np.array(rows, float)
