"""A spec from a PyTorch model's current weights and the user's data, so a user starts from their own network."""
from __future__ import annotations

import numpy as np
import torch
import yaml

from ..errors import TracerError
from ..io.atomic import write_text
from ..model.spec import parse_spec
from .torch_grid import CONVS, GRID_MODULES, ONE_D, SPEC_TYPES, grid_entry
from .torch_models import ModelLayer, check_optimizer, loss_kind, read_model
from .torch_record import as_numpy
from .torch_rnn import bptt_of, head_activation_of, recurrent_parts, trial_pass


def spec_from_model(model, x, y, loss_fn, optimizer=None, *, learning_rate: float | None = None,
                    batch_size: int | None = None, epochs: int = 1, name: str = "model", path=None):
    """The Spec of `model` (an nn.Sequential of Linear layers and activations, after Conv2d and pool layers and a
    Flatten if it has them) with its current weights, the data x (samples x inputs, or samples x channels x
    height x width before a Conv2d) and y (samples x outputs, or class indices for CrossEntropyLoss), the loss module,
    and SGD's settings (or `learning_rate`). batch_size: samples per step (default: all, one batch). With
    `path`, the spec is also written there as YAML, to edit and to give to `tracer`.

    Example: spec = tt.spec_from_model(model, X, Y, nn.MSELoss(), opt, batch_size=2, path="mine.yaml")
    """
    kind = loss_kind(loss_fn)
    settings = check_optimizer(optimizer) if optimizer is not None else None
    if settings is None:
        if learning_rate is None:
            raise TracerError("spec_from_model", "give the optimizer (torch.optim.SGD) or learning_rate=")
        settings = {"learning_rate": float(learning_rate), "momentum": 0.0, "weight_decay": 0.0}
    parts = recurrent_parts(model)
    if parts is not None:
        inputs, layers, x, y = _recurrent(model, parts, x, y, kind)
    else:
        layers = read_model(model)
        shape = _grid_shape(x, layers)
        inputs = {"name": "x", "shape": shape} if shape else [f"x{i + 1}" for i in range(layers[0].linear.in_features)]
        x = _array(x, "x")
        outputs = layers[-1].linear.out_features
        y = _array(y, "y", outputs if isinstance(loss_fn, torch.nn.CrossEntropyLoss) else None)
        layers = _layers(layers, kind)
    if len(x) != len(y):
        raise TracerError("spec_from_model", f"x has {len(x)} samples and y {len(y)}")
    outputs = np.asarray(y[0]).size
    if kind.per_output_mean and outputs > 1 and kind.name != "mse":
        raise TracerError(f"loss {type(loss_fn).__name__}", "with reduction='mean' averages over the outputs too, "
                                                            "which no spec loss but mse does; use reduction='sum'")
    n = len(x)
    batch_size = n if batch_size is None else int(batch_size)
    mode = "online" if batch_size == 1 else "batch" if batch_size >= n else "minibatch"
    raw = {
        "name": name,
        "inputs": inputs,
        "layers": layers,
        "loss": kind.name if kind.gradient_factor is None else {"name": kind.name,
                                                                  "gradient_factor": kind.gradient_factor},
        **{k: v for k, v in settings.items() if k == "learning_rate" or v},
        "training": {"mode": mode, "epochs": int(epochs), "reduction": kind.reduction,
                     **({"batch_size": batch_size} if mode == "minibatch" else {})},
        "data": [{"x": np.asarray(xr).tolist(), "y": np.asarray(yr).tolist()} for xr, yr in zip(x, y)],
    }
    spec = parse_spec(raw)
    if path is not None:
        write_text(path, yaml.safe_dump(raw, sort_keys=False, default_flow_style=None))
    return spec


def _recurrent(model, parts, x, y, kind) -> tuple[dict, list[dict], np.ndarray, np.ndarray]:
    """(inputs, layers, x, y) of a recurrent model's spec: its rnn layer and the dense layer after it as one trial
    forward pass on x shows them (where the state is detached, h_0, the head at every time step or the last), x
    as samples x time steps x inputs and y a row of outputs per time step (or the last's)."""
    seen = trial_pass(model, parts, x)
    sequences = as_numpy(seen.sequences())
    every = seen.z.ndim == 3
    if kind.logits is not None and kind.name == "cross_entropy" and every:
        raise TracerError("loss CrossEntropyLoss", "over every time step cannot be traced; use it on the last state")
    rnn = parts.rnn
    trains = [rnn.weight_ih_l0.requires_grad, rnn.weight_hh_l0.requires_grad]
    trains += [parts.bias_trained() is not None] if rnn.bias else []
    if any(trains) and not all(trains):
        raise TracerError(parts.rnn_place, "freezes some of nn.RNN's weights; a spec freezes a whole rnn layer")
    h0 = np.zeros((len(sequences), rnn.hidden_size)) if seen.h0 is None else as_numpy(seen.h0)
    if not np.all(h0 == h0[:1]):
        raise TracerError("spec_from_model", "the model starts each sample from another h_0; a spec's rnn layer has "
                                             "one h0")
    weights = as_numpy(rnn.weight_ih_l0)
    if rnn.bias:  # the books' one bias is nn.RNN's two summed
        weights = np.hstack([as_numpy(rnn.bias_ih_l0 + rnn.bias_hh_l0)[:, None], weights])
    bptt = bptt_of(seen.cuts, sequences.shape[1], parts.rnn_place) if all(trains) else 0
    layer = {"name": "H", "type": "rnn", "units": rnn.hidden_size, "activation": rnn.nonlinearity, "bias": rnn.bias,
             "weights": weights.tolist(), "recurrent": as_numpy(rnn.weight_hh_l0).tolist(), "h0": h0[0].tolist(),
             "bptt": bptt or "full", "outputs": "every" if every else "last",
             **({} if all(trains) else {"frozen": True})}
    activation = kind.logits if kind.logits is not None else head_activation_of(model, seen.z, seen.output)
    (dense,) = _layers([ModelLayer(parts.head, None, activation, parts.head_place)], kind)
    y = as_numpy(y) if isinstance(y, torch.Tensor) else np.asarray(y, dtype=float)
    if every and not rnn.batch_first:
        y = y.transpose(1, 0, 2)
    inputs = {"names": [f"x{i + 1}" for i in range(rnn.input_size)], "steps": sequences.shape[1]}
    return inputs, [layer, dense], sequences, y


def _grid_shape(x, layers) -> list[int] | None:
    """[channels, height, width] of the inputs of a model that starts with a grid layer; else None."""
    if not isinstance(layers[0].linear, GRID_MODULES):
        return None
    dims = tuple(x.shape)[1:]
    one_d = isinstance(layers[0].linear, ONE_D)
    if len(dims) != (2 if one_d else 3):
        wanted = "samples x channels x length" if one_d else "samples x channels x height x width"
        raise TracerError("spec_from_model", f"x of a model starting with {type(layers[0].linear).__name__} must be "
                                             f"{wanted}, got {tuple(x.shape)}")
    return [int(d) for d in dims]


def _layers(layers, kind) -> list[dict]:
    dense = [layer for layer in layers if not isinstance(layer.linear, GRID_MODULES)]
    hidden = len(dense) - 1
    out, convs, pools = [], 0, 0
    for layer in layers:
        activation = layer.activation
        written = {"name": activation.name, **activation.params} if activation.params else activation.name
        if isinstance(layer.linear, GRID_MODULES):
            if isinstance(layer.linear, CONVS):
                convs += 1
                name = f"c{convs}"
            else:
                pools += 1
                name = f"p{pools}"
            out.append(grid_entry(layer.linear, name, written, layer.place))
            continue
        if out and out[-1].get("type") in SPEC_TYPES.values():
            out.append({"type": "flatten"})
        k = dense.index(layer)
        last = k == len(dense) - 1
        name = "O" if last else "H" if hidden == 1 else f"H{k + 1}"
        units = layer.linear.out_features
        prefix = "o" if last else "h" if hidden == 1 else f"h{k + 1}_"
        activation = kind.logits if last and kind.logits is not None else layer.activation
        weights = as_numpy(layer.linear.weight)
        bias = layer.linear.bias
        if bias is not None:
            weights = np.concatenate([as_numpy(bias)[:, None], weights], axis=1)
        entry = {"name": name,
                 "units": ["o"] if last and units == 1 else [f"{prefix}{j + 1}" for j in range(units)],
                 "activation": {"name": activation.name, **activation.params} if activation.params else activation.name,
                 "bias": bias is not None,
                 "weights": weights.tolist()}
        frozen = [part for part, tensor in (("bias", bias), ("weights", layer.linear.weight))
                  if tensor is not None and not tensor.requires_grad]
        if frozen:
            entry["frozen"] = True if len(frozen) == 2 or (frozen == ["weights"] and bias is None) else frozen[0]
        out.append(entry)
    return out


def _array(values, name: str, classes: int | None = None) -> np.ndarray:
    """Data as a float64 matrix; class indices (CrossEntropyLoss) as one-hot rows."""
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if classes is not None and array.ndim == 1 and array.dtype.kind in "iu":
        array = np.eye(classes)[array]
    array = np.asarray(array, dtype=float)
    return array.reshape(len(array), -1)
