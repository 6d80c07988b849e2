"""Spec files (YAML or JSON): one network, its initial weights, its data and training settings, validated.

Every problem is a SpecError naming the place (`layers[1].weights[0]`) and the fix, so the CLI
can print one line. The validated Spec holds numpy arrays and activation/loss objects; it knows
nothing of output formats.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .activations import ACTIVATIONS, ALIASES, PARAM_ALIASES, Activation, make_activation
from ..errors import SpecError, TracerWarning
from .losses import LOSSES, Loss, make_loss
from .updates import UPDATE_ORDERS, UpdateOrder, UpdateRule

NOTATIONS = ("generic", "ekman", "frey", "maren", "cs510", "davila")
MODES = ("online", "batch", "minibatch")
INIT_METHODS = ("uniform", "normal", "xavier")
TOP_KEYS = {
    "name", "title", "source", "notation", "inputs", "layers", "loss", "learning_rate",
    "weight_decay", "momentum", "training", "data", "init", "description", "steps",
}
LAYER_KEYS = {"name", "units", "activation", "weights", "bias", "frozen", "init"}
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

    @property
    def output(self) -> Layer:
        return self.layers[-1]

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


def load_spec(path) -> Spec:
    """Read and validate a spec file (YAML, or JSON by extension)."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise SpecError(where, "no such spec file (check the path, or run `tracer examples` for the bundled ones)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(where, f"cannot read the file ({e})") from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{where}:{e.lineno}:{e.colno}", f"invalid JSON: {e.msg}") from None
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            place = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise SpecError(place, f"invalid YAML: {problem}") from None
    try:
        return parse_spec(raw, base=path.parent, path=path)
    except SpecError as e:
        raise SpecError(f"{where}: {e.place}" if e.place else where, e.message) from None


def parse_spec(raw, base: Path = Path("."), path: Path | None = None) -> Spec:
    """Validate a spec given as a dict (as read from YAML/JSON); CSV data paths are relative to `base`."""
    if not isinstance(raw, dict):
        raise SpecError("", "a spec must be a mapping with keys name, inputs, layers, loss, learning_rate, data")
    _no_unknown(raw, TOP_KEYS, "")
    name = _slug(_required(raw, "name", ""), "name")
    inputs = _names(_required(raw, "inputs", ""), "inputs", "x")
    training = _training(raw.get("training", {}) or {})
    x, y = _data(_required(raw, "data", ""), base, len(inputs))
    rng = np.random.default_rng(_int(raw.get("init", {}).get("seed", 0), "init.seed", 0)
                                if isinstance(raw.get("init"), dict) else 0)
    layers = _layers(_required(raw, "layers", ""), inputs, raw.get("init"), rng)
    if y.shape[1] != len(layers[-1].units):
        n = len(layers[-1].units)
        raise SpecError("data[0].y", f"expected {n} target value{'s' * (n != 1)} (one per output unit), got {y.shape[1]}")
    loss = _loss(_required(raw, "loss", ""), layers[-1])
    if training.mode == "minibatch" and training.batch_size > len(x):
        raise SpecError("training.batch_size", f"{training.batch_size} is more than the {len(x)} samples; lower it")
    notation = str(raw.get("notation", "generic"))
    if notation not in NOTATIONS:
        raise SpecError("notation", f"unknown notation {notation!r}; use one of {', '.join(NOTATIONS)}")
    if loss.name == "cross_entropy" and not np.allclose(y.sum(axis=1), 1.0):
        _warn("data: cross_entropy targets usually sum to 1 per sample (one-hot); delta uses yhat*sum(y) - y")
    return Spec(
        name=name, inputs=inputs, layers=layers, loss=loss,
        learning_rate=_number(_required(raw, "learning_rate", ""), "learning_rate", positive=True),
        x=x, y=y, training=training,
        weight_decay=_number(raw.get("weight_decay", 0.0), "weight_decay", minimum=0.0),
        momentum=_number(raw.get("momentum", 0.0), "momentum", minimum=0.0),
        title=_text(raw.get("title", ""), "title"), source=_text(raw.get("source", ""), "source"),
        description=_text(raw.get("description", ""), "description"), notation=notation, path=path,
        init=dict(raw["init"]) if isinstance(raw.get("init"), dict) else {},
        steps=_text(raw.get("steps", ""), "steps"),
    )


# ---- pieces -------------------------------------------------------------------------------------

def _warn(message: str) -> None:
    warnings.warn(message, TracerWarning, stacklevel=3)


def _required(raw: dict, key: str, place: str):
    if key not in raw or raw[key] is None:
        where = f"{place}.{key}" if place else key
        raise SpecError(where, "missing; add it (see the spec reference in README)")
    return raw[key]


def _no_unknown(raw: dict, allowed: set, place: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{place}.{key}" if place else str(key)
            raise SpecError(where, f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _text(value, place: str) -> str:
    if not isinstance(value, (str, int, float)):
        raise SpecError(place, "expected text")
    return str(value)


def _slug(value, place: str) -> str:
    text = _text(value, place)
    if not text or not all(c.isalnum() or c in "-_." for c in text):
        raise SpecError(place, f"{text!r} is not a file-name slug; use letters, digits, '-', '_' or '.'")
    return text


def _number(value, place: str, positive: bool = False, minimum: float | None = None) -> float:
    """A finite float; numeric strings such as '1e-3' (which YAML 1.1 reads as text) are accepted."""
    if isinstance(value, bool) or value is None:
        raise SpecError(place, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SpecError(place, f"expected a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise SpecError(place, f"expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise SpecError(place, f"expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise SpecError(place, f"expected a number > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise SpecError(place, f"expected a number >= {minimum:g}, got {value!r}")
    return value


def _int(value, place: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SpecError(place, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise SpecError(place, f"expected a whole number >= {minimum}, got {value}")
    return value


def _names(value, place: str, prefix: str) -> tuple[str, ...]:
    """Unit or input names, or a count that makes names prefix1..prefixN."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(f"{prefix}{i + 1}" for i in range(_int(value, place)))
    if not isinstance(value, list) or not value:
        raise SpecError(place, "expected a list of names or a count")
    names = tuple(_text(v, f"{place}[{i}]").strip() for i, v in enumerate(value))
    for i, n in enumerate(names):
        if not n:
            raise SpecError(f"{place}[{i}]", "empty name")
        if n == "bias":
            raise SpecError(f"{place}[{i}]", "'bias' is reserved for the bias input; rename it")
    if len(set(names)) != len(names):
        raise SpecError(place, "names must be unique")
    return names


def _training(raw) -> Training:
    if not isinstance(raw, dict):
        raise SpecError("training", "expected a mapping such as {mode: online, epochs: 1}")
    _no_unknown(raw, TRAINING_KEYS, "training")
    mode = str(raw.get("mode", "online"))
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
        epochs=_int(raw.get("epochs", 1), "training.epochs"),
        batch_size=_int(raw.get("batch_size", 1), "training.batch_size"),
        shuffle=bool(raw.get("shuffle", False)),
        seed=_int(raw.get("seed", 0), "training.seed", 0),
        reduction=reduction,
        update_order=order,
    )


def _data(raw, base: Path, n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(raw, dict):
        return _csv_data(raw, base, n_inputs)
    if not isinstance(raw, list) or not raw:
        raise SpecError("data", "expected a list of samples {x: [...], y: [...]} or {csv: file, x: [...], y: [...]}")
    xs, ys = [], []
    for i, row in enumerate(raw):
        place = f"data[{i}]"
        if not isinstance(row, dict) or "x" not in row or "y" not in row:
            raise SpecError(place, "expected {x: [...], y: [...]}")
        xs.append(_vector(row["x"], f"{place}.x", n_inputs, "one per input"))
        ys.append(_vector(row["y"], f"{place}.y", len(ys[0]) if ys else None, "as in data[0].y"))
    return np.array(xs, float), np.array(ys, float)


def _vector(value, place: str, n: int | None, why: str) -> list[float]:
    if not isinstance(value, list):
        value = [value]
    if n is not None and len(value) != n:
        raise SpecError(place, f"expected {n} number{'s' * (n != 1)} ({why}), got {len(value)}")
    return [_number(v, f"{place}[{j}]") for j, v in enumerate(value)]


def _csv_data(raw: dict, base: Path, n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    _no_unknown(raw, {"csv", "x", "y"}, "data")
    file = base / _text(_required(raw, "csv", "data"), "data.csv")
    if not file.is_file():
        raise SpecError("data.csv", f"no such file {str(file)!r} (the path is relative to the spec file)")
    with file.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SpecError("data.csv", f"{file} has no data rows")
    x_cols = _list_of_text(_required(raw, "x", "data"), "data.x")
    y_cols = _list_of_text(_required(raw, "y", "data"), "data.y")
    if len(x_cols) != n_inputs:
        raise SpecError("data.x", f"expected {n_inputs} column names (one per input), got {len(x_cols)}")
    for col in x_cols + y_cols:
        if col not in rows[0]:
            raise SpecError("data", f"column {col!r} is not in {file.name} (it has {', '.join(rows[0])})")
    x = [[_number(r[c], f"{file.name}:{i + 2}:{c}") for c in x_cols] for i, r in enumerate(rows)]
    y = [[_number(r[c], f"{file.name}:{i + 2}:{c}") for c in y_cols] for i, r in enumerate(rows)]
    return np.array(x, float), np.array(y, float)


def _list_of_text(value, place: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise SpecError(place, "expected a list of column names")
    return [_text(v, f"{place}[{i}]") for i, v in enumerate(value)]


def _layers(raw, inputs: tuple[str, ...], init, rng) -> tuple[Layer, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError("layers", "expected a list of layers, the output layer last")
    layers, previous, seen = [], inputs, set(inputs)
    for i, lraw in enumerate(raw):
        layer = _layer(lraw, f"layers[{i}]", i, previous, init, rng, last=i == len(raw) - 1)
        clash = seen.intersection(layer.units)
        if clash:
            raise SpecError(f"layers[{i}].units", f"name {sorted(clash)[0]!r} is used twice in the network; names must be unique")
        if layer.name in {l.name for l in layers}:
            raise SpecError(f"layers[{i}].name", f"layer name {layer.name!r} is used twice")
        seen.update(layer.units)
        layers.append(layer)
        previous = layer.units
    return tuple(layers)


def _layer(raw, place: str, index: int, sources: tuple[str, ...], init, rng, last: bool) -> Layer:
    if not isinstance(raw, dict):
        raise SpecError(place, "expected a mapping with units, activation and weights")
    _no_unknown(raw, LAYER_KEYS, place)
    name = _text(raw.get("name", f"L{index + 1}"), f"{place}.name")
    units = _names(_required(raw, "units", place), f"{place}.units", name)
    activation = _activation(_required(raw, "activation", place), f"{place}.activation")
    if activation.vector and not last:
        raise SpecError(f"{place}.activation", "softmax is supported on the output layer only")
    if activation.name == "threshold":
        _warn(f"{place}.activation: threshold has derivative 0 everywhere, so no error flows back "
              "through it and the weights before it never change (forward only)")
    bias = raw.get("bias", True)
    if not isinstance(bias, bool):
        raise SpecError(f"{place}.bias", "expected true or false")
    cols = (("bias",) if bias else ()) + tuple(sources)
    if "weights" in raw:
        weights = _weights(raw["weights"], f"{place}.weights", len(units), cols, bias)
    else:
        weights = _draw(raw.get("init", init), f"{place}.init", len(units), cols, bias, rng)
    frozen = _frozen(raw.get("frozen", False), f"{place}.frozen", weights.shape, cols)
    return Layer(name=name, units=units, activation=activation, bias=bias, sources=cols,
                 weights=weights, frozen=frozen)


def _activation(raw, place: str) -> Activation:
    params = {}
    if isinstance(raw, dict):
        params = dict(raw)
        name = params.pop("name", None)
        if name is None:
            raise SpecError(place, "expected {name: ..., <parameters>}")
    else:
        name = raw
    name = str(name)
    key = ALIASES.get(name, name)
    if key not in ACTIVATIONS:
        names = ", ".join(sorted(ACTIVATIONS))
        raise SpecError(place, f"unknown activation {name!r}; use one of {names}")
    own = set(ACTIVATIONS[key]().params)
    allowed = own | {alias for alias, target in PARAM_ALIASES.items() if target in own}
    values = {}
    for k, v in params.items():
        if k not in allowed:
            hint = ", ".join(sorted(allowed)) or "none"
            raise SpecError(f"{place}.{k}", f"unknown parameter for {key}; its parameters: {hint}")
        values[k] = _number(v, f"{place}.{k}")
    try:
        act = make_activation(key, **values)
    except (ZeroDivisionError, ValueError):
        raise SpecError(place, "parameters out of range (xmax must exceed xmin, sigma must be nonzero)") from None
    if key == "piecewise_linear" and act.xmax <= act.xmin:
        raise SpecError(place, "xmax must be greater than xmin")
    if key == "gaussian" and act.sigma <= 0:
        raise SpecError(f"{place}.sigma", "expected a number > 0")
    return act


def _weights(raw, place: str, n_units: int, cols: tuple[str, ...], bias: bool) -> np.ndarray:
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
        rows.append([_number(v, f"{place}[{j}][{k}]") for k, v in enumerate(row)])
    return np.array(rows, float)


def _draw(init, place: str, n_units: int, cols: tuple[str, ...], bias: bool, rng) -> np.ndarray:
    """Seeded random initial weights: uniform(low, high), normal(mean, std) or Xavier/Glorot uniform."""
    if not isinstance(init, dict):
        raise SpecError(place.rsplit(".", 1)[0] + ".weights", "missing; give weights, or an init: {method: xavier, seed: 0}")
    method = str(init.get("method", "uniform"))
    if method not in INIT_METHODS:
        raise SpecError(f"{place}.method", f"unknown method {method!r}; use one of {', '.join(INIT_METHODS)}")
    shape = (n_units, len(cols))
    if method == "uniform":
        low = _number(init.get("low", -0.5), f"{place}.low")
        high = _number(init.get("high", 0.5), f"{place}.high")
        return rng.uniform(low, high, size=shape)
    if method == "normal":
        mean = _number(init.get("mean", 0.0), f"{place}.mean")
        std = _number(init.get("std", 0.1), f"{place}.std", minimum=0.0)
        return rng.normal(mean, std, size=shape)
    fan_in, fan_out = len(cols) - int(bias), n_units
    limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio (2010), cited by Davila
    w = rng.uniform(-limit, limit, size=shape)
    if bias:
        w[:, 0] = 0.0
    return w


def _frozen(raw, place: str, shape: tuple[int, int], cols: tuple[str, ...]) -> np.ndarray:
    """Parameters that stay fixed: true/'all', 'bias', 'weights', a list of source names, or a mask."""
    mask = np.zeros(shape, bool)
    if raw is True or raw == "all":
        mask[:] = True
    elif raw is False or raw is None:
        pass
    elif raw == "bias":
        if cols[0] != "bias":
            raise SpecError(place, "this layer has no bias to freeze")
        mask[:, 0] = True
    elif raw == "weights":
        mask[:, int(cols[0] == "bias"):] = True
    elif isinstance(raw, list) and raw and all(isinstance(r, list) for r in raw):
        if len(raw) != shape[0] or any(len(r) != shape[1] for r in raw):
            raise SpecError(place, f"a mask must have the shape of the weights ({shape[0]} x {shape[1]})")
        mask[:] = [[bool(v) for v in r] for r in raw]
    elif isinstance(raw, list):
        for k, name in enumerate(raw):
            if name not in cols:
                raise SpecError(f"{place}[{k}]", f"{name!r} is not an input of this layer ({', '.join(cols)})")
            mask[:, cols.index(name)] = True
    else:
        raise SpecError(place, "expected true, 'bias', 'weights', a list of input names, or a true/false mask")
    return mask


def _loss(raw, output: Layer) -> Loss:
    name = str(raw)
    if name not in LOSSES:
        raise SpecError("loss", f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")
    loss = make_loss(name)
    if loss.needs and output.activation.name != loss.needs:
        raise SpecError("loss", f"{name} needs a {loss.needs} output layer, but {output.name!r} uses "
                                f"{output.activation.name}; change the output activation or the loss")
    if output.activation.vector and not loss.needs:
        _warn(f"loss: {name} on a softmax output works, but cross_entropy is the usual pairing")
    return loss
